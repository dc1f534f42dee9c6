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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from inbox_bot.core.model import Attendee, Intent, Kind, Person, ReplyKind, Status
from inbox_bot.core.names import domain_of, name_tokens, names_match, same_address


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
    # Attendee ids this mail may cancel because it answers one of our mails about them
    # (the Message-ID of our mail is the token; see Store.authorized_by_replies).
    authorized: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Against seat grabbing: more than this goes to staff review."""

    persons_per_mail: int = 10
    persons_per_address: int = 10  # counted by the From address that registered them
    persons_per_domain: int = 60
    # Freemail domains (gmx.de, web.de, ...) are many people's: no per-domain brake.
    freemail: frozenset[str] = frozenset()


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
class Notify:
    """A mail to someone other than the sender about what the sender did for her."""

    kind: ReplyKind  # REGISTERED_NOTICE or CANCELLED_NOTICE
    recipient: str
    placements: tuple[Placement, ...]
    by: str  # the address that registered or cancelled


@dataclass(frozen=True, kw_only=True)
class Decision:
    outcome: Outcome
    reply: ReplyKind | None
    placements: tuple[Placement, ...] = ()
    changes: tuple[Attendee, ...] = ()  # new or updated attendee rows, in order
    promotions: tuple[Placement, ...] = ()  # each gets a promotion mail
    notices: tuple[Notify, ...] = ()  # each gets a short note
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
    conflicts = [c for p in persons if (c := _address_conflict(state, p))]
    if conflicts:
        return _review(conflicts)
    on_time = request.arrival <= state.deadline
    work = _promote_into_free_seats(state, request.arrival)
    changes = list(work.changes)
    current = work.state
    new_ids: list[str] = []
    placed: list[tuple[str, bool]] = []
    for index, person in enumerate(persons):
        existing = find_holder(current, person, request.contact)
        if existing is not None:
            renamed = _own_name(existing, person, request)
            if renamed is not None:
                current = replace(current, attendees={**current.attendees, renamed.id: renamed})
                changes.append(renamed)
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
        notices=_registered_notices(placements, request),
        needs_review=request.intent.has_question,
        reasons=tuple(reasons),
    )


def _address_conflict(state: AllocationState, person: Person) -> str | None:
    """Her address already holds a place under another name: a person must look."""
    if not person.email:
        return None
    holder = next(
        (a for a in state.attendees.values() if a.active and same_address(a.email, person.email)),
        None,
    )
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
    active = [a for a in state.attendees.values() if a.active]
    # Keyed on From: a Reply-To is free to vary, the sending address is not.
    from_address = sum(1 for a in active if same_address(a.registrant, request.sender))
    if new and from_address + len(new) > limits.persons_per_address:
        return (
            f"Mehr als {limits.persons_per_address} Personen von {request.sender}: "
            "bitte prüfen (Schutz vor Massenanmeldung)."
        )
    domain = domain_of(request.sender)
    if domain in limits.freemail:
        return None
    from_domain = sum(1 for a in active if domain_of(a.registrant) == domain)
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
        registered_by=request.sender,
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
        notices=cancelled_notices(cancelled, request.contact, request.sender),
        reasons=tuple(reasons),
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
    mine = [
        a
        for a in state.attendees.values()
        if a.active
        and (
            a.id in request.authorized
            or same_address(sender, a.registrant)
            or same_address(sender, a.contact)
            or same_address(sender, a.email)
        )
    ]
    if not mine:
        return [], "Abmeldung, aber zu dieser Adresse gibt es keine aktive Anmeldung."
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
