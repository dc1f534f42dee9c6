"""Load and validate the TOML configuration once; pass the frozen result around.

Secrets are never stored in the file: the file names an environment variable
(`password_env`) or a file (`password_file`) that holds the password.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from inbox_bot.config_console import ConsoleSettings
from inbox_bot.config_events import EventSettings, RoutingSettings, series_problem
from inbox_bot.config_net import is_loopback
from inbox_bot.config_servers import (
    ImapSettings,
    OAuth2Settings,
    Security,
    SmtpSettings,
    _ServerSection,
    relative,
    require_password,
    resolve_server,
)
from inbox_bot.errors import ConfigError

__all__ = [
    "ConsoleSettings",
    "EventSettings",
    "ImapSettings",
    "OAuth2Settings",
    "RoutingSettings",
    "Security",
    "Settings",
    "SmtpSettings",
    "_ServerSection",
    "is_loopback",
    "load_settings",
    "require_password",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageSettings(_Section):
    database: Path = Path("state/inbox-bot.sqlite3")
    log: Path = Path("state/allocation-log.jsonl")


class ScheduleSettings(_Section):
    poll_interval_seconds: int = Field(default=300, ge=10, le=86_400)


class TemplateSettings(_Section):
    # A staff-edited copy of the templates; missing files fall back to the defaults.
    folder: Path | None = None


class ReportSettings(_Section):
    # The staff's allocation report (static HTML), rewritten after every poll cycle.
    path: Path | None = None
    # Its mode, e.g. "0640" for a share the team's group reads; every other file is 0600.
    file_mode: str = "0600"

    @field_validator("file_mode")
    @classmethod
    def _readable_at_most(cls, value: str) -> str:
        digits = value.removeprefix("0o")
        if not (3 <= len(digits) <= 4 and all(c in "01234567" for c in digits)):
            raise ValueError(f'give an octal mode such as "0640", not {value!r}')
        mode = int(digits, 8)
        if mode & 0o600 != 0o600 or mode & ~0o644:
            raise ValueError(
                f"{value}: the bot must read and write it, others may at most read it "
                '(e.g. "0600", "0640" or "0644")'
            )
        return f"{mode:04o}"

    @property
    def mode(self) -> int:
        return int(self.file_mode, 8)


class RulesSettings(_Section):
    # Mail from these domains is internal (colleagues), never answered automatically
    # unless it registers someone.
    internal_domains: tuple[str, ...] = ()
    # Extra domain -> organisation names, on top of inbox_bot/data/organizations.toml.
    organizations: dict[str, str] = Field(default_factory=dict)


class LimitSettings(_Section):
    """Brakes against loops and seat grabbing; tripping one alerts staff, loses nothing."""

    # Replies to one address within 24 hours; more wait in the outbox for staff.
    replies_per_address_per_day: int = Field(default=6, ge=1)
    # Replies of the whole bot within one hour (a bug or a loop must not spam).
    replies_per_hour: int = Field(default=300, ge=1)
    # The provider's sending rate (Exchange Online: 30 a minute per mailbox; 0: none).
    # Replies beyond it wait in the outbox and go in the next minutes, in order; no alert.
    replies_per_minute: int = Field(default=0, ge=0)
    # Registrations beyond these go to staff review instead of taking seats.
    persons_per_mail: int = Field(default=10, ge=1)
    persons_per_address: int = Field(default=10, ge=1)
    persons_per_domain: int = Field(default=60, ge=1)
    # A reply that could not be sent is retried with growing pauses this many times.
    send_attempts: int = Field(default=12, ge=1)
    # Reading one mail (parse + classify, in a worker process) may take this long and
    # this much memory; a mail that needs more goes to staff review with its raw bytes.
    seconds_per_mail: float = Field(default=5.0, ge=0.5, le=600)
    reader_memory_mb: int = Field(default=1024, ge=128, le=65536)


_NOTICE_DE = (
    "Datenschutz: Wir verwenden Ihre Angaben nur für die Organisation dieser Veranstaltung "
    "und löschen sie {retention_days} Tage nach der Veranstaltung."
)
_NOTICE_EN = (
    "Privacy: we use your details only to organise this event and delete them "
    "{retention_days} days after the event."
)


class PrivacySettings(_Section):
    """The privacy line (DSGVO) at the end of every reply; {retention_days} is filled in."""

    notice: str = Field(default=_NOTICE_DE, min_length=1)
    notice_en: str = Field(default=_NOTICE_EN, min_length=1)
    retention_days: int = Field(default=30, ge=0, le=3650)

    def text(self, language: str) -> str:
        template = self.notice_en if language == "en" else self.notice
        # replace, not str.format: other braces in staff-written text stay as they are
        return template.replace("{retention_days}", str(self.retention_days))


class ReminderSettings(_Section):
    """Mail the bot sends by itself, without a mail to answer (opt-in: see Settings)."""

    # A reminder this many days before the event to everyone with a seat; 0 or absent: none.
    days_before: int = Field(default=0, ge=0, le=365)
    # At the event's start, a short closing note to everyone still on the waitlist.
    final_note: bool = True


class AuthenticitySettings(_Section):
    """Whose Authentication-Results count (core/authenticity.py): our border server's."""

    # The authserv-id our own receiving server writes, e.g. "mx.dortmund.de"; empty:
    # every mail's sender counts as "unknown" (the bot then trusts From as before).
    trusted_authserv_ids: tuple[str, ...] = ()
    # Exchange Online writes its field without an authserv-id: trust the topmost such.
    exchange_online: bool = False


