"""What the sender wants: an ordered table of rules over the marked sentences (pure).

The first rule that applies decides, and says why: its name and the sentence that
made it (Intent.evidence), shown to staff in the allocation log and the review queue.

    vague count      "mit ein paar Kollegen": nobody can seat a number without names
    substitute       someone in someone else's place: staff rebook by hand
    other event      a date or title of no event of ours, and none of ours
    cancellation     a firm "ich muss leider absagen" (a person must be registered)
    registration     a firm "hiermit melde ich mich an", not asked, not conditional
    conditional      "würde mich anmelden, sofern ...": a question, registers nobody
    mailing list     "bitte nehmen Sie mich in den Verteiler auf"
    information      "ich komme etwas später", "vegetarisch": for staff
    internal         mail of our own administration
    thanks           "vielen Dank für die Bestätigung"
    question         a question about the event: acknowledged, answered by a person
    nothing          none of these: a person reads it
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from inbox_bot.core.classify import rules
from inbox_bot.core.classify.acts import (
    ABOUT_EVENTS,
    PARTICIPATES,
    REGISTRATION_NOUN,
    THANKS_FOR_REPLY,
)
from inbox_bot.core.classify.context import Context, _Body
from inbox_bot.core.classify.event import other_event
from inbox_bot.core.classify.reading import Sentence, asks, sentences
from inbox_bot.core.classify.text import _replies_to_us, _speaks_for_self
from inbox_bot.core.model import Intent, Kind, ParsedMail
from inbox_bot.core.names import domain_of


@dataclass(frozen=True, kw_only=True)
class Mail:
    """Everything the rules look at, computed once."""

    parsed: ParsedMail
    body: _Body
    ctx: Context
    language: str
    marked: tuple[Sentence, ...]
    asks: bool
    replying: bool  # answers one of our mails (In-Reply-To/References)
    internal: bool  # from our own administration's domains

    @property
    def text(self) -> str:
        return self.body.text

    def first(self, test: Callable[[Sentence], bool]) -> Sentence | None:
        return next((s for s in self.marked if test(s)), None)


Registrar = Callable[[Mail, bool], Intent]  # builds the registration intent (persons.py)
Canceller = Callable[[Mail], Intent]


@dataclass(frozen=True)
class Rule:
    name: str
    apply: Callable[[Mail], Intent | None]


def read(parsed: ParsedMail, body: _Body, ctx: Context, language: str) -> Mail:
    marked = tuple(sentences(body.text))
    sender = parsed.sender.email if parsed.sender else ""
    return Mail(
        parsed=parsed,
        body=body,
        ctx=ctx,
        language=language,
        marked=marked,
        # In a forwarded mail, its questions were asked of the forwarder, not of us.
        asks=asks(body.text, list(marked)) and not body.from_history,
        replying=_replies_to_us(parsed, ctx),
        internal=domain_of(sender) in ctx.internal_domains,
    )


def decide_intent(mail: Mail, registration: Registrar, cancellation: Canceller) -> Intent:
    """The intent of the first rule that applies, with its name and sentence as evidence."""
    table = rule_table(registration, cancellation)
    for rule in table:
        found = rule.apply(mail)
        if found is not None:
            return found
    raise AssertionError("the last rule always applies")  # pragma: no cover


def rule_table(registration: Registrar, cancellation: Canceller) -> tuple[Rule, ...]:
    return (
        Rule("vague count", _vague_count),
        Rule("substitute", _substitute),
        Rule("other event", _other_event),
        Rule("cancellation", lambda m: _cancellation(m, cancellation)),
        Rule("registration", lambda m: _registration(m, registration)),
        Rule("conditional", _conditional),
        Rule("mailing list", _mailing_list),
        Rule("information", _information),
        Rule("internal", _internal),
        Rule("thanks", _thanks),
        Rule("question", _question),
        Rule("nothing", _nothing),
    )


def _said(rule: str, sentence: Sentence | None) -> str:
    return f"{rule}: «{sentence.text[:200]}»" if sentence else rule


def _staff(mail: Mail, reason: str, evidence: str, kind: Kind = Kind.OTHER) -> Intent:
    return Intent(kind=kind, language=mail.language, review_reasons=(reason,), evidence=evidence)


# --- the rules, in order ---------------------------------------------------------------------


def _vague_count(mail: Mail) -> Intent | None:
    # "Wir würden voraussichtlich mit vier bis fünf Personen kommen" commits to nothing:
    # a question (conditional), not a count for staff to clear up.
    found = mail.first(
        lambda s: (
            not s.weakened
            and bool(rules.VAGUE_COUNT.search(s.text))
            and bool(rules.PARTICIPATION.search(s.text))
        )
    )
    if found is not None:
        reason = "Unklare Zahl von Personen ohne Namen: bitte klären."
        return _staff(mail, reason, _said("vague count", found))
    return None


def _substitute(mail: Mail) -> Intent | None:
    # Asked about in theory ("falls ich ...: kann meine Kollegin meinen Platz übernehmen?"),
    # it is a question; asked for ("wäre es möglich, dass er meinen Platz übernimmt?"), not.
    # Asked whether it could be ("Kann mein Kollege meinen Platz übernehmen?") before any
    # firm decline, it is a question too: the sender is still registered.
    cancels = mail.first(lambda s: s.firm_cancellation) is not None
    if mail.first(
        lambda s: (
            not (s.conditional or s.tentative)
            and (cancels or not s.question)
            and bool(rules.SUBSTITUTE.search(s.text))
        )
    ):
        reason = "Abmeldung mit Ersatzperson: bitte von Hand umbuchen."
        return _staff(mail, reason, "substitute")
    return None


def _other_event(mail: Mail) -> Intent | None:
    about = mail.first(lambda s: s.registers or s.question)
    if about is None:
        return None
    what = other_event(f"{mail.parsed.subject}\n{mail.text}", mail.ctx.events)
    if what is None:
        return None
    reason = (
        f"Andere Veranstaltung: die Mail nennt {what} und nichts von unserer Veranstaltung "
        "(Titel, Datum, Ort): keine automatische Antwort, bitte lesen."
    )
    return _staff(mail, reason, _said("other event", about))


def _cancellation(mail: Mail, cancellation: Canceller) -> Intent | None:
    # "Ich selbst kann leider nicht teilnehmen" beside colleagues' names cancels nothing.
    found = mail.first(lambda s: s.firm_cancellation and not rules.SELF_EXCLUSION.search(s.text))
    if found is None:
        return None
    intent = cancellation(mail)
    reasons = intent.review_reasons
    if mail.asks:
        reasons = (*reasons, "Abmeldung mit einer Frage: bitte persönlich beantworten.")
    return Intent(
        kind=Kind.CANCELLATION,
        persons=intent.persons,
        has_question=mail.asks,
        language=mail.language,
        review_reasons=reasons,
        evidence=_said("cancellation", found),
    )


def _registration(mail: Mail, registration: Registrar) -> Intent | None:
    found = mail.first(lambda s: s.firm_registration and not _asked_first(mail, s))
    if found is None and _subject_registers(mail):
        found = mail.first(lambda s: True)
    if found is None:
        return None
    # Colleagues of our own administration write about the event all the time: their mail
    # is a registration only when they clearly register themselves.
    if mail.internal and not _speaks_for_self(found.text):
        return None
    intent = registration(mail, mail.asks)
    return Intent(
        kind=intent.kind,
        persons=intent.persons,
        has_question=intent.has_question,
        language=intent.language,
        review_reasons=intent.review_reasons,
        evidence=_said("registration", found),
    )


def _asked_first(mail: Mail, sentence: Sentence) -> bool:
    """ "Ist eine Anmeldung noch möglich? Falls ja, würde ich gern kommen": the registration
    waits for our answer to a question asked before it, so a person answers first."""
    for earlier in mail.marked:
        if earlier is sentence:
            return False
        if earlier.question and bool(ABOUT_REGISTERING.search(earlier.text)):
            return sentence.usual_condition or sentence.conditional or sentence.tentative
    return False


def _subject_registers(mail: Mail) -> bool:
    """A bare "Anmeldung" subject over names: a registration when nothing else is said."""
    subject = rules.REPLY_SUBJECT.sub("", mail.parsed.subject)
    if mail.replying or "?" in subject or not REGISTRATION_NOUN.search(subject):
        return False
    return not (mail.asks or any(s.weakened or s.thanks or s.informs for s in mail.marked))


def _conditional(mail: Mail) -> Intent | None:
    found = mail.first(
        lambda s: (
            (s.weakened or (s.registers and _asked_first(mail, s)))
            and not s.state
            and (s.registers or (not s.informs and bool(PARTICIPATES.search(s.text))))
        )
    )
    if found is None:
        found = mail.first(lambda s: s.question and bool(ABOUT_REGISTERING.search(s.text)))
    if found is None:
        return None
    return Intent(
        kind=Kind.QUESTION,
        has_question=True,
        language=mail.language,
        evidence=_said("conditional", found),
    )


def _mailing_list(mail: Mail) -> Intent | None:
    found = mail.first(lambda s: s.mailing_list)
    if found is None:
        return None
    reason = "Bitte um Aufnahme in den Verteiler (keine Anmeldung): bitte von Hand erledigen."
    return _staff(mail, reason, _said("mailing list", found))


def _information(mail: Mail) -> Intent | None:
    found = mail.first(lambda s: s.informs and not s.question)
    if found is None or mail.asks:
        return None
    reason = "Information zu einer Teilnahme (keine neue Anmeldung): bitte lesen und vermerken."
    return _staff(mail, reason, _said("information", found))


def _internal(mail: Mail) -> Intent | None:
    if mail.internal:
        return _staff(mail, "Interne Mail aus der eigenen Verwaltung.", "internal")
    return None


def _thanks(mail: Mail) -> Intent | None:
    if mail.asks:
        return None
    found = mail.first(lambda s: s.thanks)
    subject_replies = bool(rules.REPLY_SUBJECT.search(mail.parsed.subject))
    if mail.replying or (
        found is not None and (subject_replies or THANKS_FOR_REPLY.search(found.text))
    ):
        return Intent(kind=Kind.THANKS, language=mail.language, evidence=_said("thanks", found))
    return None


def _question(mail: Mail) -> Intent | None:
    if not mail.asks:
        return None
    found = mail.first(lambda s: s.question)
    text = f"{mail.parsed.subject}\n{mail.text}"
    related = ABOUT_EVENTS.search(text) or any(e.named_in(text) for e in mail.ctx.events)
    if related:
        return Intent(
            kind=Kind.QUESTION,
            has_question=True,
            language=mail.language,
            evidence=_said("question", found),
        )
    reason = "Frage ohne erkennbaren Bezug zur Veranstaltung."
    return _staff(mail, reason, _said("question", found))


def _nothing(mail: Mail) -> Intent:
    return _staff(mail, "Weder Anmeldung, Abmeldung noch Frage erkannt.", "nothing")


# Questions about registering ("muss ich mich anmelden?", "is there a registration form?").
ABOUT_REGISTERING = re.compile(
    r"anmeld|\bregist|sign\s?up|\bteilnahme\b|\bteilnehmen\b|\bplatz\b|\bplätze\b|\bseat",
    re.I,
)
