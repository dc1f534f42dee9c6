"""The "Heute (now)" line beside a review reason: what became of the mail's persons since
the reason was written (`review` and the console show it)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_allocate import attendee

from inbox_bot.app.review_now import current_notes
from inbox_bot.core.model import Status


def test_a_cancelled_person_no_longer_reads_as_holding_the_last_seat() -> None:
    people = [
        attendee(1, "Vera Voss", "vera@hamm.de", Status.CONFIRMED, seat=1),
        attendee(2, "Jan Albers", "jan@unna.de", Status.CANCELLED),
    ]
    notes = current_notes(people)
    assert notes["INBOX:1:1"] == "Vera Voss: Platz 1"
    assert notes["INBOX:1:2"] == "Jan Albers: abgemeldet"


@pytest.mark.parametrize(
    ("statuses", "expected_for_last"),
    [
        ([Status.WAITLISTED, Status.WAITLISTED], "Warteliste Position 2"),
        ([Status.CONFIRMED, Status.WAITLISTED], "Warteliste Position 1"),
        ([Status.CANCELLED, Status.WAITLISTED], "Warteliste Position 1"),
        ([Status.WAITLISTED, Status.LATE], "zu spät"),
    ],
)
def test_waitlist_positions_count_only_who_waits_before(
    statuses: list[Status], expected_for_last: str
) -> None:
    people = [attendee(n, f"P{n}", f"p{n}@x.de", s) for n, s in enumerate(statuses, 1)]
    assert current_notes(people)[f"INBOX:1:{len(statuses)}"] == f"P{len(statuses)}: " + (
        expected_for_last
    )


def test_two_persons_of_one_mail_and_each_event_of_a_series() -> None:
    first = attendee(1, "Tom Tewes", "tom@herne.de", Status.CONFIRMED, seat=3)
    second = replace(
        attendee(1, "Ina Igel", "ina@herne.de", Status.WAITLISTED), id="INBOX:1:1#1", index=1
    )
    other_event = replace(attendee(2, "Ina Igel", "ina@herne.de", Status.WAITLISTED), event="klima")
    notes = current_notes(
        [replace(first, event="mobil"), replace(second, event="mobil"), other_event]
    )
    assert (
        notes["INBOX:1:1"] == "Tom Tewes: Platz 3 (mobil); Ina Igel: Warteliste Position 1 (mobil)"
    )
    assert notes["INBOX:1:2"] == "Ina Igel: Warteliste Position 1 (klima)"
