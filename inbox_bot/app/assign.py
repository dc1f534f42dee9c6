"""`inbox-bot assign`: staff place a mail from the review queue in an event of the series.

The mail is read again and decided in that event exactly as a poll would have decided
it on arrival: with its original arrival time, so the deadline that counts is that
event's, and a place on the waitlist is ordered by when the mail arrived. Waiting in
review costs nobody a place; nobody who was told they have a seat loses it either. The
reply goes out like any reply; the decision is one record of the allocation log, with
who assigned it and why.
"""

from __future__ import annotations

from dataclasses import replace

from inbox_bot.adapters.store import MessageRow
from inbox_bot.app.deps import Deps, current_state
from inbox_bot.app.staff import find_mail, renderer_of
from inbox_bot.core.allocate import Outcome, Request, decide
from inbox_bot.core.audit import StaffRecord, mail_record, to_json
from inbox_bot.core.model import Analysis, Kind, ParsedMail
from inbox_bot.core.render import Original
from inbox_bot.errors import ActionRefused

_PLACEABLE = (Kind.REGISTRATION, Kind.CANCELLATION)


def assign(deps: Deps, reference: str, event: str, by: str, reason: str) -> str:
    """Decide a reviewed mail in `event`; returns what happened, in a line."""
    settings = deps.settings
    if event not in {e.key for e in settings.events}:
        known = ", ".join(e.key for e in settings.events)
        raise ActionRefused(f"no event {event!r} (events: {known})")
    row = find_mail(deps, reference)
    if not row.waiting_for_staff:
        raise ActionRefused(f"{row.reference} is not waiting for staff (already decided)")
    parsed, request = _reread(deps, row)
    state = current_state(deps, event)
    decision = decide(state, request)
    if decision.outcome is Outcome.REVIEW:
        raise ActionRefused(" ".join(decision.reasons) or "the event's rules send it back")
    now = deps.clock()
    original = Original(
        message_id=parsed.message_id, subject=parsed.subject, references=parsed.references
    )
    rows = renderer_of(deps, state).replies(decision, request, original, now)
    key = event if settings.series else ""
    record = mail_record(
        now=now,
        request=request,
        decision=decision,
        uidvalidity=row.uidvalidity,
        message_id=row.message_id,
        reply_ids=[r.message_id for r in rows],
        extra_reasons=[f"Von Hand zugeordnet ({by}): {reason}".rstrip(": ")],
        event=key,
    )
    staff = StaffRecord(
        time=now,
        action="staff_assigned",
        by=by,
        reason=reason,
        message_id=row.message_id,
        event=key,
    )
    records = [
        to_json(replace(record, needs_review=False), settings.zone),
        to_json(staff, settings.zone),
    ]
    deps.store.apply_changes(decision.changes, rows, records, now, resolve_ref=row.id)
    deps.store.set_events(row.id, [event])
    names = ", ".join(f"{p.attendee.name}: {p.attendee.status}" for p in decision.placements)
    return f"Zugeordnet: {row.reference} -> {event} ({decision.outcome}; {names})"


def _reread(deps: Deps, row: MessageRow) -> tuple[ParsedMail, Request]:
    """The mail read again, within the reader's budget, as a request at its arrival."""
    raw = deps.store.raw_of(row.id)
    result = deps.analyser.analyse(raw) if raw is not None else None
    if not isinstance(result, Analysis):
        raise ActionRefused("the mail's text cannot be read; use admit by address instead")
    parsed, intent = result.parsed, result.intent
    if intent.kind not in _PLACEABLE or not intent.persons:
        raise ActionRefused(
            f"the mail reads as {intent.kind}, not as a registration or cancellation with "
            "names; use admit by address, or resolve it"
        )
    sender = parsed.sender.email if parsed.sender else ""
    request = Request(
        message_key=row.message_key,
        uid=row.uid,
        arrival=row.received_at,  # the original arrival decides, not today
        sender=sender,
        contact=parsed.reply_address.email if parsed.reply_address else sender,
        intent=replace(intent, review_reasons=(), events=(), quoted_events=()),
        authorized=deps.store.authorized_by_replies([*parsed.in_reply_to, *parsed.references]),
    )
    return parsed, request
