"""The security review's attacks, tried as a new user would: crafted mail in a real
Dovecot, one `inbox-bot poll`, and then what the victim and staff would check.

- poison mail (1 MB of filler, a 60 KB HTML table, a 3,000-name list) before a normal
  registration: the registration is answered, the poison waits for staff;
- a forged cancellation (From victim, Reply-To attacker), a victim's address
  registered beforehand under a made-up name, a promotion mail's token used to cancel
  others, an auto-responder that echoes our acceptance without quote marks: nobody
  loses a place, and whoever someone else registers or cancels is told;
- `forget` leaves the name nowhere: not in the database file, the log or the report.
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import sqlite3
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import PASSWORD_ENV, run_cli, write_config
from servers import Dovecot, SmtpSink

from inbox_bot.adapters.reader import IsolatedAnalyser
from inbox_bot.adapters.store import open_store
from inbox_bot.app.pipeline import run_once
from inbox_bot.app.wiring import build_deps, settings_from

T0 = datetime(2018, 11, 6, 9, 0, tzinfo=UTC)
VERA = "vera.voss@stadt-hamm.de"
ATTACKER = "mallory@evil.example"


def mail(
    sender: str,
    subject: str,
    body: str,
    *,
    name: str = "",
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    html: bool = False,
    number: int = 0,
) -> bytes:
    head = [
        f"From: {email.utils.formataddr((name, sender)) if name else sender}",
        "To: smartcity@dortmund.de",
        f"Subject: {subject}",
        f"Message-ID: <hostile-{number}-{abs(hash((sender, subject, body))) % 10**9}@example.org>",
        "Date: Tue, 6 Nov 2018 10:00:00 +0100",
        "MIME-Version: 1.0",
        f"Content-Type: text/{'html' if html else 'plain'}; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    if reply_to:
        head.append(f"Reply-To: {reply_to}")
    if in_reply_to:
        head += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    return ("\r\n".join(head) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


def registration(sender: str, name: str, number: int, extra: str = "") -> bytes:
    body = f"Guten Tag,\n\nhiermit melde ich mich an.{extra}\n\nMit freundlichen Grüßen\n{name}\n"
    return mail(sender, "Anmeldung", body, name=name, number=number)


def poll(config: Path, imap: Dovecot) -> str:
    return run_cli("poll", "--config", str(config), imap=imap, check=False).stdout


def exported(config: Path) -> dict:
    return json.loads(run_cli("export", "--config", str(config)).stdout)


def status_of(config: Path) -> dict[str, tuple[str, int | None]]:
    return {a["name"]: (a["status"], a["seat"]) for a in exported(config)["attendees"]}


def in_review(config: Path) -> int:
    return sum(1 for m in exported(config)["messages"] if m["needs_review"])


def to(sink: SmtpSink, address: str) -> list:
    return [m for m in sink.messages if address in m.rcpt_tos]


# ------------------------------------------------------------------ poison


def test_poison_mail_waits_for_staff_and_the_registration_after_it_is_answered(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    config = write_config(tmp_path, mailbox, smtp_sink, extra="[limits]\nseconds_per_mail = 5\n")
    filler = mail(
        "a@filler.example", "Anmeldung", "Anmeldung " + " " * 500_000 + "x" * 500_000, number=1
    )
    cells = "".join(f"<td>{i}</td>" for i in range(6000))
    table = mail("b@table.example", "Liste", f"<table><tr>{cells}</tr></table>", html=True)
    names = "\n".join(f"- Person{i} Nachname{i}" for i in range(3000))
    crowd = mail(
        "c@crowd.example", "Anmeldung", f"Hiermit melde ich an:\n{names}\n\nGruß\nC", number=3
    )
    for number, raw in enumerate((filler, table, crowd)):
        mailbox.append(raw, T0 + timedelta(minutes=number))
    mailbox.append(registration(VERA, "Vera Voss", 4), T0 + timedelta(minutes=10))

    poll(config, mailbox)

    assert status_of(config) == {"Vera Voss": ("confirmed", 1)}
    assert len(to(smtp_sink, VERA)) == 1
    assert in_review(config) == 3
    review = run_cli("review", "--config", str(config)).stdout
    assert "c@crowd.example" in review  # the 3,000 names are a flood, not 3,000 seats


def test_a_mail_whose_reading_was_begun_before_a_crash_is_not_read_again(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    config = write_config(tmp_path, mailbox, smtp_sink)
    uid = mailbox.append(registration(VERA, "Vera Voss", 5), T0)
    run_cli("status", "--config", str(config))  # creates the database
    db = sqlite3.connect(tmp_path / "state" / "bot.sqlite3")
    with db:
        uidvalidity = _uidvalidity(mailbox)
        db.execute(
            "INSERT INTO started (folder, uidvalidity, uid, started_at) VALUES (?,?,?,?)",
            ("INBOX", uidvalidity, uid, "2018-11-06T09:00:00+00:00"),
        )
    db.close()
    poll(config, mailbox)
    assert status_of(config) == {}
    assert smtp_sink.messages == []
    review = run_cli("review", "--config", str(config)).stdout
    assert "nie beendet" in review
    # Staff close it by its Message-ID, as the review shows it.
    assert "hostile-5-" in review
    reference = next(w for w in review.split() if w.startswith("<hostile-5-"))
    run_cli("resolve", "--config", str(config), reference, imap=mailbox)
    assert "Nichts zu tun" in run_cli("review", "--config", str(config)).stdout


def _uidvalidity(mailbox: Dovecot) -> int:
    with mailbox.client() as imap:
        return int(imap.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"])


# ------------------------------------------------------------------ forged senders


@pytest.fixture
def vera_seated(tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink) -> Path:
    config = write_config(tmp_path, mailbox, smtp_sink, capacity=2)
    mailbox.append(registration(VERA, "Vera Voss", 10), T0)
    poll(config, mailbox)
    assert status_of(config) == {"Vera Voss": ("confirmed", 1)}
    return config


def test_a_forged_cancellation_with_a_foreign_reply_to_cancels_nobody(
    vera_seated: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    mailbox.append(registration(ATTACKER, "Mallory Mack", 11), T0 + timedelta(minutes=1))
    mailbox.append(registration("x@evil.example", "Xaver Xander", 12), T0 + timedelta(minutes=2))
    forged = mail(
        VERA,
        "Absage",
        "Leider muss ich meine Teilnahme absagen.\n\nGruß\nVera Voss",
        name="Vera Voss",
        reply_to=ATTACKER,
        number=13,
    )
    mailbox.append(forged, T0 + timedelta(minutes=3))
    smtp_sink.clear()
    poll(vera_seated, mailbox)
    people = status_of(vera_seated)
    assert people["Vera Voss"] == ("confirmed", 1)
    assert people["Xaver Xander"][0] == "waitlisted"  # nobody moved up into her seat
    assert to(smtp_sink, VERA) == []
    assert "Reply-To" in run_cli("review", "--config", str(vera_seated)).stdout


def test_a_victims_address_registered_beforehand_under_a_made_up_name(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    config = write_config(tmp_path, mailbox, smtp_sink, capacity=5)
    blocking = mail(
        ATTACKER,
        "Anmeldung",
        f"Hiermit melde ich meinen Kollegen Erwin Erfunden ({VERA}) an.\n\nGruß\nMallory Mack",
        name="Mallory Mack",
        number=20,
    )
    mailbox.append(blocking, T0)
    mailbox.append(registration(VERA, "Vera Voss", 21), T0 + timedelta(minutes=5))
    poll(config, mailbox)
    vera_got = [m.message for m in to(smtp_sink, VERA)]
    # She was told that someone registered her address, and was not told "already registered".
    assert [str(m["Subject"]) for m in vera_got] == [
        "Sie wurden angemeldet: Interkommunaler Austausch"
    ]
    assert "Mallory" not in vera_got[0].get_content() or ATTACKER in vera_got[0].get_content()
    assert "Vera Voss" not in status_of(config)
    review = run_cli("review", "--config", str(config)).stdout
    assert "Erwin Erfunden" in review and "Vera Voss" in review

    # The attacker withdraws the made-up colleague: the owner of the address is told.
    smtp_sink.clear()
    withdraw = mail(
        ATTACKER,
        "Absage",
        "Bitte streichen Sie Herrn Erwin Erfunden, er kann leider nicht teilnehmen.\n\nGruß\nM",
        name="Mallory Mack",
        number=22,
    )
    mailbox.append(withdraw, T0 + timedelta(minutes=10))
    poll(config, mailbox)
    assert status_of(config)["Erwin Erfunden"][0] == "cancelled"
    assert [str(m.message["Subject"]) for m in to(smtp_sink, VERA)] == [
        "Abmeldung: Interkommunaler Austausch"
    ]


def test_a_promotion_mail_authorises_cancelling_the_promoted_person_only(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    config = write_config(tmp_path, mailbox, smtp_sink, capacity=2)
    boss = "b.berger@stadt-hamm.de"
    group = mail(
        boss,
        "Anmeldung",
        "Hiermit melden wir uns an: ich und meine Kollegin Frau Ina Ohne.\n\nGruß\nBernd Berger",
        name="Bernd Berger",
        number=30,
    )
    mailbox.append(group, T0)
    mailbox.append(registration(ATTACKER, "Mallory Mack", 31), T0 + timedelta(minutes=1))
    poll(config, mailbox)
    assert status_of(config)["Mallory Mack"][0] == "waitlisted"
    own = mail(
        boss,
        "Absage",
        "Ich muss leider absagen.\n\nGruß\nBernd Berger",
        name="Bernd Berger",
        number=32,
    )
    mailbox.append(own, T0 + timedelta(minutes=2))
    smtp_sink.clear()
    poll(config, mailbox)
    [promotion] = [m.message for m in to(smtp_sink, ATTACKER)]
    assert str(promotion["Subject"]).startswith("Sie haben einen Platz")
    misuse = mail(
        ATTACKER,
        "Re: Sie haben einen Platz",
        "Bitte streichen Sie auch Frau Ina Ohne, sie kann leider nicht teilnehmen.",
        name="Mallory Mack",
        in_reply_to=str(promotion["Message-ID"]),
        number=33,
    )
    mailbox.append(misuse, T0 + timedelta(minutes=3))
    poll(config, mailbox)
    people = status_of(config)
    assert people["Ina Ohne"][0] == "confirmed"
    assert people["Mallory Mack"][0] == "confirmed"


def test_an_auto_responder_echoing_our_acceptance_cancels_nobody(
    vera_seated: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    [acceptance] = [m.message for m in to(smtp_sink, VERA)]
    text = acceptance.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "nicht kommen können" in text
    echo = mail(
        VERA,
        "Re: Anmeldung",
        "Vielen Dank für Ihre Nachricht. Ich bin bis 20.11. nicht im Büro.\n\n"
        f"Ihre Nachricht lautete:\n\n{text}",
        name="Vera Voss",
        in_reply_to=str(acceptance["Message-ID"]),
        number=40,
    )
    mailbox.append(echo, T0 + timedelta(minutes=5))
    smtp_sink.clear()
    poll(vera_seated, mailbox)
    assert status_of(vera_seated)["Vera Voss"] == ("confirmed", 1)
    assert smtp_sink.messages == []


# ------------------------------------------------------------------ privacy


def test_forget_leaves_the_name_nowhere(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    config = write_config(
        tmp_path, mailbox, smtp_sink, capacity=5, extra='[report]\npath = "state/report.html"\n'
    )
    boss = "b.berger@stadt-hamm.de"
    group = mail(
        boss,
        "Anmeldung",
        f"Hiermit melde ich mich und meine Kollegin Vera Voss ({VERA}) an.\n\nGruß\nBernd Berger",
        name="Bernd Berger",
        number=50,
    )
    unclear = mail(
        "otto@other.example",
        "Anmeldung",
        "Wir kommen zu viert: ich, Vera Voss und Kai Krause.\n\nGruß\nOtto Other",
        name="Otto Other",
        number=51,
    )
    mailbox.append(group, T0)
    mailbox.append(unclear, T0 + timedelta(minutes=1))
    poll(config, mailbox)
    state = tmp_path / "state"
    assert "Vera Voss" in (state / "report.html").read_text(encoding="utf-8")

    run_cli("forget", "--config", str(config), VERA, "--yes", imap=mailbox)

    for path in sorted(state.iterdir()):
        data = path.read_bytes().lower()
        for needle in ("vera voss", "vera.voss", "voss"):
            assert needle.encode() not in data, f"{needle!r} still in {path.name}"
    assert "Bernd Berger" in status_of(config)  # the others stay
    assert "unverändert" in run_cli("verify-log", "--config", str(config)).stdout
    again = run_cli("forget", "--config", str(config), VERA, "--yes", check=False)
    assert again.returncode == 1 and "keine Daten" in again.stderr


def test_sigterm_while_a_mail_hangs_the_reader_stops_the_cycle_and_keeps_the_mail(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process, with a reader that never returns (tests/fake_reader.py): the stop
    flag (what SIGTERM sets) ends the cycle; the mail is not recorded, so the next start
    takes it (and, as it was noted as begun, sends it to staff without reading it)."""
    config = write_config(tmp_path, mailbox, smtp_sink)
    uid = mailbox.append(registration(VERA, "Vera Voss", 60), T0)
    monkeypatch.setenv(PASSWORD_ENV, mailbox.password)
    settings = settings_from(config)
    with open_store(settings.storage.database) as store:
        deps = build_deps(settings, store)
        hanging = IsolatedAnalyser(
            deps.context,
            budget_seconds=600,
            memory_bytes=1 << 30,
            stop=deps.stop,
            command=[sys.executable, str(Path(__file__).with_name("fake_reader.py")), "hang"],
        )
        deps = dataclasses.replace(deps, analyser=hanging)
        cycle = threading.Thread(target=run_once, args=(deps,))
        cycle.start()
        cycle.join(timeout=3)
        assert cycle.is_alive()  # the reader hangs, and the cycle waits for it
        deps.stop.set()
        cycle.join(timeout=30)  # a guard for the suite, not a timing check
        assert not cycle.is_alive()
        hanging.close()
        assert store.messages() == []
        assert store.was_started("INBOX", _uidvalidity(mailbox), uid)


def test_an_unreadable_mail_without_message_id_is_closed_by_its_uid(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    config = write_config(tmp_path, mailbox, smtp_sink)
    broken = b"From: a@b.example\r\nX-Huge: " + b"x" * 40_000 + b"\r\nSubject: Hi\r\n\r\nText\r\n"
    uid = mailbox.append(broken, T0)
    poll(config, mailbox)
    review = run_cli("review", "--config", str(config)).stdout
    assert f"UID:{uid}" in review
    run_cli("resolve", "--config", str(config), f"UID:{uid}", "--reason", "Spam", imap=mailbox)
    assert "Nichts zu tun" in run_cli("review", "--config", str(config)).stdout
    flags = {m["uid"]: m["flags"] for m in mailbox.messages()}
    assert b"\\Seen" in flags[uid] and b"\\Flagged" not in flags[uid]
