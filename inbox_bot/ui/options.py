"""Options shared by the commands."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

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
