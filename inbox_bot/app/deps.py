"""What one poll cycle works with and what it reports (shared by the shell modules)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from inbox_bot.adapters.store import Store
from inbox_bot.app.state import allocation_state, allocation_states
from inbox_bot.config import Settings
from inbox_bot.core.allocate import AllocationState
from inbox_bot.core.classify import Context
from inbox_bot.core.render import Renderer
from inbox_bot.ports import Analyser, Clock, Mailbox, Mailer


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
    """Every event's allocation, by key."""
    return allocation_states(
        deps.settings, deps.store.attendees(), freemail=deps.context.directory.freemail
    )
