"""`inbox-bot login`: sign the mailbox in once for OAuth2's device-code flow."""

from __future__ import annotations

from pathlib import Path

import click

from inbox_bot.app.wiring import settings_from
from inbox_bot.errors import InboxBotError
from inbox_bot.ui.options import CONFIG


@click.command(name="login")
@CONFIG
def login_(config_path: Path) -> None:
    """Sign in for [imap.oauth2] / [smtp.oauth2] with flow = "device_code": prints where
    to sign in and the code, waits, and keeps the refresh token in token_cache (0600)."""
    settings = settings_from(config_path)
    done: set[Path] = set()
    for name, section in (("imap", settings.imap), ("smtp", settings.smtp)):
        o = section.oauth2
        if o is None or o.flow != "device_code" or o.token_cache in done:
            continue
        from inbox_bot.adapters.msal_tokens import login  # msal only where used

        try:
            who = login(o, section.username, click.echo)
        except InboxBotError as exc:
            raise click.ClickException(f"{name}: {exc}") from None
        done.add(o.token_cache)
        click.echo(f"Angemeldet als {who}; Token gespeichert in {o.token_cache} (0600).")
    if not done:
        raise click.ClickException(
            'nothing to sign in: no [imap.oauth2] or [smtp.oauth2] with flow = "device_code"'
        )
