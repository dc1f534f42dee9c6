"""Command line: load settings, build adapters, call the pipeline, map errors to exit codes.

Exit codes: 0 done, 1 a server or the database could not be used, 2 bad config or usage.
Users never see a traceback; diagnostics go to stderr, results to stdout.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click
from tabulate import tabulate

from inbox_bot.adapters.safefiles import write_atomic
from inbox_bot.adapters.store import open_memory_copy, open_store
from inbox_bot.app.allocation import allocation
from inbox_bot.app.deps import CycleReport, Deps
from inbox_bot.app.wiring import (
    build_deps,
    classify_context,
    example_settings,
    folder_settings,
    settings_from,
    stop_on_signals,
    worker_store,
)
from inbox_bot.app.worker import cycle_lines, idle_watch, poll_cycle, run_worker
from inbox_bot.config import ConsoleSettings, Settings
from inbox_bot.core.render import Renderer
from inbox_bot.core.template_check import check_templates
from inbox_bot.core.visible import shown
from inbox_bot.errors import AlreadyRunning, ConfigError, InboxBotError, TemplateError
from inbox_bot.ui.console import beside_worker
from inbox_bot.ui.console import serve as serve_console
from inbox_bot.ui.export import attendees_csv, attendees_xlsx
from inbox_bot.ui.login_cli import login_
from inbox_bot.ui.options import CONFIG, EVENT, chosen_event
from inbox_bot.ui.report import DEFAULT_FILE, refresh_report, write_report
from inbox_bot.ui.staff_cli import COMMANDS as STAFF_COMMANDS
from inbox_bot.ui.staff_users_cli import staff_user
from inbox_bot.ui.statusline import sign_in_lines, status_times, waiting_line

log = logging.getLogger("inbox_bot")


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


# --- commands ---


@cli.command()
@CONFIG
@click.option("--dry-run", is_flag=True, help="Decide and print; send nothing, change nothing.")
def poll(config_path: Path, dry_run: bool) -> None:
    """Run one cycle over everything new, then exit."""
    settings = settings_from(config_path)
    templates_or_fail(settings)
    if dry_run:
        with open_memory_copy(settings.storage.database) as store:
            with closing(build_deps(settings, store)) as deps:
                report = poll_cycle(deps, dry_run=True)
            print_report(report, settings, dry_run=True)
        return
    with worker_store(settings) as store, closing(build_deps(settings, store)) as deps:
        with stop_on_signals(deps.stop):
            report = poll_cycle(deps, after=write_staff_page)
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
    settings = settings_from(config_path)
    templates_or_fail(settings)
    logging.getLogger("inbox_bot").setLevel(min(logging.getLogger().level, logging.INFO))
    logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    stop = threading.Event()
    with worker_store(settings) as store, closing(build_deps(settings, store, stop=stop)) as deps:
        push = " and waiting in IMAP IDLE" if settings.imap.idle else ""
        click.echo(
            f"inbox-bot: polling {settings.imap.host} every "
            f"{settings.schedule.poll_interval_seconds} s{push}; stop with Ctrl+C",
            err=True,
        )
        watch = idle_watch(settings, stop) if settings.imap.idle else None
        with beside_worker(settings):
            run_worker(deps, stop, after=write_staff_page, watch=watch)


@cli.command()
@CONFIG
def console(config_path: Path) -> None:
    """The staff's web console on [console] listen (default 127.0.0.1:8025)."""
    settings = settings_from(config_path)
    templates_or_fail(settings)
    options = settings.console or ConsoleSettings()
    host, port = options.address
    with open_store(settings.storage.database) as store:
        users = store.staff_user_names()
    if not users and not options.user_header:
        click.echo(
            "inbox-bot: no staff user yet; add one: inbox-bot staff-user add --config FILE NAME",
            err=True,
        )
    click.echo(f"inbox-bot: console on http://{host}:{port}/ ; stop with Ctrl+C", err=True)
    serve_console(settings)


def templates_or_fail(settings: Settings) -> None:
    """Every template renders, or one line naming the file and line, exit 2."""
    try:
        check_templates(Renderer(settings))
    except TemplateError as exc:
        _fail(f"template error: {exc}", 2)


