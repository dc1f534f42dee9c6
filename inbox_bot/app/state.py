"""The one place that builds the allocation state from the settings and the attendees:
one state per event of the series, each with its own capacity, deadline and start.

Poll, staff actions, replay, the report and the exports all decide or show with the
same capacity, deadline, start and `[limits]` (freemail domains exempt from the
per-domain brake), so a replay can never disagree with a poll over a setting.
"""

from __future__ import annotations

from collections.abc import Iterable

from inbox_bot.config import EventSettings, Settings
from inbox_bot.core.allocate import AllocationState, Limits
from inbox_bot.core.classify.organizations import load_directory
from inbox_bot.core.model import Attendee


def allocation_state(
    settings: Settings,
    event: EventSettings,
    attendees: Iterable[Attendee],
    *,
    freemail: frozenset[str] | None = None,
) -> AllocationState:
    """One event's allocation: its capacity, deadline and start, the common [limits]."""
    limits = settings.limits
    if freemail is None:
        freemail = load_directory(settings.rules.organizations).freemail
    return AllocationState(
        capacity=event.capacity,
        deadline=event.registration_deadline,
        event_start=event.starts_at,
        attendees={a.id: a for a in attendees if _in(a, event, settings)},
        limits=Limits(
            persons_per_mail=limits.persons_per_mail,
            persons_per_address=limits.persons_per_address,
            persons_per_domain=limits.persons_per_domain,
            freemail=freemail,
        ),
        event=event.key,
        series=settings.series,
    )


def allocation_states(
    settings: Settings, attendees: Iterable[Attendee], *, freemail: frozenset[str] | None = None
) -> dict[str, AllocationState]:
    """Every event's allocation, by key, in the order of the config."""
    everyone = list(attendees)
    if freemail is None:
        freemail = load_directory(settings.rules.organizations).freemail
    return {
        e.key: allocation_state(settings, e, everyone, freemail=freemail) for e in settings.events
    }


def _in(attendee: Attendee, event: EventSettings, settings: Settings) -> bool:
    """Places of an [event] config (key "") count for the first event of a series that
    replaced it, until build_deps moves them there for good."""
    if attendee.event == event.key:
        return True
    return attendee.event == "" and event is settings.events[0] and bool(event.key)
