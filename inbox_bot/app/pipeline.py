"""The imperative shell: one poll cycle, one batch and one message at a time.

fetch (ports.Mailbox) -> parse, classify (the reader) -> decide (core/allocate.py)
-> persist (store) -> reply (app/outbox.py) -> mark (app/mark.py)

One message's way through the middle steps is app/process.py. A batch's decisions are
committed together (one transaction, a savepoint per mail); its replies go out only
after that commit; the mails are flagged last.
"""

from __future__ import annotations

import logging

from inbox_bot.adapters.store import iso
from inbox_bot.app.deps import CycleReport, Deps
from inbox_bot.app.mark import mark_done
from inbox_bot.app.notices import queue_notices
from inbox_bot.app.outbox import send_outbox
from inbox_bot.app.process import process
from inbox_bot.app.undecided import record_oversize
from inbox_bot.core.model import FetchedMail, MailMeta
from inbox_bot.errors import Interrupted
from inbox_bot.ports import Mailbox

log = logging.getLogger(__name__)


def run_once(deps: Deps, *, dry_run: bool = False) -> CycleReport:
    """Fetch and decide everything new; then send and mark (unless dry_run)."""
    report = CycleReport()
    folder = deps.settings.imap.folder
    with deps.open_mailbox() as mailbox:
        _warn_uidvalidity(deps, mailbox, report)
        # The cheap "anything new?": the same UIDVALIDITY and UIDNEXT as after the last
        # complete pass means no mail arrived since; no SEARCH, no list of done UIDs.
        seen = f"{folder} {mailbox.uidvalidity} {mailbox.uidnext}"
        unchanged = bool(mailbox.uidnext) and deps.store.get_meta("seen_uidnext") == seen
        done = set() if unchanged else deps.store.processed_uids(folder, mailbox.uidvalidity)
        pending = [] if unchanged else mailbox.pending(done)
        imap = deps.settings.imap
        for batch in batches(pending, imap.batch_size, imap.batch_bytes):
            if deps.stop.is_set():
                break
            # One transaction for the batch, a savepoint per mail (group commit),
            # committed before any of its replies leaves.
            with deps.store.batch():
                mails = _download(deps, mailbox, batch, report)
                for number, mail in enumerate(mails):
                    if deps.stop.is_set():
                        break
                    after = mails[number + 1] if number + 1 < len(mails) else None
                    try:
                        report.handled.append(process(deps, mail, then=after))
                    except Interrupted:
                        break  # SIGTERM while a mail was read: it stays for the next cycle
            if not dry_run and not deps.stop.is_set():
                send_outbox(deps, mailbox, report)
                mark_done(deps, mailbox)
        if not unchanged and not dry_run and not deps.stop.is_set():
            left = {m.uid for m in pending} - deps.store.processed_uids(folder, mailbox.uidvalidity)
            if not left:  # everything there was is decided: next time, UIDNEXT tells
                deps.store.set_meta("seen_uidnext", seen)
        if not dry_run and not deps.stop.is_set():
            # Reminders and closing notes due now, after this cycle's decisions (a person
            # confirmed just now inside the reminder window is reminded too); idempotent.
            queue_notices(deps, deps.clock())
            # Replies left from an earlier cycle (SMTP was down) go out even without new mail.
            send_outbox(deps, mailbox, report)
            mark_done(deps, mailbox)
    return report


def batches(items: list[MailMeta], count: int, max_bytes: int) -> list[list[MailMeta]]:
    """FETCH batches of at most `count` mails and `max_bytes` (RFC822.SIZE) in all, so
    that memory stays bounded by bytes; a mail larger than max_bytes goes alone."""
    out: list[list[MailMeta]] = []
    current: list[MailMeta] = []
    size = 0
    for item in items:
        if current and (len(current) >= count or size + item.size > max_bytes):
            out.append(current)
            current, size = [], 0
        current.append(item)
        size += item.size
    if current:
        out.append(current)
    return out


def _download(
    deps: Deps, mailbox: Mailbox, batch: list[MailMeta], report: CycleReport
) -> list[FetchedMail]:
    limit = deps.settings.imap.max_message_bytes
    for meta in batch:
        if meta.size > limit:
            report.handled.append(record_oversize(deps, mailbox.uidvalidity, meta, limit))
    return mailbox.download(m for m in batch if m.size <= limit)


def _warn_uidvalidity(deps: Deps, mailbox: Mailbox, report: CycleReport) -> None:
    known = deps.store.known_uidvalidities(deps.settings.imap.folder)
    if known and mailbox.uidvalidity not in known:
        alert = (
            f"UIDVALIDITY of {deps.settings.imap.folder} changed (mailbox recreated?): "
            "mail already decided is recognised by Message-ID and content and not answered again."
        )
        report.problems.append(alert)
        if deps.store.get_meta("alert_uidvalidity") != str(mailbox.uidvalidity):
            log.warning("%s", alert)
            deps.store.set_meta("alert", f"{iso(deps.clock())} {alert}")
            deps.store.set_meta("alert_uidvalidity", str(mailbox.uidvalidity))
