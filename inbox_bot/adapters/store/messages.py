"""Mail and attendees: what was processed, one decision per transaction, staff review."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from inbox_bot.adapters.store.base import Base
from inbox_bot.adapters.store.records import (
    MESSAGE_COLUMNS,
    MessageRecord,
    MessageRow,
    attendee_row,
    iso,
    message_row,
)
from inbox_bot.core.logchain import GENESIS, chained
from inbox_bot.core.model import Attendee, OutgoingRow, Status

_SELECT = f"SELECT {MESSAGE_COLUMNS} FROM messages"  # noqa: S608 - constant text


class Messages(Base):
    # --- what was processed ---

    def processed_uids(self, folder: str, uidvalidity: int) -> set[int]:
        rows = self._all(
            "SELECT uid FROM messages WHERE folder = ? AND uidvalidity = ?", (folder, uidvalidity)
        )
        return {r[0] for r in rows}

    def known_copy(self, message_id: str | None, raw_sha256: str) -> MessageRow | None:
        """An earlier record of the same mail (Message-ID, or the hash of its bytes)."""
        if message_id:
            row = self._one(f"{_SELECT} WHERE message_id = ? ORDER BY id LIMIT 1", (message_id,))
            if row is not None:
                return message_row(row)
        row = self._one(f"{_SELECT} WHERE raw_sha256 = ? ORDER BY id LIMIT 1", (raw_sha256,))
        return message_row(row) if row is not None else None

    def known_uidvalidities(self, folder: str) -> set[int]:
        rows = self._all("SELECT DISTINCT uidvalidity FROM messages WHERE folder = ?", (folder,))
        return {r[0] for r in rows}

    # --- one message, one transaction ---

    def record(
        self,
        message: MessageRecord,
        changes: Sequence[Attendee],
        outgoing: Sequence[OutgoingRow],
        log_record: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        now: datetime,
    ) -> int:
        """A mail with its decision, attendee changes, replies and log record(s, one per
        event of a series): all or none."""
        with self.transaction() as db:
            cursor = db.execute(
                """INSERT INTO messages (folder, uidvalidity, uid, message_key, message_id,
                   raw_sha256, received_at, processed_at, sender, reply_to, subject, kind,
                   decision, needs_review, review_reason, raw, events)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                (
                    message.folder,
                    message.uidvalidity,
                    message.uid,
                    message.message_key,
                    message.message_id,
                    message.raw_sha256,
                    iso(message.received_at),
                    iso(now),
                    message.sender,
                    message.reply_to,
                    message.subject,
                    message.kind,
                    message.decision,
                    int(message.needs_review),
                    message.review_reason,
                    message.raw,
                    json.dumps(list(message.events)) if message.events else None,
                ),
            )
            ref = cursor.lastrowid
            assert ref is not None
            db.execute(
                "DELETE FROM started WHERE folder = ? AND uidvalidity = ? AND uid = ?",
                (message.folder, message.uidvalidity, message.uid),
            )
            self._write(db, ref, changes, outgoing, log_record, now)
            return ref

    def apply_changes(
        self,
        changes: Sequence[Attendee],
        outgoing: Sequence[OutgoingRow],
        log_record: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        now: datetime,
        resolve_ref: int | None = None,
    ) -> None:
        """A decision that answers no mail (a staff action), optionally closing a review."""
        with self.transaction() as db:
            self._write(db, None, changes, outgoing, log_record, now)
            if resolve_ref is not None:
                db.execute(
                    "UPDATE messages SET resolved = 1, marked = 0 WHERE id = ?", (resolve_ref,)
                )

    def _write(
        self,
        db: sqlite3.Connection,
        ref: int | None,
        changes: Sequence[Attendee],
        outgoing: Sequence[OutgoingRow],
        log_record: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        now: datetime,
    ) -> None:
        self._write_attendees(db, changes, now)
        for row in outgoing:
            queue_reply(db, ref, row, now)
        for record in [log_record] if isinstance(log_record, Mapping) else log_record:
            append_log_record(db, record)

    def _write_attendees(
        self, db: sqlite3.Connection, changes: Sequence[Attendee], now: datetime
    ) -> None:
        # Free seats first so a promotion may take a seat cancelled in the same decision.
        for a in sorted(changes, key=lambda a: a.status is Status.CONFIRMED):
            db.execute(
                """INSERT INTO attendees (id, message_key, position, name, email, organization,
                   contact, status, seat, arrival, uid, language, updated_at, registered_by,
                   event)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                   ON CONFLICT (id) DO UPDATE SET status = excluded.status,
                   seat = excluded.seat, name = excluded.name,
                   updated_at = excluded.updated_at""",
                (
                    a.id,
                    a.message_key,
                    a.index,
                    a.name,
                    a.email,
                    a.organization,
                    a.contact,
                    str(a.status),
                    a.seat,
                    iso(a.arrival),
                    a.uid,
                    a.language,
                    iso(now),
                    a.registered_by or a.contact,
                    a.event,
                ),
            )

    # --- attendees ---

    def attendees(self, event: str | None = None) -> list[Attendee]:
        """Everyone, or the places of one event, in arrival order."""
        if event is None:
            rows = self._all("SELECT * FROM attendees ORDER BY arrival, uid, position")
        else:
            rows = self._all(
                "SELECT * FROM attendees WHERE event = ? ORDER BY arrival, uid, position",
                (event,),
            )
        return [attendee_row(r) for r in rows]

    def adopt_unkeyed(self, event: str) -> int:
        """Places of an [event] config (key '') into the first of [[events]]: the config
        became a series; nobody loses a place. Returns how many moved."""
        return self._change("UPDATE attendees SET event = ? WHERE event = ''", (event,))

    def set_events(self, message_ref: int, events: Sequence[str]) -> None:
        """The events a message was placed in after all (inbox-bot assign)."""
        self._change(
            "UPDATE messages SET events = ? WHERE id = ?",
            (json.dumps(list(events)) if events else None, message_ref),
        )

    # --- finding mail ---

    def messages(self) -> list[MessageRow]:
        return [message_row(r) for r in self._all(f"{_SELECT} ORDER BY received_at, uid")]

    def message(self, message_ref: int) -> MessageRow | None:
        row = self._one(f"{_SELECT} WHERE id = ?", (message_ref,))
        return message_row(row) if row is not None else None

    def message_by_id(self, message_id: str) -> MessageRow | None:
        row = self._one(f"{_SELECT} WHERE message_id = ? ORDER BY id LIMIT 1", (message_id,))
        return message_row(row) if row is not None else None

    def message_by_uid(self, folder: str, uid: int) -> MessageRow | None:
        row = self._one(
            f"{_SELECT} WHERE folder = ? AND uid = ? ORDER BY uidvalidity DESC, id DESC LIMIT 1",
            (folder, uid),
        )
        return message_row(row) if row is not None else None

    def raw_of(self, message_ref: int) -> bytes | None:
        row = self._one("SELECT raw FROM messages WHERE id = ?", (message_ref,))
        return bytes(row[0]) if row is not None and row[0] is not None else None

    # --- staff review and marking ---

    def review_queue(self) -> list[MessageRow]:
        rows = self._all(f"{_SELECT} WHERE needs_review = 1 AND resolved = 0 ORDER BY received_at")
        return [message_row(r) for r in rows]

    def flag_review(self, message_ref: int | None, reason: str) -> None:
        """Send a message (back) to staff review; it is flagged again in the mailbox."""
        if message_ref is None:
            return
        self._change(
            """UPDATE messages SET needs_review = 1, resolved = 0, marked = 0,
               review_reason = TRIM(COALESCE(review_reason, '') || ' ' || ?) WHERE id = ?""",
            (reason, message_ref),
        )

    def resolve(self, message_ref: int, log_record: Mapping[str, Any]) -> None:
        """Done by hand: out of the review queue (unflagged at the next marking), recorded."""
        with self.transaction() as db:
            db.execute("UPDATE messages SET resolved = 1, marked = 0 WHERE id = ?", (message_ref,))
            append_log_record(db, log_record)

    def unmarked(self, folder: str, uidvalidity: int) -> list[MessageRow]:
        rows = self._all(
            f"{_SELECT} WHERE marked = 0 AND folder = ? AND uidvalidity = ?", (folder, uidvalidity)
        )
        return [message_row(r) for r in rows]

    def set_marked(self, message_refs: Sequence[int]) -> None:
        """These mails carry their final flags in the mailbox (one transaction)."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE messages SET marked = 1 WHERE id = ?", [(r,) for r in message_refs]
            )

    # --- mail whose reading was begun (adapters/reader.py) ---

    def note_started(self, folder: str, uidvalidity: int, uid: int, now: datetime) -> None:
        """Durable at once, also inside a batch: the crash it guards against is near."""
        self._change(
            "INSERT OR IGNORE INTO started (folder, uidvalidity, uid, started_at) VALUES (?,?,?,?)",
            (folder, uidvalidity, uid, iso(now)),
        )
        self.commit_now()

    def was_started(self, folder: str, uidvalidity: int, uid: int) -> bool:
        row = self._one(
            "SELECT 1 FROM started WHERE folder = ? AND uidvalidity = ? AND uid = ?",
            (folder, uidvalidity, uid),
        )
        return row is not None


def queue_reply(db: sqlite3.Connection, ref: int | None, row: OutgoingRow, now: datetime) -> None:
    db.execute(
        """INSERT INTO outbox (message_ref, kind, message_id, recipient, data, created_at,
           attendee_ids) VALUES (?,?,?,?,?,?,?)""",
        (
            ref,
            row.kind,
            row.message_id,
            row.recipient,
            row.data,
            iso(now),
            json.dumps(list(row.attendee_ids)),
        ),
    )


def append_log_record(db: sqlite3.Connection, record: Mapping[str, Any]) -> None:
    last = db.execute("SELECT hash FROM log ORDER BY seq DESC LIMIT 1").fetchone()
    body, digest = chained(last[0] if last and last[0] else GENESIS, record)
    db.execute(
        "INSERT INTO log (record, hash) VALUES (?, ?)",
        (json.dumps(body, ensure_ascii=False), digest),
    )
