"""The staff's allocation report: one static HTML page, rewritten after every poll cycle.

`build_report` reads the store and renders `templates/report/report.html` (Jinja2,
autoescape on, StrictUndefined); it touches no network and takes the time as a value.
Everything in the page comes from this module as plain values: names, organisations,
subjects and review reasons come from mail and are escaped by the template engine,
and the chart is an inline SVG whose coordinates are computed here. The page loads
nothing from outside and runs no script, so it opens from a file share as it is.
"""

from __future__ import annotations

import json
import logging
import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
from babel.dates import format_date, format_datetime

from inbox_bot.adapters.safefiles import private_dir, write_atomic
from inbox_bot.adapters.store import Store
from inbox_bot.config import Settings
from inbox_bot.core.allocate import AllocationState
from inbox_bot.core.model import Attendee, Status
from inbox_bot.core.render import default_template_folder, event_facts
from inbox_bot.core.visible import shown

log = logging.getLogger(__name__)

TEMPLATE = "report/report.html"
DEFAULT_FILE = "allocation-report.html"

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

# --------------------------------------------------------------------------- the page


def build_report(settings: Settings, store: Store, now: datetime) -> str:
    """The whole page as a string (pure but for reading the store and the template)."""
    return _environment().get_template(TEMPLATE).render(**report_context(settings, store, now))


def write_report(settings: Settings, store: Store, now: datetime, path: Path) -> Path:
    """Render and replace `path` atomically: a reader sees the old page or the new one."""
    html = build_report(settings, store, now)
    mode = settings.report.mode  # "0600" unless staff open it for a share's group
    # A folder made for the page may be entered by whoever may read the page.
    private_dir(path.parent, 0o700 | mode & 0o044 | (mode & 0o044) >> 2)
    write_atomic(path, html.encode("utf-8"), mode)
    return path


def refresh_report(settings: Settings, store: Store, now: datetime) -> None:
    """After a poll cycle: write the report if `[report] path` is set; never fail the poll."""
    path = settings.report.path
    if path is None:
        return
    try:
        write_report(settings, store, now, path)
    except Exception as exc:  # a page for staff must never stop the mail from being answered
        log.warning("allocation report %s not written: %s", path, exc)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(default_template_folder())),
        autoescape=True,  # every value in the page may come from a mail
        undefined=jinja2.StrictUndefined,
        # nothing invisible, and names of mixed scripts marked (inbox_bot/visible.py)
        finalize=_shown,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _shown(value: object) -> object:
    # Markup is already ours (and escaped); everything else that is text may be a mail's.
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return shown(value)
    return value


# --------------------------------------------------------------------------- the data


def report_context(settings: Settings, store: Store, now: datetime) -> dict[str, Any]:
    event = settings.event
    state = store.load_state(
        capacity=event.capacity, deadline=event.registration_deadline, event_start=event.starts_at
    )
    attendees = list(state.attendees.values())
    timeline = replay_log(store)
    counts = store.counts()
    confirmed = state.confirmed()
    waitlist = state.waitlist()
    late = sorted((a for a in attendees if a.status is Status.LATE), key=lambda a: a.queue_order)
    cancelled = sorted(
        (a for a in attendees if a.status is Status.CANCELLED), key=lambda a: a.queue_order
    )
    review = store.review_queue()
    deadline = event.registration_deadline
    facts = event_facts(event, "de")
    return {
        "event": {
            **facts,
            "capacity": event.capacity,
            "deadline_at": format_datetime(
                event.local(deadline), "dd.MM.yyyy, HH:mm 'Uhr'", locale="de"
            ),
            "deadline_date": format_datetime(event.local(deadline), "dd.MM.yyyy", locale="de"),
            "deadline_time": format_datetime(event.local(deadline), "HH:mm 'Uhr'", locale="de"),
        },
        "generated": _long(now, settings),
        "last_poll": _iso_text(store.get_meta("last_poll_ok"), settings),
        "has_swaps": any(p.freed or p.promoted for p in timeline.points),
        "notices": _notices(store, counts),
        "glance": {
            "confirmed": len(confirmed),
            "capacity": event.capacity,
            "free": max(0, event.capacity - len(confirmed)),
            "percent": _percent(len(confirmed), event.capacity),
            "waitlist": len(waitlist),
            "review": len(review),
            "late": len(late),
            "cancelled": len(cancelled),
            "deadline_passed": now > deadline,
            "deadline_left": _time_left(deadline - now),
        },
        "confirmed": [
            {
                "seat": a.seat,
                "name": _name(a),
                "organization": a.organization or "",
                "arrival": _when(a.arrival, settings),
                "moved_up": _when(moved, settings)
                if (moved := timeline.promoted_at.get(_key(a.name)))
                else "",
            }
            for a in confirmed
        ],
        "waitlist": [
            {
                "position": position,
                "name": _name(a),
                "organization": a.organization or "",
                "arrival": _when(a.arrival, settings),
            }
            for position, a in enumerate(waitlist, start=1)
        ],
        "late": [_plain_row(a, settings) for a in late],
        "cancelled": [
            {
                **_plain_row(a, settings),
                "cancelled_at": _when(at, settings)
                if (at := timeline.cancelled_at.get(_key(a.name)))
                else "",
            }
            for a in cancelled
        ],
        "review": [
            {
                "arrival": _when(datetime.fromisoformat(row["received_at"]), settings),
                "sender": row["sender"] or "",
                "subject": row["subject"] or "",
                "kind": KIND_LABELS.get(row["kind"], row["kind"]),
                "reason": row["review_reason"] or "",
            }
            for row in review
        ],
        "door": door_list(confirmed),
        "chart": seat_chart(timeline.points, state, now, settings),
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
            f"{counts['outbox_failed']} Antwort(en) konnten nicht zugestellt werden "
            "(replies failed); die Mails stehen unter „Zur Bearbeitung“."
        )
    ok, error = store.get_meta("last_poll_ok") or "", store.get_meta("last_poll_error") or ""
    if error and error.split(" ", 1)[0] > ok.split(" ", 1)[0]:
        notices.append(f"Letzter Abruf fehlgeschlagen (last poll failed): {error}")
    return notices


