"""How the seats filled over time, folded from the allocation log by attendee id (pure).

+1 per confirmed new person, -1 per cancelled seat, +1 per promotion, each at the
arrival of the mail that caused it (a promotion at the cancellation that freed its
seat); staff actions count at the time they were taken. Persons are followed by their
attendee id, so two persons of the same name never mix. Records written before ids
existed are followed by name, as well as that goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from inbox_bot.core.audit import AuditRecord, MailRecord, PersonEntry, StaffRecord
from inbox_bot.core.model import Attendee, Status


@dataclass(frozen=True, kw_only=True)
class SeatPoint:
    """Confirmed seats right after one decision that moved seats."""

    when: datetime
    seats: int
    freed: int  # seats given back by cancellations in this decision
    promoted: int  # persons who moved up from the waitlist


@dataclass(frozen=True, kw_only=True)
class Timeline:
    points: tuple[SeatPoint, ...]
    promoted_at: dict[str, datetime]  # by person key (attendee id, or name:...)
    cancelled_at: dict[str, datetime]

    def moved_up(self, attendee: Attendee) -> datetime | None:
        return self.promoted_at.get(attendee.id) or self.promoted_at.get(name_key(attendee.name))

    def cancelled(self, attendee: Attendee) -> datetime | None:
        return self.cancelled_at.get(attendee.id) or self.cancelled_at.get(name_key(attendee.name))


def name_key(name: str | None) -> str:
    return "name:" + " ".join((name or "").casefold().split())


def key_of(person: PersonEntry) -> str:
    return person.attendee_id or name_key(person.name)


@dataclass
class _Fold:
    seated: set[str] = field(default_factory=set)
    waiting: set[str] = field(default_factory=set)
    moves: list[tuple[datetime, int, int, int, int]] = field(default_factory=list)
    promoted_at: dict[str, datetime] = field(default_factory=dict)
    cancelled_at: dict[str, datetime] = field(default_factory=dict)

    def step(
        self,
        order: int,
        when: datetime,
        persons: Iterable[PersonEntry],
        promoted: Iterable[PersonEntry],
    ) -> None:
        taken = freed = moved_up = 0
        for person in persons:
            key = key_of(person)
            if person.duplicate:
                continue
            if person.status == Status.CONFIRMED:
                self.waiting.discard(key)
                taken += key not in self.seated
                self.seated.add(key)
            elif person.status == Status.WAITLISTED:
                self.waiting.add(key)
            elif person.status == Status.CANCELLED:
                self.cancelled_at[key] = when
                freed += key in self.seated
                self.seated.discard(key)
                self.waiting.discard(key)
        for person in promoted:
            key = key_of(person)
            self.promoted_at[key] = when
            self.waiting.discard(key)
            moved_up += key not in self.seated
            self.seated.add(key)
        if taken or freed or moved_up:
            self.moves.append((when, order, taken, freed, moved_up))


def timeline(records: Iterable[AuditRecord]) -> Timeline:
    fold = _Fold()
    for order, record in enumerate(records):
        if isinstance(record, MailRecord):
            fold.step(order, record.received_at, record.persons, record.promoted)
        elif isinstance(record, StaffRecord) and record.action in (
            "staff_admitted",
            "staff_cancelled",
        ):
            fold.step(order, record.time, record.persons, record.promoted)
    points = []
    total = 0
    for when, _order, taken, freed, moved_up in sorted(fold.moves):
        total += taken - freed + moved_up
        points.append(SeatPoint(when=when, seats=total, freed=freed, promoted=moved_up))
    return Timeline(
        points=tuple(points), promoted_at=fold.promoted_at, cancelled_at=fold.cancelled_at
    )
