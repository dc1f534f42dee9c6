"""Staff commands: review, assign, resolve, admit, cancel, resend, note, verify-log, replay,
purge, forget. Each takes --config; actions record --by (default: the OS user) and
--reason in the allocation log; actions that mail someone show the mail first and ask,
unless --yes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from email import message_from_bytes, policy
from pathlib import Path
from typing import TypeVar

import click
from tabulate import tabulate

from inbox_bot.adapters.logfile import rewrite_log_file, sync_log_file
from inbox_bot.adapters.store import open_store
from inbox_bot.app.assign import assign
from inbox_bot.app.deps import Deps
from inbox_bot.app.logcheck import verify_log
from inbox_bot.app.privacy import forget, purge
from inbox_bot.app.replay import replay_differences
from inbox_bot.app.review_now import current_notes
from inbox_bot.app.staff import (
    Planned,
    commit,
    note,
    plan_admit_mail,
    plan_admit_person,
    plan_cancel,
    reply_to_resend,
    resend,
    resolve,
    send_now,
)
from inbox_bot.app.wiring import build_deps, settings_from
from inbox_bot.core.visible import counted, shown
from inbox_bot.errors import ActionRefused, NotFound
from inbox_bot.ui.options import BY, CONFIG, EVENT, REASON, YES, chosen_event
from inbox_bot.ui.report import refresh_report

_T = TypeVar("_T")


@contextmanager
def session(path: Path) -> Iterator[Deps]:
    settings = settings_from(path)
    with (
        open_store(settings.storage.database) as store,
        closing(build_deps(settings, store)) as deps,
    ):
        yield deps
        sync_log_file(store, settings.storage.log)


def _guard(action: Callable[[], _T]) -> _T:
    try:
        return action()
    except ActionRefused as exc:
        raise click.ClickException(str(exc)) from None


def _carry_out(deps: Deps, planned: Planned, confirm: bool) -> None:
    click.echo(shown(planned.summary))
    for mail in planned.mails:
        click.echo(shown(_show(mail.data)))
    if planned.mails and not confirm:
        click.confirm("Diese Mail(s) senden und die Änderung speichern?", abort=True)
    commit(deps, planned)
    _echo(send_now(deps))


def _echo(text: str) -> None:
    if text:
        click.echo(text)


def _show(data: bytes) -> str:
    mail = message_from_bytes(data, policy=policy.default)
    body = mail.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    head = f"An: {mail['To']}\nBetreff: {mail['Subject']}"
    return f"\n----- Mail -----\n{head}\n\n{text.strip()}\n----------------"


@click.command()
@CONFIG
@EVENT
def review(config_path: Path, event_key: str | None) -> None:
    """List the mail waiting for staff, with the reason (with --event: that event's mail
    and the mail that is in no event yet)."""
    with session(config_path) as deps:
        only = chosen_event(deps.settings, event_key)
        series = deps.settings.series
        zone = deps.settings.zone
        now = current_notes(deps.store.attendees())
        table = [
            [
                row.reference,
                row.received_at.astimezone(zone).strftime("%d.%m.%Y %H:%M"),
                shown(row.sender or "-"),
                row.kind,
                *([", ".join(row.events) or "?"] if series else []),
                shown(row.review_reason),
                shown(now.get(row.message_key, "")),
            ]
            for row in deps.store.review_queue()
            if only is None or not series or not row.events or only in row.events
        ]
    if not table:
        click.echo("Nichts zu tun: keine Mail wartet auf Bearbeitung.")
        return
    # The whole reason, wrapped: staff must see why, not the first 120 characters.
    heads = ["Message-ID", "Eingang", "Von", "Art", *(["Veranstaltung"] if series else [])]
    click.echo(
        tabulate(
            table,
            headers=[*heads, "Grund", "Heute"],
            maxcolwidths=[None, None, 24, None, *([None] if series else []), 56, 30],
        )
    )


@click.command(name="assign")
@CONFIG
@click.argument("message_id")
@click.option("--event", "event_key", required=True, metavar="KEY", help="The event's key.")
@BY
@REASON
def assign_(config_path: Path, message_id: str, event_key: str, by: str, reason: str) -> None:
    """Place a mail from the review queue in an event, with its original arrival time.

    MESSAGE_ID is the mail's Message-ID, or UID:123 as `review` shows it."""
    with session(config_path) as deps:
        click.echo(shown(_guard(lambda: assign(deps, message_id, event_key, by, reason))))
        refresh_report(deps.settings, deps.store, deps.clock())
        _echo(send_now(deps))


@click.command(name="resolve")
@CONFIG
@click.argument("message_id")
@BY
@REASON
def resolve_(config_path: Path, message_id: str, by: str, reason: str) -> None:
    """Mark a mail as done by hand (it leaves the review queue).

    MESSAGE_ID is the mail's Message-ID, or UID:123 as `review` shows it for mail
    that has none."""
    with session(config_path) as deps:
        click.echo(shown(_guard(lambda: resolve(deps, message_id, by, reason))))
        _echo(send_now(deps))


