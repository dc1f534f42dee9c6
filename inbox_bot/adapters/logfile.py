"""The staff-facing allocation log: one JSON line per decision.

Records are written into the database in the same transaction as the decision; the
JSON-lines file is a copy brought up to date after each cycle. Every record carries
its sequence number, so the copy is appended exactly once even after a crash: the last
seq written is kept in the database with the file's size and inode, and a file that
changed otherwise is read from its end, line by line, however long a line is.

A record is bounded whatever the mail says: its reason and its lists of persons are cut
(with a note how much) so that one mail cannot make a record of megabytes.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from inbox_bot.adapters.safefiles import open_append_private, private_dir, write_atomic
from inbox_bot.adapters.store import Store, iso, now_utc
from inbox_bot.config import EventSettings
from inbox_bot.core.allocate import Decision, Placement, Request
from inbox_bot.errors import StoreError

MAX_REASON_CHARS = 4000
MAX_PERSONS = 50
FILE_STATE_KEY = "log_file_seq"  # meta: {"seq", "size", "inode", "device"} of the file
_CHUNK = 65536


def decision_record(
    *,
    event: EventSettings,
    request: Request,
    decision: Decision,
    uidvalidity: int,
    message_id: str | None,
    reply_ids: Sequence[str],
    extra_reasons: Sequence[str] = (),
) -> dict[str, Any]:
    first = decision.placements[0] if decision.placements else None
    return {
        "time": iso(now_utc()),
        "uid": request.uid,
        "uidvalidity": uidvalidity,
        "message_id": message_id,
        "received_at": event.local(request.arrival).isoformat(),
        "sender": request.sender,
        "reply_to": request.contact,
        "kind": str(request.intent.kind),
        "decision": str(decision.outcome),
        "seat": first.attendee.seat if first else None,
        "waitlist_position": first.waitlist_position if first else None,
        **_listed("persons", decision.placements),
        **_listed("promoted", decision.promotions),
        # Whom a reply-token let the sender cancel (the registrants of those persons).
        "authorized_by": sorted(
            {
                p.attendee.registrant
                for p in decision.placements
                if p.attendee.id in request.authorized
            }
        ),
        "reply_message_id": reply_ids[0] if reply_ids else None,
        "reply_message_ids": list(reply_ids),
        "needs_review": decision.needs_review or bool(extra_reasons),
        "reason": capped(" ".join([*decision.reasons, *extra_reasons])),
    }


def undecided_record(
    *,
    event: EventSettings,
    uid: int,
    uidvalidity: int,
    message_id: str | None,
    arrival: datetime,
    kind: str,
    decision: str,
    needs_review: bool,
    reason: str,
) -> dict[str, Any]:
    """The record of a mail that reached no allocation (unreadable, too large, a copy)."""
    return {
        "time": iso(now_utc()),
        "uid": uid,
        "uidvalidity": uidvalidity,
        "message_id": message_id,
        "received_at": event.local(arrival).isoformat(),
        "sender": None,
        "reply_to": None,
        "kind": kind,
        "decision": decision,
        "seat": None,
        "waitlist_position": None,
        "persons": [],
        "promoted": [],
        "reply_message_id": None,
        "reply_message_ids": [],
        "needs_review": needs_review,
        "reason": capped(reason),
    }


def _person(placement: Placement) -> dict[str, Any]:
    a = placement.attendee
    return {
        "name": a.name,
        "email": a.email,
        "organization": a.organization,
        "status": str(a.status),
        "seat": a.seat,
        "waitlist_position": placement.waitlist_position,
        "duplicate": placement.duplicate,
    }


def capped(reason: str) -> str:
    """A reason of at most MAX_REASON_CHARS characters, saying how much was cut."""
    if len(reason) <= MAX_REASON_CHARS:
        return reason
    cut = len(reason) - MAX_REASON_CHARS
    return f"{reason[:MAX_REASON_CHARS]}… [{cut} Zeichen gekürzt]"


def _listed(key: str, placements: Sequence[Placement]) -> dict[str, Any]:
    """The first MAX_PERSONS placements under `key`, and how many are not listed."""
    listed: dict[str, Any] = {key: [_person(p) for p in placements[:MAX_PERSONS]]}
    if len(placements) > MAX_PERSONS:
        listed[f"{key}_not_listed"] = len(placements) - MAX_PERSONS
    return listed


def sync_log_file(store: Store, path: Path) -> int:
    """Append the records the file does not have yet; returns how many were written."""
    try:
        private_dir(path.parent)
        descriptor = open_append_private(path)
        try:
            # A staff command and the worker may bring the file up to date at the same time.
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            return _append_missing(store, descriptor)
        finally:
            os.close(descriptor)
    except OSError as exc:
        raise StoreError(f"cannot write allocation log {path}: {exc.strerror or exc}") from exc


def _append_missing(store: Store, descriptor: int) -> int:
    info = os.fstat(descriptor)
    last = _remembered_seq(store, info)
    if last is None:
        last = _last_seq(descriptor, info.st_size)
    rows = store.log_after(last)
    if rows:
        lines = [_line(seq, record, digest) for seq, record, digest in rows]
        if info.st_size and os.pread(descriptor, 1, info.st_size - 1) != b"\n":
            lines.insert(0, "\n")  # close a line torn by a crash
        _write_all(descriptor, "".join(lines).encode("utf-8"))
        os.fsync(descriptor)
        last = rows[-1][0]
    _remember(store, last, os.fstat(descriptor))
    return len(rows)


def rewrite_log_file(store: Store, path: Path) -> None:
    """Write the whole file anew from the database (after a deletion changed records)."""
    rows = store.log_after(0)
    data = "".join(_line(seq, record, digest) for seq, record, digest in rows)
    try:
        private_dir(path.parent)
        write_atomic(path, data.encode("utf-8"))
        info = os.stat(path, follow_symlinks=False)
    except OSError as exc:
        raise StoreError(f"cannot write allocation log {path}: {exc.strerror or exc}") from exc
    _remember(store, rows[-1][0] if rows else 0, info)


def _line(seq: int, record: str, digest: str) -> str:
    entry = {"seq": seq, **json.loads(record), "hash": digest}
    return json.dumps(entry, ensure_ascii=False) + "\n"


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


def _file_state(seq: int, info: os.stat_result) -> dict[str, int]:
    return {"seq": seq, "size": info.st_size, "inode": info.st_ino, "device": info.st_dev}


def _remembered_seq(store: Store, info: os.stat_result) -> int | None:
    """The last seq written, if the file is the one we wrote and unchanged since."""
    try:
        state = json.loads(store.get_meta(FILE_STATE_KEY) or "{}")
        seq = int(state["seq"])
    except (ValueError, KeyError, TypeError):
        return None  # never written, or unreadable: the file itself tells
    return seq if state == _file_state(seq, info) else None


def _remember(store: Store, seq: int, info: os.stat_result) -> None:
    state = json.dumps(_file_state(seq, info))
    if store.get_meta(FILE_STATE_KEY) != state:
        store.set_meta(FILE_STATE_KEY, state)


def _last_seq(descriptor: int, size: int) -> int:
    """The seq of the last complete record in the file."""
    for line in _lines_from_end(descriptor, size):
        try:
            return int(json.loads(line)["seq"])
        except (ValueError, KeyError, TypeError, RecursionError):
            continue  # a torn last line after a crash: the line before it counts
    return 0


def _lines_from_end(descriptor: int, size: int) -> Iterator[bytes]:
    """The file's lines, the last one first, read backwards in chunks: no length limit."""
    pieces: list[bytes] = []  # the line being put together, its end first
    end = size
    while end > 0:
        start = max(0, end - _CHUNK)
        block = os.pread(descriptor, end - start, start)
        end = start
        *earlier, rest = block.split(b"\n")
        pieces.append(rest)
        if earlier:
            yield b"".join(reversed(pieces))
            yield from reversed(earlier[1:])
            pieces = [earlier[0]]
    yield b"".join(reversed(pieces))
