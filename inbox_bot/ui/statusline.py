"""The last good poll and send and the errors after them, in the event's local time:
what `status` prints and the console's overview shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inbox_bot.config import Settings


def status_times(settings: Settings, store: Any) -> list[tuple[str, object]]:
    """The last good poll and send, and the last errors that came after them, in local
    time ("12.03.2025 14:05"): an old error after a later good poll is over."""
    meta = {k: store.get_meta(k) or "" for k in _STATUS_KEYS}
    return [
        (
            "Letzter erfolgreicher Abruf / last good poll",
            local_stamp(meta["last_poll_ok"], settings),
        ),
        (
            "Letzter Abruffehler / last IMAP error",
            _newer(meta["last_poll_error"], meta["last_poll_ok"], settings),
        ),
        ("Letzter Versand / last reply sent", local_stamp(meta["last_smtp_ok"], settings)),
        (
            "Letzter Versandfehler / last SMTP error",
            _newer(meta["last_smtp_error"], meta["last_smtp_ok"], settings),
        ),
        ("Warnung / alert", local_stamp(meta["alert"], settings)),
    ]


def waiting_line(settings: Settings, store: Any, counts: dict[str, int]) -> str:
    """How many replies wait, and when the next go when the sending rate holds them."""
    waiting = counts["outbox_pending"]
    paced = store.get_meta("paced_until") or ""
    if not waiting or not paced:
        return str(waiting)
    rate = settings.limits.replies_per_minute
    return f"{waiting}, nächste ab {local_stamp(paced, settings)} (Versandgrenze {rate}/Minute)"


def sign_in_lines(settings: Settings) -> list[tuple[str, object]]:
    """How IMAP and SMTP sign in, and for OAuth2 until when the cached token holds."""
    lines: list[tuple[str, object]] = []
    for name, section in (("IMAP", settings.imap), ("SMTP", settings.smtp)):
        if section.auth != "oauth2":
            continue
        o = section.oauth2
        if o is None:
            what = "OAuth2, Token vom token_command"
        elif o.flow == "client_credentials":
            what = "OAuth2 (App, client credentials), Token wird bei Bedarf geholt"
        else:
            from inbox_bot.adapters.msal_tokens import cache_expiry

            until = cache_expiry(o.token_cache)
            if until is None:
                what = "OAuth2: nicht angemeldet; inbox-bot login --config FILE"
            else:
                moment = datetime.fromtimestamp(int(until), tz=settings.zone)
                what = f"OAuth2, Token bis {moment:%d.%m.%Y %H:%M} (wird selbst erneuert)"
        lines.append((f"Anmeldung {name} / sign-in", f"{section.username}: {what}"))
    return lines


_STATUS_KEYS = ("last_poll_ok", "last_poll_error", "last_smtp_ok", "last_smtp_error", "alert")


def local_stamp(value: str, settings: Settings) -> str:
    """ "2025-03-12T13:05:00+00:00 text" as "12.03.2025 14:05:00 text" in the event's zone."""
    if not value:
        return "-"
    stamp, _, rest = value.partition(" ")
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return value
    local = moment.astimezone(settings.zone).strftime("%d.%m.%Y %H:%M:%S")
    return f"{local} {rest}".strip()


def _newer(error: str, good: str, settings: Settings) -> str:
    if not error or (good and error.split(" ", 1)[0] <= good.split(" ", 1)[0]):
        return "-"
    return local_stamp(error, settings)
