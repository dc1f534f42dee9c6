"""Decide what a mail means for the seats (pure: no I/O, no clock).

The rules, in the words staff use to explain them:
- Arrival order is the mail server's (INTERNALDATE, then UID). The Date: header is
  written by the sender's computer and is never used.
- A registration that arrived at or before the deadline gets a seat while seats remain
  and nobody waits; otherwise the next place on the waitlist. After the deadline: late.
- A mail can register several persons; each takes a place in the order written.
- Someone who already holds a place keeps it when registering again ("duplicate").
- A cancellation frees the seat and the first person on the waitlist moves up at once,
  unless the cancellation arrived after the event started. Only who registered a
  person, the person herself, or a reply to our mail about her (the token) may cancel;
  a cancellation whose Reply-To is not its From waits for staff. Whoever cancels, the
  person and her registrant are told.
- A person owns her address: a second registration under her address with another
  name waits for staff; a registration made for her by someone else is told to her.
- Every time is judged by when the mail arrived, never by when the bot runs.
"""

from __future__ import annotations

from dataclasses import replace

from inbox_bot.core.allocation import (
    AllocationState,
    Decision,
    Limits,
    Notify,
    Outcome,
    Placement,
    Promoted,
    Request,
    apply,
    find_holder,
    promote_free_seats,
    to_staff,
)
from inbox_bot.core.cancel import (
    NO_REGISTRATION,
    cancel,
    cancellation_targets,
    cancelled_notices,
)
from inbox_bot.core.model import Attendee, Kind, Person, ReplyKind, Status
from inbox_bot.core.names import address_key, domain_of, name_tokens, same_address

__all__ = [
    "AllocationState",
    "Decision",
    "Limits",
    "Notify",
    "Outcome",
    "Placement",
    "Promoted",
    "Request",
    "apply",
    "cancellation_targets",
    "cancelled_notices",
    "decide",
    "find_holder",
    "names_compatible",
    "promote_free_seats",
]


def decide(state: AllocationState, request: Request) -> Decision:
    intent = request.intent
    if intent.kind.automatic:
        return Decision(
            outcome=Outcome.IGNORED,
            reply=None,
            # A bounce may mean an attendee never got our answer: a person looks at it.
            needs_review=intent.kind is Kind.BOUNCE,
            reasons=(f"Automatische Mail ({intent.kind}): {intent.evidence}; keine Antwort.",),
        )
    if request.authenticity == "fail":
        return _unvouched(state, request)
    if intent.review_reasons:
        if intent.kind is Kind.CANCELLATION:
            # A decline with a question from someone never registered is a decline first.
            _, problem = cancellation_targets(state, request)
            if problem and problem.startswith(NO_REGISTRATION):
                return to_staff((problem, *intent.review_reasons))
        return to_staff(intent.review_reasons)
    if intent.kind is Kind.REGISTRATION:
        return _register(state, request)
    if intent.kind is Kind.CANCELLATION:
        return cancel(state, request)
    if intent.kind is Kind.QUESTION:
        return Decision(
            outcome=Outcome.QUESTION,
            reply=ReplyKind.QUESTION,
            needs_review=True,
            reasons=(
                "Frage, keine Anmeldung: Eingangsbestätigung gesendet, Antwort durch das Team.",
            ),
        )
    what = "Dank auf eine Antwort des Bots" if intent.kind is Kind.THANKS else "Nicht zugeordnet"
    return to_staff((f"{what}: keine automatische Antwort, bitte lesen.",))


def _unvouched(state: AllocationState, request: Request) -> Decision:
    """Our border server says the From address is forged (DMARC fail): no mail goes to
    it, and nothing happens on its word. Only a reply to our own mail (its Message-ID is
    the token) still cancels the persons that mail was about; staff are told."""
    said = request.authenticity_evidence or "fail"
    unvouched = (
        f"Absender nicht bestätigt: unser Mailserver meldet {said}; keine automatische "
        "Antwort, bitte prüfen (eine Anmeldung behält ihren Eingang)."
    )
    if request.intent.kind is Kind.CANCELLATION and request.authorized:
        by_token = replace(request, sender="", contact="")
        decision = cancel(state, by_token)
        if decision.outcome is Outcome.CANCELLED:
            reasons = (*decision.reasons, unvouched)
            return replace(decision, reply=None, needs_review=True, reasons=reasons)
    return to_staff((unvouched,))