@click.command()
@CONFIG
@click.argument("target")
@BY
@REASON
@YES
@click.option("--force", is_flag=True, help="Admit even when all seats are taken.")
@EVENT
def admit(
    config_path: Path,
    target: str,
    by: str,
    reason: str,
    yes: bool,
    force: bool,
    event_key: str | None,
) -> None:
    """Admit a person (by address) or the persons of a mail (by Message-ID)."""
    with session(config_path) as deps:
        event = chosen_event(deps.settings, event_key)
        if target.startswith("<") or "@" not in target:
            planned = _guard(lambda: plan_admit_mail(deps, target, by, reason, force, event))
        else:
            try:
                planned = plan_admit_person(deps, target, by, reason, force, event)
            except NotFound:
                planned = _guard(lambda: plan_admit_mail(deps, target, by, reason, force, event))
        _carry_out(deps, planned, yes)


@click.command()
@CONFIG
@click.argument("address")
@BY
@REASON
@YES
@EVENT
def cancel(
    config_path: Path, address: str, by: str, reason: str, yes: bool, event_key: str | None
) -> None:
    """Cancel a person (e.g. who phoned); the waitlist head moves up and is told."""
    with session(config_path) as deps:
        event = chosen_event(deps.settings, event_key)
        _carry_out(deps, _guard(lambda: plan_cancel(deps, address, by, reason, event)), yes)


@click.command(name="resend")
@CONFIG
@click.argument("message_id")
@BY
@REASON
@YES
def resend_(config_path: Path, message_id: str, by: str, reason: str, yes: bool) -> None:
    """Send a reply again (same content), by its Message-ID or the original's: the mail
    is shown first and sent when you confirm (or with --yes)."""
    with session(config_path) as deps:
        item = _guard(lambda: reply_to_resend(deps, message_id))
        click.echo(shown(_show(item.data)))
        if not yes:
            click.confirm(f"Diese Mail erneut an {item.recipient} senden?", abort=True)
        click.echo(shown(_guard(lambda: resend(deps, message_id, by, reason))))
        _echo(send_now(deps))


@click.command(name="note")
@CONFIG
@click.argument("about")
@BY
@click.option("--reason", required=True, help="The note.")
def note_(config_path: Path, about: str, by: str, reason: str) -> None:
    """Write a note about a person or mail into the allocation log."""
    with session(config_path) as deps:
        click.echo(note(deps, about, by, reason))


@click.command(name="verify-log")
@CONFIG
def verify_log_(config_path: Path) -> None:
    """Check that the allocation log is unchanged (exit 0) or say where it changed."""
    settings = settings_from(config_path)
    path = settings.storage.log
    if not path.exists():
        raise click.ClickException(f"no allocation log at {path}")
    with open_store(settings.storage.database) as store:
        check = verify_log(path, store)
    if not check.ok:
        raise click.ClickException(check.message)
    click.echo(check.message)


@click.command()
@CONFIG
def replay(config_path: Path) -> None:
    """Recompute the allocation from the logged mail facts; show any difference."""
    with session(config_path) as deps:
        differences = replay_differences(deps)
    if not differences:
        click.echo("Keine Abweichung: die Neuberechnung ergibt dieselbe Platzvergabe.")
        return
    click.echo(shown("\n".join(differences)))
    raise click.ClickException(f"{len(differences)} Abweichung(en)")


@click.command(name="purge")
@CONFIG
@YES
@click.option("--days", type=int, default=None, help="Days after the event (default: [privacy]).")
def purge_(config_path: Path, yes: bool, days: int | None) -> None:
    """After the event and the retention period: delete personal data, keep counts."""
    with session(config_path) as deps:
        keep = days if days is not None else deps.settings.privacy.retention_days
        if not yes:
            click.confirm(f"Personenbezogene Daten löschen ({keep} Tage nach Ende)?", abort=True)
        purged = purge(deps, deps.clock(), keep)
        if not purged:
            click.echo(f"Noch nicht: Löschung erst {keep} Tage nach dem Ende.")
            return
        rewrite_log_file(deps.store, deps.settings.storage.log)
        refresh_report(deps.settings, deps.store, deps.clock())
        which = f" ({shown(', '.join(purged))})" if deps.settings.series else ""
        click.echo(f"Personenbezogene Daten gelöscht{which}; Zählungen bleiben erhalten.")


@click.command(name="forget")
@CONFIG
@click.argument("address")
@YES
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
            f"Gelöscht: {counted(count, 'Person', 'Personen')} und jede Erwähnung; "
            "das Protokoll vermerkt nur die Löschung."
        )


COMMANDS = (
    review,
    assign_,
    resolve_,
    admit,
    cancel,
    resend_,
    note_,
    verify_log_,
    replay,
    purge_,
    forget_,
)
