"""`poll` and `run`: one cycle with what follows it, and the scheduled worker."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from tabulate import tabulate

from inbox_bot.adapters.idle import IdleWatcher
from inbox_bot.adapters.logfile import sync_log_file
from inbox_bot.adapters.scheduler import run_forever
from inbox_bot.adapters.store import iso
from inbox_bot.app.deps import CycleReport, Deps
from inbox_bot.app.pipeline import run_once
from inbox_bot.config import Settings
from inbox_bot.core.visible import shown
from inbox_bot.errors import InboxBotError

log = logging.getLogger(__name__)

AfterCycle = Callable[[Deps], None]


def poll_cycle(
    deps: Deps, *, dry_run: bool = False, after: AfterCycle | None = None
) -> CycleReport:
    """One cycle; then the status, the log file and `after` (the report page)."""
    try:
        report = run_once(deps, dry_run=dry_run)
    except InboxBotError as exc:
        if not dry_run:
            deps.store.set_meta("last_poll_error", f"{iso(deps.clock())} {exc}")
        raise
    if not dry_run:
        deps.store.set_meta("last_poll_ok", iso(deps.clock()))
        sync_log_file(deps.store, deps.settings.storage.log)
        if after is not None:
            after(deps)
    return report


def run_worker(
    deps: Deps,
    stop: threading.Event,
    after: AfterCycle | None = None,
    watch: Callable[[Callable[[], None]], object] | None = None,
) -> None:
    """Poll at the configured interval and at the notice moments until `stop`; with
    `watch` (IMAP IDLE, adapters/idle.py) also whenever it reports new mail."""

    paced: list[datetime | None] = [None]  # when replies held by the sending rate may go

    def cycle() -> bool:
        paced[0] = None
        try:
            report = poll_cycle(deps, after=after)
        except InboxBotError as exc:
            log.warning("poll failed: %s", exc)
            return False
        paced[0] = report.next_send_at
        log.info(
            "poll done: %d mails, %d replies sent, %d waiting",
            len(report.handled),
            report.sent,
            report.send_waiting,
        )
        for problem in report.problems:
            log.warning("%s", problem)
        if report.smtp_unreachable:
            log.warning("SMTP: %s; replies wait in the outbox", report.smtp_unreachable)
        return True

    settings = deps.settings
    run_forever(
        cycle,
        settings.schedule.poll_interval_seconds,
        stop,
        notice_moments(settings),
        clock=deps.clock,
        push=watch,
        follow_up=lambda: paced[0],
    )


def idle_watch(settings: Settings, stop: threading.Event) -> Callable[[Callable[[], None]], object]:
    """`run`'s push: an IMAP IDLE watcher on its own connection (adapters/idle.py)."""

    def start(wake: Callable[[], None]) -> object:
        return IdleWatcher(settings.imap, wake, stop).start()

    return start


def notice_moments(settings: Settings) -> list[datetime]:
    """When reminders and the closing note become due: `run` polls at these moments too."""
    reminders = settings.reminders
    moments = []
    for event in settings.events:
        if reminders.days_before > 0:
            moments.append(event.starts_at - timedelta(days=reminders.days_before))
        if reminders.final_note:
            moments.append(event.starts_at)
    return sorted(moments)


def cycle_lines(report: CycleReport, settings: Settings, *, dry_run: bool) -> list[str]:
    """What a cycle did, as the lines `poll` prints: a table and a summary."""
    rows: list[list[Any]] = [
        [
            h.uid,
            h.arrival.astimezone(settings.zone).strftime("%d.%m.%Y %H:%M:%S"),
            shown(h.sender or "-"),
            h.kind,
            h.decision,
            shown(", ".join(h.persons) or "-"),
            h.reply or "-",
            "yes" if h.needs_review else "",
        ]
        for h in report.handled
    ]
    head = ["UID", "arrived", "from", "kind", "decision", "persons", "reply", "review"]
    lines = [tabulate(rows, headers=head, tablefmt="simple") if rows else "No new mail."]
    if dry_run:
        lines.append("Dry run: nothing was sent, stored or marked.")
    else:
        lines.append(
            f"{len(report.handled)} mails processed, {report.sent} replies sent, "
            f"{report.send_waiting} waiting, {report.send_failed} failed."
        )
    return lines
