"""Property tests for the seat-allocation core.

Random mail sequences (registrations of 1-3 persons and cancellations, drawn from a
small pool of people so duplicates and foreign cancellations happen often) are folded
through `decide` + `apply` in arrival order and checked against the rules and against a
small list-based reference model written here, independently of allocate.py.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_bot.core.allocate import AllocationState, Decision, Outcome, Request, apply, decide
from inbox_bot.core.model import Attendee, Intent, Kind, Person, Status
from inbox_bot.core.names import clean_address

FAST = settings(deadline=None, max_examples=150, database=None)

T0 = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)

# Distinct first names, surnames and domains: a surname names exactly one pool member.
POOL: tuple[tuple[str, str], ...] = (
    ("Anna Schmidt", "anna.schmidt@example.de"),
    ("Lukas Brenner", "lukas@brenner.net"),
    ("Jürgen Müller", "j.mueller@stadt-unna.de"),
    ("Claudia Reuter-Lang", "c.reuter@kreis-soest.de"),
    ("Arne Vöcking", "arne@voecking.org"),
    ("Nadine Ahrens", "n.ahrens@iserlohn.de"),
    ("Ole Petersen", "ole@petersen.dk"),
    ("Mira Yilmaz", "mira@yilmaz.com"),
)
KEY = {clean_address(email).casefold(): i for i, (_, email) in enumerate(POOL)}


def address(i: int, shout: bool) -> str:
    """Pool address i, with the domain upper-cased when `shout` (same address)."""
    local, _, domain = POOL[i][1].partition("@")
    return f"{local}@{domain.upper() if shout else domain}"


def who(a: Attendee) -> int:
    assert a.email is not None
    return KEY[clean_address(a.email).casefold()]


# ---------------------------------------------------------------- generated mail


@dataclass(frozen=True)
class Mail:
    uid: int
    minute: int
    sender: int
    cancel: bool
    persons: tuple[tuple[int, str], ...]  # (pool index, how the mail names the person)
    shout: bool

    @property
    def arrival(self) -> datetime:
        return T0 + timedelta(minutes=self.minute)

    def request(self) -> Request:
        if self.cancel:
            persons = tuple(_cancel_person(i, form, self.shout) for i, form in self.persons)
            kind = Kind.CANCELLATION
        else:
            persons = tuple(
                Person(name=POOL[i][0], email=address(i, self.shout)) for i, _ in self.persons
            )
            kind = Kind.REGISTRATION
        sender = address(self.sender, self.shout)
        return Request(
            message_key=f"INBOX:1:{self.uid}",
            uid=self.uid,
            arrival=self.arrival,
            sender=sender,
            contact=sender,
            intent=Intent(kind=kind, persons=persons),
        )


def _cancel_person(i: int, form: str, shout: bool) -> Person:
    name = POOL[i][0]
    if form == "surname":
        return Person(name=name.split()[-1])
    if form == "email":
        return Person(name=name, email=address(i, shout))
    return Person(name=name)


@dataclass(frozen=True)
class Scenario:
    capacity: int
    deadline_minute: int
    start_minute: int
    mails: tuple[Mail, ...]  # sorted by (arrival, uid)

    def state(self) -> AllocationState:
        return AllocationState(
            capacity=self.capacity,
            deadline=T0 + timedelta(minutes=self.deadline_minute),
            event_start=T0 + timedelta(minutes=self.start_minute),
        )


people = st.integers(0, len(POOL) - 1)


@st.composite
def mails(draw: st.DrawFn, uid: int) -> Mail:
    action = draw(st.sampled_from(("register", "register", "withdraw", "cancel")))
    sender = draw(people)
    if action == "register":
        named = draw(st.lists(st.tuples(people, st.just("")), min_size=1, max_size=3))
    elif action == "withdraw":
        # Someone withdraws themselves, by name or not: honoured whenever they hold a place.
        named = draw(st.sampled_from([[], [(sender, "full")], [(sender, "surname")]]))
    else:
        # Anyone naming anyone: often a stranger's cancellation, which must go to review.
        forms = st.sampled_from(["full", "surname", "email"])
        named = draw(st.lists(st.tuples(people, forms), max_size=2))
    return Mail(
        uid=uid,
        minute=draw(st.integers(0, 30)),
        sender=sender,
        cancel=action != "register",
        persons=tuple(named),
        shout=draw(st.booleans()),
    )


@st.composite
def scenarios(draw: st.DrawFn, max_mails: int = 18) -> Scenario:
    count = draw(st.integers(0, max_mails))
    # UIDs grow in the order the server stored the mails; arrivals are independent, and
    # equal arrivals happen often, so the UID tie-break is exercised.
    drawn = [draw(mails(uid=100 + n)) for n in range(count)]
    timing = draw(st.sampled_from(("anywhere", "all on time", "walk-ins")))
    if timing == "anywhere":  # deadline and start fall among the arrivals, either order
        deadline, start = draw(st.integers(-1, 31)), draw(st.integers(-1, 32))
    elif timing == "all on time":
        deadline, start = 31, 60
    else:  # registration stays open after the start: seats freed at the door stay free
        start = draw(st.integers(0, 25))
        deadline = draw(st.integers(start, 31))
    return Scenario(
        capacity=draw(st.integers(0, 6)),
        deadline_minute=deadline,
        start_minute=start,
        mails=tuple(sorted(drawn, key=lambda m: (m.arrival, m.uid))),
    )


# ---------------------------------------------------------------- reference model


class Reference:
    """The rules as a plain list simulation: confirmed set, waitlist list, who registered whom."""

    def __init__(self, scenario: Scenario) -> None:
        self.capacity = scenario.capacity
        self.deadline = scenario.deadline_minute
        self.start = scenario.start_minute
        self.confirmed: set[int] = set()
        self.waitlist: list[int] = []
        self.registered_by: dict[int, int] = {}  # active person -> registering address

    def _promote(self, minute: int) -> list[int]:
        promoted: list[int] = []
        if minute >= self.start:
            return promoted
        while len(self.confirmed) < self.capacity and self.waitlist:
            head = self.waitlist.pop(0)
            self.confirmed.add(head)
            promoted.append(head)
        return promoted

    def register(self, mail: Mail) -> tuple[Outcome, list[int]]:
        promoted = self._promote(mail.minute)
        on_time = mail.minute <= self.deadline
        fresh: list[str] = []
        for person, _ in mail.persons:
            if person in self.registered_by:
                continue  # duplicate: keeps the first place
            if not on_time:
                fresh.append("late")
                continue
            if not self.waitlist and len(self.confirmed) < self.capacity:
                self.confirmed.add(person)
                fresh.append("confirmed")
            else:
                self.waitlist.append(person)
                fresh.append("waitlisted")
            self.registered_by[person] = mail.sender
        if "confirmed" in fresh:
            outcome = Outcome.PARTLY_CONFIRMED if "waitlisted" in fresh else Outcome.CONFIRMED
        elif "waitlisted" in fresh:
            outcome = Outcome.WAITLISTED
        elif "late" in fresh:
            outcome = Outcome.LATE
        else:
            outcome = Outcome.DUPLICATE
        return outcome, promoted

    def cancel(self, mail: Mail) -> tuple[Outcome, list[int]]:
        sender = mail.sender
        mine = [p for p, by in self.registered_by.items() if by == sender or p == sender]
        if not mine:
            return Outcome.REVIEW, []
        if not mail.persons:
            if sender in self.registered_by:
                targets = [sender]
            elif len(mine) == 1:
                targets = mine
            else:
                return Outcome.REVIEW, []
        else:
            targets = []
            for person, _ in mail.persons:
                if person not in mine:
                    return Outcome.REVIEW, []
                if person not in targets:
                    targets.append(person)
        for person in targets:
            del self.registered_by[person]
            self.confirmed.discard(person)
            if person in self.waitlist:
                self.waitlist.remove(person)
        return Outcome.CANCELLED, self._promote(mail.minute)

    def handle(self, mail: Mail) -> tuple[Outcome, list[int]]:
        return self.cancel(mail) if mail.cancel else self.register(mail)


# ---------------------------------------------------------------- invariants


def check_invariants(state: AllocationState, mail: Mail, scenario: Scenario) -> None:
    confirmed = state.confirmed()
    assert len(confirmed) <= state.capacity
    seat_numbers = [a.seat for a in confirmed]
    assert all(seat is not None and 1 <= seat <= state.capacity for seat in seat_numbers)
    assert len(set(seat_numbers)) == len(seat_numbers), seat_numbers
    for a in state.attendees.values():
        if a.status is not Status.CONFIRMED:
            assert a.seat is None, a
    active_per_person = Counter(who(a) for a in state.attendees.values() if a.active)
    assert all(n == 1 for n in active_per_person.values()), active_per_person
    if mail.minute < scenario.start_minute:
        # Before the event: a free seat and a waiting person never coexist.
        assert state.free_seat() is None or not state.waitlist()


def check_cancellation_promotes_head(
    before: AllocationState, decision: Decision, mail: Mail, scenario: Scenario
) -> None:
    if decision.outcome is not Outcome.CANCELLED:
        assert not mail.cancel or decision.promotions == ()
        return
    cancelled = {p.attendee.id for p in decision.placements}
    freed = {before.attendees[i].seat for i in cancelled} - {None}
    promoted = [p.attendee for p in decision.promotions]
    if mail.minute >= scenario.start_minute:
        assert promoted == []
        return
    still_waiting = [a.id for a in before.waitlist() if a.id not in cancelled]
    assert [a.id for a in promoted] == still_waiting[: len(freed)]
    assert {a.seat for a in promoted} <= freed
    assert all(a.status is Status.CONFIRMED for a in promoted)


def fold(
    scenario: Scenario, state: AllocationState, batch: tuple[Mail, ...]
) -> tuple[AllocationState, list[Decision]]:
    decisions = []
    for mail in batch:
        decision = decide(state, mail.request())
        state = apply(state, decision)
        decisions.append(decision)
    return state, decisions


def reload(state: AllocationState) -> AllocationState:
    """What the store does between polls: rows out, rows back in (here: reversed order)."""
    rows = [dataclasses.asdict(a) for a in state.attendees.values()]
    attendees = {row["id"]: Attendee(**row) for row in reversed(rows)}
    return AllocationState(
        capacity=state.capacity,
        deadline=state.deadline,
        event_start=state.event_start,
        attendees=attendees,
    )


# ---------------------------------------------------------------- properties


@FAST
@given(scenarios())
def test_fold_keeps_invariants_and_agrees_with_reference_model(scenario: Scenario) -> None:
    state = scenario.state()
    reference = Reference(scenario)
    for mail in scenario.mails:
        before = state
        decision = decide(state, mail.request())
        state = apply(state, decision)

        check_invariants(state, mail, scenario)
        check_cancellation_promotes_head(before, decision, mail, scenario)

        outcome, promoted = reference.handle(mail)
        assert decision.outcome is outcome, (mail, decision.reasons)
        assert [who(p.attendee) for p in decision.promotions] == promoted
        assert {who(a) for a in state.confirmed()} == reference.confirmed
        assert [who(a) for a in state.waitlist()] == reference.waitlist


@FAST
@given(scenarios(), st.lists(st.integers(0, 16), max_size=4))
def test_result_does_not_depend_on_how_mails_are_split_into_polls(
    scenario: Scenario, cuts: list[int]
) -> None:
    whole, whole_decisions = fold(scenario, scenario.state(), scenario.mails)

    bounds = sorted({0, len(scenario.mails), *(c for c in cuts if c <= len(scenario.mails))})
    state = scenario.state()
    decisions: list[Decision] = []
    for lo, hi in itertools.pairwise(bounds):
        state, batch_decisions = fold(scenario, reload(state), scenario.mails[lo:hi])
        decisions += batch_decisions

    assert decisions == whole_decisions
    assert dict(state.attendees) == dict(whole.attendees)


@FAST
@given(
    capacity=st.integers(1, 4),
    extra=st.integers(1, 3),
    victim=st.integers(0, 3),
    data=st.data(),
)
def test_cancelling_a_confirmed_person_promotes_exactly_the_waitlist_head(
    capacity: int, extra: int, victim: int, data: st.DataObject
) -> None:
    """Full house with a waitlist; one confirmed person cancels before the event."""
    order = data.draw(st.permutations(range(len(POOL))))
    registrants = order[: capacity + extra]
    state = AllocationState(
        capacity=capacity,
        deadline=T0 + timedelta(days=1),
        event_start=T0 + timedelta(days=2),
    )
    for n, i in enumerate(registrants):
        mail = Mail(uid=n + 1, minute=n, sender=i, cancel=False, persons=((i, ""),), shout=False)
        state = apply(state, decide(state, mail.request()))
    assert [who(a) for a in state.confirmed()] == registrants[:capacity]
    head = state.waitlist()[0]
    leaver = state.confirmed()[victim % capacity]
    leaver_index = who(leaver)
    how = data.draw(st.sampled_from([(), ((leaver_index, "full"),), ((leaver_index, "surname"),)]))
    cancel = Mail(
        uid=99,
        minute=data.draw(st.integers(len(registrants), 60 * 24 * 2 - 1)),
        sender=leaver_index,
        cancel=True,
        persons=how,
        shout=data.draw(st.booleans()),
    )

    decision = decide(state, cancel.request())
    after = apply(state, decision)

    assert decision.outcome is Outcome.CANCELLED
    (promoted,) = decision.promotions
    assert promoted.attendee.id == head.id
    assert promoted.attendee.seat == leaver.seat
    assert after.attendees[head.id].status is Status.CONFIRMED
    assert after.attendees[leaver.id].status is Status.CANCELLED
    assert [a.id for a in after.waitlist()] == [a.id for a in state.waitlist()[1:]]


@FAST
@given(scenarios(), st.integers(0, 3), st.integers(1, 3))
def test_newcomers_never_overtake_anyone_waiting(
    scenario: Scenario, raise_by: int, newcomers: int
) -> None:
    """After any history, staff may raise the capacity and extend the deadline; then
    fresh people register. Whoever already waits moves up first (before the event) and
    no newcomer gets a seat while anyone who waited earlier is still waiting."""
    state, _ = fold(scenario, scenario.state(), scenario.mails)
    state = dataclasses.replace(
        reload(state),
        capacity=state.capacity + raise_by,
        deadline=T0 + timedelta(minutes=40),
    )
    waiting_before = [a.id for a in state.waitlist()]
    free_before = state.capacity - len(state.confirmed())
    arrival = T0 + timedelta(minutes=31)
    guests = tuple(
        Person(name=f"Gast Nummer{n}", email=f"gast{n}@walk-in.example") for n in range(newcomers)
    )
    request = Request(
        message_key="INBOX:1:999",
        uid=999,
        arrival=arrival,
        sender=guests[0].email or "",
        contact=guests[0].email or "",
        intent=Intent(kind=Kind.REGISTRATION, persons=guests),
    )

    decision = decide(state, request)
    after = apply(state, decision)

    assert not any(p.duplicate for p in decision.placements)
    if arrival < state.event_start:
        expected = waiting_before[: max(free_before, 0)]
        assert [p.attendee.id for p in decision.promotions] == expected
    else:
        assert decision.promotions == ()
    still_waiting = [a.id for a in after.waitlist()]
    earlier_still_waiting = [i for i in still_waiting if i in waiting_before]
    # The waitlist keeps its order and newcomers queue behind everyone already there.
    assert still_waiting[: len(earlier_still_waiting)] == earlier_still_waiting
    if earlier_still_waiting:
        assert all(p.attendee.status is Status.WAITLISTED for p in decision.placements)
    seated = [p.attendee for p in decision.placements if p.attendee.status is Status.CONFIRMED]
    assert len(after.confirmed()) <= after.capacity
    assert len({a.seat for a in after.confirmed()}) == len(after.confirmed())
    assert all(a.seat is not None and 1 <= a.seat <= after.capacity for a in seated)
