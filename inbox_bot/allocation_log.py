"""The staff-facing allocation log: one JSON line per decision.

Records are written into the database in the same transaction as the decision; the
JSON-lines file is a copy brought up to date after each cycle. Every record carries
its sequence number, so the copy is appended exactly once even after a crash.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from inbox_bot.allocate import Decision, Placement, Request
from inbox_bot.config import EventSettings
from inbox_bot.store import Store, iso, now_utc


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
        "persons": [_person(p) for p in decision.placements],
        "promoted": [_person(p) for p in decision.promotions],
        "authorized_by": sorted(request.thread_contacts),
        "reply_message_id": reply_ids[0] if reply_ids else None,
        "reply_message_ids": list(reply_ids),
        "needs_review": decision.needs_review or bool(extra_reasons),
        "reason": " ".join([*decision.reasons, *extra_reasons]),
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
        "reason": reason,
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


def sync_log_file(store: Store, path: Path) -> int:
    """Append the records the file does not have yet; returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    last = _last_seq(path)
    rows = store.log_after(last)
    if not rows:
        return 0
    with path.open("a", encoding="utf-8") as handle:
        if path.stat().st_size and not _ends_with_newline(path):
            handle.write("\n")  # close a line torn by a crash
        for seq, record, digest in rows:
            entry = {"seq": seq, **json.loads(record), "hash": digest}
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return len(rows)


def _last_seq(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 65536))
        tail = handle.read().decode("utf-8", "replace").splitlines()
    for line in reversed(tail):
        try:
            return int(json.loads(line)["seq"])
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line after a crash: the line before it counts
    return 0


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def rewrite_log_file(store: Store, path: Path) -> None:
    """Write the whole file anew from the database (after a deletion changed records)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        for seq, record, digest in store.log_after(0):
            entry = {"seq": seq, **json.loads(record), "hash": digest}
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
