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

from inbox_bot.app.allocation import message_events
from inbox_bot.app.deps import Deps
from inbox_bot.config import EventSettings
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
    zone = deps.settings.zone

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


def purge(deps: Deps, now: datetime, retention_days: int) -> list[str]:
    """After an event and the retention period: its personal data goes, counts stay.

    Counted from each event's own end. When every event of the series is past it,
    everything goes (also mail in no event). Before that, an event's attendees, the mail
    that is only about past events (or in no event and older than that event's end),
    its replies and its log records. Returns the labels of the events purged now.
    """
    settings, store = deps.settings, deps.store
    zone = settings.zone
    keep = timedelta(days=retention_days)
    due = [e for e in settings.events if now >= e.ends_at + keep]
    done = set((store.get_meta("purged_events") or "").split()) if settings.series else set()
    fresh = [e for e in due if e.key not in done]
    if not fresh:
        return []
    reason = f"Personenbezogene Daten {retention_days} Tage nach Ende gelöscht"
    if len(due) == len(settings.events):
        record = PrivacyRecord(time=now, action="purged", reason=reason)
        store.purge_all(
            lambda data: to_json(anonymous(from_json(data)), zone), to_json(record, zone)
        )
    else:
        for event in fresh:
            _purge_event(deps, event, done, now, reason)
            done.add(event.key)
    if settings.series:
        store.set_meta("purged_events", " ".join(sorted(done | {e.key for e in due})))
    return [e.label for e in fresh]


def _purge_event(
    deps: Deps, event: EventSettings, done: set[str], now: datetime, reason: str
) -> None:
    store, zone = deps.store, deps.settings.zone
    gone = done | {event.key}
    events_of = message_events(store)
    refs = []
    for row in store.messages():
        own = events_of.get(row.message_key)
        if set(own or ()) <= gone if own else row.received_at <= event.ends_at:
            refs.append(row.id)
    uids = {row.uid for row in store.messages() if row.id in refs}

    def change(data: dict[str, Any]) -> dict[str, Any]:
        ours = data.get("event") == event.key or (
            not data.get("event") and data.get("kind") != "staff" and data.get("uid") in uids
        )
        return to_json(anonymous(from_json(data)), zone) if ours else data

    record = PrivacyRecord(time=now, action="purged", reason=f"{event.label}: {reason}")
    store.purge_event(event.key, refs, change, to_json(record, zone))


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
