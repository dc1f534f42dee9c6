"""The outbox in memory (the fast tier): every state a reply goes through, every brake.

queued -> sending -> sent; 4xx -> retry (growing pause) ... -> failed; 5xx -> failed;
broken DATA -> unknown -> looked up in Sent -> sent, or sent again with the same bytes.
A per-address cap per day and a budget per hour hold replies back, never drop them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fakes import SENT, Submission, World, mail, open_world, registration

from inbox_bot.errors import SendPermanent, SendTemporary, SendUnknown

VERA = "vera.voss@stadt-hamm.de"
JAN = "jan.albers@unna.de"
LEA = "lea.roth@bochum.de"
PEOPLE = [
    (VERA, "Vera Voss"),
    (JAN, "Jan Albers"),
    (LEA, "Lea Roth"),
    ("otto.pohl@herne.de", "Otto Pohl"),
    ("ute.lange@hamm.de", "Ute Lange"),
]


@pytest.fixture
def world_for(tmp_path: Path) -> Iterator[Callable[..., World]]:
    opened: list[World] = []

    def make(**sections: dict[str, object]) -> World:
        opened.append(open_world(tmp_path, **sections))
        return opened[-1]

    yield make
    for world in opened:
        world.close()


@pytest.fixture
def world(world_for: Callable[..., World]) -> World:
    return world_for()


def states(world: World) -> list[str]:
    """The state of every reply, in the order the mails came."""
    found = []
    for message in world.store.messages():
        found += [str(r.state) for r in world.store.outbox_for_message(message.id)]
    return found


def review_reasons(world: World) -> str:
    return " ".join(m.review_reason for m in world.store.review_queue())


# --------------------------------------------------------------------------- the way out


def test_a_reply_is_queued_then_sending_then_sent_and_filed(world: World) -> None:
    world.mailbox.deliver(registration(VERA, "Vera Voss"))
    world.poll(dry_run=True)
    assert states(world) == ["queued"]
    assert world.mailer.attempts == []

    seen_while_sending: list[list[str]] = []
    world.mailer.during_send = lambda _: seen_while_sending.append(states(world))
    report = world.poll()

    assert seen_while_sending == [["sending"]]  # a crash now: looked up before resending
    assert states(world) == ["sent"]
    assert report.sent == 1
    [reply] = world.mailer.sent
    assert reply.recipient == VERA
    assert [m.raw for m in world.mailbox.mails(SENT)] == [reply.data]


def test_a_temporary_failure_is_retried_with_a_growing_pause_then_fails(
    world_for: Callable[..., World],
) -> None:
    world = world_for(limits={"send_attempts": 3})
    uid = world.mailbox.deliver(registration(VERA, "Vera Voss"))
    world.mailer.arm(SendTemporary, recipient=VERA, times=None)

    def attempts_after(minutes: float) -> int:
        world.clock.advance(minutes=minutes)
        world.poll()
        return len(world.mailer.attempts)

    assert attempts_after(0) == 1
    assert states(world) == ["retry"]
    assert attempts_after(0.5) == 1  # first pause: one minute
    assert attempts_after(0.5) == 2
    assert attempts_after(1.5) == 2  # second pause: two minutes
    assert attempts_after(0.5) == 3  # third attempt of three: given up
    assert states(world) == ["failed"]
    assert attempts_after(24 * 60) == 3
    assert world.mailer.sent == []
    assert "nicht zustellbar" in review_reasons(world)
    assert world.mailbox.flags_of(uid) == {"\\Flagged"}


def test_a_temporary_refusal_for_one_address_does_not_hold_the_others(world: World) -> None:
    for address, name in PEOPLE[:3]:
        world.mailbox.deliver(registration(address, name))
    world.mailer.arm(SendTemporary, recipient=JAN)

    world.poll()

    assert world.mailer.recipients == [VERA, LEA]
    assert world.mailer.connections == 1
    assert states(world) == ["sent", "retry", "sent"]
    world.clock.advance(minutes=1)
    world.poll()
    assert world.mailer.recipients == [VERA, LEA, JAN]


def test_a_connection_lost_before_data_stops_the_batch_and_charges_only_that_reply(
    world: World,
) -> None:
    for address, name in PEOPLE[:3]:
        world.mailbox.deliver(registration(address, name))
    world.mailer.arm(SendTemporary, recipient=VERA, drop=True)

    world.poll()

    # The others were not tried on the dead connection (no attempt charged to them);
    # the cycle's last round reconnected and sent them.
    assert [s.recipient for s in world.mailer.attempts] == [VERA, JAN, LEA]
    assert world.mailer.connections == 2
    assert states(world) == ["retry", "sent", "sent"]


def test_a_permanent_refusal_fails_the_reply_and_asks_staff(world: World) -> None:
    for address, name in PEOPLE[:3]:
        world.mailbox.deliver(registration(address, name))
    world.mailer.arm(SendPermanent, recipient=JAN)

    report = world.poll()

    assert world.mailer.recipients == [VERA, LEA]
    assert states(world) == ["sent", "failed", "sent"]
    assert report.send_failed == 1
    [entry] = world.store.review_queue()
    assert entry.sender == JAN
    assert "nicht zustellbar" in entry.review_reason
    world.clock.advance(days=1)
    world.poll()
    assert len(world.mailer.attempts) == 3  # never tried again


# --------------------------------------------------------------------------- unknown outcome


def _unknown_then(world: World, *, filed: bool) -> tuple[Submission, list[str]]:
    """A reply whose connection broke during DATA; `filed`: the server filed it in Sent."""
    for address, name in PEOPLE[:2]:
        world.mailbox.deliver(registration(address, name))
    world.mailer.arm(SendUnknown, recipient=VERA, delivered=filed)
    report = world.poll()
    # The batch stopped with the broken connection; the cycle's last round reconnected.
    assert [s.recipient for s in world.mailer.attempts] == [VERA, JAN]
    assert world.mailer.connections == 2
    assert states(world) == ["unknown", "sent"]
    assert any("ungewiss" in p for p in report.problems)
    first = world.mailer.attempts[0]
    if filed:
        world.mailbox.put(SENT, first.data)  # as Exchange does with what it accepted
    world.poll()  # too soon: nothing is looked up or sent again yet
    assert len(world.mailer.attempts) == 2
    world.clock.advance(minutes=1)
    world.poll()
    return first, states(world)


def test_an_unknown_outcome_found_in_sent_is_not_sent_again(world: World) -> None:
    first, after = _unknown_then(world, filed=True)

    assert after == ["sent", "sent"]
    assert world.mailer.to(VERA) == [first]
    assert [s.recipient for s in world.mailer.attempts] == [VERA, JAN]


def test_an_unknown_outcome_not_in_sent_is_sent_again_with_the_same_bytes(world: World) -> None:
    first, after = _unknown_then(world, filed=False)

    assert after == ["sent", "sent"]
    [again] = world.mailer.to(VERA)
    assert again.data == first.data  # same Message-ID: a duplicate is recognisable
    assert again.message_id == first.message_id


# --------------------------------------------------------------------------- brakes


@pytest.mark.parametrize(
    ("kind", "mails"),
    [
        (
            "duplicate",
            [registration(VERA, "Vera Voss", extra=f" ({n}. Versuch)") for n in range(1, 6)],
        ),
        (
            "question",
            [
                mail(VERA, "Frage", f"Gibt es dort Parkplätze? ({n}. Mail)\n\nVera Voss")
                for n in range(1, 6)
            ],
        ),
    ],
)
def test_the_cap_per_address_holds_replies_and_merges_repeated_ones(
    world_for: Callable[..., World], kind: str, mails: list[bytes]
) -> None:
    world = world_for(limits={"replies_per_address_per_day": 2})
    for raw in mails:
        world.mailbox.deliver(raw)
    world.mailbox.deliver(registration(JAN, "Jan Albers"))

    report = world.poll()

    assert world.mailer.recipients == [VERA, VERA, JAN]
    assert states(world) == ["sent", "sent", "merged", "merged", "queued", "sent"]
    assert any("24 Stunden" in p for p in report.problems)
    assert "Schleife" in (world.store.get_meta("alert") or "")
    assert "24 Stunden" in review_reasons(world)
    held = world.mailbox.mails()[4].uid
    assert "\\Seen" not in world.mailbox.flags_of(held)
    assert report.send_failed == 0

    world.with_settings(limits={"replies_per_address_per_day": 6}).poll()  # staff checked
    assert world.mailer.recipients == [VERA, VERA, JAN, VERA]
    newest = world.mailbox.mails()[4].message_id
    assert world.mailer.sent[-1].message["In-Reply-To"] == newest  # the newest answered
    assert states(world) == ["sent", "sent", "merged", "merged", "sent", "sent"]


def test_held_acceptances_are_never_merged(world_for: Callable[..., World]) -> None:
    world = world_for(limits={"replies_per_address_per_day": 1})
    secretary = "sekretariat@stadt-hamm.de"
    for colleague in ["meinen Kollegen Jan Albers", "meine Kollegin Lea Roth", "Herrn Otto Pohl"]:
        body = (
            f"Guten Tag,\n\nhiermit melde ich {colleague} verbindlich zum Interkommunalen "
            "Austausch an.\n\nMit freundlichen Grüßen\nPetra Kuhn"
        )
        world.mailbox.deliver(mail(secretary, "Anmeldung", body, name="Petra Kuhn"))

    world.poll()

    assert world.mailer.recipients == [secretary]
    assert states(world) == ["sent", "queued", "queued"]  # each names another person


def test_the_hourly_budget_holds_replies_and_loses_none(world_for: Callable[..., World]) -> None:
    world = world_for(limits={"replies_per_hour": 3})
    for address, name in PEOPLE:
        world.mailbox.deliver(registration(address, name))

    report = world.poll()

    assert world.mailer.recipients == [a for a, _ in PEOPLE[:3]]
    assert states(world) == ["sent", "sent", "sent", "queued", "queued"]
    assert any("Stundenbudget" in p for p in report.problems)
    assert "Stundenbudget" in (world.store.get_meta("alert") or "")
    assert report.send_failed == 0
    assert report.send_waiting == 2

    world.with_settings(limits={"replies_per_hour": 300}).poll()
    assert world.mailer.recipients == [a for a, _ in PEOPLE]


def test_while_smtp_is_unreachable_replies_wait_and_never_fail(
    world_for: Callable[..., World],
) -> None:
    world = world_for(limits={"send_attempts": 2})
    for address, name in PEOPLE[:2]:
        world.mailbox.deliver(registration(address, name))
    world.mailer.unreachable = "connection refused"

    for _ in range(5):
        report = world.poll()
        assert "connection refused" in report.smtp_unreachable
        world.clock.advance(hours=12)

    assert states(world) == ["queued", "queued"]
    assert all(not m.flags for m in world.mailbox.mails())  # not marked before it is out
    assert world.store.review_queue() == []

    world.mailer.unreachable = ""
    world.poll()
    assert world.mailer.recipients == [VERA, JAN]
    assert states(world) == ["sent", "sent"]
    assert world.mailer.connections == 1


def test_replies_left_from_an_earlier_cycle_go_out_without_new_mail(world: World) -> None:
    world.mailbox.deliver(registration(VERA, "Vera Voss"))
    world.mailer.unreachable = "timed out"
    world.poll()
    world.mailer.unreachable = ""

    report = world.poll()

    assert report.handled == []
    assert world.mailer.recipients == [VERA]


def test_each_state_is_counted_where_staff_look(world: World) -> None:
    for address, name in PEOPLE[:3]:
        world.mailbox.deliver(registration(address, name))
    world.mailer.arm(SendPermanent, recipient=JAN)
    world.mailer.arm(SendTemporary, recipient=LEA)

    world.poll()

    counts = world.store.counts()
    assert counts["outbox_pending"] == 1
    assert counts["outbox_failed"] == 1
    assert [i.recipient for i in world.store.pending_outbox()] == [LEA]
    assert world.store.pending_outbox(world.clock()) == []  # its pause is not over yet
    assert [
        i.recipient for i in world.store.pending_outbox(world.clock() + timedelta(minutes=1))
    ] == [LEA]
