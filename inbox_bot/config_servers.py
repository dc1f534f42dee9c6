"""The mail servers' settings ([imap], [smtp]) and how their secrets are read.

A secret is never stored in the config file: the file names an environment variable
(`password_env`, `client_secret_env`) or a file that only its owner may read
(`password_file`, `client_secret_file`, `client_certificate_file`); OAuth2 tokens come
from MSAL, google-auth or the site's `token_command` (adapters/tokens.py).
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from inbox_bot.config_net import is_loopback
from inbox_bot.errors import ConfigError


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


@overload
def relative(path: Path, base: Path) -> Path: ...
@overload
def relative(path: Path | None, base: Path) -> Path | None: ...
def relative(path: Path | None, base: Path) -> Path | None:
    if path is None:
        return None
    path = path.expanduser()
    return path if path.is_absolute() else base / path


def resolve_server(
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
            "ca_file": relative(section.ca_file, base),
            "password_file": relative(section.password_file, base),
        }
    )


def _resolve_oauth2(
    o: OAuth2Settings, name: str, base: Path, environ: Mapping[str, str], where: str
) -> OAuth2Settings:
    key = f"{where}{name}.oauth2"
    if o.provider == "google":
        file = relative(o.credentials_file, base)
        if file is None:
            raise ConfigError(f"{key}: provider google needs credentials_file")
        return o.model_copy(update={"credentials_file": file, "ca_file": relative(o.ca_file, base)})
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
            relative(o.client_certificate_file, base), f"{key}.client_certificate_file"
        )
    secret = None
    if o.client_secret_env:
        value = environ.get(o.client_secret_env)
        if not value:
            raise ConfigError(f"{key}.client_secret_env: {o.client_secret_env} is not set")
        secret = SecretStr(value)
    elif o.client_secret_file:
        file = relative(o.client_secret_file, base)
        secret = _private_text(file, f"{key}.client_secret_file")
    return o.model_copy(
        update={
            "client_secret": secret,
            "client_certificate": certificate,
            "ca_file": relative(o.ca_file, base),
            "token_cache": relative(o.token_cache, base),
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
        file = relative(section.password_file, base)
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
