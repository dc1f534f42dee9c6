"""The calendar file for acceptances and promotions (pure: no I/O, no clock).

METHOD:PUBLISH with an ORGANIZER and no ATTENDEE: calendars import the event as an
entry of their own and never offer "accept / decline", so no RSVP mail comes back to
the registration mailbox (where the bot would have to sort it out).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

from inbox_bot.config import Settings
from inbox_bot.core.parse import one_line

FILENAME = "einladung.ics"
PRODID = "-//inbox-bot//Anmeldung per E-Mail//DE"
# Names the UIDs; changing it would make calendars see new events.
_UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://inbox-bot.invalid/event-uid")


@dataclass(frozen=True, kw_only=True)
class Seat:
    name: str
    seat: int | None


def event_uid(settings: Settings, recipient: str) -> str:
    """Stable per event and calendar owner: the same UID for every file one address gets.

    The file goes into the recipient's calendar, so a later file for the same address
    (a colleague moved up, a second registration) updates that one entry instead of
    adding a second one.
    """
    event = settings.event
    key = f"{event.title}|{event.starts_at.isoformat()}|{recipient.strip().lower()}"
    return f"{uuid.uuid5(_UID_NAMESPACE, key)}@{settings.smtp.id_domain}"


def invitation(
    settings: Settings, *, recipient: str, seats: Sequence[Seat], language: str, now: datetime
) -> bytes:
    """A VCALENDAR with one VEVENT, as CRLF-terminated UTF-8 bytes."""
    event, smtp = settings.event, settings.smtp
    start, end = event.local(event.starts_at), event.local(event.ends_at)

    entry = Event()
    entry.add("uid", event_uid(settings, recipient))
    entry.add("dtstamp", now.astimezone(UTC))
    entry.add("sequence", 0)
    entry.add("dtstart", start)  # DTSTART;TZID=Europe/Berlin:20181205T100000
    entry.add("dtend", end)
    entry.add("summary", event.title)
    entry.add("location", event.venue)
    organizer = vCalAddress(f"mailto:{smtp.from_address}")
    organizer.params["cn"] = vText(one_line(smtp.from_name or event.organizer))
    entry.add("organizer", organizer)
    entry.add("description", _description(settings, seats, language))
    entry.add("status", "CONFIRMED")
    entry.add("transp", "OPAQUE")
    # Deliberately no ATTENDEE and no RSVP: see the module docstring.

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    # The VTIMEZONE (TZID=Europe/Berlin) before the event that refers to it, cut to
    # the year of the event: only the transitions that matter, no RDATE lists (which
    # some clients misread). Built here rather than by add_missing_timezones(), which
    # puts it after the VEVENT in icalendar 6.
    calendar.add_component(
        Timezone.from_tzinfo(
            event.zone,
            tzid=event.timezone,
            first_date=date(start.year, 1, 1),
            last_date=date(end.year + 1, 1, 1),
        )
    )
    calendar.add_component(entry)
    data: bytes = calendar.to_ical()
    return data


def _description(settings: Settings, seats: Sequence[Seat], language: str) -> str:
    capacity = settings.event.capacity
    address = settings.smtp.from_address
    if language == "en":
        lines = [
            f"Seat {s.seat} of {capacity}: {one_line(s.name, limit=120)}" for s in seats if s.seat
        ]
        lines.append(
            "Cannot come after all? Please reply to our confirmation e-mail "
            f"(or write to {address}), so that the next person on the waiting list gets the seat."
        )
    else:
        lines = [
            f"Platz {s.seat} von {capacity}: {one_line(s.name, limit=120)}" for s in seats if s.seat
        ]
        lines.append(
            "Sie können doch nicht kommen? Bitte antworten Sie kurz auf unsere Bestätigungsmail "
            f"(oder schreiben Sie an {address}), damit die nächste Person von der Warteliste "
            "nachrücken kann."
        )
    return "\n".join(lines)
