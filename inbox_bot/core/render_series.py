"""The reply to a mail decided in several events of a series: one mail, event by event,
with a calendar file for each event with a seat (pure but for reading templates).

A mail decided in one event gets that event's own reply (core/render.py). Promotions
and notices are each event's own mails either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbox_bot.config import EventSettings
from inbox_bot.core.allocate import Decision, Placement, Request
from inbox_bot.core.dates import event_facts
from inbox_bot.core.model import OutgoingRow, ReplyKind, Status
from inbox_bot.core.render import Original, Renderer, reply_subject, template_language


@dataclass(frozen=True, kw_only=True)
class Part:
    """What one event's decision made of the mail."""

    event: EventSettings
    decision: Decision


def replies(
    renderer: Renderer, parts: Sequence[Part], request: Request, original: Original, now: datetime
) -> list[OutgoingRow]:
    answered = [p for p in parts if p.decision.reply is not None]
    if len(answered) <= 1:
        rows = []
        for part in parts:
            rows += renderer.for_event(part.event).replies(part.decision, request, original, now)
        return rows
    rows = [_combined(renderer, answered, request, original, now)]
    for part in parts:
        own = renderer.for_event(part.event)
        rows += [own.promotion(p, now) for p in part.decision.promotions]
        rows += [own.notify(n, now) for n in part.decision.notices]
    return rows


def _combined(
    renderer: Renderer, parts: Sequence[Part], request: Request, original: Original, now: datetime
) -> OutgoingRow:
    language = template_language(request.intent.language)
    first = renderer.for_event(parts[0].event)
    context = first.context((), language, arrival=request.arrival)
    context["parts"] = [_part(renderer, p, language, request) for p in parts]
    context["series_events"] = [event_facts(p.event, language) for p in parts]
    context["has_question"] = request.intent.has_question
    placements = [pl for p in parts for pl in p.decision.placements]
    context["any_confirmed"] = any(pl.attendee.status is Status.CONFIRMED for pl in placements)
    context["any_waitlisted"] = any(pl.attendee.status is Status.WAITLISTED for pl in placements)
    calendars = []
    for part in parts:
        seats = [p for p in part.decision.placements if p.attendee.status is Status.CONFIRMED]
        if part.decision.reply is ReplyKind.ACCEPTANCE and seats:
            own = renderer.for_event(part.event)
            data = own.calendar(request.contact, seats, language, now)
            if data is not None:
                calendars.append((f"einladung-{part.event.key or 'veranstaltung'}.ics", data))
    return first.compose(
        kind=ReplyKind.SERIES,
        recipient=request.contact,
        subject=reply_subject(original.subject, first.subject("no_subject", language)),
        text=first.body(ReplyKind.SERIES, language, context),
        now=now,
        original=original,
        calendar=calendars,
        attendee_ids=tuple(pl.attendee.id for pl in placements),
    )


def _part(renderer: Renderer, part: Part, language: str, request: Request) -> dict[str, Any]:
    own = renderer.for_event(part.event)

    def persons(placements: Sequence[Placement]) -> list[dict[str, Any]]:
        return list(own.context(tuple(placements), language, arrival=request.arrival)["persons"])

    return {
        "event": event_facts(part.event, language),
        "capacity": part.event.capacity,
        "reply": str(part.decision.reply),
        "persons": persons(part.decision.placements),
        "staying": persons(part.decision.staying),
    }
