"""Access tokens from Microsoft's identity platform through MSAL (no OAuth by hand).

- client credentials: an app registration with IMAP.AccessAsApp / SMTP.SendAsApp, scope
  https://outlook.office365.com/.default; MSAL keeps the token in memory and fetches a
  new one when it runs out (one application object per process).
- device code: `inbox-bot login` signs the mailbox in once; the refresh token lives in
  `token_cache`, a file created 0600 and refused when others may read it, written
  atomically whenever MSAL changed it. The worker only ever refreshes silently.

Tokens never reach a log or an error; MSAL's own logger stays at WARNING.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msal
import requests

from inbox_bot.adapters.safefiles import private_dir
from inbox_bot.config import OAuth2Settings
from inbox_bot.errors import InboxBotError

logging.getLogger("msal").setLevel(logging.WARNING)

APP_SCOPES = ["https://outlook.office365.com/.default"]
USER_SCOPES = [
    "https://outlook.office.com/IMAP.AccessAsUser.All",
    "https://outlook.office.com/SMTP.Send",
]
_APPS: dict[tuple[str, str, str], Any] = {}
_LOCK = threading.Lock()  # the IDLE watcher and the worker may ask at the same time


def msal_token(o: OAuth2Settings, account: str, where: str, error: type[InboxBotError]) -> str:
    with _LOCK:
        try:
            if o.flow == "client_credentials":
                result = _confidential(o).acquire_token_for_client(scopes=APP_SCOPES)
            else:
                result = _silent(o, account, where, error)
        except InboxBotError:
            raise
        except Exception as exc:  # MSAL, requests, a key MSAL cannot use: one clear line
            said = str(exc).split("\n", 1)[0][:160]
            raise error(f"{where}: cannot get a token ({type(exc).__name__}: {said})") from None
    if not result or "access_token" not in result:
        said = str((result or {}).get("error") or "no answer")
        raise error(
            f"{where}: the identity platform refused a token ({said}); check tenant, "
            "client_id and the app's permissions"
        )
    return str(result["access_token"])


def login(o: OAuth2Settings, account: str, say: Callable[[str], None]) -> str:
    """The device-code flow, once: prints where to sign in and waits for it."""
    cache = load_cache(o.token_cache)
    app = _public(o, cache)
    flow = app.initiate_device_flow(scopes=USER_SCOPES)
    if "user_code" not in flow:
        raise InboxBotError(f"device code refused: {flow.get('error', 'no answer')}")
    say(str(flow["message"]))
    result = app.acquire_token_by_device_flow(flow)
    if "access_token" not in result:
        raise InboxBotError(f"sign-in did not complete: {result.get('error', 'no answer')}")
    save_cache(cache, o.token_cache)
    claims = result.get("id_token_claims") or {}
    return str(claims.get("preferred_username") or account)


def _silent(
    o: OAuth2Settings, account: str, where: str, error: type[InboxBotError]
) -> dict[str, Any] | None:
    cache = load_cache(o.token_cache, error)
    app = _public(o, cache)
    accounts = app.get_accounts(username=account) or app.get_accounts()
    if not accounts:
        raise error(f"{where}: {account} is not signed in; run: inbox-bot login --config FILE")
    result = app.acquire_token_silent(USER_SCOPES, account=accounts[0])
    if cache.has_state_changed:
        save_cache(cache, o.token_cache)
    if not result:
        raise error(
            f"{where}: the sign-in of {account} has expired; run: inbox-bot login --config FILE"
        )
    return dict(result)


def _authority(o: OAuth2Settings) -> dict[str, Any]:
    if o.authority:
        return {"oidc_authority": o.authority}
    return {"authority": f"https://login.microsoftonline.com/{o.tenant}"}


def _http(o: OAuth2Settings) -> requests.Session:
    session = requests.Session()
    if o.ca_file:
        # REQUESTS_CA_BUNDLE would override the session's verify otherwise.
        session.trust_env = False
        session.verify = str(o.ca_file)
    return session


def _confidential(o: OAuth2Settings) -> Any:
    key = (o.authority or o.tenant, o.client_id, "app")
    if key not in _APPS:
        _APPS[key] = msal.ConfidentialClientApplication(
            o.client_id,
            client_credential=_credential(o),
            http_client=_http(o),
            **_authority(o),
        )
    return _APPS[key]


def _credential(o: OAuth2Settings) -> str | dict[str, str]:
    """The client secret, or the certificate's private key and certificate (PEM)."""
    if o.client_secret is not None:
        return o.client_secret.get_secret_value()
    assert o.client_certificate is not None  # config checked that one is there
    pem = o.client_certificate.get_secret_value()
    key = re.search(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----", pem, re.S
    )
    cert = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S)
    if key is None or cert is None:
        raise InboxBotError("client_certificate_file needs a private key and a certificate (PEM)")
    return {"private_key": key.group(0), "public_certificate": cert.group(0)}


def _public(o: OAuth2Settings, cache: msal.SerializableTokenCache) -> Any:
    return msal.PublicClientApplication(
        o.client_id, token_cache=cache, http_client=_http(o), **_authority(o)
    )


def load_cache(
    path: Path, error: type[InboxBotError] = InboxBotError
) -> msal.SerializableTokenCache:
    """The token cache; refused when group or others may read it (it holds a credential)."""
    cache = msal.SerializableTokenCache()
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise error(f"token cache {path} is readable by others (mode {mode:04o}); chmod 600")
        cache.deserialize(path.read_text(encoding="utf-8"))
    return cache


def save_cache(cache: msal.SerializableTokenCache, path: Path) -> None:
    """Atomically, 0600 from the first byte."""
    private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(cache.serialize())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def cache_expiry(path: Path) -> str | None:
    """When the cached access token runs out (epoch seconds as text), for `status`."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    times = [str(t.get("expires_on", "")) for t in (data.get("AccessToken") or {}).values()]
    return max(times) if times else None
