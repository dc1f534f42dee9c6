"""The connection and its few ways of running SQL; sqlite3 errors become StoreError."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from inbox_bot.errors import StoreError


class Base:
    """Shared by the parts of the Store (messages, outbox, log, privacy)."""

    def __init__(self, connection: sqlite3.Connection, where: str) -> None:
        self.db = connection
        self.where = where  # the database's name in error messages

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic change: committed at the end, rolled back on any error."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"database {self.where}: {exc}") from exc
        try:
            yield self.db
        except sqlite3.Error as exc:
            self.db.rollback()
            raise StoreError(f"database {self.where}: {exc}") from exc
        except BaseException:
            self.db.rollback()
            raise
        else:
            try:
                self.db.commit()
            except sqlite3.Error as exc:
                raise StoreError(f"database {self.where}: {exc}") from exc

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            return list(self.db.execute(sql, args))
        except sqlite3.Error as exc:
            raise StoreError(f"database {self.where}: {exc}") from exc

    def _one(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = self._all(sql, args)
        return rows[0] if rows else None

    def _count(self, sql: str, args: Sequence[Any] = ()) -> int:
        row = self._one(sql, args)
        return int(row[0]) if row is not None else 0

    def _change(self, sql: str, args: Sequence[Any] = ()) -> int:
        """One statement in its own transaction; how many rows it changed."""
        with self.transaction() as db:
            return int(db.execute(sql, args).rowcount)
