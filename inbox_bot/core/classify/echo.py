"""Our own words coming back are never read as the sender's (pure).

An auto-responder that sets no automatic header, a mail program that pastes the mail
it answers without quote marks, a forward of our confirmation: each can carry our own
sentence "Wenn Sie doch nicht kommen können, antworten Sie bitte kurz auf diese
E-Mail" from an acceptance, which the classifier would take for a cancellation.
`OwnWords` is built once from the reply templates in use (the shipped ones and the
staff's copies) and our configured texts; `strip` removes the lines of a mail's text
that are our wording.

Two strengths of evidence: a long line (MIN_CHARS or more) found in our templates is
ours wherever it stands. Short lines ("vielen Dank für Ihre Anmeldung.") and lines with
values filled in ("Anmeldeschluss am Freitag, 23. November 2018.") are ours only in a
mail that evidently repeats one of our mails (at least _ECHO_LINES long lines of ours):
elsewhere they may well be the sender's own words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Shorter lines need an echo around them: "Hiermit melde ich mich an" is in our
# question template as advice, and people rightly write exactly that.
MIN_CHARS = 40
# A line that held one of our sentences is ours when this few letters are left of it.
_OWN_REST_LETTERS = 12
# This many long lines of ours make a mail an echo of one of our mails.
_ECHO_LINES = 2
# A template line with values is recognised by its own words around the values: it
# needs this many letters of its own, and a mail line longer than this is not one.
_PATTERN_LETTERS = 8
_MAX_PATTERN_LINE = 400
_VALUE = r".{0,160}?"
_TEMPLATE_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s")


def normalise(text: str) -> str:
    """Case, quote marks at the start and runs of white space do not matter."""
    # Quote marks after any white space too ("\r> ..."): stripped after the spaces are
    # folded, so that normalising twice changes nothing more.
    return " ".join(text.lower().split()).lstrip(" >")


@dataclass(frozen=True)
class OwnWords:
    """The literal text of our templates, ready to be recognised in a mail."""

    corpus: str = ""  # normalised template paragraphs, one per line
    sentences: tuple[str, ...] = ()  # normalised sentences of at least MIN_CHARS
    # the same sentences as patterns for the original text (any case, any line breaks)
    sentence_patterns: tuple[re.Pattern[str], ...] = ()
    short_lines: frozenset[str] = frozenset()  # whole template lines below MIN_CHARS
    line_patterns: tuple[re.Pattern[str], ...] = ()  # template lines with values

    def strip(self, text: str) -> str:
        """The text without the lines that repeat our own mails."""
        if not self.corpus:
            return text
        lines = [self._without_our_sentences(line) for line in text.splitlines()]
        ours = [self.is_ours(line) for line in lines]
        if sum(ours) >= _ECHO_LINES:
            ours = [own or self._echoed(line) for own, line in zip(ours, lines, strict=True)]
        return "\n".join(line for line, own in zip(lines, ours, strict=True) if not own)

    def is_ours(self, line: str) -> bool:
        """A long line of our wording, wherever it stands."""
        norm = normalise(line)
        if len(norm) < MIN_CHARS:
            return False
        if norm in self.corpus:
            return True
        rest, found = norm, False
        for sentence in self.sentences:
            if sentence in rest:
                rest, found = rest.replace(sentence, " "), True
        return found and sum(c.isalpha() for c in rest) < _OWN_REST_LETTERS

    def _without_our_sentences(self, line: str) -> str:
        """A long line that joins our sentences with other text keeps only the other text."""
        norm = normalise(line)
        if len(norm) < 2 * MIN_CHARS or norm in self.corpus:
            return line
        for sentence, pattern in zip(self.sentences, self.sentence_patterns, strict=True):
            if sentence in norm:
                line = pattern.sub(" ", line)
        return line

    def _echoed(self, line: str) -> bool:
        norm = normalise(line)
        if norm in self.short_lines:
            return True
        return len(norm) <= _MAX_PATTERN_LINE and any(p.fullmatch(norm) for p in self.line_patterns)


def own_words(sources: Iterable[str]) -> OwnWords:
    """OwnWords from template sources (and plain texts of ours, such as the privacy line)."""
    paragraphs: list[str] = []
    short: set[str] = set()
    patterns: dict[str, re.Pattern[str]] = {}
    for source in sources:
        for line in source.splitlines():
            _learn_line(line, short, patterns)
        for piece in _TEMPLATE_CODE.split(source):
            paragraphs += _paragraphs(piece)
    paragraphs = [p for p in dict.fromkeys(paragraphs) if p]
    sentences = {
        s.strip() for p in paragraphs for s in _SENTENCE_END.split(p) if len(s.strip()) >= MIN_CHARS
    }
    ordered = sorted(sentences)
    return OwnWords(
        corpus="\n".join(paragraphs),
        sentences=tuple(ordered),
        sentence_patterns=tuple(
            re.compile(r"\s+".join(map(re.escape, s.split())), re.I) for s in ordered
        ),
        short_lines=frozenset(short),
        line_patterns=tuple(patterns.values()),
    )


def _learn_line(line: str, short: set[str], patterns: dict[str, re.Pattern[str]]) -> None:
    literal = _TEMPLATE_CODE.split(line)
    if len(literal) == 1:
        norm = normalise(line)
        if 8 <= len(norm) < MIN_CHARS:
            short.add(norm)
    elif sum(c.isalpha() for piece in literal for c in piece) >= _PATTERN_LETTERS:
        pattern = _VALUE.join(re.escape(normalise(piece)) for piece in literal)
        patterns.setdefault(pattern, re.compile(pattern))


def _paragraphs(piece: str) -> list[str]:
    """A template paragraph is one text: we wrapped its lines, others re-wrap them."""
    found: list[str] = []
    block: list[str] = []
    for line in [*piece.splitlines(), ""]:
        if line.strip():
            block.append(line)
        elif block:
            found.append(normalise(" ".join(block)))
            block = []
    return found
