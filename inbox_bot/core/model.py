"""Frozen data shared by every stage of the pipeline.

fetch -> FetchedMail -> parse -> ParsedMail -> classify -> Intent
      -> allocate.decide(AllocationState, Request) -> Decision
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    """What a mail is, as staff would sort it."""

    REGISTRATION = "registration"
    CANCELLATION = "cancellation"
    QUESTION = "question"
    THANKS = "thanks"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    READ_RECEIPT = "read_receipt"
    BULK = "bulk"
    OTHER = "other"

    @property
    def automatic(self) -> bool:
        """RFC 3834: mail sent by a machine is never answered."""
        return self in _AUTOMATIC


_AUTOMATIC = frozenset({Kind.AUTO_REPLY, Kind.BOUNCE, Kind.READ_RECEIPT, Kind.BULK})


class Status(StrEnum):
    """Where a person stands."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    LATE = "late"


class ReplyKind(StrEnum):
    """One template each."""

    ACCEPTANCE = "acceptance"
    WAITLIST = "waitlist"
    LATE = "late"
    DUPLICATE = "duplicate"
    CANCELLATION = "cancellation"
    PROMOTION = "promotion"
    QUESTION = "question"
    # Sent by the bot itself, not in answer to a mail (inbox_bot/notices.py).
    REMINDER = "reminder"
    WAITLIST_CLOSED = "waitlist_closed"
    # To a person with her own address, when someone else registered or cancelled her.
    REGISTERED_NOTICE = "registered_notice"
    CANCELLED_NOTICE = "cancelled_notice"
    # One reply to a mail decided in several events of a series, event by event.
    SERIES = "series"


@dataclass(frozen=True, kw_only=True)
class MailMeta:
    """What the server says about a message before we download it."""

    uid: int
    internaldate: datetime  # timezone-aware
    size: int
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class FetchedMail:
    """One message as the server holds it. `arrival` is INTERNALDATE, in UTC."""

    folder: str
    uidvalidity: int
    uid: int
    arrival: datetime
    size: int
    raw: bytes
    flags: frozenset[str] = frozenset()

    @property
    def order(self) -> tuple[datetime, int]:
        """Arrival order: the server's INTERNALDATE, then UID. Never the Date: header."""
        return (self.arrival, self.uid)


@dataclass(frozen=True, kw_only=True)
class Address:
    name: str
    email: str  # addr-spec, domain lowercased


@dataclass(frozen=True, kw_only=True)
class ParsedMail:
    """The facts of a mail the later stages need; built only by parse.py."""

    message_id: str | None
    sender: Address | None  # From
    reply_to: Address | None
    subject: str
    text: str  # the new text: plain, or converted from HTML, quotes removed
    full_text: str  # the whole text body, quotes included
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    # Header name (lowercase) -> all its values, for the automatic-mail checks.
    headers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    content_type: str = "text/plain"
    report_type: str | None = None
    attachment_types: tuple[str, ...] = ()
    defects: tuple[str, ...] = ()
    spoofed_display_name: bool = False

    @property
    def reply_address(self) -> Address | None:
        """Replies go to Reply-To when present, else to From."""
        return self.reply_to or self.sender

    def header(self, name: str) -> tuple[str, ...]:
        return self.headers.get(name.lower(), ())


@dataclass(frozen=True, kw_only=True)
class Person:
    """Someone a mail registers or cancels."""

    name: str
    email: str | None = None
    organization: str | None = None
    # In a series: the events the mail names for this person (empty: the mail's).
    events: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Intent:
    """What the sender wants, as classify.py understood it."""

    kind: Kind
    persons: tuple[Person, ...] = ()
    has_question: bool = False
    language: str = "de"
    # Why the bot is unsure; non-empty sends the mail to staff review.
    review_reasons: tuple[str, ...] = ()
    # For automatic mail: which signal gave it away.
    evidence: str = ""
    # In a series: the keys of the events the mail names (core/classify/naming.py), and
    # of those that our own mail quoted below a reply names (when it answers us).
    events: tuple[str, ...] = ()
    quoted_events: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Attendee:
    """A person holding (or having held) a place. `id` is stable: message key + index."""

    id: str
    name: str
    email: str | None
    organization: str | None
    contact: str  # the address that registered this person; replies go here
    status: Status
    seat: int | None
    arrival: datetime
    uid: int
    index: int  # position within its mail
    message_key: str
    language: str = "de"
    # The From address of the registering mail (not its Reply-To): who may cancel.
    registered_by: str = ""
    # The event of the series this place is in ("" in an [event] config).
    event: str = ""

    @property
    def queue_order(self) -> tuple[datetime, int, int]:
        return (self.arrival, self.uid, self.index)

    @property
    def active(self) -> bool:
        return self.status in (Status.CONFIRMED, Status.WAITLISTED)

    @property
    def reply_address(self) -> str:
        return self.email or self.contact

    @property
    def registrant(self) -> str:
        """Who registered this person (From of the mail; older records: the contact)."""
        return self.registered_by or self.contact


@dataclass(frozen=True, kw_only=True)
class OutgoingRow:
    """A rendered reply waiting in the outbox: the exact bytes that will be sent."""

    kind: str
    message_id: str
    recipient: str
    data: bytes
    # The attendees this mail is about: a reply to it may cancel those of them that
    # the recipient is entitled to (the Message-ID is the token), nobody else.
    attendee_ids: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """A mail that could be read: its facts and what the sender wants."""

    parsed: ParsedMail
    intent: Intent


@dataclass(frozen=True, kw_only=True)
class Unreadable:
    """A mail that could not be read; staff get it with its raw bytes."""

    reason: str  # plain words for the review queue
    message_id: str | None  # read from the raw header, so staff can find and close it
