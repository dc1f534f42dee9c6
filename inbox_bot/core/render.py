"""Decision -> reply mails, rendered from Jinja2 templates (pure but for reading templates).

Nothing from an inbound header reaches an outbound header unchecked: the subject is
reduced to one clean line, the recipient must be a plain addr-spec, and every other
header is ours (the machine's Python lacks the fixes for CVE-2024-6923/CVE-2023-27043).

Acceptances (with a seat) and promotions also carry the event as `einladung.ics`
(inbox_bot/ics.py); reminders and the waitlist's closing note are rendered here too.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header, make_header
from email.headerregistry import Address as MailAddress
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import format_date, format_time
from babel.dates import format_datetime as babel_datetime

from inbox_bot.config import EventSettings, Settings
from inbox_bot.core import ics
from inbox_bot.core.allocate import Decision, Notify, Placement, Request
from inbox_bot.core.model import Attendee, OutgoingRow, ReplyKind, Status
from inbox_bot.core.parse import one_line
from inbox_bot.errors import TemplateError

log = logging.getLogger(__name__)

_ADDR_SPEC = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
LANGUAGES = ("de", "en")


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
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
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

    def template_sources(self) -> list[str]:
        """The text of every reply template in use (staff copies and defaults)."""
        loader = self.env.loader
        assert loader is not None
        sources = []
        for name in loader.list_templates():
            if name.endswith(".txt"):
                source, _, _ = loader.get_source(self.env, name)
                sources.append(source)
        return sources

    def body(self, kind: ReplyKind, language: str, context: Mapping[str, Any]) -> str:
        language = language if language in LANGUAGES else "de"
        try:
            return self.env.get_template(f"{language}/{kind}.txt").render(**context)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template {language}/{kind}.txt: {exc}") from exc

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
            text = self.body(decision.reply, language, context)
            confirmed = [p for p in decision.placements if p.attendee.status is Status.CONFIRMED]
            calendar = None
            if decision.reply is ReplyKind.ACCEPTANCE and confirmed:
                calendar = self.calendar(request.contact, confirmed, language, now)
            rows.append(
                self.compose(
                    kind=decision.reply,
                    recipient=request.contact,
                    subject=reply_subject(original.subject, language),
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
        language = first.language if first.language in LANGUAGES else "de"
        context = self.context(notify.placements, language, arrival=first.arrival)
        context["by"] = notify.by
        title = one_line(self.settings.event.title)
        if notify.kind is ReplyKind.REGISTERED_NOTICE:
            subject = (
                f"Sie wurden angemeldet: {title}"
                if language == "de"
                else f"You have been registered: {title}"
            )
        else:
            subject = f"Abmeldung: {title}" if language == "de" else f"Cancellation: {title}"
        return self.compose(
            kind=notify.kind,
            recipient=notify.recipient,
            subject=subject,
            text=self.body(notify.kind, language, context),
            now=now,
            original=None,
            attendee_ids=tuple(p.attendee.id for p in notify.placements),
        )

    def promotion(self, placement: Placement, now: datetime) -> OutgoingRow:
        attendee = placement.attendee
        language = attendee.language
        context = self.context((placement,), language, arrival=attendee.arrival)
        title = one_line(self.settings.event.title)
        subject = (
            f"Sie haben einen Platz: {title}" if language == "de" else f"You have a seat: {title}"
        )
        return self.compose(
            kind=ReplyKind.PROMOTION,
            recipient=attendee.reply_address,
            subject=subject,
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
        seats = [
            ics.Seat(name=p.attendee.name or "(ohne Namen)", seat=p.attendee.seat)
            for p in placements
        ]
        try:
            return ics.invitation(
                self.settings, recipient=recipient, seats=seats, language=language, now=now
            )
        except Exception:  # the calendar file is a courtesy; it never holds back the reply
            log.exception("calendar file for a reply could not be built; sent without it")
            return None

    # --- mail the bot sends by itself (inbox_bot/notices.py) ---

    def notice(self, kind: ReplyKind, attendees: Sequence[Attendee], now: datetime) -> OutgoingRow:
        """A reminder or a waitlist-closed note to one address, for one or more persons."""
        if not attendees:
            raise ValueError("a notice needs at least one attendee")
        first = attendees[0]
        language = first.language if first.language in LANGUAGES else "de"
        placements = tuple(Placement(attendee=a) for a in attendees)
        context = self.context(placements, language, arrival=first.arrival)
        context["seat_rules"] = False  # how seats are given no longer matters here
        facts = context["event"]
        title = one_line(self.settings.event.title)
        if kind is ReplyKind.REMINDER:
            subject = (
                f"Erinnerung: {title}, {facts['date']}"
                if language == "de"
                else f"Reminder: {title}, {facts['date']}"
            )
        else:
            subject = (
                f"Warteliste geschlossen: {title}"
                if language == "de"
                else f"Waiting list closed: {title}"
            )
        return self.compose(
            kind=kind,
            recipient=first.reply_address,
            subject=subject,
            text=self.body(kind, language, context),
            now=now,
            original=None,
            attendee_ids=tuple(a.id for a in attendees),
        )

    def context(
        self, placements: tuple[Placement, ...], language: str, *, arrival: datetime
    ) -> dict[str, Any]:
        event = self.settings.event
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
            # The footer's paragraph on how seats are given (not in reminders).
            "seat_rules": True,
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
        calendar: bytes | None = None,
        attendee_ids: tuple[str, ...] = (),
    ) -> OutgoingRow:
        # "=?" would let the email package show an encoded word in To: instead of the
        # address the mail is delivered to.
        if not _ADDR_SPEC.match(recipient) or "=?" in recipient:
            raise TemplateError(f"reply address is not a plain mail address: {recipient[:80]!r}")
        smtp = self.settings.smtp
        message_id = f"<reply-{uuid.uuid4().hex}@{smtp.id_domain}>"
        mail = EmailMessage(policy=SMTP)
        mail["From"] = MailAddress(
            display_name=one_line(smtp.from_name), addr_spec=smtp.from_address
        )
        mail["To"] = recipient
        mail["Subject"] = header_safe(subject)
        mail["Date"] = format_datetime(now)
        mail["Message-ID"] = message_id
        if original and original.message_id:
            mail["In-Reply-To"] = original.message_id
            mail["References"] = " ".join((*original.references[-10:], original.message_id))
        # RFC 3834: a reply to a mail is auto-replied; a later promotion answers no mail.
        mail["Auto-Submitted"] = "auto-generated" if original is None else "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
        mail["X-Inbox-Bot-Loop"] = smtp.id_domain
        mail.set_content(text, charset="utf-8", cte="quoted-printable")
        if calendar is not None:
            # multipart/mixed: the text, then the .ics (text/calendar; method=PUBLISH).
            mail.add_attachment(
                calendar.decode("utf-8"),
                subtype="calendar",
                charset="utf-8",
                cte="base64",  # keeps the CRLF line ends and folding of the .ics exact
                filename=ics.FILENAME,
                params={"method": "PUBLISH"},
            )
            for part in mail.iter_attachments():
                del part["MIME-Version"]  # belongs to the top level only
        data = mail.as_bytes()
        _check_headers(data, expected=set(mail.keys()), recipient=recipient)
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


def reply_subject(original: str, language: str) -> str:
    clean = header_safe(original, limit=200)
    clean = re.sub(r"^(?:\s*(?:re|aw|antw|wg|fw|fwd)\s*:\s*)+", "", clean, flags=re.I)
    if not clean:
        clean = "Ihre Anmeldung" if language == "de" else "Your registration"
    return f"Re: {clean}"


def _check_headers(data: bytes, expected: set[str], recipient: str) -> None:
    """Belt and braces: the serialised mail carries exactly the headers we set, and its
    To: shows exactly the address the mail is delivered to."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
    lines = re.split(r"\r\n|\n|\r", head)
    names = {line.split(":", 1)[0] for line in lines if line[:1] not in (" ", "\t")}
    if names != expected or "\n" in head.replace("\r\n", ""):
        raise TemplateError("reply headers would not be the ones we set; not sent")
    if f"To: {recipient}" not in lines:
        raise TemplateError("the To: header would not show the delivery address; not sent")


def event_facts(event: EventSettings, language: str) -> dict[str, str]:
    start, end = event.local(event.starts_at), event.local(event.ends_at)
    locale = "de" if language == "de" else "en"
    return {
        "title": event.title,
        "organizer": event.organizer,
        "date": _long_date(start, locale),
        "time": f"{_clock(start, locale)}–{_clock(end, locale)}"
        + (" Uhr" if locale == "de" else ""),
        "venue": event.venue,
        "deadline": _long_date(event.local(event.registration_deadline), locale),
    }


def _clock(moment: datetime, locale: str) -> str:
    return format_time(moment, "HH:mm", locale=locale)


def _long_date(moment: datetime, locale: str) -> str:
    # One style per language: "Mittwoch, 5. Dezember 2018" / "Wednesday, 5 December 2018".
    pattern = "EEEE, d. MMMM y" if locale == "de" else "EEEE, d MMMM y"
    return format_date(moment, pattern, locale=locale)


def local_time(moment: datetime, event: EventSettings, language: str) -> str:
    pattern = "d. MMMM y 'um' HH:mm:ss 'Uhr'" if language == "de" else "d MMMM y 'at' HH:mm:ss"
    return babel_datetime(event.local(moment), pattern, locale="de" if language == "de" else "en")
