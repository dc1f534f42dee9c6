"""Decision -> reply mails, rendered from Jinja2 templates (pure but for reading templates).

Nothing from an inbound header reaches an outbound header unchecked: the subject is
reduced to one clean line, the recipient must be a plain addr-spec, and every other
header is ours (the machine's Python lacks the fixes for CVE-2024-6923/CVE-2023-27043).

Every word a recipient reads comes from the templates of her language: the texts
(`de/acceptance.txt`, ...), the subject lines (`de/_subjects.txt`, one Jinja macro per
kind of mail) and the calendar texts (`de/_calendar.txt`). A staff folder overrides
any of these files; a file it lacks comes from the shipped templates.

Acceptances (with a seat) and promotions also carry the event as `einladung.ics`
(inbox_bot/core/ics.py); reminders and the waitlist's closing note are rendered here too.
"""

from __future__ import annotations

import copy
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header, make_header
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import jinja2
from jinja2.runtime import Macro

from inbox_bot.config import EventSettings, Settings
from inbox_bot.core import ics, mime
from inbox_bot.core.allocate import Decision, Notify, Placement, Request
from inbox_bot.core.dates import event_facts, local_time
from inbox_bot.core.model import Attendee, OutgoingRow, ReplyKind, Status
from inbox_bot.core.parse import one_line
from inbox_bot.errors import TemplateError, UnsafeReply

log = logging.getLogger(__name__)

_ADDR_SPEC = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
LANGUAGES = ("de", "en")
# Per language: macros that give words, not text templates of mails of their own.
SUBJECTS = "_subjects.txt"
CALENDAR = "_calendar.txt"
_WORDING = frozenset({SUBJECTS, CALENDAR})


def default_template_folder() -> Path:
    """Inside the installed package; in a source checkout, the top-level templates/."""
    package = Path(__file__).resolve().parents[1]
    packaged = package / "templates"
    return packaged if packaged.is_dir() else package.parent / "templates"


@dataclass(frozen=True, kw_only=True)
class Original:
    """What a reply refers to."""

    message_id: str | None
    subject: str
    references: tuple[str, ...] = ()


