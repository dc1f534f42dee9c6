"""Access tokens for SASL XOAUTH2 (IMAP and SMTP): from MSAL (`[imap.oauth2]`, see
adapters/msal_tokens.py) or from the site's own token command.

`token_command` is run without a shell for every connection; its standard output is
the access token (Microsoft 365, Google or any other provider's tooling prints one).
The token is a bearer secret: it never reaches a log, an error or the output; an
error names the account and what failed, with the command's first line of stderr.
"""

from __future__ import annotations

import subprocess

from inbox_bot.config import _ServerSection
from inbox_bot.errors import InboxBotError

TIMEOUT_SECONDS = 60


def access_token(section: _ServerSection, name: str, error: type[InboxBotError]) -> str:
    """The token, or `error` (the adapter's login-refused kind) with one clear line."""
    where = f"{name} ({section.username})"
    if section.oauth2 is not None and section.oauth2.provider == "google":
        from inbox_bot.adapters.google_tokens import google_token  # only where used

        return google_token(section.oauth2, where, error)
    if section.oauth2 is not None:
        from inbox_bot.adapters.msal_tokens import msal_token  # msal only where used

        return msal_token(section.oauth2, section.username, where, error)
    command = list(section.token_command)
    try:
        done = subprocess.run(  # noqa: S603 - the staff's own configured command
            command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise error(f"{where}: token_command could not run ({exc})") from None
    token = done.stdout.strip()
    if done.returncode != 0 or not token or any(c.isspace() for c in token):
        said = (done.stderr.strip().splitlines() or [""])[0][:200]
        raise error(
            f"{where}: token_command gave no token (exit {done.returncode}"
            f"{': ' + said if said else ''}); run it by hand to see why"
        )
    return token


def xoauth2(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (before base64), as Google and Microsoft define."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def oauthbearer(user: str, token: str) -> str:
    """The SASL OAUTHBEARER initial response (RFC 7628), before base64."""
    return f"n,a={user},\x01auth=Bearer {token}\x01\x01"