def write_staff_page(deps: Deps) -> None:
    """After a cycle: the staff's HTML page ([report] path); a failure is only logged."""
    refresh_report(deps.settings, deps.store, deps.clock())


@cli.command()
@CONFIG
@EVENT
def status(config_path: Path, event_key: str | None) -> None:
    """Seats taken and free, waitlist, mail waiting for staff (per event of a series)."""
    settings = settings_from(config_path)
    only = chosen_event(settings, event_key)
    with open_store(settings.storage.database) as store:
        counts = store.counts()
        rows: list[tuple[str, object]] = []
        for event in settings.events:
            if only is not None and event.key != only:
                continue
            mine = store.counts(event.key)
            capacity = event.capacity
            name = f"{event.title} [{event.key}]" if settings.series else event.title
            rows += [
                ("Veranstaltung / event", name),
                ("Plätze belegt / seats taken", f"{mine['confirmed']} von {capacity}"),
                ("Plätze frei / seats free", max(0, capacity - mine["confirmed"])),
                ("Warteliste / waitlist", mine["waitlisted"]),
                ("Abgemeldet / cancelled", mine["cancelled"]),
                ("Zu spät / late", mine["late"]),
            ]
        rows += [
            ("Wartet auf Bearbeitung / needs staff", counts["review"]),
            ("Antworten im Postausgang / replies waiting", waiting_line(settings, store, counts)),
            ("Antworten fehlgeschlagen / replies failed", counts["outbox_failed"]),
            ("Mails verarbeitet / mails processed", counts["messages"]),
            *status_times(settings, store),
            *sign_in_lines(settings),
        ]
        click.echo(tabulate([(k, shown(v)) for k, v in rows], tablefmt="plain"))


@cli.command()
@CONFIG
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx"]), default="json")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@EVENT
def export(config_path: Path, fmt: str, output: Path | None, event_key: str | None) -> None:
    """The allocation as JSON (stdout by default), CSV or an XLSX workbook for Excel;
    with --event one event of a series, in the shape of a single event's export."""
    if fmt == "xlsx" and output is None:
        _fail("export --format xlsx needs --output FILE (a workbook is not printed)", 2)
    settings = settings_from(config_path)
    only = chosen_event(settings, event_key)
    with open_store(settings.storage.database) as store:
        data = allocation(settings, store, only if settings.series else None)
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
@EVENT
def report(config_path: Path, output: Path | None, event_key: str | None) -> None:
    """The allocation report for staff: one HTML page, also for printing the door list
    (in a series: an overview and a section per event; --event: that event alone)."""
    settings = settings_from(config_path)
    only = chosen_event(settings, event_key)
    target = output or settings.report.path or Path(DEFAULT_FILE)
    with open_store(settings.storage.database) as store:
        try:
            write_report(settings, store, datetime.now(UTC), target, only)
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
    help="Take our own addresses and rules from this config (default: the example event's).",
)
def score(folders: tuple[Path, ...], config_path: Path | None) -> None:
    """How the bot reads labelled folders (.eml files + labels.json), harm first.

    A folder's own event.toml (an [event] table) is the event its mail is read for."""
    from inbox_bot.app.score import report, score_folder, summary

    base = settings_from(config_path) if config_path else example_settings()
    scores = []
    for folder in folders:
        if not (folder / "labels.json").is_file():
            raise click.UsageError(f"{folder} has no labels.json")
        settings = folder_settings(base, folder)
        scores.append(score_folder(folder, classify_context(settings), settings))
        click.echo(report(scores[-1], str(folder)))
        click.echo()
    if len(scores) > 1:
        click.echo(report(summary(scores), "all folders", misses=False))


def print_report(report: CycleReport, settings: Settings, *, dry_run: bool) -> None:
    for line in cycle_lines(report, settings, dry_run=dry_run):
        click.echo(line)
    for problem in report.problems:
        click.echo(f"note: {shown(problem)}", err=True)


for _command in STAFF_COMMANDS:
    cli.add_command(_command)
cli.add_command(staff_user)
cli.add_command(login_)
