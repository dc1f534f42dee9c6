"""The allocation as staff take it away: JSON for machines, CSV for German Excel."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any

from inbox_bot.config import Settings
from inbox_bot.model import Status
from inbox_bot.store import Store

# A cell starting with one of these is a formula to Excel and LibreOffice (OWASP).
_FORMULA_START = re.compile(r"^[=+\-@\t\r\n|%]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

CSV_COLUMNS = (
    ("status", "Status"),
    ("seat", "Platz"),
    ("waitlist_position", "Warteliste"),
    ("name", "Name"),
    ("organization", "Organisation"),
    ("email", "E-Mail"),
    ("contact", "Angemeldet von"),
    ("registered_at", "Eingang"),
    ("message_id", "Message-ID"),
)


def allocation(settings: Settings, store: Store) -> dict[str, Any]:
    event = settings.event
    by_key = {row["message_key"]: row for row in store.messages()}
    replies = store.reply_ids()
    state = store.load_state(
        capacity=event.capacity, deadline=event.registration_deadline, event_start=event.starts_at
    )
    attendees = []
    for a in sorted(state.attendees.values(), key=_list_order):
        source = by_key.get(a.message_key)
        attendees.append(
            {
                "name": a.name,
                "email": a.email,
                "organization": a.organization,
                "status": str(a.status),
                "seat": a.seat,
                "waitlist_position": state.waitlist_position(a.id),
                "registered_at": event.local(a.arrival).isoformat(),
                "contact": a.contact,
                "message_id": source["message_id"] if source else None,
            }
        )
    messages = [
        {
            "message_id": row["message_id"],
            "uid": row["uid"],
            "received_at": event.local(datetime.fromisoformat(row["received_at"])).isoformat(),
            "from": row["sender"],
            "kind": row["kind"],
            "decision": row["decision"],
            "reply_message_id": replies.get(row["id"]),
            "needs_review": bool(row["needs_review"]) and not row["resolved"],
        }
        for row in store.messages()
    ]
    return {
        "event": {
            "title": event.title,
            "organizer": event.organizer,
            "starts_at": event.local(event.starts_at).isoformat(),
            "ends_at": event.local(event.ends_at).isoformat(),
            "timezone": event.timezone,
            "venue": event.venue,
            "capacity": event.capacity,
            "registration_deadline": event.local(event.registration_deadline).isoformat(),
        },
        "attendees": attendees,
        "messages": messages,
    }


_STATUS_ORDER = {Status.CONFIRMED: 0, Status.WAITLISTED: 1, Status.LATE: 2, Status.CANCELLED: 3}


def _list_order(a: Any) -> tuple[int, int, datetime, int, int]:
    return (_STATUS_ORDER[a.status], a.seat or 0, a.arrival, a.uid, a.index)


def safe_cell(value: object) -> str:
    """Text that a spreadsheet shows as text, never runs as a formula."""
    if value is None:
        return ""
    text = _CONTROL.sub("", str(value))
    return "'" + text if _FORMULA_START.match(text) else text


def attendees_csv(data: dict[str, Any]) -> bytes:
    """Semicolons, UTF-8 with BOM and CRLF: what German Excel opens correctly."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([title for _, title in CSV_COLUMNS])
    for person in data["attendees"]:
        writer.writerow([safe_cell(person[key]) for key, _ in CSV_COLUMNS])
    return out.getvalue().encode("utf-8-sig")
