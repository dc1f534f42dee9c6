"""The outbox: one method per state change of a reply, the brakes' counts, the tokens."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from inbox_bot.adapters.store.base import Base
from inbox_bot.adapters.store.messages import append_log_record, queue_reply
from inbox_bot.adapters.store.records import (
    PENDING_STATES,
    OutboxItem,
    OutboxState,
    iso,
    outbox_item,
)
from inbox_bot.core.model import OutgoingRow

_PENDING = ", ".join(f"'{s}'" for s in PENDING_STATES)


class Outbox(Base):
    # --- reading ---

    def pending_outbox(self, now: datetime | None = None) -> list[OutboxItem]:
        """Replies still to send; with `now`, only those whose retry pause is over."""
        due = iso(now) if now else None
        rows = self._all(
            f"SELECT * FROM outbox WHERE state IN ({_PENDING}) "  # noqa: S608 - constant
            "AND (? IS NULL OR next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id",
            (due, due),
        )
        return [outbox_item(r) for r in rows]

    def outbox_for_message(self, message_ref: int) -> list[OutboxItem]:
        rows = self._all("SELECT * FROM outbox WHERE message_ref = ?", (message_ref,))
        return [outbox_item(r) for r in rows]

    def outbox_for_messages(self, message_refs: Sequence[int]) -> dict[int, list[OutboxItem]]:
        """The replies of many mails at once (by index, in chunks): mail ref -> replies."""
        found: dict[int, list[OutboxItem]] = {}
        refs = list(message_refs)
        for start in range(0, len(refs), 500):
            chunk = refs[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT * FROM outbox WHERE message_ref IN ({marks})"  # noqa: S608
            for row in self._all(sql, chunk):
                found.setdefault(row["message_ref"], []).append(outbox_item(row))
        return found

    def find_reply(self, message_id: str) -> OutboxItem | None:
        """A reply by its own Message-ID or by the Message-ID of the mail it answered."""
        row = self._one(
            "SELECT o.* FROM outbox o LEFT JOIN messages m ON m.id = o.message_ref "
            "WHERE o.message_id = ? OR m.message_id = ? ORDER BY o.id DESC LIMIT 1",
            (message_id, message_id),
        )
        return outbox_item(row) if row is not None else None

    def reply_ids(self) -> dict[int, str]:
        """The first reply's Message-ID of each mail that got one."""
        rows = self._all(
            "SELECT message_ref, message_id FROM outbox WHERE message_ref IS NOT NULL ORDER BY id"
        )
        found: dict[int, str] = {}
        for ref, mid in rows:
            found.setdefault(ref, mid)
        return found

    def sent_since(self, since: datetime, recipient: str | None = None) -> int:
        """Replies handed to SMTP since a moment, to one recipient or in all."""
        if recipient is None:
            return self._count("SELECT COUNT(*) FROM outbox WHERE sent_at >= ?", (iso(since),))
        return self._count(
            "SELECT COUNT(*) FROM outbox WHERE sent_at >= ? AND lower(recipient) = lower(?)",
            (iso(since), recipient),
        )

    # --- the state changes (app/outbox.py) ---

    def claim(self, item_id: int, sent: tuple[int, datetime] | None = None) -> None:
        """About to be submitted: a crash from here on may have sent it. `sent`: the
        reply submitted just before, recorded in the same commit (one fsync, not two)."""
        with self.transaction() as db:
            if sent is not None:
                db.execute(
                    "UPDATE outbox SET state = ?, sent_at = ? WHERE id = ?",
                    (str(OutboxState.SENT), iso(sent[1]), sent[0]),
                )
            db.execute(
                "UPDATE outbox SET state = ?, attempts = attempts + 1 WHERE id = ?",
                (str(OutboxState.SENDING), item_id),
            )

    def mark_sent(self, item_id: int, now: datetime) -> None:
        self._change(
            "UPDATE outbox SET state = ?, sent_at = ? WHERE id = ?",
            (str(OutboxState.SENT), iso(now), item_id),
        )

    def retry_later(self, item_id: int, error: str, when: datetime) -> None:
        self._set(item_id, OutboxState.RETRY, error, when)

    def mark_unknown(self, item_id: int, error: str, when: datetime) -> None:
        """The connection broke during DATA: look in the Sent folder at `when`, then resend."""
        self._set(item_id, OutboxState.UNKNOWN, error, when)

    def mark_failed(self, item_id: int, error: str) -> None:
        self._set(item_id, OutboxState.FAILED, error, None)

    def requeue(self, item_id: int, log_record: Mapping[str, Any]) -> None:
        """Staff asked to send it again (same bytes, same Message-ID), with their record."""
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET state = ?, next_attempt_at = NULL WHERE id = ?",
                (str(OutboxState.QUEUED), item_id),
            )
            append_log_record(db, log_record)

    def merge_held(self, recipient: str, kind: str) -> int:
        """Held replies of one kind to one address: all but the newest become merged."""
        held = "lower(recipient) = lower(?) AND kind = ? AND state IN ('queued', 'retry')"
        return self._change(
            f"UPDATE outbox SET state = ?, last_error = 'zusammengefasst' WHERE {held} "  # noqa: S608
            f"AND id < (SELECT MAX(id) FROM outbox WHERE {held})",
            (str(OutboxState.MERGED), recipient, kind, recipient, kind),
        )

    def _set(self, item_id: int, state: OutboxState, error: str, when: datetime | None) -> None:
        self._change(
            "UPDATE outbox SET state = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
            (str(state), error, iso(when) if when else None, item_id),
        )

    # --- reply tokens ---

    def authorized_by_replies(self, message_ids: Sequence[str]) -> frozenset[str]:
        """The attendees a reply to these mails of ours may cancel: those each mail was
        about and its recipient is entitled to (her own address, or who registered her).

        A promotion mail is about the promoted person only, never about the people of
        the cancellation that freed the seat.
        """
        found: set[str] = set()
        for message_id in message_ids[:50]:
            row = self._one(
                "SELECT recipient, attendee_ids, message_ref FROM outbox WHERE message_id = ?",
                (message_id,),
            )
            if row is None:
                continue
            if row["attendee_ids"] is not None:
                ids = json.dumps([str(i) for i in json.loads(row["attendee_ids"])])
                where, args = "id IN (SELECT value FROM json_each(?))", (ids,)
            else:  # written before schema 5: the persons of the mail it answered
                where = "message_key = (SELECT message_key FROM messages WHERE id = ?)"
                args = (row["message_ref"],)
            recipient = str(row["recipient"]).casefold()
            query = f"SELECT id, email, contact, registered_by FROM attendees WHERE {where}"  # noqa: S608
            for attendee in self._all(query, args):
                if recipient in {str(a).casefold() for a in attendee[1:] if a}:
                    found.add(attendee[0])
        return frozenset(found)

    def replies_about(self, attendee_id: str) -> list[OutboxItem]:
        """Every mail of ours about this person, oldest first."""
        rows = self._all(
            "SELECT o.* FROM outbox o WHERE EXISTS (SELECT 1 FROM json_each(o.attendee_ids) "
            "WHERE value = ?) ORDER BY o.id",
            (attendee_id,),
        )
        return [outbox_item(r) for r in rows]

    def events_of_replies(self, message_ids: Sequence[str]) -> tuple[str, ...]:
        """The events of the persons our mails with these Message-IDs were about."""
        found: list[str] = []
        for message_id in message_ids[:50]:
            row = self._one("SELECT attendee_ids FROM outbox WHERE message_id = ?", (message_id,))
            if row is None or row["attendee_ids"] is None:
                continue
            ids = json.dumps([str(i) for i in json.loads(row["attendee_ids"])])
            for (event,) in self._all(
                "SELECT DISTINCT event FROM attendees WHERE id IN (SELECT value FROM json_each(?))",
                (ids,),
            ):
                if event not in found:
                    found.append(str(event))
        return tuple(found)

    # --- notices the bot sends by itself (reminders, waitlist closed) ---

    def notices_done(self) -> frozenset[tuple[str, str]]:
        """(attendee id, kind) of every notice ever queued."""
        return frozenset((r[0], r[1]) for r in self._all("SELECT attendee_id, kind FROM notices"))

    def queue_notice(
        self, attendee_ids: Sequence[str], kind: str, row: OutgoingRow, now: datetime
    ) -> bool:
        """Queue one notice and note it for its attendees, in one transaction.

        False (and nothing queued) when any of them already had this kind of notice:
        the notices table is the idempotency key, so a restart never sends one twice.
        """
        with self.transaction() as db:
            for attendee_id in attendee_ids:
                if db.execute(
                    "SELECT 1 FROM notices WHERE attendee_id = ? AND kind = ?", (attendee_id, kind)
                ).fetchone():
                    return False
            for attendee_id in attendee_ids:
                db.execute(
                    "INSERT INTO notices (attendee_id, kind, message_id, queued_at) "
                    "VALUES (?,?,?,?)",
                    (attendee_id, kind, row.message_id, iso(now)),
                )
            queue_reply(db, None, row, now)
        return True
