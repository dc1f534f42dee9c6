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
from dataclasses import replace

from inbox_bot.adapters.reader import message_id_of
from inbox_bot.adapters.store import MessageRecord
from inbox_bot.app.deps import Deps, Handled, current_states
from inbox_bot.app.recording import Decided, handled_line, log_json, store_mail
from inbox_bot.app.routing import route_mail
from inbox_bot.app.undecided import record_copy, review
from inbox_bot.core.allocate import Request, decide
from inbox_bot.core.allocation import to_staff
from inbox_bot.core.audit import MailRecord, mail_record
from inbox_bot.core.authenticity import judge
from inbox_bot.core.model import (
    FetchedMail,
    Intent,
    OutgoingRow,
    ParsedMail,
    Unreadable,
)
from inbox_bot.core.render import Original
from inbox_bot.core.render_series import Part
from inbox_bot.core.render_series import replies as series_replies
from inbox_bot.core.route import Signals
from inbox_bot.errors import Interrupted, StoreError, TemplateError

log = logging.getLogger(__name__)

NEVER_FINISHED = (
    "Das Lesen dieser Mail wurde schon einmal begonnen und nie beendet (Absturz oder "
    "Abbruch): nicht erneut gelesen; Rohdaten gespeichert, bitte im Postfach lesen."
)


def process(deps: Deps, mail: FetchedMail, then: FetchedMail | None = None) -> Handled:
    """Decide one mail and persist decision, log record and replies in one transaction;
    `then`, the mail after it, is read meanwhile by the reader process."""
    sha = hashlib.sha256(mail.raw).hexdigest()
    try:
        return _decide_and_record(deps, mail, sha, then)
    except (StoreError, Interrupted):
        raise  # the database is the record; without it, stop and retry later
    except Exception as exc:  # one hostile mail must never stop the worker
        log.exception("message uid=%s could not be processed", mail.uid)
        reason = (
            f"Interner Fehler bei der Verarbeitung ({type(exc).__name__}); Rohdaten gespeichert."
        )
        return review(deps, mail, sha, reason, message_id_of(mail.raw))


def _decide_and_record(
    deps: Deps, mail: FetchedMail, sha: str, then: FetchedMail | None = None
) -> Handled:
    where = (mail.folder, mail.uidvalidity, mail.uid)
    if deps.store.was_started(*where):
        # An earlier run began reading this mail and never finished: the process died
        # (killed at the budget's end, out of memory, power). Never read it again.
        return review(deps, mail, sha, NEVER_FINISHED, message_id_of(mail.raw))
    result = deps.analyser.analyse(
        mail.raw, on_slow=lambda: deps.store.note_started(*where, deps.clock())
    )
    # Read ahead: the next mail is parsed and classified while this one is decided,
    # unless it is one a run began and never finished (it is never read again).
    if then is not None and not deps.store.was_started(then.folder, then.uidvalidity, then.uid):
        deps.analyser.prefetch(then.raw)
    if isinstance(result, Unreadable):
        return review(deps, mail, sha, result.reason, result.message_id)
    parsed = result.parsed
    known = deps.store.known_copy(parsed.message_id, sha)
    if known is not None:
        return record_copy(deps, mail, sha, parsed, known)
    request = _request(deps, mail, parsed, result.intent, sha)
    parts = decide_parts(deps, parsed, request)
    original = Original(
        message_id=parsed.message_id, subject=parsed.subject, references=parsed.references
    )
    try:
        rows = _replies(deps, parts, request, original)
        extra: list[str] = []
    except TemplateError as exc:
        rows, extra = [], [f"Antwort konnte nicht erstellt werden: {exc}"]
    return _persist(deps, mail, sha, parsed, request, parts, rows, extra)


def decide_parts(deps: Deps, parsed: ParsedMail, request: Request) -> list[Decided]:
    """The mail decided in each event it is for (one, for an [event] config)."""
    intent = request.intent
    states = current_states(deps)
    first = next(iter(states))
    if intent.kind.automatic or intent.review_reasons:
        return [Decided(event="", request=request, decision=decide(states[first], request))]
    routed = route_mail(deps, parsed, intent, Signals(arrival=request.arrival), states)
    if routed.problem is not None:
        return [Decided(event="", request=request, decision=to_staff((routed.problem,)))]
    if not routed.parts:  # a question, thanks: about one event, or about the series
        key = routed.events[0] if len(routed.events) == 1 else ""
        state = states[key or first]
        return [Decided(event=key, request=request, decision=decide(state, request))]
    decided = []
    for key, persons in routed.parts:
        part = replace(request, intent=replace(intent, persons=persons, events=()))
        decided.append(Decided(event=key, request=part, decision=decide(states[key], part)))
    return decided


