"""Who may cancel whom, and who is told: the pure allocation rules against forged senders.

Each test plays an attack from the security review (or the everyday case it must not
break) through `decide` + `apply` in memory and checks what the victim would check:
does she still hold her seat, and was she told.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbox_bot.core.allocate import (
    AllocationState,
    Decision,
    Limits,
    Outcome,
    Request,
    apply,
    decide,
    names_compatible,
)
from inbox_bot.core.model import Intent, Kind, Person, ReplyKind

BERLIN = ZoneInfo("Europe/Berlin")
DEADLINE = datetime(2025, 3, 14, 23, 59, 59, tzinfo=BERLIN)
START = datetime(2025, 3, 21, 9, 0, tzinfo=BERLIN)
EARLY = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

VICTIM = "vera.voss@stadt-hamm.de"
ATTACKER = "mallory@evil.example"
COLLEAGUE = "kai.krause@stadt-hamm.de"
BOSS = "b.berger@stadt-hamm.de"


def req(
    uid: int,
    kind: Kind,
    *persons: Person,
    sender: str,
    contact: str | None = None,
    authorized: frozenset[str] = frozenset(),
) -> Request:
    return Request(
        message_key=f"m{uid}",
        uid=uid,
        arrival=EARLY + timedelta(minutes=uid),
        sender=sender,
        contact=contact or sender,
        intent=Intent(kind=kind, persons=persons),
        authorized=authorized,
    )


def register(uid: int, *persons: Person, sender: str, contact: str | None = None) -> Request:
    return req(uid, Kind.REGISTRATION, *persons, sender=sender, contact=contact)


def cancel(
    uid: int, *persons: Person, sender: str, contact: str | None = None, **kw: object
) -> Request:
    return req(uid, Kind.CANCELLATION, *persons, sender=sender, contact=contact, **kw)  # type: ignore[arg-type]


def fold(state: AllocationState, *requests: Request) -> tuple[AllocationState, list[Decision]]:
    decisions = []
    for request in requests:
        decision = decide(state, request)
        state = apply(state, decision)
        decisions.append(decision)
    return state, decisions


def empty(capacity: int = 2, **limits: object) -> AllocationState:
    return AllocationState(
        capacity=capacity,
        deadline=DEADLINE,
        event_start=START,
        limits=Limits(**limits),  # type: ignore[arg-type]
    )


def holder(state: AllocationState, email: str) -> str | None:
    found = [a for a in state.attendees.values() if a.active and a.email == email]
    return found[0].name if found else None


def told(decision: Decision, kind: ReplyKind) -> dict[str, list[str]]:
    return {
        n.recipient: [p.attendee.name for p in n.placements]
        for n in decision.notices
        if n.kind is kind
    }


# ------------------------------------------------------------ forged cancellations


@pytest.mark.parametrize(
    "persons",
    [(), (Person(name="Vera Voss"),), (Person(name="Frau Voss"),)],
    ids=["names-nobody", "full-name", "surname"],
)
def test_cancellation_with_a_foreign_reply_to_cancels_nobody(persons: tuple[Person, ...]) -> None:
    state, _ = fold(empty(), register(1, Person(name="Vera Voss", email=VICTIM), sender=VICTIM))
    after, (decision,) = fold(state, cancel(2, *persons, sender=VICTIM, contact=ATTACKER))
    assert decision.outcome is Outcome.REVIEW and decision.reply is None
    assert "Reply-To" in " ".join(decision.reasons)
    assert holder(after, VICTIM) == "Vera Voss"


def test_a_stranger_cannot_cancel_and_a_waiting_attacker_is_not_promoted() -> None:
    state, _ = fold(
        empty(capacity=1),
        register(1, Person(name="Vera Voss", email=VICTIM), sender=VICTIM),
        register(2, Person(name="Mallory Mack", email=ATTACKER), sender=ATTACKER),
    )
    after, (decision,) = fold(state, cancel(3, Person(name="Vera Voss"), sender=ATTACKER))
    assert decision.outcome is Outcome.REVIEW and not decision.promotions
    assert [a.name for a in after.confirmed()] == ["Vera Voss"]


# ------------------------------------------------------------ every cancellation is told


def test_registrant_cancels_a_colleague_who_has_her_own_address_and_she_is_told() -> None:
    state, _ = fold(
        empty(capacity=3),
        register(
            1,
            Person(name="Bernd Berger", email=BOSS),
            Person(name="Kai Krause", email=COLLEAGUE),
            sender=BOSS,
        ),
    )
    _, (decision,) = fold(state, cancel(2, Person(name="Kai Krause"), sender=BOSS))
    assert decision.outcome is Outcome.CANCELLED
    assert told(decision, ReplyKind.CANCELLED_NOTICE) == {COLLEAGUE: ["Kai Krause"]}


def test_a_person_cancelling_herself_tells_the_colleague_who_registered_her() -> None:
    state, _ = fold(
        empty(capacity=3),
        register(
            1,
            Person(name="Bernd Berger", email=BOSS),
            Person(name="Kai Krause", email=COLLEAGUE),
            sender=BOSS,
        ),
    )
    _, (decision,) = fold(state, cancel(2, sender=COLLEAGUE))
    assert [p.attendee.name for p in decision.placements] == ["Kai Krause"]
    assert told(decision, ReplyKind.CANCELLED_NOTICE) == {BOSS: ["Kai Krause"]}


def test_cancelling_oneself_tells_nobody_else() -> None:
    state, _ = fold(empty(), register(1, Person(name="Vera Voss", email=VICTIM), sender=VICTIM))
    _, (decision,) = fold(state, cancel(2, sender=VICTIM))
    assert decision.outcome is Outcome.CANCELLED and decision.notices == ()


# ------------------------------------------------------------ a person owns her address


def test_seat_blocking_with_a_made_up_name_sends_the_owner_to_staff_not_to_duplicate() -> None:
    state, (blocked,) = fold(
        empty(capacity=3),
        register(1, Person(name="Erfundene Person", email=VICTIM), sender=ATTACKER),
    )
    # The owner of the address hears of the registration made in her name.
    assert told(blocked, ReplyKind.REGISTERED_NOTICE) == {VICTIM: ["Erfundene Person"]}
    _, (own,) = fold(state, register(2, Person(name="Vera Voss", email=VICTIM), sender=VICTIM))
    assert own.outcome is Outcome.REVIEW and own.reply is None
    assert "Erfundene Person" in " ".join(own.reasons) and "Vera Voss" in " ".join(own.reasons)


def test_registered_by_someone_else_under_her_real_name_she_keeps_the_first_place() -> None:
    state, _ = fold(
        empty(capacity=1),
        register(1, Person(name="Vera Voss", email=VICTIM), sender=ATTACKER),
        register(
            2, Person(name="Otto Other", email="otto@other.example"), sender="otto@other.example"
        ),
    )
    after, (own,) = fold(
        state, register(3, Person(name="Dr. Vera Voss", email=VICTIM), sender=VICTIM)
    )
    assert own.outcome is Outcome.DUPLICATE
    assert own.placements[0].attendee.seat == 1
    # She now writes for herself: her own spelling is the one on the list.
    assert holder(after, VICTIM) == "Dr. Vera Voss"
    # The attacker may withdraw what he registered, but she hears of it at once.
    _, (withdrawn,) = fold(after, cancel(4, Person(name="Vera Voss"), sender=ATTACKER))
    assert withdrawn.outcome is Outcome.CANCELLED
    assert VICTIM in told(withdrawn, ReplyKind.CANCELLED_NOTICE)


def test_colleagues_with_their_own_addresses_are_each_told_once() -> None:
    _, (decision,) = fold(
        empty(capacity=5),
        register(
            1,
            Person(name="Bernd Berger", email=BOSS),
            Person(name="Kai Krause", email=COLLEAGUE),
            Person(name="Ina Ohne"),
            sender=BOSS,
        ),
    )
    assert told(decision, ReplyKind.REGISTERED_NOTICE) == {COLLEAGUE: ["Kai Krause"]}


# ------------------------------------------------------------ reply tokens


def test_a_reply_token_authorises_only_its_attendees() -> None:
    state, _ = fold(
        empty(capacity=3),
        register(1, Person(name="Bernd Berger", email=BOSS), Person(name="Ina Ohne"), sender=BOSS),
        register(2, Person(name="Mallory Mack", email=ATTACKER), sender=ATTACKER),
    )
    mallory = next(a.id for a in state.attendees.values() if a.email == ATTACKER)
    after, (decision,) = fold(
        state,
        cancel(3, Person(name="Ina Ohne"), sender=ATTACKER, authorized=frozenset({mallory})),
    )
    assert decision.outcome is Outcome.REVIEW
    assert {a.name for a in after.confirmed()} == {"Bernd Berger", "Ina Ohne", "Mallory Mack"}


# ------------------------------------------------------------ brakes


def test_per_address_brake_is_keyed_on_from_not_on_a_varying_reply_to() -> None:
    state = empty(capacity=50, persons_per_address=3)
    requests = [
        register(
            i,
            Person(name=f"Person Nummer{chr(65 + i)}"),
            sender=ATTACKER,
            contact=f"r{i}@x.example",
        )
        for i in range(5)
    ]
    _, decisions = fold(state, *requests)
    assert [d.outcome for d in decisions] == [Outcome.CONFIRMED] * 3 + [Outcome.REVIEW] * 2


def test_freemail_domains_are_exempt_from_the_per_domain_brake() -> None:
    state = empty(capacity=50, persons_per_domain=2, freemail=frozenset({"gmx.de"}))
    requests = [
        register(
            i,
            Person(name=f"Person Nummer{chr(65 + i)}", email=f"p{i}@gmx.de"),
            sender=f"p{i}@gmx.de",
        )
        for i in range(4)
    ]
    _, decisions = fold(state, *requests)
    assert all(d.outcome is Outcome.CONFIRMED for d in decisions)
    company = [
        register(
            10 + i,
            Person(name=f"Person Firma{chr(65 + i)}", email=f"p{i}@firma.de"),
            sender=f"p{i}@firma.de",
        )
        for i in range(3)
    ]
    _, decisions = fold(state, *company)
    assert [d.outcome for d in decisions][-1] is Outcome.REVIEW


# ------------------------------------------------------------ names


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("Vera Voss", "Dr. Vera Voss", True),
        ("Vera Voss", "Voss", True),
        ("Vera Voss", "Voss, Vera", True),
        ("Vera Voss", "Vera Voss-Lange", True),
        ("Vera Voss", "", True),
        ("Vera Voss", "Erfundene Person", False),
        ("Vera Voss", "Vera Weber", False),
    ],
)
def test_names_compatible(first: str, second: str, same: bool) -> None:
    assert names_compatible(first, second) is same


@given(st.text(alphabet="abcdefghij ", max_size=30), st.text(alphabet="abcdefghij ", max_size=30))
def test_names_compatible_is_symmetric(first: str, second: str) -> None:
    assert names_compatible(first, second) == names_compatible(second, first)
