"""Mail that reaches no allocation: unreadable, failed, too large, or a copy of one
already decided. Each is recorded (with its raw bytes where staff need them) and, but
for an unchanged copy, put in front of staff."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from inbox_bot.adapters.store import MessageRecord, MessageRow
from inbox_bot.app.deps import Deps, Handled
from inbox_bot.app.recording import handled_line, log_json, store_mail
from inbox_bot.core.allocate import Outcome
from inbox_bot.core.audit import undecided_record
from inbox_bot.core.model import FetchedMail, Kind, MailMeta, ParsedMail

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class _Plain:
    """A mail that reached no allocation, as it is recorded."""

    kind: Kind
    decision: str
    reason: str
    raw: bytes | None
    message_id: str | None = None
    review: bool = True


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


def record_copy(
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
    store_mail(deps, message, (), (), [log_json(deps, record)], now)
    log.info("uid=%s decision=%s review=%s", mail.uid, plain.decision, plain.review)
    return handled_line(mail, record, (), [])
