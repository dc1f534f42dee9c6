"""The allocation log's records: one frozen type per kind of entry (pure).

    MailRecord     a mail and what was decided about it (or why nothing was)
    StaffRecord    an action staff took: admitted, cancelled, resolved, resent, a note
    PrivacyRecord  a deletion: one person forgotten, or everything purged

Every person in a record carries her stable attendee id ("sha256:…#0": the mail's key
and her place in it), so the report, `replay` and the exports follow a person by id,
never by name. `to_json` writes the shape of the JSON lines staff read (unchanged
since the first version, ids added); `from_json` reads every shape ever written,
records without ids included (json.py); `redact` and `anonymous` serve deletion
requests (privacy.py). A record is bounded whatever the mail says: its reason
and its lists of persons are cut, with a note how much.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from inbox_bot.core.allocate import Decision, Placement, Request

MAX_REASON_CHARS = 4000
MAX_PERSONS = 50
REDACTED = "(gelöscht)"


@dataclass(frozen=True, kw_only=True)
class PersonEntry:
    """One person as a record saw her."""

    name: str
    attendee_id: str | None = None  # None only in records written before ids
    email: str | None = None
    organization: str | None = None
    status: str | None = None  # what the decision made of her; None: staff name lists
    seat: int | None = None
    waitlist_position: int | None = None
    duplicate: bool = False


@dataclass(frozen=True, kw_only=True)
class MailRecord:
    time: datetime  # when the bot decided
    uid: int
    uidvalidity: int
    message_id: str | None
    received_at: datetime  # INTERNALDATE: what decides the order
    sender: str | None
    reply_to: str | None
    kind: str
    decision: str
    seat: int | None = None
    waitlist_position: int | None = None
    persons: tuple[PersonEntry, ...] = ()
    promoted: tuple[PersonEntry, ...] = ()
    persons_not_listed: int = 0
    promoted_not_listed: int = 0
    authorized_by: tuple[str, ...] = ()  # registrants whose persons a reply token covered
    reply_message_ids: tuple[str, ...] = ()
    needs_review: bool = False
    reason: str = ""
    # Why the bot read the mail so: the rule and the sentence ("registration: «Hiermit
    # melde ich mich an.»"), or the signal of an automatic mail.
    evidence: str = ""
    # The event of the series the decision is in ("": an [event] config, or mail in no
    # event). A mail for two events leaves one record per event.
    event: str = ""
    # What our border server said of the From address: pass, fail or unknown ("": not
    # configured, records from before).
    authenticity: str = ""


@dataclass(frozen=True, kw_only=True)
class StaffRecord:
    time: datetime
    action: str  # staff_admitted, staff_cancelled, staff_resolved, staff_resent, staff_note
    by: str
    reason: str
    persons: tuple[PersonEntry, ...] = ()
    promoted: tuple[PersonEntry, ...] = ()
    reply_message_ids: tuple[str, ...] = ()
    message_id: str | None = None  # the mail the action is about
    reply_message_id: str | None = None  # resent: the reply
    about: str | None = None  # a note: whom or what it is about
    event: str = ""  # the event of the series the action is in


@dataclass(frozen=True, kw_only=True)
class PrivacyRecord:
    time: datetime
    action: str  # forgotten, purged
    reason: str


AuditRecord = MailRecord | StaffRecord | PrivacyRecord

from inbox_bot.core.audit.json import from_json, to_json  # noqa: E402 - the record types first
from inbox_bot.core.audit.privacy import anonymous, redact  # noqa: E402

__all__ = [
    "MAX_PERSONS",
    "MAX_REASON_CHARS",
    "REDACTED",
    "AuditRecord",
    "MailRecord",
    "PersonEntry",
    "PrivacyRecord",
    "StaffRecord",
    "anonymous",
    "capped",
    "entry",
    "from_json",
    "mail_record",
    "redact",
    "to_json",
    "undecided_record",
]


# --------------------------------------------------------------------------- building


def mail_record(
    *,
    now: datetime,
    request: Request,
    decision: Decision,
    uidvalidity: int,
    message_id: str | None,
    reply_ids: Sequence[str],
    extra_reasons: Sequence[str] = (),
    event: str = "",
) -> MailRecord:
    """The record of a decided mail."""
    first = decision.placements[0] if decision.placements else None
    return MailRecord(
        time=now,
        uid=request.uid,
        uidvalidity=uidvalidity,
        message_id=message_id,
        received_at=request.arrival,
        sender=request.sender,
        reply_to=request.contact,
        kind=str(request.intent.kind),
        decision=str(decision.outcome),
        seat=first.attendee.seat if first else None,
        waitlist_position=first.waitlist_position if first else None,
        persons=tuple(entry(p) for p in decision.placements[:MAX_PERSONS]),
        promoted=tuple(entry(p) for p in decision.promotions[:MAX_PERSONS]),
        persons_not_listed=max(0, len(decision.placements) - MAX_PERSONS),
        promoted_not_listed=max(0, len(decision.promotions) - MAX_PERSONS),
        authorized_by=tuple(
            sorted(
                {
                    p.attendee.registrant
                    for p in decision.placements
                    if p.attendee.id in request.authorized
                }
            )
        ),
        reply_message_ids=tuple(reply_ids),
        needs_review=decision.needs_review or bool(extra_reasons),
        reason=capped(" ".join([*decision.reasons, *extra_reasons])),
        evidence=request.intent.evidence[:300],
        event=event,
        authenticity=request.authenticity,
    )


def undecided_record(
    *,
    now: datetime,
    uid: int,
    uidvalidity: int,
    message_id: str | None,
    arrival: datetime,
    kind: str,
    decision: str,
    needs_review: bool,
    reason: str,
) -> MailRecord:
    """The record of a mail that reached no allocation (unreadable, too large, a copy)."""
    return MailRecord(
        time=now,
        uid=uid,
        uidvalidity=uidvalidity,
        message_id=message_id,
        received_at=arrival,
        sender=None,
        reply_to=None,
        kind=kind,
        decision=decision,
        needs_review=needs_review,
        reason=capped(reason),
    )


def entry(placement: Placement) -> PersonEntry:
    a = placement.attendee
    return PersonEntry(
        name=a.name,
        attendee_id=a.id,
        email=a.email,
        organization=a.organization,
        status=str(a.status),
        seat=a.seat,
        waitlist_position=placement.waitlist_position,
        duplicate=placement.duplicate,
    )


def capped(reason: str) -> str:
    """A reason of at most MAX_REASON_CHARS characters, saying how much was cut."""
    if len(reason) <= MAX_REASON_CHARS:
        return reason
    cut = len(reason) - MAX_REASON_CHARS
    return f"{reason[:MAX_REASON_CHARS]}… [{cut} Zeichen gekürzt]"
