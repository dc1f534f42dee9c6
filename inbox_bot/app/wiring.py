"""Building the shell from the settings: the one place that wires adapters to the core."""

from __future__ import annotations

import os
import signal
import threading
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from inbox_bot.adapters.mailbox import Mailbox
from inbox_bot.adapters.reader import IsolatedAnalyser
from inbox_bot.adapters.smtp import SmtpSender
from inbox_bot.adapters.store import Store, open_store
from inbox_bot.app.deps import Deps
from inbox_bot.config import EventSettings, Settings, load_settings, settings_from_mapping
from inbox_bot.core.classify import Context
from inbox_bot.core.classify.echo import own_words
from inbox_bot.core.classify.event import EventFacts
from inbox_bot.core.classify.organizations import load_directory
from inbox_bot.core.render import Renderer
from inbox_bot.errors import ConfigError


def settings_from(path: Path) -> Settings:
    return load_settings(path, os.environ)


def example_settings() -> Settings:
    """The settings of the shipped example event, for `score` without a config."""
    packaged = resources.files("inbox_bot").joinpath("data/example-config.toml")
    # In a source checkout the file is config/ itself (the wheel carries a copy).
    checkout = Path(__file__).resolve().parents[2] / "config" / "interkommunaler-austausch.toml"
    text = packaged.read_text("utf-8") if packaged.is_file() else checkout.read_text("utf-8")
    return settings_from_mapping(tomllib.loads(text), base=Path.cwd(), environ={})


def folder_settings(base: Settings, folder: Path) -> Settings:
    """The settings with the [event] (or the [[events]] of a series) of a labelled
    folder's event.toml, if it has one."""
    path = folder / "event.toml"
    if not path.is_file():
        return base
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    raw = base.model_dump(mode="json", exclude={"source", "events"})
    if "event" in table:
        raw["event"] = table["event"]
    else:
        raw["events"] = table.get("events") or []
    return settings_from_mapping(raw, base=folder, environ={}, source=path)


def classify_context(settings: Settings) -> Context:
    """What the classifier knows about us, from the settings alone."""
    return Context(
        own_addresses=settings.own_addresses,
        message_id_domain=settings.smtp.id_domain,
        internal_domains=frozenset(d.lower() for d in settings.rules.internal_domains),
        directory=load_directory(settings.rules.organizations),
        own_words=own_words(
            [
                *Renderer(settings).template_sources(),
                settings.privacy.text("de"),
                settings.privacy.text("en"),
            ]
        ),
        events=tuple(event_facts(e) for e in settings.events),
    )


def event_facts(event: EventSettings) -> EventFacts:
    """The event as a mail names it: its title, venue, days, deadline and keywords."""
    days = {
        event.local(event.starts_at).date(),
        event.local(event.ends_at).date(),
        event.local(event.registration_deadline).date(),
    }
    return EventFacts.of(
        key=event.key,
        title=event.title,
        venue=event.venue,
        dates=days,
        keywords=event.keywords,
        start=event.local(event.starts_at).date(),
    )


def build_deps(
    settings: Settings,
    store: Store,
    clock: Callable[[], datetime] | None = None,
    *,
    stop: threading.Event | None = None,
) -> Deps:
    stop = stop or threading.Event()
    if all(e.key for e in settings.events):
        # An [event] config became a series: its places go to the first event, before
        # anything is decided (seats are numbered per event).
        store.adopt_unkeyed(settings.events[0].key)
    context = classify_context(settings)
    limits = settings.limits
    return Deps(
        settings=settings,
        store=store,
        context=context,
        renderer=Renderer(settings),
        clock=clock or (lambda: datetime.now(UTC)),
        open_mailbox=lambda: Mailbox(settings.imap),
        open_smtp=lambda: SmtpSender(settings.smtp),
        # The reader process ends by itself when we do (its stdin closes).
        analyser=IsolatedAnalyser(
            context,
            budget_seconds=limits.seconds_per_mail,
            memory_bytes=limits.reader_memory_mb * 1024 * 1024,
            stop=stop,
        ),
        stop=stop,
    )


@contextmanager
def worker_store(settings: Settings) -> Iterator[Store]:
    """The database, locked: one worker per database."""
    store = open_store(settings.storage.database)
    try:
        store.lock()
        yield store
    finally:
        store.close()


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT: finish the mail at hand (its transaction commits), then stop."""

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
