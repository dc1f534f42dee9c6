"""Access tokens for Gmail / Google Workspace through google-auth (no OAuth by hand).

The authorized-user file (client_id, client_secret, refresh_token; scope
https://mail.google.com/) is made once with Google's tools; google-auth renews the
access token from it when it runs out. The file is a credential: refused when group or
others may read it. Tokens never reach a log or an error.
"""

from __future__ import annotations

import stat
import threading
from pathlib import Path
from typing import Any

import requests
from google.auth.exceptions import GoogleAuthError
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials

from inbox_bot.config import OAuth2Settings
from inbox_bot.errors import InboxBotError

SCOPES = ["https://mail.google.com/"]
_CREDENTIALS: dict[Path, Any] = {}
_LOCK = threading.Lock()


def google_token(o: OAuth2Settings, where: str, error: type[InboxBotError]) -> str:
    path = o.credentials_file
    assert path is not None  # config checked it
    with _LOCK:
        try:
            credentials = _CREDENTIALS.get(path) or _load(path, where, error)
            if o.token_uri:  # google-auth sets Google's endpoint whatever the file says
                credentials = credentials.with_token_uri(o.token_uri)
            if not credentials.valid:
                session = requests.Session()
                if o.ca_file:
                    session.trust_env = False  # REQUESTS_CA_BUNDLE would win otherwise
                    session.verify = str(o.ca_file)
                credentials.refresh(Request(session))
        except GoogleAuthError as exc:
            said = str(exc).split("\n", 1)[0][:160]
            raise error(f"{where}: Google refused a token ({said}); sign in again") from None
        _CREDENTIALS[path] = credentials
        return str(credentials.token)


def _load(path: Path, where: str, error: type[InboxBotError]) -> Any:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise error(f"{where}: cannot read credentials_file {path} ({exc.strerror})") from None
    if mode & 0o077:
        raise error(f"{where}: credentials_file {path} is readable by others; chmod 600")
    try:
        return Credentials.from_authorized_user_file(str(path), scopes=SCOPES)  # type: ignore[no-untyped-call]
    except (ValueError, OSError) as exc:
        raise error(
            f"{where}: credentials_file {path} is not an authorized-user file ({exc})"
        ) from None
