"""The calendar file for acceptances and promotions (pure: no I/O, no clock).

METHOD:PUBLISH with an ORGANIZER and no ATTENDEE: calendars import the event as an
entry of their own and never offer "accept / decline", so no RSVP mail comes back to
the registration mailbox (where the bot would have to sort it out).

The words in it (summary and description) come in ready-made, from the templates
(`_calendar.txt`, rendered by inbox_bot/core/render.py).
"""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

from inbox_bot.config import EventSettings, Settings
from inbox_bot.core.parse import one_line

FILENAME = "einladung.ics"
PRODID = "-//inbox-bot//Anmeldung per E-Mail//DE"
# Names the UIDs; changing it would make calendars see new events.
_UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://inbox-bot.invalid/event-uid")


def event_uid(settings: Settings, event: EventSettings, recipient: str) -> str:
    """Stable per event and calendar owner: the same UID for every file one address gets.

    The file goes into the recipient's calendar, so a later file for the same address
    (a colleague moved up, a second registration) updates that one entry instead of
    adding a second one.
    """
    key = f"{event.title}|{event.starts_at.isoformat()}|{recipient.strip().lower()}"
    return f"{uuid.uuid5(_UID_NAMESPACE, key)}@{settings.smtp.id_domain}"


def invitation(
    settings: Settings,
    event: EventSettings,
    *,
    recipient: str,
    summary: str,
    description: str,
    now: datetime,
) -> bytes:
    """A VCALENDAR with one VEVENT, as CRLF-terminated UTF-8 bytes."""
    smtp = settings.smtp
    start, end = event.local(event.starts_at), event.local(event.ends_at)

    entry = Event()
    entry.add("uid", event_uid(settings, event, recipient))
    entry.add("dtstamp", now.astimezone(UTC))
    entry.add("sequence", 0)
    entry.add("dtstart", start)  # DTSTART;TZID=Europe/Berlin:20181205T100000
    entry.add("dtend", end)
    entry.add("summary", summary)
    entry.add("location", event.venue)
    organizer = vCalAddress(f"mailto:{smtp.from_address}")
    organizer.params["cn"] = vText(one_line(smtp.from_name or event.organizer))
    entry.add("organizer", organizer)
    entry.add("description", description)
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
    calendar.add_component(entry)
    data: bytes = calendar.to_ical()
    # The VTIMEZONE goes before the event that refers to it; serialised once per zone
    # and years (it was half the cost of a reply) and put in place as its lines.
    zone = _timezone(event.zone, event.timezone, start.year, end.year + 1)
    head, marker, tail = data.partition(b"BEGIN:VEVENT\r\n")
    return head + zone + marker + tail


@functools.lru_cache(maxsize=16)
def _timezone(zone: ZoneInfo, tzid: str, first_year: int, last_year: int) -> bytes:
    component = Timezone.from_tzinfo(
        zone, tzid=tzid, first_date=date(first_year, 1, 1), last_date=date(last_year, 1, 1)
    )
    data: bytes = component.to_ical()
    return data
