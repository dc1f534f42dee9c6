"""The allocation as one document: the event, every attendee, every mail and the log.

What `inbox-bot export --format json` prints, and what the CSV and XLSX exports
(inbox_bot/ui/export.py) and the demo are made from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inbox_bot.adapters.store import Store
from inbox_bot.app.state import allocation_state
from inbox_bot.config import Settings
from inbox_bot.core.model import Attendee, Status


def allocation(settings: Settings, store: Store) -> dict[str, Any]:
    return {
        "event": _event(settings),
        "attendees": _attendees(settings, store),
        "messages": _messages(settings, store),
        # The allocation log as in the JSON-lines file: one record per decision.
        "log": [{"seq": entry.seq, **entry.data} for entry in store.log_after(0)],
    }


def _event(settings: Settings) -> dict[str, Any]:
    event = settings.event
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


def _attendees(settings: Settings, store: Store) -> list[dict[str, Any]]:
    event = settings.event
    by_key = {row.message_key: row for row in store.messages()}
    state = allocation_state(settings, store.attendees())
    attendees = []
    for a in sorted(state.attendees.values(), key=_list_order):
        source = by_key.get(a.message_key)
        attendees.append(
            {
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


def _messages(settings: Settings, store: Store) -> list[dict[str, Any]]:
    replies = store.reply_ids()
    return [
        {
            "message_id": row.message_id,
            "uid": row.uid,
            "received_at": settings.event.local(row.received_at).isoformat(),
            "from": row.sender,
            "kind": row.kind,
            "decision": row.decision,
            "reply_message_id": replies.get(row.id),
            "needs_review": row.waiting_for_staff,
        }
        for row in store.messages()
    ]


_STATUS_ORDER = {Status.CONFIRMED: 0, Status.WAITLISTED: 1, Status.LATE: 2, Status.CANCELLED: 3}


def _list_order(a: Attendee) -> tuple[int, int, datetime, int, int]:
    return (_STATUS_ORDER[a.status], a.seat or 0, a.arrival, a.uid, a.index)
