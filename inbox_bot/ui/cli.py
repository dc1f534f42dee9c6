"""Command line: load settings, build adapters, call the pipeline, map errors to exit codes.

Exit codes: 0 done, 1 a server or the database could not be used, 2 bad config or usage.
Users never see a traceback; diagnostics go to stderr, results to stdout.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import click
from tabulate import tabulate

from inbox_bot.adapters.logfile import sync_log_file
from inbox_bot.adapters.mailbox import Mailbox
from inbox_bot.adapters.reader import IsolatedAnalyser
from inbox_bot.adapters.safefiles import write_atomic
from inbox_bot.adapters.smtp import SmtpSender
from inbox_bot.adapters.store import Store, iso, open_memory_copy, open_store
from inbox_bot.app.deps import CycleReport, Deps
from inbox_bot.app.pipeline import run_once
from inbox_bot.config import Settings, load_settings
from inbox_bot.core.classify import Context
from inbox_bot.core.classify.echo import own_words
from inbox_bot.core.classify.organizations import load_directory
from inbox_bot.core.render import Renderer
from inbox_bot.core.visible import shown
from inbox_bot.errors import AlreadyRunning, ConfigError, InboxBotError
from inbox_bot.ui.export import allocation, attendees_csv, attendees_xlsx
from inbox_bot.ui.report import DEFAULT_FILE, refresh_report, write_report

log = logging.getLogger("inbox_bot")

CONFIG = click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The TOML config file of the event.",
)


def main() -> None:
    # Belt and braces: a file created anywhere without an explicit mode stays private.
    os.umask(0o077)
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        _fail("aborted", 1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else 1)
    except ConfigError as exc:
        _fail(f"config error: {exc}", 2)
    except AlreadyRunning as exc:
        _fail(str(exc), 1)
    except InboxBotError as exc:
        _fail(f"error: {exc}", 1)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:  # never a traceback for a user
        log.debug("unexpected error", exc_info=True)
        _fail(f"internal error ({type(exc).__name__}: {exc}); run with --verbose for details", 1)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"inbox-bot: {message}", err=True)
    sys.exit(code)


@click.group()
@click.option("--verbose", "-v", is_flag=True, help="Show diagnostic messages.")
def cli(verbose: bool) -> None:
    """Event registration by plain email."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # imapclient's DEBUG log is the IMAP protocol itself, mail text included: never shown.
    logging.getLogger("imapclient").setLevel(logging.INFO)


# --- building the shell ---


def settings_from(path: Path) -> Settings:
    return load_settings(path, os.environ)


def classify_context(settings: Settings) -> Context:
    return Context(
        own_addresses=settings.own_addresses,
        message_id_domain=settings.smtp.id_domain,
        internal_domains=frozenset(d.lower() for d in settings.rules.internal_domains),
        directory=load_directory(settings.rules.organizations),
        own_words=own_words(
            [
                *Renderer(settings).template_sources(),
                settings.privacy.text("de"),
                settings.privacy.text("en"),
            ]
        ),
    )


def build_deps(
    settings: Settings,
    store: Store,
    clock: Callable[[], datetime] | None = None,
    *,
    stop: threading.Event | None = None,
) -> Deps:
    stop = stop or threading.Event()
    context = classify_context(settings)
    limits = settings.limits
    return Deps(
        settings=settings,
        store=store,
        context=context,
        renderer=Renderer(settings),
        clock=clock or (lambda: datetime.now(UTC)),
        open_mailbox=lambda: Mailbox(settings.imap),
        open_smtp=lambda: SmtpSender(settings.smtp),
        # The reader process ends by itself when we do (its stdin closes).
        analyser=IsolatedAnalyser(
            context,
            budget_seconds=limits.seconds_per_mail,
            memory_bytes=limits.reader_memory_mb * 1024 * 1024,
            stop=stop,
        ),
        stop=stop,
    )


