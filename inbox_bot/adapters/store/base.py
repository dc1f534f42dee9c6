"""The connection and its few ways of running SQL; sqlite3 errors become StoreError."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from inbox_bot.errors import StoreError

_COUNTING = """
CREATE TEMP TABLE IF NOT EXISTS attendee_changes (n INTEGER NOT NULL);
INSERT INTO attendee_changes SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM attendee_changes);
CREATE TEMP TRIGGER IF NOT EXISTS attendees_added AFTER INSERT ON main.attendees
BEGIN UPDATE attendee_changes SET n = n + 1; END;
CREATE TEMP TRIGGER IF NOT EXISTS attendees_changed AFTER UPDATE ON main.attendees
BEGIN UPDATE attendee_changes SET n = n + 1; END;
CREATE TEMP TRIGGER IF NOT EXISTS attendees_removed AFTER DELETE ON main.attendees
BEGIN UPDATE attendee_changes SET n = n + 1; END;
"""


class Base:
    """Shared by the parts of the Store (messages, outbox, log, privacy)."""

    def __init__(self, connection: sqlite3.Connection, where: str) -> None:
        self.db = connection
        self.where = where  # the database's name in error messages
        self._batch = False
        self._savepoints = 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic change: committed at the end, rolled back on any error. Inside
        batch(), a savepoint: the change is kept or rolled back alone, and made durable
        with the batch."""
        if self._batch:
            with self._savepoint() as db:
                yield db
            return
        self._run("BEGIN IMMEDIATE")
        try:
            yield self.db
        except sqlite3.Error as exc:
            self.db.rollback()
            raise StoreError(f"database {self.where}: {exc}") from exc
        except BaseException:
            self.db.rollback()
            raise
        else:
            self._run("COMMIT")

    @contextlib.contextmanager
    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        self._savepoints += 1
        name = f"change{self._savepoints}"
        self._run(f"SAVEPOINT {name}")
        try:
            yield self.db
        except BaseException as exc:
            self._run(f"ROLLBACK TO {name}")
            self._run(f"RELEASE {name}")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"database {self.where}: {exc}") from exc
            raise
        else:
            self._run(f"RELEASE {name}")
        finally:
            self._savepoints -= 1

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group commit: every transaction() inside becomes a savepoint of one
        transaction, committed (one fsync) when the batch ends, also when it ends with
        an error: what was recorded is whole, each change on its own. Replies must
        leave only after the batch: a crash before its commit undoes all of it."""
        if self._batch:
            yield
            return
        self._run("BEGIN IMMEDIATE")
        self._batch = True
        try:
            yield
        finally:
            self._batch = False
            try:
                self._run("COMMIT")
            except StoreError:
                self.db.rollback()
                raise

    def commit_now(self) -> None:
        """Make what the batch recorded so far durable at once (a mail noted as begun
        must survive the crash that reading it may cause); the batch goes on."""
        if self._batch and not self._savepoints:
            self._run("COMMIT")
            self._run("BEGIN IMMEDIATE")

    def version(self) -> tuple[int, int]:
        """(commits by other connections, attendee rows this connection changed): equal
        versions mean an allocation state built in between is still the stored one."""
        other = self._one("PRAGMA data_version")
        mine = self._one("SELECT n FROM temp.attendee_changes")
        return (int(other[0]) if other else 0, int(mine[0]) if mine else 0)

    def count_attendee_changes(self) -> None:
        """Temporary triggers (this connection only) count every attendee row it writes;
        a rolled-back change takes its count back with it."""
        self.db.executescript(_COUNTING)

    def _run(self, sql: str) -> None:
        try:
            self.db.execute(sql)
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
