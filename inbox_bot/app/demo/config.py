"""The demo's settings: the raw config (as a TOML file holds it) and the demo.toml
written beside its database, so `inbox-bot status` and `export` can read it later."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from inbox_bot.app.demo.servers import LOOPBACK

MAILBOX = "smartcity@example.org"
PASSWORD_ENV = "INBOX_BOT_DEMO_PASSWORD"  # noqa: S105 - the name of a variable
DATABASE = "inbox-bot-demo.sqlite3"
LOG = "allocation-log.jsonl"
CONFIG = "demo.toml"


def demo_config(
    imap_port: int, smtp_port: int, *, host: str = LOOPBACK
) -> dict[str, dict[str, Any]]:
    """The raw config, as a TOML file would hold it; paths are relative to the workdir."""
    return {
        "imap": {
            "host": host,
            "port": imap_port,
            "security": "none",
            "username": MAILBOX,
            "password_env": PASSWORD_ENV,
            "timeout_seconds": 10,
        },
        "smtp": {
            "host": host,
            "port": smtp_port,
            "security": "none",
            "from_address": MAILBOX,
            "from_name": "Allianz Smart City Dortmund (Demo)",
            "message_id_domain": "smartcity.example.org",
            "timeout_seconds": 10,
        },
        "event": {
            "title": "Interkommunaler Austausch (Demo)",
            "organizer": "Allianz Smart City Dortmund (Demo)",
            "starts_at": "2018-12-05T10:00:00+01:00",
            "ends_at": "2018-12-05T13:00:00+01:00",
            "timezone": "Europe/Berlin",
            "venue": "Saal 9 und 10, Kongresszentrum Westfalenhallen Dortmund, Rheinlanddamm 200",
            "capacity": 4,
            "registration_deadline": "2018-11-23T23:59:59+01:00",
        },
        "storage": {"database": DATABASE, "log": LOG},
        "rules": {
            "internal_domains": ["dortmund.de", "stadtdo.de"],
            "organizations": {"leeds.example.org": "Leeds City Council"},
        },
    }


def write_toml(path: Path, raw: Mapping[str, Mapping[str, Any]]) -> None:
    """Just enough TOML for the demo config (strings, numbers, lists, inline tables)."""
    lines = [
        "# Written by `inbox-bot demo`. Its mail servers ran only while the demo ran;",
        "# `inbox-bot status` and `inbox-bot export` need only the database.",
    ]
    for section, values in raw.items():
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON escapes are valid TOML escapes
    if isinstance(value, Mapping):
        items = ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")
