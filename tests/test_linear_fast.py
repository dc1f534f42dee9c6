"""The cycle's cost stays flat as mail accumulates, without giving up a guarantee (fast
tier): flags in one STORE per flag set, UIDs as ranges; one transaction per batch with
a savepoint per mail; the kept allocation state sees what another connection changed."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes import World, fast_deps, mail, open_world, registration
from hypothesis import given
from hypothesis import strategies as st

from inbox_bot.adapters.mailbox import uid_ranges
from inbox_bot.adapters.store import open_store
from inbox_bot.app import staff
from inbox_bot.errors import StoreError

T0 = datetime(2018, 11, 6, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("uids", "expected"),
    [
        ([], []),
        ([7], ["7"]),
        ([1, 2, 3, 5], ["1:3,5"]),
        ([9, 3, 4, 4, 10], ["3:4,9:10"]),
        ([1, 3, 5], ["1,3,5"]),
    ],
)
def test_uids_become_ranges(uids: list[int], expected: list[str]) -> None:
    assert list(uid_ranges(uids)) == expected


def _expand(ranges: str) -> set[int]:
    found: set[int] = set()
    for part in ranges.split(","):
        low, _, high = part.partition(":")
        found |= set(range(int(low), int(high or low) + 1))
    return found


@given(st.sets(st.integers(1, 5000), max_size=400), st.integers(12, 80))
def test_ranges_name_exactly_the_uids_within_the_line_limit(uids: set[int], longest: int) -> None:
    chunks = list(uid_ranges(uids, longest=longest))
    assert all(len(c) <= longest for c in chunks)
    assert set().union(*map(_expand, chunks)) == uids if chunks else not uids


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = open_world(tmp_path, event={"capacity": 2})
    yield made
    made.close()


def test_a_cycle_flags_all_its_mails_in_one_store_per_flag_set(world: World) -> None:
    for n in range(30):
        world.mailbox.deliver(registration(f"p{n}@ort{n}.de", f"Paula Nummer{n}"))
    world.mailbox.deliver(mail("otto@herne.de", "Hallo", "Rufen Sie mich bitte an.\n\nOtto"))
    world.poll()
    # \Seen+\Answered for the 30 answered, \Flagged for the one for staff.
    assert world.mailbox.stores == 2
    assert len(world.mailbox.flag_changes) == 31


def test_the_kept_state_sees_a_staff_action_from_another_connection(
    world: World, tmp_path: Path
) -> None:
    world.mailbox.deliver(registration("vera@hamm.de", "Vera Voss"), T0)
    world.mailbox.deliver(registration("jan@unna.de", "Jan Albers"), T0 + timedelta(minutes=1))
    world.poll()
    # Staff cancel Vera in the console: another connection to the same database.
    console = fast_deps(open_store(world.store.path or tmp_path), world.deps.settings)
    try:
        planned = staff.plan_cancel(console.deps, "vera@hamm.de", "Frau Schmidt", "angerufen")
        staff.commit(console.deps, planned)
    finally:
        console.close()
    world.mailbox.deliver(registration("otto@herne.de", "Otto Pohl"), T0 + timedelta(hours=1))
    world.poll()
    seats = {a.email: a.seat for a in world.store.attendees() if a.seat}
    assert seats == {"jan@unna.de": 2, "otto@herne.de": 1}  # Vera's seat, not the waitlist


def test_in_a_batch_a_failed_change_rolls_back_alone_and_the_rest_is_committed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.sqlite3"
    store = open_store(path)
    try:
        with store.batch():
            store.set_meta("first", "kept")
            with pytest.raises(StoreError), store.transaction() as db:
                db.execute("INSERT INTO meta (key, value) VALUES ('second', 'a')")
                db.execute("INSERT INTO meta (key, value) VALUES ('second', 'b')")  # duplicate
            store.set_meta("third", "kept")
            # Nothing is visible to other connections before the batch commits.
            other = sqlite3.connect(path)
            assert other.execute("SELECT COUNT(*) FROM meta WHERE key = 'first'").fetchone() == (0,)
        keys = {k for (k,) in other.execute("SELECT key FROM meta")}
        other.close()
    finally:
        store.close()
    assert {"first", "third"} <= keys and "second" not in keys


def test_the_providers_sending_rate_holds_replies_in_order_never_drops_them(
    tmp_path: Path,
) -> None:
    world = open_world(tmp_path, limits={"replies_per_minute": 3})
    try:
        senders = [f"p{n}@ort{n}.de" for n in range(5)]
        for n, sender in enumerate(senders):
            world.mailbox.deliver(registration(sender, f"Paula Nummer{n}"))
        first = world.poll()
        assert [s.recipient for s in world.mailer.sent] == senders[:3]
        assert first.send_waiting == 2
        assert first.next_send_at == world.clock() + timedelta(minutes=1)
        assert world.store.get_meta("paced_until")  # status says when they go
        world.clock.advance(seconds=61)
        world.poll()
        assert [s.recipient for s in world.mailer.sent] == senders  # in order, each once
        assert not world.store.get_meta("paced_until")
    finally:
        world.close()


@pytest.mark.parametrize(("sent_copy", "copies"), [("append", 1), ("server", 0)])
def test_the_sent_copy_is_filed_by_the_bot_or_left_to_the_server(
    tmp_path: Path, sent_copy: str, copies: int
) -> None:
    world = open_world(tmp_path, imap={"sent_copy": sent_copy})
    try:
        world.mailbox.deliver(registration("vera@hamm.de", "Vera Voss"))
        world.poll()
        assert len(world.mailer.sent) == 1
        assert len(world.mailbox.folders.get("Sent", [])) == copies
    finally:
        world.close()


def test_no_new_mail_is_known_from_uidnext_without_a_search(world: World) -> None:
    world.mailbox.deliver(registration("vera@hamm.de", "Vera Voss"))
    world.poll()
    world.poll()  # nothing new: UIDVALIDITY and UIDNEXT as after the last pass
    assert world.mailbox.searches == 1
    world.mailbox.deliver(registration("jan@unna.de", "Jan Albers"))
    world.poll()
    assert world.mailbox.searches == 2
    assert [s.recipient for s in world.mailer.sent] == ["vera@hamm.de", "jan@unna.de"]


def test_a_pass_cut_short_is_searched_again(world: World) -> None:
    world.mailbox.deliver(registration("vera@hamm.de", "Vera Voss"))
    world.mailbox.expunge_before_download(1)  # listed, then gone before the download
    world.mailbox.deliver(registration("jan@unna.de", "Jan Albers"))
    world.poll()
    world.poll()
    assert world.mailbox.searches == 2  # the first pass did not decide all it listed
