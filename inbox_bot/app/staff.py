"""What staff do by hand: admit, cancel, resolve, resend, note (privacy: app/privacy.py).

Every action is one transaction that also appends a record to the allocation log with
who did it and why, so "why is X on the list?" always has an answer. Mails an action
causes go through the outbox like every other reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from inbox_bot.adapters.store import MessageRow, OutboxItem
from inbox_bot.app.deps import CycleReport, Deps, current_state, current_states
from inbox_bot.core.allocate import AllocationState, Outcome, Placement, Request, decide
from inbox_bot.core.audit import PersonEntry, StaffRecord, to_json
from inbox_bot.core.cancel import cancelled_notices
from inbox_bot.core.model import (
    Analysis,
    Attendee,
    Intent,
    Kind,
    OutgoingRow,
    Person,
    ReplyKind,
    Status,
)
from inbox_bot.core.names import same_address
from inbox_bot.core.render import Renderer
from inbox_bot.core.visible import counted
from inbox_bot.errors import ActionRefused, InboxBotError, NotFound

__all__ = ["ActionRefused", "NotFound", "Planned"]


@dataclass(frozen=True)
class Planned:
    """An action ready to commit: the changes, the mails it sends, its log record."""

    summary: str
    changes: tuple[Attendee, ...]
    mails: tuple[OutgoingRow, ...]
    record: StaffRecord
    resolve_ref: int | None = None


# --- finding people and mails ---


def state_of(
    deps: Deps, address: str | None, statuses: tuple[Status, ...], event: str | None
) -> AllocationState:
    """The event staff act in: the one given (--event), the only one, or in a series the
    one event where the address holds a place of these statuses."""
    if event is not None or not deps.settings.series:
        return current_state(deps, event or "")
    states = current_states(deps)
    holding = [
        key
        for key, state in states.items()
        if address is not None
        and any(
            a.status in statuses
            and (same_address(a.email, address) or same_address(a.contact, address))
            for a in state.attendees.values()
        )
    ]
    if len(holding) == 1:
        return states[holding[0]]
    if not holding:
        raise NotFound(f"no {'/'.join(statuses)} person with the address {address}")
    raise ActionRefused(
        f"{address} is in several events ({', '.join(holding)}); say which with --event KEY"
    )


def person(state: AllocationState, address: str, statuses: tuple[Status, ...]) -> Attendee:
    found = [
        a
        for a in state.attendees.values()
        if a.status in statuses
        and (same_address(a.email, address) or same_address(a.contact, address))
    ]
    if not found:
        raise NotFound(f"no {'/'.join(statuses)} person with the address {address}")
    if len(found) > 1:
        names = ", ".join(a.name for a in found)
        raise ActionRefused(
            f"{address} registered several persons ({names}); use their own address"
        )
    return found[0]


_UID_REF = re.compile(r"^(?:uid:?\s*)?(\d{1,10})$", re.I)


def find_mail(deps: Deps, reference: str) -> MessageRow:
    """A mail by its Message-ID, or by "UID:123" (mail without a usable Message-ID)."""
    by_uid = _UID_REF.match(reference.strip())
    if by_uid:
        folder = deps.settings.imap.folder
        found = deps.store.message_by_uid(folder, int(by_uid.group(1)))
        if found is None:
            raise NotFound(f"no mail with UID {by_uid.group(1)} in {folder}")
        return found
    wanted = reference if reference.startswith("<") else f"<{reference}>"
    row = deps.store.message_by_id(wanted)
    if row is None:
        raise NotFound(f"no mail with Message-ID {wanted}")
    return row


def _entry(attendee: Attendee) -> PersonEntry:
    return PersonEntry(
        name=attendee.name, attendee_id=attendee.id, status=str(attendee.status), seat=attendee.seat
    )


# --- actions ---


def attendee_by_id(deps: Deps, attendee_id: str) -> tuple[AllocationState, Attendee]:
    """A person by her attendee id (the console's links), with her event's state."""
    for state in current_states(deps).values():
        found = state.attendees.get(attendee_id)
        if found is not None:
            return state, found
    raise NotFound(f"no person with the id {attendee_id}")


def _active_target(
    deps: Deps, address: str, event: str | None, attendee_id: str | None
) -> tuple[AllocationState, Attendee]:
    """The person staff cancel, by attendee id (console) or by address (CLI)."""
    if attendee_id is not None:
        state, target = attendee_by_id(deps, attendee_id)
        if not target.active:
            raise ActionRefused(f"{target.name} is not registered ({target.status})")
        return state, target
    state = state_of(deps, address, (Status.CONFIRMED, Status.WAITLISTED), event)
    return state, person(state, address, (Status.CONFIRMED, Status.WAITLISTED))


def plan_cancel(
    deps: Deps,
    address: str,
    by: str,
    reason: str,
    event: str | None = None,
    attendee_id: str | None = None,
) -> Planned:
    state, target = _active_target(deps, address, event, attendee_id)
    now = deps.clock()
    request = Request(
        message_key=f"staff-{now.timestamp():.0f}",
        uid=0,
        arrival=now,
        sender=target.registrant,
        contact=target.registrant,
        intent=Intent(
            kind=Kind.CANCELLATION,
            persons=(Person(name=target.name, email=target.email),),
        ),
        authorized=frozenset({target.id}),
    )
    decision = decide(state, request)
    if decision.outcome is not Outcome.CANCELLED:
        raise ActionRefused(" ".join(decision.reasons) or "cannot cancel")
    renderer = renderer_of(deps, state)
    # The person cancelled (and who registered her) hears of it; nobody asked by mail.
    cancelled = [p.attendee for p in decision.placements]
    told = cancelled_notices(cancelled, "", by=deps.settings.smtp.from_name or "Das Team")
    mails = tuple(renderer.notify(n, now) for n in told)
    mails += tuple(renderer.promotion(p, now) for p in decision.promotions)
    promoted = [p.attendee.name for p in decision.promotions]
    record = StaffRecord(
        time=now,
        action="staff_cancelled",
        by=by,
        reason=reason,
        persons=(_entry(replace(target, status=Status.CANCELLED, seat=None)),),
        promoted=tuple(_entry(p.attendee) for p in decision.promotions),
        reply_message_ids=tuple(m.message_id for m in mails),
        event=state.event if state.series else "",
    )
    summary = f"Abmelden: {target.name}" + (
        f"; rückt nach: {', '.join(promoted)}" if promoted else ""
    )
    return Planned(summary, decision.changes, mails, record)


def plan_admit_person(
    deps: Deps,
    address: str,
    by: str,
    reason: str,
    force: bool,
    event: str | None = None,
    attendee_id: str | None = None,
) -> Planned:
    statuses = (Status.WAITLISTED, Status.LATE, Status.CANCELLED)
    if attendee_id is not None:
        state, target = attendee_by_id(deps, attendee_id)
        if target.status not in statuses:
            raise ActionRefused(f"{target.name} already has a seat")
    else:
        state = state_of(deps, address, statuses, event)
        target = person(state, address, statuses)
    return _admit(deps, state, (target,), by, reason, force, resolve_ref=None)


def plan_admit_mail(
    deps: Deps, reference: str, by: str, reason: str, force: bool, event: str | None = None
) -> Planned:
    """Admit the persons of a mail staff reviewed (or a late one) as a registration."""
    row = find_mail(deps, reference)
    state = current_state(deps, _event_of_mail(deps, row, event))
    existing = tuple(a for a in state.attendees.values() if a.message_key == row.message_key)
    if existing:
        return _admit(deps, state, existing, by, reason, force, resolve_ref=row.id)
    request = _request_from_mail(deps, row)
    # Decided as if on time: staff admit it on purpose.
    on_time = replace(state, deadline=max(state.deadline, request.arrival))
    decision = decide(on_time, request)
    fresh = tuple(p.attendee for p in decision.placements if not p.duplicate)
    after = replace(state, attendees={**state.attendees, **{a.id: a for a in decision.changes}})
    return _admit(deps, after, fresh, by, reason, force, resolve_ref=row.id)


def _event_of_mail(deps: Deps, row: MessageRow, event: str | None) -> str:
    """The event a mail's persons are admitted in: --event, the only one, or the one
    event the mail was placed in."""
    if event is not None or not deps.settings.series:
        return event or ""
    if len(row.events) == 1:
        return row.events[0]
    raise ActionRefused("which event? give --event KEY (the mail is in none or several)")


def renderer_of(deps: Deps, state: AllocationState) -> Renderer:
    """The renderer of the state's event."""
    event = deps.settings.event_for(state.event) if state.event else deps.settings.events[0]
    return deps.renderer.for_event(event)


def _request_from_mail(deps: Deps, row: MessageRow) -> Request:
    raw = deps.store.raw_of(row.id)
    if raw is None:
        raise ActionRefused("the mail's text is not kept; admit the person by address instead")
    # Read within the same budget as in a poll: a mail in review may be a hostile one.
    result = deps.analyser.analyse(raw)
    if not isinstance(result, Analysis):
        raise ActionRefused(f"the mail cannot be read ({result.reason}); admit by address")
    parsed, intent = result.parsed, result.intent
    if not intent.persons or parsed.reply_address is None:
        raise ActionRefused("no person found in that mail; admit the person by address instead")
    return Request(
        message_key=row.message_key,
        uid=row.uid,
        arrival=row.received_at,
        sender=parsed.sender.email if parsed.sender else parsed.reply_address.email,
        contact=parsed.reply_address.email,
        intent=replace(intent, kind=Kind.REGISTRATION, review_reasons=()),
    )


def _admit(
    deps: Deps,
    state: AllocationState,
    targets: tuple[Attendee, ...],
    by: str,
    reason: str,
    force: bool,
    resolve_ref: int | None,
) -> Planned:
    now = deps.clock()
    changes = _seated(state, targets, force)
    renderer = renderer_of(deps, state)
    mails = tuple(_notify(renderer, a, now) for a in changes)
    record = StaffRecord(
        time=now,
        action="staff_admitted",
        by=by,
        reason=reason,
        persons=tuple(_entry(a) for a in changes),
        reply_message_ids=tuple(m.message_id for m in mails),
        event=state.event if state.series else "",
    )
    names = ", ".join(f"{a.name} (Platz {a.seat})" for a in changes)
    return Planned(f"Zulassen: {names}", tuple(changes), mails, record, resolve_ref)


def _seated(state: AllocationState, targets: tuple[Attendee, ...], force: bool) -> list[Attendee]:
    """The targets with a seat each: a free one, or with `force` one beyond the capacity."""
    attendees = dict(state.attendees)
    changes = []
    for target in targets:
        if target.status is Status.CONFIRMED and target.id in state.attendees:
            continue
        seat = replace(state, attendees=attendees).free_seat()
        if seat is None:
            if not force:
                raise ActionRefused(
                    f"Alle {state.capacity} Plätze sind vergeben (all seats taken): ein"
                    " Zusatzplatz nur ausdrücklich (extra seat: --force, or tick the box)"
                )
            seat = max((a.seat or 0 for a in attendees.values()), default=0) + 1
        admitted = replace(target, status=Status.CONFIRMED, seat=seat)
        attendees[admitted.id] = admitted
        changes.append(admitted)
    if not changes:
        raise ActionRefused("already confirmed")
    return changes


def _notify(renderer: Renderer, attendee: Attendee, now: datetime) -> OutgoingRow:
    placement = Placement(attendee=attendee)
    context = renderer.context((placement,), attendee.language, arrival=attendee.arrival)
    return renderer.compose(
        kind=ReplyKind.ACCEPTANCE,
        recipient=attendee.reply_address,
        subject=renderer.subject("admitted", attendee.language),
        text=renderer.body(ReplyKind.ACCEPTANCE, attendee.language, context),
        now=now,
        original=None,
    )


def commit(deps: Deps, planned: Planned) -> None:
    deps.store.apply_changes(
        planned.changes,
        planned.mails,
        to_json(planned.record, deps.settings.zone),
        deps.clock(),
        resolve_ref=planned.resolve_ref,
    )


def resolve(deps: Deps, reference: str, by: str, reason: str) -> str:
    row = find_mail(deps, reference)
    record = StaffRecord(
        time=deps.clock(), action="staff_resolved", by=by, reason=reason, message_id=row.message_id
    )
    deps.store.resolve(row.id, to_json(record, deps.settings.zone))
    return f"Erledigt: {row.reference} ({row.sender or '-'}, {row.subject or '-'})"


def reply_to_resend(deps: Deps, message_id: str) -> OutboxItem:
    """The reply a resend would send (by its Message-ID or the original's)."""
    wanted = message_id if message_id.startswith("<") else f"<{message_id}>"
    item = deps.store.find_reply(wanted)
    if item is None:
        raise ActionRefused(f"no reply found for {wanted}")
    return item


def resend(deps: Deps, message_id: str, by: str, reason: str) -> str:
    """The same reply again: same Message-ID and bytes, so it is recognisable as a copy."""
    item = reply_to_resend(deps, message_id)
    record = StaffRecord(
        time=deps.clock(),
        action="staff_resent",
        by=by,
        reason=reason,
        reply_message_id=item.message_id,
    )
    deps.store.requeue(item.id, to_json(record, deps.settings.zone))
    return f"Erneut senden an {item.recipient}: {item.message_id}"


def note(deps: Deps, subject: str, by: str, reason: str) -> str:
    record = StaffRecord(
        time=deps.clock(), action="staff_note", by=by, reason=reason, about=subject
    )
    deps.store.append_log(to_json(record, deps.settings.zone))
    return f"Notiz gespeichert zu {subject}"


def send_now(deps: Deps) -> str:
    """Send at once when no worker runs; a running worker sends it with its next cycle."""
    from inbox_bot.app.mark import mark_done
    from inbox_bot.app.outbox import send_outbox

    if deps.store.is_locked_elsewhere():
        return "Der laufende Dienst sendet die Mail beim nächsten Abruf."
    report = CycleReport()
    try:
        with deps.open_mailbox() as mailbox:
            send_outbox(deps, mailbox, report)
            mark_done(deps, mailbox)
    except InboxBotError as exc:
        return f"Noch nicht gesendet ({exc}); geht mit dem nächsten Abruf hinaus."
    return f"{counted(report.sent, 'Mail', 'Mails')} gesendet." if report.sent else ""
