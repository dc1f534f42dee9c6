"""`inbox-bot run`: APScheduler calls one poll cycle at a fixed interval.

Never two cycles at once (max_instances=1), a late cycle still runs (generous
misfire grace), and SIGINT/SIGTERM stop cleanly: the current mail finishes, the rest
waits for the next start.

Reminders and the closing note to the waitlist: every cycle (in `run` and in a single
`poll` alike) queues the notices that are due (`inbox_bot.app.notices.queue_notices`) and
sends them; the `notices` table makes that idempotent, so a restart can neither lose
nor repeat one. On top, `run` schedules date jobs at the moments notices become due
(the reminder time, the event start), so that they go out on time even with a long
poll interval; a missed date job is harmless, the next cycle catches up.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger(__name__)


FIRST_RETRY_SECONDS = 5
STOP_GRACE_SECONDS = 60


def run_forever(
    cycle: Callable[[], bool],
    interval_seconds: int,
    stop: threading.Event,
    moments: Sequence[datetime],
    clock: Callable[[], datetime],
    push: Callable[[Callable[[], None]], object] | None = None,
    follow_up: Callable[[], datetime | None] = lambda: None,
) -> None:
    """Call `cycle` every interval and at the given moments; after a failed cycle retry
    sooner, with growing pauses. `push(wake)` starts a watcher (IMAP IDLE) that calls
    `wake` when mail arrives: a cycle then runs at once. Returns when SIGINT/SIGTERM
    set `stop`. After a good cycle, `follow_up()` may name a moment for one more (replies
    that wait for the provider's sending rate)."""
    # UTC: interval triggers then never meet a daylight-saving gap or fold.
    scheduler = BlockingScheduler(
        timezone=UTC,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": max(interval_seconds, 60),
        },
        executors={"default": {"type": "threadpool", "max_workers": 1}},
    )
    runner = _Runner(cycle, interval_seconds, stop, scheduler, clock, follow_up)
    now = clock()
    scheduler.add_job(
        runner.guarded, "interval", seconds=interval_seconds, id="poll", next_run_time=now
    )
    for number, moment in enumerate(sorted(m for m in moments if m > now)):
        scheduler.add_job(runner.guarded, "date", run_date=moment, id=f"notices-{number}")
    previous = {s: signal.signal(s, runner.on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    if push is not None:
        push(runner.wake)
    try:
        scheduler.start()
        runner.wait_for_cycle()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class _Runner:
    """One cycle at a time, retries after failures, a clean stop on a signal."""

    def __init__(
        self,
        cycle: Callable[[], bool],
        interval_seconds: int,
        stop: threading.Event,
        scheduler: BaseScheduler,
        clock: Callable[[], datetime],
        follow_up: Callable[[], datetime | None] = lambda: None,
    ) -> None:
        self.cycle, self.interval, self.stop = cycle, interval_seconds, stop
        self.scheduler, self.clock, self.follow_up = scheduler, clock, follow_up
        self.failures = 0
        self.busy = threading.Lock()  # held while a cycle runs, so stopping can wait for it
        # A wake-up while a cycle runs is not lost (APScheduler would drop the job with
        # max_instances=1): it sets `pending`, and the running cycle goes round again.
        self.flags = threading.Lock()
        self.running = False
        self.pending = False

    def wake(self) -> None:
        """New mail announced (IDLE): a cycle now, or again right after the running one."""
        with self.flags:
            self.pending = True
            if self.running or self.stop.is_set():
                return
        with contextlib.suppress(SchedulerNotRunningError):
            self.scheduler.add_job(self.guarded, id="push", replace_existing=True)

    def guarded(self) -> None:
        if self.stop.is_set():
            return
        try:
            with self.busy:
                ok = self._cycles()
        except Exception:  # the worker outlives any single failed cycle
            log.exception("poll cycle failed")
            ok = False
        finally:
            with self.flags:
                self.running = False
        if ok:
            self.failures = 0
            moment = self.follow_up()
            if moment is not None and not self.stop.is_set():
                with contextlib.suppress(SchedulerNotRunningError):
                    self.scheduler.add_job(
                        self.guarded, "date", run_date=moment, id="follow-up", replace_existing=True
                    )
            return
        self.failures += 1
        # Capped backoff: a restarting server is found again soon, a dead one not hammered.
        pause = min(FIRST_RETRY_SECONDS * 2 ** (self.failures - 1), self.interval)
        log.warning("retrying in %s s (failure %d in a row)", pause, self.failures)
        self.scheduler.add_job(
            self.guarded,
            "date",
            run_date=self.clock() + timedelta(seconds=pause),
            id="retry",
            replace_existing=True,
        )

    def _cycles(self) -> bool:
        """One cycle, and another as long as a wake-up came in during the last one."""
        while True:
            with self.flags:
                self.running, self.pending = True, False
            ok = self.cycle()
            with self.flags:
                if not ok or not self.pending or self.stop.is_set():
                    return ok

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the current mail, then stopping", signum)
        self.stop.set()
        self.scheduler.shutdown(wait=False)

    def wait_for_cycle(self) -> None:
        # The cycle at hand finishes its mail (it checks `stop`) before the store closes.
        if self.busy.acquire(timeout=STOP_GRACE_SECONDS):
            self.busy.release()
        else:
            log.warning("the running cycle did not finish within %s s", STOP_GRACE_SECONDS)
