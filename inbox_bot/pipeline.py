"""The imperative shell: one poll cycle, one message at a time.

fetch (mailbox) -> parse -> classify -> decide (allocate) -> persist (store)
-> reply (render, smtp) -> mark (mailbox)

A message can never sink the batch: whatever goes wrong with one mail ends in a
review entry with its raw bytes kept. Only database trouble stops the cycle, and
then nothing about the current mail was written, so the next cycle takes it again.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from inbox_bot.allocate import Decision, Outcome, Request, decide
from inbox_bot.allocation_log import decision_record
from inbox_bot.classify import Context, classify
from inbox_bot.config import Settings
from inbox_bot.errors import (
    InboxBotError,
    SendError,
    SendPermanent,
    SendTemporary,
    SendUnknown,
    StoreError,
    TemplateError,
)
from inbox_bot.mailbox import Mailbox
from inbox_bot.model import FetchedMail, Intent, Kind, MailMeta, OutgoingRow, ParsedMail
from inbox_bot.parse import ParseFailure, parse_mail
from inbox_bot.render import Original, Renderer
from inbox_bot.smtp import SmtpSender
from inbox_bot.store import MessageRecord, OutboxItem, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Deps:
    settings: Settings
    store: Store
    context: Context
    renderer: Renderer
    clock: Callable[[], datetime]
    open_mailbox: Callable[[], Mailbox]
    open_smtp: Callable[[], SmtpSender]
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True, kw_only=True)
class Handled:
    """One line of the cycle report."""

    uid: int
    arrival: datetime
    sender: str
    kind: str
    decision: str
    persons: tuple[str, ...]
    reply: str | None
    needs_review: bool
    reason: str


@dataclass(kw_only=True)
class CycleReport:
    handled: list[Handled] = field(default_factory=list)
    sent: int = 0
    send_failed: int = 0
    send_waiting: int = 0
    problems: list[str] = field(default_factory=list)


def run_once(deps: Deps, *, dry_run: bool = False) -> CycleReport:
    """Fetch and decide everything new; then send and mark (unless dry_run)."""
    report = CycleReport()
    folder = deps.settings.imap.folder
    with deps.open_mailbox() as mailbox:
        _warn_uidvalidity(deps, mailbox, report)
        pending = mailbox.pending(deps.store.processed_uids(folder, mailbox.uidvalidity))
        for batch in _batches(pending, deps.settings.imap.batch_size):
            if deps.stop.is_set():
                break
            for mail in _download(deps, mailbox, batch, report):
                if deps.stop.is_set():
                    break
                report.handled.append(process(deps, mail))
            if not dry_run:
                send_outbox(deps, mailbox, report)
                mark_done(deps, mailbox)
        if not dry_run:
            # Replies left from an earlier cycle (SMTP was down) go out even without new mail.
            send_outbox(deps, mailbox, report)
            mark_done(deps, mailbox)
    return report


def _batches(items: list[MailMeta], size: int) -> list[list[MailMeta]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


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
        report.problems.append(
            f"UIDVALIDITY of {deps.settings.imap.folder} changed (mailbox recreated?): "
            "mail already decided is recognised by Message-ID and content and not answered again."
        )


# --- one message ---


def process(deps: Deps, mail: FetchedMail) -> Handled:
    """Decide one mail and persist decision, log record and replies in one transaction."""
    sha = hashlib.sha256(mail.raw).hexdigest()
    try:
        return _decide_and_record(deps, mail, sha)
    except (StoreError, sqlite3.Error):
        raise  # the database is the record; without it, stop and retry later
    except Exception as exc:  # one hostile mail must never stop the worker
        log.exception("message uid=%s could not be processed", mail.uid)
        reason = (
            f"Interner Fehler bei der Verarbeitung ({type(exc).__name__}); Rohdaten gespeichert."
        )
        return _record_review(deps, mail, sha, reason)


def _decide_and_record(deps: Deps, mail: FetchedMail, sha: str) -> Handled:
    try:
        parsed: ParsedMail | None = parse_mail(mail.raw)
    except ParseFailure as exc:
        return _record_review(deps, mail, sha, f"Mail nicht lesbar: {exc}")
    assert parsed is not None
    known = deps.store.known_copy(parsed.message_id, sha)
    if known is not None:
        return _record_copy(deps, mail, sha, parsed, known)
    intent = classify(parsed, deps.context)
    request = _request(mail, parsed, intent, sha)
    event = deps.settings.event
    state = deps.store.load_state(
        capacity=event.capacity,
        deadline=event.registration_deadline,
        event_start=event.starts_at,
    )
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


def _request(mail: FetchedMail, parsed: ParsedMail, intent: Intent, sha: str) -> Request:
    sender = parsed.sender.email if parsed.sender else ""
    contact = parsed.reply_address.email if parsed.reply_address else sender
    return Request(
        message_key=f"sha256:{sha[:24]}",
        uid=mail.uid,
        arrival=mail.arrival,
        sender=sender,
        contact=contact,
        intent=intent,
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


def _record_review(deps: Deps, mail: FetchedMail, sha: str, reason: str) -> Handled:
    """Unreadable or failed mail: staff get it with its raw bytes."""
    return _record_plain(
        deps, mail, sha, kind=Kind.OTHER, decision=Outcome.REVIEW, reason=reason, raw=mail.raw
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
    event = deps.settings.event
    record = {
        "time": deps.clock().isoformat(timespec="seconds"),
        "uid": mail.uid,
        "uidvalidity": mail.uidvalidity,
        "message_id": message_id,
        "received_at": event.local(mail.arrival).isoformat(),
        "sender": None,
        "reply_to": None,
        "kind": str(kind),
        "decision": str(decision),
        "seat": None,
        "waitlist_position": None,
        "persons": [],
        "promoted": [],
        "reply_message_id": None,
        "reply_message_ids": [],
        "needs_review": review,
        "reason": reason,
    }
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


# --- reply ---


def send_outbox(deps: Deps, mailbox: Mailbox, report: CycleReport) -> None:
    """Send what waits in the outbox over one SMTP connection."""
    pending = [_settle_unknown(deps, mailbox, item) for item in deps.store.pending_outbox()]
    todo = [item for item in pending if item is not None]
    if not todo:
        return
    try:
        with deps.open_smtp() as smtp:
            for item in todo:
                if not _send_one(deps, mailbox, smtp, item, report):
                    break
    except SendTemporary as exc:
        report.problems.append(f"Antworten warten im Postausgang: {exc}")
    report.send_waiting = len(deps.store.pending_outbox())


def _settle_unknown(deps: Deps, mailbox: Mailbox, item: OutboxItem) -> OutboxItem | None:
    """A reply whose submission may have gone out is looked up before it is sent again."""
    sent_folder = deps.settings.imap.sent_folder
    if item.state not in ("sending", "unknown") or not sent_folder:
        return item
    try:
        if mailbox.holds_message_id(sent_folder, item.message_id):
            deps.store.set_outbox_state(item.id, "sent")
            return None
    except InboxBotError as exc:
        log.warning("could not look up reply %s in %s: %s", item.id, sent_folder, exc)
    return item


def _send_one(
    deps: Deps, mailbox: Mailbox, smtp: SmtpSender, item: OutboxItem, report: CycleReport
) -> bool:
    """Submit one reply; False when the connection is gone and the batch must stop."""
    deps.store.set_outbox_state(item.id, "sending")
    try:
        smtp.send(item.recipient, item.data)
    except SendPermanent as exc:
        deps.store.set_outbox_state(item.id, "failed", str(exc))
        deps.store.flag_review(item.message_ref, f"Antwort nicht zustellbar: {exc}")
        report.send_failed += 1
        return True
    except SendUnknown as exc:
        deps.store.set_outbox_state(item.id, "unknown", str(exc))
        report.problems.append(f"Antwort {item.message_id}: Ausgang ungewiss ({exc})")
        return False
    except SendError as exc:
        deps.store.set_outbox_state(item.id, "retry", str(exc))
        report.problems.append(f"Antwort {item.message_id} wird später erneut gesendet: {exc}")
        return smtp.smtp is not None
    deps.store.set_outbox_state(item.id, "sent")
    report.sent += 1
    _save_copy(deps, mailbox, item)
    return True


def _save_copy(deps: Deps, mailbox: Mailbox, item: OutboxItem) -> None:
    folder = deps.settings.imap.sent_folder
    if not folder:
        return
    try:
        mailbox.save_copy(folder, item.data, deps.clock())
    except InboxBotError as exc:
        log.warning("reply %s sent but not copied to %s: %s", item.id, folder, exc)


# --- mark ---


def mark_done(deps: Deps, mailbox: Mailbox) -> None:
    """Flags last: answered mail \\Seen + \\Answered; staff review \\Flagged and unread."""
    for row in deps.store.unmarked(deps.settings.imap.folder, mailbox.uidvalidity):
        replies = deps.store.outbox_for_message(row["id"])
        if any(r.state not in ("sent", "failed") for r in replies):
            continue  # wait until the reply is out
        flags = []
        if any(r.state == "sent" for r in replies):
            flags.append("\\Answered")
        if row["needs_review"]:
            flags.append("\\Flagged")
        else:
            flags.append("\\Seen")
        mailbox.add_flags(row["uid"], flags)
        deps.store.set_marked(row["id"])