class Renderer:
    """Renders the mails of one event (`for_event` gives the renderer of another)."""

    def __init__(self, settings: Settings, event: EventSettings | None = None) -> None:
        self.settings = settings
        self.event = event or settings.events[0]
        # A reply about the whole series (a question naming no event) lists them all.
        self.whole_series: tuple[EventSettings, ...] = ()
        folders = [default_template_folder()]
        if settings.templates.folder:
            folders.insert(0, settings.templates.folder)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(f) for f in folders]),
            undefined=jinja2.StrictUndefined,
            # Replies are text/plain: escaping would put "&amp;" into names.
            autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def for_event(self, event: EventSettings) -> Renderer:
        """The same templates, for another event of the series."""
        other = copy.copy(self)
        other.event, other.whole_series = event, ()
        return other

    def for_series(self) -> Renderer:
        """The same templates, for a reply about no one event of the series."""
        other = copy.copy(self)
        other.whole_series = self.settings.events if self.settings.series else ()
        return other

    def template_sources(self) -> list[str]:
        """The text of every mail text template in use (staff copies and defaults): what
        a quoted reply may bring back to us. Subject lines and calendar texts are not."""
        loader = self.env.loader
        assert loader is not None
        sources = []
        for name in loader.list_templates():
            if name.endswith(".txt") and name.rpartition("/")[2] not in _WORDING:
                source, _, _ = loader.get_source(self.env, name)
                sources.append(source)
        return sources

    def body(self, kind: ReplyKind, language: str, context: Mapping[str, Any]) -> str:
        name = f"{template_language(language)}/{kind}.txt"
        try:
            return self.env.get_template(name).render(**context)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template {name}: {exc}") from exc

    def subject(self, kind: str, language: str) -> str:
        """The subject of a mail of `kind`: its macro in `_subjects.txt`. compose() makes
        it one clean line (header_safe), whatever a staff copy of the macro gives."""
        event = event_facts(self.event, template_language(language))
        event["title"] = one_line(event["title"])
        return self.wording(SUBJECTS, kind, language, event=event)

    def wording(self, filename: str, macro: str, language: str, **values: Any) -> str:
        """What `macro` of the language's template `filename` gives for `values`."""
        name = f"{template_language(language)}/{filename}"
        try:
            found = getattr(self.env.get_template(name).module, macro, None)
            if not isinstance(found, Macro):
                raise TemplateError(f"template {name}: no macro '{macro}'")
            return str(found(**values))
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template {name}, macro '{macro}': {exc}") from exc
        except TypeError as exc:  # the macro's parameters are not the ones we pass
            raise TemplateError(f"template {name}, macro '{macro}': {exc}") from exc

    # --- the replies a decision causes ---

    def replies(
        self, decision: Decision, request: Request, original: Original, now: datetime
    ) -> list[OutgoingRow]:
        rows: list[OutgoingRow] = []
        language = request.intent.language
        if decision.reply is not None:
            context = self.context(decision.placements, language, arrival=request.arrival)
            context["has_question"] = request.intent.has_question
            context["promoted"] = len(decision.promotions)
            context["staying"] = self.context(decision.staying, language, arrival=request.arrival)[
                "persons"
            ]
            context["self_cancelled"] = decision.self_cancelled
            text = self.body(decision.reply, language, context)
            confirmed = [p for p in decision.placements if p.attendee.status is Status.CONFIRMED]
            calendar = None
            if decision.reply is ReplyKind.ACCEPTANCE and confirmed:
                calendar = self.calendar(request.contact, confirmed, language, now)
            rows.append(
                self.compose(
                    kind=decision.reply,
                    recipient=request.contact,
                    subject=reply_subject(original.subject, self.subject("no_subject", language)),
                    text=text,
                    now=now,
                    original=original,
                    calendar=calendar,
                    attendee_ids=tuple(p.attendee.id for p in decision.placements),
                )
            )
        for promoted in decision.promotions:
            rows.append(self.promotion(promoted, now))
        for notify in decision.notices:
            rows.append(self.notify(notify, now))
        return rows

    def notify(self, notify: Notify, now: datetime) -> OutgoingRow:
        """To a person (or her registrant) about what someone else did for her."""
        first = notify.placements[0].attendee
        language = template_language(first.language)
        context = self.context(notify.placements, language, arrival=first.arrival)
        context["by"] = notify.by
        return self.compose(
            kind=notify.kind,
            recipient=notify.recipient,
            subject=self.subject(notify.kind, language),
            text=self.body(notify.kind, language, context),
            now=now,
            original=None,
            attendee_ids=tuple(p.attendee.id for p in notify.placements),
        )

    def promotion(self, placement: Placement, now: datetime) -> OutgoingRow:
        attendee = placement.attendee
        language = template_language(attendee.language)
        context = self.context((placement,), language, arrival=attendee.arrival)
        return self.compose(
            kind=ReplyKind.PROMOTION,
            recipient=attendee.reply_address,
            subject=self.subject(ReplyKind.PROMOTION, language),
            text=self.body(ReplyKind.PROMOTION, language, context),
            now=now,
            original=None,
            calendar=self.calendar(attendee.reply_address, (placement,), language, now),
            attendee_ids=(attendee.id,),
        )

    def calendar(
        self, recipient: str, placements: Sequence[Placement], language: str, now: datetime
    ) -> bytes | None:
        """The .ics for an acceptance or promotion: the event with the recipient's seats."""
        try:
            summary, description = self.calendar_texts(placements, language)
            return ics.invitation(
                self.settings,
                self.event,
                recipient=recipient,
                summary=summary,
                description=description,
                now=now,
            )
        except Exception:  # the calendar file is a courtesy; it never holds back the reply
            log.exception("calendar file for a reply could not be built; sent without it")
            return None

    def calendar_texts(self, placements: Sequence[Placement], language: str) -> tuple[str, str]:
        """Summary and description of the calendar entry, from `_calendar.txt`."""
        event = self.event
        facts = event_facts(event, template_language(language))
        seats = [
            {"name": one_line(p.attendee.name or "(ohne Namen)", limit=120), "seat": seat}
            for p in placements
            if (seat := p.attendee.seat)
        ]
        description = self.wording(
            CALENDAR,
            "description",
            language,
            event=facts,
            seats=seats,
            capacity=event.capacity,
            our_address=self.settings.smtp.from_address,
        )
        return self.wording(CALENDAR, "summary", language, event=facts), description.strip()

    # --- mail the bot sends by itself (inbox_bot/notices.py) ---

    def notice(self, kind: ReplyKind, attendees: Sequence[Attendee], now: datetime) -> OutgoingRow:
        """A reminder or a waitlist-closed note to one address, for one or more persons."""
        if not attendees:
            raise ValueError("a notice needs at least one attendee")
        first = attendees[0]
        language = template_language(first.language)
        placements = tuple(Placement(attendee=a) for a in attendees)
        context = self.context(placements, language, arrival=first.arrival)
        context["seat_rules"] = False  # how seats are given no longer matters here
        return self.compose(
            kind=kind,
            recipient=first.reply_address,
            subject=self.subject(kind, language),
            text=self.body(kind, language, context),
            now=now,
            original=None,
            attendee_ids=tuple(a.id for a in attendees),
        )

    def context(
        self, placements: tuple[Placement, ...], language: str, *, arrival: datetime
    ) -> dict[str, Any]:
        event = self.event
        return {
            "event": event_facts(event, language),
            "arrival": local_time(arrival, event, language),
            "capacity": event.capacity,
            "our_address": self.settings.smtp.from_address,
            "sender_name": self.settings.smtp.from_name or event.organizer,
            "has_question": False,
            "promoted": 0,
            # who registered or cancelled for the recipient (notices only)
            "by": "",
            # a cancellation: who stays registered, and whether the sender herself withdrew
            "staying": [],
            "self_cancelled": True,
            # The footer's paragraph on how seats are given (not in reminders).
            "seat_rules": True,
            # In a series: the events a reply is about when it is not one (series.txt,
            # or a question that names none), and the parts of a reply event by event.
            "series_events": [event_facts(e, language) for e in self.whole_series],
            "parts": [],
            "any_confirmed": False,
            "any_waitlisted": False,
            "privacy_notice": self.settings.privacy.text(language),
            "persons": [
                {
                    "name": p.attendee.name or "(ohne Namen)",
                    "organization": p.attendee.organization,
                    "email": p.attendee.email,
                    "status": str(p.attendee.status),
                    "seat": p.attendee.seat,
                    "waitlist_position": p.waitlist_position,
                    "duplicate": p.duplicate,
                }
                for p in placements
            ],
        }

    def compose(
        self,
        *,
        kind: ReplyKind,
        recipient: str,
        subject: str,
        text: str,
        now: datetime,
        original: Original | None,
        calendar: bytes | Sequence[tuple[str, bytes]] | None = None,
        attendee_ids: tuple[str, ...] = (),
    ) -> OutgoingRow:
        # "=?" would let the email package show an encoded word in To: instead of the
        # address the mail is delivered to.
        if not _ADDR_SPEC.match(recipient) or "=?" in recipient:
            raise UnsafeReply(f"reply address is not a plain mail address: {recipient[:80]!r}")
        smtp = self.settings.smtp
        message_id = f"<reply-{uuid.uuid4().hex}@{smtp.id_domain}>"
        headers = [
            ("To", recipient),
            ("Subject", header_safe(subject)),
            ("Date", format_datetime(now)),
            ("Message-ID", message_id),
        ]
        if original and original.message_id:
            headers.append(("In-Reply-To", original.message_id))
            references = " ".join((*original.references[-10:], original.message_id))
            headers.append(("References", references))
        # RFC 3834: a reply to a mail is auto-replied; a later promotion answers no mail.
        headers.append(("Auto-Submitted", "auto-generated" if original is None else "auto-replied"))
        headers.append(("X-Auto-Response-Suppress", "All"))
        headers.append(("X-Inbox-Bot-Loop", smtp.id_domain))
        files = [(ics.FILENAME, calendar)] if isinstance(calendar, bytes) else list(calendar or [])
        data, names = mime.build(
            sender=(one_line(smtp.from_name), smtp.from_address),
            headers=headers,
            text=text,
            calendars=files,
        )
        _check_headers(data, expected=names, recipient=recipient)
        return OutgoingRow(
            kind=str(kind),
            message_id=message_id,
            recipient=recipient,
            data=data,
            attendee_ids=attendee_ids,
        )


