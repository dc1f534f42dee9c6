"""Who is due a notice the bot sends by itself (pure: the clock comes in as `now`).

- Reminder: `days_before` days before the start, to every person with a seat; the
  reply address of the person's registration gets it, with how to cancel.
- Closing note: at the start, to every person still on the waitlist (nobody moves up
  after the start): no seat became free, thank you.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from inbox_bot.config import EventSettings
from inbox_bot.core.allocate import AllocationState
from inbox_bot.core.model import Attendee, ReplyKind

# A closing note goes out at most this long after the event ended: a database brought
# back (or a bot started) long afterwards must not mail people about an old event.
FINAL_NOTE_LATEST = timedelta(days=1)


@dataclass(frozen=True, kw_only=True)
class Notice:
    """One mail: a kind, one reply address, the persons it is about (in queue order)."""

    kind: ReplyKind
    recipient: str
    attendees: tuple[Attendee, ...]


def due_notices(
    state: AllocationState,
    event: EventSettings,
    now: datetime,
    *,
    days_before: int = 3,
    final_note: bool = True,
    done: Collection[tuple[str, str]] = (),
) -> list[Notice]:
    """The notices due at `now` that were not queued before (`done`: attendee id, kind).

    Reminder: starts_at - days_before <= now < starts_at, to confirmed persons.
    Closing note: starts_at <= now <= ends_at + 1 day, to persons still waitlisted.
    Persons with the same reply address share one mail.
    """
    wanted: list[tuple[ReplyKind, Attendee]] = []
    start = event.starts_at
    if days_before > 0 and start - timedelta(days=days_before) <= now < start:
        wanted += [(ReplyKind.REMINDER, a) for a in state.confirmed()]
    if final_note and start <= now <= event.ends_at + FINAL_NOTE_LATEST:
        wanted += [(ReplyKind.WAITLIST_CLOSED, a) for a in state.waitlist()]
    grouped: dict[tuple[ReplyKind, str], list[Attendee]] = {}
    for kind, attendee in wanted:
        if (attendee.id, str(kind)) in done:
            continue
        grouped.setdefault((kind, attendee.reply_address.lower()), []).append(attendee)
    notices = []
    for (kind, _), persons in grouped.items():
        ordered = tuple(sorted(persons, key=lambda a: a.queue_order))
        notices.append(Notice(kind=kind, recipient=ordered[0].reply_address, attendees=ordered))
    return notices
