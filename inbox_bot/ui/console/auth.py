"""Who may use the console: a staff account's password, or the user a trusted reverse
proxy names. Nothing else is visible or changeable without a session.

Failed sign-ins are slowed down: after five failures within a quarter of an hour, for
one name or from one address, sign-in is refused for a while (the failures age out);
the answer never says whether the name exists.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from inbox_bot.app.console_users import check_password

F = TypeVar("F", bound=Callable[..., Any])
MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
COOL_DOWN = timedelta(minutes=1)


class Throttle:
    """Failed sign-ins per name and per address, in memory (a restart forgets them)."""

    def __init__(self) -> None:
        self._failures: dict[str, list[datetime]] = {}
        self._lock = threading.Lock()

    def blocked(self, keys: list[str], now: datetime) -> bool:
        with self._lock:
            for key in keys:
                recent = [t for t in self._failures.get(key, []) if now - t < WINDOW]
                self._failures[key] = recent
                if len(recent) >= MAX_FAILURES and now - recent[-1] < COOL_DOWN:
                    return True
            return False

    def failed(self, keys: list[str], now: datetime) -> None:
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, []).append(now)

    def succeeded(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


def install(app: Flask) -> None:
    throttle = Throttle()
    app.extensions["inbox_bot_throttle"] = throttle

    @app.before_request
    def who() -> None:
        g.user = _user()

    @app.after_request
    def headers(response: BaseResponse) -> BaseResponse:
        # No script runs, nothing is loaded from elsewhere, no page may frame ours.
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.route("/login", methods=["GET", "POST"])
    def login() -> str | BaseResponse:
        console = current_app.extensions["inbox_bot_console"]
        if request.method == "GET":
            return render_template("login.html", error="")
        name = (request.form.get("name") or "").strip()
        password = request.form.get("password") or ""
        keys = [f"name:{name.casefold()}", f"addr:{request.remote_addr}"]
        now = console.clock()
        if throttle.blocked(keys, now):
            message = "Zu viele Fehlversuche. Bitte in einer Minute erneut versuchen."
            return render_template("login.html", error=message), 429  # type: ignore[return-value]
        with console.deps() as deps:
            ok = check_password(deps.store, name, password, now)
        if not ok:
            throttle.failed(keys, now)
            message = "Name oder Passwort stimmt nicht."
            return render_template("login.html", error=message), 401  # type: ignore[return-value]
        throttle.succeeded(keys)
        session.clear()
        session.permanent = True
        session["user"] = name
        return redirect(url_for("overview"))

    @app.route("/logout", methods=["POST"])
    def logout() -> BaseResponse:
        session.clear()
        return redirect(url_for("login"))


def _user() -> str | None:
    """The signed-in staff member: the session's (while the account exists), or the
    trusted proxy's header (only from the proxy's address)."""
    console = current_app.extensions["inbox_bot_console"]
    options = console.options
    if options.user_header and options.trusted_proxy == request.remote_addr:
        named = (request.headers.get(options.user_header) or "").strip()
        if named:
            return named
    name = session.get("user")
    if not isinstance(name, str):
        return None
    with console.deps() as deps:
        if deps.store.staff_password_hash(name) is None:
            session.clear()  # the account was removed
            return None
    return name


def signed_in(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            return redirect(url_for("login"))
        return view(*args, **kwargs)

    return cast(F, wrapper)
