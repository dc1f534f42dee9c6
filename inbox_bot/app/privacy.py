"""Deletion requests (DSGVO Art. 17) and deletion after the retention period.

`forget` removes one person from every place her name or address appears: the
attendee list, the mails she sent and any other mail that names her (read within the
reader's budget, as every mail), review reasons, the replies that name her (one not
sent yet goes to staff), alerts and every log record. `purge` removes everyone's data
after the retention period and keeps the counts. The database is rebuilt afterwards,
so that no old page of the file keeps a name (adapters/store/privacy.py).
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

from inbox_bot.app.deps import Deps
from inbox_bot.core.audit import REDACTED, PrivacyRecord, anonymous, from_json, redact, to_json
from inbox_bot.core.model import Analysis
from inbox_bot.core.visible import counted
from inbox_bot.errors import NotFound


def forget(deps: Deps, address: str) -> int:
    """Remove a person's data everywhere; the log keeps that a deletion happened, not whom."""
    store = deps.store
    names = store.names_for_address(address)
    needles = _needles(address, names)
    raw_hits = _mails_naming(deps, needles)
    outbox_hits = _replies_naming(deps, needles)
    logged = any(_mentions(text, needles) for text in store.log_texts())
    if not names and not raw_hits and not outbox_hits and not logged:
        raise NotFound(f"zu {address} sind keine Daten gespeichert; nichts gelöscht")
    zone = deps.settings.event.zone

    def redact_record(data: dict[str, Any]) -> dict[str, Any]:
        typed = to_json(redact(from_json(data), needles), zone)
        changed = redact_text(json.dumps(typed, ensure_ascii=False))
        mentioned = _mentions(json.dumps(data, ensure_ascii=False), needles)
        return dict(json.loads(changed)) if mentioned else data

    def redact_text(text: str) -> str:
        for needle in sorted(needles, key=len, reverse=True):
            text = re.sub(re.escape(needle), REDACTED, text, flags=re.I)
        return text

    record = PrivacyRecord(
        time=deps.clock(),
        action="forgotten",
        reason=f"Löschung auf Antrag: {counted(len(names), 'Person', 'Personen')}",
    )
    return store.forget_address(
        address,
        raw_hits=raw_hits,
        outbox_hits=outbox_hits,
        redact_text=redact_text,
        redact_record=redact_record,
        final=to_json(record, zone),
    )


def purge(deps: Deps, now: datetime, retention_days: int) -> bool:
    """After the event and the retention period: personal data goes, counts stay."""
    event = deps.settings.event
    if now < event.ends_at + timedelta(days=retention_days):
        return False
    zone = event.zone
    record = PrivacyRecord(
        time=now,
        action="purged",
        reason=f"Personenbezogene Daten {retention_days} Tage nach Ende gelöscht",
    )
    deps.store.purge_all(
        lambda data: to_json(anonymous(from_json(data)), zone), to_json(record, zone)
    )
    return True


def _needles(address: str, names: list[str]) -> list[str]:
    """What identifies the person in text: her address, her names, her surname."""
    found = [address]
    for name in names:
        if name and name != REDACTED:
            found.append(name)
            surname = name.split()[-1]
            if len(surname) >= 4:
                found.append(surname)
    return list(dict.fromkeys(n for n in found if n))


def _mentions(text: str, needles: list[str]) -> bool:
    folded = text.casefold()
    return any(n.casefold() in folded for n in needles)


def _mails_naming(deps: Deps, needles: list[str]) -> list[int]:
    """Mails kept for staff whose decoded text names the person (read in the budget)."""
    hits = []
    for ref, data in deps.store.kept_raw():
        if _mentions(data.decode("utf-8", "replace"), needles):
            hits.append(ref)
            continue
        result = deps.analyser.analyse(data)
        if isinstance(result, Analysis):
            parsed = result.parsed
            texts = [parsed.subject, parsed.full_text]
            texts += [v for values in parsed.headers.values() for v in values]
            if any(_mentions(t, needles) for t in texts):
                hits.append(ref)
    return hits


def _replies_naming(deps: Deps, needles: list[str]) -> list[tuple[int, bool, int | None]]:
    """Our own mails (we built them, so they parse) that name the person."""
    hits = []
    for row_id, data, state, recipient, ref in deps.store.outbox_mails():
        if not data and recipient == REDACTED:
            continue
        text = _mail_text(data) if data else ""
        if _mentions(recipient, needles) or _mentions(text, needles):
            hits.append((row_id, state not in ("sent", "failed", "merged"), ref))
    return hits


def _mail_text(data: bytes) -> str:
    mail = message_from_bytes(data, policy=policy.default)
    parts = [str(mail.get("To", "")), str(mail.get("Subject", ""))]
    for part in mail.walk():
        if part.get_content_maintype() == "text":
            with contextlib.suppress(LookupError, ValueError):
                parts.append(part.get_content())
    return "\n".join(parts)
