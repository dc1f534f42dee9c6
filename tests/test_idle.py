"""Push with IMAP IDLE under `inbox-bot run`, against a real Dovecot: a mail is answered
long before the poll interval, also after the server cut the watcher's connection;
a server without IDLE is polled as before. And in process: a wake-up that comes while
a cycle runs is not lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from servers import Dovecot, SmtpSink
from test_faults import T0, Bot, bot_process, registration

from inbox_bot.adapters.scheduler import _Runner

# Dovecot's own list without IDLE: a server that cannot push.
NO_IDLE = (
    "\nimap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ "
    "UIDPLUS MULTIAPPEND UNSELECT NAMESPACE CHILDREN\n"
)


def _wait_for_text(path: Path, text: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in path.read_text(encoding="utf-8", errors="replace"):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.integration
def test_run_answers_new_mail_at_once_not_at_the_poll_interval(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    # A poll interval of 5 minutes: a reply within 30 s can only come from IDLE.
    bot = Bot(tmp_path / "bot", mailbox, smtp_sink, extra="[schedule]\npoll_interval_seconds = 300")
    log_path = tmp_path / "worker.log"
    with bot_process(bot, "run", log_path) as worker:
        assert _wait_for_text(log_path, "poll done", 30), log_path.read_text()
        mailbox.append(registration("Jonas Wehrmann", "jonas.wehrmann@unna.de", "1"), T0)
        smtp_sink.wait_for(1, timeout=30)
        # The server cuts the watcher's connection: it connects again and still pushes.
        mailbox.kick()
        mailbox.append(registration("Lea Sommerfeld", "lea.sommerfeld@hamm.de", "2"), T0)
        smtp_sink.wait_for(2, timeout=60)
        worker.terminate()
        assert worker.wait(timeout=20) == 0
    said = log_path.read_text(encoding="utf-8")
    # The watcher noticed the restart and connected again (no restart of the worker).
    assert "IMAP IDLE connection lost" in said and "Traceback" not in said, said
    assert {m.rcpt_tos for m in smtp_sink.messages} == {
        ("jonas.wehrmann@unna.de",),
        ("lea.sommerfeld@hamm.de",),
    }


@pytest.fixture
def no_idle_server() -> Iterator[Dovecot]:
    with Dovecot(extra_config=NO_IDLE) as server:
        yield server


@pytest.mark.integration
def test_a_server_without_idle_is_polled_as_before(
    tmp_path: Path, no_idle_server: Dovecot, smtp_sink: SmtpSink
) -> None:
    bot = Bot(
        tmp_path / "bot", no_idle_server, smtp_sink, extra="[schedule]\npoll_interval_seconds = 10"
    )
    log_path = tmp_path / "worker.log"
    with bot_process(bot, "run", log_path) as worker:
        assert _wait_for_text(log_path, "offers no IDLE", 30), log_path.read_text()
        no_idle_server.append(registration("Tim Albers", "tim.albers@hamm.de", "3"), T0)
        smtp_sink.wait_for(1, timeout=40)  # at the next poll, within the 10 s interval
        worker.terminate()
        assert worker.wait(timeout=20) == 0
    assert "Traceback" not in log_path.read_text(encoding="utf-8")


def test_a_wake_up_during_a_cycle_runs_the_cycle_again() -> None:
    scheduler = BackgroundScheduler(timezone=UTC)  # never started: jobs only wait in it
    calls: list[int] = []

    def cycle() -> bool:
        calls.append(len(calls))
        if len(calls) == 1:
            runner.wake()  # new mail announced while this cycle works
        return True

    runner = _Runner(cycle, 300, threading.Event(), scheduler, lambda: datetime.now(UTC))
    runner.guarded()
    assert calls == [0, 1]  # ran again at once, not at the next interval
    assert scheduler.get_job("push") is None  # and not queued a second time
    runner.wake()  # idle: a cycle is scheduled now
    assert scheduler.get_job("push") is not None


def test_after_a_stop_a_wake_up_schedules_nothing() -> None:
    scheduler = BackgroundScheduler(timezone=UTC)
    stop = threading.Event()
    runner = _Runner(lambda: True, 300, stop, scheduler, lambda: datetime.now(UTC))
    stop.set()
    runner.wake()
    assert scheduler.get_job("push") is None


def test_replies_held_by_the_sending_rate_bring_the_worker_back_for_them() -> None:
    scheduler = BackgroundScheduler(timezone=UTC)
    later = datetime(2030, 1, 1, tzinfo=UTC)
    runner = _Runner(
        lambda: True, 300, threading.Event(), scheduler, lambda: datetime.now(UTC), lambda: later
    )
    runner.guarded()
    job = scheduler.get_job("follow-up")
    assert job is not None and job.trigger.run_date == later
