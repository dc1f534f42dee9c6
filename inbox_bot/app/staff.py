"""What staff do by hand: admit, cancel, resolve, resend, note, forget, purge.

Every action is one transaction that also appends a record to the allocation log with
who did it and why, so "why is X on the list?" always has an answer. Mails an action
causes go through the outbox like every other reply.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

from inbox_bot.adapters.reader import Analysis
from inbox_bot.adapters.store import iso
from inbox_bot.app.deps import Deps, current_state
from inbox_bot.core.allocate import (
    AllocationState,
    Decision,
    Outcome,
    Placement,
    Request,
    decide,
    find_holder,
)
from inbox_bot.core.model import Attendee, Intent, Kind, OutgoingRow, Person, ReplyKind, Status
from inbox_bot.core.names import same_address
from inbox_bot.errors import InboxBotError

REDACTED = "(gelöscht)"


class ActionRefused(InboxBotError):
    """The action cannot be done as asked; the message says why."""


class NotFound(ActionRefused):
    """No such person or mail."""


@dataclass(frozen=True)
class Planned:
    """An action ready to commit: the changes, the mails it sends, its log record."""

    summary: str
    changes: tuple[Attendee, ...]
    mails: tuple[OutgoingRow, ...]
    record: dict[str, Any]
    resolve_ref: int | None = None


# --- finding people and mails ---


def state_of(deps: Deps) -> AllocationState:
    return current_state(deps)


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


def message_row(deps: Deps, reference: str) -> Any:
    """A mail by its Message-ID, or by "UID:123" (mail without a usable Message-ID)."""
    by_uid = _UID_REF.match(reference.strip())
    if by_uid:
        row = deps.store.db.execute(
            "SELECT * FROM messages WHERE folder = ? AND uid = ? "
            "ORDER BY uidvalidity DESC, id DESC LIMIT 1",
            (deps.settings.imap.folder, int(by_uid.group(1))),
        ).fetchone()
        if row is None:
            raise NotFound(f"no mail with UID {by_uid.group(1)} in {deps.settings.imap.folder}")
        return row
    wanted = reference if reference.startswith("<") else f"<{reference}>"
    row = deps.store.db.execute(
        "SELECT * FROM messages WHERE message_id = ? ORDER BY id LIMIT 1", (wanted,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no mail with Message-ID {wanted}")
    return row


def _record(action: str, by: str, reason: str, now: datetime, **facts: Any) -> dict[str, Any]:
    return {
        "time": iso(now),
        "kind": "staff",
        "decision": action,
        "by": by,
        "reason": reason,
        **facts,
    }


# --- actions ---


def plan_cancel(deps: Deps, address: str, by: str, reason: str) -> Planned:
    state = state_of(deps)
    target = person(state, address, (Status.CONFIRMED, Status.WAITLISTED))
    now = deps.clock()
    request = Request(
        message_key=f"staff-{now.timestamp():.0f}",
        uid=0,
        arrival=now,
        sender=target.contact,
        contact=target.contact,
        intent=Intent(
            kind=Kind.CANCELLATION,
            persons=(Person(name=target.name, email=target.email),),
        ),
    )
    decision = decide(state, request)
    if decision.outcome is not Outcome.CANCELLED:
        raise ActionRefused(" ".join(decision.reasons) or "cannot cancel")
    mails = tuple(deps.renderer.promotion(p, now) for p in decision.promotions)
    promoted = [p.attendee.name for p in decision.promotions]
    record = _record(
        "staff_cancelled",
        by,
        reason,
        now,
        persons=[target.name],
        promoted=promoted,
        reply_message_ids=[m.message_id for m in mails],
    )
    summary = f"Abmelden: {target.name}" + (
        f"; rückt nach: {', '.join(promoted)}" if promoted else ""
    )
    return Planned(summary, decision.changes, mails, record)


def plan_admit_person(deps: Deps, address: str, by: str, reason: str, force: bool) -> Planned:
    state = state_of(deps)
    target = person(state, address, (Status.WAITLISTED, Status.LATE, Status.CANCELLED))
    return _admit(deps, state, (target,), by, reason, force, resolve_ref=None)


def plan_admit_mail(deps: Deps, message_id: str, by: str, reason: str, force: bool) -> Planned:
    """Admit the persons of a mail staff reviewed (or a late one) as a registration."""
    from inbox_bot.core.classify import classify
    from inbox_bot.core.parse import parse_mail

    row = message_row(deps, message_id)
    state = state_of(deps)
    existing = tuple(a for a in state.attendees.values() if a.message_key == row["message_key"])
    if existing:
        return _admit(deps, state, existing, by, reason, force, resolve_ref=row["id"])
    if row["raw"] is None:
        raise ActionRefused("the mail's text is not kept; admit the person by address instead")
    parsed = parse_mail(bytes(row["raw"]))
    intent = classify(parsed, deps.context)
    if not intent.persons or parsed.reply_address is None:
        raise ActionRefused("no person found in that mail; admit the person by address instead")
    request = Request(
        message_key=row["message_key"],
        uid=row["uid"],
        arrival=datetime.fromisoformat(row["received_at"]),
        sender=parsed.sender.email if parsed.sender else parsed.reply_address.email,
        contact=parsed.reply_address.email,
        intent=replace(intent, kind=Kind.REGISTRATION, review_reasons=()),
    )
    # Decided as if on time: staff admit it on purpose.
    on_time = replace(state, deadline=max(state.deadline, request.arrival))
    decision = decide(on_time, request)
    fresh = tuple(p.attendee for p in decision.placements if not p.duplicate)
    after = replace(state, attendees={**state.attendees, **{a.id: a for a in decision.changes}})
    return _admit(deps, after, fresh, by, reason, force, resolve_ref=row["id"])


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
    attendees = dict(state.attendees)
    changes = []
    for target in targets:
        if target.status is Status.CONFIRMED and target.id in state.attendees:
            continue
        current = replace(state, attendees=attendees)
        seat = current.free_seat()
        if seat is None:
            if not force:
                raise ActionRefused(
                    f"all {state.capacity} seats are taken; use --force to admit over capacity"
                )
            seat = max((a.seat or 0 for a in attendees.values()), default=0) + 1
        admitted = replace(target, status=Status.CONFIRMED, seat=seat)
        attendees[admitted.id] = admitted
        changes.append(admitted)
    if not changes:
        raise ActionRefused("already confirmed")
    placements = tuple(Placement(attendee=a) for a in changes)
    decision = Decision(
        outcome=Outcome.CONFIRMED, reply=ReplyKind.ACCEPTANCE, placements=placements
    )
    mails = tuple(_notify(deps, a, decision, now) for a in changes)
    record = _record(
        "staff_admitted",
        by,
        reason,
        now,
        persons=[a.name for a in changes],
        seats=[a.seat for a in changes],
        reply_message_ids=[m.message_id for m in mails],
    )
    names = ", ".join(f"{a.name} (Platz {a.seat})" for a in changes)
    return Planned(f"Zulassen: {names}", tuple(changes), mails, record, resolve_ref)


def _notify(deps: Deps, attendee: Attendee, decision: Decision, now: datetime) -> OutgoingRow:
    renderer = deps.renderer
    placement = Placement(attendee=attendee)
    context = renderer.context((placement,), attendee.language, arrival=attendee.arrival)
    title = deps.settings.event.title
    subject = (
        f"Ihre Anmeldung: {title}" if attendee.language == "de" else f"Your registration: {title}"
    )
    return renderer.compose(
        kind=ReplyKind.ACCEPTANCE,
        recipient=attendee.reply_address,
        subject=subject,
        text=renderer.body(ReplyKind.ACCEPTANCE, attendee.language, context),
        now=now,
        original=None,
    )


def commit(deps: Deps, planned: Planned) -> None:
    deps.store.apply_changes(planned.changes, planned.mails, planned.record)
    if planned.resolve_ref is not None:
        set_resolved(deps, planned.resolve_ref)


def set_resolved(deps: Deps, message_ref: int) -> None:
    with deps.store.transaction() as db:
        db.execute("UPDATE messages SET resolved = 1, marked = 0 WHERE id = ?", (message_ref,))


def resolve(deps: Deps, message_id: str, by: str, reason: str) -> str:
    row = message_row(deps, message_id)
    with deps.store.transaction() as db:
        db.execute("UPDATE messages SET resolved = 1, marked = 0 WHERE id = ?", (row["id"],))
        deps.store._append_log(
            db, _record("staff_resolved", by, reason, deps.clock(), message_id=row["message_id"])
        )
    name = row["message_id"] or f"UID:{row['uid']}"
    return f"Erledigt: {name} ({row['sender'] or '-'}, {row['subject'] or '-'})"


def resend(deps: Deps, message_id: str, by: str, reason: str) -> str:
    """The same reply again: same Message-ID and bytes, so it is recognisable as a copy."""
    wanted = message_id if message_id.startswith("<") else f"<{message_id}>"
    row = deps.store.db.execute(
        "SELECT o.* FROM outbox o LEFT JOIN messages m ON m.id = o.message_ref "
        "WHERE o.message_id = ? OR m.message_id = ? ORDER BY o.id DESC LIMIT 1",
        (wanted, wanted),
    ).fetchone()
    if row is None:
        raise ActionRefused(f"no reply found for {wanted}")
    with deps.store.transaction() as db:
        db.execute(
            "UPDATE outbox SET state = 'queued', next_attempt_at = NULL WHERE id = ?", (row["id"],)
        )
        deps.store._append_log(
            db,
            _record("staff_resent", by, reason, deps.clock(), reply_message_id=row["message_id"]),
        )
    return f"Erneut senden an {row['recipient']}: {row['message_id']}"


def note(deps: Deps, subject: str, by: str, reason: str) -> str:
    deps.store.append_log(_record("staff_note", by, reason, deps.clock(), about=subject))
    return f"Notiz gespeichert zu {subject}"


# --- privacy ---


def forget(deps: Deps, address: str) -> int:
    """Remove a person's data everywhere; the log keeps that a deletion happened, not whom.

    Everywhere means: the attendee rows, the mails she sent (sender, subject, raw
    bytes), every other mail whose text names her (raw bytes dropped), review reasons,
    the replies that name her (their bytes dropped; one not sent yet goes to staff),
    alerts, and every log record. The database file is then rebuilt (VACUUM), so the
    old pages with her name are gone from the file too.
    """
    store, db = deps.store, deps.store.db
    mine = "lower(email) = lower(?) OR lower(contact) = lower(?)"
    query = f"SELECT id, name FROM attendees WHERE {mine}"  # noqa: S608 - constant text
    rows = list(db.execute(query, (address, address)))
    needles = _needles(address, [r[1] for r in rows])
    raw_hits = _messages_naming(deps, needles)
    outbox_hits = _outbox_naming(deps, needles)
    if not rows and not raw_hits and not outbox_hits and not _log_names(db, needles):
        raise NotFound(f"zu {address} sind keine Daten gespeichert; nichts gelöscht")
    with store.transaction():
        db.execute(
            f"UPDATE attendees SET name = ?, email = NULL, organization = NULL, contact = ?, "  # noqa: S608
            f"registered_by = ? WHERE {mine} OR lower(registered_by) = lower(?)",
            (REDACTED, REDACTED, REDACTED, address, address, address),
        )
        db.execute(
            "UPDATE messages SET sender = NULL, reply_to = NULL, subject = NULL, raw = NULL "
            "WHERE lower(sender) = lower(?) OR lower(reply_to) = lower(?)",
            (address, address),
        )
        for hit in raw_hits:
            db.execute("UPDATE messages SET raw = NULL, subject = NULL WHERE id = ?", (hit,))
        for ref, reason in list(db.execute("SELECT id, review_reason FROM messages")):
            if reason and (changed := redact(reason, needles)) != reason:
                db.execute("UPDATE messages SET review_reason = ? WHERE id = ?", (changed, ref))
        for row_id, unsent, message_ref in outbox_hits:
            db.execute(
                "UPDATE outbox SET data = X'', recipient = ?, "
                "state = CASE WHEN ? THEN 'failed' ELSE state END, "
                "last_error = CASE WHEN ? THEN 'gelöscht (Löschung auf Antrag)' "
                "ELSE last_error END WHERE id = ?",
                (REDACTED, unsent, unsent, row_id),
            )
            if unsent and message_ref is not None:
                db.execute(
                    "UPDATE messages SET needs_review = 1, resolved = 0, marked = 0, "
                    "review_reason = TRIM(COALESCE(review_reason, '') || ' ' || ?) WHERE id = ?",
                    (
                        "Antwort wegen einer Löschung nicht gesendet: bitte von Hand antworten.",
                        message_ref,
                    ),
                )
        for key, value in list(db.execute("SELECT key, value FROM meta")):
            if (changed := redact(value, needles)) != value:
                db.execute("UPDATE meta SET value = ? WHERE key = ?", (changed, key))
        _redact_log(db, needles)
        store.rechain_log(db)
        store._append_log(
            db,
            {
                "time": iso(deps.clock()),
                "kind": "privacy",
                "decision": "forgotten",
                "reason": f"Löschung auf Antrag: {len(rows)} Person(en)",
            },
        )
    # The old pages (and the WAL's copies of them) still hold the name: rebuild the file.
    db.execute("VACUUM")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return len(rows)


def _needles(address: str, names: list[str]) -> list[str]:
    """What identifies the person in text: her address, her names, her surname."""
    found = [address]
    for name in names:
        if name and name != REDACTED:
            found.append(name)
            surname = name.split()[-1]
            if len(surname) >= 4:
                found.append(surname)
    return list(dict.fromkeys(n for n in found if n))


def redact(text: str, needles: list[str]) -> str:
    for needle in sorted(needles, key=len, reverse=True):
        text = re.sub(re.escape(needle), REDACTED, text, flags=re.I)
    return text


def _mentions(text: str, needles: list[str]) -> bool:
    folded = text.casefold()
    return any(n.casefold() in folded for n in needles)


def _messages_naming(deps: Deps, needles: list[str]) -> list[int]:
    """Mails kept for staff whose decoded text names the person (read in the budget)."""
    hits = []
    for ref, raw in list(
        deps.store.db.execute("SELECT id, raw FROM messages WHERE raw IS NOT NULL")
    ):
        data = bytes(raw)
        if _mentions(data.decode("utf-8", "replace"), needles):
            hits.append(ref)
            continue
        result = deps.analyser.analyse(data)
        if isinstance(result, Analysis):
            parsed = result.parsed
            texts = [
                parsed.subject,
                parsed.full_text,
                *(v for vs in parsed.headers.values() for v in vs),
            ]
            if any(_mentions(t, needles) for t in texts):
                hits.append(ref)
    return hits


def _outbox_naming(deps: Deps, needles: list[str]) -> list[tuple[int, bool, int | None]]:
    """Our own mails (we built them, so they parse) that name the person."""
    hits = []
    rows = deps.store.db.execute("SELECT id, data, state, recipient, message_ref FROM outbox")
    for row_id, data, state, recipient, ref in list(rows):
        if not data and recipient == REDACTED:
            continue
        text = _mail_text(bytes(data)) if data else ""
        if _mentions(recipient, needles) or _mentions(text, needles):
            unsent = state not in ("sent", "failed", "merged")
            hits.append((row_id, unsent, ref))
    return hits


def _mail_text(data: bytes) -> str:
    mail = message_from_bytes(data, policy=policy.default)
    parts = [str(mail.get("To", "")), str(mail.get("Subject", ""))]
    for part in mail.walk():
        if part.get_content_maintype() == "text":
            with contextlib.suppress(LookupError, ValueError):
                parts.append(part.get_content())
    return "\n".join(parts)


def _log_names(db: Any, needles: list[str]) -> bool:
    return any(_mentions(text, needles) for (text,) in db.execute("SELECT record FROM log"))


def purge(deps: Deps, now: datetime, retention_days: int) -> bool:
    """After the event and the retention period: personal data goes, counts stay."""
    event = deps.settings.event
    if now < event.ends_at + timedelta(days=retention_days):
        return False
    store, db = deps.store, deps.store.db
    with store.transaction():
        db.execute(
            "UPDATE attendees SET name = ?, email = NULL, organization = NULL, contact = ?, "
            "registered_by = ?",
            (REDACTED, REDACTED, REDACTED),
        )
        db.execute(
            "UPDATE messages SET sender = NULL, reply_to = NULL, subject = NULL, raw = NULL, "
            "message_id = NULL, review_reason = CASE WHEN review_reason = '' THEN '' ELSE ? END",
            (REDACTED,),
        )
        db.execute("DELETE FROM meta WHERE key LIKE 'alert%' OR key LIKE 'last_%error'")
        db.execute("UPDATE outbox SET data = X'', recipient = ?", (REDACTED,))
        for seq, text in list(db.execute("SELECT seq, record FROM log")):
            record = _anonymous(json.loads(text))
            db.execute("UPDATE log SET record = ? WHERE seq = ?", (json.dumps(record), seq))
        store.rechain_log(db)
        store._append_log(
            db,
            {
                "time": iso(now),
                "kind": "privacy",
                "decision": "purged",
                "reason": f"Personenbezogene Daten {retention_days} Tage nach Ende gelöscht",
            },
        )
    db.execute("VACUUM")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return True


_PERSONAL = ("sender", "reply_to", "message_id", "reply_message_id", "about")


def _anonymous(record: dict[str, Any]) -> dict[str, Any]:
    record = {k: (REDACTED if k in _PERSONAL and v else v) for k, v in record.items()}
    for key in ("persons", "promoted"):
        if isinstance(record.get(key), list):
            record[key] = [
                {**p, "name": REDACTED, "email": None, "organization": None}
                if isinstance(p, dict)
                else REDACTED
                for p in record[key]
            ]
    if "reason" in record:
        record["reason"] = REDACTED
    return record


def _redact_log(db: Any, needles: list[str]) -> None:
    """Replace every mention of the person in the log records."""
    wanted = [n for n in needles if n and n != REDACTED]
    for seq, text in list(db.execute("SELECT seq, record FROM log")):
        if not any(n.lower() in text.lower() for n in wanted):
            continue
        record = json.loads(text)
        changed = json.dumps(record, ensure_ascii=False)
        for needle in wanted:
            changed = _replace_ci(changed, needle, REDACTED)
        db.execute("UPDATE log SET record = ? WHERE seq = ?", (changed, seq))


def _replace_ci(text: str, needle: str, replacement: str) -> str:
    return re.sub(
        re.escape(json.dumps(needle, ensure_ascii=False)[1:-1]), replacement, text, flags=re.I
    )


__all__ = ["ActionRefused", "Planned", "find_holder"]
