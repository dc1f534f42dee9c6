"""Deletion requests on the allocation log's records."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from inbox_bot.core.audit import (
    REDACTED,
    AuditRecord,
    PersonEntry,
    PrivacyRecord,
    StaffRecord,
)


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
