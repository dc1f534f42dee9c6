"""Staff actions, tried as staff would: after a poll over the shared corpus (capacity 10).

The event is moved into the future (the corpus mail still arrives in 2018, before the
deadline): staff act today, and nobody moves up once an event has started.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import icalendar
import pytest
from helpers import deliver_corpus, run_cli, write_config
from servers import Dovecot, SmtpSink


@pytest.fixture
def polled(tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink, corpus_dir: Path) -> Path:
    config = write_config(
        tmp_path,
        mailbox,
        smtp_sink,
        capacity=10,
        starts_at="2030-12-05T10:00:00+01:00",
        ends_at="2030-12-05T13:00:00+01:00",
    )
    deliver_corpus(corpus_dir, mailbox)
    run_cli("poll", "--config", str(config), imap=mailbox)
    smtp_sink.clear()
    return config


def _attendees(config: Path) -> dict[str, dict]:
    data = json.loads(run_cli("export", "--config", str(config)).stdout)
    return {a["name"]: a for a in data["attendees"]}


def _log(config: Path) -> Path:
    return config.parent / "state" / "allocation-log.jsonl"


def test_cancel_for_someone_who_phoned_promotes_and_tells_the_waitlist_head(
    polled: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    out = run_cli(
        "cancel",
        "--config",
        str(polled),
        "sebastian.kortmann@stadt-hagen.de",
        "--by",
        "Frau Schmidt",
        "--reason",
        "hat angerufen",
        "--yes",
        imap=mailbox,
    ).stdout
    assert "Sebastian Kortmann" in out and "Andreas Pütz" in out
    people = _attendees(polled)
    assert people["Sebastian Kortmann"]["status"] == "cancelled"
    assert people["Andreas Pütz"]["status"] == "confirmed"
    assert people["Yvonne Lasarzik"]["waitlist_position"] == 1
    by_rcpt = {m.rcpt_tos: m for m in smtp_sink.messages}
    assert set(by_rcpt) == {
        ("a.puetz@maerkischer-kreis.de",),
        ("sebastian.kortmann@stadt-hagen.de",),
    }
    # The cancelled person hears that the seat is given up; no calendar for him.
    told = by_rcpt[("sebastian.kortmann@stadt-hagen.de",)].message
    assert not [p for p in told.iter_attachments() if p.get_content_type() == "text/calendar"]
    mail = by_rcpt[("a.puetz@maerkischer-kreis.de",)]
    assert mail.message["Auto-Submitted"] == "auto-generated"
    [ics] = [p for p in mail.message.iter_attachments() if p.get_content_type() == "text/calendar"]
    calendar = icalendar.Calendar.from_ical(ics.get_payload(decode=True))
    assert str(calendar["METHOD"]) == "PUBLISH"
    [event] = [c for c in calendar.walk() if c.name == "VEVENT"]
    assert "Rheinlanddamm 200" in str(event["LOCATION"])
    record = json.loads(_log(polled).read_text(encoding="utf-8").splitlines()[-1])
    assert record["decision"] == "staff_cancelled"
    assert (record["by"], record["reason"]) == ("Frau Schmidt", "hat angerufen")
    assert record["promoted"] == ["Andreas Pütz"]


def test_an_action_that_mails_asks_first(polled: Path, mailbox: Dovecot) -> None:
    # No --yes and no answer on standard input: nothing happens.
    result = run_cli(
        "cancel",
        "--config",
        str(polled),
        "sebastian.kortmann@stadt-hagen.de",
        imap=mailbox,
        check=False,
    )
    assert result.returncode != 0
    assert "An: a.puetz@maerkischer-kreis.de" in result.stdout  # the mail was shown
    assert _attendees(polled)["Sebastian Kortmann"]["status"] == "confirmed"


def test_admit_the_late_registration_only_with_force(polled: Path, mailbox: Dovecot) -> None:
    refused = run_cli(
        "admit", "--config", str(polled), "r.huelsmann@schwelm.de", "--yes", check=False
    )
    assert refused.returncode == 1 and "--force" in refused.stderr
    run_cli(
        "admit",
        "--config",
        str(polled),
        "r.huelsmann@schwelm.de",
        "--yes",
        "--force",
        "--reason",
        "Referentin",
        imap=mailbox,
    )
    person = _attendees(polled)["Renate Hülsmann"]
    assert person["status"] == "confirmed" and person["seat"] == 11


def test_review_lists_reasons_and_resolve_takes_a_mail_off(polled: Path, mailbox: Dovecot) -> None:
    listed = run_cli("review", "--config", str(polled)).stdout
    assert "Interne Mail" in listed and "Frage" in listed
    assert "<de7548b34cbea7311fdea4cc9f200234@exmbx01.stadtdo.local>" in listed
    run_cli(
        "resolve",
        "--config",
        str(polled),
        "<de7548b34cbea7311fdea4cc9f200234@exmbx01.stadtdo.local>",
        "--reason",
        "Liste geschickt",
        imap=mailbox,
    )
    assert "exmbx01.stadtdo.local" not in run_cli("review", "--config", str(polled)).stdout
    # In the mailbox it is no longer flagged, and read (after the resolve's own marking).
    internal = [m for m in mailbox.messages() if b"exmbx01.stadtdo.local" in m["raw"]]
    assert internal and internal[0]["flags"] >= {b"\\Seen"}
    assert b"\\Flagged" not in internal[0]["flags"]


def test_verify_log_finds_a_changed_line(polled: Path) -> None:
    ok = run_cli("verify-log", "--config", str(polled))
    assert "unverändert" in ok.stdout
    log = _log(polled)
    lines = log.read_text(encoding="utf-8").splitlines()
    lines[5] = (
        lines[5].replace('"waitlisted"', '"confirmed"', 1).replace('"confirmed"', '"waitlisted"', 1)
    )
    changed = json.loads(lines[7])
    changed["decision"] = "confirmed"
    lines[7] = json.dumps(changed, ensure_ascii=False)
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    broken = run_cli("verify-log", "--config", str(polled), check=False)
    assert broken.returncode == 1
    assert "Zeile" in broken.stderr and "geändert" in broken.stderr


def test_forget_removes_a_person_from_database_log_and_exports(polled: Path) -> None:
    run_cli("forget", "--config", str(polled), "g.schuermann@werne.de", "--yes")
    assert "Günter Schürmann" not in _attendees(polled)
    csv = run_cli("export", "--config", str(polled), "--format", "csv").stdout
    assert "Schürmann" not in csv and "schuermann" not in csv
    log = _log(polled).read_text(encoding="utf-8")
    assert "Schürmann" not in log and "schuermann" not in log.lower()
    assert '"forgotten"' in log
    db = sqlite3.connect(polled.parent / "state" / "bot.sqlite3")
    dump = "\n".join(db.iterdump())
    assert "schuermann" not in dump.lower() and "Schürmann" not in dump
    assert "unverändert" in run_cli("verify-log", "--config", str(polled)).stdout


def test_replay_agrees_with_the_recorded_allocation(polled: Path) -> None:
    run_cli("cancel", "--config", str(polled), "anja.tewes@web.de", "--yes", check=False)
    assert "Keine Abweichung" in run_cli("replay", "--config", str(polled)).stdout
    db = sqlite3.connect(polled.parent / "state" / "bot.sqlite3")
    with db:
        db.execute(
            "UPDATE attendees SET status = 'cancelled', seat = NULL WHERE name = 'Anja Tewes'"
        )
        db.execute(
            "UPDATE attendees SET status = 'confirmed', seat = 99 WHERE name = 'Dirk Kuschel'"
        )
    differs = run_cli("replay", "--config", str(polled), check=False)
    assert differs.returncode == 1
    assert "Dirk Kuschel" in differs.stdout


def test_note_is_recorded_with_who_wrote_it(polled: Path) -> None:
    run_cli(
        "note",
        "--config",
        str(polled),
        "d.kuschel@stadt-duisburg.de",
        "--by",
        "Herr Roth",
        "--reason",
        "fragt nach Parkplatz",
    )
    record = json.loads(_log(polled).read_text(encoding="utf-8").splitlines()[-1])
    assert (record["decision"], record["by"], record["about"]) == (
        "staff_note",
        "Herr Roth",
        "d.kuschel@stadt-duisburg.de",
    )
