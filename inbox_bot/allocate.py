"""Decide what a mail means for the seats (pure: no I/O, no clock).

The rules, in the words staff use to explain them:
- Arrival order is the mail server's (INTERNALDATE, then UID). The Date: header is
  written by the sender's computer and is never used.
- A registration that arrived at or before the deadline gets a seat while seats remain
  and nobody waits; otherwise the next place on the waitlist. After the deadline: late.
- A mail can register several persons; each takes a place in the order written.
- Someone who already holds a place keeps it when registering again ("duplicate").
- A cancellation frees the seat and the first person on the waitlist moves up at once,
  unless the cancellation arrived after the event started.
- Every time is judged by when the mail arrived, never by when the bot runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from inbox_bot.model import Attendee, Intent, Kind, Person, ReplyKind, Status
from inbox_bot.names import domain_of, name_tokens, names_match, same_address


class Outcome(StrEnum):
    """The decision on one mail, as written to the allocation log."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    PARTLY_CONFIRMED = "partly_confirmed"
    LATE = "late"
    DUPLICATE = "duplicate"
    CANCELLED = "cancelled"
    QUESTION = "question_received"
    IGNORED = "ignored_automatic"
    REVIEW = "review"


@dataclass(frozen=True, kw_only=True)
class Request:
    """One classified mail, ready for a decision."""

    message_key: str
    uid: int
    arrival: datetime
    sender: str  # From address
    contact: str  # reply address (Reply-To, else From)
    intent: Intent
    # Addresses that registered the mails our replies went to, when this mail answers one
    # of them: a reply to our confirmation may cancel that registration (the thread is
    # the token).
    thread_contacts: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Against seat grabbing: more than this goes to staff review."""

    persons_per_mail: int = 10
    persons_per_address: int = 10
    persons_per_domain: int = 60


@dataclass(frozen=True, kw_only=True)
class AllocationState:
    capacity: int
    deadline: datetime
    event_start: datetime
    attendees: Mapping[str, Attendee] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)

    def confirmed(self) -> list[Attendee]:
        return sorted(
            (a for a in self.attendees.values() if a.status is Status.CONFIRMED),
            key=lambda a: a.seat or 0,
        )

    def waitlist(self) -> list[Attendee]:
        return sorted(
            (a for a in self.attendees.values() if a.status is Status.WAITLISTED),
            key=lambda a: a.queue_order,
        )

    def waitlist_position(self, attendee_id: str) -> int | None:
        for position, attendee in enumerate(self.waitlist(), start=1):
            if attendee.id == attendee_id:
                return position
        return None

    def free_seat(self) -> int | None:
        taken = {a.seat for a in self.attendees.values() if a.status is Status.CONFIRMED}
        if len(taken) >= self.capacity:
            return None
        return next(seat for seat in range(1, self.capacity + 1) if seat not in taken)


@dataclass(frozen=True, kw_only=True)
class Placement:
    """Where one person of a mail stands after the decision."""

    attendee: Attendee
    duplicate: bool = False
    waitlist_position: int | None = None


@dataclass(frozen=True, kw_only=True)
class Decision:
    outcome: Outcome
    reply: ReplyKind | None
    placements: tuple[Placement, ...] = ()
    changes: tuple[Attendee, ...] = ()  # new or updated attendee rows, in order
    promotions: tuple[Placement, ...] = ()  # each gets a promotion mail
    needs_review: bool = False
    reasons: tuple[str, ...] = ()  # plain words for staff


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
    if intent.review_reasons:
        return _review(intent.review_reasons)
    if intent.kind is Kind.REGISTRATION:
        return _register(state, request)
    if intent.kind is Kind.CANCELLATION:
        return _cancel(state, request)
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
    return _review((f"{what}: keine automatische Antwort, bitte lesen.",))


def apply(state: AllocationState, decision: Decision) -> AllocationState:
    """The state after a decision: what the store writes, done in memory."""
    if not decision.changes:
        return state
    attendees = dict(state.attendees)
    attendees.update((a.id, a) for a in decision.changes)
    return replace(state, attendees=attendees)


def _review(reasons: Iterable[str]) -> Decision:
    return Decision(outcome=Outcome.REVIEW, reply=None, needs_review=True, reasons=tuple(reasons))


def _register(state: AllocationState, request: Request) -> Decision:
    persons = request.intent.persons
    if not persons:
        return _review(("Anmeldung ohne erkennbare Person.",))
    flood = _flood(state, request)
    if flood:
        return _review((flood,))
    on_time = request.arrival <= state.deadline
    work = _promote_into_free_seats(state, request.arrival)
    changes = list(work.changes)
    current = work.state
    new_ids: list[str] = []
    placed: list[tuple[str, bool]] = []
    for index, person in enumerate(persons):
        existing = find_holder(current, person, request.contact)
        if existing is not None:
            placed.append((existing.id, True))
            continue
        attendee = _new_attendee(current, request, person, index, on_time)
        current = replace(current, attendees={**current.attendees, attendee.id: attendee})
        changes.append(attendee)
        new_ids.append(attendee.id)
        placed.append((attendee.id, False))
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
        changes=tuple(changes),
        promotions=work.promotions,
        needs_review=request.intent.has_question,
        reasons=tuple(reasons),
    )


def _flood(state: AllocationState, request: Request) -> str | None:
    """A registration beyond the limits waits for a person instead of taking seats."""
    limits = state.limits
    new = [p for p in request.intent.persons if find_holder(state, p, request.contact) is None]
    if len(request.intent.persons) > limits.persons_per_mail:
        return f"Mehr als {limits.persons_per_mail} Personen in einer Mail: bitte prüfen."
    active = [a for a in state.attendees.values() if a.active]
    from_address = sum(1 for a in active if same_address(a.contact, request.contact))
    if new and from_address + len(new) > limits.persons_per_address:
        return (
            f"Mehr als {limits.persons_per_address} Personen von {request.contact}: "
            "bitte prüfen (Schutz vor Massenanmeldung)."
        )
    domain = domain_of(request.contact)
    from_domain = sum(1 for a in active if domain_of(a.contact) == domain)
    if new and from_domain + len(new) > limits.persons_per_domain:
        return (
            f"Mehr als {limits.persons_per_domain} Personen von @{domain}: "
            "bitte prüfen (Schutz vor Massenanmeldung)."
        )
    return None


def _new_attendee(
    state: AllocationState, request: Request, person: Person, index: int, on_time: bool
) -> Attendee:
    seat = state.free_seat() if on_time and not state.waitlist() else None
    if not on_time:
        status = Status.LATE
    elif seat is not None:
        status = Status.CONFIRMED
    else:
        status = Status.WAITLISTED
    return Attendee(
        id=f"{request.message_key}#{index}",
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
    )


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


def _cancel(state: AllocationState, request: Request) -> Decision:
    targets, problem = cancellation_targets(state, request)
    if problem:
        return _review((problem,))
    attendees = dict(state.attendees)
    cancelled = []
    for target in targets:
        done = replace(target, status=Status.CANCELLED, seat=None)
        attendees[done.id] = done
        cancelled.append(done)
    after = replace(state, attendees=attendees)
    work = _promote_into_free_seats(after, request.arrival)
    reasons = [f"{a.name}: abgemeldet, Platz freigegeben." for a in cancelled]
    reasons += [
        f"{p.attendee.name}: rückt von der Warteliste auf Platz {p.attendee.seat} nach."
        for p in work.promotions
    ]
    if not work.promotions and request.arrival >= state.event_start:
        reasons.append("Nach Veranstaltungsbeginn: niemand rückt nach.")
    return Decision(
        outcome=Outcome.CANCELLED,
        reply=ReplyKind.CANCELLATION,
        placements=tuple(Placement(attendee=a) for a in cancelled),
        changes=(*cancelled, *work.changes),
        promotions=work.promotions,
        reasons=tuple(reasons),
    )


def cancellation_targets(
    state: AllocationState, request: Request
) -> tuple[list[Attendee], str | None]:
    """Whom a cancellation withdraws. Only the registering address (or the person's own) may.

    The From address counts, not Reply-To: anybody can set a Reply-To to someone else's
    address, and the cancellation would then take that person's seat. A reply to our own
    confirmation also counts: its unguessable Message-ID is the token we issued.
    """
    senders = {request.sender, *request.thread_contacts}
    mine = [
        a
        for a in state.attendees.values()
        if a.active and any(same_address(s, a.contact) or same_address(s, a.email) for s in senders)
    ]
    if not mine:
        return [], "Abmeldung, aber zu dieser Adresse gibt es keine aktive Anmeldung."
    named = request.intent.persons
    if not named:
        own = [a for a in mine if any(same_address(s, a.email) for s in senders)]
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


def find_holder(state: AllocationState, person: Person, contact: str) -> Attendee | None:
    """The active attendee this person already is, if any (one place per person)."""
    for attendee in state.attendees.values():
        if attendee.active and _same_person(attendee, person, contact):
            return attendee
    return None


def _same_person(attendee: Attendee, person: Person, contact: str) -> bool:
    if person.email and attendee.email:
        return same_address(person.email, attendee.email)
    if name_tokens(person.name) != name_tokens(attendee.name) or not name_tokens(person.name):
        return False
    # Same name: the same person when registered from the same address or organisation domain.
    return same_address(attendee.contact, contact) or domain_of(
        attendee.email or attendee.contact
    ) == domain_of(person.email or contact)


@dataclass(frozen=True, kw_only=True)
class _Promoted:
    state: AllocationState
    changes: tuple[Attendee, ...]
    promotions: tuple[Placement, ...]


def _promote_into_free_seats(state: AllocationState, arrival: datetime) -> _Promoted:
    """Fill free seats from the head of the waitlist, before anyone new gets one."""
    changes: list[Attendee] = []
    if arrival >= state.event_start:
        return _Promoted(state=state, changes=(), promotions=())
    while (seat := state.free_seat()) is not None and (waiting := state.waitlist()):
        moved = replace(waiting[0], status=Status.CONFIRMED, seat=seat)
        state = replace(state, attendees={**state.attendees, moved.id: moved})
        changes.append(moved)
    return _Promoted(
        state=state,
        changes=tuple(changes),
        promotions=tuple(Placement(attendee=a) for a in changes),
    )
