"""The text of a mail in pieces: what the sender wrote now, its signature, paragraphs,
sentences, questions, the language."""

from __future__ import annotations

import re
import unicodedata

from inbox_bot.core.classify import reading, rules
from inbox_bot.core.classify.context import _SENTENCE_END, Context, _Body
from inbox_bot.core.model import ParsedMail

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
    """The sender's own words register or cancel (not "meine Anmeldung unten")."""
    return any(s.firm_registration or s.firm_cancellation for s in reading.sentences(text))


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
