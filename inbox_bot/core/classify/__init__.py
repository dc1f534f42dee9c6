"""ParsedMail -> Intent: what the sender wants and whom it concerns (pure).

Automatic mail is recognised first and never answered (RFC 3834). Then the new text
(without quoted history and signature) decides between cancellation, registration,
question and thanks. When the bot is unsure it says why, and staff decide.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import TypeVar

from inbox_bot.core.bodytext import split_history
from inbox_bot.core.classify import rules
from inbox_bot.core.classify.echo import OwnWords
from inbox_bot.core.classify.organizations import Directory
from inbox_bot.core.model import Address, Intent, Kind, ParsedMail, Person
from inbox_bot.core.names import canonical_name, clean_address, domain_of, name_tokens, same_address

T = TypeVar("T")

# The analysers read at most 64 KB of the new text and of the whole text: a registration
# is a few hundred characters, and what follows 64 KB (a pasted log, megabytes of junk)
# registers nobody. Every pattern is linear; the cap bounds what a hostile mail costs.
MAX_TEXT_CHARS = 64 * 1024
# More than persons_per_mail (10 by default) persons in one mail go to staff anyway
# (allocate.py): reading names stops after this many candidates, and the mail goes to
# staff as naming "more than MAX_CANDIDATES persons".
MAX_CANDIDATES = 200
# The blanks after a full stop, question or exclamation mark.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, kw_only=True)
class Context:
    """What the classifier knows about us."""

    own_addresses: frozenset[str]
    message_id_domain: str
    internal_domains: frozenset[str]
    directory: Directory
    # The wording of our own replies: repeated in a mail, it is never the sender's.
    own_words: OwnWords = field(default_factory=OwnWords)


@dataclass(frozen=True, kw_only=True)
class _Body:
    text: str  # what the sender wrote now, without signature
    signature: tuple[str, ...]  # lines after the closing formula
    forwarded: bool
    from_history: bool = False  # the intent was found only in the forwarded part


class _TooManyPersons(Exception):
    """The mail names more than MAX_CANDIDATES persons: staff read the list."""


def classify(mail: ParsedMail, ctx: Context) -> Intent:
    mail = replace(
        mail,
        text=ctx.own_words.strip(mail.text[:MAX_TEXT_CHARS]),
        full_text=ctx.own_words.strip(mail.full_text[:MAX_TEXT_CHARS]),
    )
    machine = automatic_kind(mail, ctx)
    language = detect_language(mail.text or mail.full_text)
    if machine is not None:
        kind, evidence = machine
        return Intent(kind=kind, evidence=evidence, language=language)
    body = _body(mail)
    if mail.sender is None:
        return _unsure(Kind.OTHER, language, "Absenderadresse fehlt oder ist ungültig.")
    if not body.text.strip():
        return _unsure(Kind.OTHER, language, "Kein lesbarer Text in der Mail.")
    try:
        return _intent(mail, body, ctx, language)
    except _TooManyPersons:
        return _unsure(
            Kind.OTHER,
            language,
            f"Die Mail nennt mehr als {MAX_CANDIDATES} Personen: bitte von Hand prüfen.",
        )


def _intent(mail: ParsedMail, body: _Body, ctx: Context, language: str) -> Intent:
    text = body.text
    sentences = _sentences(text)
    # "Ich selbst kann leider nicht teilnehmen" beside colleagues' names cancels nothing.
    wants_cancel = any(
        rules.CANCELLATION.search(s) and not rules.SELF_EXCLUSION.search(s) for s in sentences
    )
    question = has_question(text)
    # "Können auch Kammern teilnehmen?" and "bevor ich mich anmelde" register nobody.
    statements = "\n".join(
        s for s in sentences if not _is_question(s) and not rules.TENTATIVE.search(s)
    )
    replying = _replies_to_us(mail, ctx)
    wants_seat = bool(rules.REGISTRATION.search(statements)) or (
        not replying and _subject_registers(mail.subject)
    )
    internal = domain_of(mail.sender.email if mail.sender else "") in ctx.internal_domains
    if rules.VAGUE_COUNT.search(text) and rules.PARTICIPATION.search(text):
        return _unsure(Kind.OTHER, language, "Unklare Zahl von Personen ohne Namen: bitte klären.")
    if rules.SUBSTITUTE.search(text):
        return _unsure(Kind.OTHER, language, "Abmeldung mit Ersatzperson: bitte von Hand umbuchen.")
    if wants_cancel:
        reasons = []
        if question:
            reasons.append("Abmeldung mit einer Frage: bitte persönlich beantworten.")
        return Intent(
            kind=Kind.CANCELLATION,
            persons=_cancelled_persons(mail, body, ctx),
            has_question=question,
            language=language,
            review_reasons=tuple(reasons),
        )
    # Colleagues of our own administration write about the event all the time: their mail
    # is a registration only when they clearly register themselves.
    if wants_seat and not (internal and not _speaks_for_self(statements)):
        return _registration(mail, body, ctx, language, question)
    if internal:
        return _unsure(Kind.OTHER, language, "Interne Mail aus der eigenen Verwaltung.")
    if replying and not question:
        return Intent(kind=Kind.THANKS, language=language)
    if question and rules.EVENT_WORDS.search(f"{mail.subject}\n{text}"):
        return Intent(kind=Kind.QUESTION, has_question=True, language=language)
    if question:
        return _unsure(Kind.OTHER, language, "Frage ohne erkennbaren Bezug zur Veranstaltung.")
    if rules.THANKS.search(text) and rules.REPLY_SUBJECT.search(mail.subject):
        return Intent(kind=Kind.THANKS, language=language)
    return _unsure(Kind.OTHER, language, "Weder Anmeldung, Abmeldung noch Frage erkannt.")


def _unsure(kind: Kind, language: str, reason: str) -> Intent:
    return Intent(kind=kind, language=language, review_reasons=(reason,))


def _subject_registers(subject: str) -> bool:
    clean = rules.REPLY_SUBJECT.sub("", subject)
    return bool(re.search(r"\banmeldung\b|\bregistration\b", clean, re.I))


# --- automatic mail ---


def automatic_kind(mail: ParsedMail, ctx: Context) -> tuple[Kind, str] | None:
    """The kind of automatic mail and the signal that gave it away, or None for a person."""
    if mail.content_type == "multipart/report":
        if mail.report_type == "disposition-notification":
            return Kind.READ_RECEIPT, "multipart/report (disposition-notification)"
        return Kind.BOUNCE, f"multipart/report ({mail.report_type or 'unknown'})"
    if any(t in ("message/delivery-status",) for t in mail.attachment_types):
        return Kind.BOUNCE, "message/delivery-status part"
    if any(t == "message/disposition-notification" for t in mail.attachment_types):
        return Kind.READ_RECEIPT, "message/disposition-notification part"
    sender = mail.sender.email if mail.sender else ""
    local = sender.rpartition("@")[0]
    if rules.BOUNCE_SENDERS.match(local):
        return Kind.BOUNCE, f"sender {local}"
    if _null_return_path(mail):
        kind = Kind.BOUNCE if rules.SUBJECT_BOUNCE.search(mail.subject) else Kind.AUTO_REPLY
        return kind, "Return-Path <>"
    for check in (_own_mail, _header_signals, _subject_signals):
        found = check(mail, ctx)
        if found:
            return found
    if rules.MACHINE_SENDERS.match(local):
        return Kind.BULK, f"sender {local}"
    return None


def _null_return_path(mail: ParsedMail) -> bool:
    return any(v.strip() in ("<>", "") for v in mail.header("return-path"))


def _own_mail(mail: ParsedMail, ctx: Context) -> tuple[Kind, str] | None:
    addresses = [a.email for a in (mail.sender, mail.reply_to) if a]
    if any(clean_address(a).lower() in ctx.own_addresses for a in addresses):
        return Kind.AUTO_REPLY, "sent from our own address (loop)"
    if mail.message_id and mail.message_id.lower().endswith(
        "@" + ctx.message_id_domain.lower() + ">"
    ):
        return Kind.AUTO_REPLY, "our own Message-ID (loop)"
    if any(mail.header(h) for h in rules.LOOP_HEADERS):
        return Kind.AUTO_REPLY, "loop header"
    return None


def _header_signals(mail: ParsedMail, _ctx: Context) -> tuple[Kind, str] | None:
    for value in mail.header("auto-submitted"):
        token = value.split(";", 1)[0].strip().lower()
        if token and token != rules.AUTO_SUBMITTED_HUMAN:
            kind = Kind.BOUNCE if rules.SUBJECT_BOUNCE.search(mail.subject) else Kind.AUTO_REPLY
            return kind, f"Auto-Submitted: {token}"
    for value in mail.header("x-auto-response-suppress"):
        tokens = {t.strip().lower() for t in re.split(r"[,\s]+", value) if t.strip()}
        if tokens & rules.SUPPRESS_TOKENS:
            return Kind.AUTO_REPLY, f"X-Auto-Response-Suppress: {value.strip()[:40]}"
    for name in rules.AUTOMATIC_HEADERS:
        if mail.header(name):
            return Kind.AUTO_REPLY, f"{name} header"
    list_headers = sorted(h for h in mail.headers if h.startswith("list-"))
    if list_headers:
        return Kind.BULK, f"{list_headers[0]} header"
    for value in mail.header("precedence"):
        if value.strip().lower() in rules.PRECEDENCE_AUTOMATIC:
            return Kind.BULK, f"Precedence: {value.strip().lower()}"
    return None


def _subject_signals(mail: ParsedMail, _ctx: Context) -> tuple[Kind, str] | None:
    if rules.SUBJECT_BOUNCE.search(mail.subject):
        return Kind.BOUNCE, "subject of a delivery report"
    if rules.SUBJECT_READ_RECEIPT.search(mail.subject):
        return Kind.READ_RECEIPT, "subject of a read receipt"
    if rules.SUBJECT_AUTO_REPLY.search(mail.subject):
        return Kind.AUTO_REPLY, "subject of an automatic reply"
    return None


# --- the text ---


def _body(mail: ParsedMail) -> _Body:
    forwarded = bool(rules.FORWARD_SUBJECT.search(mail.subject))
    text, signature = split_signature(mail.text)
    if forwarded and not _has_intent(text):
        # "siehe unten": the registration is in the forwarded mail, or written below it.
        own = _own_paragraph(mail.full_text)
        if own is not None:
            text, signature = own
        else:
            text, signature = split_signature(mail.full_text)
        return _Body(text=text, signature=signature, forwarded=True, from_history=True)
    return _Body(text=text, signature=signature, forwarded=forwarded)


def _own_paragraph(full_text: str) -> tuple[str, tuple[str, ...]] | None:
    """A paragraph in which the sender registers personally, anywhere in a forward
    ("s.u." on top, "Hiermit melde ich mich an." below the quoted invitation)."""
    paragraphs = _paragraphs(full_text)
    # The last one: replies written below the quoted mail come after it.
    for index in reversed(range(len(paragraphs))):
        paragraph = paragraphs[index]
        if rules.REGISTRATION.search(paragraph) and _speaks_for_self(paragraph):
            rest = "\n".join(paragraphs[index + 1 :])
            return paragraph.strip(), _lines(rest)[:8]
    return None


def _has_intent(text: str) -> bool:
    return bool(rules.REGISTRATION.search(text) or rules.CANCELLATION.search(text))


def split_signature(text: str) -> tuple[str, tuple[str, ...]]:
    """Text before the closing formula ("Mit freundlichen Grüßen"), and the lines after it."""
    match = rules.CLOSING.search(text)
    if not match:
        dashes = re.search(r"^--\s*$", text, re.M)
        if not dashes:
            return text.strip(), ()
        return text[: dashes.start()].strip(), _lines(text[dashes.end() :])
    return text[: match.start()].strip(), _lines(text[match.end() :])


def _lines(text: str) -> tuple[str, ...]:
    return tuple(
        line.strip() for line in text.splitlines() if line.strip() and line.strip() != "--"
    )


def _paragraphs(text: str) -> list[str]:
    """Runs of lines that are not blank: split at blank lines, without a regex that
    backtracks over long runs of blanks."""
    paragraphs: list[str] = []
    lines: list[str] = []
    for line in [*text.split("\n"), ""]:
        if line.strip():
            lines.append(line)
        elif lines:
            paragraphs.append("\n".join(lines))
            lines = []
    return paragraphs


def _sentences(text: str) -> list[str]:
    # Lines are wrapped by mail programs (format=flowed, 72 columns): a paragraph is one text.
    # The dots of "z. B.", "Dr." and "5.12." end no sentence.
    paragraphs = _paragraphs(rules.ABBREVIATION_DOT.sub(r"\1", text))
    flat = [" ".join(line.strip() for line in p.split("\n")) for p in paragraphs]
    return [s.strip() for p in flat for s in _SENTENCE_END.split(p) if s.strip()]


def _is_question(sentence: str) -> bool:
    return sentence.endswith("?") and not rules.REGISTRATION_REQUEST_QUESTION.search(sentence)


def _without_questions(text: str) -> str:
    return "\n".join(s for s in _sentences(text) if not _is_question(s))


def has_question(text: str) -> bool:
    if any(_is_question(s) for s in _sentences(text)):
        return True
    return bool(
        re.search(r"\b(ich habe eine frage|meine frage|ich würde gerne wissen)\b", text, re.I)
    )


def detect_language(text: str) -> str:
    words = re.findall(r"[a-zäöüß]+", text.lower())
    english = sum(w in rules.ENGLISH_WORDS for w in words)
    german = sum(w in rules.GERMAN_WORDS for w in words)
    return "en" if english > german else "de"


def _replies_to_us(mail: ParsedMail, ctx: Context) -> bool:
    suffix = "@" + ctx.message_id_domain.lower() + ">"
    return any(m.lower().endswith(suffix) for m in (*mail.in_reply_to, *mail.references))


# --- persons ---


def _registration(
    mail: ParsedMail, body: _Body, ctx: Context, language: str, question: bool
) -> Intent:
    count = stated_count(f"{mail.subject}\n{body.text}")
    persons = registrants(mail, body, ctx, count)
    reasons = []
    kind = Kind.REGISTRATION
    if not persons:
        reasons.append("Anmeldung erkannt, aber kein Name einer Person.")
    elif any(not p.name for p in persons):
        reasons.append("Anmeldung ohne Namen: bitte prüfen, wer kommt.")
    elif count is not None and count != len(persons):
        # "mit zwei, eventuell drei Personen": a person must ask who comes.
        kind = Kind.OTHER
        reasons.append(
            f"Die Mail nennt {count} Personen, erkannt wurden {len(persons)} "
            f"({', '.join(p.name for p in persons)}): bitte prüfen."
        )
        persons = ()
    return Intent(
        kind=kind,
        persons=persons,
        has_question=question,
        language=language,
        review_reasons=tuple(reasons),
    )


def registrants(
    mail: ParsedMail, body: _Body, ctx: Context, count: int | None = None
) -> tuple[Person, ...]:
    """Everyone the mail registers, the sender first when the sender attends."""
    assert mail.sender is not None
    sender_org = _organization(mail.sender, body, ctx)
    author = _forwarded_author(mail, body, ctx)
    if author is not None:
        # A forwarded registration: its original author is the registrant.
        name = canonical_name(author.name) or _signature_name(body.signature)
        org = _org_for(author.email, ctx) or _organization(author, body, ctx)
        return (Person(name=name, email=author.email, organization=org),)
    if mail.reply_to and clean_address(mail.reply_to.email) != clean_address(mail.sender.email):
        # On behalf: an assistant set Reply-To to the person who attends.
        principal = _principal(mail.reply_to, body)
        org = _organization(mail.reply_to, body, ctx) or sender_org
        return (Person(name=principal, email=mail.reply_to.email, organization=org),)
    sender_name = _sender_name(mail.sender, body)
    found = _listed_persons(body.text, ctx) + _named_persons(body.text, exclude=sender_name)
    people = [
        Person(name=n, email=e, organization=org or _org_for(e, ctx) or sender_org)
        for n, e, org in found
        if not (sender_name and name_tokens(n) == name_tokens(sender_name))
    ]
    # The sender in their own list of participants attends too.
    listed_self = bool(sender_name) and any(
        name_tokens(n) == name_tokens(sender_name) for n, _, _ in found
    )
    speaks_for_self = listed_self or _speaks_for_self(body.text)
    if not people and not speaks_for_self:
        # "An der Veranstaltung wird Herr Marco Lindner teilnehmen."
        people = [
            Person(name=n, email=e, organization=_org_for(e, ctx) or sender_org)
            for n, e in _addressed_attendees(body.text, exclude=sender_name)
        ]
    is_mailbox = _is_mailbox(mail.sender.name) or not sender_name
    sender_attends = not is_mailbox and (speaks_for_self or not people)
    if count is not None and len(people) + sender_attends < count:
        # "Neben mir kommen Frau Dr. Katrin Büscher-Wolff sowie Herr Timo Szymanski": with a
        # stated number, persons addressed in sentences about coming count too.
        more = _addressed_attendees(body.text, exclude=sender_name, pattern=rules.PARTICIPATION)
        people += [
            Person(name=n, email=e, organization=_org_for(e, ctx) or sender_org) for n, e in more
        ]
        people = _in_text_order(_unique(people), body.text)
    if sender_attends:
        people.insert(0, Person(name=sender_name, email=mail.sender.email, organization=sender_org))
    return tuple(_with_addresses(_unique(people), body.text, mail.sender.email))


def _in_text_order(people: list[Person], text: str) -> list[Person]:
    def position(person: Person) -> int:
        found = text.find(person.name.split()[-1]) if person.name else -1
        return found if found >= 0 else len(text)

    return sorted(people, key=position)


def _with_addresses(people: list[Person], text: str, sender: str) -> list[Person]:
    """A person without an address gets the one in the text that carries their surname
    ("erreichen Sie ihn unter s.rohlfing@dsw21.de")."""
    found = (clean_address(m.group(0)) for m in rules.EMAIL_IN_TEXT.finditer(text))
    addresses = [(a, _ascii_fold(a.split("@")[0])) for a in found if not same_address(a, sender)]
    result = []
    for person in people:
        if person.email is None and person.name:
            surname = _ascii_fold(person.name.split()[-1])
            match = [a for a, local in addresses if len(surname) > 2 and surname in local]
            if len(match) == 1:
                person = replace(person, email=match[0])
        result.append(person)
    return result


def _ascii_fold(text: str) -> str:
    text = text.lower()
    for umlaut, ascii_form in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, ascii_form)
    return re.sub(r"[^a-z]", "", unicodedata.normalize("NFKD", text))


def _speaks_for_self(text: str) -> bool:
    """The sender takes part: "melde mich an", but not "ich kann nicht teilnehmen"."""
    return any(
        not rules.NEGATION.search(match.group(0))
        for sentence in _sentences(text)
        if not rules.TENTATIVE.search(sentence)
        for match in rules.FIRST_PERSON.finditer(sentence)
    )


def stated_count(text: str) -> int | None:
    """A number of persons the mail states ("zu dritt", "2 Personen"), if any."""
    match = rules.PERSON_COUNT.search(text)
    if not match:
        return None
    word = (match.group(1) or match.group(2)).lower()
    return int(word) if word.isdigit() else rules.NUMBER_WORDS.get(word)


def _forwarded_author(mail: ParsedMail, body: _Body, ctx: Context) -> Address | None:
    """The author of a forwarded registration, when the forwarder only passes it on.

    Each forwarded mail runs from its "Von:" line to the next one; the author is the one
    whose own part registers them. Our own invitation in the chain registers nobody.
    """
    if not body.forwarded or mail.sender is None:
        return None
    if not body.from_history and _speaks_for_self(split_signature(mail.text)[0]):
        return None
    history = split_history(mail.full_text).history
    headers = list(rules.FORWARDED_FROM.finditer(history))
    for index, match in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else len(history)
        part = history[match.end() : end]
        if not (rules.REGISTRATION.search(part) and _speaks_for_self(part)):
            continue
        email = clean_address(match.group("email"))
        if same_address(email, mail.sender.email) or email.lower() in ctx.own_addresses:
            return None
        return Address(name=match.group("name").strip(), email=email)
    return None


def _listed_persons(text: str, ctx: Context) -> list[tuple[str, str | None, str | None]]:
    """Persons in a list or table, with address and organisation if given."""
    return _persons_per_line(text) or _persons_per_block(text)


def _persons_per_block(text: str) -> list[tuple[str, str | None, str | None]]:
    """A table whose cells came out one per line: name, function, address, blank line."""
    found = _candidates(_block_persons(text))
    return found if len(found) >= 2 else []


def _block_persons(text: str) -> Iterator[tuple[str, str | None, str | None]]:
    for block in _paragraphs(text):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not 2 <= len(lines) <= 5:
            continue
        emails = [m.group(0) for line in lines if (m := rules.EMAIL_IN_TEXT.search(line))]
        if len(emails) != 1:
            continue
        name = _name_cell(lines[:2])
        if name:
            org = next((c for c in lines if rules.ORGANIZATION_LINE.fullmatch(c)), None)
            yield name, clean_address(emails[0]), org


def _persons_per_line(text: str) -> list[tuple[str, str | None, str | None]]:
    return _candidates(_line_persons(text))


def _line_persons(text: str) -> Iterator[tuple[str, str | None, str | None]]:
    for line in text.splitlines():
        bullet = bool(rules.LIST_BULLET.match(line))
        email = rules.EMAIL_IN_TEXT.search(line)
        if not (bullet or email) or len(line.split()) > 14:
            continue
        cells = [
            c.strip(" ,:") for c in rules.LIST_CELL_SPLIT.split(rules.LIST_BULLET.sub("", line))
        ]
        cells = [c for c in cells if c]
        name = _name_cell(cells)
        if not name:
            continue
        org = next(
            (c for c in cells if rules.ORGANIZATION_LINE.fullmatch(c) and "@" not in c), None
        )
        yield name, clean_address(email.group(0)) if email else None, org


def _candidates(persons: Iterable[T]) -> list[T]:
    """The persons a mail names, read up to MAX_CANDIDATES (_TooManyPersons beyond)."""
    found = list(islice(persons, MAX_CANDIDATES + 1))
    if len(found) > MAX_CANDIDATES:
        raise _TooManyPersons
    return found


def _name_cell(cells: list[str]) -> str:
    for cell in cells:
        for candidate in (cell, *cell.split(", ")[:1]):
            name = canonical_name(rules.SIGNATURE_PREFIX.sub("", candidate))
            if re.fullmatch(rules.PERSON_NAME, name) and not _is_mailbox(name):
                return name
    return ""


def _addressed_attendees(
    text: str, exclude: str, pattern: re.Pattern[str] = rules.REGISTRATION
) -> list[tuple[str, str | None]]:
    """'Herr/Frau X' named in a sentence about taking part."""
    return _candidates(_attendees_addressed(text, exclude, pattern))


def _attendees_addressed(
    text: str, exclude: str, pattern: re.Pattern[str]
) -> Iterator[tuple[str, str | None]]:
    excluded = name_tokens(exclude) if exclude else None
    for sentence in _sentences(text):
        if not pattern.search(sentence):
            continue
        for match in rules.ADDRESSED_PERSON.finditer(sentence):
            name = canonical_name(match.group(1))
            if not name or (excluded is not None and name_tokens(name) <= excluded):
                continue
            email = rules.EMAIL_IN_TEXT.search(sentence[match.end() : match.end() + 80])
            yield name, clean_address(email.group(0)) if email else None


def _principal(reply_to: Address, body: _Body) -> str:
    name = canonical_name(reply_to.name)
    if name:
        return name
    named = _addressed_persons(body.text)
    return named[0] if named else ""


def _sender_name(sender: Address, body: _Body) -> str:
    if sender.name and not _is_mailbox(sender.name):
        name = canonical_name(sender.name)
        if len(name.split()) >= 2:
            return name
    return _signature_name(body.signature)


def _signature_name(signature: Iterable[str]) -> str:
    for line in list(signature)[:3]:
        line = rules.SIGNATURE_PREFIX.sub("", line).strip()
        name = canonical_name(line)
        if re.fullmatch(rules.PERSON_NAME, name) and not _is_mailbox(name):
            return name
    return ""


def _is_mailbox(display_name: str) -> bool:
    return bool(rules.MAILBOX_NAME.search(display_name)) and "," not in display_name


def _named_persons(text: str, exclude: str) -> list[tuple[str, str | None, str | None]]:
    found = _candidates(_persons_named(text, exclude))
    found.sort(key=lambda item: text.find(item[0].split()[-1]))
    return found


def _persons_named(text: str, exclude: str) -> Iterator[tuple[str, str | None, str | None]]:
    excluded = name_tokens(exclude) if exclude else None
    for pattern in (rules.COLLEAGUE, rules.ACCOMPANYING):
        for match in pattern.finditer(text):
            name = canonical_name(match.group(1))
            if not name or (excluded is not None and name_tokens(name) <= excluded):
                continue
            email = rules.EMAIL_IN_TEXT.search(text[match.end() : match.end() + 80])
            yield name, clean_address(email.group(0)) if email else None, None


def _addressed_persons(text: str) -> list[str]:
    return _candidates(canonical_name(m.group(1)) for m in rules.ADDRESSED_PERSON.finditer(text))


def _cancelled_persons(mail: ParsedMail, body: _Body, ctx: Context) -> tuple[Person, ...]:
    """Persons a cancellation names; when it names nobody else, the sender."""
    assert mail.sender is not None
    own = _sender_name(mail.sender, body)
    # Only persons in the sentences that cancel: "Herr Albers und ich bleiben angemeldet."
    cancelling = "\n".join(s for s in _sentences(body.text) if rules.CANCELLATION.search(s))
    named = [n for n, _, _ in _named_persons(cancelling, exclude=own)]
    named += [
        n
        for n in _addressed_persons(cancelling)
        if not (own and name_tokens(n) <= name_tokens(own))
    ]
    org = _organization(mail.sender, body, ctx)
    if named:
        return tuple(Person(name=n, organization=org) for n in dict.fromkeys(named))
    return (Person(name=own, email=mail.sender.email, organization=org),)


def _organization(address: Address, body: _Body, ctx: Context) -> str | None:
    bracket = re.search(r"\(([^)]+)\)", address.name or "")
    return (
        _org_for(address.email, ctx)
        or (bracket.group(1).strip() if bracket else None)
        or _signature_org(body.signature)
        or _text_org(body.text)
        or _text_org("\n".join(body.signature))
    )


def _org_for(email: str | None, ctx: Context) -> str | None:
    domain = domain_of(email)
    if not domain or ctx.directory.is_freemail(domain):
        return None
    return ctx.directory.name_for(domain)


def _signature_org(signature: Iterable[str]) -> str | None:
    for line in signature:
        # "Organisation: Stadt Unna", "Dienststelle: ...": the label is not the name
        line = re.sub(
            r"^(?:organisation|organization|dienststelle|firma|behörde)\s*:\s*",
            "",
            line,
            flags=re.I,
        )
        if rules.ORGANIZATION_LINE.fullmatch(line) and not re.search(r"\d{4,}", line):
            return line.split("|")[0].split(",")[0].strip()
    return None


def _text_org(text: str) -> str | None:
    match = rules.ORGANIZATION_IN_TEXT.search(text)
    if not match:
        return None
    org = (match.group(1) or match.group(2)).strip().rstrip(".,;")
    # "bin bei der stadt lünen": written in lower case, listed as "Stadt Lünen".
    return " ".join(w[:1].upper() + w[1:] for w in org.split()) if org.islower() else org


def _unique(people: list[Person]) -> list[Person]:
    """One entry per person; "Rehberg" after "Thomas Rehberg" is the same person.

    A person is left out when their address or all their name tokens belong to someone
    kept; a fuller spelling replaces a surname kept before. Indexed by address and by
    token, so no pair of persons is compared unless they share a token.
    """
    kept: dict[int, tuple[Person, frozenset[str]]] = {}
    by_email: dict[str, set[int]] = {}
    by_token: dict[str, set[int]] = {}
    for index, person in enumerate(people):
        tokens = name_tokens(person.name)
        email = (person.email or "").lower()
        if email and by_email.get(email):
            continue
        if tokens and _kept_with(tokens, by_token, kept):
            continue
        narrower = {i for t in tokens for i in by_token.get(t, ()) if kept[i][1] < tokens}
        for i in narrower:
            old, old_tokens = kept.pop(i)
            by_email.get((old.email or "").lower(), set()).discard(i)
            for t in old_tokens:
                by_token[t].discard(i)
        kept[index] = (person, tokens)
        if email:
            by_email.setdefault(email, set()).add(index)
        for t in tokens:
            by_token.setdefault(t, set()).add(index)
    return [person for person, _ in kept.values()]


def _kept_with(
    tokens: frozenset[str],
    by_token: dict[str, set[int]],
    kept: dict[int, tuple[Person, frozenset[str]]],
) -> bool:
    """Someone kept has every one of these tokens."""
    fewest = min((by_token.get(t, set()) for t in tokens), key=len)
    return any(tokens <= kept[i][1] for i in fewest)
