"""The allocation as staff take it away: JSON for machines, CSV and XLSX for German Excel.

CSV and XLSX share one description of their columns (`Column`, `SHEETS`); only the
writing differs. Neither can turn a name into a formula: in CSV a cell that starts like
one gets a leading `'`; in XLSX every text cell is written as a string cell (never a
formula, whatever it starts with).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from inbox_bot.core.model import Status
from inbox_bot.core.visible import shown

# A cell starting with one of these is a formula to Excel and LibreOffice (OWASP).
_FORMULA_START = re.compile(r"^[=+\-@\t\r\n|%]")
# C0 controls other than tab/LF/CR, DEL, and what XML cannot carry (lone surrogates,
# U+FFFE/U+FFFF): openpyxl refuses them, Excel shows them as boxes.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

DATETIME_FORMAT = "DD.MM.YYYY HH:MM:SS"
_MAX_WIDTH = 60  # characters; a longer value is shown cut off, the cell keeps all of it


@dataclass(frozen=True)
class Column:
    """One column of an export: header, where its value comes from, and its cell type."""

    key: str
    title: str
    kind: str = "text"  # "text", "int" or "datetime" (an ISO 8601 string in the data)
    get: Callable[[Mapping[str, Any]], Any] | None = None

    def value(self, row: Mapping[str, Any]) -> Any:
        return self.get(row) if self.get else row.get(self.key)


def _person_columns(place: Column) -> tuple[Column, ...]:
    return (
        place,
        Column("name", "Name"),
        Column("organization", "Organisation"),
        Column("email", "E-Mail"),
        Column("contact", "Angemeldet von"),
        Column("registered_at", "Eingang", "datetime"),
        Column("status", "Status"),
    )


# Every person, cancelled and late included: the CSV and the sheet "Alle".
CSV_COLUMNS: tuple[Column, ...] = (
    Column("status", "Status"),
    Column("seat", "Platz", "int"),
    Column("waitlist_position", "Warteliste", "int"),
    Column("name", "Name"),
    Column("organization", "Organisation"),
    Column("email", "E-Mail"),
    Column("contact", "Angemeldet von"),
    Column("registered_at", "Eingang", "datetime"),
    Column("message_id", "Message-ID"),
)

LOG_COLUMNS: tuple[Column, ...] = (
    # A mail's record: when it reached our server, the time that decides the order.
    # A staff or privacy record (no mail): when it was done, and by whom.
    Column("received_at", "Zeit", "datetime", lambda r: r.get("received_at") or r.get("time")),
    Column("uid", "UID", "int"),
    Column("sender", "Absender", get=lambda r: r.get("sender") or r.get("by")),
    Column(
        "persons",
        "Personen",
        get=lambda r: ", ".join(p.get("name") or "" for p in r.get("persons") or ()) or None,
    ),
    Column("kind", "Art"),
    Column("decision", "Entscheidung"),
    Column("seat", "Platz", "int"),
    Column("waitlist_position", "Wartelistenplatz", "int"),
    Column("reason", "Begründung"),
)


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: tuple[Column, ...]
    rows: Callable[[Mapping[str, Any]], Sequence[Mapping[str, Any]]]


def _with_status(status: Status, order: str) -> Callable[[Mapping[str, Any]], list[Any]]:
    def rows(data: Mapping[str, Any]) -> list[Any]:
        chosen = [a for a in data["attendees"] if a["status"] == str(status)]
        return sorted(chosen, key=lambda a: a[order] or 0)

    return rows


SHEETS: tuple[Sheet, ...] = (
    Sheet(
        "Teilnehmende",
        _person_columns(Column("seat", "Platz", "int")),
        _with_status(Status.CONFIRMED, "seat"),
    ),
    Sheet(
        "Warteliste",
        _person_columns(Column("waitlist_position", "Wartelistenplatz", "int")),
        _with_status(Status.WAITLISTED, "waitlist_position"),
    ),
    Sheet("Entscheidungen", LOG_COLUMNS, lambda data: data.get("log", [])),
    Sheet("Alle", CSV_COLUMNS, lambda data: data["attendees"]),
)


# A series: every list says which event a row is in; each event its own two sheets.
EVENT_COLUMN = Column("event", "Veranstaltung")


def _sheets(data: Mapping[str, Any]) -> tuple[Sheet, ...]:
    if "events" not in data:
        return SHEETS
    per_event: list[Sheet] = []
    for event in data["events"]:
        key = event["key"]

        def mine(rows: Callable[[Mapping[str, Any]], list[Any]], key: str = key) -> Any:
            return lambda d: [r for r in rows(d) if r.get("event") == key]

        per_event += [
            Sheet(
                f"Teilnehmende {key}"[:31],
                _person_columns(Column("seat", "Platz", "int")),
                mine(_with_status(Status.CONFIRMED, "seat")),
            ),
            Sheet(
                f"Warteliste {key}"[:31],
                _person_columns(Column("waitlist_position", "Wartelistenplatz", "int")),
                mine(_with_status(Status.WAITLISTED, "waitlist_position")),
            ),
        ]
    log = Sheet("Entscheidungen", (EVENT_COLUMN, *LOG_COLUMNS), lambda d: d.get("log", []))
    everyone = Sheet("Alle", (EVENT_COLUMN, *CSV_COLUMNS), lambda d: d["attendees"])
    return (*per_event, log, everyone)


def clean_text(value: object) -> str:
    """The text of a cell without the characters a spreadsheet cannot hold, nothing
    invisible, and a word of mixed scripts marked (inbox_bot/visible.py)."""
    return "" if value is None else _CONTROL.sub("", shown(value))


def safe_cell(value: object) -> str:
    """Text that a spreadsheet shows as text, never runs as a formula (for CSV)."""
    text = clean_text(value)
    return "'" + text if _FORMULA_START.match(text) else text


def attendees_csv(data: dict[str, Any]) -> bytes:
    """Semicolons, UTF-8 with BOM and CRLF: what German Excel opens correctly."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    columns = (EVENT_COLUMN, *CSV_COLUMNS) if "events" in data else CSV_COLUMNS
    writer.writerow([column.title for column in columns])
    for person in data["attendees"]:
        writer.writerow([safe_cell(column.value(person)) for column in columns])
    return out.getvalue().encode("utf-8-sig")


