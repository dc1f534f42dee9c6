"""The database schema: versioned in PRAGMA user_version, migrated on open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from inbox_bot.errors import StoreError

MIGRATIONS: tuple[str, ...] = (
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
    # 6: a series of events: each place is in one event (its key; '' for the one event
    # of an [event] config), seats are numbered per event; a message names its events
    """
    ALTER TABLE attendees ADD COLUMN event TEXT NOT NULL DEFAULT '';
    DROP INDEX attendees_seat;
    CREATE UNIQUE INDEX attendees_seat ON attendees (event, seat) WHERE status = 'confirmed';
    CREATE INDEX attendees_event ON attendees (event, arrival, uid, position);
    ALTER TABLE messages ADD COLUMN events TEXT;
    """,
    # 7: staff accounts of the web console (argon2id hashes, never the password)
    """
    CREATE TABLE staff_users (
        name TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
    # 8: lookups a cycle makes for every mail and reply, by index instead of a scan
    """
    CREATE INDEX outbox_message ON outbox (message_ref);
    CREATE INDEX outbox_sent ON outbox (sent_at);
    CREATE INDEX outbox_recipient_sent ON outbox (lower(recipient), sent_at);
    CREATE INDEX messages_unmarked ON messages (folder, uidvalidity) WHERE marked = 0;
    """,
)


def prepare(db: sqlite3.Connection, path: Path | None) -> None:
    """Pragmas and migrations; every problem is a StoreError naming the database."""
    db.row_factory = sqlite3.Row
    try:
        if path is not None:
            db.execute("PRAGMA journal_mode = WAL")
            # FULL: an acknowledged allocation survives a power cut, not only a crash.
            db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        # Deleted rows (forget, purge) are overwritten, not left in free pages.
        db.execute("PRAGMA secure_delete = ON")
        migrate(db)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot prepare database {path or ':memory:'}: {exc}") from exc


def migrate(db: sqlite3.Connection) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"database schema {version} is newer than this inbox-bot ({len(MIGRATIONS)})"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
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
