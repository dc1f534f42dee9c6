"""`inbox-bot run`: APScheduler calls one poll cycle at a fixed interval.

Never two cycles at once (max_instances=1), a late cycle still runs (generous
misfire grace), and SIGINT/SIGTERM stop cleanly: the current mail finishes, the rest
waits for the next start.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger(__name__)


def run_forever(cycle: Callable[[], None], interval_seconds: int, stop: threading.Event) -> None:
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

    def guarded() -> None:
        if stop.is_set():
            return
        try:
            cycle()
        except Exception:  # the worker outlives any single failed cycle
            log.exception("poll cycle failed; next try in %s s", interval_seconds)

    scheduler.add_job(
        guarded, "interval", seconds=interval_seconds, id="poll", next_run_time=datetime.now(UTC)
    )

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the current mail, then stopping", signum)
        stop.set()
        scheduler.shutdown(wait=False)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        scheduler.start()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
