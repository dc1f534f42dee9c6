"""`[console]`: where the staff's web console listens and who may sign in how."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from inbox_bot.config_net import is_loopback


class ConsoleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # host:port; anything but loopback only behind a reverse proxy that does TLS
    listen: str = "127.0.0.1:8025"
    # The reverse proxy's address: only requests from it may carry `user_header`, the
    # name of the user it signed in (e.g. "X-Remote-User"), and its X-Forwarded-Proto.
    trusted_proxy: str | None = None
    user_header: str | None = None
    # Cookies only over HTTPS: on when the proxy serves TLS (then required off loopback).
    secure_cookies: bool = False
    session_hours: int = Field(default=12, ge=1, le=24 * 7)

    @model_validator(mode="after")
    def _safe_listen(self) -> ConsoleSettings:
        host, port = self.address
        if not 1 <= port <= 65535:
            raise ValueError(f"listen: {self.listen!r} is no host:port")
        if not is_loopback(host) and not (self.trusted_proxy and self.secure_cookies):
            raise ValueError(
                f"listen on {host} (not this machine only) needs a reverse proxy with TLS: "
                "set trusted_proxy and secure_cookies = true, or listen on 127.0.0.1"
            )
        if self.user_header and not self.trusted_proxy:
            raise ValueError("user_header needs trusted_proxy: only the proxy may set it")
        return self

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        try:
            return host.strip("[]") or "127.0.0.1", int(port)
        except ValueError:
            return host, 0
