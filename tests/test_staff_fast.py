"""Staff actions in memory (the fast tier): after a poll of a few registrations for an
event with two seats, staff admit, cancel, resolve, resend and note, as the CLI does.

Each action leaves one record in the allocation log that names who did it and why;
mails an action causes go out through the outbox with the next cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import World, log_records, mail, open_world, registration

from inbox_bot.app import privacy, staff
from inbox_bot.core.model import Status
from inbox_bot.errors import ActionRefused, NotFound

VERA = "vera.voss@stadt-hamm.de"
JAN = "jan.albers@unna.de"
LEA = "lea.roth@bochum.de"
OTTO = "otto.pohl@herne.de"
BY, WHY = "Frau Schmidt", "hat angerufen"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Two seats: Vera and Jan confirmed, Lea and Otto on the waitlist; one unclear mail."""
    world = open_world(tmp_path, event={"capacity": 2})
    for address, name in [(VERA, "Vera Voss"), (JAN, "Jan Albers"), (LEA, "Lea Roth")]:
        world.mailbox.deliver(registration(address, name))
    world.mailbox.deliver(registration(OTTO, "Otto Pohl"))
    world.mailbox.deliver(mail(OTTO, "Hallo", "Rufen Sie mich bitte zurück.\n\nOtto Pohl"))
    world.poll()
    world.mailer.sent.clear()
    yield world
    world.close()


def seats(world: World) -> dict[str, tuple[Status, int | None]]:
    return {a.name: (a.status, a.seat) for a in world.store.attendees()}


def last_record(world: World) -> dict[str, Any]:
    return log_records(world.store)[-1]


def test_the_starting_point(world: World) -> None:
    assert seats(world) == {
        "Vera Voss": (Status.CONFIRMED, 1),
        "Jan Albers": (Status.CONFIRMED, 2),
        "Lea Roth": (Status.WAITLISTED, None),
        "Otto Pohl": (Status.WAITLISTED, None),
    }


def test_admitting_a_waitlisted_person_over_capacity_needs_force(world: World) -> None:
    before = len(log_records(world.store))
    with pytest.raises(ActionRefused, match="force"):
        staff.plan_admit_person(world.deps, LEA, BY, WHY, force=False)
    assert len(log_records(world.store)) == before  # refused: nothing recorded

    staff.commit(world.deps, staff.plan_admit_person(world.deps, LEA, BY, WHY, force=True))
    world.poll()

    assert seats(world)["Lea Roth"] == (Status.CONFIRMED, 3)
    assert seats(world)["Otto Pohl"] == (Status.WAITLISTED, None)
    assert world.mailer.recipients == [LEA]
    record = last_record(world)
    assert record["decision"] == "staff_admitted"
    assert (record["by"], record["reason"]) == (BY, WHY)


def test_admitting_into_a_free_seat_needs_no_force(world: World) -> None:
    world.with_settings(event={"capacity": 3})  # staff found a bigger room

    staff.commit(world.deps, staff.plan_admit_person(world.deps, OTTO, BY, "Vorstand", force=False))
    world.poll()

    assert seats(world)["Otto Pohl"] == (Status.CONFIRMED, 3)
    assert seats(world)["Lea Roth"] == (Status.WAITLISTED, None)
    assert world.mailer.recipients == [OTTO]
    assert (last_record(world)["by"], last_record(world)["reason"]) == (BY, "Vorstand")


def test_cancelling_for_someone_who_phoned_promotes_the_head_of_the_waitlist(
    world: World,
) -> None:
    staff.commit(world.deps, staff.plan_cancel(world.deps, JAN, BY, WHY))
    world.poll()

    assert seats(world) == {
        "Vera Voss": (Status.CONFIRMED, 1),
        "Jan Albers": (Status.CANCELLED, None),
        "Lea Roth": (Status.CONFIRMED, 2),
        "Otto Pohl": (Status.WAITLISTED, None),
    }
    # Jan hears of it in writing (whoever phoned, he can object); Lea moves up and is told.
    assert world.mailer.recipients == [JAN, LEA]
    (note,) = world.mailer.to(JAN)
    assert "abgemeldet" in note.text and "Jan Albers" in note.text
    record = last_record(world)
    assert record["decision"] == "staff_cancelled"
    assert (record["by"], record["reason"]) == (BY, WHY)
    assert "Lea Roth" in str(record["promoted"])


def test_cancelling_someone_unknown_is_refused(world: World) -> None:
    with pytest.raises(NotFound):
        staff.plan_cancel(world.deps, "nobody@example.org", BY, WHY)


def test_resolving_a_mail_takes_it_off_the_review_queue(world: World) -> None:
    [entry] = world.store.review_queue()

    staff.resolve(world.deps, entry.reference, BY, "zurückgerufen")
    world.poll()

    assert world.store.review_queue() == []
    assert world.mailbox.flags_of(entry.uid) == {"\\Seen"}
    record = last_record(world)
    assert record["decision"] == "staff_resolved"
    assert (record["by"], record["reason"]) == (BY, "zurückgerufen")


def test_resolving_by_uid_for_a_mail_without_message_id(world: World) -> None:
    uid = world.mailbox.deliver(mail(OTTO, "Hallo", "Noch etwas.\n\nOtto", message_id=None))
    world.poll()

    staff.resolve(world.deps, f"UID:{uid}", BY, "erledigt")

    assert uid not in {m.uid for m in world.store.review_queue()}


def test_resending_a_reply_sends_the_same_bytes_again(world: World) -> None:
    vera = world.mailbox.mails()[0]
    [first] = [s for s in world.mailbox.mails("Sent") if VERA in s.raw.decode()]

    staff.resend(world.deps, vera.message_id or "", BY, "Mail nicht angekommen")
    world.poll()

    [again] = world.mailer.sent
    assert (again.recipient, again.data) == (VERA, first.raw)
    record = last_record(world)
    assert record["decision"] == "staff_resent"
    assert (record["by"], record["reason"]) == (BY, "Mail nicht angekommen")


def test_a_note_is_recorded_with_who_and_why(world: World) -> None:
    staff.note(world.deps, "Vera Voss", BY, "kommt später")

    record = last_record(world)
    assert record["decision"] == "staff_note"
    assert (record["by"], record["reason"]) == (BY, "kommt später")
    assert world.mailer.sent == []


def test_forgetting_an_unknown_address_is_refused_and_changes_nothing(world: World) -> None:
    before = (log_records(world.store), seats(world))

    with pytest.raises(NotFound):
        privacy.forget(world.deps, "nobody@example.org")

    assert (log_records(world.store), seats(world)) == before
