"""Marking in memory (the fast tier): the flags staff see in Outlook.

Answered mail is \\Seen and \\Answered; mail for a person is \\Flagged and stays
unread; a mail is marked only once its replies are out; resolving unflags it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakes import FlagChange, World, mail, open_world, registration

from inbox_bot.app import staff
from inbox_bot.errors import MailboxUnavailable, SendTemporary

VERA = "vera.voss@stadt-hamm.de"
JAN = "jan.albers@unna.de"
OTTO = "otto.pohl@herne.de"


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


def unclear(sender: str = OTTO) -> bytes:
    """Neither registration, cancellation nor question: for a person to read."""
    body = "Bitte rufen Sie mich wegen der Rechnung vom letzten Jahr zurück.\n\nOtto Pohl"
    return mail(sender, "Hallo", body, name="Otto Pohl")


def question(sender: str = OTTO) -> bytes:
    return mail(sender, "Frage", "Gibt es dort Parkplätze?\n\nOtto Pohl", name="Otto Pohl")


def test_answered_mail_is_seen_and_answered(world: World) -> None:
    uid = world.mailbox.deliver(registration(VERA, "Vera Voss"))

    world.poll()

    assert world.mailbox.flags_of(uid) == {"\\Seen", "\\Answered"}
    assert world.mailbox.flag_changes == [FlagChange(uid, "+", frozenset({"\\Seen", "\\Answered"}))]


def test_mail_for_staff_is_flagged_and_stays_unread(world: World) -> None:
    uid = world.mailbox.deliver(unclear())

    world.poll()

    assert world.mailer.sent == []
    assert world.mailbox.flags_of(uid) == {"\\Flagged"}


def test_an_acknowledged_question_is_answered_and_flagged_but_unread(world: World) -> None:
    uid = world.mailbox.deliver(question())

    world.poll()

    assert world.mailer.recipients == [OTTO]
    assert world.mailbox.flags_of(uid) == {"\\Answered", "\\Flagged"}


def test_flags_staff_set_stay(world: World) -> None:
    uid = world.mailbox.deliver(registration(VERA, "Vera Voss"), flags={"$Label1", "\\Flagged"})

    world.poll()

    assert world.mailbox.flags_of(uid) == {"$Label1", "\\Flagged", "\\Seen", "\\Answered"}


def test_a_mail_is_marked_only_after_its_replies_are_out(world: World) -> None:
    uid = world.mailbox.deliver(registration(VERA, "Vera Voss"))
    world.mailer.unreachable = "connection refused"

    world.poll()
    world.clock.advance(hours=1)
    world.poll()

    assert world.mailbox.flag_changes == []  # a crash now: taken up again, not lost
    world.mailer.unreachable = ""
    world.poll()
    assert world.mailbox.flags_of(uid) == {"\\Seen", "\\Answered"}


def test_a_mail_for_staff_is_flagged_at_once_and_answered_once_its_reply_is_out(
    world: World,
) -> None:
    uid = world.mailbox.deliver(question())
    world.mailer.arm(SendTemporary, recipient=OTTO)

    world.poll()

    assert world.mailbox.flags_of(uid) == {"\\Flagged"}
    world.clock.advance(minutes=1)
    world.poll()
    assert world.mailbox.flags_of(uid) == {"\\Flagged", "\\Answered"}


def test_a_mailbox_that_fails_while_marking_marks_next_cycle_and_sends_nothing_twice(
    world: World,
) -> None:
    uid = world.mailbox.deliver(registration(VERA, "Vera Voss"))
    world.mailbox.fail_next("add_flags")

    with pytest.raises(MailboxUnavailable):
        world.poll()
    assert world.mailbox.flags_of(uid) == set()

    world.poll()
    assert world.mailbox.flags_of(uid) == {"\\Seen", "\\Answered"}
    assert world.mailer.recipients == [VERA]


def test_a_resolved_mail_is_unflagged_and_read(world: World) -> None:
    uid = world.mailbox.deliver(unclear())
    world.mailbox.deliver(registration(VERA, "Vera Voss"))
    world.poll()
    [entry] = world.store.review_queue()

    staff.resolve(world.deps, entry.reference, "Frau Schmidt", "zurückgerufen")
    world.poll()

    assert world.mailbox.flags_of(uid) == {"\\Seen"}
    assert world.mailbox.flag_changes[-2:] == [
        FlagChange(uid, "-", frozenset({"\\Flagged"})),
        FlagChange(uid, "+", frozenset({"\\Seen"})),
    ]
    assert world.store.review_queue() == []
    world.poll()
    assert len(world.mailbox.flag_changes) == 4  # marked once, not every cycle


def test_mail_of_an_old_uidvalidity_is_never_marked_by_its_uid(world: World) -> None:
    world.mailbox.deliver(registration(VERA, "Vera Voss"))
    world.mailer.unreachable = "connection refused"
    world.poll()
    world.mailbox.recreate(uidvalidity=9, copy_back=False)
    stranger = world.mailbox.deliver(registration(JAN, "Jan Albers"))  # UID 1 again
    world.mailer.unreachable = ""

    world.poll()

    assert world.mailer.recipients == [VERA, JAN]
    assert world.mailbox.flag_changes == [
        FlagChange(stranger, "+", frozenset({"\\Seen", "\\Answered"}))
    ]
