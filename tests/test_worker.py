"""`inbox-bot run`: the scheduled worker polls at once, stops cleanly, and is alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from helpers import PASSWORD_ENV, run_cli, write_config
from servers import Dovecot, SmtpSink

REGISTRATION = (
    b"From: Anna Schulz <a.schulz@unna.de>\r\nTo: smartcity@dortmund.de\r\n"
    b"Subject: Anmeldung\r\nMessage-ID: <w1@unna.de>\r\n\r\n"
    b"Hiermit melde ich mich an.\r\n\r\nMit freundlichen Gruessen\r\nAnna Schulz\r\n"
)


def _start_worker(config: Path, imap: Dovecot) -> subprocess.Popen[str]:
    env = {**os.environ, PASSWORD_ENV: imap.password, "PYTHONIOENCODING": "utf-8"}
    return subprocess.Popen(
        [sys.executable, "-m", "inbox_bot", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_run_polls_at_once_refuses_a_second_worker_and_stops_on_sigterm(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    config = write_config(
        tmp_path, mailbox, smtp_sink, extra="[schedule]\npoll_interval_seconds = 30"
    )
    mailbox.append(REGISTRATION, datetime.fromisoformat("2018-11-10T10:00:00+01:00"))
    worker = _start_worker(config, mailbox)
    try:
        smtp_sink.wait_for(1, timeout=30)
        assert smtp_sink.messages[0].rcpt_tos == ("a.schulz@unna.de",)

        second = run_cli("poll", "--config", str(config), imap=mailbox, check=False)
        assert second.returncode == 1
        assert "already working" in second.stderr and "Traceback" not in second.stderr

        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=20)
        assert worker.returncode == 0, stderr
        assert time.monotonic() - started < 15
        assert "Traceback" not in stderr
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    status = run_cli("status", "--config", str(config)).stdout
    assert "1 von 10" in status
    last_poll = next(line for line in status.splitlines() if "last good poll" in line)
    assert last_poll.split()[-1] != "-"


def test_run_sends_the_reminder_when_it_becomes_due_not_at_the_next_interval(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    """A date job at the reminder moment: with a 10-minute interval the reminder still
    goes out seconds after it is due."""
    now = datetime.now(UTC)
    starts = now + timedelta(days=3, seconds=12)
    config = write_config(
        tmp_path,
        mailbox,
        smtp_sink,
        deadline=(now + timedelta(days=1)).isoformat(timespec="seconds"),
        starts_at=starts.isoformat(timespec="seconds"),
        ends_at=(starts + timedelta(hours=3)).isoformat(timespec="seconds"),
        extra="[schedule]\npoll_interval_seconds = 600\n[reminders]\ndays_before = 3\n",
    )
    mailbox.append(REGISTRATION, now - timedelta(minutes=1))
    worker = _start_worker(config, mailbox)
    try:
        first = smtp_sink.wait_for(1, timeout=30)
        assert first[0].message["Auto-Submitted"] == "auto-replied"  # the acceptance
        reminder = smtp_sink.wait_for(2, timeout=40)[1]
        assert reminder.message["Auto-Submitted"] == "auto-generated"
        assert reminder.rcpt_tos == ("a.schulz@unna.de",)
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=20)
        assert worker.returncode == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