class Settings(_Section):
    imap: ImapSettings
    smtp: SmtpSettings
    # `[event]` in the file is a series of one: it arrives here as events[0].
    events: tuple[EventSettings, ...]
    routing: RoutingSettings = RoutingSettings()
    storage: StorageSettings = StorageSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    templates: TemplateSettings = TemplateSettings()
    rules: RulesSettings = RulesSettings()
    limits: LimitSettings = LimitSettings()
    privacy: PrivacySettings = PrivacySettings()
    # No [reminders] section: neither reminders nor closing notes are sent.
    reminders: ReminderSettings = ReminderSettings(days_before=0, final_note=False)
    report: ReportSettings = ReportSettings()
    authenticity: AuthenticitySettings = AuthenticitySettings()
    # The staff's web console; `run` serves it too when the section is there.
    console: ConsoleSettings | None = None
    source: Path | None = Field(default=None, exclude=True)

    @property
    def own_addresses(self) -> frozenset[str]:
        aliases = [a for e in self.events for a in e.own_addresses]
        own = {self.smtp.from_address, self.imap.username, *aliases}
        return frozenset(a.strip().lower() for a in own if "@" in a)

    @property
    def event(self) -> EventSettings:
        """The one event of an [event] config (in a series, say which: `event_for`)."""
        if self.series:
            raise ValueError("a series has several events: use events / event_for(key)")
        return self.events[0]

    @property
    def series(self) -> bool:
        """More than one event: every record, export and reply names its event."""
        return len(self.events) > 1

    @property
    def zone(self) -> ZoneInfo:
        """The time zone of the allocation log and the staff's pages: the first event's."""
        return self.events[0].zone

    def event_for(self, key: str) -> EventSettings:
        """The event with this key (KeyError: none)."""
        for event in self.events:
            if event.key == key:
                return event
        raise KeyError(key)


def load_settings(path: Path, environ: Mapping[str, str]) -> Settings:
    """Read, validate and resolve a config file. Raises ConfigError with one clear line."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    return settings_from_mapping(raw, base=path.resolve().parent, environ=environ, source=path)


def settings_from_mapping(
    raw: Mapping[str, Any], *, base: Path, environ: Mapping[str, str], source: Path | None = None
) -> Settings:
    where = f"{source}: " if source else ""
    raw = dict(raw)
    single = "event" in raw
    if single:
        if "events" in raw:
            raise ConfigError(f"{where}events: give one [event] or [[events]], not both")
        raw["events"] = [raw.pop("event")]
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(where + _first_problem(exc, single)) from None
    problem = series_problem(settings.events, single=single)
    if problem:
        raise ConfigError(where + problem)
    folder = relative(settings.templates.folder, base)
    if folder is not None and not folder.is_dir():
        raise ConfigError(f"{where}templates.folder: {folder} is not a folder (check the path)")
    imap = resolve_server(settings.imap, "imap", base, environ, where)
    smtp = resolve_server(settings.smtp, "smtp", base, environ, where)
    return settings.model_copy(
        update={
            "imap": imap,
            "smtp": smtp,
            "storage": StorageSettings(
                database=relative(settings.storage.database, base),
                log=relative(settings.storage.log, base),
            ),
            "templates": TemplateSettings(
                folder=relative(settings.templates.folder, base)
                if settings.templates.folder
                else None
            ),
            "report": settings.report.model_copy(
                update={"path": relative(settings.report.path, base)}
            ),
            "source": source,
        }
    )


def _first_problem(exc: ValidationError, single: bool) -> str:
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    if loc[:1] == ["events"] and len(loc) > 1 and loc[1].isdigit():
        # the file's own words: [event] or the n-th of [[events]]
        loc[:2] = ["event"] if single else [f"events[{int(loc[1]) + 1}]"]
    key = ".".join(loc) or "config"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key (check the spelling)"
    elif error["type"] == "missing":
        message = "missing required key"
    else:
        message = message.removeprefix("Value error, ")
    return f"{key}: {message}"
