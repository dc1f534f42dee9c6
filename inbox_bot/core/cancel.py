"""Cancellations: who may withdraw whom, and who is told (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from inbox_bot.core.allocation import (
    AllocationState,
    Decision,
    Notify,
    Outcome,
    Placement,
    Request,
    promote_free_seats,
    to_staff,
)
from inbox_bot.core.model import Attendee, ReplyKind, Status
from inbox_bot.core.names import names_match, same_address

# Someone writes that she cannot come, but no registration of hers is known: a decline,
# not a cancellation; staff read it.
NO_REGISTRATION = "Abmeldung, aber zu dieser Adresse gibt es keine aktive Anmeldung."


def cancel(state: AllocationState, request: Request) -> Decision:
    targets, problem = cancellation_targets(state, request)
    if problem:
        return to_staff((problem,))
    cancelled = [replace(t, status=Status.CANCELLED, seat=None) for t in targets]
    after = state.with_changes(cancelled)
    work = promote_free_seats(after, request.arrival)
    reasons = [f"{a.name}: abgemeldet, Platz freigegeben." for a in cancelled]
    reasons += [
        f"{p.attendee.name}: rückt von der Warteliste auf Platz {p.attendee.seat} nach."
        for p in work.promotions
    ]
    if not work.promotions and request.arrival >= state.event_start:
        reasons.append("Nach Veranstaltungsbeginn: niemand rückt nach.")
    final = work.state
    staying = tuple(
        Placement(attendee=a, waitlist_position=final.waitlist_position(a.id))
        for a in sorted(final.active_at(request.sender), key=lambda a: a.queue_order)
        if same_address(a.registrant, request.sender) or same_address(a.email, request.sender)
    )
    return Decision(
        outcome=Outcome.CANCELLED,
        reply=ReplyKind.CANCELLATION,
        placements=tuple(Placement(attendee=a) for a in cancelled),
        changes=(*cancelled, *work.changes),
        promotions=work.promotions,
        notices=cancelled_notices(cancelled, request.contact, request.sender),
        reasons=tuple(reasons),
        staying=staying,
        self_cancelled=any(same_address(a.email, request.sender) for a in cancelled),
    )


def cancelled_notices(cancelled: Iterable[Attendee], told: str, by: str) -> tuple[Notify, ...]:
    """Every cancellation is told to the person's own address and to who registered her,
    except to `told`, who gets the confirmation itself."""
    grouped: dict[str, tuple[str, list[Attendee]]] = {}
    for attendee in cancelled:
        for address in (attendee.reply_address, attendee.contact, attendee.registrant):
            if "@" not in address or same_address(address, told):
                continue
            _, people = grouped.setdefault(address.casefold(), (address, []))
            if attendee not in people:
                people.append(attendee)
    return tuple(
        Notify(
            kind=ReplyKind.CANCELLED_NOTICE,
            recipient=address,
            placements=tuple(Placement(attendee=a) for a in people),
            by=by,
        )
        for address, people in grouped.values()
    )


def _namesakes(state: AllocationState, request: Request) -> str:
    """Registered under the name the mail gives, by someone else: staff may check and
    cancel by hand; the mail itself may not (anybody can write a name)."""
    names = [p.name for p in request.intent.persons if p.name]
    found = sorted(
        (
            a
            for a in state.attendees.values()
            if a.active and any(names_match(n, a.name) for n in names)
        ),
        key=lambda a: a.queue_order,
    )
    if not found:
        return ""
    who = ", ".join(f"{a.name} (angemeldet von {a.registrant})" for a in found[:3])
    return f" Gleichnamig angemeldet: {who}; bitte prüfen und ggf. mit inbox-bot cancel abmelden."


def _sender_places(state: AllocationState, request: Request) -> list[Attendee]:
    """The active places the sender may withdraw, in the state's order."""
    sender = request.sender
    # Through the index: the sender's places, and those our answered mails were about.
    tied = {a.id: a for a in state.active_at(sender)}
    tied.update(
        (i, state.attendees[i])
        for i in request.authorized
        if i in state.attendees and state.attendees[i].active
    )
    mine = [
        tied[i]
        for i in state.index.in_order(tied)
        if i in request.authorized
        or same_address(sender, tied[i].registrant)
        or same_address(sender, tied[i].contact)
        or same_address(sender, tied[i].email)
    ]
    return mine


def cancellation_targets(
    state: AllocationState, request: Request
) -> tuple[list[Attendee], str | None]:
    """Whom a cancellation withdraws. Only the registering address (or the person's own) may.

    The From address counts, not Reply-To: anybody can set a Reply-To to someone else's
    address, and the cancellation would then take that person's seat; a cancellation
    whose Reply-To differs from its From is left to staff. A reply to our own mail
    about a person also counts for her: its unguessable Message-ID is the token.
    """
    if request.contact and not same_address(request.contact, request.sender):
        return [], (
            f"Abmeldung mit abweichender Antwortadresse (Reply-To {request.contact}, "
            f"From {request.sender}): nicht automatisch ausgeführt, bitte prüfen."
        )
    sender = request.sender
    mine = _sender_places(state, request)
    if not mine:
        return [], NO_REGISTRATION + _namesakes(state, request)
    named = request.intent.persons
    if not named:
        own = [a for a in mine if same_address(sender, a.email)]
        chosen = own or mine
        if len(chosen) > 1 and not own:
            return [], "Abmeldung nennt nicht, welche der angemeldeten Personen absagt."
        return chosen, None
    targets: list[Attendee] = []
    for person in named:
        matches = [
            a
            for a in mine
            if (person.email and same_address(person.email, a.email))
            or names_match(person.name, a.name)
        ]
        if len(matches) != 1:
            return [], f"Abmeldung für {person.name}: keine eindeutige Anmeldung gefunden."
        if matches[0] not in targets:
            targets.append(matches[0])
    return targets, None