def attendees_xlsx(data: dict[str, Any]) -> bytes:
    """A workbook for Excel: confirmed attendees, waitlist, decision log, everybody.

    Numbers are number cells, arrival times real date cells (local time of the event,
    without zone, as Excel needs), every other value a string cell: never a formula or
    a link, whatever it starts with.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    zone = ZoneInfo((data.get("event") or data["events"][0])["timezone"])
    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for sheet in _sheets(data):
        ws = workbook.create_sheet(sheet.title)
        widths = [_width(column.title) for column in sheet.columns]
        for col, column in enumerate(sheet.columns, start=1):
            cell = ws.cell(row=1, column=col)
            _put_text(cell, column.title)
            cell.font = bold
        rows = sheet.rows(data)
        for row_number, row in enumerate(rows, start=2):
            for col, column in enumerate(sheet.columns, start=1):
                cell = ws.cell(row=row_number, column=col)
                shown = _put(cell, column, column.value(row), zone)
                widths[col - 1] = max(widths[col - 1], _width(shown))
        for col, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(col)].width = min(width + 2, _MAX_WIDTH)
        last = f"{get_column_letter(len(sheet.columns))}{len(rows) + 1}"
        ws.auto_filter.ref = f"A1:{last}"
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _put(cell: Any, column: Column, value: Any, zone: ZoneInfo) -> str:
    """Write one value with the column's type; returns the text as shown (for widths)."""
    if value is None or value == "":
        return ""
    if column.kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        cell.value = value
        return str(value)
    if column.kind == "datetime":
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            pass  # not a time after all: kept as text below
        else:
            # The event's local time; Excel has no zones, so the offset goes.
            if moment.tzinfo is not None:
                moment = moment.astimezone(zone).replace(tzinfo=None)
            cell.value = moment.replace(microsecond=0)
            cell.number_format = DATETIME_FORMAT
            return "00.00.0000 00:00:00"
    return _put_text(cell, value)


def _put_text(cell: Any, value: object) -> str:
    text = clean_text(value)
    cell.value = text
    cell.data_type = "s"  # a string cell: "=..." stays text, "#N/A" is no error value
    return text


def _width(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)