# --------------------------------------------------------------------------- timeline


@dataclass(frozen=True, kw_only=True)
class SeatPoint:
    """Confirmed seats right after one decision that moved seats."""

    when: datetime
    seats: int
    freed: int  # seats given back by cancellations in this decision
    promoted: int  # persons who moved up from the waitlist (or were admitted by staff)


@dataclass(frozen=True, kw_only=True)
class Timeline:
    points: tuple[SeatPoint, ...]
    promoted_at: dict[str, datetime]  # by _key(name)
    cancelled_at: dict[str, datetime]


def replay_log(store: Store) -> Timeline:
    """Replay the allocation log: +1 per confirmed new person, -1 per cancelled seat,
    +1 per promotion, each at the arrival of the mail that caused it (a promotion at the
    cancellation that freed its seat); staff actions count at the time they were taken.

    The log names persons but carries no attendee id, so persons are matched by name
    (staff records hold names only). Two persons of the same name, or names deleted on
    request, can make the curve approximate; the tables above it are always exact.
    """
    seated: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    moves: list[tuple[datetime, int, int, int, int]] = []
    promoted_at: dict[str, datetime] = {}
    cancelled_at: dict[str, datetime] = {}
    for row in store.log_after(0):
        seq, record = row[0], json.loads(row[1])
        when = _record_time(record)
        if when is None:
            continue
        action = _staff_status(str(record.get("decision") or ""))
        persons = [_person_of(p) for p in record.get("persons") or ()]
        promoted = [_person_of(p)[0] for p in record.get("promoted") or ()]
        taken = freed = moved_up = 0
        for key, recorded, duplicate in persons:
            # A staff record holds names only; its action says what happened to them.
            status = recorded or action
            if duplicate:
                continue
            if status == Status.CONFIRMED:
                if recorded is None:  # admitted by staff, from the waitlist or elsewhere
                    _take(waiting, key)
                seated[key] += 1
                taken += 1
            elif status == Status.WAITLISTED:
                waiting[key] += 1
            elif status == Status.CANCELLED:
                cancelled_at[key] = when
                # A seat was freed when the person held one; when the name is ambiguous,
                # a promotion in the same decision says that a seat was freed.
                if seated[key] and (not waiting[key] or promoted):
                    _take(seated, key)
                    freed += 1
                else:
                    _take(waiting, key)
        for key in promoted:
            promoted_at[key] = when
            _take(waiting, key)
            seated[key] += 1
            moved_up += 1
        if taken or freed or moved_up:
            moves.append((when, seq, taken, freed, moved_up))
    points = []
    total = 0
    for when, _seq, taken, freed, moved_up in sorted(moves):
        total += taken - freed + moved_up
        points.append(SeatPoint(when=when, seats=total, freed=freed, promoted=moved_up))
    return Timeline(points=tuple(points), promoted_at=promoted_at, cancelled_at=cancelled_at)


def _person_of(entry: Any) -> tuple[str, str | None, bool]:
    """(key, status, duplicate) of a log entry: a dict from a decision, a name from staff."""
    if isinstance(entry, dict):
        status = entry.get("status")
        return (
            _key(entry.get("name")),
            str(status) if status else None,
            bool(entry.get("duplicate")),
        )
    return _key(str(entry)), None, False


def _staff_status(decision: str) -> str | None:
    if "cancel" in decision:  # staff_cancelled
        return str(Status.CANCELLED)
    if "admit" in decision:  # staff_admitted
        return str(Status.CONFIRMED)
    return None


def _take(counter: Counter[str], key: str) -> None:
    if counter[key] > 0:
        counter[key] -= 1


def _record_time(record: dict[str, Any]) -> datetime | None:
    for field in ("received_at", "time"):
        try:
            moment = datetime.fromisoformat(record[field])
        except (KeyError, TypeError, ValueError):
            continue
        if moment.tzinfo is not None:
            return moment
    return None


def _key(name: str | None) -> str:
    return " ".join((name or "").casefold().split())


# --------------------------------------------------------------------------- chart


