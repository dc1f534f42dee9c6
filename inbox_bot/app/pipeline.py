"""The imperative shell: one poll cycle, one message at a time.

fetch (mailbox) -> parse -> classify -> decide (allocate) -> persist (store)
-> reply (render, smtp) -> mark (mailbox)

A message can never sink the batch: whatever goes wrong with one mail ends in a
review entry with its raw bytes kept. parse and classify run inside a time and memory
budget (inbox_bot/analyse.py), so a hostile mail cannot hold the worker either. Only
database trouble stops the cycle, and then nothing about the current mail was
written, so the next cycle takes it again.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3

from inbox_bot.adapters.logfile import decision_record, undecided_record
from inbox_bot.adapters.mailbox import Mailbox
from inbox_bot.adapters.reader import Interrupted, Unreadable, message_id_of
from inbox_bot.adapters.store import MessageRecord, iso
from inbox_bot.app.deps import CycleReport, Deps, Handled, current_state
from inbox_bot.app.mark import mark_done
from inbox_bot.app.notices import queue_notices
from inbox_bot.app.outbox import send_outbox
from inbox_bot.core.allocate import Decision, Outcome, Request, decide
from inbox_bot.core.model import FetchedMail, Intent, Kind, MailMeta, OutgoingRow, ParsedMail
from inbox_bot.core.render import Original
from inbox_bot.errors import (
    StoreError,
    TemplateError,
)

log = logging.getLogger(__name__)


def run_once(deps: Deps, *, dry_run: bool = False) -> CycleReport:
    """Fetch and decide everything new; then send and mark (unless dry_run)."""
    report = CycleReport()
    folder = deps.settings.imap.folder
    with deps.open_mailbox() as mailbox:
        _warn_uidvalidity(deps, mailbox, report)
        pending = mailbox.pending(deps.store.processed_uids(folder, mailbox.uidvalidity))
        imap = deps.settings.imap
        for batch in batches(pending, imap.batch_size, imap.batch_bytes):
            if deps.stop.is_set():
                break
            for mail in _download(deps, mailbox, batch, report):
                if deps.stop.is_set():
                    break
                try:
                    report.handled.append(process(deps, mail))
                except Interrupted:
                    break  # SIGTERM while a mail was read: it stays for the next cycle
            if not dry_run and not deps.stop.is_set():
                send_outbox(deps, mailbox, report)
                mark_done(deps, mailbox)
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
            report.handled.append(_record_oversize(deps, mailbox, meta, limit))
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


# --- one message ---


def process(deps: Deps, mail: FetchedMail) -> Handled:
    """Decide one mail and persist decision, log record and replies in one transaction."""
    sha = hashlib.sha256(mail.raw).hexdigest()
    try:
        return _decide_and_record(deps, mail, sha)
    except (StoreError, sqlite3.Error, Interrupted):
        raise  # the database is the record; without it, stop and retry later
    except Exception as exc:  # one hostile mail must never stop the worker
        log.exception("message uid=%s could not be processed", mail.uid)
        reason = (
            f"Interner Fehler bei der Verarbeitung ({type(exc).__name__}); Rohdaten gespeichert."
        )
        return _record_review(deps, mail, sha, reason, message_id_of(mail.raw))


def _decide_and_record(deps: Deps, mail: FetchedMail, sha: str) -> Handled:
    where = (mail.folder, mail.uidvalidity, mail.uid)
    if deps.store.was_started(*where):
        # An earlier run began reading this mail and never finished: the process died
        # (killed at the budget's end, out of memory, power). Never read it again.
        reason = (
            "Das Lesen dieser Mail wurde schon einmal begonnen und nie beendet (Absturz oder "
            "Abbruch): nicht erneut gelesen; Rohdaten gespeichert, bitte im Postfach lesen."
        )
        return _record_review(deps, mail, sha, reason, message_id_of(mail.raw))
    result = deps.analyser.analyse(
        mail.raw, on_slow=lambda: deps.store.note_started(*where, deps.clock())
    )
    if isinstance(result, Unreadable):
        return _record_review(deps, mail, sha, result.reason, result.message_id)
    parsed, intent = result.parsed, result.intent
    known = deps.store.known_copy(parsed.message_id, sha)
    if known is not None:
        return _record_copy(deps, mail, sha, parsed, known)
    request = _request(mail, parsed, intent, sha, _authorized(deps, parsed))
    state = current_state(deps)
    decision = decide(state, request)
    original = Original(
        message_id=parsed.message_id, subject=parsed.subject, references=parsed.references
    )
    extra: list[str] = []
    try:
        rows = deps.renderer.replies(decision, request, original, deps.clock())
    except TemplateError as exc:
        rows = []
        extra.append(f"Antwort konnte nicht erstellt werden: {exc}")
    return _persist(deps, mail, sha, parsed, request, decision, rows, extra)


def _authorized(deps: Deps, parsed: ParsedMail) -> frozenset[str]:
    """Attendees that our mails which this mail answers were about (the Message-ID of
    our mail is the token), as far as that mail's recipient was entitled to them."""
    suffix = "@" + deps.settings.smtp.id_domain.lower() + ">"
    ours = [m for m in (*parsed.in_reply_to, *parsed.references) if m.lower().endswith(suffix)]
    return deps.store.authorized_by_replies(ours)


