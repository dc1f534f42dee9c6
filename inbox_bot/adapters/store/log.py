"""The allocation log's copy in the database (a hash chain), the meta table, counts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from inbox_bot.adapters.store.base import Base
from inbox_bot.adapters.store.messages import append_log_record
from inbox_bot.adapters.store.records import PENDING_STATES, LogEntry
from inbox_bot.core.logchain import GENESIS, chained
from inbox_bot.core.model import Status

RecordChange = Callable[[dict[str, Any]], dict[str, Any]]


class Log(Base):
    def append_log(self, record: Mapping[str, Any]) -> None:
        """A log record of its own (a staff note), in its own transaction."""
        with self.transaction() as db:
            append_log_record(db, record)

    def log_after(self, seq: int) -> list[LogEntry]:
        """The records after `seq`, in order."""
        rows = self._all(
            "SELECT seq, record, COALESCE(hash, '') FROM log WHERE seq > ? ORDER BY seq", (seq,)
        )
        return [LogEntry(seq=r[0], data=json.loads(r[1]), hash=r[2]) for r in rows]

    # --- meta ---

    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return str(row[0]) if row is not None else None

    def set_meta(self, key: str, value: str) -> None:
        self._change(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def counts(self, event: str | None = None) -> dict[str, int]:
        """Places by status (of one event, or of all), mail for staff, the outbox."""
        out = {str(s): 0 for s in Status}
        if event is None:
            by_status = self._all("SELECT status, COUNT(*) FROM attendees GROUP BY status")
        else:
            by_status = self._all(
                "SELECT status, COUNT(*) FROM attendees WHERE event = ? GROUP BY status", (event,)
            )
        for status, n in by_status:
            out[status] = n
        out["review"] = self._count(
            "SELECT COUNT(*) FROM messages WHERE needs_review = 1 AND resolved = 0"
        )
        pending = ", ".join(f"'{s}'" for s in PENDING_STATES)
        out["outbox_pending"] = self._count(
            f"SELECT COUNT(*) FROM outbox WHERE state IN ({pending})"  # noqa: S608 - constant
        )
        out["outbox_failed"] = self._count(
            "SELECT COUNT(*) FROM outbox WHERE state IN ('failed', 'unknown')"
        )
        out["messages"] = self._count("SELECT COUNT(*) FROM messages")
        return out


def rewrite_log(db: sqlite3.Connection, change: RecordChange) -> None:
    """Every record through `change`, then the hash chain computed anew, in order."""
    prev = GENESIS
    for seq, text in list(db.execute("SELECT seq, record FROM log ORDER BY seq")):
        record = change(json.loads(text))
        record.pop("prev_hash", None)
        body, prev = chained(prev, record)
        db.execute(
            "UPDATE log SET record = ?, hash = ? WHERE seq = ?",
            (json.dumps(body, ensure_ascii=False), prev, seq),
        )
