"""The registrations so far, as the bot keeps them, for scoring labelled mail.

Each mail is read, routed to its event(s) and decided as a poll decides it
(core/route.py, core/allocate.py), so what is scored is what would happen. Capacity
does not matter for reading and is lifted; deadlines do (late registrations).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from inbox_bot.app.state import allocation_state
from inbox_bot.config import Settings
from inbox_bot.core.allocate import Decision, Outcome, Request, apply, decide
from inbox_bot.core.allocation import AllocationState, to_staff
from inbox_bot.core.analysis import analyse_bytes as read_mail_bytes
from inbox_bot.core.cancel import NO_REGISTRATION
from inbox_bot.core.classify import Context
from inbox_bot.core.model import Analysis, Intent, Kind, Person, Status
from inbox_bot.core.names import same_address
from inbox_bot.core.route import Signals, Window, route


@dataclass(frozen=True)
class Reading:
    """What the bot did with one mail, in the terms of labels.json."""

    kind: str
    names: list[str]  # in a series "Name @event", event by event
    emails: list[str | None]
    organizations: list[str | None]
    reply_to: str | None
    review: bool
    seats: int  # persons who got a new place (seat, waitlist, or late)


class Ledger:
    def __init__(self, settings: Settings) -> None:
        self.series = settings.series
        self.states: dict[str, AllocationState] = {
            e.key: replace(allocation_state(settings, e, ()), capacity=100_000)
            for e in settings.events
        }
        self.windows = tuple(
            Window(key=e.key, label=e.title, deadline=e.registration_deadline)
            for e in settings.events
        )
        self.count = 0

    def read(self, raw: bytes, ctx: Context, arrival: datetime) -> Reading:
        result = read_mail_bytes(raw, ctx)
        if not isinstance(result, Analysis):
            return Reading("other", [], [], [], None, True, 0)
        parsed, intent = result.parsed, result.intent
        self.count += 1
        sender = parsed.sender.email if parsed.sender else ""
        contact = parsed.reply_address.email if parsed.reply_address else sender
        request = Request(
            message_key=f"score-{self.count}",
            uid=self.count,
            arrival=arrival,
            sender=sender,
            contact=contact,
            intent=intent,
        )
        parts = self._decide(request)
        return self._reading(intent, parts, sender, contact)

    def _decide(self, request: Request) -> list[tuple[str, Decision]]:
        intent, first = request.intent, self.windows[0].key
        if intent.kind.automatic or intent.review_reasons:
            return [(first, self._apply(first, request))]
        signals = Signals(arrival=request.arrival, registered_in=self._registered(request.sender))
        routed = route(intent, self.windows, signals)
        if routed.problem is not None:
            return [("", to_staff((routed.problem,)))]
        if not routed.parts:
            return [(first, self._apply(routed.events[0] if routed.events else first, request))]
        return [
            (key, self._apply(key, replace(request, intent=replace(intent, persons=persons))))
            for key, persons in routed.parts
        ]

    def _apply(self, key: str, request: Request) -> Decision:
        decision = decide(self.states[key], request)
        self.states[key] = apply(self.states[key], decision)
        return decision

    def _registered(self, sender: str) -> tuple[str, ...]:
        return tuple(
            key
            for key, state in self.states.items()
            if any(
                a.active and (same_address(sender, a.registrant) or same_address(sender, a.email))
                for a in state.attendees.values()
            )
        )

    def _reading(
        self, intent: Intent, parts: list[tuple[str, Decision]], sender: str, contact: str
    ) -> Reading:
        persons: list[tuple[str, Person]] = []
        kind = str(intent.kind)
        for key, decision in sorted(parts, key=lambda part: part[0]):
            understood = _understood(intent, decision)
            if intent.kind is Kind.CANCELLATION and any(
                r.startswith(NO_REGISTRATION) for r in decision.reasons
            ):
                kind, understood = "other", ()  # a decline from someone never registered
            if not key and self.series:
                kind, understood = "other", ()  # in no event: staff decide where
            persons += [(key, p) for p in understood]
        decisions = [d for _, d in parts]
        fresh = [p for d in decisions for p in d.placements if not p.duplicate]
        answered = any(d.reply is not None for d in decisions)
        return Reading(
            kind=kind,
            names=[f"{p.name} @{key}" if self.series else p.name for key, p in persons],
            # labels give an address only where it differs from the sender's own
            emails=[None if same_address(p.email, sender) else p.email for _, p in persons],
            organizations=[p.organization for _, p in persons],
            reply_to=contact if answered and contact else None,
            review=any(d.needs_review for d in decisions),
            seats=sum(1 for p in fresh if p.attendee.status is not Status.CANCELLED),
        )


def _understood(intent: Intent, decision: Decision) -> tuple[Person, ...]:
    """A cancellation names whom the bot cancelled: "Herr Brenner" is the Lukas Brenner
    registered earlier; addresses only as far as this mail states them. A registration:
    the persons of its decision, in order."""
    placements: Iterable[Any] = decision.placements
    if intent.kind is not Kind.CANCELLATION or decision.outcome is not Outcome.CANCELLED:
        if intent.kind is Kind.REGISTRATION and decision.placements:
            return tuple(
                Person(
                    name=p.attendee.name,
                    email=p.attendee.email,
                    organization=p.attendee.organization,
                )
                for p in decision.placements
            )
        return intent.persons if not decision.needs_review or decision.placements else ()
    stated = {p.email.lower() for p in intent.persons if p.email}
    return tuple(
        Person(
            name=p.attendee.name,
            email=p.attendee.email if (p.attendee.email or "").lower() in stated else None,
            organization=p.attendee.organization,
        )
        for p in placements
    )
