"""The staff's web console: one page to keep open all day (`inbox-bot console`).

Flask renders the pages on the server (no JavaScript, nothing loaded from outside);
waitress serves them (a production WSGI server, not Flask's development server).
Sessions are Flask's signed cookies (HttpOnly, SameSite=Strict, Secure behind TLS),
every form carries a CSRF token (Flask-WTF), passwords are argon2id hashes
(app/console_users.py). Each request opens the database itself, so the console works
beside a running worker; mail an action causes goes out at once, or with the worker's
next cycle when the worker holds the mailbox, exactly as with the CLI.

    auth.py     sign-in (password or a trusted proxy's user header), the throttle
    pages.py    overview, review queue, people and a person's story, exports, door list
    actions.py  every change: preview of the exact mail, then commit on confirm
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from inbox_bot.adapters.store import open_store
from inbox_bot.app.deps import Deps
from inbox_bot.app.wiring import build_deps
from inbox_bot.config import ConsoleSettings, Settings
from inbox_bot.core.render import default_template_folder

Clock = Callable[[], datetime]


DepsFactory = Callable[[], AbstractContextManager[Deps]]


class Console:
    """What every request needs: the settings, a way to the database, the clock."""

    def __init__(
        self, settings: Settings, clock: Clock | None = None, deps: DepsFactory | None = None
    ) -> None:
        self.settings = settings
        self.options = settings.console or ConsoleSettings()
        self.clock = clock or (lambda: datetime.now(UTC))
        self._deps = deps

    @contextmanager
    def deps(self) -> Iterator[Deps]:
        """The database and the adapters, for one request (the tests' fakes if given)."""
        if self._deps is not None:
            with self._deps() as given:
                yield given
            return
        with (
            open_store(self.settings.storage.database) as store,
            closing(build_deps(self.settings, store, self.clock)) as deps,
        ):
            yield deps


def create_app(
    settings: Settings, clock: Clock | None = None, deps: DepsFactory | None = None
) -> Flask:
    from inbox_bot.ui.console import actions, auth, pages

    console = Console(settings, clock, deps)
    app = Flask(
        __name__,
        template_folder=str(default_template_folder() / "console"),
        static_folder=None,
    )
    with console.deps() as opened:
        app.secret_key = _secret(opened)
    app.config.update(
        SESSION_COOKIE_NAME="inbox_bot_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=console.options.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=console.options.session_hours),
        WTF_CSRF_TIME_LIMIT=None,  # bound to the session, which expires by itself
        MAX_CONTENT_LENGTH=1_000_000,
    )
    app.extensions["inbox_bot_console"] = console
    CSRFProtect(app)
    auth.install(app)
    pages.install(app)
    actions.install(app)
    return app


def _secret(deps: Deps) -> str:
    """The key that signs sessions: made once, kept in the (private, 0600) database."""
    existing = deps.store.get_meta("console_secret")
    if existing:
        return existing
    made = secrets.token_hex(32)
    deps.store.set_meta("console_secret", made)
    return made


def server(settings: Settings) -> Any:
    """A waitress server on [console] listen, not yet running (`.run()`, `.close()`)."""
    from waitress.server import create_server

    options = settings.console or ConsoleSettings()
    host, port = options.address
    return create_server(create_app(settings), host=host, port=port, threads=4, ident="inbox-bot")


def serve(settings: Settings) -> None:
    """Serve until stopped (Ctrl+C)."""
    running = server(settings)
    try:
        running.run()
    finally:
        running.close()


@contextmanager
def beside_worker(settings: Settings) -> Iterator[None]:
    """`run` with [console]: the console served from a thread of the worker's process."""
    if settings.console is None:
        yield
        return
    running = server(settings)
    thread = threading.Thread(target=running.run, name="console", daemon=True)
    thread.start()
    try:
        yield
    finally:
        running.close()


def folder() -> Path:
    return default_template_folder() / "console"
