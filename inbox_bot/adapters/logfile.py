"""The allocation log as a file staff read: one JSON line per record (core/audit.py).

Records are written into the database in the same transaction as the decision; the
JSON-lines file is a copy brought up to date after each cycle. Every record carries
its sequence number, so the copy is appended exactly once even after a crash: the last
seq written is kept in the database with the file's size and inode, and a file that
changed otherwise is read from its end, line by line, however long a line is.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from inbox_bot.adapters.safefiles import open_append_private, private_dir, write_atomic
from inbox_bot.adapters.store import LogEntry, Store
from inbox_bot.errors import StoreError

FILE_STATE_KEY = "log_file_seq"  # meta: {"seq", "size", "inode", "device"} of the file
_CHUNK = 65536


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
        lines = [_line(entry) for entry in rows]
        if info.st_size and os.pread(descriptor, 1, info.st_size - 1) != b"\n":
            lines.insert(0, "\n")  # close a line torn by a crash
        _write_all(descriptor, "".join(lines).encode("utf-8"))
        os.fsync(descriptor)
        last = rows[-1].seq
    _remember(store, last, os.fstat(descriptor))
    return len(rows)


def rewrite_log_file(store: Store, path: Path) -> None:
    """Write the whole file anew from the database (after a deletion changed records)."""
    rows = store.log_after(0)
    data = "".join(_line(entry) for entry in rows)
    try:
        private_dir(path.parent)
        write_atomic(path, data.encode("utf-8"))
        info = os.stat(path, follow_symlinks=False)
    except OSError as exc:
        raise StoreError(f"cannot write allocation log {path}: {exc.strerror or exc}") from exc
    _remember(store, rows[-1].seq if rows else 0, info)


def _line(entry: LogEntry) -> str:
    line = {"seq": entry.seq, **entry.data, "hash": entry.hash}
    return json.dumps(line, ensure_ascii=False) + "\n"


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
