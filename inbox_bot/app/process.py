"""One message through parse -> classify -> decide -> persist (the replies wait in the
outbox; app/outbox.py sends them, app/mark.py flags the mail).

A message can never sink the batch: whatever goes wrong with one mail ends in a review
entry with its raw bytes kept. parse and classify run in the reader (within a time and
memory budget, adapters/reader.py). Only database trouble stops the cycle, and then
nothing about the current mail was written, so the next cycle takes it again.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from inbox_bot.adapters.reader import message_id_of
from inbox_bot.adapters.store import MessageRecord, MessageRow
from inbox_bot.app.deps import Deps, Handled, current_state
from inbox_bot.core.allocate import Decision, Outcome, Request, decide
from inbox_bot.core.audit import MailRecord, mail_record, to_json, undecided_record
from inbox_bot.core.model import (
    FetchedMail,
    Intent,
    Kind,
    MailMeta,
    OutgoingRow,
    ParsedMail,
    Unreadable,
)
from inbox_bot.core.render import Original
from inbox_bot.errors import Interrupted, StoreError, TemplateError

log = logging.getLogger(__name__)

NEVER_FINISHED = (
    "Das Lesen dieser Mail wurde schon einmal begonnen und nie beendet (Absturz oder "
    "Abbruch): nicht erneut gelesen; Rohdaten gespeichert, bitte im Postfach lesen."
)


@dataclass(frozen=True, kw_only=True)
class _Plain:
    """A mail that reached no allocation, as it is recorded."""

    kind: Kind
    decision: str
    reason: str
    raw: bytes | None
    message_id: str | None = None
    review: bool = True


def process(deps: Deps, mail: FetchedMail) -> Handled:
    """Decide one mail and persist decision, log record and replies in one transaction."""
    sha = hashlib.sha256(mail.raw).hexdigest()
    try:
        return _decide_and_record(deps, mail, sha)
    except (StoreError, Interrupted):
        raise  # the database is the record; without it, stop and retry later
    except Exception as exc:  # one hostile mail must never stop the worker
        log.exception("message uid=%s could not be processed", mail.uid)
        reason = (
            f"Interner Fehler bei der Verarbeitung ({type(exc).__name__}); Rohdaten gespeichert."
        )
        return review(deps, mail, sha, reason, message_id_of(mail.raw))


def _decide_and_record(deps: Deps, mail: FetchedMail, sha: str) -> Handled:
    where = (mail.folder, mail.uidvalidity, mail.uid)
    if deps.store.was_started(*where):
        # An earlier run began reading this mail and never finished: the process died
        # (killed at the budget's end, out of memory, power). Never read it again.
        return review(deps, mail, sha, NEVER_FINISHED, message_id_of(mail.raw))
    result = deps.analyser.analyse(
        mail.raw, on_slow=lambda: deps.store.note_started(*where, deps.clock())
    )
    if isinstance(result, Unreadable):
        return review(deps, mail, sha, result.reason, result.message_id)
    parsed = result.parsed
    known = deps.store.known_copy(parsed.message_id, sha)
    if known is not None:
        return _record_copy(deps, mail, sha, parsed, known)
    request = _request(deps, mail, parsed, result.intent, sha)
    decision = decide(current_state(deps), request)
    original = Original(
        message_id=parsed.message_id, subject=parsed.subject, references=parsed.references
    )
    try:
        rows = deps.renderer.replies(decision, request, original, deps.clock())
        extra: list[str] = []
    except TemplateError as exc:
        rows, extra = [], [f"Antwort konnte nicht erstellt werden: {exc}"]
    return _persist(deps, mail, sha, parsed, request, decision, rows, extra)


def _request(
    deps: Deps, mail: FetchedMail, parsed: ParsedMail, intent: Intent, sha: str
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
        authorized=_authorized(deps, parsed),
    )


def _authorized(deps: Deps, parsed: ParsedMail) -> frozenset[str]:
    """Attendees that our mails which this mail answers were about (the Message-ID of
    our mail is the token), as far as that mail's recipient was entitled to them."""
    suffix = "@" + deps.settings.smtp.id_domain.lower() + ">"
    ours = [m for m in (*parsed.in_reply_to, *parsed.references) if m.lower().endswith(suffix)]
    return deps.store.authorized_by_replies(ours)


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
    now = deps.clock()
    record = mail_record(
        now=now,
        request=request,
        decision=decision,
        uidvalidity=mail.uidvalidity,
        message_id=parsed.message_id,
        reply_ids=[r.message_id for r in rows],
        extra_reasons=extra,
    )
    message = MessageRecord(
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
        needs_review=record.needs_review,
        review_reason=_with_evidence(record) if record.needs_review else "",
        raw=mail.raw if record.needs_review else None,
    )
    deps.store.record(message, decision.changes, rows, _json(deps, record), now)
    log.info(
        "uid=%s kind=%s decision=%s replies=%d review=%s",
        mail.uid,
        request.intent.kind,
        decision.outcome,
        len(rows),
        record.needs_review,
    )
    return _handled(mail, record, tuple(r.kind for r in rows), decision)


