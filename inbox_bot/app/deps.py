"""What one poll cycle works with and what it reports (shared by the shell modules)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from inbox_bot.adapters.store import Store
from inbox_bot.app.state import allocation_state, allocation_states
from inbox_bot.config import Settings
from inbox_bot.core.allocate import AllocationState
from inbox_bot.core.classify import Context
from inbox_bot.core.model import Attendee
from inbox_bot.core.render import Renderer
from inbox_bot.ports import Analyser, Clock, Mailbox, Mailer


@dataclass(kw_only=True)
class StateCache:
    """Every event's allocation state, kept and updated as each decision is made rather
    than reloaded from SQLite for every mail (which made a cycle quadratic).

    Valid while nothing else changed the database: `Store.version()` counts commits by
    other connections (a staff action in the console or the CLI) and by this one; a
    decision recorded by the pipeline is applied here and its commit counted in.
    """

    states: dict[str, AllocationState] | None = None
    settings: object = None
    version: tuple[int, int] = (-1, -1)

    def valid(self, settings: Settings, version: tuple[int, int]) -> bool:
        return self.states is not None and self.settings is settings and self.version == version

    def recorded(
        self, changes: Iterable[Attendee], before: tuple[int, int], after: tuple[int, int]
    ) -> None:
        """The pipeline recorded a decision with these changes, the database at version
        `before` until then and `after` since."""
        if self.states is None or self.version != before:
            self.states = None
            return
        by_event: dict[str, list[Attendee]] = {}
        for a in changes:
            by_event.setdefault(a.event, []).append(a)
        if any(key not in self.states for key in by_event):
            self.states = None  # an attendee of no known state: load afresh
            return
        for key, changed in by_event.items():
            self.states[key] = self.states[key].with_changes(changed)
        self.version = after


@dataclass(frozen=True, kw_only=True)
class Deps:
    settings: Settings
    store: Store
    context: Context
    renderer: Renderer
    clock: Clock
    open_mailbox: Callable[[], Mailbox]
    open_smtp: Callable[[], Mailer]
    # parse + classify within a time budget (a worker process in production)
    analyser: Analyser
    stop: threading.Event = field(default_factory=threading.Event)
    # The allocation states as decided so far, kept between mails (see current_states).
    states: StateCache = field(default_factory=lambda: StateCache())

    def close(self) -> None:
        """Release what the adapters hold beyond a call (the reader process)."""
        self.analyser.close()


@dataclass(frozen=True, kw_only=True)
class Handled:
    """One line of the cycle report."""

    uid: int
    arrival: datetime
    sender: str
    kind: str
    decision: str
    persons: tuple[str, ...]
    reply: str | None
    needs_review: bool
    reason: str


@dataclass(kw_only=True)
class CycleReport:
    handled: list[Handled] = field(default_factory=list)
    sent: int = 0
    send_failed: int = 0
    send_waiting: int = 0
    problems: list[str] = field(default_factory=list)
    smtp_unreachable: str = ""  # why SMTP could not be reached this cycle
    # Replies held back by [limits] replies_per_minute: when the next may go.
    next_send_at: datetime | None = None


def current_state(deps: Deps, event: str = "") -> AllocationState:
    """One event's allocation as stored ("": the first event, the only one of an [event]
    config), with its capacity, times and the [limits]."""
    settings = deps.settings
    chosen = settings.event_for(event) if event else settings.events[0]
    return allocation_state(
        settings,
        chosen,
        deps.store.attendees(chosen.key),
        freemail=deps.context.directory.freemail,
    )


def current_states(deps: Deps) -> dict[str, AllocationState]:
    """Every event's allocation, by key: as kept since the last decision, or loaded."""
    cache, version = deps.states, deps.store.version()
    if not cache.valid(deps.settings, version):
        cache.states = allocation_states(
            deps.settings, deps.store.attendees(), freemail=deps.context.directory.freemail
        )
        cache.settings, cache.version = deps.settings, version
    assert cache.states is not None
    return dict(cache.states)
