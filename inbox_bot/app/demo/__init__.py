"""`inbox-bot demo`: the whole job on built-in sample mail, with throwaway mail servers.

A pymap IMAP server (in-memory) and an aiosmtpd sink run on loopback in one background
thread. The sample mails go in by IMAP APPEND with the arrival times of a real
registration period; then one ordinary poll cycle runs against them, exactly as
`inbox-bot poll` would, and the result is shown the way staff and attendees see it.

    sample_mail.py   the sample mails: samples/*.eml, their arrival times in samples.toml
    servers.py       the IMAP server and SMTP sink
    config.py        the demo's settings and the demo.toml it leaves behind
    output.py        what the demo prints
    here             the demo itself: servers up, mail in, one poll cycle, show it
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from pathlib import Path

import click

from inbox_bot.adapters.store import open_store
from inbox_bot.app.demo import output
from inbox_bot.app.demo.config import (
    CONFIG,
    DATABASE,
    LOG,
    MAILBOX,
    PASSWORD_ENV,
    demo_config,
    write_toml,
)
from inbox_bot.app.demo.sample_mail import SAMPLES, Sample
from inbox_bot.app.demo.servers import LOOPBACK, Captured, MailServers, SinkHandler, deliver
from inbox_bot.app.deps import CycleReport
from inbox_bot.app.wiring import build_deps
from inbox_bot.app.worker import cycle_lines, poll_cycle
from inbox_bot.config import Settings, settings_from_mapping

__all__ = [
    "CONFIG",
    "DATABASE",
    "LOG",
    "LOOPBACK",
    "MAILBOX",
    "SAMPLES",
    "Captured",
    "DemoServers",
    "Sample",
    "SinkHandler",
    "demo_config",
    "run_demo",
    "write_toml",
]


class DemoServers(MailServers):
    """The demo's mail servers, on LOOPBACK as this module holds it when they are made."""

    def __init__(self, user: str, password: str) -> None:
        super().__init__(user, password, host=LOOPBACK)


def prepare_workdir(workdir: Path | None) -> Path:
    if workdir is None:
        return Path(tempfile.mkdtemp(prefix="inbox-bot-demo-"))
    workdir = workdir.expanduser().resolve()
    # The sample mails carry fixed Message-IDs: a second run would find them all known.
    if (workdir / DATABASE).exists():
        raise click.UsageError(
            f"{workdir} already holds a demo database; use an empty folder or leave out --workdir"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def run_demo(workdir: Path | None) -> None:
    workdir = prepare_workdir(workdir)
    password = secrets.token_urlsafe(18)
    with DemoServers(MAILBOX, password) as servers:
        raw = demo_config(servers.imap_port, servers.smtp_port, host=servers.host)
        settings = settings_from_mapping(raw, base=workdir, environ={PASSWORD_ENV: password})
        config_path = workdir / CONFIG
        write_toml(config_path, raw)
        click.echo("inbox-bot demo")
        click.echo(
            f"Mailserver nur für die Demo / demo-only mail servers: IMAP {servers.host}:"
            f"{servers.imap_port}, SMTP {servers.host}:{servers.smtp_port}"
        )
        deliver(SAMPLES, servers)
        click.echo(
            f"{len(SAMPLES)} Beispiel-Mails im Postfach / sample mails in the mailbox {MAILBOX}, "
            f"Plätze / seats: {settings.events[0].capacity}"
        )
        report, sent = _poll_and_show(settings, servers)

    output.heading("4. Antworten / replies")
    output.print_counts(report, len(SAMPLES), sent)

    output.heading("5. Dateien / files")
    output.print_files(settings, config_path)


def _poll_and_show(settings: Settings, servers: MailServers) -> tuple[CycleReport, list[Captured]]:
    """One ordinary poll cycle; then the allocation and a reply, while the servers run."""
    output.heading("1. Ein Abruf / one poll cycle")
    with open_store(settings.storage.database) as store:
        with contextlib.closing(build_deps(settings, store)) as deps:
            report = poll_cycle(deps)
        for line in cycle_lines(report, settings, dry_run=False):
            click.echo(line)
        sent = servers.sink.captured

        seats = settings.events[0].capacity
        output.heading(f"2. Platzvergabe / allocation ({seats} Plätze / seats)")
        output.print_allocation(settings, store)
        output.print_date_notes(SAMPLES)

        output.heading("3. Eine Antwort, wie sie ankommt / one reply as the attendee sees it")
        reply = output.first_acceptance(store, sent)
        if reply is None:
            click.echo("(keine Bestätigung gesendet / no acceptance was sent)")
        else:
            output.print_reply(reply)
    return report, sent
