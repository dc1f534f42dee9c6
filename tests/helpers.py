"""Shared test helpers: a config for the real test servers, the corpus, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from servers import Dovecot, SmtpSink

PASSWORD_ENV = "INBOX_BOT_TEST_IMAP_PASSWORD"

# The shared corpus with capacity 10, as its README expects: final seats and waitlist.
FINAL_SEATS = [
    "Sebastian Kortmann",
    "Nadine Ahrens",
    "Simone Kersting",
    "Claudia Reuter-Lang",
    "Tomasz Wierzbicki",
    "Günter Schürmann",
    "Anja Tewes",
    "Marco Lindner",
    "Jens Obermeier",
    "Henrike Sasse",
]
FINAL_WAITLIST = ["Andreas Pütz", "Yvonne Lasarzik", "Matthias Kleffmann", "Dirk Kuschel"]


def write_config(
    folder: Path,
    imap: Dovecot,
    smtp: SmtpSink,
    *,
    capacity: int = 10,
    deadline: str = "2018-11-23T23:59:59+01:00",
    extra: str = "",
    starts_at: str = "2018-12-05T10:00:00+01:00",
    ends_at: str = "2018-12-05T13:00:00+01:00",
    events: str | None = None,
) -> Path:
    """A config for the servers; `events` (TOML [[events]] tables) makes it a series."""
    config = folder / "event.toml"
    event = (
        events
        or f"""[event]
title = "Interkommunaler Austausch"
organizer = "Allianz Smart City Dortmund"
starts_at = "{starts_at}"
ends_at = "{ends_at}"
timezone = "Europe/Berlin"
venue = "Saal 9 und 10, Kongresszentrum Westfalenhallen Dortmund, Rheinlanddamm 200"
capacity = {capacity}
registration_deadline = "{deadline}"
"""
    )
    config.write_text(
        f"""
[imap]
host = "{imap.host}"
port = {imap.port}
security = "none"
username = "{imap.user}"
password_env = "{PASSWORD_ENV}"
batch_size = 7

[smtp]
host = "{smtp.host}"
port = {smtp.port}
security = "none"
from_address = "smartcity@dortmund.de"
from_name = "Allianz Smart City Dortmund"
message_id_domain = "smartcity.dortmund.de"

{event}
[storage]
database = "state/bot.sqlite3"
log = "state/allocation-log.jsonl"

[rules]
internal_domains = ["stadtdo.de", "dortmund.de"]
{extra}
""",
        encoding="utf-8",
    )
    return config


@dataclass(frozen=True)
class Label:
    file: str
    arrival: datetime
    raw: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.raw["kind"])

    @property
    def reply_to(self) -> str | None:
        return self.raw["reply_to"]


def corpus_labels(corpus: Path) -> list[Label]:
    labels = json.loads((corpus / "labels.json").read_text(encoding="utf-8"))
    return [Label(item["file"], datetime.fromisoformat(item["arrival"]), item) for item in labels]


def deliver_corpus(corpus: Path, imap: Dovecot) -> dict[str, int]:
    """APPEND every corpus mail in file order with its arrival as INTERNALDATE."""
    return {
        label.file: imap.append((corpus / label.file).read_bytes(), label.arrival)
        for label in corpus_labels(corpus)
    }


def run_cli(
    *args: str, imap: Dovecot | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    if imap is not None:
        env[PASSWORD_ENV] = imap.password
    result = subprocess.run(
        [sys.executable, "-m", "inbox_bot", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"inbox-bot {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def record_mail(
    store: Any,
    settings: Any,
    *,
    arrival: datetime,
    sender: str,
    persons: tuple[Any, ...] = (),
    kind: Any = None,
    subject: str = "Anmeldung",
    question: bool = False,
    review: tuple[str, ...] = (),
) -> None:
    """One classified mail through decide -> decision_record -> store.record, as the
    pipeline does, without a mail server (for tests of what reads the database)."""
    import hashlib

    from inbox_bot.adapters.store import MessageRecord
    from inbox_bot.app.state import allocation_state
    from inbox_bot.core.allocate import Request, decide
    from inbox_bot.core.audit import mail_record, to_json
    from inbox_bot.core.model import Intent, Kind

    kind = kind or Kind.REGISTRATION
    event = settings.event
    uid = len(store.messages()) + 1
    digest = hashlib.sha256(f"{uid}{sender}".encode()).hexdigest()
    message_id = f"<{uid}@example.org>"
    request = Request(
        message_key=f"sha256:{digest[:24]}",
        uid=uid,
        arrival=arrival,
        sender=sender,
        contact=sender,
        intent=Intent(kind=kind, persons=persons, has_question=question, review_reasons=review),
    )
    state = allocation_state(settings, settings.events[0], store.attendees())
    decision = decide(state, request)
    record = to_json(
        mail_record(
            now=arrival,
            request=request,
            decision=decision,
            uidvalidity=1,
            message_id=message_id,
            reply_ids=[],
        ),
        event.zone,
    )
    store.record(
        MessageRecord(
            folder="INBOX",
            uidvalidity=1,
            uid=uid,
            message_key=request.message_key,
            message_id=message_id,
            raw_sha256=digest,
            received_at=arrival,
            sender=sender,
            reply_to=sender,
            subject=subject,
            kind=str(kind),
            decision=str(decision.outcome),
            needs_review=decision.needs_review,
            review_reason=" ".join(decision.reasons) if decision.needs_review else "",
            raw=None,
        ),
        decision.changes,
        (),
        record,
        arrival,
    )
