"""Staff commands: review, resolve, admit, cancel, resend, note, verify-log, replay,
purge, forget. Each takes --config; actions record --by (default: the OS user) and
--reason in the allocation log; actions that mail someone show the mail first and ask,
unless --yes.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any, TypeVar

import click
from tabulate import tabulate

from inbox_bot.adapters.logfile import rewrite_log_file, sync_log_file
from inbox_bot.adapters.store import open_store
from inbox_bot.app.deps import CycleReport, Deps
from inbox_bot.app.replay import replay_differences
from inbox_bot.app.staff import (
    ActionRefused,
    NotFound,
    Planned,
    commit,
    forget,
    note,
    plan_admit_mail,
    plan_admit_person,
    plan_cancel,
    purge,
    resend,
    resolve,
)
from inbox_bot.config import Settings
from inbox_bot.core.logchain import verify_lines
from inbox_bot.core.visible import shown
from inbox_bot.errors import AlreadyRunning, InboxBotError
from inbox_bot.ui.report import refresh_report


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unbekannt"


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def register(
    cli: click.Group,
    config_option: Decorator,
    build: Callable[..., Deps],
    load: Callable[[Path], Settings],
) -> None:
    who = click.option("--by", default=_user, show_default="OS user", help="Who does this.")
    why = click.option("--reason", default="", help="Why, in a few words (goes into the log).")
    yes = click.option("--yes", is_flag=True, help="Do it without asking.")

    @contextmanager
    def session(path: Path) -> Iterator[Deps]:
        settings = load(path)
        with (
            open_store(settings.storage.database) as store,
            closing(build(settings, store)) as deps,
        ):
            yield deps
            sync_log_file(store, settings.storage.log)

    def carry_out(deps: Deps, planned: Planned, confirm: bool) -> None:
        click.echo(shown(planned.summary))
        for mail in planned.mails:
            click.echo(shown(_show(mail.data)))
        if planned.mails and not confirm:
            click.confirm("Diese Mail(s) senden und die Änderung speichern?", abort=True)
        commit(deps, planned)
        _send_now(deps)

    @cli.command()
    @config_option
    def review(config_path: Path) -> None:
        """List the mail waiting for staff, with the reason."""
        with session(config_path) as deps:
            rows = deps.store.review_queue()
            event = deps.settings.event
            table = [
                [
                    r["message_id"] or f"UID:{r['uid']}",
                    event.local(datetime.fromisoformat(r["received_at"])).strftime(
                        "%d.%m.%Y %H:%M"
                    ),
                    shown(r["sender"] or "-"),
                    r["kind"],
                    shown(r["review_reason"] or ""),
                ]
                for r in rows
            ]
            if not table:
                click.echo("Nichts zu tun: keine Mail wartet auf Bearbeitung.")
                return
            # The whole reason, wrapped: staff must see why, not the first 120 characters.
            click.echo(
                tabulate(
                    table,
                    headers=["Message-ID", "Eingang", "Von", "Art", "Grund"],
                    maxcolwidths=[None, None, 30, None, 70],
                )
            )

    @cli.command(name="resolve")
    @config_option
    @click.argument("message_id")
    @who
    @why
    def resolve_(config_path: Path, message_id: str, by: str, reason: str) -> None:
        """Mark a mail as done by hand (it leaves the review queue).

        MESSAGE_ID is the mail's Message-ID, or UID:123 as `review` shows it for mail
        that has none."""
        with session(config_path) as deps:
            click.echo(shown(_guard(lambda: resolve(deps, message_id, by, reason))))
            _send_now(deps)

    @cli.command()
    @config_option
    @click.argument("target")
    @who
    @why
    @yes
    @click.option("--force", is_flag=True, help="Admit even when all seats are taken.")
    def admit(config_path: Path, target: str, by: str, reason: str, yes: bool, force: bool) -> None:
        """Admit a person (by address) or the persons of a mail (by Message-ID)."""
        with session(config_path) as deps:
            if target.startswith("<") or "@" not in target:
                planned = _guard(lambda: plan_admit_mail(deps, target, by, reason, force))
            else:
                try:
                    planned = plan_admit_person(deps, target, by, reason, force)
                except NotFound:
                    planned = _guard(lambda: plan_admit_mail(deps, target, by, reason, force))
            carry_out(deps, planned, yes)

    @cli.command()
    @config_option
    @click.argument("address")
    @who
    @why
    @yes
    def cancel(config_path: Path, address: str, by: str, reason: str, yes: bool) -> None:
        """Cancel a person (e.g. who phoned); the waitlist head moves up and is told."""
        with session(config_path) as deps:
            carry_out(deps, _guard(lambda: plan_cancel(deps, address, by, reason)), yes)

    @cli.command(name="resend")
    @config_option
    @click.argument("message_id")
    @who
    @why
    def resend_(config_path: Path, message_id: str, by: str, reason: str) -> None:
        """Send a reply again (same content), by its Message-ID or the original's."""
        with session(config_path) as deps:
            click.echo(shown(_guard(lambda: resend(deps, message_id, by, reason))))
            _send_now(deps)

    @cli.command(name="note")
    @config_option
    @click.argument("about")
    @who
    @click.option("--reason", required=True, help="The note.")
    def note_(config_path: Path, about: str, by: str, reason: str) -> None:
        """Write a note about a person or mail into the allocation log."""
        with session(config_path) as deps:
            click.echo(note(deps, about, by, reason))

    @cli.command(name="verify-log")
    @config_option
    def verify_log(config_path: Path) -> None:
        """Check that the allocation log is unchanged (exit 0) or say where it changed."""
        settings = load(config_path)
        path = settings.storage.log
        if not path.exists():
            raise click.ClickException(f"no allocation log at {path}")
        count, broken = verify_lines(path.read_text(encoding="utf-8").splitlines())
        if broken is None:
            with open_store(settings.storage.database) as store:
                stored = {seq: digest for seq, _, digest in store.log_after(0)}
            mismatch = _compare_with_database(path, stored)
            if mismatch is None:
                click.echo(f"Protokoll unverändert: {count} Einträge geprüft ({path}).")
                return
            broken_line, problem = mismatch
            raise click.ClickException(f"{path}, Zeile {broken_line}: {problem}")
        where = f"Eintrag {broken.seq}" if broken.seq is not None else "ein Eintrag"
        raise click.ClickException(
            f"{path}, Zeile {broken.line} ({where}): {broken.problem}. "
            f"Die {count} Einträge davor sind unverändert."
        )

    @cli.command()
    @config_option
    def replay(config_path: Path) -> None:
        """Recompute the allocation from the logged mail facts; show any difference."""
        with session(config_path) as deps:
            differences = replay_differences(deps)
        if not differences:
            click.echo("Keine Abweichung: die Neuberechnung ergibt dieselbe Platzvergabe.")
            return
        click.echo(shown("\n".join(differences)))
        raise click.ClickException(f"{len(differences)} Abweichung(en)")

    @cli.command(name="purge")
    @config_option
    @yes
    @click.option(
        "--days", type=int, default=None, help="Days after the event (default: [privacy])."
    )
    def purge_(config_path: Path, yes: bool, days: int | None) -> None:
        """After the event and the retention period: delete personal data, keep counts."""
        with session(config_path) as deps:
            keep = days if days is not None else _retention_days(deps.settings)
            if not yes:
                click.confirm(
                    f"Personenbezogene Daten löschen ({keep} Tage nach Ende)?", abort=True
                )
            if not purge(deps, deps.clock(), keep):
                click.echo(f"Noch nicht: Löschung erst {keep} Tage nach dem Ende.")
                return
            rewrite_log_file(deps.store, deps.settings.storage.log)
            refresh_report(deps.settings, deps.store, deps.clock())
            click.echo("Personenbezogene Daten gelöscht; Zählungen bleiben erhalten.")

    @cli.command(name="forget")
    @config_option
    @click.argument("address")
    @yes
    def forget_(config_path: Path, address: str, yes: bool) -> None:
        """Honour a deletion request: remove a person from database, log and exports."""
        with session(config_path) as deps:
            if not yes:
                click.confirm(f"Alle Daten zu {address} löschen?", abort=True)
            count = _guard(lambda: forget(deps, address))
            rewrite_log_file(deps.store, deps.settings.storage.log)
            # The staff page named her too: write it anew without her.
            refresh_report(deps.settings, deps.store, deps.clock())
            click.echo(
                f"Gelöscht: {count} Person(en) und jede Erwähnung; "
                "das Protokoll vermerkt nur die Löschung."
            )


