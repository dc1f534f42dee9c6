"""The records of an allocation decision and the state they change (pure).

decide(state, request) -> Decision lives in core/allocate.py; this module holds what
it reads and returns, and the two rules every decision shares: who already holds a
place (find_holder), and who moves up into a free seat (promote_free_seats).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from inbox_bot.core.model import Attendee, Intent, Person, ReplyKind, Status
from inbox_bot.core.names import domain_of, name_tokens, same_address


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
    # Which event of the series this is ("" for the one event of an [event] config);
    # in a series, attendee ids carry the key: one mail may place a person in several.
    event: str = ""
    series: bool = False

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
    # A cancellation: who of the sender's registrations stays, and whether she herself
    # withdrew (the reply then says it is a pity she cannot come).
    staying: tuple[Placement, ...] = ()
    self_cancelled: bool = False
    needs_review: bool = False
    reasons: tuple[str, ...] = ()  # plain words for staff


def apply(state: AllocationState, decision: Decision) -> AllocationState:
    """The state after a decision: what the store writes, done in memory."""
    if not decision.changes:
        return state
    attendees = dict(state.attendees)
    attendees.update((a.id, a) for a in decision.changes)
    return replace(state, attendees=attendees)


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
class Promoted:
    state: AllocationState
    changes: tuple[Attendee, ...]
    promotions: tuple[Placement, ...]


def promote_free_seats(state: AllocationState, arrival: datetime) -> Promoted:
    """Fill free seats from the head of the waitlist, before anyone new gets one."""
    changes: list[Attendee] = []
    if arrival >= state.event_start:
        return Promoted(state=state, changes=(), promotions=())
    while (seat := state.free_seat()) is not None and (waiting := state.waitlist()):
        moved = replace(waiting[0], status=Status.CONFIRMED, seat=seat)
        state = replace(state, attendees={**state.attendees, moved.id: moved})
        changes.append(moved)
    return Promoted(
        state=state,
        changes=tuple(changes),
        promotions=tuple(Placement(attendee=a) for a in changes),
    )


def to_staff(reasons: Iterable[str]) -> Decision:
    """No automatic decision: a person looks at it, for these reasons."""
    return Decision(outcome=Outcome.REVIEW, reply=None, needs_review=True, reasons=tuple(reasons))
