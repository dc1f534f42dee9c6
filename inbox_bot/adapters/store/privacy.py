"""Deletion in the database: one person everywhere (forget), or everyone (purge).

What to delete is decided in app/privacy.py (which mails and replies name her); this
module carries it out in one transaction, rewrites the log with its hash chain, and
rebuilds the file (VACUUM) so that no old page keeps a name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from inbox_bot.adapters.store.base import Base
from inbox_bot.adapters.store.log import RecordChange, rewrite_log
from inbox_bot.adapters.store.messages import append_log_record

REDACTED = "(gelöscht)"
_DELETED_REPLY = "gelöscht (Löschung auf Antrag)"
_HAND_REPLY = "Antwort wegen einer Löschung nicht gesendet: bitte von Hand antworten."


class Privacy(Base):
    def names_for_address(self, address: str) -> list[str]:
        """Names of the attendees this address registered or that have it as their own."""
        rows = self._all(
            "SELECT name FROM attendees WHERE lower(email) = lower(?) OR lower(contact) = lower(?)",
            (address, address),
        )
        return [str(r[0]) for r in rows]

    def kept_raw(self) -> list[tuple[int, bytes]]:
        return [
            (r[0], bytes(r[1]))
            for r in self._all("SELECT id, raw FROM messages WHERE raw IS NOT NULL")
        ]

    def outbox_mails(self) -> list[tuple[int, bytes, str, str, int | None]]:
        """(id, bytes, state, recipient, message_ref) of every mail in the outbox."""
        rows = self._all("SELECT id, data, state, recipient, message_ref FROM outbox")
        return [(r[0], bytes(r[1] or b""), r[2], r[3], r[4]) for r in rows]

    def log_texts(self) -> list[str]:
        return [str(r[0]) for r in self._all("SELECT record FROM log")]

    def forget_address(
        self,
        address: str,
        *,
        raw_hits: Sequence[int],
        outbox_hits: Sequence[tuple[int, bool, int | None]],
        redact_text: Callable[[str], str],
        redact_record: RecordChange,
        final: Mapping[str, Any],
    ) -> int:
        """Remove a person's data everywhere; returns how many attendee rows were hers."""
        mine = "lower(email) = lower(?) OR lower(contact) = lower(?)"
        with self.transaction() as db:
            count = db.execute(
                f"UPDATE attendees SET name = ?, email = NULL, organization = NULL, contact = ?, "  # noqa: S608
                f"registered_by = ? WHERE {mine} OR lower(registered_by) = lower(?)",
                (REDACTED, REDACTED, REDACTED, address, address, address),
            ).rowcount
            db.execute(
                "UPDATE messages SET sender = NULL, reply_to = NULL, subject = NULL, raw = NULL "
                "WHERE lower(sender) = lower(?) OR lower(reply_to) = lower(?)",
                (address, address),
            )
            for hit in raw_hits:
                db.execute("UPDATE messages SET raw = NULL, subject = NULL WHERE id = ?", (hit,))
            for ref, reason in list(db.execute("SELECT id, review_reason FROM messages")):
                if reason and (changed := redact_text(reason)) != reason:
                    db.execute("UPDATE messages SET review_reason = ? WHERE id = ?", (changed, ref))
            for row_id, unsent, message_ref in outbox_hits:
                db.execute(
                    "UPDATE outbox SET data = X'', recipient = ?, "
                    "state = CASE WHEN ? THEN 'failed' ELSE state END, "
                    "last_error = CASE WHEN ? THEN ? ELSE last_error END WHERE id = ?",
                    (REDACTED, unsent, unsent, _DELETED_REPLY, row_id),
                )
                if unsent and message_ref is not None:
                    db.execute(
                        "UPDATE messages SET needs_review = 1, resolved = 0, marked = 0, "
                        "review_reason = TRIM(COALESCE(review_reason, '') || ' ' || ?) "
                        "WHERE id = ?",
                        (_HAND_REPLY, message_ref),
                    )
            for key, value in list(db.execute("SELECT key, value FROM meta")):
                if (changed := redact_text(value)) != value:
                    db.execute("UPDATE meta SET value = ? WHERE key = ?", (changed, key))
            rewrite_log(db, redact_record)
            append_log_record(db, final)
        self._rebuild()
        return int(count)

    def purge_all(self, anonymize: RecordChange, final: Mapping[str, Any]) -> None:
        """Every personal datum goes; the counts stay."""
        with self.transaction() as db:
            db.execute(
                "UPDATE attendees SET name = ?, email = NULL, organization = NULL, contact = ?, "
                "registered_by = ?",
                (REDACTED, REDACTED, REDACTED),
            )
            db.execute(
                "UPDATE messages SET sender = NULL, reply_to = NULL, subject = NULL, raw = NULL, "
                "message_id = NULL, "
                "review_reason = CASE WHEN review_reason = '' THEN '' ELSE ? END",
                (REDACTED,),
            )
            db.execute("UPDATE outbox SET data = X'', recipient = ?", (REDACTED,))
            db.execute("DELETE FROM meta WHERE key LIKE 'alert%' OR key LIKE 'last_%error'")
            rewrite_log(db, anonymize)
            append_log_record(db, final)
        self._rebuild()

    def purge_event(
        self,
        event: str,
        message_refs: Sequence[int],
        anonymize: RecordChange,
        final: Mapping[str, Any],
    ) -> None:
        """One event's personal data goes: its attendees, the given mails, the replies
        about them; the log through `anonymize`; the counts stay."""
        with self.transaction() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM attendees WHERE event = ?", (event,))]
            db.execute(
                "UPDATE attendees SET name = ?, email = NULL, organization = NULL, contact = ?, "
                "registered_by = ? WHERE event = ?",
                (REDACTED, REDACTED, REDACTED, event),
            )
            for ref in message_refs:
                db.execute(
                    "UPDATE messages SET sender = NULL, reply_to = NULL, subject = NULL, "
                    "raw = NULL, message_id = NULL, review_reason = CASE WHEN review_reason = '' "
                    "THEN '' ELSE ? END WHERE id = ?",
                    (REDACTED, ref),
                )
            wanted, refs = set(ids), set(message_refs)
            for row_id, ref, about in list(
                db.execute("SELECT id, message_ref, attendee_ids FROM outbox")
            ):
                if ref in refs or wanted & set(json.loads(about or "[]")):
                    db.execute(
                        "UPDATE outbox SET data = X'', recipient = ? WHERE id = ?",
                        (REDACTED, row_id),
                    )
            rewrite_log(db, anonymize)
            append_log_record(db, final)
        self._rebuild()

    def _rebuild(self) -> None:
        # The old pages (and the WAL's copies of them) still hold the names.
        self._all("VACUUM")
        self._all("PRAGMA wal_checkpoint(TRUNCATE)")
