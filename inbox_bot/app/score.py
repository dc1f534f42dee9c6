"""`inbox-bot score DIR`: how well parse + classify read a labelled folder of mail.

DIR holds .eml files and a labels.json as in the shared corpus. Every field a person
would check is compared: kind, number of persons, names, own addresses, organisations,
the address a reply would go to, and whether the mail goes to staff review. Mails are
read in arrival order with the registrations so far kept as the bot keeps them, so a
cancellation is scored by whom the bot would actually cancel.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inbox_bot.core.allocate import AllocationState, Outcome, Request, apply, decide
from inbox_bot.core.classify import Context, classify
from inbox_bot.core.model import Intent, Kind, ParsedMail, Person
from inbox_bot.core.names import same_address
from inbox_bot.core.parse import parse_mail
from inbox_bot.errors import ParseError

FIELDS = ("kind", "count", "names", "emails", "organizations", "reply_to", "review")
# Kinds that never get an automatic reply: a miss here is a wrong mail to a person.
SILENT_KINDS = frozenset({"auto_reply", "bounce", "read_receipt", "bulk", "thanks", "other"})
ANSWERED_KINDS = frozenset({Kind.REGISTRATION, Kind.CANCELLATION, Kind.QUESTION})


@dataclass(frozen=True)
class Miss:
    file: str
    field: str
    expected: Any
    got: Any


@dataclass
class Score:
    total: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    misses: list[Miss] = field(default_factory=list)
    wrong_replies: list[str] = field(default_factory=list)  # automatic/thanks mail answered
    mails: int = 0

    def ratio(self, name: str) -> float:
        return self.right[name] / self.total[name] if self.total[name] else 1.0

    def add(self, file: str, name: str, expected: Any, got: Any) -> None:
        self.total[name] += 1
        if expected == got:
            self.right[name] += 1
        else:
            self.misses.append(Miss(file, name, expected, got))


@dataclass(frozen=True)
class Reading:
    """What the bot makes of one mail, in the terms of labels.json."""

    kind: str
    names: list[str]
    emails: list[str | None]
    organizations: list[str | None]
    reply_to: str | None
    review: bool


def read_mail(
    raw: bytes, ctx: Context, ledger: _Ledger | None = None, arrival: datetime | None = None
) -> Reading:
    try:
        parsed = parse_mail(raw)
    except ParseError:
        return Reading("other", [], [], [], None, True)
    intent = classify(parsed, ctx)
    persons = intent.persons
    if ledger is not None and arrival is not None:
        persons = ledger.understood(parsed, intent, arrival)
    return reading(parsed, intent, persons)


class _Ledger:
    """The registrations so far, as the bot keeps them: a cancellation that names only
    "Herr Brenner" is understood as the Lukas Brenner registered earlier."""

    def __init__(self) -> None:
        far = datetime(9999, 1, 1, tzinfo=UTC)
        self.state = AllocationState(capacity=10_000, deadline=far, event_start=far)
        self.count = 0

    def understood(
        self, parsed: ParsedMail, intent: Intent, arrival: datetime
    ) -> tuple[Person, ...]:
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
        decision = decide(self.state, request)
        self.state = apply(self.state, decision)
        if intent.kind is not Kind.CANCELLATION or decision.outcome is not Outcome.CANCELLED:
            return intent.persons
        # Names as the bot resolved them; addresses only as far as this mail states them.
        stated = {p.email.lower() for p in intent.persons if p.email}
        return tuple(
            Person(
                name=p.attendee.name,
                email=p.attendee.email if (p.attendee.email or "").lower() in stated else None,
                organization=p.attendee.organization,
            )
            for p in decision.placements
        )


def reading(
    parsed: ParsedMail, intent: Intent, persons: tuple[Person, ...] | None = None
) -> Reading:
    sender = parsed.sender.email if parsed.sender else None
    persons = intent.persons if persons is None else persons
    review = (
        bool(intent.review_reasons)
        or intent.has_question
        or intent.kind
        in (
            Kind.THANKS,
            Kind.OTHER,
            Kind.BOUNCE,
        )
    )
    answered = intent.kind in ANSWERED_KINDS and not intent.review_reasons
    reply = parsed.reply_address.email if answered and parsed.reply_address else None
    return Reading(
        kind=str(intent.kind),
        names=[p.name for p in persons],
        # labels give an address only where it differs from the sender's own
        emails=[None if same_address(p.email, sender) else p.email for p in persons],
        organizations=[p.organization for p in persons],
        reply_to=reply,
        review=review,
    )


def score_folder(folder: Path, ctx: Context) -> Score:
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    score = Score()
    ledger = _Ledger()
    for label in labels:
        raw = (folder / label["file"]).read_bytes()
        arrival = datetime.fromisoformat(label["arrival"])
        compare(score, label, read_mail(raw, ctx, ledger, arrival))
    return score


def compare(score: Score, label: dict[str, Any], got: Reading) -> None:
    file = label["file"]
    score.mails += 1
    kind = "registration" if label["kind"] == "late_registration" else label["kind"]
    score.add(file, "kind", kind, got.kind)
    people = label["registers"]
    if people or got.names:
        score.add(file, "count", len(people), len(got.names))
        score.add(file, "names", [p["name"] for p in people], got.names)
        score.add(
            file, "emails", [_lower(p["email"]) for p in people], [_lower(e) for e in got.emails]
        )
        score.add(file, "organizations", [p["organization"] for p in people], got.organizations)
    score.add(file, "reply_to", _lower(label["reply_to"]), _lower(got.reply_to))
    expected_review = bool(label["has_question"]) or kind in ("thanks", "other", "bounce")
    score.add(file, "review", expected_review, got.review)
    if label["kind"] in SILENT_KINDS and got.reply_to is not None:
        score.wrong_replies.append(file)


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def report(score: Score, title: str) -> str:
    lines = [f"{title}: {score.mails} mails", ""]
    for name in FIELDS:
        lines.append(
            f"  {name:<14} {score.right[name]:>4} / {score.total[name]:<4} {score.ratio(name):7.1%}"
        )
    lines.append(f"  {'auto-answered':<14} {len(score.wrong_replies):>4} (must be 0)")
    if score.misses or score.wrong_replies:
        lines += ["", "Misses:"]
        lines += [f"  {f}: answered, but must not be" for f in score.wrong_replies]
        lines += [
            f"  {m.file} [{m.field}] expected {m.expected!r}, got {m.got!r}" for m in score.misses
        ]
    return "\n".join(lines)


def summary(scores: Iterable[Score]) -> Score:
    total = Score()
    for s in scores:
        total.mails += s.mails
        for name in FIELDS:
            total.total[name] += s.total[name]
            total.right[name] += s.right[name]
        total.misses += s.misses
        total.wrong_replies += s.wrong_replies
    return total
