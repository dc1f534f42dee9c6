"""The .ics beside acceptances and promotions: METHOD:PUBLISH, Berlin time, no RSVP."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import icalendar

from inbox_bot.config import Settings, settings_from_mapping
from inbox_bot.core.allocate import Decision, Outcome, Placement, Request
from inbox_bot.core.model import Attendee, Intent, Kind, OutgoingRow, Person, ReplyKind, Status
from inbox_bot.core.render import Original, Renderer

ARRIVAL = datetime(2018, 11, 6, 8, 5, 12, tzinfo=UTC)
NOW = datetime(2018, 11, 6, 8, 5, 20, tzinfo=UTC)
VENUE = "Saal 9 und 10, Kongresszentrum Westfalenhallen Dortmund, Rheinlanddamm 200"


def _settings(tmp_path: Path, **event: Any) -> Settings:
    raw = {
        "imap": {"host": "imap.example.org", "security": "ssl"},
        "smtp": {
            "host": "smtp.example.org",
            "security": "ssl",
            "from_address": "smartcity@dortmund.de",
            "from_name": "Allianz Smart City Dortmund",
            "message_id_domain": "smartcity.dortmund.de",
        },
        "event": {
            "title": "Interkommunaler Austausch",
            "organizer": "Allianz Smart City Dortmund",
            "starts_at": "2018-12-05T10:00:00+01:00",
            "ends_at": "2018-12-05T13:00:00+01:00",
            "venue": VENUE,
            "capacity": 10,
            "registration_deadline": "2018-11-23T23:59:59+01:00",
            **event,
        },
    }
    return settings_from_mapping(raw, base=tmp_path, environ={})


def _attendee(
    index: int, name: str, email: str | None, status: Status, seat: int | None
) -> Attendee:
    return Attendee(
        id=f"k#{index}",
        name=name,
        email=email,
        organization="Stadt Unna",
        contact="j.mueller@unna.de",
        status=status,
        seat=seat,
        arrival=ARRIVAL,
        uid=4,
        index=index,
        message_key="k",
    )


def _request(*names: str, language: str = "de") -> Request:
    return Request(
        message_key="k",
        uid=4,
        arrival=ARRIVAL,
        sender="j.mueller@unna.de",
        contact="j.mueller@unna.de",
        intent=Intent(
            kind=Kind.REGISTRATION,
            persons=tuple(Person(name=n) for n in names),
            language=language,
        ),
    )


def _acceptance(settings: Settings, language: str = "de") -> OutgoingRow:
    juergen = _attendee(0, "Jürgen Müller", "j.mueller@unna.de", Status.CONFIRMED, 3)
    decision = Decision(
        outcome=Outcome.CONFIRMED,
        reply=ReplyKind.ACCEPTANCE,
        placements=(Placement(attendee=juergen),),
        changes=(juergen,),
    )
    [row] = Renderer(settings).replies(
        decision,
        _request("Jürgen Müller", language=language),
        Original(message_id="<a@unna.de>", subject="Anmeldung"),
        NOW,
    )
    return row


def _mail(row: OutgoingRow) -> EmailMessage:
    mail = message_from_bytes(row.data, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


def _ics(row: OutgoingRow) -> tuple[EmailMessage, icalendar.Calendar]:
    mail = _mail(row)
    assert mail.get_content_type() == "multipart/mixed"
    [part] = list(mail.iter_attachments())
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "PUBLISH"
    assert part.get_content_charset() == "utf-8"
    assert part.get_filename() == "einladung.ics"
    raw = part.get_payload(decode=True)
    assert isinstance(raw, bytes)
    return part, icalendar.Calendar.from_ical(raw)


def _event(calendar: icalendar.Calendar) -> icalendar.Event:
    [event] = calendar.walk("VEVENT")
    return event


def _assert_publishable(calendar: icalendar.Calendar, raw: bytes) -> None:
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["VERSION"]) == "2.0"
    assert calendar["PRODID"]
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Europe/Berlin"
    event = _event(calendar)
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event["DTEND"].params["TZID"] == "Europe/Berlin"
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert (start.replace(tzinfo=None), end.replace(tzinfo=None)) == (
        datetime(2018, 12, 5, 10, 0),
        datetime(2018, 12, 5, 13, 0),
    )
    assert start == datetime(2018, 12, 5, 9, 0, tzinfo=UTC)  # 10:00 CET is 09:00 UTC
    assert event.decoded("DTSTAMP") == NOW
    assert str(event["SUMMARY"]) == "Interkommunaler Austausch"
    assert str(event["LOCATION"]) == VENUE
    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:smartcity@dortmund.de"
    assert organizer.params["CN"] == "Allianz Smart City Dortmund"
    # PUBLISH, not REQUEST: no attendees and nothing that asks for an answer.
    assert "ATTENDEE" not in event
    assert b"ATTENDEE" not in raw and b"RSVP" not in raw
    assert b"DTSTART;TZID=Europe/Berlin:20181205T100000\r\n" in raw
    assert raw.index(b"BEGIN:VTIMEZONE") < raw.index(b"BEGIN:VEVENT")  # defined before use


def test_an_acceptance_carries_a_publish_calendar_file(tmp_path: Path) -> None:
    row = _acceptance(_settings(tmp_path))
    mail = _mail(row)
    # The reply itself is unchanged: threaded, automatic, the text first.
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["In-Reply-To"] == "<a@unna.de>"
    body = mail.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    assert "Platz 3 von 10" in body.get_content()
    part, calendar = _ics(row)
    raw = part.get_payload(decode=True)
    assert isinstance(raw, bytes)
    _assert_publishable(calendar, raw)
    event = _event(calendar)
    description = str(event["DESCRIPTION"])
    assert "Platz 3 von 10: Jürgen Müller" in description
    assert "antworten" in description  # how to cancel
    assert str(event["UID"]).endswith("@smartcity.dortmund.de")


def test_a_promotion_carries_a_publish_calendar_file(tmp_path: Path) -> None:
    anna = _attendee(1, "Anna Schulz", "a.schulz@unna.de", Status.CONFIRMED, 7)
    row = Renderer(_settings(tmp_path)).promotion(Placement(attendee=anna), NOW)
    mail = _mail(row)
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["To"] == "a.schulz@unna.de"
    part, calendar = _ics(row)
    raw = part.get_payload(decode=True)
    assert isinstance(raw, bytes)
    _assert_publishable(calendar, raw)
    assert "Platz 7 von 10: Anna Schulz" in str(_event(calendar)["DESCRIPTION"])


def test_the_uid_is_stable_per_event_and_recipient(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first = _event(_ics(_acceptance(settings))[1])["UID"]
    again = _event(_ics(_acceptance(settings))[1])["UID"]
    anna = _attendee(1, "Anna Schulz", "a.schulz@unna.de", Status.CONFIRMED, 7)
    other = _event(_ics(Renderer(settings).promotion(Placement(attendee=anna), NOW))[1])["UID"]
    assert first == again  # a second file for the same calendar updates its entry
    assert first != other


def test_english_acceptance_has_an_english_description(tmp_path: Path) -> None:
    _, calendar = _ics(_acceptance(_settings(tmp_path), language="en"))
    description = str(_event(calendar)["DESCRIPTION"])
    assert "Seat 3 of 10: Jürgen Müller" in description
    assert "reply" in description


def test_a_summer_event_is_in_berlin_summer_time(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        starts_at="2019-06-05T10:00:00+02:00",
        ends_at="2019-06-05T13:00:00+02:00",
        registration_deadline="2019-05-23T23:59:59+02:00",
    )
    _, calendar = _ics(_acceptance(settings))
    start = _event(calendar).decoded("DTSTART")
    assert start.replace(tzinfo=None) == datetime(2019, 6, 5, 10, 0)
    assert start == datetime(2019, 6, 5, 8, 0, tzinfo=UTC)
    # The VTIMEZONE itself says +0200 in June (for clients that do not know the zone).
    [zone] = calendar.walk("VTIMEZONE")
    offsets = {str(sub.name): sub.decoded("TZOFFSETTO") for sub in zone.subcomponents}
    assert offsets["DAYLIGHT"].total_seconds() == 7200


def test_a_partly_confirmed_acceptance_lists_only_the_seat_in_the_calendar(
    tmp_path: Path,
) -> None:
    juergen = _attendee(0, "Jürgen Müller", "j.mueller@unna.de", Status.CONFIRMED, 10)
    lukas = _attendee(1, "Lukas Brenner", None, Status.WAITLISTED, None)
    decision = Decision(
        outcome=Outcome.PARTLY_CONFIRMED,
        reply=ReplyKind.ACCEPTANCE,
        placements=(Placement(attendee=juergen), Placement(attendee=lukas, waitlist_position=1)),
        changes=(juergen, lukas),
    )
    [row] = Renderer(_settings(tmp_path)).replies(
        decision,
        _request("Jürgen Müller", "Lukas Brenner"),
        Original(message_id=None, subject="Anmeldung"),
        NOW,
    )
    description = str(_event(_ics(row)[1])["DESCRIPTION"])
    assert "Jürgen Müller" in description and "Lukas Brenner" not in description


def test_waitlist_and_other_replies_have_no_calendar_file(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    anna = _attendee(1, "Anna Schulz", "a.schulz@unna.de", Status.WAITLISTED, None)
    cases = [
        Decision(
            outcome=Outcome.WAITLISTED,
            reply=ReplyKind.WAITLIST,
            placements=(Placement(attendee=anna, waitlist_position=1),),
            changes=(anna,),
        ),
        Decision(outcome=Outcome.QUESTION, reply=ReplyKind.QUESTION, needs_review=True),
    ]
    for decision in cases:
        [row] = Renderer(settings).replies(
            decision, _request("Anna Schulz"), Original(message_id=None, subject="x"), NOW
        )
        mail = _mail(row)
        assert mail.get_content_type() == "text/plain", decision.reply
        assert not list(mail.iter_attachments())
        assert b"text/calendar" not in row.data and b"VCALENDAR" not in row.data


def test_a_hostile_name_stays_inside_the_description(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    eve = _attendee(0, "Eve\r\nATTENDEE;RSVP=TRUE:mailto:x@evil.example", None, Status.CONFIRMED, 1)
    row = Renderer(settings).promotion(Placement(attendee=eve), NOW)
    part, calendar = _ics(row)
    raw = part.get_payload(decode=True)
    assert isinstance(raw, bytes)
    assert b"\r\nATTENDEE" not in raw
    assert "ATTENDEE" not in _event(calendar)
