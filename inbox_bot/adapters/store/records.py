"""What the store hands out and takes in: typed rows, never sqlite3.Row."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from inbox_bot.core.model import Attendee, Status


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class OutboxState(StrEnum):
    """Where a reply is on its way out (app/outbox.py moves it; the store records it).

    queued -> sending -> sent; -> retry (4xx, with a pause) -> sending ...;
    -> unknown (the connection broke during DATA: maybe sent; looked up before resending);
    -> failed (5xx, refused recipient, attempts used up); -> merged (a held reply that a
    newer one of the same kind to the same address makes redundant).
    """

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    RETRY = "retry"
    UNKNOWN = "unknown"
    FAILED = "failed"
    MERGED = "merged"

    @property
    def pending(self) -> bool:
        return self in _PENDING

    @property
    def done(self) -> bool:
        """Nothing more will happen to it: the mail it answers can be marked."""
        return self in (OutboxState.SENT, OutboxState.FAILED, OutboxState.MERGED)


_PENDING = frozenset(
    {OutboxState.QUEUED, OutboxState.SENDING, OutboxState.UNKNOWN, OutboxState.RETRY}
)
PENDING_STATES = tuple(str(s) for s in _PENDING)


@dataclass(frozen=True, kw_only=True)
class MessageRecord:
    """A decided mail, as the pipeline hands it to the store."""

    folder: str
    uidvalidity: int
    uid: int
    message_key: str
    message_id: str | None
    raw_sha256: str
    received_at: datetime
    sender: str | None
    reply_to: str | None
    subject: str
    kind: str
    decision: str
    needs_review: bool
    review_reason: str
    raw: bytes | None  # kept for review entries only
    events: tuple[str, ...] = ()  # the events the decision placed or withdrew people in


@dataclass(frozen=True, kw_only=True)
class MessageRow:
    """A mail as the store knows it (its raw bytes, if kept: Store.raw_of)."""

    id: int
    folder: str
    uidvalidity: int
    uid: int
    message_key: str
    message_id: str | None
    raw_sha256: str
    received_at: datetime
    sender: str | None
    reply_to: str | None
    subject: str | None
    kind: str
    decision: str
    needs_review: bool
    review_reason: str
    resolved: bool
    marked: bool
    has_raw: bool
    events: tuple[str, ...] = ()

    @property
    def waiting_for_staff(self) -> bool:
        return self.needs_review and not self.resolved

    @property
    def reference(self) -> str:
        """How staff name it: its Message-ID, else UID:n."""
        return self.message_id or f"UID:{self.uid}"


@dataclass(frozen=True, kw_only=True)
class OutboxItem:
    id: int
    message_ref: int | None
    kind: str
    message_id: str
    recipient: str
    data: bytes
    state: OutboxState
    attempts: int
    last_error: str | None = None


@dataclass(frozen=True, kw_only=True)
class LogEntry:
    """One record of the allocation log as stored: its JSON text's data and hash."""

    seq: int
    data: dict[str, Any]
    hash: str


MESSAGE_COLUMNS = (
    "id, folder, uidvalidity, uid, message_key, message_id, raw_sha256, received_at, "
    "sender, reply_to, subject, kind, decision, needs_review, review_reason, resolved, "
    "marked, raw IS NOT NULL AS has_raw, events"
)


def message_row(row: sqlite3.Row) -> MessageRow:
    return MessageRow(
        id=row["id"],
        folder=row["folder"],
        uidvalidity=row["uidvalidity"],
        uid=row["uid"],
        message_key=row["message_key"],
        message_id=row["message_id"],
        raw_sha256=row["raw_sha256"],
        received_at=datetime.fromisoformat(row["received_at"]),
        sender=row["sender"],
        reply_to=row["reply_to"],
        subject=row["subject"],
        kind=row["kind"],
        decision=row["decision"],
        needs_review=bool(row["needs_review"]),
        review_reason=row["review_reason"] or "",
        resolved=bool(row["resolved"]),
        marked=bool(row["marked"]),
        has_raw=bool(row["has_raw"]),
        events=tuple(json.loads(row["events"])) if row["events"] else (),
    )


def attendee_row(row: sqlite3.Row) -> Attendee:
    return Attendee(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        organization=row["organization"],
        contact=row["contact"],
        status=Status(row["status"]),
        seat=row["seat"],
        arrival=datetime.fromisoformat(row["arrival"]),
        uid=row["uid"],
        index=row["position"],
        message_key=row["message_key"],
        language=row["language"],
        registered_by=row["registered_by"] or "",
        event=row["event"],
    )


def outbox_item(row: sqlite3.Row) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        message_ref=row["message_ref"],
        kind=row["kind"],
        message_id=row["message_id"],
        recipient=row["recipient"],
        data=row["data"],
        state=OutboxState(row["state"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
    )
