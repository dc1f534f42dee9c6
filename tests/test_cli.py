"""What a user sees when the config is wrong or a server is away: one line, no traceback."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from helpers import run_cli, write_config
from servers import Dovecot, SmtpSink, free_port

# Every test runs the CLI in a subprocess.
pytestmark = pytest.mark.integration

REAL_CONFIG = Path(__file__).resolve().parents[1] / "config" / "interkommunaler-austausch.toml"


def _one_clean_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    ("change", "names"),
    [
        (("capacity = 10", 'capacity = "zehn"'), "event.capacity"),
        (("capacity = 10", "capacity = -1"), "event.capacity"),
        (('\nsecurity = "ssl"', '\nsecurity = "tls"'), "imap.security"),
        (("[storage]", "[storage]\ndatabse = 'x'"), "storage.databse"),
        (
            (
                'registration_deadline = "2018-11-23T23:59:59+01:00"',
                'registration_deadline = "2018-11-23"',
            ),
            "registration_deadline",
        ),
        (('timezone = "Europe/Berlin"', 'timezone = "Europe/Dortmund"'), "event.timezone"),
        (("[event]", "[event\n"), "not valid TOML"),
    ],
)
def test_bad_config_names_the_key_and_exits_2(
    tmp_path: Path, change: tuple[str, str], names: str
) -> None:
    config = _config_text(tmp_path, *change)
    result = run_cli("status", "--config", str(config), check=False)
    assert result.returncode == 2
    line = _one_clean_line(result.stderr)
    assert names in line


def _config_text(tmp_path: Path, old: str, new: str) -> Path:
    text = REAL_CONFIG.read_text(encoding="utf-8").replace("capacity = 60", "capacity = 10")
    assert old in text, old
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    result = run_cli("poll", "--config", str(tmp_path / "nope.toml"), check=False)
    assert result.returncode == 2
    assert "not found" in _one_clean_line(result.stderr)


def test_the_real_event_config_is_valid(tmp_path: Path) -> None:
    copy = tmp_path / "event.toml"
    copy.write_text(REAL_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    result = run_cli("status", "--config", str(copy))
    assert "0 von 60" in result.stdout


def test_missing_password_variable_is_named_without_secrets(tmp_path: Path) -> None:
    copy = tmp_path / "event.toml"
    copy.write_text(REAL_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    result = run_cli("poll", "--config", str(copy), check=False)
    assert result.returncode == 2
    assert "INBOX_BOT_IMAP_PASSWORD" in _one_clean_line(result.stderr)


def test_unreachable_imap_server_is_one_line_and_nonzero(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    fake = Dovecot.__new__(Dovecot)
    fake.host, fake.port, fake.user, fake.password = "127.0.0.1", free_port(), "u@example.org", "pw"
    config = write_config(tmp_path, fake, smtp_sink)
    result = run_cli("poll", "--config", str(config), imap=fake, check=False)
    assert result.returncode == 1
    line = _one_clean_line(result.stderr)
    assert "cannot connect" in line and "pw" not in line


def test_wrong_password_is_not_printed(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    config = write_config(tmp_path, mailbox, smtp_sink)
    secret = "Sehr-Geheim-4711"
    wrong = Dovecot.__new__(Dovecot)
    wrong.host, wrong.port, wrong.user, wrong.password = (
        mailbox.host,
        mailbox.port,
        mailbox.user,
        secret,
    )
    result = run_cli("poll", "--config", str(config), imap=wrong, check=False)
    assert result.returncode == 1
    assert secret not in result.stderr + result.stdout
    _one_clean_line(result.stderr)


def test_smtp_down_keeps_replies_in_the_outbox_and_sends_them_later(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    config = write_config(tmp_path, mailbox, smtp_sink)
    smtp_port = smtp_sink.port
    smtp_sink.stop()
    mailbox.append(
        b"From: Anna Schulz <a.schulz@unna.de>\r\nTo: smartcity@dortmund.de\r\n"
        b"Subject: Anmeldung\r\nMessage-ID: <a1@unna.de>\r\n\r\n"
        b"Hiermit melde ich mich an.\r\n\r\nMit freundlichen Gruessen\r\nAnna Schulz\r\n",
        datetime.fromisoformat("2018-11-10T10:00:00+01:00"),
    )
    first = run_cli("poll", "--config", str(config), imap=mailbox, check=False)
    assert first.returncode == 1
    assert "outbox" in first.stderr and "Traceback" not in first.stderr
    assert mailbox.messages()[0]["flags"] == set()  # not marked until the reply is out
    with SmtpSink(port=smtp_port) as again:
        second = run_cli("poll", "--config", str(config), imap=mailbox)
        assert "1 replies sent" in second.stdout
        assert [m.rcpt_tos for m in again.messages] == [("a.schulz@unna.de",)]
    assert {b"\\Seen", b"\\Answered"} <= mailbox.messages()[0]["flags"]
    exported = json.loads(run_cli("export", "--config", str(config)).stdout)
    assert exported["attendees"][0]["status"] == "confirmed"


@pytest.mark.parametrize(
    ("file", "text", "line"),
    [
        ("de/acceptance.txt", "Guten Tag,\n{% if persons %}\nkaputt\n", "line 3"),
        ("en/waitlist.txt", "Hello {{ persons | nosuchfilter }}\n", "line 1"),
        ("de/_subjects.txt", "{% macro promotion(event) %}{{ event.title }\n", "line 1"),
    ],
)
def test_a_broken_staff_template_stops_poll_with_one_line(
    tmp_path: Path, file: str, text: str, line: str
) -> None:
    folder = tmp_path / "staff-templates"
    (folder / file).parent.mkdir(parents=True)
    (folder / file).write_text(text, encoding="utf-8")
    config = _config_text(tmp_path, '# folder = "../templates-staff"', f'folder = "{folder}"')
    result = run_cli("poll", "--config", str(config), check=False)
    assert result.returncode == 2
    message = _one_clean_line(result.stderr)
    assert file.split("/")[-1] in message and line in message


def test_a_templates_folder_that_does_not_exist_is_a_config_error(tmp_path: Path) -> None:
    config = _config_text(tmp_path, '# folder = "../templates-staff"', 'folder = "nowhere"')
    result = run_cli("status", "--config", str(config), check=False)
    assert result.returncode == 2
    assert "templates.folder" in _one_clean_line(result.stderr)


def test_status_shows_local_times_and_only_errors_after_the_last_good_poll(
    tmp_path: Path,
) -> None:
    import sqlite3

    config = _config_text(
        tmp_path, "../state/interkommunaler-austausch.sqlite3", "state/own.sqlite3"
    )
    run_cli("status", "--config", str(config))
    database = tmp_path / "state" / "own.sqlite3"
    with sqlite3.connect(database) as db:
        db.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [
                ("last_poll_error", "2018-11-20T08:00:00+00:00 IMAP: connection refused"),
                ("last_poll_ok", "2018-11-20T09:00:00+00:00"),
                ("last_smtp_error", "2018-11-20T09:30:00+00:00 451 try again later"),
            ],
        )
    out = run_cli("status", "--config", str(config)).stdout
    assert "20.11.2018 10:00:00" in out  # 09:00 UTC is 10:00 in Dortmund
    assert "connection refused" not in out  # over: a good poll came after it
    assert "20.11.2018 10:30:00 451 try again later" in out
