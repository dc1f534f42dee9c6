"""A series of three workshops in one mailbox, against a real Dovecot and SMTP sink.

The shared series examples go in by IMAP APPEND with their arrival times; one
`inbox-bot poll` must then place every person in every workshop exactly as the folder's
README says a person sorting the mail by hand would: seats, waitlists, late ones, the
ambiguous mails in review with no seat and no reply. Then `assign` places an
ambiguous mail with its original arrival time, `report` shows an overview and a door
list per workshop, and `export --event KEY` is that workshop alone.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from helpers import corpus_labels, deliver_corpus, run_cli, write_config
from servers import Dovecot, SmtpSink

# From ../shared/corpus-series-examples/README.md, "Expected outcome": surnames in seat
# order and in waitlist order.
SEATS = {
    "energie": ["Uhlenbrock", "Wippermann", "Lewandowski", "Niermann", "Bödefeld", "Hüttemann"],
    "daten": ["Rehkämper", "Osterkamp", "Wippermann", "Jablonski", "Lindqvist", "Westhoff"],
    "beteiligung": ["Wippermann", "Wollny", "Bödefeld", "Hüttemann", "Haddad", "Hiltrop"],
}
WAITLIST = {
    "energie": ["Sobczak"],
    "daten": ["Thiemann", "Buschhaus", "Hagemeier"],
    "beteiligung": ["Dahlhoff", "Spiekermann", "Wessendorf"],
}
AMBIGUOUS = ("03-", "10-", "19-")


def _events_toml(folder: Path) -> str:
    """The folder's [[events]] tables, as TOML text for our config."""
    text = (folder / "event.toml").read_text(encoding="utf-8")
    return text[text.index("\n[[events]]") :]


def _surname(name: str) -> str:
    return name.split()[-1]


