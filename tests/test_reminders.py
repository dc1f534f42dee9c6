"""Reminders before the event and the closing note to the waitlist: due once, sent once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from helpers import PASSWORD_ENV, run_cli, write_config
from servers import Captured, Dovecot, SmtpSink

from inbox_bot.adapters.store import Store, open_store
from inbox_bot.app.notices import queue_notices
from inbox_bot.app.wiring import build_deps
from inbox_bot.config import EventSettings, Settings, settings_from_mapping
from inbox_bot.core.allocate import AllocationState
from inbox_bot.core.model import Attendee, ReplyKind, Status
from inbox_bot.core.notices import Notice, due_notices

START = datetime.fromisoformat("2018-12-05T10:00:00+01:00")
END = datetime.fromisoformat("2018-12-05T13:00:00+01:00")
REMIND_AT = START - timedelta(days=3)
SECOND = timedelta(seconds=1)
ARRIVAL = datetime(2018, 11, 6, 8, 5, 12, tzinfo=UTC)


def _raw_settings(tmp_path: Path, **reminders: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "imap": {"host": "imap.example.org", "security": "ssl"},
        "smtp": {
            "host": "smtp.example.org",
            "security": "ssl",
            "from_address": "smartcity@dortmund.de",
            "from_name": "Allianz Smart City Dortmund",
        },
        "event": {
            "title": "Interkommunaler Austausch",
            "organizer": "Allianz Smart City Dortmund",
            "starts_at": START.isoformat(),
            "ends_at": END.isoformat(),
            "venue": "Rheinlanddamm 200, 44139 Dortmund",
            "capacity": 2,
            "registration_deadline": "2018-11-23T23:59:59+01:00",
        },
        "storage": {"database": str(tmp_path / "bot.sqlite3"), "log": str(tmp_path / "log")},
    }
    if reminders:
        raw["reminders"] = reminders
    return raw


def _settings(tmp_path: Path, **reminders: Any) -> Settings:
    return settings_from_mapping(_raw_settings(tmp_path, **reminders), base=tmp_path, environ={})


def _event(tmp_path: Path) -> EventSettings:
    return _settings(tmp_path).event


def _person(
    n: int,
    status: Status,
    seat: int | None = None,
    *,
    email: str | None = "",
    contact: str | None = None,
    language: str = "de",
) -> Attendee:
    return Attendee(
        id=f"m{n}#0",
        name=f"Person {n}",
        email=f"p{n}@unna.de" if email == "" else email,
        organization="Stadt Unna",
        contact=contact or f"p{n}@unna.de",
        status=status,
        seat=seat,
        arrival=ARRIVAL + timedelta(minutes=n),
        uid=n,
        index=0,
        message_key=f"m{n}",
        language=language,
    )


def _state(*attendees: Attendee) -> AllocationState:
    return AllocationState(
        capacity=2,
        deadline=datetime.fromisoformat("2018-11-23T23:59:59+01:00"),
        event_start=START,
        attendees={a.id: a for a in attendees},
    )


STATE = _state(
    _person(1, Status.CONFIRMED, 1),
    _person(2, Status.CONFIRMED, 2),
    _person(3, Status.WAITLISTED),
    _person(4, Status.CANCELLED),
    _person(5, Status.LATE),
)


def _due(event: EventSettings, now: datetime, **kw: Any) -> list[tuple[str, tuple[str, ...]]]:
    return [
        (str(n.kind), tuple(a.id for a in n.attendees))
        for n in due_notices(STATE, event, now, **kw)
    ]


# --------------------------------------------------------------------------- pure: who is due


def test_reminder_window_edges(tmp_path: Path) -> None:
    event = _event(tmp_path)
    reminders = [("reminder", ("m1#0",)), ("reminder", ("m2#0",))]
    assert _due(event, REMIND_AT - SECOND) == []
    assert _due(event, REMIND_AT) == reminders
    assert _due(event, REMIND_AT + SECOND) == reminders
    assert _due(event, START - SECOND) == reminders  # the last second before the start


def test_closing_note_from_the_start_until_a_day_after_the_end(tmp_path: Path) -> None:
    event = _event(tmp_path)
    closing = [("waitlist_closed", ("m3#0",))]
    assert _due(event, START) == closing  # no more reminders, the waitlist is told
    assert _due(event, START + SECOND) == closing
    assert _due(event, END + timedelta(days=1)) == closing
    # Too late: an old database or a bot started long after must not mail people.
    assert _due(event, END + timedelta(days=1) + SECOND) == []
    assert _due(event, datetime(2025, 1, 1, tzinfo=UTC)) == []


def test_cancelled_and_late_persons_get_nothing(tmp_path: Path) -> None:
    event = _event(tmp_path)
    for now in (REMIND_AT, START):
        ids = {i for _, group in _due(event, now) for i in group}
        assert not ids & {"m4#0", "m5#0"}


def test_both_can_be_switched_off(tmp_path: Path) -> None:
    event = _event(tmp_path)
    assert _due(event, REMIND_AT, days_before=0) == []
    assert _due(event, START, final_note=False) == []
    # another lead time moves the window
    assert _due(event, START - timedelta(days=1) - SECOND, days_before=1) == []
    assert len(_due(event, START - timedelta(days=1), days_before=1)) == 2


def test_what_was_queued_before_is_not_due_again(tmp_path: Path) -> None:
    event = _event(tmp_path)
    done = {("m1#0", "reminder"), ("m3#0", "reminder")}
    assert _due(event, REMIND_AT, done=done) == [("reminder", ("m2#0",))]
    assert _due(event, START, done={("m3#0", "waitlist_closed")}) == []


def test_persons_sharing_a_reply_address_share_one_mail(tmp_path: Path) -> None:
    boss = _person(1, Status.CONFIRMED, 1, email="chef@unna.de")
    colleague = _person(2, Status.CONFIRMED, 2, email=None, contact="Chef@unna.de")
    notices = due_notices(_state(colleague, boss), _event(tmp_path), REMIND_AT)
    assert notices == [
        Notice(kind=ReplyKind.REMINDER, recipient="chef@unna.de", attendees=(boss, colleague))
    ]


def test_no_reminders_section_means_no_notices(tmp_path: Path) -> None:
    assert _settings(tmp_path).reminders.days_before == 0
    assert _settings(tmp_path).reminders.final_note is False
    configured = _settings(tmp_path, days_before=3).reminders
    assert configured.days_before == 3 and configured.final_note is True


# --------------------------------------------------------------------------- shell: queued once


def _seed(store: Store, *attendees: Attendee) -> None:
    store.apply_changes(attendees, (), {"kind": "test", "decision": "seeded"}, ARRIVAL)


def _outbox(store: Store) -> list[sqlite3.Row]:
    return list(store.db.execute("SELECT * FROM outbox ORDER BY id"))


def test_queue_notices_queues_each_notice_once_also_after_reopening(tmp_path: Path) -> None:
    settings = _settings(tmp_path, days_before=3, final_note=True)
    english = _person(2, Status.CONFIRMED, 2, language="en")
    with open_store(settings.storage.database) as store:
        _seed(store, _person(1, Status.CONFIRMED, 1), english, _person(3, Status.WAITLISTED))
        deps = build_deps(settings, store)
        assert queue_notices(deps, REMIND_AT - SECOND) == 0
        assert queue_notices(deps, REMIND_AT) == 2
        assert queue_notices(deps, REMIND_AT + timedelta(hours=1)) == 0
    with open_store(settings.storage.database) as store:  # a restart
        deps = build_deps(settings, store)
        assert queue_notices(deps, START - SECOND) == 0
        assert queue_notices(deps, START) == 1
        assert queue_notices(deps, START + timedelta(minutes=5)) == 0
        rows = _outbox(store)
    assert [(r["kind"], r["recipient"], r["message_ref"]) for r in rows] == [
        ("reminder", "p1@unna.de", None),
        ("reminder", "p2@unna.de", None),
        ("waitlist_closed", "p3@unna.de", None),
    ]
    german, english_mail, closing = (_parse(r["data"]) for r in rows)

    assert german["Subject"] == "Erinnerung: Interkommunaler Austausch, Mittwoch, 5. Dezember 2018"
    assert german["Auto-Submitted"] == "auto-generated"
    assert german["X-Auto-Response-Suppress"] == "All"
    assert german["In-Reply-To"] is None
    text = _flat(german.get_content())
    for part in (
        "Mittwoch, 5. Dezember 2018, 10:00–13:00 Uhr",
        "Rheinlanddamm 200, 44139 Dortmund",
        "Person 1 (Stadt Unna): Platz 1 von 2",
        "antworten Sie bitte kurz auf diese E-Mail",
        "Person auf der Warteliste weiter",
        "löschen sie 30 Tage nach der Veranstaltung.",
    ):
        assert part in text, part
    assert "So vergeben wir die Plätze" not in text  # not the registration rules again

    assert english_mail["Subject"].startswith("Reminder: Interkommunaler Austausch")
    text = _flat(english_mail.get_content())
    assert "seat 2 of 2" in text
    assert "please reply briefly to this e-mail" in text
    assert "delete them 30 days after the event." in text

    assert closing["Subject"] == "Warteliste geschlossen: Interkommunaler Austausch"
    text = _flat(closing.get_content())
    assert "kein Platz frei geworden" in text and "Vielen Dank" in text
    assert "löschen sie 30 Tage" in text


def test_queue_notices_without_a_reminders_section_does_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with open_store(settings.storage.database) as store:
        _seed(store, _person(1, Status.CONFIRMED, 1), _person(3, Status.WAITLISTED))
        deps = build_deps(settings, store)
        assert queue_notices(deps, REMIND_AT) == 0
        assert queue_notices(deps, START) == 0
        assert _outbox(store) == []


def _parse(data: bytes) -> EmailMessage:
    from email import message_from_bytes, policy

    mail = message_from_bytes(data, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


def _flat(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- end to end


def _registration(n: int, name: str, address: str) -> bytes:
    return (
        f"From: {name} <{address}>\r\nTo: smartcity@dortmund.de\r\n"
        f"Subject: Anmeldung\r\nMessage-ID: <r{n}@unna.de>\r\n\r\n"
        f"Hiermit melde ich mich an.\r\n\r\nMit freundlichen Gruessen\r\n{name}\r\n"
    ).encode()


def _event_config(
    tmp_path: Path,
    imap: Dovecot,
    smtp: SmtpSink,
    *,
    starts: datetime,
    deadline: datetime,
) -> Path:
    config = write_config(
        tmp_path,
        imap,
        smtp,
        capacity=1,
        deadline=deadline.isoformat(timespec="seconds"),
        extra="[reminders]\ndays_before = 3\nfinal_note = true\n"
        "[schedule]\npoll_interval_seconds = 600\n",
    )
    text = config.read_text(encoding="utf-8")
    text = text.replace("2018-12-05T10:00:00+01:00", starts.isoformat(timespec="seconds"))
    ends = starts + timedelta(hours=3)
    text = text.replace("2018-12-05T13:00:00+01:00", ends.isoformat(timespec="seconds"))
    config.write_text(text, encoding="utf-8")
    return config


def _kinds(sent: list[Captured]) -> list[tuple[str, str]]:
    found = []
    for captured in sent:
        subject = captured.message["Subject"]
        kind = (
            "reminder"
            if subject.startswith("Erinnerung:")
            else "waitlist_closed"
            if subject.startswith("Warteliste geschlossen:")
            else "reply"
        )
        found.append((kind, captured.rcpt_tos[0]))
    return sorted(found)


def _last_good_poll(config: Path) -> str | None:
    db = sqlite3.connect(f"file:{config.parent / 'state' / 'bot.sqlite3'}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'last_poll_ok'").fetchone()
    finally:
        db.close()
    return row[0] if row else None


def _run_one_cycle(config: Path, imap: Dovecot) -> None:
    """A fresh `inbox-bot run` process: wait for its first cycle, then SIGTERM it."""
    before = _last_good_poll(config)
    time.sleep(1.1)  # last_poll_ok has whole seconds
    env = {**os.environ, PASSWORD_ENV: imap.password, "PYTHONIOENCODING": "utf-8"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "inbox_bot", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while _last_good_poll(config) == before:
            assert worker.poll() is None, worker.communicate()
            assert time.monotonic() < deadline, "run did not finish a cycle"
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
        assert worker.returncode == 0, stderr
        assert "Traceback" not in stderr
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()


def test_poll_sends_reminders_once_across_polls_and_restarts(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    config = _event_config(
        tmp_path,
        mailbox,
        smtp_sink,
        starts=now + timedelta(days=2),
        deadline=now + timedelta(days=1),
    )
    mailbox.append(_registration(1, "Anna Schulz", "a.schulz@unna.de"), now - timedelta(hours=2))
    mailbox.append(_registration(2, "Bernd Vogel", "b.vogel@unna.de"), now - timedelta(hours=1))

    first = run_cli("poll", "--config", str(config), imap=mailbox)
    assert "3 replies sent" in first.stdout, first.stdout
    sent = smtp_sink.messages
    # Anna has the one seat: her acceptance and, inside the 3-day window, her reminder;
    # Bernd waits and gets no reminder.
    assert _kinds(sent) == [
        ("reminder", "a.schulz@unna.de"),
        ("reply", "a.schulz@unna.de"),
        ("reply", "b.vogel@unna.de"),
    ]
    reminder = next(m.message for m in sent if m.message["Subject"].startswith("Erinnerung:"))
    assert reminder["Auto-Submitted"] == "auto-generated"
    body = _flat(reminder.get_content())
    assert "Anna Schulz" in body and "Platz 1 von 1" in body
    assert "antworten Sie bitte kurz auf diese E-Mail" in body
    acceptance = next(
        m.message for m in sent if m.rcpt_tos[0] == "a.schulz@unna.de" and m.message["In-Reply-To"]
    )
    assert [p.get_filename() for p in acceptance.iter_attachments()] == ["einladung.ics"]

    second = run_cli("poll", "--config", str(config), imap=mailbox)
    assert "0 replies sent" in second.stdout, second.stdout
    _run_one_cycle(config, mailbox)  # a fresh worker process: nothing again
    time.sleep(0.5)
    assert len(smtp_sink.messages) == 3


def test_poll_at_the_start_tells_the_waitlist_once(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    config = _event_config(
        tmp_path,
        mailbox,
        smtp_sink,
        starts=now - timedelta(hours=1),
        deadline=now - timedelta(days=1),
    )
    mailbox.append(_registration(1, "Anna Schulz", "a.schulz@unna.de"), now - timedelta(days=3))
    mailbox.append(_registration(2, "Bernd Vogel", "b.vogel@unna.de"), now - timedelta(days=2))

    run_cli("poll", "--config", str(config), imap=mailbox)
    # The event has begun: no reminder for Anna; Bernd hears that the waitlist is closed.
    assert _kinds(smtp_sink.messages) == [
        ("reply", "a.schulz@unna.de"),
        ("reply", "b.vogel@unna.de"),
        ("waitlist_closed", "b.vogel@unna.de"),
    ]
    closing = next(
        m.message
        for m in smtp_sink.messages
        if m.message["Subject"].startswith("Warteliste geschlossen:")
    )
    assert closing["Auto-Submitted"] == "auto-generated"
    assert "kein Platz frei geworden" in _flat(closing.get_content())

    run_cli("poll", "--config", str(config), imap=mailbox)
    assert len(smtp_sink.messages) == 3
