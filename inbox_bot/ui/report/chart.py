"""The chart of seats filling over time: coordinates for the report's inline SVG."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from babel.dates import format_date, format_datetime

from inbox_bot.config import EventSettings
from inbox_bot.core.timeline import SeatPoint


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


@dataclass(frozen=True, kw_only=True)
class _Axes:
    """Days on x (local midnight to midnight), seats on y."""

    start: datetime
    end: datetime
    y_max: int
    y_step: int

    def x(self, moment: datetime) -> float:
        # Real seconds, so a day of a DST change is as long as it really was.
        origin = self.start.timestamp()
        fraction = (moment.timestamp() - origin) / (self.end.timestamp() - origin)
        return round(_LEFT + min(max(fraction, 0.0), 1.0) * (_RIGHT - _LEFT), 1)

    def y(self, value: float) -> float:
        return round(_BOTTOM - value / self.y_max * (_BOTTOM - _TOP), 1)


def seat_chart(
    points: Sequence[SeatPoint], capacity: int, now: datetime, event: EventSettings
) -> Chart:
    deadline = event.registration_deadline
    axes = _axes(points, capacity, now, event)
    last = max((p.when for p in points), default=axes.start)
    # The line runs on to "now" while registration is open, else to the last change.
    until = min(max(now, last), axes.end) if points else axes.start
    segments = [f"M{_LEFT},{axes.y(0)}"]
    segments += [f"H{axes.x(p.when)}V{axes.y(p.seats)}" for p in points]
    segments.append(f"H{axes.x(until)}")
    line = "".join(segments)
    taken = points[-1].seats if points else 0
    deadline_text = format_datetime(
        deadline.astimezone(event.zone), "d. MMMM y, HH:mm 'Uhr'", locale="de"
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
        area=f"{line}V{axes.y(0)}Z",
        markers=tuple(_marker(p, axes, capacity, event) for p in points),
        x_ticks=_x_ticks(axes),
        y_ticks=tuple(
            Tick(pos=axes.y(v), label=str(v)) for v in range(0, axes.y_max + 1, axes.y_step)
        ),
        capacity_y=axes.y(capacity),
        capacity_label=f"Kapazität {capacity} Plätze",
        deadline_x=axes.x(deadline) if axes.start <= deadline <= axes.end else None,
        deadline_label="Anmeldeschluss",
        now_x=axes.x(now) if axes.start < now < axes.end else None,
        summary=(
            f"Belegte Plätze im Zeitverlauf: zuletzt {taken} von {capacity}; "
            f"Anmeldeschluss {deadline_text}."
        ),
    )


def _axes(points: Sequence[SeatPoint], capacity: int, now: datetime, event: EventSettings) -> _Axes:
    zone = event.zone
    deadline = event.registration_deadline
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
    return _Axes(start=start, end=end, y_max=y_max, y_step=y_step)


def _marker(point: SeatPoint, axes: _Axes, capacity: int, event: EventSettings) -> Marker:
    local = format_datetime(
        point.when.astimezone(event.zone), "dd.MM.yyyy HH:mm 'Uhr'", locale="de"
    )
    what = []
    if point.freed:
        what.append(f"{point.freed} abgemeldet")
    if point.promoted:
        what.append(f"{point.promoted} nachgerückt")
    return Marker(
        x=axes.x(point.when),
        y=axes.y(point.seats),
        swap=bool(point.freed or point.promoted),
        title=f"{local}: {point.seats} von {capacity} Plätzen belegt"
        + (f" ({', '.join(what)})" if what else ""),
    )


def _x_ticks(axes: _Axes) -> tuple[Tick, ...]:
    days = (axes.end - axes.start).days
    day_step = next((s for s in (1, 2, 7, 14, 28) if days / s <= 10), math.ceil(days / 10))
    ticks = []
    tick = axes.start
    if day_step >= 7:  # weekly ticks on Mondays, the way a calendar is read
        tick += timedelta(days=(7 - tick.weekday()) % 7)
    while tick <= axes.end:
        ticks.append(Tick(pos=axes.x(tick), label=format_date(tick, "EEEEEE d. MMM", locale="de")))
        tick = _midnight(tick + timedelta(days=day_step, hours=12))
    return tuple(ticks)


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _nice_step(value: int, ticks: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if value / step <= ticks:
            return step
    return math.ceil(value / ticks)
