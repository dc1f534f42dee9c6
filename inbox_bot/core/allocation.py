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
from functools import cached_property

from inbox_bot.core.model import Attendee, Intent, Person, ReplyKind, Status
from inbox_bot.core.names import address_key, domain_of, name_tokens, same_address
from inbox_bot.core.state_index import StateIndex


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
    # What our border server said of the From address (core/authenticity.py):
    # "pass", "fail", or "unknown"/"" (nothing trusted said anything).
    authenticity: str = ""
    authenticity_evidence: str = ""


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

    @cached_property
    def index(self) -> StateIndex:
        """Lookups without scans (core/state_index.py): built on first use, then carried
        along by `with_changes`. Not a field: `replace()` never copies a stale one."""
        return StateIndex.build(self.capacity, self.attendees)

    def with_changes(self, changes: Iterable[Attendee]) -> AllocationState:
        """This state with the changed (new or updated) attendees; the index follows."""
        changed = list(changes)
        if not changed:
            return self
        latest: dict[str, Attendee] = {}
        pairs = []
        for a in changed:  # one attendee changed twice: the second change follows the first
            pairs.append((latest.get(a.id, self.attendees.get(a.id)), a))
            latest[a.id] = a
        attendees = {**self.attendees, **latest}
        after = replace(self, attendees=attendees)
        if "index" in self.__dict__:  # carried along only where it exists already
            after.__dict__["index"] = self.index.changed(pairs)
        return after

    def confirmed(self) -> list[Attendee]:
        return sorted(
            (a for a in self.attendees.values() if a.status is Status.CONFIRMED),
            key=lambda a: a.seat or 0,
        )

    def waitlist(self) -> list[Attendee]:
        return [self.attendees[i] for _, i in self.index.waiting]

    def waitlist_head(self) -> Attendee | None:
        waiting = self.index.waiting
        return self.attendees[waiting[0][1]] if waiting else None

    def waitlist_position(self, attendee_id: str) -> int | None:
        attendee = self.attendees.get(attendee_id)
        return self.index.waitlist_position(attendee) if attendee is not None else None

    def free_seat(self) -> int | None:
        return self.index.free_seat()

    def active_at(self, address: str | None, *, own: bool = False) -> list[Attendee]:
        """Active attendees tied to an address, in the state's order: by their own
        address only (`own`), else also as contact or registering From address."""
        if not address:
            return []
        table = self.index.emails if own else self.index.addresses
        ids = table.get(address_key(address), frozenset())
        return [self.attendees[i] for i in self.index.in_order(ids)]

    def active_named(self, name: str) -> list[Attendee]:
        """Active attendees whose name has these name tokens, in the state's order."""
        ids = self.index.names.get(name_tokens(name), frozenset())
        return [self.attendees[i] for i in self.index.in_order(ids)]


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
    return state.with_changes(decision.changes)


def find_holder(state: AllocationState, person: Person, contact: str) -> Attendee | None:
    """The active attendee this person already is, if any (one place per person): the
    first a scan of the state would meet, found through the index."""
    candidates = {a.id: a for a in state.active_named(person.name)}
    if person.email:
        candidates.update((a.id, a) for a in state.active_at(person.email, own=True))
    for aid in state.index.in_order(candidates):
        if _same_person(candidates[aid], person, contact):
            return candidates[aid]
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
    while (seat := state.free_seat()) is not None and (head := state.waitlist_head()):
        moved = replace(head, status=Status.CONFIRMED, seat=seat)
        state = state.with_changes([moved])
        changes.append(moved)
    return Promoted(
        state=state,
        changes=tuple(changes),
        promotions=tuple(Placement(attendee=a) for a in changes),
    )


def to_staff(reasons: Iterable[str]) -> Decision:
    """No automatic decision: a person looks at it, for these reasons."""
    return Decision(outcome=Outcome.REVIEW, reply=None, needs_review=True, reasons=tuple(reasons))
