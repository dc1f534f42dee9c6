"""The allocation as one document: the event, every attendee, every mail and the log.

What `inbox-bot export --format json` prints, and what the CSV and XLSX exports
(inbox_bot/ui/export.py) and the demo are made from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inbox_bot.adapters.store import Store
from inbox_bot.app.state import allocation_state
from inbox_bot.config import EventSettings, Settings
from inbox_bot.core.model import Attendee, Status


def allocation(settings: Settings, store: Store, event: str | None = None) -> dict[str, Any]:
    """The whole series; with `event` (or for an [event] config) one event, in the shape
    of a single event's document."""
    if event is not None or not settings.series:
        chosen = settings.event_for(event) if event is not None else settings.events[0]
        log = store.log_after(0)
        return {
            "event": _event(chosen),
            "attendees": _attendees(settings, store, [chosen]),
            "messages": _messages(settings, store, chosen.key),
            # The allocation log as in the JSON-lines file: one record per decision.
            "log": [
                {"seq": e.seq, **e.data}
                for e in log
                if not settings.series or e.data.get("event") == chosen.key
            ],
        }
    return {
        "events": [{"key": e.key, **_event(e)} for e in settings.events],
        "attendees": _attendees(settings, store, list(settings.events)),
        "messages": _messages(settings, store, None),
        "log": [{"seq": entry.seq, **entry.data} for entry in store.log_after(0)],
    }


def _event(event: EventSettings) -> dict[str, Any]:
    return {
        "title": event.title,
        "organizer": event.organizer,
        "starts_at": event.local(event.starts_at).isoformat(),
        "ends_at": event.local(event.ends_at).isoformat(),
        "timezone": event.timezone,
        "venue": event.venue,
        "capacity": event.capacity,
        "registration_deadline": event.local(event.registration_deadline).isoformat(),
    }


def _attendees(
    settings: Settings, store: Store, events: list[EventSettings]
) -> list[dict[str, Any]]:
    by_key = {row.message_key: row for row in store.messages()}
    everyone = store.attendees()
    attendees = []
    for event in events:
        state = allocation_state(settings, event, everyone)
        for a in sorted(state.attendees.values(), key=_list_order):
            source = by_key.get(a.message_key)
            entry: dict[str, Any] = {"event": a.event} if len(events) > 1 else {}
            attendees.append(
                {
                    **entry,
                    "id": a.id,
                    "name": a.name,
                    "email": a.email,
                    "organization": a.organization,
                    "status": str(a.status),
                    "seat": a.seat,
                    "waitlist_position": state.waitlist_position(a.id),
                    "registered_at": event.local(a.arrival).isoformat(),
                    "contact": a.contact,
                    "message_id": source.message_id if source else None,
                }
            )
    return attendees


def message_events(store: Store) -> dict[str, list[str]]:
    """The events each mail (by key) placed or withdrew people in, as recorded, else as
    its attendees show (mail decided before the series)."""
    found: dict[str, list[str]] = {}
    for a in store.attendees():
        events = found.setdefault(a.message_key, [])
        if a.event not in events:
            events.append(a.event)
    for row in store.messages():
        if row.events:
            found[row.message_key] = list(row.events)
    return found


def _messages(settings: Settings, store: Store, event: str | None) -> list[dict[str, Any]]:
    replies = store.reply_ids()
    events = message_events(store) if settings.series else {}
    rows = []
    for row in store.messages():
        own = events.get(row.message_key, [])
        if event is not None and settings.series and event not in own:
            continue
        entry: dict[str, Any] = {
            "message_id": row.message_id,
            "uid": row.uid,
            "received_at": row.received_at.astimezone(settings.zone).isoformat(),
            "from": row.sender,
            "kind": row.kind,
            "decision": row.decision,
            "reply_message_id": replies.get(row.id),
            "needs_review": row.waiting_for_staff,
        }
        if settings.series and event is None:
            entry["events"] = own
        rows.append(entry)
    return rows


_STATUS_ORDER = {Status.CONFIRMED: 0, Status.WAITLISTED: 1, Status.LATE: 2, Status.CANCELLED: 3}


def _list_order(a: Attendee) -> tuple[int, int, datetime, int, int]:
    return (_STATUS_ORDER[a.status], a.seat or 0, a.arrival, a.uid, a.index)
