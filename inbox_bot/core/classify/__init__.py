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

from dataclasses import replace

from inbox_bot.core.bodytext import split_history
from inbox_bot.core.classify import rules
from inbox_bot.core.classify.automatic import automatic_kind
from inbox_bot.core.classify.context import (
    MAX_CANDIDATES,
    MAX_TEXT_CHARS,
    Context,
    _Body,
    _TooManyPersons,
)
from inbox_bot.core.classify.intent import Mail, decide_intent, read
from inbox_bot.core.classify.naming import with_events
from inbox_bot.core.classify.persons import (
    _cancelled_persons,
    _unique,
    registrants,
)
from inbox_bot.core.classify.text import (
    _body,
    _paragraphs,
    _replies_to_us,
    _sentences,
    detect_language,
    has_question,
    split_signature,
    stated_count,
)
from inbox_bot.core.model import Intent, Kind, ParsedMail
from inbox_bot.core.visible import counted

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
        intent = _intent(mail, body, ctx, language)
    except _TooManyPersons:
        return _unsure(
            Kind.OTHER,
            language,
            f"Die Mail nennt mehr als {MAX_CANDIDATES} Personen: bitte von Hand prüfen.",
        )
    # In a series: which events it names, for the mail and for each person.
    quoted = split_history(mail.full_text).history if _replies_to_us(mail, ctx) else ""
    return with_events(intent, mail.subject, body.text, ctx.events, mail.sender.email, quoted)


def _intent(mail: ParsedMail, body: _Body, ctx: Context, language: str) -> Intent:
    reading = read(mail, body, ctx, language)

    def registration(found: Mail, question: bool) -> Intent:
        return _registration(mail, body, ctx, language, question)

    def cancellation(found: Mail) -> Intent:
        return Intent(kind=Kind.CANCELLATION, persons=_cancelled_persons(mail, body, ctx))

    return decide_intent(reading, registration, cancellation)


def _unsure(kind: Kind, language: str, reason: str) -> Intent:
    return Intent(kind=kind, language=language, review_reasons=(reason,))


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
            f"Die Mail nennt {counted(count, 'Person', 'Personen')}, "
            f"{'erkannt wurde' if len(persons) == 1 else 'erkannt wurden'} "
            f"{counted(len(persons), 'Person', 'Personen')} "
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
