"""`inbox-bot replay`: recompute the allocation from the facts in the allocation log and
compare it with the recorded one (pure fold over the log, then a comparison)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from inbox_bot.app.deps import Deps
from inbox_bot.core.allocate import AllocationState, Request, apply, decide
from inbox_bot.core.model import Intent, Kind, Person, Status
from inbox_bot.core.names import name_tokens


def replay_differences(deps: Deps) -> list[str]:
    event = deps.settings.event
    far = AllocationState(
        capacity=event.capacity, deadline=event.registration_deadline, event_start=event.starts_at
    )
    state = far
    for seq, text, _ in deps.store.log_after(0):
        state = _step(state, seq, json.loads(text))
    recorded = {_key(a.name): a for a in deps.store.attendees() if a.status is not Status.LATE}
    replayed = {_key(a.name): a for a in state.attendees.values() if a.status is not Status.LATE}
    lines = []
    for key in sorted(set(recorded) | set(replayed)):
        was, now = recorded.get(key), replayed.get(key)
        if was is None or now is None:
            name = (was or now).name if (was or now) else key  # type: ignore[union-attr]
            lines.append(f"{name}: {'nur im Protokoll' if was is None else 'nur in der Datenbank'}")
        elif (was.status, was.seat) != (now.status, now.seat):
            lines.append(
                f"{was.name}: gespeichert {was.status} {was.seat or ''}, "
                f"neu berechnet {now.status} {now.seat or ''}".rstrip()
            )
    return lines


def _key(name: str) -> str:
    return " ".join(sorted(name_tokens(name)))


def _step(state: AllocationState, seq: int, record: dict[str, Any]) -> AllocationState:
    kind, decision = record.get("kind"), record.get("decision")
    if kind == "staff":
        return _staff_step(state, record)
    if kind not in ("registration", "cancellation") or decision == "review":
        return state
    persons = tuple(
        Person(name=p["name"], email=p.get("email"), organization=p.get("organization"))
        for p in record.get("persons", [])
        if kind == "cancellation" or not p.get("duplicate")
    )
    if not persons:
        return state
    tokens = [str(a).casefold() for a in record.get("authorized_by") or ()]
    request = Request(
        message_key=f"replay-{seq}",
        uid=int(record.get("uid") or 0),
        arrival=datetime.fromisoformat(record["received_at"]),
        sender=record.get("sender") or "",
        contact=record.get("reply_to") or record.get("sender") or "",
        intent=Intent(kind=Kind(kind), persons=persons),
        # The log names who the token's attendees were registered by; ids are replay's own.
        authorized=frozenset(
            a.id
            for a in state.attendees.values()
            if a.registrant.casefold() in tokens or (a.email or "").casefold() in tokens
        ),
    )
    return apply(state, decide(state, request))


def _staff_step(state: AllocationState, record: dict[str, Any]) -> AllocationState:
    names = [_key(n) for n in record.get("persons", [])]
    changed = {}
    for attendee in state.attendees.values():
        if _key(attendee.name) not in names:
            continue
        if record.get("decision") == "staff_cancelled" and attendee.active:
            changed[attendee.id] = replace(attendee, status=Status.CANCELLED, seat=None)
        elif record.get("decision") == "staff_admitted":
            seats = dict(zip(names, record.get("seats", []), strict=False))
            changed[attendee.id] = replace(
                attendee, status=Status.CONFIRMED, seat=seats.get(_key(attendee.name))
            )
    state = replace(state, attendees={**state.attendees, **changed})
    if record.get("decision") == "staff_cancelled":
        # the promotions the action caused follow from the rules again
        nobody = Request(
            message_key="replay-staff",
            uid=0,
            arrival=datetime.fromisoformat(record["time"]),
            sender="",
            contact="",
            intent=Intent(kind=Kind.REGISTRATION, persons=()),
        )
        decide(state, nobody)  # registration without persons changes nothing
        from inbox_bot.core.allocate import _promote_into_free_seats

        promoted = _promote_into_free_seats(state, datetime.fromisoformat(record["time"]))
        state = promoted.state
    return state
