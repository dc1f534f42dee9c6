"""The allocation log as a hash chain (pure): every record carries the hash of the one
before it, so a changed, removed or inserted line is found by `inbox-bot verify-log`.

It makes changes evident, not impossible: someone who can rewrite the whole file and
the database could recompute the chain. The database copy and the file are checked
against each other for that reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def link(prev_hash: str, record: Mapping[str, Any]) -> str:
    """The hash of a record, which includes its `prev_hash` field."""
    return hashlib.sha256((prev_hash + canonical(record)).encode("utf-8")).hexdigest()


def chained(prev_hash: str, record: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The record with `prev_hash` set, and its own hash."""
    body = {**record, "prev_hash": prev_hash}
    return body, link(prev_hash, body)


@dataclass(frozen=True)
class Break:
    seq: int | None
    line: int
    problem: str


def verify_lines(lines: Iterable[str]) -> tuple[int, Break | None]:
    """Check a JSON-lines log; returns how many records were checked and the first break."""
    prev = GENESIS
    expected_seq: int | None = None
    count = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            seq, stored = int(entry.pop("seq")), str(entry.pop("hash"))
        except (ValueError, KeyError, TypeError):
            return count, Break(None, number, "Zeile ist kein gültiger Protokolleintrag")
        if expected_seq is not None and seq != expected_seq:
            return count, Break(
                seq, number, f"Eintrag {expected_seq} fehlt oder Reihenfolge geändert"
            )
        if entry.get("prev_hash") != prev:
            return count, Break(
                seq, number, "Verkettung unterbrochen (Eintrag davor geändert oder entfernt)"
            )
        if link(prev, entry) != stored:
            return count, Break(seq, number, "Inhalt des Eintrags wurde geändert")
        prev, expected_seq, count = stored, seq + 1, count + 1
    return count, None
