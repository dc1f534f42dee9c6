"""The shell's side of routing: what a mail answers and where it was sent, looked up in
the store and the config, then core/route.py decides."""

from __future__ import annotations

import re

from inbox_bot.app.deps import Deps
from inbox_bot.core.allocate import AllocationState
from inbox_bot.core.model import Intent, ParsedMail
from inbox_bot.core.names import same_address
from inbox_bot.core.route import Routed, Signals, Window, route


def windows(deps: Deps) -> tuple[Window, ...]:
    return tuple(
        Window(key=e.key, label=e.title, deadline=e.registration_deadline)
        for e in deps.settings.events
    )


def route_mail(
    deps: Deps,
    parsed: ParsedMail,
    intent: Intent,
    signals_at: Signals,
    states: dict[str, AllocationState],
) -> Routed:
    """Which event(s) the mail is for; with one event always that one."""
    if not deps.settings.series:
        return route(intent, windows(deps), signals_at)
    sender = parsed.sender.email if parsed.sender else ""
    signals = Signals(
        arrival=signals_at.arrival,
        thread=thread_events(deps, parsed),
        addressed=addressed_events(deps, parsed),
        registered_in=tuple(
            key
            for key, state in states.items()
            if any(
                same_address(sender, a.registrant) or same_address(sender, a.email)
                for a in state.active_at(sender)
            )
        ),
    )
    return route(intent, windows(deps), signals)


def thread_events(deps: Deps, parsed: ParsedMail) -> tuple[str, ...]:
    """Events of our mails (or of staff's invitations) this mail answers."""
    answered = [*parsed.in_reply_to, *parsed.references]
    found = list(deps.store.events_of_replies(answered))
    for event in deps.settings.events:
        if any(m in event.invitation_message_ids for m in answered) and event.key not in found:
            found.append(event.key)
    return tuple(found)


def addressed_events(deps: Deps, parsed: ParsedMail) -> tuple[str, ...]:
    """Events named by sub-address (smartcity+KEY@dortmund.de), when switched on."""
    if not deps.settings.routing.plus_addressing:
        return ()
    local, _, domain = deps.settings.smtp.from_address.lower().partition("@")
    pattern = re.compile(rf"\b{re.escape(local)}\+([a-z0-9-]+)@{re.escape(domain)}\b")
    keys = {e.key for e in deps.settings.events}
    found: list[str] = []
    for header in ("to", "cc", "delivered-to", "x-original-to"):
        for value in parsed.header(header):
            for key in pattern.findall(value.lower()):
                if key in keys and key not in found:
                    found.append(key)
    return tuple(found)
