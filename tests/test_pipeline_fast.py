"""One poll cycle in memory (the fast tier): the real core and a real SQLite store,
the fake mailbox and mailer of tests/fakes.py in place of Dovecot and SMTP.

What a person would check afterwards: who got which mail, who has a seat, what waits
for staff, how the mails look in the mailbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fakes import (
    T0,
    World,
    open_world,
    registration,
)

from inbox_bot.adapters.reader import Analysis, InProcessAnalyser, Unreadable
from inbox_bot.adapters.store import MessageRow
from inbox_bot.app.pipeline import batches
from inbox_bot.core.allocate import Decision, Request
from inbox_bot.core.model import MailMeta, OutgoingRow, Status
from inbox_bot.core.render import Original, Renderer
from inbox_bot.errors import MailboxUnavailable, TemplateError

VERA = "vera.voss@stadt-hamm.de"
JAN = "jan.albers@unna.de"
LEA = "lea.roth@bochum.de"


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


def seats(world: World) -> dict[str, tuple[Status, int | None]]:
    return {a.name: (a.status, a.seat) for a in world.store.attendees()}


def review_by_uid(world: World) -> dict[int, MessageRow]:
    return {row.uid: row for row in world.store.review_queue()}


# --------------------------------------------------------------------------- isolation


class BrokenClassifier:
    """An analyser with a bug one mail triggers. The Analyser contract says it never
    raises; the shell must survive one that does all the same."""

    def __init__(self, inner: InProcessAnalyser, trigger: bytes) -> None:
        self.inner, self.trigger = inner, trigger

    def analyse(
        self, raw: bytes, on_slow: Callable[[], None] = lambda: None
    ) -> Analysis | Unreadable:
        if self.trigger in raw:
            raise RecursionError("maximum recursion depth exceeded in the classifier")
        return self.inner.analyse(raw, on_slow)

    def prefetch(self, raw: bytes) -> None:
        self.inner.prefetch(raw)

    def close(self) -> None:
        self.inner.close()


class BrokenRenderer(Renderer):
    """The real renderer, with a bug (or a broken template) for one recipient."""

    def __init__(self, renderer: Renderer, recipient: str, error: Exception) -> None:
        super().__init__(renderer.settings)
        self.recipient, self.error = recipient, error

    def replies(
        self, decision: Decision, request: Request, original: Original, now: datetime
    ) -> list[OutgoingRow]:
        if request.contact == self.recipient:
            raise self.error
        return super().replies(decision, request, original, now)


def broken(world: World, part: str) -> World:
    deps = world.deps
    if part == "classifier":
        assert isinstance(deps.analyser, InProcessAnalyser)
        world.deps = replace(deps, analyser=BrokenClassifier(deps.analyser, b"Jan Albers"))
    else:
        world.deps = replace(deps, renderer=BrokenRenderer(deps.renderer, JAN, KeyError("seat")))
    return world


@pytest.mark.parametrize("part", ["classifier", "renderer"])
def test_a_mail_that_breaks_a_stage_does_not_sink_the_batch(world: World, part: str) -> None:
    broken(world, part)
    world.mailbox.deliver(registration(VERA, "Vera Voss"))
    poison = world.mailbox.deliver(registration(JAN, "Jan Albers"))
    world.mailbox.deliver(registration(LEA, "Lea Roth"))

    world.poll()

    assert world.mailer.recipients == [VERA, LEA]
    assert seats(world) == {
        "Vera Voss": (Status.CONFIRMED, 1),
        "Lea Roth": (Status.CONFIRMED, 2),
    }
    [entry] = world.store.review_queue()
    assert entry.uid == poison
    assert "Interner Fehler" in entry.review_reason
    assert world.store.raw_of(entry.id) == world.mailbox.mails()[1].raw
    assert world.mailbox.flags_of(poison) == {"\\Flagged"}


def test_a_broken_template_keeps_the_decision_and_asks_staff_to_answer(world: World) -> None:
    renderer = BrokenRenderer(world.deps.renderer, JAN, TemplateError("'venue' is undefined"))
    world.deps = replace(world.deps, renderer=renderer)
    world.mailbox.deliver(registration(VERA, "Vera Voss"))
    jan = world.mailbox.deliver(registration(JAN, "Jan Albers"))

    world.poll()

    assert world.mailer.recipients == [VERA]
    assert seats(world)["Jan Albers"] == (Status.CONFIRMED, 2)
    entry = review_by_uid(world)[jan]
    assert "Antwort konnte nicht erstellt werden" in entry.review_reason
    assert world.store.raw_of(entry.id) is not None
    assert world.mailbox.flags_of(jan) == {"\\Flagged"}


def test_mail_is_decided_in_arrival_order_not_uid_order(world_for: Callable[..., World]) -> None:
    world = world_for(event={"capacity": 1})
    world.mailbox.deliver(registration(VERA, "Vera Voss"), T0 + timedelta(minutes=5))
    world.mailbox.deliver(registration(JAN, "Jan Albers"), T0)  # higher UID, earlier

    world.poll()

    assert seats(world) == {
        "Jan Albers": (Status.CONFIRMED, 1),
        "Vera Voss": (Status.WAITLISTED, None),
    }


# --------------------------------------------------------------------------- copies


def test_the_same_mail_copied_back_is_not_answered_twice(world: World) -> None:
    raw = registration(VERA, "Vera Voss")
    world.mailbox.deliver(raw)
    world.poll()
    copy = world.mailbox.deliver(raw)  # staff moved it out and back: a new UID

    world.poll()

    assert world.mailer.recipients == [VERA]
    assert seats(world) == {"Vera Voss": (Status.CONFIRMED, 1)}
    assert world.store.review_queue() == []
    assert world.mailbox.flags_of(copy) == {"\\Seen"}


def test_a_copy_without_message_id_is_recognised_by_its_bytes(world: World) -> None:
    raw = registration(VERA, "Vera Voss", message_id=None)
    world.mailbox.deliver(raw)
    world.mailbox.deliver(raw)

    world.poll()

    assert world.mailer.recipients == [VERA]
    assert [m.decision for m in world.store.messages()] == [
        "confirmed",
        "already_processed",
    ]


def test_the_same_message_id_with_other_text_goes_to_staff(world: World) -> None:
    world.mailbox.deliver(registration(VERA, "Vera Voss", message_id="<same@example.org>"))
    world.poll()
    other = registration(
        VERA, "Vera Voss", extra=" Und Jan Albers.", message_id="<same@example.org>"
    )
    uid = world.mailbox.deliver(other)

    world.poll()

    assert world.mailer.recipients == [VERA]
    assert seats(world) == {"Vera Voss": (Status.CONFIRMED, 1)}
    entry = review_by_uid(world)[uid]
    assert "Inhalt weicht ab" in entry.review_reason
    assert world.store.raw_of(entry.id) == other


# --------------------------------------------------------------------------- oversize


def test_oversize_mail_goes_to_staff_without_being_downloaded(
    world_for: Callable[..., World],
) -> None:
    world = world_for(imap={"max_message_bytes": 10_000})
    big = world.mailbox.deliver(registration(JAN, "Jan Albers", extra=" " + "x" * 12_000))
    small = world.mailbox.deliver(registration(VERA, "Vera Voss"))

    world.poll()

    assert all(big not in asked for asked in world.mailbox.downloaded)
    assert small in world.mailbox.downloaded[0]
    assert world.mailer.recipients == [VERA]
    entry = review_by_uid(world)[big]
    assert "zu groß" in entry.review_reason
    assert world.store.raw_of(entry.id) is None  # it stays in the mailbox; staff read it there
    assert world.mailbox.flags_of(big) == {"\\Flagged"}
    world.poll()
    assert all(big not in asked for asked in world.mailbox.downloaded)  # never fetched later


# --------------------------------------------------------------------------- UIDVALIDITY


def test_a_recreated_mailbox_raises_an_alert_and_answers_nothing_twice(world: World) -> None:
    world.mailbox.deliver(registration(VERA, "Vera Voss"))
    world.mailbox.deliver(registration(JAN, "Jan Albers"))
    world.poll()
    world.mailbox.recreate(uidvalidity=7)

    report = world.poll()

    assert world.mailer.recipients == [VERA, JAN]
    assert any("UIDVALIDITY" in p for p in report.problems)
    assert "UIDVALIDITY" in (world.store.get_meta("alert") or "")
    assert seats(world) == {"Vera Voss": (Status.CONFIRMED, 1), "Jan Albers": (Status.CONFIRMED, 2)}
    assert all(m.flags == {"\\Seen"} for m in world.mailbox.mails())

    world.mailbox.deliver(registration(LEA, "Lea Roth"))  # new mail after it: answered
    world.poll()
    assert world.mailer.recipients == [VERA, JAN, LEA]


# --------------------------------------------------------------------------- expunge


def test_mail_expunged_before_download_is_not_recorded(world: World) -> None:
    gone = world.mailbox.deliver(registration(JAN, "Jan Albers"))
    world.mailbox.deliver(registration(VERA, "Vera Voss"))
    world.mailbox.expunge_before_download(gone)

    world.poll()

    assert [m.sender for m in world.store.messages()] == [VERA]
    assert world.mailer.recipients == [VERA]
    assert gone not in {a.uid for a in world.store.attendees()}


def test_a_mailbox_that_fails_records_nothing_and_the_next_cycle_takes_the_mail(
    world: World,
) -> None:
    world.mailbox.deliver(registration(VERA, "Vera Voss"))
    world.mailbox.fail_next("download")

    with pytest.raises(MailboxUnavailable):
        world.poll()
    assert world.store.messages() == []

    world.poll()
    assert world.mailer.recipients == [VERA]


# --------------------------------------------------------------------------- batches


def _metas(*sizes: int) -> list[MailMeta]:
    return [
        MailMeta(uid=i, internaldate=T0 + timedelta(minutes=i), size=s)
        for i, s in enumerate(sizes, start=1)
    ]


@pytest.mark.parametrize(
    ("sizes", "count", "max_bytes", "expected"),
    [
        ((10, 10, 10, 10, 10), 2, 1000, [[1, 2], [3, 4], [5]]),
        ((400, 400, 400, 100), 10, 1000, [[1, 2], [3, 4]]),
        ((100, 5000, 100), 10, 1000, [[1], [2], [3]]),  # larger than max_bytes: alone
        ((), 10, 1000, []),
    ],
)
def test_batches_are_bounded_by_count_and_bytes(
    sizes: tuple[int, ...], count: int, max_bytes: int, expected: list[list[int]]
) -> None:
    found = batches(_metas(*sizes), count, max_bytes)

    assert [[m.uid for m in batch] for batch in found] == expected
    for batch in found:
        assert len(batch) <= count
        assert len(batch) == 1 or sum(m.size for m in batch) <= max_bytes


def test_replies_go_out_after_each_batch(world_for: Callable[..., World]) -> None:
    world = world_for(imap={"batch_size": 2})
    people = [(VERA, "Vera Voss"), (JAN, "Jan Albers"), (LEA, "Lea Roth")]
    people += [("otto.pohl@herne.de", "Otto Pohl"), ("ute.lange@hamm.de", "Ute Lange")]
    for address, name in people:
        world.mailbox.deliver(registration(address, name))
    downloads_when_sent: list[int] = []
    world.mailer.during_send = lambda _: downloads_when_sent.append(len(world.mailbox.downloaded))

    world.poll()

    assert world.mailbox.downloaded == [[1, 2], [3, 4], [5]]
    assert downloads_when_sent == [1, 1, 2, 2, 3]
    assert world.mailer.recipients == [address for address, _ in people]


def test_batches_bounded_by_bytes_in_the_cycle(world_for: Callable[..., World]) -> None:
    world = world_for(imap={"batch_bytes": 100_000})
    for address, name in [(VERA, "Vera Voss"), (JAN, "Jan Albers"), (LEA, "Lea Roth")]:
        world.mailbox.deliver(registration(address, name), size=60_000)  # as the server says

    world.poll()

    assert world.mailbox.downloaded == [[1], [2], [3]]
    assert world.mailer.recipients == [VERA, JAN, LEA]
