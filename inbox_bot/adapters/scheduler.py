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

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger(__name__)


FIRST_RETRY_SECONDS = 5
STOP_GRACE_SECONDS = 60


def run_forever(
    cycle: Callable[[], bool],
    interval_seconds: int,
    stop: threading.Event,
    moments: Sequence[datetime] = (),
) -> None:
    """Call `cycle` every interval and at the given moments; after a failed cycle retry
    sooner, with growing pauses."""
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

    failures = 0
    busy = threading.Lock()  # held while a cycle runs, so stopping can wait for it

    def guarded() -> None:
        nonlocal failures
        if stop.is_set():
            return
        try:
            with busy:
                ok = cycle()
        except Exception:  # the worker outlives any single failed cycle
            log.exception("poll cycle failed")
            ok = False
        if ok:
            failures = 0
            return
        failures += 1
        # Capped backoff: a restarting server is found again soon, a dead one not hammered.
        pause = min(FIRST_RETRY_SECONDS * 2 ** (failures - 1), interval_seconds)
        log.warning("retrying in %s s (failure %d in a row)", pause, failures)
        scheduler.add_job(
            guarded,
            "date",
            run_date=datetime.now(UTC) + timedelta(seconds=pause),
            id="retry",
            replace_existing=True,
        )

    scheduler.add_job(
        guarded, "interval", seconds=interval_seconds, id="poll", next_run_time=datetime.now(UTC)
    )
    for number, moment in enumerate(sorted(m for m in moments if m > datetime.now(UTC))):
        scheduler.add_job(guarded, "date", run_date=moment, id=f"notices-{number}")

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the current mail, then stopping", signum)
        stop.set()
        scheduler.shutdown(wait=False)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        scheduler.start()
        # The cycle at hand finishes its mail (it checks `stop`) before the store closes.
        if busy.acquire(timeout=STOP_GRACE_SECONDS):
            busy.release()
        else:
            log.warning("the running cycle did not finish within %s s", STOP_GRACE_SECONDS)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
