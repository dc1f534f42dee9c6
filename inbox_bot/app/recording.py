"""What every way through app/process.py shares: one mail's row and log records
persisted with the kept allocation state carried along, and its line in the report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from inbox_bot.adapters.store import MessageRecord
from inbox_bot.app.deps import Deps, Handled
from inbox_bot.core.allocate import Decision, Request
from inbox_bot.core.audit import MailRecord, to_json
from inbox_bot.core.model import Attendee, FetchedMail, OutgoingRow


@dataclass(frozen=True, kw_only=True)
class Decided:
    """One event's decision on the mail ("" : in no event of the series)."""

    event: str
    request: Request
    decision: Decision


def store_mail(
    deps: Deps,
    message: MessageRecord,
    changes: Sequence[Attendee],
    rows: Sequence[OutgoingRow],
    records: list[dict[str, object]],
    now: datetime,
) -> None:
    """Persist, and carry the kept allocation state along with the database."""
    before = deps.store.version()
    deps.store.record(message, changes, rows, records, now)
    deps.states.recorded(changes, before, deps.store.version())


def handled_line(
    mail: FetchedMail, record: MailRecord, replies: tuple[str, ...], parts: list[Decided]
) -> Handled:
    persons: tuple[str, ...] = ()
    for part in parts:
        where = f" [{part.event}]" if len(parts) > 1 else ""
        persons += tuple(f"{p.attendee.name}{where}" for p in part.decision.placements)
        persons += tuple(
            f"{p.attendee.name} (nachgerückt / moved up){where}" for p in part.decision.promotions
        )
    return Handled(
        uid=mail.uid,
        arrival=mail.arrival,
        sender=record.sender or "",
        kind=record.kind,
        decision=record.decision,
        persons=persons,
        reply=", ".join(replies) or None,
        needs_review=record.needs_review,
        reason=record.reason,
    )


def log_json(deps: Deps, record: MailRecord) -> dict[str, object]:
    return to_json(record, deps.settings.zone)