def _register(state: AllocationState, request: Request) -> Decision:
    persons = request.intent.persons
    if not persons:
        return to_staff(("Anmeldung ohne erkennbare Person.",))
    flood = _flood(state, request)
    if flood:
        return to_staff((flood,))
    conflicts = [c for p in persons if (c := _address_conflict(state, p))]
    if conflicts:
        return to_staff(conflicts)
    work = promote_free_seats(state, request.arrival)
    current, changes, placed = _place(work.state, request)
    placements = tuple(
        Placement(
            attendee=current.attendees[aid],
            duplicate=dup,
            waitlist_position=current.waitlist_position(aid),
        )
        for aid, dup in placed
    )
    outcome, reply = _registration_outcome(placements)
    reasons = [_explain(p, state.capacity) for p in placements]
    if request.intent.has_question:
        reasons.append("Die Mail enthält auch eine Frage: bitte persönlich beantworten.")
    return Decision(
        outcome=outcome,
        reply=reply,
        placements=placements,
        changes=(*work.changes, *changes),
        promotions=work.promotions,
        notices=_registered_notices(placements, request),
        needs_review=request.intent.has_question,
        reasons=tuple(reasons),
    )


def _place(
    state: AllocationState, request: Request
) -> tuple[AllocationState, list[Attendee], list[tuple[str, bool]]]:
    """Each person in the order written: her existing place (a duplicate) or a new one."""
    on_time = request.arrival <= state.deadline
    changes: list[Attendee] = []
    placed: list[tuple[str, bool]] = []
    for index, person in enumerate(request.intent.persons):
        existing = find_holder(state, person, request.contact)
        if existing is not None:
            placed.append((existing.id, True))
            changed = _own_name(existing, person, request)
        else:
            changed = _new_attendee(state, request, person, index, on_time)
            placed.append((changed.id, False))
        if changed is not None:
            state = state.with_changes([changed])
            changes.append(changed)
    return state, changes, placed


def _address_conflict(state: AllocationState, person: Person) -> str | None:
    """Her address already holds a place under another name: a person must look."""
    if not person.email:
        return None
    holder = next(iter(state.active_at(person.email, own=True)), None)
    if holder is None or names_compatible(holder.name, person.name):
        return None
    return (
        f"Unter der Adresse {person.email} ist bereits {holder.name or '(ohne Namen)'} "
        f"angemeldet (von {holder.registrant}); jetzt wird {person.name or '(ohne Namen)'} "
        "mit dieser Adresse angemeldet: bitte prüfen, wer kommt."
    )


def names_compatible(first: str, second: str) -> bool:
    """The same person as far as names tell: one name's words contain the other's."""
    a, b = name_tokens(first), name_tokens(second)
    return not a or not b or a <= b or b <= a


def _own_name(existing: Attendee, person: Person, request: Request) -> Attendee | None:
    """She writes herself from the address someone else registered: her spelling counts."""
    own = bool(person.email) and same_address(person.email, request.sender)
    if not own or not person.name or person.name == existing.name:
        return None
    if same_address(existing.registrant, request.sender):
        return None
    return replace(existing, name=person.name)


def _registered_notices(placements: tuple[Placement, ...], request: Request) -> tuple[Notify, ...]:
    """A person with her own address hears that someone else registered her."""
    grouped: dict[str, list[Placement]] = {}
    for p in placements:
        email = p.attendee.email
        if p.duplicate or not email:
            continue
        if same_address(email, request.contact) or same_address(email, request.sender):
            continue
        grouped.setdefault(email.casefold(), []).append(p)
    return tuple(
        Notify(
            kind=ReplyKind.REGISTERED_NOTICE,
            recipient=people[0].attendee.email or "",
            placements=tuple(people),
            by=request.sender,
        )
        for people in grouped.values()
    )


