"""What the report page shows, as plain values (names and reasons come from mail and
are escaped by the template engine)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from babel.dates import format_datetime

from inbox_bot.adapters.store import MessageRow, Store
from inbox_bot.app.state import allocation_state
from inbox_bot.config import EventSettings, Settings
from inbox_bot.core.allocate import AllocationState
from inbox_bot.core.audit import from_json
from inbox_bot.core.dates import event_facts
from inbox_bot.core.model import Attendee, Status
from inbox_bot.core.timeline import Timeline, timeline
from inbox_bot.core.visible import counted
from inbox_bot.ui.report.chart import seat_chart

KIND_LABELS = {
    "registration": "Anmeldung",
    "cancellation": "Abmeldung",
    "question": "Frage",
    "thanks": "Dank / Antwort",
    "auto_reply": "Automatische Antwort",
    "bounce": "Unzustellbar",
    "read_receipt": "Lesebestätigung",
    "bulk": "Newsletter / Verteiler",
    "other": "Sonstiges",
}


def report_context(
    settings: Settings, store: Store, now: datetime, only: str | None = None
) -> dict[str, Any]:
    """The page: an overview of the events (in a series), a section per event with its
    lists, chart and door list, and the mail waiting for staff."""
    events = [settings.event_for(only)] if only is not None else list(settings.events)
    everyone = store.attendees()
    records = [entry.data for entry in store.log_after(0)]
    review = _review_for(settings, store, only)
    sections = [_section(settings, event, everyone, records, len(review), now) for event in events]
    return {
        "title": sections[0]["event"]["title"] if len(sections) == 1 else _series_title(events),
        "series": len(sections) > 1,
        "sections": sections,
        "generated": _long(now, settings),
        "last_poll": _iso_text(store.get_meta("last_poll_ok"), settings),
        "notices": [*_notices(store, store.counts()), *_sender_check(records)],
        "review": [_review_row(row, settings) for row in review],
    }


def _series_title(events: list[EventSettings]) -> str:
    organizer = events[0].organizer
    return f"Veranstaltungsreihe der {organizer}" if organizer else "Veranstaltungsreihe"


def _review_for(settings: Settings, store: Store, only: str | None) -> list[MessageRow]:
    """Mail waiting for staff: all of it, or with --event the mail of that event and the
    mail that is in no event yet (someone must decide where it goes)."""
    queue = store.review_queue()
    if only is None or not settings.series:
        return queue
    return [row for row in queue if not row.events or only in row.events]


def _section(
    settings: Settings,
    event: EventSettings,
    everyone: list[Attendee],
    records: list[dict[str, Any]],
    review: int,
    now: datetime,
) -> dict[str, Any]:
    state = allocation_state(settings, event, everyone)
    mine = [r for r in records if not settings.series or r.get("event") == event.key]
    history = timeline(from_json(data) for data in mine)
    return {
        "key": event.key or "event",
        # what makes the page's anchors unique per event ("" in an [event] config)
        "id": f"-{event.key}" if settings.series else "",
        "event": _event(event),
        "has_swaps": any(p.freed or p.promoted for p in history.points),
        "glance": _glance(event, state, review, now),
        **_lists(settings, state, history),
        "door": door_list(state.confirmed()),
        "chart": seat_chart(history.points, state.capacity, now, event),
    }


def _event(event: EventSettings) -> dict[str, Any]:
    deadline = event.local(event.registration_deadline)
    return {
        **event_facts(event, "de"),
        "key": event.key,
        "capacity": event.capacity,
        "deadline_at": format_datetime(deadline, "dd.MM.yyyy, HH:mm 'Uhr'", locale="de"),
        "deadline_date": format_datetime(deadline, "dd.MM.yyyy", locale="de"),
        "deadline_time": format_datetime(deadline, "HH:mm 'Uhr'", locale="de"),
    }


def _by_status(state: AllocationState, status: Status) -> list[Attendee]:
    chosen = (a for a in state.attendees.values() if a.status is status)
    return sorted(chosen, key=lambda a: a.queue_order)


def _glance(
    event: EventSettings, state: AllocationState, review: int, now: datetime
) -> dict[str, Any]:
    capacity = event.capacity
    deadline = event.registration_deadline
    confirmed = len(state.confirmed())
    return {
        "confirmed": confirmed,
        "capacity": capacity,
        "free": max(0, capacity - confirmed),
        "percent": _percent(confirmed, capacity),
        "waitlist": len(state.waitlist()),
        "review": review,
        "late": len(_by_status(state, Status.LATE)),
        "cancelled": len(_by_status(state, Status.CANCELLED)),
        "deadline_passed": now > deadline,
        "deadline_left": _time_left(deadline - now),
    }


def _lists(settings: Settings, state: AllocationState, history: Timeline) -> dict[str, Any]:
    def when(moment: datetime | None) -> str:
        return _when(moment, settings) if moment else ""

    return {
        "confirmed": [
            {**_plain_row(a, settings), "seat": a.seat, "moved_up": when(history.moved_up(a))}
            for a in state.confirmed()
        ],
        "waitlist": [
            {**_plain_row(a, settings), "position": position}
            for position, a in enumerate(state.waitlist(), start=1)
        ],
        "late": [_plain_row(a, settings) for a in _by_status(state, Status.LATE)],
        "cancelled": [
            {**_plain_row(a, settings), "cancelled_at": when(history.cancelled(a))}
            for a in _by_status(state, Status.CANCELLED)
        ],
    }


def _review_row(row: MessageRow, settings: Settings) -> dict[str, Any]:
    return {
        "arrival": _when(row.received_at, settings),
        "sender": row.sender or "",
        "subject": row.subject or "",
        "kind": KIND_LABELS.get(row.kind, row.kind),
        "reason": row.review_reason,
    }


def _plain_row(a: Attendee, settings: Settings) -> dict[str, Any]:
    return {
        "name": _name(a),
        "organization": a.organization or "",
        "arrival": _when(a.arrival, settings),
    }


def _notices(store: Store, counts: dict[str, int]) -> list[str]:
    notices = []
    alert = store.get_meta("alert")
    if alert:
        notices.append(f"Warnung: {alert}")
    if counts["outbox_failed"]:
        notices.append(
            f"{counted(counts['outbox_failed'], 'Antwort konnte', 'Antworten konnten')} "
            "nicht zugestellt werden "
            "(replies failed); die Mails stehen unter „Zur Bearbeitung“."
        )
    ok, error = store.get_meta("last_poll_ok") or "", store.get_meta("last_poll_error") or ""
    if error and error.split(" ", 1)[0] > ok.split(" ", 1)[0]:
        notices.append(f"Letzter Abruf fehlgeschlagen (last poll failed): {error}")
    return notices


def _sender_check(records: list[dict[str, Any]]) -> list[str]:
    """What our border server said of the senders ([authenticity]), counted per mail."""
    seen: dict[tuple[object, object], str] = {}
    for r in records:
        if r.get("authenticity"):
            seen[(r.get("uidvalidity"), r.get("uid"))] = str(r["authenticity"])
    if not seen:
        return []
    count = {v: sum(1 for x in seen.values() if x == v) for v in ("pass", "fail", "unknown")}
    line = (
        f"Absenderprüfung (sender check): {count['pass']} bestätigt (pass), "
        f"{count['fail']} gefälscht (fail), {count['unknown']} ohne Aussage (unknown)."
    )
    if count["fail"]:
        line += " Mails mit gefälschtem Absender: keine Antwort, siehe „Zur Bearbeitung“."
    return [line]


# --------------------------------------------------------------------------- door list


def door_list(confirmed: Iterable[Attendee]) -> list[dict[str, Any]]:
    """Confirmed attendees by surname ("Nachname, Vorname"), as German lists are sorted."""
    rows: list[tuple[tuple[str, str, int], dict[str, Any]]] = []
    for a in confirmed:
        surname, given = split_name(a.name)
        row = {
            "name": f"{surname}, {given}" if given else surname or "(ohne Namen)",
            "organization": a.organization or "",
            "seat": a.seat,
        }
        rows.append(((_collate(surname), _collate(given), a.seat or 0), row))
    rows.sort(key=lambda pair: pair[0])
    return [row for _, row in rows]


def split_name(name: str) -> tuple[str, str]:
    """Surname and the rest: 'Sebastian Kortmann' -> ('Kortmann', 'Sebastian').

    The last word is the surname; a particle stays with the given names, so 'Anna von
    Bülow' is filed under B as 'Bülow, Anna von', as German lists do.
    """
    words = name.split()
    if len(words) < 2:
        return (name.strip(), "")
    return (words[-1], " ".join(words[:-1]))


def _collate(text: str) -> str:
    """DIN 5007-1: ä sorts as a, ß as ss, case ignored."""
    text = text.casefold().replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


# --------------------------------------------------------------------------- words


def _name(a: Attendee) -> str:
    return a.name or "(ohne Namen)"


def _when(moment: datetime, settings: Settings) -> str:
    return format_datetime(moment.astimezone(settings.zone), "dd.MM.yyyy HH:mm:ss", locale="de")


def _long(moment: datetime, settings: Settings) -> str:
    return format_datetime(
        moment.astimezone(settings.zone), "EEEE, d. MMMM y, HH:mm 'Uhr'", locale="de"
    )


def _iso_text(value: str | None, settings: Settings) -> str:
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value).astimezone(settings.zone)
    except ValueError:
        return value
    return format_datetime(moment, "dd.MM.yyyy, HH:mm 'Uhr'", locale="de")


def _percent(part: int, whole: int) -> int:
    return 100 if whole <= 0 else min(100, round(part * 100 / whole))


def _time_left(left: timedelta) -> str:
    if left.total_seconds() <= 0:
        return ""
    days = left.days
    if days >= 2:
        return f"noch {days} Tage"
    hours = int(left.total_seconds() // 3600)
    if hours >= 1:
        return f"noch {hours} Std."
    return "noch unter einer Stunde"