def _with_evidence(record: MailRecord) -> str:
    """The review reason, and what in the mail made the bot read it so."""
    if "«" not in record.evidence:
        return record.reason
    return f"{record.reason} (Erkannt an: {record.evidence})"


def _handled(
    mail: FetchedMail, record: MailRecord, replies: tuple[str, ...], decision: Decision | None
) -> Handled:
    persons: tuple[str, ...] = ()
    if decision is not None:
        persons = tuple(p.attendee.name for p in decision.placements) + tuple(
            f"{p.attendee.name} (nachgerückt / moved up)" for p in decision.promotions
        )
    return Handled(
        uid=mail.uid,
        arrival=mail.arrival,
        sender=record.sender or "",
        kind=record.kind,
        decision=record.decision,
        persons=persons,
        reply=", ".join(replies) or None,
        needs_review=record.needs_review,
        reason=record.reason,
    )


def _json(deps: Deps, record: MailRecord) -> dict[str, object]:
    return to_json(record, deps.settings.zone)


def review(deps: Deps, mail: FetchedMail, sha: str, reason: str, message_id: str | None) -> Handled:
    """Unreadable or failed mail: staff get it with its raw bytes and its Message-ID."""
    plain = _Plain(
        kind=Kind.OTHER,
        decision=str(Outcome.REVIEW),
        reason=reason,
        raw=mail.raw,
        message_id=message_id,
    )
    return _record_plain(deps, mail, sha, plain)


def _record_copy(
    deps: Deps, mail: FetchedMail, sha: str, parsed: ParsedMail, known: MessageRow
) -> Handled:
    """The same mail again (new UID, copied back, mailbox recreated): never answered twice."""
    same_bytes = known.raw_sha256 == sha
    reason = "Diese Mail wurde bereits verarbeitet (gleiche Message-ID); keine neue Entscheidung."
    if not same_bytes:
        reason += " Inhalt weicht ab: bitte prüfen."
    plain = _Plain(
        kind=Kind(known.kind),
        decision="already_processed",
        reason=reason,
        raw=None if same_bytes else mail.raw,
        message_id=parsed.message_id,
        review=not same_bytes,
    )
    return _record_plain(deps, mail, sha, plain)


def record_oversize(deps: Deps, uidvalidity: int, meta: MailMeta, limit: int) -> Handled:
    """Too large to download: staff read it in the mailbox."""
    mail = FetchedMail(
        folder=deps.settings.imap.folder,
        uidvalidity=uidvalidity,
        uid=meta.uid,
        arrival=meta.internaldate,
        size=meta.size,
        raw=b"",
    )
    reason = (
        f"Mail zu groß ({meta.size} Bytes, Grenze {limit}); nicht geladen, bitte im Postfach lesen."
    )
    plain = _Plain(kind=Kind.OTHER, decision=str(Outcome.REVIEW), reason=reason, raw=None)
    return _record_plain(deps, mail, f"size:{meta.uid}:{meta.size}", plain)


def _record_plain(deps: Deps, mail: FetchedMail, sha: str, plain: _Plain) -> Handled:
    now = deps.clock()
    record = undecided_record(
        now=now,
        uid=mail.uid,
        uidvalidity=mail.uidvalidity,
        message_id=plain.message_id,
        arrival=mail.arrival,
        kind=str(plain.kind),
        decision=plain.decision,
        needs_review=plain.review,
        reason=plain.reason,
    )
    message = MessageRecord(
        folder=mail.folder,
        uidvalidity=mail.uidvalidity,
        uid=mail.uid,
        message_key=f"sha256:{sha[:24]}",
        message_id=plain.message_id,
        raw_sha256=sha,
        received_at=mail.arrival,
        sender=None,
        reply_to=None,
        subject="",
        kind=str(plain.kind),
        decision=plain.decision,
        needs_review=plain.review,
        review_reason=plain.reason if plain.review else "",
        raw=plain.raw,
    )
    deps.store.record(message, (), (), _json(deps, record), now)
    log.info("uid=%s decision=%s review=%s", mail.uid, plain.decision, plain.review)
    return _handled(mail, record, (), None)
