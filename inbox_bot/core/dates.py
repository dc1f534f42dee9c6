"""Dates and times of the event in the words of each language (pure)."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import NamedTuple

from babel.dates import format_date, format_time
from babel.dates import format_datetime as babel_datetime

from inbox_bot.config import EventSettings


class _DateStyle(NamedTuple):
    """How one language writes dates and times (Babel patterns)."""

    long_date: str  # "Mittwoch, 5. Dezember 2018" / "Wednesday, 5 December 2018"
    hours_suffix: str  # after "10:00–13:00"
    moment: str  # when a mail arrived, to the second


# By Babel locale; any other language is written the English way.
_DATE_STYLES = {
    "de": _DateStyle("EEEE, d. MMMM y", " Uhr", "d. MMMM y 'um' HH:mm:ss 'Uhr'"),
    "en": _DateStyle("EEEE, d MMMM y", "", "d MMMM y 'at' HH:mm:ss"),
}


def _locale(language: str) -> str:
    return language if language in _DATE_STYLES else "en"


def event_facts(event: EventSettings, language: str) -> dict[str, str]:
    """The event's words for a reply; the same for every reply, so made once (Babel's
    formatting was a tenth of a reply's cost)."""
    return dict(_event_facts(event, language))


@functools.lru_cache(maxsize=64)
def _event_facts(event: EventSettings, language: str) -> tuple[tuple[str, str], ...]:
    return tuple(_facts(event, language).items())


def _facts(event: EventSettings, language: str) -> dict[str, str]:
    locale = _locale(language)
    start, end = event.local(event.starts_at), event.local(event.ends_at)
    hours = "–".join(format_time(t, "HH:mm", locale=locale) for t in (start, end))
    return {
        "title": event.title,
        "organizer": event.organizer,
        "date": _long_date(start, locale),
        "time": hours + _DATE_STYLES[locale].hours_suffix,
        "venue": event.venue,
        "deadline": _long_date(event.local(event.registration_deadline), locale),
    }


def _long_date(moment: datetime, locale: str) -> str:
    return format_date(moment, _DATE_STYLES[locale].long_date, locale=locale)


def local_time(moment: datetime, event: EventSettings, language: str) -> str:
    locale = _locale(language)
    return babel_datetime(event.local(moment), _DATE_STYLES[locale].moment, locale=locale)
