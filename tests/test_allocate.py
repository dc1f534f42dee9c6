"""Unit tests for the pure seat-allocation core: `decide` + `apply` on in-memory state.

No mocks, no clock, no I/O: every test builds an AllocationState, feeds it Requests in
arrival order and looks at the Decision and at the state after `apply`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from inbox_bot.core.allocate import AllocationState, Decision, Outcome, Request, apply, decide
from inbox_bot.core.model import Attendee, Intent, Kind, Person, ReplyKind, Status

BERLIN = ZoneInfo("Europe/Berlin")
# Registration closes at the end of Friday 14 March 2025, local time; the event is a week later.
DEADLINE = datetime(2025, 3, 14, 23, 59, 59, tzinfo=BERLIN)
EVENT_START = datetime(2025, 3, 21, 9, 0, tzinfo=BERLIN)
EARLY = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)

ANNA = "anna.schmidt@example.de"
LUKAS = "lukas@brenner.net"
JUERGEN = "j.mueller@stadt-unna.de"
CLAUDIA = "c.reuter@kreis-soest.de"
MALLORY = "mallory@evil.example"


# ---------------------------------------------------------------- helpers


def person(name: str, email: str | None = None) -> Person:
    return Person(name=name, email=email)


def registration(
    *persons: Person, has_question: bool = False, review_reasons: tuple[str, ...] = ()
) -> Intent:
    return Intent(
        kind=Kind.REGISTRATION,
        persons=persons,
        has_question=has_question,
        review_reasons=review_reasons,
    )


def cancellation(*persons: Person) -> Intent:
    return Intent(kind=Kind.CANCELLATION, persons=persons)


def request(
    intent: Intent,
    *,
    uid: int,
    sender: str,
    arrival: datetime | None = None,
    contact: str | None = None,
) -> Request:
    return Request(
        message_key=f"INBOX:1:{uid}",
        uid=uid,
        arrival=arrival if arrival is not None else EARLY + timedelta(minutes=uid),
        sender=sender,
        contact=contact or sender,
        intent=intent,
    )


def empty(capacity: int, **times: datetime) -> AllocationState:
    return AllocationState(
        capacity=capacity,
        deadline=times.get("deadline", DEADLINE),
        event_start=times.get("event_start", EVENT_START),
    )


def attendee(
    uid: int, name: str, email: str | None, status: Status, seat: int | None = None
) -> Attendee:
    return Attendee(
        id=f"INBOX:1:{uid}#0",
        name=name,
        email=email,
        organization=None,
        contact=email or ANNA,
        status=status,
        seat=seat,
        arrival=EARLY + timedelta(minutes=uid),
        uid=uid,
        index=0,
        message_key=f"INBOX:1:{uid}",
    )


def with_attendees(capacity: int, attendees: Iterable[Attendee]) -> AllocationState:
    return AllocationState(
        capacity=capacity,
        deadline=DEADLINE,
        event_start=EVENT_START,
        attendees={a.id: a for a in attendees},
    )


def step(state: AllocationState, req: Request) -> tuple[AllocationState, Decision]:
    decision = decide(state, req)
    return apply(state, decision), decision


def run(state: AllocationState, *requests: Request) -> tuple[AllocationState, list[Decision]]:
    """Fold requests in the order given (callers pass them in arrival order)."""
    decisions = []
    for req in requests:
        state, decision = step(state, req)
        decisions.append(decision)
    return state, decisions


def self_registration(uid: int, name: str, email: str, arrival: datetime | None = None) -> Request:
    return request(registration(person(name, email)), uid=uid, sender=email, arrival=arrival)


def by_email(state: AllocationState) -> dict[str | None, Attendee]:
    return {a.email: a for a in state.attendees.values() if a.active}


def seats(state: AllocationState) -> dict[str, int | None]:
    return {a.name: a.seat for a in state.confirmed()}


def waiting(state: AllocationState) -> list[str]:
    return [a.name for a in state.waitlist()]


def assert_untouched(decision: Decision) -> None:
    assert decision.changes == ()
    assert decision.promotions == ()
    assert decision.placements == ()


# ---------------------------------------------------------------- deadline: arrival decides


@pytest.mark.parametrize(
    ("arrival", "outcome", "reply", "status", "seat"),
    [
        pytest.param(
            DEADLINE,
            Outcome.CONFIRMED,
            ReplyKind.ACCEPTANCE,
            Status.CONFIRMED,
            1,
            id="exactly-at-deadline-on-time",
        ),
        pytest.param(
            DEADLINE + SECOND,
            Outcome.LATE,
            ReplyKind.LATE,
            Status.LATE,
            None,
            id="one-second-after-deadline-late",
        ),
        pytest.param(
            DEADLINE - SECOND,
            Outcome.CONFIRMED,
            ReplyKind.ACCEPTANCE,
            Status.CONFIRMED,
            1,
            id="one-second-before-deadline-on-time",
        ),
        pytest.param(
            # 23:58 Berlin on the last day, as the server's INTERNALDATE (UTC) reports it.
            datetime(2025, 3, 14, 22, 58, tzinfo=UTC),
            Outcome.CONFIRMED,
            ReplyKind.ACCEPTANCE,
            Status.CONFIRMED,
            1,
            id="23:58-local-on-last-day-given-in-utc-on-time",
        ),
        pytest.param(
            # 00:00 Berlin the next day: 23:00 UTC still reads "14 March" in UTC, but is late.
            datetime(2025, 3, 14, 23, 0, tzinfo=UTC),
            Outcome.LATE,
            ReplyKind.LATE,
            Status.LATE,
            None,
            id="midnight-local-is-late-although-utc-date-is-last-day",
        ),
    ],
)
def test_deadline_is_judged_by_arrival(
    arrival: datetime, outcome: Outcome, reply: ReplyKind, status: Status, seat: int | None
) -> None:
    state, (decision,) = run(empty(10), self_registration(1, "Anna Schmidt", ANNA, arrival=arrival))

    assert decision.outcome is outcome
    assert decision.reply is reply
    (placement,) = decision.placements
    assert placement.attendee.status is status
    assert placement.attendee.seat == seat
    assert state.attendees[placement.attendee.id] == placement.attendee


def test_mail_from_last_evening_is_on_time_however_late_the_bot_decides() -> None:
    """There is no clock: the same mail decided (again) days later gets the same answer."""
    req = self_registration(
        7, "Anna Schmidt", ANNA, arrival=datetime(2025, 3, 14, 23, 58, tzinfo=BERLIN)
    )
    state = empty(5)
    # Decided "the next morning" and "a week later" alike; only req.arrival matters.
    first, second = decide(state, req), decide(state, req)

    assert first == second
    assert first.outcome is Outcome.CONFIRMED
    assert first.placements[0].attendee.arrival == req.arrival


def test_late_registration_takes_no_seat_even_when_seats_are_free() -> None:
    state, (decision,) = run(
        empty(3), self_registration(1, "Anna Schmidt", ANNA, arrival=DEADLINE + SECOND)
    )

    assert decision.outcome is Outcome.LATE
    assert state.confirmed() == []
    assert state.waitlist() == []
    assert state.free_seat() == 1


# ---------------------------------------------------------------- capacity and groups


def test_capacity_two_three_registrations_two_confirmed_one_waitlisted() -> None:
    state, decisions = run(
        empty(2),
        self_registration(1, "Anna Schmidt", ANNA),
        self_registration(2, "Lukas Brenner", LUKAS),
        self_registration(3, "Jürgen Müller", JUERGEN),
    )

    assert [d.outcome for d in decisions] == [
        Outcome.CONFIRMED,
        Outcome.CONFIRMED,
        Outcome.WAITLISTED,
    ]
    assert [d.reply for d in decisions] == [
        ReplyKind.ACCEPTANCE,
        ReplyKind.ACCEPTANCE,
        ReplyKind.WAITLIST,
    ]
    assert seats(state) == {"Anna Schmidt": 1, "Lukas Brenner": 2}
    assert waiting(state) == ["Jürgen Müller"]
    (last,) = decisions[2].placements
    assert last.waitlist_position == 1
    assert last.attendee.seat is None


def test_group_of_three_with_two_seats_left_is_partly_confirmed_in_written_order() -> None:
    state, _ = run(empty(3), self_registration(1, "Claudia Reuter-Lang", CLAUDIA))
    group = request(
        registration(
            person("Anna Schmidt", ANNA),
            person("Lukas Brenner"),
            person("Jürgen Müller", JUERGEN),
        ),
        uid=2,
        sender=ANNA,
    )

    state, decision = step(state, group)

    assert decision.outcome is Outcome.PARTLY_CONFIRMED
    assert decision.reply is ReplyKind.ACCEPTANCE
    assert [(p.attendee.name, p.attendee.status, p.attendee.seat) for p in decision.placements] == [
        ("Anna Schmidt", Status.CONFIRMED, 2),
        ("Lukas Brenner", Status.CONFIRMED, 3),
        ("Jürgen Müller", Status.WAITLISTED, None),
    ]
    assert [p.waitlist_position for p in decision.placements] == [None, None, 1]
    assert all(p.attendee.contact == ANNA for p in decision.placements)
    assert [p.attendee.index for p in decision.placements] == [0, 1, 2]
    assert waiting(state) == ["Jürgen Müller"]


def test_group_mail_counts_persons_not_mails() -> None:
    state, (decision,) = run(
        empty(2),
        request(
            registration(
                person("Anna Schmidt", ANNA), person("Lukas Brenner"), person("Ole Hansen")
            ),
            uid=1,
            sender=ANNA,
        ),
    )

    assert len(state.confirmed()) == 2
    assert waiting(state) == ["Ole Hansen"]
    assert decision.outcome is Outcome.PARTLY_CONFIRMED


def test_capacity_zero_waitlists_everyone() -> None:
    state, (decision,) = run(empty(0), self_registration(1, "Anna Schmidt", ANNA))

    assert decision.outcome is Outcome.WAITLISTED
    assert decision.reply is ReplyKind.WAITLIST
    assert state.confirmed() == []


def test_waitlist_follows_arrival_then_uid_not_insertion_order() -> None:
    """(arrival, uid) orders the queue; the order rows happen to be stored in does not."""
    same_minute = EARLY + timedelta(minutes=30)
    a = attendee(9, "Anna Schmidt", ANNA, Status.WAITLISTED)
    b = attendee(5, "Lukas Brenner", LUKAS, Status.WAITLISTED)
    c = attendee(7, "Jürgen Müller", JUERGEN, Status.WAITLISTED)
    a = replace(a, arrival=same_minute)
    c = replace(c, arrival=same_minute)
    b = replace(b, arrival=same_minute + SECOND)
    holder = attendee(1, "Claudia Reuter-Lang", CLAUDIA, Status.CONFIRMED, seat=1)
    state = with_attendees(1, [b, a, holder, c])

    # uid 7 before uid 9 at the same arrival; uid 5 arrived a second later.
    assert waiting(state) == ["Jürgen Müller", "Anna Schmidt", "Lukas Brenner"]

    state, decision = step(state, request(cancellation(), uid=20, sender=CLAUDIA))
    assert [p.attendee.name for p in decision.promotions] == ["Jürgen Müller"]
    assert seats(state) == {"Jürgen Müller": 1}


# ---------------------------------------------------------------- duplicates


@pytest.mark.parametrize(
    "second_email",
    [
        pytest.param(ANNA, id="identical"),
        pytest.param("anna.schmidt@EXAMPLE.DE", id="domain-upper-case"),
        pytest.param("<anna.schmidt@Example.De>", id="angle-brackets-mixed-case-domain"),
    ],
)
def test_duplicate_by_email_keeps_first_seat(second_email: str) -> None:
    state, _ = run(empty(5), self_registration(1, "Anna Schmidt", ANNA))
    first = by_email(state)[ANNA]

    state2, decision = step(
        state,
        request(registration(person("A. Schmidt", second_email)), uid=2, sender=second_email),
    )

    assert decision.outcome is Outcome.DUPLICATE
    assert decision.reply is ReplyKind.DUPLICATE
    (placement,) = decision.placements
    assert placement.duplicate
    assert placement.attendee == first
    assert decision.changes == ()
    assert state2 == state
    assert len(state2.confirmed()) == 1


def test_duplicate_of_waitlisted_person_keeps_waitlist_place() -> None:
    state, _ = run(
        empty(1),
        self_registration(1, "Anna Schmidt", ANNA),
        self_registration(2, "Lukas Brenner", LUKAS),
        self_registration(3, "Jürgen Müller", JUERGEN),
    )

    state2, decision = step(state, self_registration(4, "Lukas Brenner", LUKAS))

    assert decision.outcome is Outcome.DUPLICATE
    assert decision.reply is ReplyKind.DUPLICATE
    (placement,) = decision.placements
    assert placement.duplicate
    assert placement.attendee.status is Status.WAITLISTED
    assert placement.attendee.uid == 2
    assert placement.waitlist_position == 1
    assert decision.changes == ()
    assert waiting(state2) == ["Lukas Brenner", "Jürgen Müller"]


@pytest.mark.parametrize(
    "again",
    [
        pytest.param("Lukas Brenner", id="same-spelling"),
        pytest.param("Herr Lukas Brenner", id="with-salutation"),
        pytest.param("lukas brenner", id="lower-case"),
    ],
)
def test_same_name_without_email_from_same_contact_is_duplicate(again: str) -> None:
    state, _ = run(
        empty(5),
        request(registration(person("Lukas Brenner")), uid=1, sender=ANNA),
    )

    state2, decision = step(state, request(registration(person(again)), uid=2, sender=ANNA))

    assert decision.outcome is Outcome.DUPLICATE
    assert decision.placements[0].duplicate
    assert decision.changes == ()
    assert len(state2.confirmed()) == 1


def test_same_name_with_different_email_is_a_different_person() -> None:
    state, decisions = run(
        empty(5),
        self_registration(1, "Anna Schmidt", ANNA),
        self_registration(2, "Anna Schmidt", "anna.schmidt@kreis-soest.de"),
    )

    assert [d.outcome for d in decisions] == [Outcome.CONFIRMED, Outcome.CONFIRMED]
    assert len(state.confirmed()) == 2


def test_group_with_one_known_member_seats_only_the_newcomer() -> None:
    state, _ = run(empty(5), self_registration(1, "Anna Schmidt", ANNA))

    state, decision = step(
        state,
        request(
            registration(person("Anna Schmidt", ANNA), person("Lukas Brenner", LUKAS)),
            uid=2,
            sender=ANNA,
        ),
    )

    assert decision.outcome is Outcome.CONFIRMED
    assert decision.reply is ReplyKind.ACCEPTANCE
    assert [p.duplicate for p in decision.placements] == [True, False]
    assert [a.name for a in decision.changes] == ["Lukas Brenner"]
    assert seats(state) == {"Anna Schmidt": 1, "Lukas Brenner": 2}


def test_same_person_twice_in_one_mail_gets_one_seat() -> None:
    state, (decision,) = run(
        empty(5),
        request(
            registration(person("Anna Schmidt", ANNA), person("Anna Schmidt", ANNA)),
            uid=1,
            sender=ANNA,
        ),
    )

    assert len(state.confirmed()) == 1
    assert [p.duplicate for p in decision.placements] == [False, True]


def test_registering_again_after_cancelling_is_a_new_place() -> None:
    state, decisions = run(
        empty(1),
        self_registration(1, "Anna Schmidt", ANNA),
        request(cancellation(), uid=2, sender=ANNA),
        self_registration(3, "Anna Schmidt", ANNA),
    )

    assert decisions[2].outcome is Outcome.CONFIRMED
    assert by_email(state)[ANNA].uid == 3


# ---------------------------------------------------------------- cancellations


def full_house() -> AllocationState:
    """Capacity 2: Anna seat 1, Lukas seat 2; Jürgen then Claudia wait."""
    state, _ = run(
        empty(2),
        self_registration(1, "Anna Schmidt", ANNA),
        self_registration(2, "Lukas Brenner", LUKAS),
        self_registration(3, "Jürgen Müller", JUERGEN),
        self_registration(4, "Claudia Reuter-Lang", CLAUDIA),
    )
    assert seats(state) == {"Anna Schmidt": 1, "Lukas Brenner": 2}
    assert waiting(state) == ["Jürgen Müller", "Claudia Reuter-Lang"]
    return state


@pytest.mark.parametrize(
    ("sender", "named", "freed"),
    [
        pytest.param(ANNA, (), 1, id="anna-frees-seat-1"),
        pytest.param(LUKAS, (), 2, id="lukas-frees-seat-2"),
        pytest.param(LUKAS, (person("Lukas Brenner"),), 2, id="lukas-by-name"),
        pytest.param("Lukas@BRENNER.NET", (), 2, id="address-case-insensitive"),
    ],
)
def test_cancellation_by_registering_address_promotes_waitlist_head_into_freed_slot(
    sender: str, named: tuple[Person, ...], freed: int
) -> None:
    state = full_house()

    state, decision = step(state, request(cancellation(*named), uid=10, sender=sender))

    assert decision.outcome is Outcome.CANCELLED
    assert decision.reply is ReplyKind.CANCELLATION
    (cancelled,) = decision.placements
    assert cancelled.attendee.status is Status.CANCELLED
    assert cancelled.attendee.seat is None
    (promoted,) = decision.promotions
    assert promoted.attendee.name == "Jürgen Müller"
    assert promoted.attendee.status is Status.CONFIRMED
    assert promoted.attendee.seat == freed
    assert state.attendees[promoted.attendee.id].seat == freed
    assert len(state.confirmed()) == 2
    assert waiting(state) == ["Claudia Reuter-Lang"]
    assert state.waitlist_position(by_email(state)[CLAUDIA].id) == 1


def test_cancellation_of_waitlisted_person_promotes_nobody() -> None:
    state = full_house()

    state, decision = step(state, request(cancellation(), uid=10, sender=JUERGEN))

    assert decision.outcome is Outcome.CANCELLED
    assert decision.promotions == ()
    assert waiting(state) == ["Claudia Reuter-Lang"]
    assert seats(state) == {"Anna Schmidt": 1, "Lukas Brenner": 2}


def test_person_registered_by_someone_else_may_cancel_from_own_address() -> None:
    state, _ = run(
        empty(1),
        request(registration(person("Lukas Brenner", LUKAS)), uid=1, sender=ANNA),
        self_registration(2, "Jürgen Müller", JUERGEN),
    )

    state, decision = step(state, request(cancellation(), uid=3, sender=LUKAS))

    assert decision.outcome is Outcome.CANCELLED
    assert [p.attendee.name for p in decision.promotions] == ["Jürgen Müller"]
    assert seats(state) == {"Jürgen Müller": 1}


def test_cancelling_one_named_member_of_a_group_leaves_the_sender_registered() -> None:
    state, _ = run(
        empty(2),
        request(
            registration(person("Anna Schmidt", ANNA), person("Lukas Brenner")),
            uid=1,
            sender=ANNA,
        ),
        self_registration(2, "Jürgen Müller", JUERGEN),
    )

    state, decision = step(state, request(cancellation(person("Brenner")), uid=3, sender=ANNA))

    assert decision.outcome is Outcome.CANCELLED
    assert [p.attendee.name for p in decision.placements] == ["Lukas Brenner"]
    assert seats(state) == {"Anna Schmidt": 1, "Jürgen Müller": 2}
    assert by_email(state)[ANNA].status is Status.CONFIRMED


@pytest.mark.parametrize(
    ("sender", "contact", "named"),
    [
        pytest.param(MALLORY, MALLORY, (person("Lukas Brenner"),), id="other-address-names-person"),
        pytest.param(MALLORY, MALLORY, (), id="other-address-no-name"),
        pytest.param(
            "anna.schmidt@example.com", None, (person("Anna Schmidt"),), id="look-alike-address"
        ),
        pytest.param(
            # From: is someone else's; only the Reply-To: header (free text the sender
            # chooses) names Anna. The mail is not from the registering address.
            MALLORY,
            ANNA,
            (person("Anna Schmidt"),),
            id="foreign-from-with-reply-to-of-registrant",
        ),
    ],
)
def test_forged_cancellation_goes_to_review_and_changes_nothing(
    sender: str, contact: str | None, named: tuple[Person, ...]
) -> None:
    state, _ = run(
        empty(1),
        request(
            registration(person("Anna Schmidt", ANNA), person("Lukas Brenner")),
            uid=1,
            sender=ANNA,
        ),
    )
    before = state

    decision = decide(state, request(cancellation(*named), uid=2, sender=sender, contact=contact))

    assert decision.outcome is Outcome.REVIEW
    assert decision.reply is None
    assert decision.needs_review
    assert_untouched(decision)
    assert apply(state, decision) == before


def test_cancellation_naming_nobody_for_a_group_goes_to_review() -> None:
    """Lukas was registered by Anna without an address: 'please cancel' from a colleague
    who registered two others is ambiguous."""
    state, _ = run(
        empty(5),
        request(registration(person("Lukas Brenner"), person("Ole Hansen")), uid=1, sender=ANNA),
    )

    decision = decide(state, request(cancellation(), uid=2, sender=ANNA))

    assert decision.outcome is Outcome.REVIEW
    assert_untouched(decision)


def test_cancellation_naming_an_ambiguous_surname_goes_to_review() -> None:
    state, _ = run(
        empty(5),
        request(registration(person("Lukas Brenner"), person("Maria Brenner")), uid=1, sender=ANNA),
    )

    decision = decide(state, request(cancellation(person("Brenner")), uid=2, sender=ANNA))

    assert decision.outcome is Outcome.REVIEW
    assert decision.reply is None
    assert_untouched(decision)


@pytest.mark.parametrize(
    ("arrival", "promoted"),
    [
        pytest.param(EVENT_START - SECOND, True, id="one-second-before-start-promotes"),
        pytest.param(EVENT_START, False, id="at-start-no-promotion"),
        pytest.param(EVENT_START + timedelta(hours=1), False, id="during-event-no-promotion"),
    ],
)
def test_cancellation_at_or_after_event_start_promotes_nobody(
    arrival: datetime, promoted: bool
) -> None:
    state = full_house()

    state, decision = step(state, request(cancellation(), uid=10, sender=ANNA, arrival=arrival))

    assert decision.outcome is Outcome.CANCELLED
    assert decision.reply is ReplyKind.CANCELLATION
    if promoted:
        assert [p.attendee.name for p in decision.promotions] == ["Jürgen Müller"]
        assert waiting(state) == ["Claudia Reuter-Lang"]
    else:
        assert decision.promotions == ()
        assert any("Veranstaltungsbeginn" in reason for reason in decision.reasons)
        assert seats(state) == {"Lukas Brenner": 2}
        assert waiting(state) == ["Jürgen Müller", "Claudia Reuter-Lang"]
        assert state.free_seat() == 1


# ---------------------------------------------------------------- other kinds of mail


@pytest.mark.parametrize(
    "kind", [Kind.AUTO_REPLY, Kind.BOUNCE, Kind.READ_RECEIPT, Kind.BULK], ids=str
)
def test_automatic_mail_is_ignored_without_reply_or_change(kind: Kind) -> None:
    state = full_house()
    # Even if the quoted text looked like a registration, a machine's mail is never acted on.
    intent = Intent(kind=kind, persons=(person("Ole Hansen", "ole@hansen.dk"),), evidence="x")

    decision = decide(state, request(intent, uid=10, sender=ANNA))

    assert decision.outcome is Outcome.IGNORED
    assert decision.reply is None
    assert decision.needs_review is (kind is Kind.BOUNCE)
    assert_untouched(decision)
    assert apply(state, decision) == state


def test_question_gets_question_reply_and_review() -> None:
    state = full_house()

    decision = decide(state, request(Intent(kind=Kind.QUESTION), uid=10, sender=MALLORY))

    assert decision.outcome is Outcome.QUESTION
    assert decision.reply is ReplyKind.QUESTION
    assert decision.needs_review
    assert_untouched(decision)


@pytest.mark.parametrize("kind", [Kind.THANKS, Kind.OTHER], ids=str)
def test_thanks_and_unknown_mail_go_to_review_without_reply(kind: Kind) -> None:
    decision = decide(full_house(), request(Intent(kind=kind), uid=10, sender=ANNA))

    assert decision.outcome is Outcome.REVIEW
    assert decision.reply is None
    assert decision.needs_review
    assert_untouched(decision)


@pytest.mark.parametrize(
    "intent",
    [
        pytest.param(
            registration(person("Ole Hansen", "ole@hansen.dk"), review_reasons=("zwei Namen?",)),
            id="registration",
        ),
        pytest.param(Intent(kind=Kind.CANCELLATION, review_reasons=("unklar",)), id="cancellation"),
    ],
)
def test_intent_with_review_reasons_goes_to_review_and_changes_nothing(intent: Intent) -> None:
    state = full_house()

    decision = decide(state, request(intent, uid=10, sender=ANNA))

    assert decision.outcome is Outcome.REVIEW
    assert decision.reply is None
    assert decision.needs_review
    assert decision.reasons == intent.review_reasons
    assert_untouched(decision)
    assert apply(state, decision) == state


def test_registration_without_persons_goes_to_review() -> None:
    decision = decide(empty(3), request(registration(), uid=1, sender=ANNA))

    assert decision.outcome is Outcome.REVIEW
    assert decision.reply is None
    assert_untouched(decision)


def test_registration_with_question_is_seated_and_flagged_for_review() -> None:
    state, (decision,) = run(
        empty(3),
        request(registration(person("Anna Schmidt", ANNA), has_question=True), uid=1, sender=ANNA),
    )

    assert decision.needs_review
    assert decision.outcome is Outcome.CONFIRMED
    assert decision.reply is ReplyKind.ACCEPTANCE
    assert seats(state) == {"Anna Schmidt": 1}


# ---------------------------------------------------------------- capacity raised


def raised_capacity(capacity: int) -> AllocationState:
    """Was capacity 1: Anna seat 1, Lukas and Jürgen waiting. Staff raise the capacity."""
    return with_attendees(
        capacity,
        [
            attendee(1, "Anna Schmidt", ANNA, Status.CONFIRMED, seat=1),
            attendee(2, "Lukas Brenner", LUKAS, Status.WAITLISTED),
            attendee(3, "Jürgen Müller", JUERGEN, Status.WAITLISTED),
        ],
    )


@pytest.mark.parametrize(
    ("capacity", "promoted", "newcomer_status", "newcomer_seat"),
    [
        pytest.param(2, ["Lukas Brenner"], Status.WAITLISTED, None, id="one-more-seat"),
        pytest.param(
            3, ["Lukas Brenner", "Jürgen Müller"], Status.WAITLISTED, None, id="two-more-seats"
        ),
        pytest.param(
            4, ["Lukas Brenner", "Jürgen Müller"], Status.CONFIRMED, 4, id="three-more-seats"
        ),
    ],
)
def test_raised_capacity_promotes_waitlist_before_the_next_newcomer(
    capacity: int, promoted: list[str], newcomer_status: Status, newcomer_seat: int | None
) -> None:
    state = raised_capacity(capacity)

    state, decision = step(state, self_registration(10, "Claudia Reuter-Lang", CLAUDIA))

    assert [p.attendee.name for p in decision.promotions] == promoted
    assert [p.attendee.seat for p in decision.promotions] == list(range(2, 2 + len(promoted)))
    (placement,) = decision.placements
    assert placement.attendee.status is newcomer_status
    assert placement.attendee.seat == newcomer_seat
    # Promotions are written before the newcomer's row.
    assert [a.name for a in decision.changes] == [*promoted, "Claudia Reuter-Lang"]
    assert len(state.confirmed()) <= capacity


def test_raised_capacity_duplicate_mail_still_promotes() -> None:
    state, decision = step(raised_capacity(2), self_registration(10, "Anna Schmidt", ANNA))

    assert decision.outcome is Outcome.DUPLICATE
    assert [p.attendee.name for p in decision.promotions] == ["Lukas Brenner"]
    assert seats(state) == {"Anna Schmidt": 1, "Lukas Brenner": 2}


def test_newcomer_after_event_start_never_jumps_a_waiting_person() -> None:
    """Deadline after the start (walk-ins allowed): a seat freed at the door is not
    given to a newcomer while someone waits."""
    late_deadline = EVENT_START + timedelta(hours=2)
    state, _ = run(
        empty(1, deadline=late_deadline),
        self_registration(1, "Anna Schmidt", ANNA),
        self_registration(2, "Lukas Brenner", LUKAS),
        request(cancellation(), uid=3, sender=ANNA, arrival=EVENT_START + SECOND),
    )
    assert state.free_seat() == 1

    state, decision = step(
        state, self_registration(4, "Jürgen Müller", JUERGEN, arrival=EVENT_START + 2 * SECOND)
    )

    assert decision.outcome is Outcome.WAITLISTED
    assert waiting(state) == ["Lukas Brenner", "Jürgen Müller"]
    assert state.confirmed() == []
