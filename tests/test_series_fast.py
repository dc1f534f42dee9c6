"""A series in memory (the fast tier): config checks, one reply for two events, routing
by our own Message-ID and by sub-address, and staff actions that need --event."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from fakes import World, mail, open_world

from inbox_bot.app import staff
from inbox_bot.app.allocation import allocation
from inbox_bot.app.assign import assign
from inbox_bot.config import settings_from_mapping
from inbox_bot.core.model import Status
from inbox_bot.errors import ActionRefused, ConfigError

FEB = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)


def _event(key: str, title: str, day: str, deadline: str, **more: Any) -> dict[str, Any]:
    return {
        "key": key,
        "title": title,
        "organizer": "Allianz Smart City Dortmund",
        "starts_at": f"{day}T10:00:00+01:00",
        "ends_at": f"{day}T13:00:00+01:00",
        "venue": f"Haus {key.capitalize()}, 44137 Dortmund",
        "capacity": 2,
        "registration_deadline": f"{deadline}T23:59:59+01:00",
        **more,
    }


EVENTS = [
    _event(
        "mobil",
        "Themenworkshop Mobilitätsdaten",
        "2026-03-10",
        "2026-03-03",
        keywords=["Mobilität"],
    ),
    _event(
        "klima", "Themenworkshop Stadtklima", "2026-04-15", "2026-04-08", keywords=["Stadtklima"]
    ),
]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = open_world(tmp_path, events=EVENTS)  # type: ignore[arg-type]
    world.clock.set(FEB)
    yield world
    world.close()


def seats(world: World) -> dict[str, list[tuple[str, Status]]]:
    out: dict[str, list[tuple[str, Status]]] = {}
    for a in world.store.attendees():
        out.setdefault(a.event, []).append((a.name, a.status))
    return out


def body(text: str, name: str = "Lena Stratmann") -> str:
    return f"Guten Tag,\n\n{text}\n\nMit freundlichen Grüßen\n{name}\n"


# ------------------------------------------------------------------ config


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"key": "mobil"}, "'mobil' is the key of events[1] too"),
        ({"registration_deadline": "2026-05-01T00:00:00+02:00"}, "after the event starts"),
        ({"keywords": ["mobilität"]}, "is a keyword of"),
        ({"key": "Klima Workshop"}, "lower-case letters"),
        ({"key": ""}, "needs a key"),
    ],
)
def test_a_series_config_names_the_event_that_is_wrong(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    raw: dict[str, Any] = {
        "imap": {"host": "127.0.0.1", "security": "none"},
        "smtp": {"host": "127.0.0.1", "security": "none", "from_address": "a@b.de"},
        "events": [EVENTS[0], {**EVENTS[1], **change}],
    }
    with pytest.raises(ConfigError, match="events\\[2\\]") as caught:
        settings_from_mapping(raw, base=tmp_path, environ={})
    assert message in str(caught.value)


def test_event_and_events_together_are_refused(tmp_path: Path) -> None:
    raw = {
        "imap": {"host": "127.0.0.1", "security": "none"},
        "smtp": {"host": "127.0.0.1", "security": "none", "from_address": "a@b.de"},
        "event": {k: v for k, v in EVENTS[0].items() if k != "key"},
        "events": EVENTS,
    }
    with pytest.raises(ConfigError, match="not both"):
        settings_from_mapping(raw, base=tmp_path, environ={})


# ------------------------------------------------------------------ polls


def test_one_mail_for_two_events_gets_one_reply_event_by_event(world: World) -> None:
    text = "hiermit melde ich mich für die Workshops Mobilität und Stadtklima an."
    world.mailbox.deliver(
        mail("lena@kreis-unna.de", "Anmeldung", body(text), name="Lena Stratmann"), FEB
    )
    world.poll()

    assert seats(world) == {
        "mobil": [("Lena Stratmann", Status.CONFIRMED)],
        "klima": [("Lena Stratmann", Status.CONFIRMED)],
    }
    (reply,) = world.mailer.to("lena@kreis-unna.de")
    message = message_from_bytes(reply.data, policy=policy.default)
    text_part = message.get_body(("plain",))
    assert text_part is not None
    content = text_part.get_content()
    assert "Themenworkshop Mobilitätsdaten" in content and "Themenworkshop Stadtklima" in content
    assert content.count("Platz 1 von 2") == 2
    calendars = [p.get_filename() for p in message.iter_attachments()]
    assert calendars == ["einladung-mobil.ics", "einladung-klima.ics"]


def test_a_reply_to_our_confirmation_lands_in_that_event(world: World) -> None:
    first = "hiermit melde ich mich zum Workshop Stadtklima an."
    world.mailbox.deliver(
        mail("lena@kreis-unna.de", "Anmeldung", body(first), name="Lena Stratmann"), FEB
    )
    world.poll()
    (confirmation,) = world.mailer.to("lena@kreis-unna.de")
    colleague = "bitte melden Sie auch meinen Kollegen Herrn Jonas Ebbing an."
    world.mailbox.deliver(
        mail(
            "lena@kreis-unna.de",
            "Re: Anmeldung",
            body(colleague),
            name="Lena Stratmann",
            in_reply_to=confirmation.message_id,
        ),
        FEB + timedelta(hours=1),
    )
    world.poll()

    assert [n for n, _ in seats(world)["klima"]] == ["Lena Stratmann", "Jonas Ebbing"]
    assert "mobil" not in seats(world)


def test_mail_that_names_no_event_waits_for_staff_and_assign_places_it(world: World) -> None:
    unclear = "hiermit melde ich mich zum Themenworkshop an."
    uid = world.mailbox.deliver(
        mail("lea@bochum.de", "Anmeldung", body(unclear, "Lea Roth"), name="Lea Roth"), FEB
    )
    world.poll()
    assert seats(world) == {} and world.mailer.sent == []
    (row,) = world.store.review_queue()
    assert "Veranstaltung unklar" in row.review_reason

    line = assign(world.deps, f"UID:{uid}", "klima", "Frau Schmidt", "telefonisch")

    assert "klima" in line
    assert seats(world) == {"klima": [("Lea Roth", Status.CONFIRMED)]}
    assert world.store.review_queue() == []
    [placed] = world.store.attendees()
    assert placed.arrival == FEB  # the original arrival, not the time of assigning


def test_a_sub_address_routes_only_when_switched_on(tmp_path: Path) -> None:
    headers = ("Delivered-To: smartcity+klima@dortmund.de",)
    raw = mail(
        "lea@bochum.de",
        "Anmeldung",
        body("Ich melde mich an.", "Lea Roth"),
        name="Lea Roth",
        extra_headers=headers,
    )
    for switched_on, expected in ((False, {}), (True, {"klima": [("Lea Roth", Status.CONFIRMED)]})):
        world = open_world(
            tmp_path / str(switched_on),
            events=EVENTS,  # type: ignore[arg-type]
            routing={"plus_addressing": switched_on},
        )
        world.mailbox.deliver(raw, FEB)
        world.poll()
        assert seats(world) == expected
        world.close()


def test_staff_must_say_which_event_when_a_person_is_in_two(world: World) -> None:
    text = "hiermit melde ich mich für die Workshops Mobilität und Stadtklima an."
    world.mailbox.deliver(
        mail("lena@kreis-unna.de", "Anmeldung", body(text), name="Lena Stratmann"), FEB
    )
    world.poll()

    with pytest.raises(ActionRefused, match="--event"):
        staff.plan_cancel(world.deps, "lena@kreis-unna.de", "Frau Schmidt", "Anruf")
    staff.commit(
        world.deps,
        staff.plan_cancel(world.deps, "lena@kreis-unna.de", "Frau Schmidt", "Anruf", "mobil"),
    )

    assert seats(world) == {
        "mobil": [("Lena Stratmann", Status.CANCELLED)],
        "klima": [("Lena Stratmann", Status.CONFIRMED)],
    }


def test_the_export_of_a_series_names_events_and_one_event_is_a_single_event(world: World) -> None:
    text = "hiermit melde ich mich zum Workshop Stadtklima an."
    world.mailbox.deliver(
        mail("lena@kreis-unna.de", "Anmeldung", body(text), name="Lena Stratmann"), FEB
    )
    world.poll()

    whole = allocation(world.deps.settings, world.store)
    assert [e["key"] for e in whole["events"]] == ["mobil", "klima"]
    assert [a["event"] for a in whole["attendees"]] == ["klima"]
    assert whole["messages"][0]["events"] == ["klima"]
    one = allocation(world.deps.settings, world.store, "mobil")
    assert one["event"]["title"] == "Themenworkshop Mobilitätsdaten"
    assert one["attendees"] == [] and one["messages"] == []


def test_the_shipped_series_config_loads_as_three_events() -> None:
    from inbox_bot.config import load_settings

    path = Path(__file__).parents[1] / "config" / "themenworkshops-2025.toml"
    settings = load_settings(path, {})
    assert [e.key for e in settings.events] == ["energie", "daten", "beteiligung"]
    assert settings.series and not settings.routing.plus_addressing


def test_personal_data_goes_per_event_counted_from_its_own_end(world: World) -> None:
    from inbox_bot.app.privacy import purge

    for address, name, topic in [
        ("lena@kreis-unna.de", "Lena Stratmann", "Mobilität"),
        ("lea@bochum.de", "Lea Roth", "Stadtklima"),
    ]:
        text = f"hiermit melde ich mich zum Workshop {topic} an."
        world.mailbox.deliver(mail(address, "Anmeldung", body(text, name), name=name))
    world.poll()
    after_first = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)  # 30 days after 10 March

    assert purge(world.deps, after_first, 30) == ["mobil"]
    assert purge(world.deps, after_first, 30) == []  # done once

    names = {a.event: a.name for a in world.store.attendees()}
    assert names == {"mobil": "(gelöscht)", "klima": "Lea Roth"}
    log = json_log(world)
    assert "Lena Stratmann" not in log and "Lea Roth" in log
    assert purge(world.deps, datetime(2026, 5, 20, tzinfo=UTC), 30) == ["klima"]
    assert "Lea Roth" not in json_log(world)


def json_log(world: World) -> str:
    import json

    return json.dumps([e.data for e in world.store.log_after(0)], ensure_ascii=False)
