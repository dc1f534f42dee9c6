"""`inbox-bot replay`: recompute the allocation from the allocation log (core/replay.py)
and compare it with the recorded one, person by person (by attendee id)."""

from __future__ import annotations

from inbox_bot.app.deps import Deps
from inbox_bot.app.state import allocation_states
from inbox_bot.core.audit import from_json
from inbox_bot.core.model import Attendee, Status
from inbox_bot.core.names import name_tokens
from inbox_bot.core.replay import replay


def replay_differences(deps: Deps) -> list[str]:
    # The same capacity, times and [limits] as a poll: the one place that builds them.
    empty = allocation_states(deps.settings, (), freemail=deps.context.directory.freemail)
    records = ((entry.seq, from_json(entry.data)) for entry in deps.store.log_after(0))
    replayed = [
        a
        for state in replay(records, empty).values()
        for a in state.attendees.values()
        if a.status is not Status.LATE
    ]
    recorded = {a.id: a for a in deps.store.attendees() if a.status is not Status.LATE}
    lines = []
    unmatched = dict(recorded)
    for now in replayed:
        was = unmatched.pop(now.id, None) or _by_name(unmatched, now)
        if was is None:
            lines.append(f"{now.name}: nur im Protokoll")
        elif (was.status, was.seat) != (now.status, now.seat):
            lines.append(
                f"{was.name}: gespeichert {was.status} {was.seat or ''}, "
                f"neu berechnet {now.status} {now.seat or ''}".rstrip()
            )
    lines += [f"{a.name}: nur in der Datenbank" for a in unmatched.values()]
    return sorted(lines)


def _by_name(unmatched: dict[str, Attendee], replayed: Attendee) -> Attendee | None:
    """For records written before ids: the one recorded person of that name."""
    if not replayed.id.startswith("replay-"):
        return None
    wanted = name_tokens(replayed.name)
    matches = [a for a in unmatched.values() if name_tokens(a.name) == wanted]
    if len(matches) != 1:
        return None
    return unmatched.pop(matches[0].id)
