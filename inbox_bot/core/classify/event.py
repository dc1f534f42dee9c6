"""What "this event" is, taken from the settings: its title, dates, venue and keywords.

A mail that names a date, a title or a place, and none of ours, is about another event
(a registration sent here by mistake). Nothing here is tuned to one event: the words
come from `[event]` (or each of `[[events]]`), the patterns read dates as people write
them in German and English.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

_MONTHS = {
    "januar": 1, "jan": 1, "january": 1, "februar": 2, "feb": 2, "february": 2,
    "märz": 3, "maerz": 3, "mär": 3, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "mai": 5, "may": 5, "juni": 6, "jun": 6, "june": 6, "juli": 7, "jul": 7, "july": 7,
    "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9, "oktober": 10, "okt": 10,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "dezember": 12, "dez": 12,
    "december": 12, "dec": 12,
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE = re.compile(
    rf"\b(?P<d1>\d{{1,2}})\s?[.\u2024]\s?(?P<m1>\d{{1,2}})\s?[.\u2024](?:\s?(?P<y1>\d{{4}}|\d{{2}}))?"
    rf"|\b(?P<d2>\d{{1,2}})(?:[.\u2024]|st|nd|rd|th)?\s?(?P<m2>{_MONTH})\b[.\u2024]?(?:,?\s?(?P<y2>\d{{4}}))?"
    rf"|\b(?P<m3>{_MONTH})\s(?P<d3>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s?(?P<y3>\d{{4}}))?"
    r"|\b(?P<y4>\d{4})-(?P<m4>\d{2})-(?P<d4>\d{2})\b",
    re.I,
)
# Quoted names of events: „Breitband Westfalen“, "Ruhr Civic Hackathon", »...«.
_QUOTED = re.compile(
    "[\u201e\"\u201c\u00bb\u201a']([^\u201e\"\u201c\u201d\u00bb\u00ab\u201a\u2018'\n]{4,80})"
    "[\u201c\u201d\"\u00ab\u2018']"
)
# Words of a title or venue that name nothing in particular.
_GENERIC = frozenset(
    """veranstaltung workshop themenworkshop werkstatt tagung konferenz fachkonferenz forum
    treffen netzwerktreffen austausch seminar webinar sitzung termin event meeting
    conference session allianz smart city stadt gemeinde kreis straße strasse platz saal
    raum haus halle zentrum dortmund digital digitale digitaler universitaet university
    hochschule campus gebaeude rathaus foyer ratssaal sitzungssaal kongresszentrum hall""".split()
)


def fold(word: str) -> str:
    """A word to compare: lower case, umlauts as ae/oe/ue, no accents."""
    text = word.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = text.replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def stem(word: str) -> str:
    """Interkommunalen, Interkommunaler -> interkommunal: German endings do not matter."""
    folded = fold(word)
    for ending in ("en", "er", "es", "em", "e", "n", "s"):
        if len(folded) > 6 and folded.endswith(ending):
            return folded[: -len(ending)]
    return folded


def stems(text: str, *, minimum: int = 5) -> set[str]:
    words = re.findall(r"[^\W\d_]{2,40}", text)
    return {stem(w) for w in words if len(w) >= minimum and fold(w) not in _GENERIC}


@dataclass(frozen=True, kw_only=True)
class EventFacts:
    """One event as the classifier recognises it in a mail."""

    key: str = ""
    dates: frozenset[date] = frozenset()  # the day(s) of the event and its deadline
    year: int = 0
    title_stems: frozenset[str] = frozenset()
    venue_stems: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()
    days: frozenset[tuple[int, int]] = field(default_factory=frozenset)  # (month, day)
    # For telling the events of a series apart: the day it takes place (not its
    # deadline), and its venue without the town (a sender's own town names no event).
    start: date | None = None
    place_stems: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        *,
        key: str = "",
        title: str,
        venue: str,
        dates: Iterable[date],
        keywords: Iterable[str] = (),
        start: date | None = None,
    ) -> EventFacts:
        days = frozenset(dates)
        return cls(
            key=key,
            dates=days,
            year=min((d.year for d in days), default=0),
            title_stems=frozenset(stems(title)),
            venue_stems=frozenset(stems(venue)),
            keywords=tuple(fold(k) for k in keywords if k.strip()),
            days=frozenset((d.month, d.day) for d in days),
            start=start,
            place_stems=frozenset(stems(_TOWN_AFTER_POSTCODE.sub(" ", venue))),
        )

    def named_in(self, text: str) -> bool:
        """The mail names this event: its date, a word of its title, venue or keywords."""
        if any(self.is_ours(d) for d in dates_in(text, self.year)):
            return True
        words = stems(text)
        if words & self.title_stems or words & self.venue_stems:
            return True
        folded = fold(text)
        return any(re.search(rf"\b{re.escape(k)}", folded) for k in self.keywords)

    def is_ours(self, day: tuple[int, int, int | None]) -> bool:
        month, dom, year = day
        return (month, dom) in self.days and (year is None or year in {d.year for d in self.dates})


# "..., 45886 Gelsenkirchen": the town after the postcode
_TOWN_AFTER_POSTCODE = re.compile(r"\b\d{4,5}\s+[^\W\d_][\w .-]*$")


def dates_in(text: str, default_year: int = 0) -> list[tuple[int, int, int | None]]:
    """(month, day, year or None) of every date the text writes."""
    found = []
    for match in _DATE.finditer(text):
        groups = match.groupdict()
        for n in "1234":
            day, month, year = groups.get(f"d{n}"), groups.get(f"m{n}"), groups.get(f"y{n}")
            if day and month:
                number = int(month) if month.isdigit() else _MONTHS[month.lower()]
                full = int(year) + (2000 if len(year) == 2 else 0) if year else None
                if 1 <= number <= 12 and 1 <= int(day) <= 31:
                    found.append((number, int(day), full))
                break
    return found


def other_event(text: str, events: Iterable[EventFacts]) -> str | None:
    """What points at another event (a date, a quoted title) when none of ours is named."""
    known = list(events)
    if not known or any(e.named_in(text) for e in known):
        return None
    year = min(e.year for e in known)
    for month, day, full in dates_in(text, year):
        if not any(e.is_ours((month, day, full)) for e in known):
            return f"ein anderes Datum ({day}.{month}.{full or ''})".replace(".)", ")")
    for title in _QUOTED.findall(text):
        if len(title.split()) >= 2 and not any(stems(title) & e.title_stems for e in known):
            return f"eine andere Veranstaltung („{title.strip()}“)"
    return None
