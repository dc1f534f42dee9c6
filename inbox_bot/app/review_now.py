"""What became of a review mail's persons since its reason was written.

A reason is written once ("Platz 8 von 8"); the person may have cancelled or moved up
since. `review` (CLI) and the console show this line beside the reason, so staff never
act on a stale one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from inbox_bot.core.model import Attendee, Status


def current_notes(attendees: Iterable[Attendee]) -> dict[str, str]:
    """message key -> "Name: Platz 3; Name: abgemeldet" for every mail with persons."""
    people = list(attendees)
    waiting: dict[str, list[Attendee]] = defaultdict(list)
    for a in sorted(people, key=lambda a: a.queue_order):
        if a.status is Status.WAITLISTED:
            waiting[a.event].append(a)
    position = {a.id: n for line in waiting.values() for n, a in enumerate(line, 1)}
    by_mail: dict[str, list[str]] = defaultdict(list)
    for a in people:
        by_mail[a.message_key].append(f"{a.name}: {_state(a, position.get(a.id))}")
    return {key: "; ".join(lines) for key, lines in by_mail.items() if key}


def _state(a: Attendee, position: int | None) -> str:
    where = f" ({a.event})" if a.event else ""
    if a.status is Status.CONFIRMED:
        return f"Platz {a.seat}{where}"
    if a.status is Status.WAITLISTED:
        return f"Warteliste Position {position}{where}"
    return {"cancelled": "abgemeldet", "late": "zu spät"}.get(str(a.status), str(a.status)) + where
