"""Recompute the allocation from the facts in the allocation log (pure).

Each registration and cancellation is decided again, in log order, with the rules of
core/allocate.py, under the original attendee ids (a person's id is the key of her
mail and her place in it), so the result compares with the database person by
person. Staff actions are applied as recorded. Records written before ids existed
get ids of their own ("replay-SEQ#n"), and are compared by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from inbox_bot.core.allocate import AllocationState, Request, apply, decide, promote_free_seats
from inbox_bot.core.audit import AuditRecord, MailRecord, PersonEntry, StaffRecord
from inbox_bot.core.model import Attendee, Intent, Kind, Person, Status
from inbox_bot.core.names import name_tokens


def replay(
    records: Iterable[tuple[int, AuditRecord]], empty: Mapping[str, AllocationState]
) -> dict[str, AllocationState]:
    """The allocation of each event (by key) the log's records lead to, from empty
    states with our settings. A record without an event (written before the series)
    belongs to the first event."""
    states = dict(empty)
    first = next(iter(states))
    for seq, record in records:
        if not isinstance(record, MailRecord | StaffRecord):
            continue
        key = record.event or first
        if key not in states:
            continue  # an event no longer configured: nothing to compare it with
        if isinstance(record, MailRecord):
            states[key] = _mail(states[key], seq, record)
        else:
            states[key] = _staff(states[key], record)
    return states


def _mail(state: AllocationState, seq: int, record: MailRecord) -> AllocationState:
    if record.kind not in ("registration", "cancellation") or record.decision == "review":
        return state
    if not record.persons:
        return state
    key = _message_key(record.persons, seq)
    registering = record.kind == "registration"
    request = Request(
        message_key=key,
        uid=record.uid,
        arrival=record.received_at,
        sender=record.sender or "",
        contact=record.reply_to or record.sender or "",
        intent=Intent(
            kind=Kind(record.kind),
            persons=tuple(
                Person(name=p.name, email=p.email, organization=p.organization)
                for p in record.persons
            ),
        ),
        # A cancellation names whom it withdrew: those are the ones it may withdraw.
        authorized=frozenset()
        if registering
        else frozenset(p.attendee_id for p in record.persons if p.attendee_id),
    )
    return apply(state, decide(state, request))


def _message_key(persons: tuple[PersonEntry, ...], seq: int) -> str:
    """The key of the mail the persons came with: their ids are KEY#n."""
    for person in persons:
        if person.attendee_id and "#" in person.attendee_id and not person.duplicate:
            # KEY#n, or in a series KEY#event#n: a message key holds no "#"
            return person.attendee_id.split("#", 1)[0]
    return f"replay-{seq}"


def _staff(state: AllocationState, record: StaffRecord) -> AllocationState:
    if record.action not in ("staff_admitted", "staff_cancelled"):
        return state
    changed = {}
    for person in record.persons:
        target = _find(state, person)
        if target is None:
            continue
        if record.action == "staff_cancelled" and target.active:
            changed[target.id] = replace(target, status=Status.CANCELLED, seat=None)
        elif record.action == "staff_admitted":
            changed[target.id] = replace(target, status=Status.CONFIRMED, seat=person.seat)
    state = replace(state, attendees={**state.attendees, **changed})
    if record.action == "staff_cancelled":
        # the promotions the action caused follow from the rules again
        state = promote_free_seats(state, record.time).state
    return state


def _find(state: AllocationState, person: PersonEntry) -> Attendee | None:
    if person.attendee_id and person.attendee_id in state.attendees:
        return state.attendees[person.attendee_id]
    wanted = name_tokens(person.name)
    matches = [a for a in state.attendees.values() if name_tokens(a.name) == wanted]
    return matches[0] if len(matches) == 1 else None