def header_safe(text: str, limit: int = 250) -> str:
    """One line of plain text that the email package cannot turn into header syntax.

    The email package decodes RFC 2047 encoded words in header values it is given, so
    an encoded newline would become a real one: decode until nothing changes, strip
    control characters, and break any encoded-word opener that is left.
    """
    for _ in range(5):
        try:
            decoded = str(make_header(decode_header(text)))
        except Exception:  # malformed encoded words: keep the text as it is
            break
        if decoded == text:
            break
        text = decoded
    return one_line(text, limit=limit).replace("=?", "= ?")


def template_language(language: str) -> str:
    """The template folder for a language: its own, else German."""
    return language if language in LANGUAGES else "de"


def reply_subject(original: str, fallback: str) -> str:
    """ "Re: " and the original subject without its Re:/AW:/Fwd: prefixes, or `fallback`
    (the language's `no_subject`) when nothing is left of it."""
    clean = header_safe(original, limit=200)
    clean = re.sub(r"^(?:\s*(?:re|aw|antw|wg|fw|fwd)\s*:\s*)+", "", clean, flags=re.I)
    return f"Re: {clean or fallback}"


def _check_headers(data: bytes, expected: set[str], recipient: str) -> None:
    """Belt and braces: the serialised mail carries exactly the headers we set, and its
    To: shows exactly the address the mail is delivered to."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
    lines = re.split(r"\r\n|\n|\r", head)
    names = {line.split(":", 1)[0] for line in lines if line[:1] not in (" ", "\t")}
    if names != expected or "\n" in head.replace("\r\n", ""):
        raise UnsafeReply("reply headers would not be the ones we set; not sent")
    if f"To: {recipient}" not in lines:
        raise UnsafeReply("the To: header would not show the delivery address; not sent")
