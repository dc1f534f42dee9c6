"""SQLite: the decisions, the attendees, the outbox and the allocation log.

One transaction per message holds its decision, its log record and its replies
(transactional outbox), so a crash leaves either all of them or none. All SQL of the
bot is in this package; it hands out typed rows (records.py) and raises StoreError.

    schema.py    the versioned schema (PRAGMA user_version), migrated on open
    messages.py  mail and attendees: one decision per transaction, review, marking
    outbox.py    one method per state change of a reply; reply tokens; notices
    log.py       the allocation log's hash chain in the database; meta; counts
    privacy.py   forget one person, purge everyone
    store.py     the Store that joins them, opened and locked
"""

from inbox_bot.adapters.store.records import (
    LogEntry,
    MessageRecord,
    MessageRow,
    OutboxItem,
    OutboxState,
    iso,
)
from inbox_bot.adapters.store.store import Store, open_memory_copy, open_store

__all__ = [
    "LogEntry",
    "MessageRecord",
    "MessageRow",
    "OutboxItem",
    "OutboxState",
    "Store",
    "iso",
    "open_memory_copy",
    "open_store",
]
