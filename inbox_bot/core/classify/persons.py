"""Whom a mail registers or cancels: the sender, colleagues in prose, lists and tables,
forwarded authors, the principal of an assistant."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import islice

from inbox_bot.core.bodytext import split_history
from inbox_bot.core.classify import rules
from inbox_bot.core.classify.context import MAX_CANDIDATES, Context, T, _Body, _TooManyPersons
from inbox_bot.core.classify.orgs import _org_for, _organization
from inbox_bot.core.classify.text import (
    _ascii_fold,
    _paragraphs,
    _sentences,
    _speaks_for_self,
    split_signature,
)
from inbox_bot.core.model import Address, ParsedMail, Person
from inbox_bot.core.names import canonical_name, clean_address, name_tokens, same_address


def _forwarded_or_on_behalf(
    mail: ParsedMail, body: _Body, ctx: Context, sender_org: str | None
) -> Person | None:
    """The one registrant of a forwarded mail (its author) or of a mail on behalf of
    someone (an assistant's Reply-To), else None."""
    assert mail.sender is not None
    author = _forwarded_author(mail, body, ctx)
    if author is not None:
        # A forwarded registration: its original author is the registrant.
        name = canonical_name(author.name) or _signature_name(body.signature)
        org = _org_for(author.email, ctx) or _organization(author, body, ctx)
        return Person(name=name, email=author.email, organization=org)
    if (
        mail.reply_to
        and clean_address(mail.reply_to.email) != clean_address(mail.sender.email)
        and not _is_mailbox(mail.reply_to.name or "")
    ):
        # On behalf: an assistant set Reply-To to the person who attends. (To an
        # office's mailbox: the person named in the text attends, read below.)
        principal = _principal(mail.reply_to, body)
        org = _organization(mail.reply_to, body, ctx) or sender_org
        return Person(name=principal, email=mail.reply_to.email, organization=org)
    return None


def registrants(
    mail: ParsedMail, body: _Body, ctx: Context, count: int | None = None
) -> tuple[Person, ...]:
    """Everyone the mail registers, the sender first when the sender attends."""
    assert mail.sender is not None
    sender_org = _organization(mail.sender, body, ctx)
    single = _forwarded_or_on_behalf(mail, body, ctx, sender_org)
    if single is not None:
        return (single,)
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
    return _persons_per_line(text) or _persons_per_block(text) or _persons_per_header_row(text)


def _persons_per_header_row(text: str) -> list[tuple[str, str | None, str | None]]:
    """A table whose cells came out one per line, header row first ("Name / Bereich /
    E-Mail"), no blank lines: the header's width cuts the lines into rows."""
    lines = [line.strip() for line in text.splitlines()]
    for start, line in enumerate(lines):
        if not re.fullmatch(r"(?i:name|vorname|nachname|teilnehmer(?:in)?)", line):
            continue
        width = 1
        while start + width < len(lines) and rules.TABLE_HEADER_CELL.fullmatch(
            lines[start + width]
        ):
            width += 1
        if width < 2:
            continue
        rows = []
        at = start + width
        while at + width <= len(lines) and all(lines[at : at + width]):
            cells = lines[at : at + width]
            name = _name_cell(cells[:1])
            if not name:
                break
            email = next((m.group(0) for c in cells if (m := rules.EMAIL_IN_TEXT.search(c))), None)
            rows.append((name, clean_address(email) if email else None, None))
            at += width
        if len(rows) >= 2:
            return _candidates(iter(rows))
    return []


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
            # "Mobilität (März, Zeche Zollern)": a month or a weekday names nobody
            calendar = any(w.casefold() in rules.CALENDAR_WORDS for w in name.split())
            if re.fullmatch(rules.PERSON_NAME, name) and not _is_mailbox(name) and not calendar:
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
            name = canonical_name(next(g for g in match.groups() if g))
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
    for pattern in (rules.COLLEAGUE, rules.ACCOMPANYING, rules.ON_BEHALF, rules.ON_BEHALF_OF):
        for match in pattern.finditer(text):
            name = canonical_name(next(g for g in match.groups() if g))
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
    # Clause by clause: "streichen Sie mich; Frau Dr. Lohmeyer und Herr Kortmann kommen".
    clauses = (c for s in _sentences(body.text) for c in re.split(r"\s*[;–—]\s+|\s+-\s+", s))
    cancelling = "\n".join(c for c in clauses if rules.CANCELLATION.search(c))
    named = [n for n, _, _ in _named_persons(cancelling, exclude=own)]
    named += [
        n
        for n in _addressed_persons(cancelling)
        if not (own and name_tokens(n) <= name_tokens(own))
    ]
    named += [n for n in _first_name_subjects(cancelling) if not (own and n in own.split())]
    org = _organization(mail.sender, body, ctx)
    if named:
        return tuple(Person(name=n, organization=org) for n in dict.fromkeys(named))
    return (Person(name=own, email=mail.sender.email, organization=org),)


def _first_name_subjects(text: str) -> list[str]:
    """ "Jannik muss leider passen": a first name as the subject of a cancelling clause.
    It withdraws only a registration of this sender whose name holds it (core/cancel.py);
    any other word caught here ("Termin") matches nobody and goes to staff."""
    found = (m.group(1) or m.group(2) for m in rules.FIRST_NAME_SUBJECT.finditer(text))
    return [word for word in found if word.casefold() not in rules.NOT_A_SUBJECT]


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
