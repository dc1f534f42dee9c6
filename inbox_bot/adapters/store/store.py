"""The Store: one SQLite database for a mailbox, opened and locked here."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path
from typing import TextIO

from inbox_bot.adapters.safefiles import make_private, open_lock_file, private_dir
from inbox_bot.adapters.store.log import Log
from inbox_bot.adapters.store.messages import Messages
from inbox_bot.adapters.store.outbox import Outbox
from inbox_bot.adapters.store.privacy import Privacy
from inbox_bot.adapters.store.schema import prepare
from inbox_bot.adapters.store.staffusers import StaffUsers
from inbox_bot.errors import AlreadyRunning, StoreError


class Store(Messages, Outbox, Log, Privacy, StaffUsers):
    """All the bot's state: mail, attendees, outbox, allocation log, meta."""

    def __init__(self, connection: sqlite3.Connection, path: Path | None) -> None:
        super().__init__(connection, str(path or ":memory:"))
        self.path = path
        self._lock: TextIO | None = None
        try:
            self.count_attendee_changes()
        except sqlite3.Error as exc:
            raise StoreError(f"database {self.where}: {exc}") from exc

    def close(self) -> None:
        self.db.close()
        if self._lock:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lock(self) -> None:
        """One worker per database: a second one refuses to start."""
        if self.path is None:
            return
        handle = open_lock_file(Path(f"{self.path}.lock"))  # held while running
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise AlreadyRunning(
                f"another inbox-bot is already working on {self.path}; stop it first"
            ) from None
        handle.truncate(0)  # only now: the running worker's pid stays until the lock is ours
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle

    def is_locked_elsewhere(self) -> bool:
        """Whether a worker holds the lock (staff commands then leave sending to it)."""
        try:
            self.lock()
        except AlreadyRunning:
            return True
        return False


def open_store(path: Path) -> Store:
    try:
        private_dir(path.parent)
        # Created here, 0600 and never through a link: SQLite would create it 0644.
        # It creates a missing -wal or -shm later with the database's mode.
        make_private(path, create=True)
        for journal in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            if journal.exists() or journal.is_symlink():
                make_private(journal)
        # check_same_thread off: `run` hands the store to the scheduler's one worker thread.
        db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open database {path}: {exc}") from exc
    prepare(db, path)
    return Store(db, path)


def open_memory_copy(path: Path) -> Store:
    """A private in-memory copy of the database, for --dry-run: nothing on disk changes."""
    try:
        memory = sqlite3.connect(":memory:", isolation_level=None)
        if path.exists():
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                source.backup(memory)
            finally:
                source.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read database {path}: {exc}") from exc
    prepare(memory, None)
    return Store(memory, None)
