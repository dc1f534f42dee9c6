"""`verify-log`: is the allocation log file unchanged, and the same as the database's copy?"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from inbox_bot.adapters.store import Store
from inbox_bot.core.logchain import verify_lines


@dataclass(frozen=True, kw_only=True)
class LogCheck:
    ok: bool
    count: int  # records checked (before the first problem)
    message: str  # in plain words, for staff


def verify_log(path: Path, store: Store) -> LogCheck:
    lines = path.read_text(encoding="utf-8").splitlines()
    count, broken = verify_lines(lines)
    if broken is not None:
        where = f"Eintrag {broken.seq}" if broken.seq is not None else "ein Eintrag"
        return LogCheck(
            ok=False,
            count=count,
            message=(
                f"{path}, Zeile {broken.line} ({where}): {broken.problem}. "
                f"Die {count} Einträge davor sind unverändert."
            ),
        )
    stored = {entry.seq: entry.hash for entry in store.log_after(0)}
    mismatch = _compare(lines, stored)
    if mismatch is not None:
        line, problem = mismatch
        return LogCheck(ok=False, count=count, message=f"{path}, Zeile {line}: {problem}")
    return LogCheck(
        ok=True, count=count, message=f"Protokoll unverändert: {count} Einträge geprüft ({path})."
    )


def _compare(lines: list[str], stored: dict[int, str]) -> tuple[int, str] | None:
    """The file against the database: a file computed anew shows here."""
    written = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        written += 1
        entry = json.loads(line)
        if stored.get(int(entry["seq"])) != entry["hash"]:
            return number, "weicht von der Datenbank ab (Datei neu berechnet?)"
    if len(stored) > written:
        return 0, "Einträge fehlen am Ende der Datei"
    return None
