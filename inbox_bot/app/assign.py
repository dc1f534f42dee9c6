"""Staff place a mail from the review queue in an event (`inbox-bot assign`, and the
console's "register persons" form, where staff may enter the persons by hand).

The mail is decided in that event exactly as a poll would have decided it on arrival:
with its original arrival time, so the deadline that counts is that event's, and a
place on the waitlist is ordered by when the mail arrived. Waiting in review costs
nobody a place; nobody who was told they have a seat loses it either. The reply goes
out like any reply; the decision is one record of the allocation log, and a second
one says who placed it and why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from inbox_bot.adapters.store import MessageRow
from inbox_bot.app.deps import Deps, current_state
from inbox_bot.app.staff import find_mail, renderer_of
from inbox_bot.core.allocate import Decision, Outcome, Request, decide
from inbox_bot.core.audit import StaffRecord, mail_record, to_json
from inbox_bot.core.model import Analysis, Intent, Kind, OutgoingRow, Person
from inbox_bot.core.render import Original
from inbox_bot.errors import ActionRefused

_PLACEABLE = (Kind.REGISTRATION, Kind.CANCELLATION)


@dataclass(frozen=True, kw_only=True)
class PlannedAssign:
    """A placement ready to commit: what it decides, the mails it sends, its records."""

    row: MessageRow
    event: str
    decision: Decision
    mails: tuple[OutgoingRow, ...]
    records: tuple[dict[str, Any], ...]

    @property
    def summary(self) -> str:
        names = ", ".join(
            f"{p.attendee.name}: {p.attendee.status}" for p in self.decision.placements
        )
        where = f" -> {self.event}" if self.event else ""
        return f"Zugeordnet: {self.row.reference}{where} ({self.decision.outcome}; {names})"


def assign(deps: Deps, reference: str, event: str, by: str, reason: str) -> str:
    """Decide a reviewed mail in `event`; returns what happened, in a line."""
    return commit_assign(deps, plan_assign(deps, reference, event, by, reason))


def plan_assign(
    deps: Deps,
    reference: str,
    event: str,
    by: str,
    reason: str,
    persons: tuple[Person, ...] | None = None,
) -> PlannedAssign:
    """The decision in `event`; with `persons`, for those persons (entered by staff)."""
    settings = deps.settings
    if event not in {e.key for e in settings.events}:
        known = ", ".join(e.key for e in settings.events)
        raise ActionRefused(f"no event {event!r} (events: {known})")
    row = find_mail(deps, reference)
    if not row.waiting_for_staff:
        raise ActionRefused(f"{row.reference} is not waiting for staff (already decided)")
    original, request = _reread(deps, row, persons)
    state = current_state(deps, event)
    decision = decide(state, request)
    if decision.outcome is Outcome.REVIEW:
        raise ActionRefused(" ".join(decision.reasons) or "the event's rules send it back")
    now = deps.clock()
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
    records = (
        to_json(replace(record, needs_review=False), settings.zone),
        to_json(staff, settings.zone),
    )
    return PlannedAssign(
        row=row, event=event, decision=decision, mails=tuple(rows), records=records
    )


def commit_assign(deps: Deps, planned: PlannedAssign) -> str:
    deps.store.apply_changes(
        planned.decision.changes,
        planned.mails,
        list(planned.records),
        deps.clock(),
        resolve_ref=planned.row.id,
    )
    if planned.event:
        deps.store.set_events(planned.row.id, [planned.event])
    return planned.summary


def _reread(
    deps: Deps, row: MessageRow, persons: tuple[Person, ...] | None
) -> tuple[Original, Request]:
    """The mail read again, within the reader's budget, as a request at its arrival."""
    raw = deps.store.raw_of(row.id)
    result = deps.analyser.analyse(raw) if raw is not None else None
    if isinstance(result, Analysis):
        parsed, intent = result.parsed, result.intent
        sender = parsed.sender.email if parsed.sender else row.sender or ""
        contact = parsed.reply_address.email if parsed.reply_address else sender
        original = Original(
            message_id=parsed.message_id, subject=parsed.subject, references=parsed.references
        )
        answered = [*parsed.in_reply_to, *parsed.references]
    elif persons:  # unreadable, but staff read it and say who comes
        sender, contact = row.sender or "", row.reply_to or row.sender or ""
        intent = Intent(kind=Kind.REGISTRATION)
        original = Original(message_id=row.message_id, subject=row.subject or "")
        answered = []
    else:
        raise ActionRefused("the mail's text cannot be read; enter the persons by hand")
    if persons:
        intent = Intent(kind=Kind.REGISTRATION, persons=persons, language=intent.language)
    elif intent.kind not in _PLACEABLE or not intent.persons:
        raise ActionRefused(
            f"the mail reads as {intent.kind}, not as a registration or cancellation with "
            "names; enter the persons by hand, or resolve it"
        )
    if not contact:
        raise ActionRefused("the mail has no sender address to answer")
    request = Request(
        message_key=row.message_key,
        uid=row.uid,
        arrival=row.received_at,  # the original arrival decides, not today
        sender=sender,
        contact=contact,
        intent=replace(intent, review_reasons=(), events=(), quoted_events=()),
        authorized=deps.store.authorized_by_replies(answered),
    )
    return original, request
