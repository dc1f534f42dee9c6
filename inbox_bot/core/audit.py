"""The allocation log's records: one frozen type per kind of entry (pure).

    MailRecord     a mail and what was decided about it (or why nothing was)
    StaffRecord    an action staff took: admitted, cancelled, resolved, resent, a note
    PrivacyRecord  a deletion: one person forgotten, or everything purged

Every person in a record carries her stable attendee id ("sha256:…#0": the mail's key
and her place in it), so the report, `replay` and the exports follow a person by id,
never by name. `to_json` writes the shape of the JSON lines staff read (unchanged
since the first version, ids added); `from_json` reads every shape ever written,
records without ids included. A record is bounded whatever the mail says: its reason
and its lists of persons are cut, with a note how much.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from inbox_bot.core.allocate import Decision, Placement, Request

MAX_REASON_CHARS = 4000
MAX_PERSONS = 50
REDACTED = "(gelöscht)"


@dataclass(frozen=True, kw_only=True)
class PersonEntry:
    """One person as a record saw her."""

    name: str
    attendee_id: str | None = None  # None only in records written before ids
    email: str | None = None
    organization: str | None = None
    status: str | None = None  # what the decision made of her; None: staff name lists
    seat: int | None = None
    waitlist_position: int | None = None
    duplicate: bool = False


@dataclass(frozen=True, kw_only=True)
class MailRecord:
    time: datetime  # when the bot decided
    uid: int
    uidvalidity: int
    message_id: str | None
    received_at: datetime  # INTERNALDATE: what decides the order
    sender: str | None
    reply_to: str | None
    kind: str
    decision: str
    seat: int | None = None
    waitlist_position: int | None = None
    persons: tuple[PersonEntry, ...] = ()
    promoted: tuple[PersonEntry, ...] = ()
    persons_not_listed: int = 0
    promoted_not_listed: int = 0
    authorized_by: tuple[str, ...] = ()  # registrants whose persons a reply token covered
    reply_message_ids: tuple[str, ...] = ()
    needs_review: bool = False
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class StaffRecord:
    time: datetime
    action: str  # staff_admitted, staff_cancelled, staff_resolved, staff_resent, staff_note
    by: str
    reason: str
    persons: tuple[PersonEntry, ...] = ()
    promoted: tuple[PersonEntry, ...] = ()
    reply_message_ids: tuple[str, ...] = ()
    message_id: str | None = None  # the mail the action is about
    reply_message_id: str | None = None  # resent: the reply
    about: str | None = None  # a note: whom or what it is about


@dataclass(frozen=True, kw_only=True)
class PrivacyRecord:
    time: datetime
    action: str  # forgotten, purged
    reason: str


AuditRecord = MailRecord | StaffRecord | PrivacyRecord


# --------------------------------------------------------------------------- building


def mail_record(
    *,
    now: datetime,
    request: Request,
    decision: Decision,
    uidvalidity: int,
    message_id: str | None,
    reply_ids: Sequence[str],
    extra_reasons: Sequence[str] = (),
) -> MailRecord:
    """The record of a decided mail."""
    first = decision.placements[0] if decision.placements else None
    return MailRecord(
        time=now,
        uid=request.uid,
        uidvalidity=uidvalidity,
        message_id=message_id,
        received_at=request.arrival,
        sender=request.sender,
        reply_to=request.contact,
        kind=str(request.intent.kind),
        decision=str(decision.outcome),
        seat=first.attendee.seat if first else None,
        waitlist_position=first.waitlist_position if first else None,
        persons=tuple(entry(p) for p in decision.placements[:MAX_PERSONS]),
        promoted=tuple(entry(p) for p in decision.promotions[:MAX_PERSONS]),
        persons_not_listed=max(0, len(decision.placements) - MAX_PERSONS),
        promoted_not_listed=max(0, len(decision.promotions) - MAX_PERSONS),
        authorized_by=tuple(
            sorted(
                {
                    p.attendee.registrant
                    for p in decision.placements
                    if p.attendee.id in request.authorized
                }
            )
        ),
        reply_message_ids=tuple(reply_ids),
        needs_review=decision.needs_review or bool(extra_reasons),
        reason=capped(" ".join([*decision.reasons, *extra_reasons])),
    )


def undecided_record(
    *,
    now: datetime,
    uid: int,
    uidvalidity: int,
    message_id: str | None,
    arrival: datetime,
    kind: str,
    decision: str,
    needs_review: bool,
    reason: str,
) -> MailRecord:
    """The record of a mail that reached no allocation (unreadable, too large, a copy)."""
    return MailRecord(
        time=now,
        uid=uid,
        uidvalidity=uidvalidity,
        message_id=message_id,
        received_at=arrival,
        sender=None,
        reply_to=None,
        kind=kind,
        decision=decision,
        needs_review=needs_review,
        reason=capped(reason),
    )


def entry(placement: Placement) -> PersonEntry:
    a = placement.attendee
    return PersonEntry(
        name=a.name,
        attendee_id=a.id,
        email=a.email,
        organization=a.organization,
        status=str(a.status),
        seat=a.seat,
        waitlist_position=placement.waitlist_position,
        duplicate=placement.duplicate,
    )


def capped(reason: str) -> str:
    """A reason of at most MAX_REASON_CHARS characters, saying how much was cut."""
    if len(reason) <= MAX_REASON_CHARS:
        return reason
    cut = len(reason) - MAX_REASON_CHARS
    return f"{reason[:MAX_REASON_CHARS]}… [{cut} Zeichen gekürzt]"


# --------------------------------------------------------------------------- JSON


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


# --------------------------------------------------------------------------- privacy


def redact(record: AuditRecord, needles: Iterable[str]) -> AuditRecord:
    """The record with every mention of the person replaced (a deletion request)."""
    wanted = [n for n in needles if n and n != REDACTED]

    def clean(text: str | None) -> str | None:
        if text is None:
            return None
        for needle in sorted(wanted, key=len, reverse=True):
            text = re.sub(re.escape(needle), REDACTED, text, flags=re.I)
        return text

    def person(p: PersonEntry) -> PersonEntry:
        hit = clean(p.name) != p.name or clean(p.email) != p.email
        if not hit:
            return p
        return replace(p, name=REDACTED, email=None, organization=None)

    if isinstance(record, PrivacyRecord):
        return replace(record, reason=clean(record.reason) or "")
    if isinstance(record, StaffRecord):
        return replace(
            record,
            reason=clean(record.reason) or "",
            persons=tuple(person(p) for p in record.persons),
            promoted=tuple(person(p) for p in record.promoted),
            about=clean(record.about),
        )
    return replace(
        record,
        sender=clean(record.sender),
        reply_to=clean(record.reply_to),
        reason=clean(record.reason) or "",
        persons=tuple(person(p) for p in record.persons),
        promoted=tuple(person(p) for p in record.promoted),
        authorized_by=tuple(clean(a) or "" for a in record.authorized_by),
    )


def anonymous(record: AuditRecord) -> AuditRecord:
    """The record without any personal data (after the retention period): counts stay."""

    def person(p: PersonEntry) -> PersonEntry:
        return replace(p, name=REDACTED, email=None, organization=None)

    if isinstance(record, PrivacyRecord):
        return record
    if isinstance(record, StaffRecord):
        return replace(
            record,
            reason=REDACTED,
            persons=tuple(person(p) for p in record.persons),
            promoted=tuple(person(p) for p in record.promoted),
            message_id=REDACTED if record.message_id else None,
            reply_message_id=REDACTED if record.reply_message_id else None,
            about=REDACTED if record.about else None,
        )
    return replace(
        record,
        sender=REDACTED if record.sender else None,
        reply_to=REDACTED if record.reply_to else None,
        message_id=REDACTED if record.message_id else None,
        reason=REDACTED,
        persons=tuple(person(p) for p in record.persons),
        promoted=tuple(person(p) for p in record.promoted),
        authorized_by=tuple(REDACTED for _ in record.authorized_by),
        reply_message_ids=tuple(REDACTED for _ in record.reply_message_ids),
    )
