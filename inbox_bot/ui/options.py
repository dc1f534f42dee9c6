"""Options shared by the commands."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from inbox_bot.config import Settings

CONFIG = click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The TOML config file of the event.",
)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unbekannt"


BY = click.option("--by", default=_user, show_default="OS user", help="Who does this.")
REASON = click.option("--reason", default="", help="Why, in a few words (goes into the log).")
YES = click.option("--yes", is_flag=True, help="Do it without asking.")

EVENT = click.option(
    "--event",
    "event_key",
    default=None,
    metavar="KEY",
    help="One event of the series (its key in the config); default: all events.",
)


def chosen_event(settings: Settings, key: str | None) -> str | None:
    """The key given with --event, checked against the config (None: all events)."""
    if key is None:
        return None
    known = [e.key for e in settings.events]
    if key in known:
        return key
    if not settings.series and key in ("", "event"):
        return known[0]
    names = ", ".join(k for k in known if k) or "(nur eine Veranstaltung, ohne key)"
    raise click.UsageError(f"unbekannte Veranstaltung --event {key!r}; bekannt: {names}")
