"""`inbox-bot score DIR`: how well the bot reads a labelled folder of mail, harm first.

DIR holds .eml files and a labels.json as in the shared corpus, and optionally an
event.toml with the folder's `[event]` (else the settings given). Mails are read in
arrival order and decided as the bot decides them (core/allocate.py, with the
registrations so far), so what is scored is what would happen: who gets a seat, who
gets a reply, what goes to staff.

First the harmful misses, then the accuracies per field (kind, number of persons,
names, own addresses, organisations, reply address, review), then the review load:
the share of plain registrations that went to staff although nothing was unclear.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from inbox_bot.app.ledger import Ledger, Reading
from inbox_bot.config import Settings
from inbox_bot.core.classify import Context

FIELDS = ("kind", "count", "names", "emails", "organizations", "reply_to", "review")
SILENT_KINDS = frozenset({"auto_reply", "bounce", "read_receipt", "bulk", "thanks", "other"})
REGISTERING = frozenset({"registration", "late_registration"})


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
    wrong_replies: list[str] = field(default_factory=list)  # mail that wants none answered
    wrong_seats: list[str] = field(default_factory=list)  # seats from mail registering nobody
    unanswered: list[str] = field(default_factory=list)  # registrations neither answered
    plain: int = 0  # plain registrations (no question)
    plain_in_review: list[str] = field(default_factory=list)
    mails: int = 0

    def ratio(self, name: str) -> float:
        return self.right[name] / self.total[name] if self.total[name] else 1.0

    def add(self, file: str, name: str, expected: Any, got: Any) -> None:
        self.total[name] += 1
        if expected == got:
            self.right[name] += 1
        else:
            self.misses.append(Miss(file, name, expected, got))

    @property
    def harm(self) -> int:
        return len(self.wrong_replies) + len(self.wrong_seats) + len(self.unanswered)

    @property
    def review_load(self) -> float:
        return len(self.plain_in_review) / self.plain if self.plain else 0.0


def score_folder(folder: Path, ctx: Context, settings: Settings) -> Score:
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    score = Score()
    ledger = Ledger(settings)
    for label in labels:
        raw = (folder / label["file"]).read_bytes()
        arrival = datetime.fromisoformat(label["arrival"])
        compare(score, label, ledger.read(raw, ctx, arrival))
    return score


def compare(score: Score, label: dict[str, Any], got: Reading) -> None:
    file = label["file"]
    score.mails += 1
    kind = "registration" if label["kind"] == "late_registration" else label["kind"]
    score.add(file, "kind", kind, got.kind)
    # In a series each person comes once per event ("event" in the label): compared event
    # by event, the order between events carries no meaning.
    people = sorted(label["registers"], key=lambda p: str(p.get("event") or ""))
    if people or got.names:
        names = [_at(p["name"], p.get("event")) for p in people]
        score.add(file, "count", len(people), len(got.names))
        score.add(file, "names", names, got.names)
        score.add(
            file, "emails", [_lower(p["email"]) for p in people], [_lower(e) for e in got.emails]
        )
        score.add(file, "organizations", [p["organization"] for p in people], got.organizations)
    score.add(file, "reply_to", _lower(label["reply_to"]), _lower(got.reply_to))
    expected_review = bool(label["has_question"]) or kind in ("thanks", "other", "bounce")
    score.add(file, "review", expected_review, got.review)
    _harm(score, label, got)


def _harm(score: Score, label: dict[str, Any], got: Reading) -> None:
    file, kind = label["file"], label["kind"]
    if label["reply_to"] is None and got.reply_to is not None:
        score.wrong_replies.append(file)
    if kind not in REGISTERING and got.seats:
        score.wrong_seats.append(file)
    if kind in REGISTERING and got.reply_to is None and not got.review:
        score.unanswered.append(file)
    if kind in REGISTERING and not label["has_question"]:
        score.plain += 1
        if got.review:
            score.plain_in_review.append(file)


def _at(name: str, event: str | None) -> str:
    return f"{name} @{event}" if event else name


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def report(score: Score, title: str, *, misses: bool = True) -> str:
    lines = [f"{title}: {score.mails} mails", "", "Harm (must all be 0):"]
    for label, files in (
        ("seats from mail that registers nobody", score.wrong_seats),
        ("replies to mail that wants none", score.wrong_replies),
        ("registrations neither answered nor for staff", score.unanswered),
    ):
        lines.append(f"  {label:<46} {len(files):>4}")
    for name, files in (
        ("seat taken by", score.wrong_seats),
        ("answered, but must not be", score.wrong_replies),
        ("neither answered nor for staff", score.unanswered),
    ):
        lines += [f"    {f}: {name}" for f in files]
    lines += ["", "Accuracy:"]
    for name in FIELDS:
        lines.append(
            f"  {name:<14} {score.right[name]:>4} / {score.total[name]:<4} {score.ratio(name):7.1%}"
        )
    lines += [
        "",
        f"Review load: {len(score.plain_in_review)} of {score.plain} plain registrations "
        f"went to staff ({score.review_load:.0%})",
    ]
    lines += [f"    {f}" for f in score.plain_in_review]
    if misses and score.misses:
        lines += ["", "Misses:"]
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
        total.wrong_seats += s.wrong_seats
        total.unanswered += s.unanswered
        total.plain += s.plain
        total.plain_in_review += s.plain_in_review
    return total