def _request(
    mail: FetchedMail, parsed: ParsedMail, intent: Intent, sha: str, authorized: frozenset[str]
) -> Request:
    sender = parsed.sender.email if parsed.sender else ""
    contact = parsed.reply_address.email if parsed.reply_address else sender
    return Request(
        message_key=f"sha256:{sha[:24]}",
        uid=mail.uid,
        arrival=mail.arrival,
        sender=sender,
        contact=contact,
        intent=intent,
        authorized=authorized,
    )


def _persist(
    deps: Deps,
    mail: FetchedMail,
    sha: str,
    parsed: ParsedMail,
    request: Request,
    decision: Decision,
    rows: list[OutgoingRow],
    extra: list[str],
) -> Handled:
    needs_review = decision.needs_review or bool(extra)
    reasons = [*decision.reasons, *extra]
    record = decision_record(
        event=deps.settings.event,
        request=request,
        decision=decision,
        uidvalidity=mail.uidvalidity,
        message_id=parsed.message_id,
        reply_ids=[r.message_id for r in rows],
        extra_reasons=extra,
    )
    deps.store.record(
        MessageRecord(
            folder=mail.folder,
            uidvalidity=mail.uidvalidity,
            uid=mail.uid,
            message_key=request.message_key,
            message_id=parsed.message_id,
            raw_sha256=sha,
            received_at=mail.arrival,
            sender=request.sender or None,
            reply_to=request.contact or None,
            subject=parsed.subject,
            kind=str(request.intent.kind),
            decision=str(decision.outcome),
            needs_review=needs_review,
            review_reason=" ".join(reasons) if needs_review else "",
            raw=mail.raw if needs_review else None,
        ),
        decision.changes,
        rows,
        record,
    )
    log.info(
        "uid=%s kind=%s decision=%s replies=%d review=%s",
        mail.uid,
        request.intent.kind,
        decision.outcome,
        len(rows),
        needs_review,
    )
    return Handled(
        uid=mail.uid,
        arrival=mail.arrival,
        sender=request.sender,
        kind=str(request.intent.kind),
        decision=str(decision.outcome),
        persons=tuple(p.attendee.name for p in decision.placements)
        + tuple(f"{p.attendee.name} (nachgerückt / moved up)" for p in decision.promotions),
        reply=", ".join(r.kind for r in rows) or None,
        needs_review=needs_review,
        reason=" ".join(reasons),
    )


def _record_review(
    deps: Deps, mail: FetchedMail, sha: str, reason: str, message_id: str | None
) -> Handled:
    """Unreadable or failed mail: staff get it with its raw bytes and its Message-ID."""
    return _record_plain(
        deps,
        mail,
        sha,
        kind=Kind.OTHER,
        decision=Outcome.REVIEW,
        reason=reason,
        raw=mail.raw,
        message_id=message_id,
    )


def _record_copy(
    deps: Deps, mail: FetchedMail, sha: str, parsed: ParsedMail, known: sqlite3.Row
) -> Handled:
    """The same mail again (new UID, copied back, mailbox recreated): never answered twice."""
    same_bytes = known["raw_sha256"] == sha
    reason = "Diese Mail wurde bereits verarbeitet (gleiche Message-ID); keine neue Entscheidung."
    if not same_bytes:
        reason += " Inhalt weicht ab: bitte prüfen."
    return _record_plain(
        deps,
        mail,
        sha,
        kind=Kind(known["kind"]),
        decision="already_processed",
        reason=reason,
        raw=None if same_bytes else mail.raw,
        message_id=parsed.message_id,
        review=not same_bytes,
    )


def _record_oversize(deps: Deps, mailbox: Mailbox, meta: MailMeta, limit: int) -> Handled:
    mail = FetchedMail(
        folder=deps.settings.imap.folder,
        uidvalidity=mailbox.uidvalidity,
        uid=meta.uid,
        arrival=meta.internaldate,
        size=meta.size,
        raw=b"",
    )
    reason = (
        f"Mail zu groß ({meta.size} Bytes, Grenze {limit}); nicht geladen, bitte im Postfach lesen."
    )
    return _record_plain(
        deps,
        mail,
        f"size:{meta.uid}:{meta.size}",
        kind=Kind.OTHER,
        decision=Outcome.REVIEW,
        reason=reason,
        raw=None,
    )


def _record_plain(
    deps: Deps,
    mail: FetchedMail,
    sha: str,
    *,
    kind: Kind,
    decision: str,
    reason: str,
    raw: bytes | None,
    message_id: str | None = None,
    review: bool = True,
) -> Handled:
    record = undecided_record(
        event=deps.settings.event,
        uid=mail.uid,
        uidvalidity=mail.uidvalidity,
        message_id=message_id,
        arrival=mail.arrival,
        kind=str(kind),
        decision=str(decision),
        needs_review=review,
        reason=reason,
    )
    deps.store.record(
        MessageRecord(
            folder=mail.folder,
            uidvalidity=mail.uidvalidity,
            uid=mail.uid,
            message_key=f"sha256:{sha[:24]}",
            message_id=message_id,
            raw_sha256=sha,
            received_at=mail.arrival,
            sender=None,
            reply_to=None,
            subject="",
            kind=str(kind),
            decision=str(decision),
            needs_review=review,
            review_reason=reason if review else "",
            raw=raw,
        ),
        (),
        (),
        record,
    )
    log.info("uid=%s decision=%s review=%s", mail.uid, decision, review)
    return Handled(
        uid=mail.uid,
        arrival=mail.arrival,
        sender="",
        kind=str(kind),
        decision=str(decision),
        persons=(),
        reply=None,
        needs_review=review,
        reason=reason,
    )
