"""ParsedMail -> Intent: what the sender wants and whom it concerns (pure).

Automatic mail is recognised first and never answered (RFC 3834). Then the new text
(without quoted history and signature) decides between cancellation, registration,
question and thanks. When the bot is unsure it says why, and staff decide.

    context.py    what we know about us (Context) and the limits of what is read
    automatic.py  automatic mail, never answered (RFC 3834)
    text.py       the text in pieces: new text, signature, sentences, questions
    persons.py    whom a mail registers or cancels
    orgs.py       their organisations
    rules.py      every word list and pattern; echo.py our own words coming back
"""

from __future__ import annotations

import re
from dataclasses import replace

from inbox_bot.core.classify import rules
from inbox_bot.core.classify.automatic import automatic_kind
from inbox_bot.core.classify.context import (
    MAX_CANDIDATES,
    MAX_TEXT_CHARS,
    Context,
    _Body,
    _TooManyPersons,
)
from inbox_bot.core.classify.persons import (
    _cancelled_persons,
    _unique,
    registrants,
)
from inbox_bot.core.classify.text import (
    _body,
    _is_question,
    _paragraphs,
    _replies_to_us,
    _sentences,
    _speaks_for_self,
    detect_language,
    has_question,
    split_signature,
    stated_count,
)
from inbox_bot.core.model import Intent, Kind, ParsedMail
from inbox_bot.core.names import domain_of

# What other modules and the tests use of the classifier.
__all__ = [
    "MAX_CANDIDATES",
    "Context",
    "_paragraphs",
    "_sentences",
    "_unique",
    "automatic_kind",
    "classify",
    "detect_language",
    "has_question",
    "registrants",
    "rules",
    "split_signature",
]


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
