"""One person's story from the allocation log, in plain words (pure).

What staff read out when someone asks "why am I on the waitlist?": when her mail
reached our server (the time that decides the order), what each decision made of her
and why, who did what by hand. Followed by attendee id, never by name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from inbox_bot.core.audit import AuditRecord, MailRecord, PersonEntry, StaffRecord

_STATUS = {
    "confirmed": "Platz {seat}",
    "waitlisted": "Warteliste, Position {position}",
    "cancelled": "abgemeldet",
    "late": "nach dem Anmeldeschluss eingegangen: kein Platz",
}
_STAFF = {
    "staff_admitted": "{by} hat einen Platz gegeben",
    "staff_cancelled": "{by} hat abgemeldet",
    "staff_assigned": "{by} hat die Mail zugeordnet",
    "staff_resolved": "{by} hat die Mail erledigt",
    "staff_resent": "{by} hat die Antwort erneut gesendet",
    "staff_note": "Notiz von {by}",
}


@dataclass(frozen=True, kw_only=True)
class Line:
    when: str  # local time, "06.11.2018 09:14:07"
    what: str  # "Anmeldung eingegangen: Warteliste, Position 3"
    why: str  # the record's reason


def story(records: Iterable[AuditRecord], attendee_id: str, zone: ZoneInfo) -> list[Line]:
    lines = []
    for record in records:
        if isinstance(record, MailRecord):
            line = _mail(record, attendee_id, zone)
        elif isinstance(record, StaffRecord):
            line = _staff(record, attendee_id, zone)
        else:
            line = None
        if line is not None:
            lines.append(line)
    return lines


def _mail(record: MailRecord, attendee_id: str, zone: ZoneInfo) -> Line | None:
    mine = _find(record.persons, attendee_id)
    if mine is not None:
        kind = {"registration": "Anmeldung", "cancellation": "Abmeldung"}.get(record.kind, "Mail")
        what = f"{kind} eingegangen: {_state(mine)}"
        if mine.duplicate:
            what = f"{kind} erneut eingegangen: war schon angemeldet ({_state(mine)})"
        return Line(when=_local(record.received_at, zone), what=what, why=record.reason)
    moved = _find(record.promoted, attendee_id)
    if moved is not None:
        what = f"rückt von der Warteliste nach: {_state(moved)}"
        return Line(when=_local(record.time, zone), what=what, why=record.reason)
    return None


def _staff(record: StaffRecord, attendee_id: str, zone: ZoneInfo) -> Line | None:
    mine = _find(record.persons, attendee_id)
    moved = _find(record.promoted, attendee_id)
    if mine is None and moved is None and record.about != attendee_id:
        return None
    what = _STAFF.get(record.action, record.action).format(by=record.by or "Jemand")
    if mine is not None and mine.status:
        what += f": {_state(mine)}"
    if moved is not None:
        what = f"rückt nach ({what}): {_state(moved)}"
    return Line(when=_local(record.time, zone), what=what, why=record.reason)


def _find(persons: Iterable[PersonEntry], attendee_id: str) -> PersonEntry | None:
    return next((p for p in persons if p.attendee_id == attendee_id), None)


def _state(person: PersonEntry) -> str:
    text = _STATUS.get(person.status or "", person.status or "")
    return text.format(seat=person.seat or "?", position=person.waitlist_position or "?")


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%d.%m.%Y %H:%M:%S")
