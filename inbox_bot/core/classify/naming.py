"""Which events of a series a mail names, for the whole mail and for each person (pure).

Only what the sender wrote now counts: the subject and the new text, without the
signature ("Dortmunder Energie- und Wasserversorgung" under a mail about open data
names no energy workshop) and without quoted history. An event is named by one of its
keywords, by its day ("am 9. April", "09.04."), by a distinctive word of its title
("Wärmeplanung") or two of them, or by its venue without the town. "Alle drei
Workshops" names every event.

A person gets the events named nearest to her name: in her clause, else her sentence,
else her list item ("- Frau Nicole Beispiel: Energie und Wärmeplanung"); the sender in
the clause that says "ich" without another person's name. Whoever gets nothing there
goes with the events the mail names as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from inbox_bot.core.classify.event import EventFacts, dates_in, fold, stems
from inbox_bot.core.classify.reading import mark, split
from inbox_bot.core.model import Intent, Kind, Person

# "für alle drei Themenworkshops", "all three workshops", "an allen Terminen"
_ALL = re.compile(
    r"\balle[nr]?\s+(?:(?:drei|vier|fünf|sechs|\d+)\s+)?(?:\w+\s+)?"
    r"(?:\w*workshops|veranstaltungen|termine[n]?|werkstätten|\w*treffen|sessions)\b"
    r"|\ball\s+(?:(?:three|four|five|\d+)\s+)?(?:of\s+the\s+)?(?:\w+\s+)?"
    r"(?:workshops|events|sessions|dates)\b",
    re.I,
)
_BULLET = re.compile(r"^\s*(?:[-–•*·▪]|\d{1,2}[.)])\s+")
_CLAUSE = re.compile(r"[;,]\s+|\s+und\s+(?=ich\b|mein|meine|unser|Herr|Frau)", re.I)
_SELF = re.compile(r"\b(?:ich|mich|mir|wir|uns|I|me|myself|we|us)\b", re.I)
# A title word must say something: long, or one of two that both appear.
_DISTINCT = 8


def with_events(
    intent: Intent,
    subject: str,
    text: str,
    events: Sequence[EventFacts],
    sender: str,
    quoted: str = "",
) -> Intent:
    """The intent, with the events the mail names (mail and persons); unchanged for a
    single event or mail that registers or cancels nobody."""
    if len(events) < 2 or intent.kind not in (Kind.REGISTRATION, Kind.CANCELLATION, Kind.QUESTION):
        return intent
    units = _units(text, cancelling=intent.kind is Kind.CANCELLATION)
    whole = _named("\n".join([subject, *(" ".join(u) for u in units)]), events)
    persons = tuple(
        _person_events(p, sender, units, intent.persons, events) for p in intent.persons
    )
    # Our own mail quoted below a reply to it: its event, when its Message-ID is unknown
    # to the store (the thread decides first: core/route.py).
    below = _named(quoted, events) if quoted else ()
    return replace(intent, events=whole, persons=persons, quoted_events=below)


def named_in(text: str, events: Sequence[EventFacts]) -> tuple[str, ...]:
    """The keys of the events `text` names, in the order of the config."""
    return _named(text, events)


def _named(text: str, events: Sequence[EventFacts]) -> tuple[str, ...]:
    if _ALL.search(text):
        return tuple(e.key for e in events)
    return tuple(e.key for e in events if _names(e, text))


def _names(event: EventFacts, text: str) -> bool:
    folded = fold(text)
    if any(re.search(rf"(?<![^\W\d_]){re.escape(k)}", folded) for k in event.keywords):
        return True
    if event.start is not None:
        for month, day, year in dates_in(text, event.year):
            if (month, day) == (event.start.month, event.start.day) and year in (
                None,
                event.start.year,
            ):
                return True
    words = stems(text)
    title = words & event.title_stems
    if len(title) >= 2 or any(len(w) >= _DISTINCT for w in title):
        return True
    if len(event.title_stems) == 1 and title:
        return True
    return any(len(w) >= 6 for w in words & event.place_stems)


def _units(text: str, *, cancelling: bool) -> list[list[str]]:
    """List items, each as its sentences: what was written now and does the act.

    A cancellation counts its cancelling sentences only ("... bleibt bestehen" keeps
    another event); a registration leaves out the sentences that decline or cancel."""
    items: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if _BULLET.match(line) or not line.strip():
            if current:
                items.append(current)
            current = [line.strip()] if line.strip() else []
        else:
            current.append(line.strip())
    if current:
        items.append(current)
    units = []
    for item in items:
        kept = []
        for sentence in split(" ".join(item)):
            marks = mark(sentence)
            if cancelling and not marks.cancels:
                continue
            if not cancelling and (marks.cancels or marks.negated):
                continue
            kept.append(sentence)
        if kept:
            units.append(kept)
    return units


def _person_events(
    person: Person,
    sender: str,
    units: list[list[str]],
    persons: tuple[Person, ...],
    events: Sequence[EventFacts],
) -> Person:
    surname = person.name.split()[-1] if person.name else ""
    others = [p.name.split()[-1] for p in persons if p is not person and p.name]

    def mine(piece: str) -> bool:
        if surname and re.search(rf"\b{re.escape(surname)}\b", piece):
            return True
        # the sender speaks of herself
        return (
            (person.email or "").lower() == sender.lower()
            and bool(_SELF.search(piece))
            and not any(re.search(rf"\b{re.escape(o)}\b", piece) for o in others)
        )

    for unit in units:
        for sentence in unit:
            for clause in _CLAUSE.split(sentence):
                if mine(clause) and (found := _named(clause, events)):
                    return replace(person, events=found)
            if mine(sentence) and (found := _named(sentence, events)):
                return replace(person, events=found)
        item = " ".join(unit)
        if mine(item) and (found := _named(item, events)):
            return replace(person, events=found)
    return person
