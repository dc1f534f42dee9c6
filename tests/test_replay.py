"""`inbox-bot replay` and the typed allocation log: people are followed by attendee id,
the settings are the same as a poll's, and logs written before ids still read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import record_mail

from inbox_bot.adapters.store import Store, open_store
from inbox_bot.adapters.store.log import rewrite_log
from inbox_bot.app.replay import replay_differences
from inbox_bot.app.wiring import build_deps
from inbox_bot.config import Settings, settings_from_mapping
from inbox_bot.core.audit import (
    MailRecord,
    PersonEntry,
    PrivacyRecord,
    StaffRecord,
    from_json,
    to_json,
)
from inbox_bot.core.model import Kind, Person
from inbox_bot.core.timeline import timeline

T0 = datetime.fromisoformat("2018-11-06T08:00:00+01:00")


def settings(tmp_path: Path, **limits: int) -> Settings:
    raw: dict[str, Any] = {
        "imap": {"host": "imap.example.org"},
        "smtp": {"host": "smtp.example.org", "from_address": "smartcity@dortmund.de"},
        "event": {
            "title": "Austausch",
            "organizer": "Stadt Dortmund",
            "starts_at": "2030-12-05T10:00:00+01:00",
            "ends_at": "2030-12-05T13:00:00+01:00",
            "venue": "Rathaus",
            "capacity": 3,
            "registration_deadline": "2030-11-23T23:59:59+01:00",
        },
        "limits": limits,
        "storage": {"database": "state/bot.sqlite3", "log": "state/log.jsonl"},
    }
    return settings_from_mapping(raw, base=tmp_path, environ={})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "state" / "bot.sqlite3") as opened:
        yield opened


def differences(store: Store, config: Settings) -> list[str]:
    deps = build_deps(config, store)
    try:
        return replay_differences(deps)
    finally:
        deps.close()


def test_replay_with_custom_limits_reports_no_difference(tmp_path: Path, store: Store) -> None:
    """The defect the review found: replay decided with default [limits]."""
    config = settings(tmp_path, persons_per_mail=20, persons_per_address=20)
    twelve = tuple(Person(name=f"Person Nummer{chr(65 + i)}") for i in range(12))
    record_mail(store, config, arrival=T0, sender="a@stadt-hamm.de", persons=twelve)
    assert sum(a.status == "confirmed" for a in store.attendees()) == 3
    assert differences(store, config) == []


def test_replay_tells_namesakes_apart(tmp_path: Path, store: Store) -> None:
    config = settings(tmp_path)
    record_mail(
        store,
        config,
        arrival=T0,
        sender="a@hamm.de",
        persons=(Person(name="Anna Schulz", email="a@hamm.de"),),
    )
    record_mail(
        store,
        config,
        arrival=T0 + timedelta(minutes=1),
        sender="b@unna.de",
        persons=(Person(name="Anna Schulz", email="b@unna.de"),),
    )
    record_mail(
        store,
        config,
        arrival=T0 + timedelta(minutes=2),
        sender="b@unna.de",
        kind=Kind.CANCELLATION,
        persons=(Person(name="Anna Schulz"),),
    )
    by_email = {a.email: a.status for a in store.attendees()}
    assert by_email == {"a@hamm.de": "confirmed", "b@unna.de": "cancelled"}
    assert differences(store, config) == []
    # A record changed by hand is found, and named by the person it concerns.
    with store.transaction() as db:
        db.execute("UPDATE attendees SET status = 'confirmed', seat = 2 WHERE email = 'b@unna.de'")
    assert differences(store, config) == [
        "Anna Schulz: gespeichert confirmed 2, neu berechnet cancelled"
    ]


def test_a_log_written_before_attendee_ids_still_replays_and_folds(
    tmp_path: Path, store: Store
) -> None:
    config = settings(tmp_path, persons_per_mail=20)
    for i, name in enumerate(("Anna Alt", "Bert Bauer", "Cora Cramer", "Dora Dorn")):
        record_mail(
            store,
            config,
            arrival=T0 + timedelta(minutes=i),
            sender=f"p{i}@hamm.de",
            persons=(Person(name=name, email=f"p{i}@hamm.de"),),
        )

    def without_ids(record: dict[str, Any]) -> dict[str, Any]:
        for key in ("persons", "promoted"):
            for person in record.get(key) or ():
                person.pop("id", None)
        return record

    with store.transaction() as db:
        rewrite_log(db, without_ids)
    entries = store.log_after(0)
    assert all("id" not in p for e in entries for p in e.data["persons"])
    assert differences(store, config) == []
    history = timeline(from_json(e.data) for e in entries)
    assert [p.seats for p in history.points] == [1, 2, 3]


@pytest.mark.parametrize(
    "record",
    [
        MailRecord(
            time=T0,
            uid=7,
            uidvalidity=1,
            message_id="<a@b>",
            received_at=T0,
            sender="a@b.de",
            reply_to="a@b.de",
            kind="registration",
            decision="confirmed",
            seat=1,
            persons=(
                PersonEntry(name="Anna", attendee_id="sha256:x#0", status="confirmed", seat=1),
            ),
            reply_message_ids=("<r@s>",),
            reason="Anna: Platz 1 von 3.",
        ),
        StaffRecord(
            time=T0,
            action="staff_admitted",
            by="Frau Roth",
            reason="Telefon",
            persons=(PersonEntry(name="Anna", attendee_id="k#1", status="confirmed", seat=4),),
            reply_message_ids=("<r@s>",),
        ),
        StaffRecord(time=T0, action="staff_note", by="Herr Roth", reason="Parkplatz", about="x@y"),
        PrivacyRecord(time=T0, action="forgotten", reason="Löschung auf Antrag: 1 Person(en)"),
    ],
    ids=["mail", "staff-admitted", "staff-note", "privacy"],
)
def test_records_read_back_as_written(record: Any) -> None:
    zone = settings(Path("/")).event.zone
    data = to_json(record, zone)
    assert from_json(json.loads(json.dumps(data))) == record


def test_the_old_staff_shape_with_names_only_reads() -> None:
    old = {
        "time": "2018-11-20T09:00:00+00:00",
        "kind": "staff",
        "decision": "staff_cancelled",
        "by": "Frau Schmidt",
        "reason": "hat angerufen",
        "persons": ["Sebastian Kortmann"],
        "promoted": ["Andreas Pütz"],
        "reply_message_ids": [],
    }
    record = from_json(old)
    assert isinstance(record, StaffRecord)
    assert [(p.name, p.attendee_id, p.status) for p in record.persons] == [
        ("Sebastian Kortmann", None, "cancelled")
    ]
    assert [p.name for p in record.promoted] == ["Andreas Pütz"]