def _replies(
    deps: Deps, parts: list[Decided], request: Request, original: Original
) -> list[OutgoingRow]:
    now, renderer = deps.clock(), deps.renderer
    if len(parts) == 1:
        only = parts[0]
        own = (
            renderer.for_event(deps.settings.event_for(only.event))
            if only.event
            else (renderer.for_series())
        )
        return own.replies(only.decision, only.request, original, now)
    events = [Part(event=deps.settings.event_for(p.event), decision=p.decision) for p in parts]
    return series_replies(renderer, events, request, original, now)


def _request(
    deps: Deps, mail: FetchedMail, parsed: ParsedMail, intent: Intent, sha: str
) -> Request:
    sender = parsed.sender.email if parsed.sender else ""
    contact = parsed.reply_address.email if parsed.reply_address else sender
    trust = deps.settings.authenticity
    vouched = judge(
        parsed.header("authentication-results"),
        frozenset(trust.trusted_authserv_ids),
        exchange_online=trust.exchange_online,
    )
    configured = bool(trust.trusted_authserv_ids) or trust.exchange_online
    return Request(
        message_key=f"sha256:{sha[:24]}",
        uid=mail.uid,
        arrival=mail.arrival,
        sender=sender,
        contact=contact,
        intent=intent,
        authorized=_authorized(deps, parsed),
        authenticity=str(vouched.verdict) if configured else "",
        authenticity_evidence=vouched.evidence,
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
    parts: list[Decided],
    rows: list[OutgoingRow],
    extra: list[str],
) -> Handled:
    now = deps.clock()
    series = deps.settings.series
    records = [
        mail_record(
            now=now,
            request=part.request,
            decision=part.decision,
            uidvalidity=mail.uidvalidity,
            message_id=parsed.message_id,
            reply_ids=[r.message_id for r in rows if _about(r, part)],
            extra_reasons=extra,
            event=part.event if series else "",
        )
        for part in parts
    ]
    record = records[0]
    message = _message(mail, sha, parsed, request, parts, records, series)
    changes = [a for part in parts for a in part.decision.changes]
    store_mail(deps, message, changes, rows, [log_json(deps, r) for r in records], now)
    log.info(
        "uid=%s kind=%s decision=%s replies=%d review=%s",
        mail.uid,
        request.intent.kind,
        message.decision,
        len(rows),
        message.needs_review,
    )
    handled = handled_line(mail, record, tuple(r.kind for r in rows), parts)
    return replace(handled, decision=message.decision, needs_review=message.needs_review)


def _message(
    mail: FetchedMail,
    sha: str,
    parsed: ParsedMail,
    request: Request,
    parts: list[Decided],
    records: list[MailRecord],
    series: bool,
) -> MessageRecord:
    """The messages row: what the review queue, the exports and the marking read."""
    needs_review = any(r.needs_review for r in records)
    reasons = [_with_evidence(r) for r in records if r.needs_review]
    return MessageRecord(
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
        decision=_outcome(parts, series),
        needs_review=needs_review,
        review_reason=" ".join(dict.fromkeys(reasons)),
        raw=mail.raw if needs_review else None,
        events=tuple(p.event for p in parts if p.event) if series else (),
    )


def _about(row: OutgoingRow, part: Decided) -> bool:
    """A reply belongs in a part's record when it is about that part's persons (the
    combined reply of a series is about all of them), or about nobody."""
    ids = {pl.attendee.id for pl in (*part.decision.placements, *part.decision.promotions)}
    ids |= {pl.attendee.id for n in part.decision.notices for pl in n.placements}
    return not row.attendee_ids or bool(ids & set(row.attendee_ids))


def _outcome(parts: list[Decided], series: bool) -> str:
    """The decision as the review queue and the exports show it: per event in a series
    decided in several ("energie: confirmed; daten: waitlisted")."""
    if len(parts) == 1 or not series:
        return str(parts[0].decision.outcome)
    return "; ".join(f"{p.event}: {p.decision.outcome}" for p in parts)


def _with_evidence(record: MailRecord) -> str:
    """The review reason, and what in the mail made the bot read it so."""
    if "«" not in record.evidence:
        return record.reason
    return f"{record.reason} (Erkannt an: {record.evidence})"
