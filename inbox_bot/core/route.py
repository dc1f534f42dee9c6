"""Which event of a series a mail is for, strongest signal first (pure).

1. A reply to one of our mails about event X (confirmation, waitlist, promotion,
   reminder) or to an invitation of X, and a sub-address smartcity+X@ it was sent to.
2. What the mail names: an event's keywords, title, day or venue, for the whole mail or
   for each person (core/classify/naming.py).
3. When it names nothing and only one event is open for registration at its arrival:
   that one.

Text decides only when it points at exactly the events it names; a thread or address
that says otherwise, a mail that names no event while several are open, a cancellation
from someone registered for several that names none: staff decide ("Veranstaltung
unklar: ..."), and nobody gets a seat meanwhile. The deadline of the event a mail is
routed to decides whether it is late, never another's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from inbox_bot.core.model import Intent, Kind, Person

UNCLEAR = "Veranstaltung unklar"


@dataclass(frozen=True, kw_only=True)
class Window:
    """One event of the series as routing sees it."""

    key: str
    label: str  # its title, for staff
    deadline: datetime


@dataclass(frozen=True, kw_only=True)
class Signals:
    """What the shell found outside the text."""

    arrival: datetime
    thread: tuple[str, ...] = ()  # events of our mails (or invitations) it answers
    addressed: tuple[str, ...] = ()  # events of the sub-addresses it was sent to
    registered_in: tuple[str, ...] = ()  # events the sender holds an active place in


@dataclass(frozen=True, kw_only=True)
class Routed:
    """Per event, the persons the mail registers or cancels there; or why staff decide."""

    parts: tuple[tuple[str, tuple[Person, ...]], ...] = ()
    problem: str | None = None
    events: tuple[str, ...] = ()  # what the mail is about, for the record and the reply


def route(intent: Intent, windows: Sequence[Window], signals: Signals) -> Routed:
    if len(windows) == 1:
        only = windows[0].key
        return Routed(parts=((only, intent.persons),), events=(only,))
    labels = {w.key: w.label for w in windows}
    thread = signals.thread or intent.quoted_events
    explicit = _unique((*thread, *signals.addressed))
    named = intent.events
    if intent.kind not in (Kind.REGISTRATION, Kind.CANCELLATION):
        about = named or explicit or _open(windows, signals.arrival)
        return Routed(events=about if len(about) == 1 else ())
    if named and explicit and not set(named) <= set(explicit):
        return _unclear(
            f"Antwort an {_names(explicit, labels)}, die Mail nennt aber {_names(named, labels)}"
        )
    if intent.kind is Kind.CANCELLATION:
        return _cancellation(intent, named or explicit, signals, labels)
    return _registration(intent, named, explicit, windows, signals, labels)


def _registration(
    intent: Intent,
    named: tuple[str, ...],
    explicit: tuple[str, ...],
    windows: Sequence[Window],
    signals: Signals,
    labels: dict[str, str],
) -> Routed:
    fallback = named
    if not fallback and not any(p.events for p in intent.persons):
        if len(explicit) == 1:
            fallback = explicit
        elif explicit:
            return _unclear(f"Antwort auf Mails zu {_names(explicit, labels)}")
        else:
            open_now = _open(windows, signals.arrival)
            if len(open_now) != 1:
                where = (
                    f"offen sind {_names(open_now, labels)}"
                    if open_now
                    else "keine ist mehr zur Anmeldung offen"
                )
                return _unclear(f"die Mail nennt keine der Veranstaltungen; {where}")
            fallback = open_now
    per_event: dict[str, list[Person]] = {w.key: [] for w in windows}
    for person in intent.persons:
        events = person.events or fallback
        if not events:
            return _unclear(f"für {person.name or 'eine Person'} nennt die Mail keine")
        for key in events:
            per_event[key].append(replace(person, events=()))
    return _parts(per_event)


def _cancellation(
    intent: Intent, named: tuple[str, ...], signals: Signals, labels: dict[str, str]
) -> Routed:
    if not named and not any(p.events for p in intent.persons):
        if len(signals.registered_in) > 1:
            return _unclear(
                "Abmeldung ohne Angabe, wofür; angemeldet für "
                f"{_names(signals.registered_in, labels)}"
            )
        # Registered for one event: that one. For none: the first, where the decision
        # says that there is nothing to cancel.
        named = signals.registered_in[:1] or (next(iter(labels)),)
    per_event: dict[str, list[Person]] = {key: [] for key in labels}
    persons = intent.persons or (Person(name=""),)
    for person in persons:
        for key in person.events or named:
            per_event[key].append(replace(person, events=()))
    parts = _parts(per_event)
    if not intent.persons:  # "the sender", as a single event's cancellation reads it
        return replace(parts, parts=tuple((key, ()) for key, _ in parts.parts))
    return parts


def _parts(per_event: dict[str, list[Person]]) -> Routed:
    parts = tuple((key, tuple(people)) for key, people in per_event.items() if people)
    return Routed(parts=parts, events=tuple(key for key, _ in parts))


def _open(windows: Sequence[Window], arrival: datetime) -> tuple[str, ...]:
    return tuple(w.key for w in windows if arrival <= w.deadline)


def _unclear(why: str) -> Routed:
    return Routed(problem=f"{UNCLEAR}: {why}. Bitte zuordnen: inbox-bot assign ... --event KEY.")


def _names(keys: Sequence[str], labels: dict[str, str]) -> str:
    return ", ".join(f"„{labels.get(k, k)}“" for k in keys)


def _unique(keys: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(keys))
