"""SQLite: the decisions, the attendees, the outbox and the allocation log.

One transaction per message holds its decision, its log record and its replies
(transactional outbox), so a crash leaves either all of them or none.
The schema version lives in PRAGMA user_version and migrates itself on open.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from inbox_bot.core.allocate import AllocationState, Limits
from inbox_bot.core.logchain import GENESIS, chained
from inbox_bot.core.model import Attendee, OutgoingRow, Status
from inbox_bot.errors import AlreadyRunning, StoreError

_MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        folder TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        message_key TEXT NOT NULL,
        message_id TEXT,
        raw_sha256 TEXT NOT NULL,
        received_at TEXT NOT NULL,
        processed_at TEXT NOT NULL,
        sender TEXT,
        reply_to TEXT,
        subject TEXT,
        kind TEXT NOT NULL,
        decision TEXT NOT NULL,
        needs_review INTEGER NOT NULL DEFAULT 0,
        review_reason TEXT,
        resolved INTEGER NOT NULL DEFAULT 0,
        marked INTEGER NOT NULL DEFAULT 0,
        raw BLOB,
        UNIQUE (folder, uidvalidity, uid)
    );
    CREATE INDEX messages_message_id ON messages (message_id);
    CREATE INDEX messages_sha ON messages (raw_sha256);
    CREATE TABLE attendees (
        id TEXT PRIMARY KEY,
        message_key TEXT NOT NULL,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        email TEXT,
        organization TEXT,
        contact TEXT NOT NULL,
        status TEXT NOT NULL,
        seat INTEGER,
        arrival TEXT NOT NULL,
        uid INTEGER NOT NULL,
        language TEXT NOT NULL DEFAULT 'de',
        updated_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX attendees_seat ON attendees (seat) WHERE status = 'confirmed';
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        message_ref INTEGER REFERENCES messages (id),
        kind TEXT NOT NULL,
        message_id TEXT NOT NULL UNIQUE,
        recipient TEXT NOT NULL,
        data BLOB NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT
    );
    CREATE TABLE log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        record TEXT NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: retry pauses for replies that could not be sent yet
    """
    ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
    CREATE INDEX outbox_state ON outbox (state);
    CREATE INDEX outbox_recipient ON outbox (recipient, sent_at);
    """,
    # 3: the allocation log becomes a hash chain; staff actions and deletions are recorded
    """
    ALTER TABLE log ADD COLUMN hash TEXT;
    """,
    # 4: mail the bot sends by itself (reminder, waitlist closed): at most once per
    # attendee and kind, ever, also after a restart (inbox_bot/notices.py)
    """
    CREATE TABLE notices (
        attendee_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        message_id TEXT NOT NULL,
        queued_at TEXT NOT NULL,
        PRIMARY KEY (attendee_id, kind)
    );
    """,
    # 5: who registered a person (From, not Reply-To: the right to cancel); which
    # attendees each outgoing mail is about (its Message-ID is a token for those only);
    # mail whose reading was begun, so that one that killed the reader is not read again
    """
    ALTER TABLE attendees ADD COLUMN registered_by TEXT;
    UPDATE attendees SET registered_by = (
        SELECT m.sender FROM messages m WHERE m.message_key = attendees.message_key
        ORDER BY m.id LIMIT 1);
    UPDATE attendees SET registered_by = contact WHERE registered_by IS NULL;
    ALTER TABLE outbox ADD COLUMN attendee_ids TEXT;
    CREATE TABLE started (
        folder TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        started_at TEXT NOT NULL,
        PRIMARY KEY (folder, uidvalidity, uid)
    );
    """,
)


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, kw_only=True)
class MessageRecord:
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


@dataclass(frozen=True, kw_only=True)
class OutboxItem:
    id: int
    message_ref: int | None
    kind: str
    message_id: str
    recipient: str
    data: bytes
    state: str
    attempts: int


class Store:
    def __init__(self, connection: sqlite3.Connection, path: Path | None) -> None:
        self.db = connection
        self.path = path
        self._lock: TextIO | None = None

    # --- lifecycle ---

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
        from inbox_bot.adapters.safefiles import open_lock_file

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

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            yield self.db
        except BaseException:
            self.db.rollback()
            raise
        else:
            self.db.commit()

    # --- what was processed ---

    def processed_uids(self, folder: str, uidvalidity: int) -> set[int]:
        rows = self.db.execute(
            "SELECT uid FROM messages WHERE folder = ? AND uidvalidity = ?", (folder, uidvalidity)
        )
        return {r[0] for r in rows}

    def known_copy(self, message_id: str | None, raw_sha256: str) -> sqlite3.Row | None:
        """An earlier record of the same mail (Message-ID, or the hash of its bytes)."""
        if message_id:
            row = self.db.execute(
                "SELECT * FROM messages WHERE message_id = ? ORDER BY id LIMIT 1", (message_id,)
            ).fetchone()
            if row:
                return row  # type: ignore[no-any-return]
        return self.db.execute(  # type: ignore[no-any-return]
            "SELECT * FROM messages WHERE raw_sha256 = ? ORDER BY id LIMIT 1", (raw_sha256,)
        ).fetchone()

    def known_uidvalidities(self, folder: str) -> set[int]:
        rows = self.db.execute(
            "SELECT DISTINCT uidvalidity FROM messages WHERE folder = ?", (folder,)
        )
        return {r[0] for r in rows}

    # --- allocation state ---

    def load_state(
        self,
        *,
        capacity: int,
        deadline: datetime,
        event_start: datetime,
        limits: Limits | None = None,
    ) -> AllocationState:
        attendees = {a.id: a for a in self.attendees()}
        return AllocationState(
            capacity=capacity,
            deadline=deadline,
            event_start=event_start,
            attendees=attendees,
            limits=limits or Limits(),
        )

    def attendees(self) -> list[Attendee]:
        rows = self.db.execute("SELECT * FROM attendees ORDER BY arrival, uid, position")
        return [_attendee(r) for r in rows]

    # --- one message, one transaction ---

    def record(
        self,
        message: MessageRecord,
        changes: Sequence[Attendee],
        outgoing: Sequence[OutgoingRow],
        log_record: Mapping[str, Any],
    ) -> int:
        with self.transaction() as db:
            cursor = db.execute(
                """INSERT INTO messages (folder, uidvalidity, uid, message_key, message_id,
                   raw_sha256, received_at, processed_at, sender, reply_to, subject, kind,
                   decision, needs_review, review_reason, raw)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                (
                    message.folder,
                    message.uidvalidity,
                    message.uid,
                    message.message_key,
                    message.message_id,
                    message.raw_sha256,
                    iso(message.received_at),
                    iso(now_utc()),
                    message.sender,
                    message.reply_to,
                    message.subject,
                    message.kind,
                    message.decision,
                    int(message.needs_review),
                    message.review_reason,
                    message.raw,
                ),
            )
            ref = cursor.lastrowid
            db.execute(
                "DELETE FROM started WHERE folder = ? AND uidvalidity = ? AND uid = ?",
                (message.folder, message.uidvalidity, message.uid),
            )
            self._write_attendees(db, changes)
            for row in outgoing:
                self._queue(db, ref, row)
            self._append_log(db, log_record)
            assert ref is not None
            return ref

    def apply_changes(
        self,
        changes: Sequence[Attendee],
        outgoing: Sequence[OutgoingRow],
        log_record: Mapping[str, Any],
    ) -> None:
        """A decision that answers no mail (staff action, promotion by capacity change)."""
        with self.transaction() as db:
            self._write_attendees(db, changes)
            for row in outgoing:
                self._queue(db, None, row)
            self._append_log(db, log_record)

    def _write_attendees(self, db: sqlite3.Connection, changes: Sequence[Attendee]) -> None:
        # Free seats first so a promotion may take a seat cancelled in the same decision.
        for a in sorted(changes, key=lambda a: a.status is Status.CONFIRMED):
            db.execute(
                """INSERT INTO attendees (id, message_key, position, name, email, organization,
                   contact, status, seat, arrival, uid, language, updated_at, registered_by)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)
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
                    iso(now_utc()),
                    a.registered_by or a.contact,
                ),
            )

    def _queue(self, db: sqlite3.Connection, ref: int | None, row: OutgoingRow) -> None:
        db.execute(
            """INSERT INTO outbox (message_ref, kind, message_id, recipient, data, created_at,
               attendee_ids) VALUES (?,?,?,?,?,?,?)""",
            (
                ref,
                row.kind,
                row.message_id,
                row.recipient,
                row.data,
                iso(now_utc()),
                json.dumps(list(row.attendee_ids)),
            ),
        )

    def _append_log(self, db: sqlite3.Connection, record: Mapping[str, Any]) -> None:
        last = db.execute("SELECT hash FROM log ORDER BY seq DESC LIMIT 1").fetchone()
        body, digest = chained(last[0] if last and last[0] else GENESIS, record)
        db.execute(
            "INSERT INTO log (record, hash) VALUES (?, ?)",
            (json.dumps(body, ensure_ascii=False), digest),
        )

    def append_log(self, record: Mapping[str, Any]) -> None:
        """A log record of its own (staff action, deletion), in its own transaction."""
        with self.transaction() as db:
            self._append_log(db, record)

    def rechain_log(self, db: sqlite3.Connection) -> None:
        """After a deletion rewrote records: compute the chain anew, in order."""
        prev = GENESIS
        for seq, text in list(db.execute("SELECT seq, record FROM log ORDER BY seq")):
            record = json.loads(text)
            record.pop("prev_hash", None)
            body, prev = chained(prev, record)
            db.execute(
                "UPDATE log SET record = ?, hash = ? WHERE seq = ?",
                (json.dumps(body, ensure_ascii=False), prev, seq),
            )

    # --- notices the bot sends by itself (reminders, waitlist closed) ---

    def notices_done(self) -> frozenset[tuple[str, str]]:
        """(attendee id, kind) of every notice ever queued."""
        rows = self.db.execute("SELECT attendee_id, kind FROM notices")
        return frozenset((r[0], r[1]) for r in rows)

    def queue_notice(self, attendee_ids: Sequence[str], kind: str, row: OutgoingRow) -> bool:
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
                    (attendee_id, kind, row.message_id, iso(now_utc())),
                )
            self._queue(db, None, row)
        return True

    # --- outbox ---

    def pending_outbox(self, now: datetime | None = None) -> list[OutboxItem]:
        """Replies still to send; with `now`, only those whose retry pause is over."""
        due = iso(now) if now else None
        rows = self.db.execute(
            "SELECT * FROM outbox WHERE state IN ('queued', 'sending', 'unknown', 'retry') "
            "AND (? IS NULL OR next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id",
            (due, due),
        )
        return [_outbox(r) for r in rows]

    def retry_later(self, item_id: int, error: str, when: datetime, state: str = "retry") -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET state = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
                (state, error, iso(when), item_id),
            )

    def sent_since(self, since: datetime, recipient: str | None = None) -> int:
        """Replies handed to SMTP since a moment, to one recipient or in all."""
        if recipient is None:
            row = self.db.execute("SELECT COUNT(*) FROM outbox WHERE sent_at >= ?", (iso(since),))
        else:
            row = self.db.execute(
                "SELECT COUNT(*) FROM outbox WHERE sent_at >= ? AND lower(recipient) = lower(?)",
                (iso(since), recipient),
            )
        return int(row.fetchone()[0])

    def authorized_by_replies(self, message_ids: Sequence[str]) -> frozenset[str]:
        """The attendees a reply to these mails of ours may cancel: those each mail was
        about and its recipient is entitled to (her own address, or who registered her).

        A promotion mail is about the promoted person only, never about the people of
        the cancellation that freed the seat.
        """
        found: set[str] = set()
        for message_id in message_ids[:50]:
            row = self.db.execute(
                "SELECT recipient, attendee_ids, message_ref FROM outbox WHERE message_id = ?",
                (message_id,),
            ).fetchone()
            if row is None:
                continue
            if row["attendee_ids"] is not None:
                ids = [str(i) for i in json.loads(row["attendee_ids"])]
                where, args = "id IN (SELECT value FROM json_each(?))", (json.dumps(ids),)
            else:  # written before schema 5: the persons of the mail it answered
                where = "message_key = (SELECT message_key FROM messages WHERE id = ?)"
                args = (row["message_ref"],)
            recipient = str(row["recipient"]).casefold()
            query = f"SELECT id, email, contact, registered_by FROM attendees WHERE {where}"  # noqa: S608
            for attendee in self.db.execute(query, args):
                entitled = {str(a).casefold() for a in attendee[1:] if a}
                if recipient in entitled:
                    found.add(attendee[0])
        return frozenset(found)

    def merge_held(self, recipient: str, kind: str) -> int:
        """Held replies of one kind to one address: all but the newest become "merged"."""
        with self.transaction() as db:
            cursor = db.execute(
                """UPDATE outbox SET state = 'merged', last_error = 'zusammengefasst'
                   WHERE lower(recipient) = lower(?) AND kind = ?
                   AND state IN ('queued', 'retry') AND id < (
                       SELECT MAX(id) FROM outbox WHERE lower(recipient) = lower(?)
                       AND kind = ? AND state IN ('queued', 'retry'))""",
                (recipient, kind, recipient, kind),
            )
        return int(cursor.rowcount)

    # --- mail whose reading was begun (inbox_bot/analyse.py) ---

    def note_started(self, folder: str, uidvalidity: int, uid: int, now: datetime) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO started (folder, uidvalidity, uid, started_at) "
                "VALUES (?,?,?,?)",
                (folder, uidvalidity, uid, iso(now)),
            )

    def was_started(self, folder: str, uidvalidity: int, uid: int) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM started WHERE folder = ? AND uidvalidity = ? AND uid = ?",
            (folder, uidvalidity, uid),
        ).fetchone()
        return row is not None

    def set_outbox_state(self, item_id: int, state: str, error: str | None = None) -> None:
        with self.transaction() as db:
            db.execute(
                """UPDATE outbox SET state = ?, last_error = COALESCE(?, last_error),
                   attempts = attempts + (? = 'sending'),
                   sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?""",
                (state, error, state, state, iso(now_utc()), item_id),
            )

    def outbox_for_message(self, message_ref: int) -> list[OutboxItem]:
        rows = self.db.execute("SELECT * FROM outbox WHERE message_ref = ?", (message_ref,))
        return [_outbox(r) for r in rows]

    def flag_review(self, message_ref: int | None, reason: str) -> None:
        """Send a message (back) to staff review; it is flagged again in the mailbox."""
        if message_ref is None:
            return
        with self.transaction() as db:
            db.execute(
                """UPDATE messages SET needs_review = 1, resolved = 0, marked = 0,
                   review_reason = TRIM(COALESCE(review_reason, '') || ' ' || ?) WHERE id = ?""",
                (reason, message_ref),
            )

    # --- marking ---

    def unmarked(self, folder: str, uidvalidity: int) -> list[sqlite3.Row]:
        return list(
            self.db.execute(
                "SELECT * FROM messages WHERE marked = 0 AND folder = ? AND uidvalidity = ?",
                (folder, uidvalidity),
            )
        )

    def set_marked(self, message_ref: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE messages SET marked = 1 WHERE id = ?", (message_ref,))

    # --- reading for staff ---

    def messages(self) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT * FROM messages ORDER BY received_at, uid"))

    def reply_ids(self) -> dict[int, str]:
        rows = self.db.execute(
            "SELECT message_ref, message_id FROM outbox WHERE message_ref IS NOT NULL ORDER BY id"
        )
        found: dict[int, str] = {}
        for ref, mid in rows:
            found.setdefault(ref, mid)
        return found

    def review_queue(self) -> list[sqlite3.Row]:
        return list(
            self.db.execute(
                "SELECT * FROM messages WHERE needs_review = 1 AND resolved = 0 "
                "ORDER BY received_at"
            )
        )

    def log_after(self, seq: int) -> list[tuple[int, str, str]]:
        """(seq, record JSON, hash) of the records after `seq`."""
        return list(
            self.db.execute(
                "SELECT seq, record, COALESCE(hash, '') FROM log WHERE seq > ? ORDER BY seq",
                (seq,),
            )
        )

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def counts(self) -> dict[str, int]:
        out = {str(s): 0 for s in Status}
        for status, n in self.db.execute("SELECT status, COUNT(*) FROM attendees GROUP BY status"):
            out[status] = n
        out["review"] = len(self.review_queue())
        out["outbox_pending"] = len(self.pending_outbox())
        out["outbox_failed"] = self.db.execute(
            "SELECT COUNT(*) FROM outbox WHERE state IN ('failed', 'unknown')"
        ).fetchone()[0]
        out["messages"] = self.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        return out


def open_store(path: Path) -> Store:
    from inbox_bot.adapters.safefiles import make_private, private_dir

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
    return _prepare(db, path)


def open_memory_copy(path: Path) -> Store:
    """A private in-memory copy of the database, for --dry-run: nothing on disk changes."""
    memory = sqlite3.connect(":memory:", isolation_level=None)
    if path.exists():
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            source.backup(memory)
        finally:
            source.close()
    return _prepare(memory, None)


def _prepare(db: sqlite3.Connection, path: Path | None) -> Store:
    db.row_factory = sqlite3.Row
    try:
        if path is not None:
            db.execute("PRAGMA journal_mode = WAL")
            # FULL: an acknowledged allocation survives a power cut, not only a crash.
            db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        # Deleted rows (forget, purge) are overwritten, not left in free pages.
        db.execute("PRAGMA secure_delete = ON")
        _migrate(db)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot prepare database {path or ':memory:'}: {exc}") from exc
    return Store(db, path)


def _migrate(db: sqlite3.Connection) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(_MIGRATIONS):
        raise StoreError(
            f"database schema {version} is newer than this inbox-bot ({len(_MIGRATIONS)})"
        )
    for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in script.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            db.rollback()
            raise
        db.commit()


def _attendee(row: sqlite3.Row) -> Attendee:
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
    )


def _outbox(row: sqlite3.Row) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        message_ref=row["message_ref"],
        kind=row["kind"],
        message_id=row["message_id"],
        recipient=row["recipient"],
        data=row["data"],
        state=row["state"],
        attempts=row["attempts"],
    )
