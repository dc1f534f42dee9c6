"""`inbox-bot staff-user add|remove|list`: the accounts of the staff's web console."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from inbox_bot.adapters.store import open_store
from inbox_bot.app.console_users import add_user, remove_user
from inbox_bot.app.wiring import settings_from
from inbox_bot.core.visible import shown
from inbox_bot.errors import ActionRefused, NotFound
from inbox_bot.ui.options import CONFIG


@click.group(name="staff-user")
def staff_user() -> None:
    """Accounts of the staff's web console (`inbox-bot console`)."""


@staff_user.command(name="add")
@CONFIG
@click.argument("name")
def staff_user_add(config_path: Path, name: str) -> None:
    """Add a user, or set a new password. On a terminal the password is asked twice;
    otherwise one line is read from standard input (for scripts)."""
    if sys.stdin.isatty():
        password = click.prompt("Passwort", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    settings = settings_from(config_path)
    with open_store(settings.storage.database) as store:
        try:
            add_user(store, name, password, datetime.now(UTC))
        except ActionRefused as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Benutzer {shown(name)} gespeichert.")


@staff_user.command(name="remove")
@CONFIG
@click.argument("name")
def staff_user_remove(config_path: Path, name: str) -> None:
    """Remove a user (signed-in sessions end with their next request)."""
    settings = settings_from(config_path)
    with open_store(settings.storage.database) as store:
        try:
            remove_user(store, name)
        except NotFound as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Benutzer {shown(name)} entfernt.")


@staff_user.command(name="list")
@CONFIG
def staff_user_list(config_path: Path) -> None:
    """The users who may sign in."""
    settings = settings_from(config_path)
    with open_store(settings.storage.database) as store:
        names = store.staff_user_names()
    click.echo("\n".join(shown(n) for n in names) if names else "Noch keine Benutzer.")
