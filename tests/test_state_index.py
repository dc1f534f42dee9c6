"""The index that spares every decision a scan over all attendees answers exactly what
the scan answered: property tests against the plain scans, over random sequences of
registrations, cancellations, promotions and renames."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_bot.core.allocation import AllocationState, find_holder
from inbox_bot.core.model import Attendee, Person, Status
from inbox_bot.core.names import domain_of, name_tokens, same_address
from inbox_bot.core.state_index import StateIndex

T0 = datetime(2018, 11, 6, 9, 0, tzinfo=UTC)
NAMES = ["Anna Berg", "anna berg", "Jan Albers", "Dr. Jan Albers", "Lea Roth", "", "Otto Pohl"]
MAILS = [None, "a@x.de", "A@X.DE", "b@x.de", "c@y.de", "lea@roth.de"]
STATUSES = list(Status)


@st.composite
def attendees(draw: st.DrawFn, capacity: int) -> Attendee:
    n = draw(st.integers(0, 40))
    status = draw(st.sampled_from(STATUSES))
    return Attendee(
        id=f"k{n}#0",
        name=draw(st.sampled_from(NAMES)),
        email=draw(st.sampled_from(MAILS)),
        organization=None,
        contact=draw(st.sampled_from(["r@x.de", "R@x.de", "s@y.de"])),
        status=status,
        seat=draw(st.integers(1, capacity + 2)) if status is Status.CONFIRMED else None,
        arrival=T0 + timedelta(minutes=draw(st.integers(0, 5))),
        uid=n,
        index=0,
        message_key=f"k{n}",
        registered_by=draw(st.sampled_from(["", "r@x.de", "t@z.de"])),
    )


def scan_free_seat(state: AllocationState) -> int | None:
    taken = {a.seat for a in state.attendees.values() if a.status is Status.CONFIRMED}
    if len(taken) >= state.capacity:
        return None
    return next(seat for seat in range(1, state.capacity + 1) if seat not in taken)


def scan_waitlist(state: AllocationState) -> list[str]:
    waiting = [a for a in state.attendees.values() if a.status is Status.WAITLISTED]
    return [a.id for a in sorted(waiting, key=lambda a: (a.queue_order, a.id))]


def scan_holder(state: AllocationState, person: Person, contact: str) -> str | None:
    for a in state.attendees.values():
        if not a.active:
            continue
        if person.email and a.email:
            if same_address(person.email, a.email):
                return a.id
            continue
        tokens = name_tokens(person.name)
        same_place = same_address(a.contact, contact) or domain_of(
            a.email or a.contact
        ) == domain_of(person.email or contact)
        if tokens and tokens == name_tokens(a.name) and same_place:
            return a.id
    return None


@settings(max_examples=60, deadline=None)
@given(st.data(), st.integers(1, 6))
def test_carried_index_answers_what_a_scan_answers(data: st.DataObject, capacity: int) -> None:
    state = AllocationState(capacity=capacity, deadline=T0, event_start=T0)
    assert state.index.free  # built now, so that every change below carries it along
    for _ in range(data.draw(st.integers(1, 15))):
        changes = data.draw(st.lists(attendees(capacity), min_size=1, max_size=3))
        state = state.with_changes(changes)
        assert "index" in state.__dict__
        assert state.free_seat() == scan_free_seat(state)
        assert [a.id for a in state.waitlist()] == scan_waitlist(state)
        for position, aid in enumerate(scan_waitlist(state), 1):
            assert state.waitlist_position(aid) == position
        person = Person(
            name=data.draw(st.sampled_from(NAMES)), email=data.draw(st.sampled_from(MAILS))
        )
        contact = data.draw(st.sampled_from(["r@x.de", "s@y.de"]))
        found = find_holder(state, person, contact)
        assert (found.id if found else None) == scan_holder(state, person, contact)
        sender = data.draw(st.sampled_from(["r@x.de", "t@z.de", "a@x.de"]))
        assert [a.id for a in state.active_at(sender)] == [
            a.id
            for a in state.attendees.values()
            if a.active and any(same_address(sender, x) for x in (a.email, a.contact, a.registrant))
        ]
        assert state.index.per_registrant.get("r@x.de", 0) == sum(
            1 for a in state.attendees.values() if a.active and same_address(a.registrant, "r@x.de")
        )
    rebuilt = StateIndex.build(capacity, state.attendees)
    assert (rebuilt.free, rebuilt.waiting, rebuilt.seats) == (
        state.index.free,
        state.index.waiting,
        state.index.seats,
    )
    assert rebuilt.emails == state.index.emails and rebuilt.names == state.index.names


def test_replace_never_keeps_a_stale_index() -> None:
    confirmed = Attendee(
        id="k1#0",
        name="Anna Berg",
        email="a@x.de",
        organization=None,
        contact="a@x.de",
        status=Status.CONFIRMED,
        seat=1,
        arrival=T0,
        uid=1,
        index=0,
        message_key="k1",
    )
    state = AllocationState(capacity=1, deadline=T0, event_start=T0).with_changes([confirmed])
    assert state.free_seat() is None
    smaller = replace(state, attendees={})
    assert smaller.free_seat() == 1