_T = TypeVar("_T")


def _guard(action: Callable[[], _T]) -> _T:
    try:
        return action()
    except ActionRefused as exc:
        raise click.ClickException(str(exc)) from None


def _show(data: bytes) -> str:
    mail = message_from_bytes(data, policy=policy.default)
    body = mail.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    head = f"An: {mail['To']}\nBetreff: {mail['Subject']}"
    return f"\n----- Mail -----\n{head}\n\n{text.strip()}\n----------------"


def _send_now(deps: Deps) -> None:
    """Send at once when no worker runs; a running worker sends it with its next cycle."""
    from inbox_bot.app.mark import mark_done
    from inbox_bot.app.outbox import send_outbox

    try:
        deps.store.lock()
    except AlreadyRunning:
        click.echo("Der laufende Dienst sendet die Mail beim nächsten Abruf.")
        return
    try:
        with deps.open_mailbox() as mailbox:
            report = CycleReport()
            send_outbox(deps, mailbox, report)
            mark_done(deps, mailbox)
    except InboxBotError as exc:
        click.echo(f"Noch nicht gesendet ({exc}); geht mit dem nächsten Abruf hinaus.")
        return
    if report.sent:
        click.echo(f"{report.sent} Mail(s) gesendet.")


def _compare_with_database(path: Path, stored: dict[int, str]) -> tuple[int, str] | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        entry = json.loads(line)
        if stored.get(int(entry["seq"])) != entry["hash"]:
            return number, "weicht von der Datenbank ab (Datei neu berechnet?)"
    if len(stored) > sum(
        1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ):
        return 0, "Einträge fehlen am Ende der Datei"
    return None


def _when(moment: datetime) -> str:
    return moment.strftime("%d.%m.%Y %H:%M")


def _retention_days(settings: Settings) -> int:
    privacy = getattr(settings, "privacy", None)
    return int(getattr(privacy, "retention_days", 30)) if privacy is not None else 30