@dataclass(frozen=True, kw_only=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True, kw_only=True)
class Marker:
    x: float
    y: float
    swap: bool  # a cancellation or a promotion, not a new registration
    title: str


@dataclass(frozen=True, kw_only=True)
class Chart:
    """Coordinates for the inline SVG in the template (viewBox 0 0 width height)."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    empty: bool
    line: str  # SVG path of the step line
    area: str  # the same, closed to the x axis
    markers: tuple[Marker, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    capacity_y: float
    capacity_label: str
    deadline_x: float | None
    deadline_label: str
    now_x: float | None
    summary: str  # the chart in words (for screen readers and as a caption)


_W, _H = 900, 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 60, 856, 24, 256  # room for the labels around the plot


def seat_chart(
    points: Sequence[SeatPoint],
    state: AllocationState,
    now: datetime,
    settings: Settings,
) -> Chart:
    event = settings.event
    zone = event.zone
    deadline = event.registration_deadline
    capacity = state.capacity
    times = [p.when for p in points]
    first = min(times, default=min(now, deadline))
    last = max(times, default=first)
    start = _midnight(first.astimezone(zone))
    end = _midnight(max(deadline, last).astimezone(zone)) + timedelta(days=1)
    if end - start < timedelta(days=2):
        start -= timedelta(days=1)
    top_value = max(capacity, max((p.seats for p in points), default=0), 1)
    y_step = _nice_step(top_value, 5)
    y_max = math.ceil(top_value / y_step) * y_step
    if y_max == capacity:
        y_max += y_step  # room above the capacity line for its label

    origin, span = start.timestamp(), end.timestamp() - start.timestamp()  # real seconds (DST)

    def x(moment: datetime) -> float:
        fraction = (moment.timestamp() - origin) / span
        return round(_LEFT + min(max(fraction, 0.0), 1.0) * (_RIGHT - _LEFT), 1)

    def y(value: float) -> float:
        return round(_BOTTOM - value / y_max * (_BOTTOM - _TOP), 1)

    # The line runs on to "now" while registration is open, else to the last change.
    until = min(max(now, last), end) if points else start
    segments = [f"M{_LEFT},{y(0)}"]
    markers = []
    for point in points:
        segments.append(f"H{x(point.when)}V{y(point.seats)}")
        local = format_datetime(point.when.astimezone(zone), "dd.MM.yyyy HH:mm 'Uhr'", locale="de")
        what = []
        if point.freed:
            what.append(f"{point.freed} abgemeldet")
        if point.promoted:
            what.append(f"{point.promoted} nachgerückt")
        markers.append(
            Marker(
                x=x(point.when),
                y=y(point.seats),
                swap=bool(point.freed or point.promoted),
                title=f"{local}: {point.seats} von {capacity} Plätzen belegt"
                + (f" ({', '.join(what)})" if what else ""),
            )
        )
    segments.append(f"H{x(until)}")
    line = "".join(segments)
    area = f"{line}V{y(0)}Z"

    days = (end - start).days
    day_step = next((s for s in (1, 2, 7, 14, 28) if days / s <= 10), math.ceil(days / 10))
    x_ticks = []
    tick = start
    if day_step >= 7:  # weekly ticks on Mondays, the way a calendar is read
        tick += timedelta(days=(7 - tick.weekday()) % 7)
    while tick <= end:
        x_ticks.append(Tick(pos=x(tick), label=format_date(tick, "EEEEEE d. MMM", locale="de")))
        tick = _midnight(tick + timedelta(days=day_step, hours=12))
    y_ticks = tuple(Tick(pos=y(v), label=str(v)) for v in range(0, y_max + 1, y_step))
    taken = points[-1].seats if points else 0
    deadline_text = format_datetime(
        deadline.astimezone(zone), "d. MMMM y, HH:mm 'Uhr'", locale="de"
    )
    return Chart(
        width=_W,
        height=_H,
        left=_LEFT,
        right=_RIGHT,
        top=_TOP,
        bottom=_BOTTOM,
        empty=not points,
        line=line,
        area=area,
        markers=tuple(markers),
        x_ticks=tuple(x_ticks),
        y_ticks=y_ticks,
        capacity_y=y(capacity),
        capacity_label=f"Kapazität {capacity} Plätze",
        deadline_x=x(deadline) if start <= deadline <= end else None,
        deadline_label="Anmeldeschluss",
        now_x=x(now) if start < now < end else None,
        summary=(
            f"Belegte Plätze im Zeitverlauf: zuletzt {taken} von {capacity}; "
            f"Anmeldeschluss {deadline_text}."
        ),
    )


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _nice_step(value: int, ticks: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if value / step <= ticks:
            return step
    return math.ceil(value / ticks)


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
    return format_datetime(settings.event.local(moment), "dd.MM.yyyy HH:mm:ss", locale="de")


def _long(moment: datetime, settings: Settings) -> str:
    return format_datetime(
        settings.event.local(moment), "EEEE, d. MMMM y, HH:mm 'Uhr'", locale="de"
    )


def _iso_text(value: str | None, settings: Settings) -> str:
    if not value:
        return ""
    try:
        moment = settings.event.local(datetime.fromisoformat(value))
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