@contextmanager
def worker_store(settings: Settings) -> Iterator[Store]:
    store = open_store(settings.storage.database)
    try:
        store.lock()
        yield store
    finally:
        store.close()


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT: finish the mail at hand (its transaction commits), then stop."""

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def poll_cycle(deps: Deps, *, dry_run: bool = False) -> CycleReport:
    try:
        report = run_once(deps, dry_run=dry_run)
    except InboxBotError as exc:
        if not dry_run:
            deps.store.set_meta("last_poll_error", f"{iso(deps.clock())} {exc}")
        raise
    if not dry_run:
        deps.store.set_meta("last_poll_ok", iso(deps.clock()))
        sync_log_file(deps.store, deps.settings.storage.log)
        # The staff's HTML page ([report] path); a failure is logged, never fails the poll.
        refresh_report(deps.settings, deps.store, deps.clock())
    return report


# --- commands ---


@cli.command()
@CONFIG
@click.option("--dry-run", is_flag=True, help="Decide and print; send nothing, change nothing.")
def poll(config_path: Path, dry_run: bool) -> None:
    """Run one cycle over everything new, then exit."""
    settings = settings_from(config_path)
    if dry_run:
        with open_memory_copy(settings.storage.database) as store:
            with closing(build_deps(settings, store)) as deps:
                report = poll_cycle(deps, dry_run=True)
            print_report(report, settings, dry_run=True)
        return
    with worker_store(settings) as store, closing(build_deps(settings, store)) as deps:
        with stop_on_signals(deps.stop):
            report = poll_cycle(deps)
        print_report(report, settings, dry_run=False)
    if report.send_waiting:
        cause = f" ({report.smtp_unreachable})" if report.smtp_unreachable else ""
        _fail(
            f"{report.send_waiting} replies could not be sent yet{cause}; they wait in the outbox",
            1,
        )


@cli.command()
@CONFIG
def run(config_path: Path) -> None:
    """The scheduled worker: poll at the configured interval until stopped."""
    from inbox_bot.adapters.scheduler import run_forever

    settings = settings_from(config_path)
    logging.getLogger("inbox_bot").setLevel(min(logging.getLogger().level, logging.INFO))
    logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    stop = threading.Event()
    with worker_store(settings) as store, closing(build_deps(settings, store, stop=stop)) as deps:

        def cycle() -> bool:
            try:
                report = poll_cycle(deps)
            except InboxBotError as exc:
                log.warning("poll failed: %s", exc)
                return False
            log.info(
                "poll done: %d mails, %d replies sent, %d waiting",
                len(report.handled),
                report.sent,
                report.send_waiting,
            )
            for problem in report.problems:
                log.warning("%s", problem)
            if report.smtp_unreachable:
                log.warning("SMTP: %s; replies wait in the outbox", report.smtp_unreachable)
            return True

        click.echo(
            f"inbox-bot: polling {settings.imap.host} every "
            f"{settings.schedule.poll_interval_seconds} s; stop with Ctrl+C",
            err=True,
        )
        run_forever(cycle, settings.schedule.poll_interval_seconds, stop, notice_moments(settings))


@cli.command()
@CONFIG
def status(config_path: Path) -> None:
    """Seats taken and free, waitlist, mail waiting for staff."""
    settings = settings_from(config_path)
    with open_store(settings.storage.database) as store:
        counts = store.counts()
        capacity = settings.event.capacity
        rows = [
            ("Veranstaltung / event", settings.event.title),
            ("Plätze belegt / seats taken", f"{counts['confirmed']} von {capacity}"),
            ("Plätze frei / seats free", max(0, capacity - counts["confirmed"])),
            ("Warteliste / waitlist", counts["waitlisted"]),
            ("Abgemeldet / cancelled", counts["cancelled"]),
            ("Zu spät / late", counts["late"]),
            ("Wartet auf Bearbeitung / needs staff", counts["review"]),
            ("Antworten im Postausgang / replies waiting", counts["outbox_pending"]),
            ("Antworten fehlgeschlagen / replies failed", counts["outbox_failed"]),
            ("Mails verarbeitet / mails processed", counts["messages"]),
            ("Letzter erfolgreicher Abruf / last good poll", store.get_meta("last_poll_ok") or "-"),
            ("Letzter Fehler / last error", store.get_meta("last_poll_error") or "-"),
            ("Warnung / alert", store.get_meta("alert") or "-"),
        ]
        click.echo(tabulate([(k, shown(v)) for k, v in rows], tablefmt="plain"))


@cli.command()
@CONFIG
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx"]), default="json")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def export(config_path: Path, fmt: str, output: Path | None) -> None:
    """The allocation as JSON (stdout by default), CSV or an XLSX workbook for Excel."""
    if fmt == "xlsx" and output is None:
        _fail("export --format xlsx needs --output FILE (a workbook is not printed)", 2)
    settings = settings_from(config_path)
    with open_store(settings.storage.database) as store:
        data = allocation(settings, store)
    if fmt == "csv":
        payload = attendees_csv(data)
    elif fmt == "xlsx":
        payload = attendees_xlsx(data)
    else:
        payload = (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if output is None:
        sys.stdout.buffer.write(payload)
        sys.stdout.flush()
    else:
        try:
            # Never through a link planted at the target: os.replace swaps the link itself.
            write_atomic(output, payload)
        except OSError as exc:
            _fail(f"cannot write {output}: {exc.strerror or exc}", 1)
        click.echo(f"inbox-bot: wrote {output}", err=True)


@cli.command()
@CONFIG
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The HTML file (default: [report] path, else allocation-report.html here).",
)
def report(config_path: Path, output: Path | None) -> None:
    """The allocation report for staff: one HTML page, also for printing the door list."""
    settings = settings_from(config_path)
    target = output or settings.report.path or Path(DEFAULT_FILE)
    with open_store(settings.storage.database) as store:
        try:
            write_report(settings, store, datetime.now(UTC), target)
        except OSError as exc:
            _fail(f"cannot write {target}: {exc.strerror or exc}", 1)
    click.echo(f"inbox-bot: wrote {target}", err=True)


@cli.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the demo keeps its database and log (default: a new temporary folder).",
)
def demo(workdir: Path | None) -> None:
    """Run the whole job on built-in sample mail with in-process mail servers."""
    from inbox_bot.app.demo import run_demo

    run_demo(workdir)


@cli.command()
@click.argument(
    "folders",
    nargs=-1,
    required=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Take our own addresses and rules from this config (default: the Dortmund event's).",
)
def score(folders: tuple[Path, ...], config_path: Path | None) -> None:
    """Accuracy of parse + classify on labelled folders (.eml files + labels.json)."""
    from inbox_bot.app.score import report, score_folder, summary

    if config_path:
        ctx = classify_context(settings_from(config_path))
    else:
        ctx = Context(
            own_addresses=frozenset({"smartcity@dortmund.de"}),
            message_id_domain="smartcity.dortmund.de",
            internal_domains=frozenset({"stadtdo.de", "dortmund.de"}),
            directory=load_directory(),
        )
    scores = []
    for folder in folders:
        if not (folder / "labels.json").is_file():
            raise click.UsageError(f"{folder} has no labels.json")
        scores.append(score_folder(folder, ctx))
        click.echo(report(scores[-1], str(folder)))
        click.echo()
    if len(scores) > 1:
        click.echo(report(summary(scores), "all folders").split("\n\nMisses:")[0])


def notice_moments(settings: Settings) -> list[datetime]:
    """When reminders and the closing note become due: `run` polls at these moments too."""
    event, reminders = settings.event, settings.reminders
    moments = []
    if reminders.days_before > 0:
        moments.append(event.starts_at - timedelta(days=reminders.days_before))
    if reminders.final_note:
        moments.append(event.starts_at)
    return moments


def print_report(report: CycleReport, settings: Settings, *, dry_run: bool) -> None:
    rows: list[list[Any]] = []
    for h in report.handled:
        rows.append(
            [
                h.uid,
                settings.event.local(h.arrival).strftime("%d.%m.%Y %H:%M:%S"),
                shown(h.sender or "-"),
                h.kind,
                h.decision,
                shown(", ".join(h.persons) or "-"),
                h.reply or "-",
                "yes" if h.needs_review else "",
            ]
        )
    head = ["UID", "arrived", "from", "kind", "decision", "persons", "reply", "review"]
    if rows:
        click.echo(tabulate(rows, headers=head, tablefmt="simple"))
    else:
        click.echo("No new mail.")
    if dry_run:
        click.echo("Dry run: nothing was sent, stored or marked.")
    else:
        click.echo(
            f"{len(report.handled)} mails processed, {report.sent} replies sent, "
            f"{report.send_waiting} waiting, {report.send_failed} failed."
        )
    for problem in report.problems:
        click.echo(f"note: {shown(problem)}", err=True)


def _register_staff_commands() -> None:
    from inbox_bot.ui.staff_cli import register

    register(cli, CONFIG, build_deps, settings_from)


_register_staff_commands()
