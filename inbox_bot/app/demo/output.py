"""What the demo shows: the allocation, one reply as the attendee sees it, the counts
and where the files are."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

import click
from tabulate import tabulate

from inbox_bot.adapters.store import Store
from inbox_bot.app.allocation import allocation
from inbox_bot.app.demo.sample_mail import Sample
from inbox_bot.app.demo.servers import Captured
from inbox_bot.app.deps import CycleReport
from inbox_bot.config import Settings

_STATUS = {
    "confirmed": "bestätigt / confirmed",
    "waitlisted": "Warteliste / waitlist",
    "cancelled": "abgemeldet / cancelled",
    "late": "zu spät / late",
}


def heading(text: str) -> None:
    click.echo(f"\n== {text} ==\n")


def print_allocation(settings: Settings, store: Store) -> None:
    data = allocation(settings, store)
    rows = [
        [
            _STATUS.get(person["status"], person["status"]),
            person["seat"],
            person["waitlist_position"],
            person["name"],
            person["organization"],
            _local(person["registered_at"]),
        ]
        for person in data["attendees"]
    ]
    head = [
        "Status",
        "Platz/seat",
        "Warteliste/waitlist",
        "Name",
        "Organisation",
        "Eingang/arrived",
    ]
    click.echo(tabulate(rows, headers=head, tablefmt="simple", missingval=""))


def _local(iso_time: str) -> str:
    return datetime.fromisoformat(iso_time).strftime("%d.%m.%Y %H:%M:%S")


def print_date_notes(samples: Sequence[Sample]) -> None:
    """Point out the mail whose Date: header lies about when it came."""
    for sample in samples:
        if sample.date_header:
            click.echo(
                f"\nHinweis / note: {sample.name}: Date:-Kopf / header "
                f"{sample.date_header:%d.%m.%Y %H:%M} ({sample.date_note}).\n"
                "Es zählt der Eingang beim Mailserver / the server's arrival counts: "
                f"{sample.arrival:%d.%m.%Y %H:%M}."
            )


def print_reply(mail: Captured) -> None:
    message = mail.message
    for name in ("From", "To", "Subject", "Auto-Submitted"):
        click.echo(f"{name}: {message[name]}")
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    click.echo("")
    click.echo(body.get_content().rstrip())


def first_acceptance(store: Store, sent: Sequence[Captured]) -> Captured | None:
    """The reply to the first confirmed registration, as the sink received it."""
    by_id = {mail.message["Message-ID"]: mail for mail in sent}
    for row in store.messages():
        if row.decision != "confirmed":
            continue
        for item in store.outbox_for_message(row.id):
            if item.kind == "acceptance" and item.message_id in by_id:
                return by_id[item.message_id]
    return None


def print_counts(report: CycleReport, received: int, sent: Sequence[Captured]) -> None:
    answers = [m for m in sent if m.message["Auto-Submitted"] == "auto-replied"]
    promotions = [m for m in sent if str(m.message["Subject"]).startswith("Sie haben einen Platz")]
    notes = len(sent) - len(answers) - len(promotions)
    click.echo(f"Mails empfangen / mails received:  {received}")
    click.echo(
        f"Antworten gesendet / replies sent:  {len(sent)}  ({len(answers)} Antworten auf Mails, "
        f"{len(promotions)} Nachrück-Nachricht(en) / promotion notices, {notes} Hinweis(e) an "
        "von anderen Angemeldete / notes to persons registered by others)"
    )
    for mail in promotions:
        click.echo(
            f"Nachgerückt, benachrichtigt / promoted and notified: {', '.join(mail.rcpt_tos)}"
        )
    recipients = {r.lower() for m in sent for r in m.rcpt_tos}
    for handled in report.handled:
        if handled.kind == "auto_reply":
            answered = handled.sender.lower() in recipients
            verdict = "beantwortet (!)" if answered else "keine Antwort / no reply"
            click.echo(f"Abwesenheitsnotiz / out-of-office from {handled.sender}: {verdict}")
    review = [h for h in report.handled if h.needs_review]
    for handled in review:
        click.echo(f"Für das Team / for staff: {handled.kind} from {handled.sender or '?'}")


def print_files(settings: Settings, config_path: Path) -> None:
    log_lines = len(settings.storage.log.read_text(encoding="utf-8").splitlines())
    click.echo(f"Datenbank / database:         {settings.storage.database}")
    click.echo(f"Protokoll / allocation log:   {settings.storage.log}  ({log_lines} JSON lines)")
    click.echo(f"Konfiguration / config:       {config_path}")
    click.echo("\nSelbst nachsehen / look yourself:")
    click.echo(f"  inbox-bot status --config {config_path}")
    click.echo(f"  inbox-bot export --config {config_path} --format csv --output teilnehmer.csv")
