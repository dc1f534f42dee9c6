"""Mail the bot sends by itself: queue the reminders and closing notes due now.

`core/notices.due_notices` decides who is due; `queue_notices` renders the notices and
puts them into the outbox, each in its own transaction together with its idempotency
record (the `notices` table: one row per attendee and kind, ever). The normal send step
of the cycle then sends them, with the same retries, caps and Sent-folder check as every
reply, so a notice is never sent twice, also not after a crash or a restart.
"""

from __future__ import annotations

import logging
from datetime import datetime

from inbox_bot.app.deps import Deps, current_state
from inbox_bot.core.notices import Notice, due_notices
from inbox_bot.core.render import Renderer
from inbox_bot.errors import TemplateError

log = logging.getLogger(__name__)


def queue_notices(deps: Deps, now: datetime) -> int:
    """Put the notices due now into the outbox; how many mails were queued."""
    reminders = deps.settings.reminders
    if reminders.days_before <= 0 and not reminders.final_note:
        return 0
    done = deps.store.notices_done()
    queued = 0
    for event in deps.settings.events:
        due = due_notices(
            current_state(deps, event.key),
            event,
            now,
            days_before=reminders.days_before,
            final_note=reminders.final_note,
            done=done,
        )
        queued += _queue(deps, deps.renderer.for_event(event), due, now)
    return queued


def _queue(deps: Deps, renderer: Renderer, due: list[Notice], now: datetime) -> int:
    queued = 0
    for notice in due:
        if deps.stop.is_set():
            break
        try:
            row = renderer.notice(notice.kind, notice.attendees, now)
        except TemplateError as exc:
            # Not noted as done: the next cycle tries again once staff fixed the template.
            log.warning("%s for %s not queued: %s", notice.kind, notice.attendees[0].id, exc)
            continue
        ids = [a.id for a in notice.attendees]
        if deps.store.queue_notice(ids, str(notice.kind), row, now):
            queued += 1
            log.info("%s queued for %d person(s)", notice.kind, len(notice.attendees))
    return queued
