"""Load and validate the TOML configuration once; pass the frozen result around.

Secrets are never stored in the file: the file names an environment variable
(`password_env`) or a file (`password_file`) that holds the password.
"""

from __future__ import annotations

import stat
import tomllib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, overload
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from inbox_bot.config_console import ConsoleSettings
from inbox_bot.config_events import EventSettings, RoutingSettings, series_problem
from inbox_bot.config_net import is_loopback
from inbox_bot.errors import ConfigError

__all__ = [
    "ConsoleSettings",
    "EventSettings",
    "RoutingSettings",
    "Settings",
    "is_loopback",
    "load_settings",
]


class Security(StrEnum):
    SSL = "ssl"
    STARTTLS = "starttls"
    NONE = "none"


_DEFAULT_PORTS = {
    "imap": {Security.SSL: 993, Security.STARTTLS: 143, Security.NONE: 143},
    "smtp": {Security.SSL: 465, Security.STARTTLS: 587, Security.NONE: 25},
}

Port = Annotated[int, Field(ge=1, le=65535)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OAuth2Settings(_Section):
    """Tokens from Microsoft's identity platform through MSAL (README "Signing in with
    OAuth2"): `client_credentials` for an app registration (unattended), or
    `device_code` after one `inbox-bot login` (a refresh token in `token_cache`)."""

    provider: Literal["microsoft", "google"] = "microsoft"
    flow: Literal["client_credentials", "device_code"] = "client_credentials"
    tenant: str = ""
    client_id: str = ""
    # Google: an authorized-user file (client_id, client_secret, refresh_token), 0600,
    # made once with Google's own tools; google-auth renews the token from it.
    credentials_file: Path | None = None
    # Google: another token endpoint than https://oauth2.googleapis.com/token.
    token_uri: str | None = Field(default=None, pattern=r"^https://")
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    # Instead of a secret: a PEM file with the private key and its certificate (0600);
    # the certificate is what the app registration has uploaded.
    client_certificate_file: Path | None = None
    # Another authority than https://login.microsoftonline.com/TENANT (an OIDC issuer).
    authority: str | None = Field(default=None, pattern=r"^https://")
    ca_file: Path | None = None  # an extra CA for the authority's certificate
    token_cache: Path = Path("state/oauth2-token-cache.json")
    client_secret: SecretStr | None = Field(default=None, exclude=True)
    client_certificate: SecretStr | None = Field(default=None, exclude=True)


class _ServerSection(_Section):
    host: str = Field(min_length=1)
    port: Port | None = None
    security: Security = Security.SSL
    username: str = ""
    password_env: str | None = None
    password_file: Path | None = None
    # Extra CA bundle for an internal certificate authority; verification stays on.
    ca_file: Path | None = None
    timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    password: SecretStr | None = Field(default=None, exclude=True)
    # "password" (password_env / password_file), or "oauth2": SASL XOAUTH2 with an access
    # token that `token_command` prints (run for every connection, never logged).
    auth: Literal["password", "oauth2"] = "password"
    token_command: tuple[str, ...] = ()
    oauth2: OAuth2Settings | None = None  # or tokens from Microsoft through MSAL

    @field_validator("security")
    @classmethod
    def _clear_text_only_on_this_machine(cls, value: Security, info: ValidationInfo) -> Security:
        host = info.data.get("host")  # absent when the host itself was invalid
        if value is Security.NONE and host is not None and not is_loopback(host):
            raise ValueError(
                f'"none" (password and mail in clear text) is only for a server on this '
                f'machine (127.0.0.1, ::1, localhost), not {host}; use "ssl" or "starttls"'
            )
        return value


_S = TypeVar("_S", bound=_ServerSection)


class ImapSettings(_ServerSection):
    folder: str = "INBOX"
    sent_folder: str | None = None
    batch_size: int = Field(default=50, ge=1, le=1000)
    # One FETCH brings at most this many bytes (by RFC822.SIZE): memory stays bounded
    # by bytes, not by how big the mails of a batch happen to be.
    batch_bytes: int = Field(default=20_000_000, ge=100_000)
    # Mail larger than this is not downloaded; it goes to staff review.
    max_message_bytes: int = Field(default=25_000_000, ge=10_000)
    # `run` waits for new mail in IMAP IDLE when the server offers it and answers within
    # seconds; the poll interval stays as the safety net. false: polling only.
    idle: bool = True
    # The copy of a sent reply in sent_folder: "append" (the bot files it) or "server"
    # (the server files submitted mail itself, as Exchange Online and Gmail do).
    sent_copy: Literal["append", "server"] = "append"


class SmtpSettings(_ServerSection):
    from_address: str = Field(pattern=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
    from_name: str = ""
    # Domain for reply Message-IDs; defaults to the domain of from_address.
    message_id_domain: str | None = None

    @property
    def id_domain(self) -> str:
        return self.message_id_domain or self.from_address.rsplit("@", 1)[1]


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
    folder = _relative(settings.templates.folder, base)
    if folder is not None and not folder.is_dir():
        raise ConfigError(f"{where}templates.folder: {folder} is not a folder (check the path)")
    imap = _resolve_server(settings.imap, "imap", base, environ, where)
    smtp = _resolve_server(settings.smtp, "smtp", base, environ, where)
    return settings.model_copy(
        update={
            "imap": imap,
            "smtp": smtp,
            "storage": StorageSettings(
                database=_relative(settings.storage.database, base),
                log=_relative(settings.storage.log, base),
            ),
            "templates": TemplateSettings(
                folder=_relative(settings.templates.folder, base)
                if settings.templates.folder
                else None
            ),
            "report": settings.report.model_copy(
                update={"path": _relative(settings.report.path, base)}
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


@overload
def _relative(path: Path, base: Path) -> Path: ...
@overload
def _relative(path: Path | None, base: Path) -> Path | None: ...
def _relative(path: Path | None, base: Path) -> Path | None:
    if path is None:
        return None
    path = path.expanduser()
    return path if path.is_absolute() else base / path


def _resolve_server(
    section: _S, name: str, base: Path, environ: Mapping[str, str], where: str
) -> _S:
    if section.auth == "oauth2":
        if section.password_env or section.password_file:
            raise ConfigError(
                f"{where}{name}.auth: oauth2 takes no password; remove password_env/password_file"
            )
        if not section.username or bool(section.token_command) == bool(section.oauth2):
            raise ConfigError(
                f"{where}{name}.auth: oauth2 needs username (the mailbox) and either "
                f"token_command or a [{name}.oauth2] table"
            )
    elif section.token_command or section.oauth2:
        raise ConfigError(f'{where}{name}: token_command and oauth2 only with auth = "oauth2"')
    if section.oauth2 is not None:
        section = section.model_copy(
            update={"oauth2": _resolve_oauth2(section.oauth2, name, base, environ, where)}
        )
    password = _read_password(section, name, base, environ, where)
    port = section.port or _DEFAULT_PORTS[name][section.security]
    return section.model_copy(
        update={
            "password": password,
            "port": port,
            "ca_file": _relative(section.ca_file, base),
            "password_file": _relative(section.password_file, base),
        }
    )


def _resolve_oauth2(
    o: OAuth2Settings, name: str, base: Path, environ: Mapping[str, str], where: str
) -> OAuth2Settings:
    key = f"{where}{name}.oauth2"
    if o.provider == "google":
        file = _relative(o.credentials_file, base)
        if file is None:
            raise ConfigError(f"{key}: provider google needs credentials_file")
        return o.model_copy(
            update={"credentials_file": file, "ca_file": _relative(o.ca_file, base)}
        )
    if not o.tenant or not o.client_id:
        raise ConfigError(f"{key}: provider microsoft needs tenant and client_id")
    given = [o.client_secret_env, o.client_secret_file, o.client_certificate_file]
    if o.flow == "client_credentials" and sum(1 for g in given if g) != 1:
        raise ConfigError(
            f"{key}: client_credentials needs one of client_secret_env, client_secret_file "
            "or client_certificate_file"
        )
    certificate = None
    if o.client_certificate_file:
        certificate = _private_text(
            _relative(o.client_certificate_file, base), f"{key}.client_certificate_file"
        )
    secret = None
    if o.client_secret_env:
        value = environ.get(o.client_secret_env)
        if not value:
            raise ConfigError(f"{key}.client_secret_env: {o.client_secret_env} is not set")
        secret = SecretStr(value)
    elif o.client_secret_file:
        file = _relative(o.client_secret_file, base)
        secret = _private_text(file, f"{key}.client_secret_file")
    return o.model_copy(
        update={
            "client_secret": secret,
            "client_certificate": certificate,
            "ca_file": _relative(o.ca_file, base),
            "token_cache": _relative(o.token_cache, base),
        }
    )


def _private_text(file: Path, key: str) -> SecretStr:
    """A secret's file: only its owner may read it (as ssh wants of a private key)."""
    try:
        if stat.S_IMODE(file.stat().st_mode) & 0o077:
            raise ConfigError(f"{key}: {file} is readable by others; chmod 600 it")
        return SecretStr(file.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read {file} ({exc.strerror})") from None


def _read_password(
    section: _ServerSection, name: str, base: Path, environ: Mapping[str, str], where: str
) -> SecretStr | None:
    if section.password_env and section.password_file:
        raise ConfigError(
            f"{where}{name}.password_env: give password_env or password_file, not both"
        )
    if section.password_env:
        value = environ.get(section.password_env)
        return SecretStr(value) if value else None
    if section.password_file:
        file = _relative(section.password_file, base)
        assert file is not None
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & 0o077:  # as ssh does with a private key
                raise ConfigError(
                    f"{where}{name}.password_file: {file} is readable by others "
                    f"(mode {mode:04o}); chmod 600 it"
                )
            return SecretStr(file.read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise ConfigError(
                f"{where}{name}.password_file: cannot read {file} ({exc.strerror})"
            ) from None
    return None


def require_password(section: _ServerSection, name: str) -> str | None:
    """The password for a server that needs one, or a clear ConfigError."""
    if not section.username:
        return None
    if section.password is None:
        if section.password_env:
            raise ConfigError(
                f"{name}.password_env: environment variable {section.password_env} is not set"
            )
        raise ConfigError(f"{name}: username is set but neither password_env nor password_file")
    return section.password.get_secret_value()