def _flood(state: AllocationState, request: Request) -> str | None:
    """A registration beyond the limits waits for a person instead of taking seats."""
    limits = state.limits
    new = [p for p in request.intent.persons if find_holder(state, p, request.contact) is None]
    if len(request.intent.persons) > limits.persons_per_mail:
        return f"Mehr als {limits.persons_per_mail} Personen in einer Mail: bitte prüfen."
    counts = state.index
    # Keyed on From: a Reply-To is free to vary, the sending address is not.
    sender = request.sender
    from_address = counts.per_registrant.get(address_key(sender), 0) if sender else 0
    if new and from_address + len(new) > limits.persons_per_address:
        return (
            f"Mehr als {limits.persons_per_address} Personen von {request.sender}: "
            "bitte prüfen (Schutz vor Massenanmeldung)."
        )
    domain = domain_of(request.sender)
    if domain in limits.freemail:
        return None
    from_domain = counts.per_domain.get(domain, 0)
    if new and from_domain + len(new) > limits.persons_per_domain:
        return (
            f"Mehr als {limits.persons_per_domain} Personen von @{domain}: "
            "bitte prüfen (Schutz vor Massenanmeldung)."
        )
    return None


def _new_attendee(
    state: AllocationState, request: Request, person: Person, index: int, on_time: bool
) -> Attendee:
    seat = state.free_seat() if on_time and state.waitlist_head() is None else None
    if not on_time:
        status = Status.LATE
    elif seat is not None:
        status = Status.CONFIRMED
    else:
        status = Status.WAITLISTED
    return Attendee(
        id=attendee_id(state, request.message_key, index),
        name=person.name,
        email=person.email,
        organization=person.organization,
        contact=request.contact,
        status=status,
        seat=seat,
        arrival=request.arrival,
        uid=request.uid,
        index=index,
        message_key=request.message_key,
        language=request.intent.language,
        registered_by=request.sender,
        event=state.event,
    )


def attendee_id(state: AllocationState, message_key: str, index: int) -> str:
    """Stable: the mail and the person's place in it, and in a series the event."""
    if state.series:
        return f"{message_key}#{state.event}#{index}"
    return f"{message_key}#{index}"


def _registration_outcome(placements: tuple[Placement, ...]) -> tuple[Outcome, ReplyKind]:
    fresh = [p.attendee.status for p in placements if not p.duplicate]
    if Status.CONFIRMED in fresh:
        if Status.WAITLISTED in fresh:
            return Outcome.PARTLY_CONFIRMED, ReplyKind.ACCEPTANCE
        return Outcome.CONFIRMED, ReplyKind.ACCEPTANCE
    if Status.WAITLISTED in fresh:
        return Outcome.WAITLISTED, ReplyKind.WAITLIST
    if Status.LATE in fresh:
        return Outcome.LATE, ReplyKind.LATE
    return Outcome.DUPLICATE, ReplyKind.DUPLICATE


def _explain(placement: Placement, capacity: int) -> str:
    a = placement.attendee
    if placement.duplicate:
        where = (
            f"Platz {a.seat}" if a.seat else f"Warteliste Position {placement.waitlist_position}"
        )
        return f"{a.name}: bereits angemeldet ({where}), behält den ersten Platz."
    if a.status is Status.CONFIRMED:
        return f"{a.name}: vor Anmeldeschluss eingegangen, Platz {a.seat} von {capacity}."
    if a.status is Status.WAITLISTED:
        return (
            f"{a.name}: alle {capacity} Plätze vergeben oder Warteliste nicht leer, "
            f"Warteliste Position {placement.waitlist_position}."
        )
    return f"{a.name}: nach dem Anmeldeschluss eingegangen, kein Platz."
