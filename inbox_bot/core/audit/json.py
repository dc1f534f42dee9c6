"""The allocation log's records as JSON: the shape staff read, and every shape ever written."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from inbox_bot.core.audit import (
    AuditRecord,
    MailRecord,
    PersonEntry,
    PrivacyRecord,
    StaffRecord,
)


def to_json(record: AuditRecord, zone: ZoneInfo) -> dict[str, Any]:
    """The record as one JSON object of the log (times of mail in the event's zone)."""
    if isinstance(record, MailRecord):
        return _mail_json(record, zone)
    base = {"time": _utc(record.time)}
    if isinstance(record, PrivacyRecord):
        return {**base, "kind": "privacy", "decision": record.action, "reason": record.reason}
    return {
        **base,
        "kind": "staff",
        "decision": record.action,
        "by": record.by,
        "reason": record.reason,
        **_staff_facts(record),
    }


def _mail_json(r: MailRecord, zone: ZoneInfo) -> dict[str, Any]:
    data: dict[str, Any] = {
        "time": _utc(r.time),
        "uid": r.uid,
        "uidvalidity": r.uidvalidity,
        "message_id": r.message_id,
        "received_at": r.received_at.astimezone(zone).isoformat(),
        "sender": r.sender,
        "reply_to": r.reply_to,
        "kind": r.kind,
        "decision": r.decision,
        "seat": r.seat,
        "waitlist_position": r.waitlist_position,
        "persons": [_person_json(p) for p in r.persons],
        "promoted": [_person_json(p) for p in r.promoted],
    }
    for key, count in (("persons", r.persons_not_listed), ("promoted", r.promoted_not_listed)):
        if count:
            data[f"{key}_not_listed"] = count
    if r.sender is not None:
        data["authorized_by"] = list(r.authorized_by)
    return {
        **data,
        "reply_message_id": r.reply_message_ids[0] if r.reply_message_ids else None,
        "reply_message_ids": list(r.reply_message_ids),
        "needs_review": r.needs_review,
        "reason": r.reason,
        **({"evidence": r.evidence} if r.evidence else {}),
        **({"event": r.event} if r.event else {}),
        **({"authenticity": r.authenticity} if r.authenticity else {}),
    }


def _staff_facts(r: StaffRecord) -> dict[str, Any]:
    # Staff records name persons as plain names (as they always did); ids beside them.
    facts: dict[str, Any] = {}
    if r.persons or r.action in ("staff_admitted", "staff_cancelled"):
        facts["persons"] = [p.name for p in r.persons]
        facts["attendee_ids"] = [p.attendee_id for p in r.persons]
    if r.action == "staff_admitted":
        facts["seats"] = [p.seat for p in r.persons]
    if r.action == "staff_cancelled":
        facts["promoted"] = [p.name for p in r.promoted]
        facts["promoted_ids"] = [p.attendee_id for p in r.promoted]
    if r.reply_message_ids or r.action in ("staff_admitted", "staff_cancelled"):
        facts["reply_message_ids"] = list(r.reply_message_ids)
    for key in ("message_id", "reply_message_id", "about"):
        if getattr(r, key) is not None:
            facts[key] = getattr(r, key)
    if r.event:
        facts["event"] = r.event
    return facts


def _person_json(p: PersonEntry) -> dict[str, Any]:
    return {
        "id": p.attendee_id,
        "name": p.name,
        "email": p.email,
        "organization": p.organization,
        "status": p.status,
        "seat": p.seat,
        "waitlist_position": p.waitlist_position,
        "duplicate": p.duplicate,
    }


def from_json(data: Mapping[str, Any]) -> AuditRecord:
    """A record from the log, in any shape it was ever written."""
    kind = data.get("kind")
    time = _moment(data.get("time")) or _moment(data.get("received_at")) or _EPOCH
    if kind == "privacy":
        return PrivacyRecord(
            time=time, action=str(data.get("decision")), reason=str(data.get("reason") or "")
        )
    if kind == "staff":
        return _staff_from_json(data, time)
    return MailRecord(
        time=time,
        uid=int(data.get("uid") or 0),
        uidvalidity=int(data.get("uidvalidity") or 0),
        message_id=data.get("message_id"),
        received_at=_moment(data.get("received_at")) or time,
        sender=data.get("sender"),
        reply_to=data.get("reply_to"),
        kind=str(kind),
        decision=str(data.get("decision")),
        seat=data.get("seat"),
        waitlist_position=data.get("waitlist_position"),
        persons=tuple(_person_from(p) for p in data.get("persons") or ()),
        promoted=tuple(_person_from(p) for p in data.get("promoted") or ()),
        persons_not_listed=int(data.get("persons_not_listed") or 0),
        promoted_not_listed=int(data.get("promoted_not_listed") or 0),
        authorized_by=tuple(data.get("authorized_by") or ()),
        reply_message_ids=tuple(data.get("reply_message_ids") or ()),
        needs_review=bool(data.get("needs_review")),
        reason=str(data.get("reason") or ""),
        evidence=str(data.get("evidence") or ""),
        event=str(data.get("event") or ""),
        authenticity=str(data.get("authenticity") or ""),
    )


def _staff_from_json(data: Mapping[str, Any], time: datetime) -> StaffRecord:
    names = list(data.get("persons") or ())
    ids = list(data.get("attendee_ids") or [None] * len(names))
    seats = list(data.get("seats") or [None] * len(names))
    status = {"staff_admitted": "confirmed", "staff_cancelled": "cancelled"}
    persons = tuple(
        PersonEntry(
            name=str(name), attendee_id=aid, seat=seat, status=status.get(str(data.get("decision")))
        )
        for name, aid, seat in zip(names, ids, seats, strict=False)
    )
    promoted_names = list(data.get("promoted") or ())
    promoted_ids = list(data.get("promoted_ids") or [None] * len(promoted_names))
    promoted = tuple(
        PersonEntry(name=str(n), attendee_id=i, status="confirmed")
        for n, i in zip(promoted_names, promoted_ids, strict=False)
    )
    return StaffRecord(
        time=time,
        action=str(data.get("decision")),
        by=str(data.get("by") or ""),
        reason=str(data.get("reason") or ""),
        persons=persons,
        promoted=promoted,
        reply_message_ids=tuple(data.get("reply_message_ids") or ()),
        message_id=data.get("message_id"),
        reply_message_id=data.get("reply_message_id"),
        about=data.get("about"),
        event=str(data.get("event") or ""),
    )


def _person_from(value: Any) -> PersonEntry:
    if not isinstance(value, Mapping):
        return PersonEntry(name=str(value))
    return PersonEntry(
        name=str(value.get("name") or ""),
        attendee_id=value.get("id"),
        email=value.get("email"),
        organization=value.get("organization"),
        status=value.get("status"),
        seat=value.get("seat"),
        waitlist_position=value.get("waitlist_position"),
        duplicate=bool(value.get("duplicate")),
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _moment(value: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")