def _by_event(export: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for a in export["attendees"]:
        lists = out.setdefault(a["event"], {"confirmed": [], "waitlisted": [], "late": []})
        if a["status"] in lists:
            lists[a["status"]].append(a)
    return {
        key: {
            "confirmed": [
                _surname(a["name"]) for a in sorted(v["confirmed"], key=lambda a: a["seat"])
            ],
            "waitlisted": [
                _surname(a["name"])
                for a in sorted(v["waitlisted"], key=lambda a: a["waitlist_position"])
            ],
            "late": [_surname(a["name"]) for a in v["late"]],
        }
        for key, v in out.items()
    }


@pytest.fixture(scope="module")
def series(
    tmp_path_factory: pytest.TempPathFactory,
    module_mailbox: Dovecot,
    module_smtp_sink: SmtpSink,
    series_dir: Path,
) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("series")
    config = write_config(folder, module_mailbox, module_smtp_sink, events=_events_toml(series_dir))
    uids = deliver_corpus(series_dir, module_mailbox)
    run_cli("poll", "--config", str(config), imap=module_mailbox)
    export = json.loads(run_cli("export", "--config", str(config)).stdout)
    return {
        "config": config,
        "folder": folder,
        "uids": uids,
        "labels": corpus_labels(series_dir),
        "export": export,
        "sent": list(module_smtp_sink.messages),
    }


def test_every_workshop_has_the_seats_and_waitlist_a_person_would_give(series: dict) -> None:
    lists = _by_event(series["export"])
    # Who holds a seat (a person moving up takes the freed seat's number); the waitlist
    # in its order.
    assert {k: sorted(v["confirmed"]) for k, v in lists.items()} == {
        k: sorted(v) for k, v in SEATS.items()
    }
    assert {k: v["waitlisted"] for k, v in lists.items()} == WAITLIST


def test_late_ones_are_late_for_their_own_workshop_never_moved_to_an_open_one(
    series: dict,
) -> None:
    lists = _by_event(series["export"])
    late = {k: v["late"] for k, v in lists.items() if v["late"]}
    labels = {lab.file[:3]: lab for lab in series["labels"]}
    expected: dict[str, list[str]] = {}
    for lab in labels.values():
        if lab.kind == "late_registration":
            for person in lab.raw["registers"]:
                expected.setdefault(person["event"], []).append(_surname(person["name"]))
    assert late == expected


def test_ambiguous_mail_is_in_review_with_no_seat_and_no_reply(series: dict) -> None:
    messages = {m["uid"]: m for m in series["export"]["messages"]}
    senders = set()
    for lab in series["labels"]:
        if lab.file.startswith(AMBIGUOUS):
            message = messages[series["uids"][lab.file]]
            assert message["needs_review"], lab.file
            assert message["events"] == []
            senders.add(message["from"].lower())
    recipients = {r.lower() for m in series["sent"] for r in m.rcpt_tos}
    assert not senders & recipients
    attendees = {a["contact"].lower() for a in series["export"]["attendees"]}
    assert not senders & attendees


def test_each_log_record_names_its_workshop(series: dict) -> None:
    placed = [
        r for r in series["export"]["log"] if r.get("kind") == "registration" and r["persons"]
    ]
    assert placed and all(r["event"] in SEATS for r in placed)


def test_export_of_one_workshop_is_that_workshop_alone(series: dict) -> None:
    one = json.loads(
        run_cli("export", "--config", str(series["config"]), "--event", "daten").stdout
    )
    assert one["event"]["title"] == "Themenworkshop Offene Daten und Datenplattformen"
    assert "events" not in one and all("event" not in a for a in one["attendees"])
    confirmed = sorted(
        (a for a in one["attendees"] if a["status"] == "confirmed"), key=lambda a: a["seat"]
    )
    assert [_surname(a["name"]) for a in confirmed] == SEATS["daten"]
    csv = run_cli("export", "--config", str(series["config"]), "--format", "csv").stdout
    assert csv.splitlines()[0].lstrip("\ufeff").startswith('"Veranstaltung";')


def test_report_shows_an_overview_and_a_door_list_per_workshop(series: dict) -> None:
    page_file = series["folder"] / "report.html"
    run_cli("report", "--config", str(series["config"]), "--output", str(page_file))
    page = page_file.read_text(encoding="utf-8")
    assert 'id="uebersicht"' in page
    for key, surnames in SEATS.items():
        door = page.split(f'id="tuerliste-{key}"', 1)[1].split("</section>", 1)[0]
        rows = re.findall(r'<td class="name">([^<]+)</td>', door)
        assert sorted(r.split(",")[0] for r in rows) == sorted(surnames), key


def test_replay_and_verify_agree_for_the_series(series: dict) -> None:
    config = str(series["config"])
    assert "Keine Abweichung" in run_cli("replay", "--config", config).stdout
    run_cli("verify-log", "--config", config)


def test_assign_places_a_reviewed_mail_with_its_arrival_time(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink, series_dir: Path
) -> None:
    config = write_config(tmp_path, mailbox, smtp_sink, events=_events_toml(series_dir))
    uids = deliver_corpus(series_dir, mailbox)
    run_cli("poll", "--config", str(config), imap=mailbox)
    ambiguous = next(f for f in uids if f.startswith("03-"))

    result = run_cli(
        "assign",
        f"UID:{uids[ambiguous]}",
        "--event",
        "energie",
        "--config",
        str(config),
        "--reason",
        "am Telefon geklärt",
        imap=mailbox,
    )

    assert "energie" in result.stdout
    export = json.loads(run_cli("export", "--config", str(config)).stdout)
    lists = _by_event(export)
    # energie is full; mail 03 arrived on 4 Feb, before Sobczak (12): waitlist first
    assert sorted(lists["energie"]["confirmed"]) == sorted(SEATS["energie"])
    assert lists["energie"]["waitlisted"][1:] == WAITLIST["energie"]
    assert len(lists["energie"]["waitlisted"]) == 2
    review = run_cli("review", "--config", str(config)).stdout
    assert f"UID:{uids[ambiguous]}" not in review and "03-" not in review
    # The sender of 03 gets the waitlist reply of energie, in the thread of her mail.
    sender = next(lab.raw for lab in corpus_labels(series_dir) if lab.file == ambiguous)
    last = smtp_sink.messages[-1].message
    body = last.get_body(("plain",))
    assert body is not None and "Warteliste" in body.get_content()
    assert last["In-Reply-To"]
    assert sender["kind"] == "other"  # labelled ambiguous: a person had to decide


def test_a_config_with_one_event_keeps_its_shape(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    config = write_config(tmp_path, mailbox, smtp_sink)
    export = json.loads(run_cli("export", "--config", str(config)).stdout)
    assert set(export) == {"event", "attendees", "messages", "log"}
    assert tomllib.loads(config.read_text(encoding="utf-8"))["event"]["title"]
