"""A mail's new text as sentences, each marked with what it does (pure).

The marks are facts about one sentence: it asks, it registers, it withdraws, it thanks,
it informs, it asks to be on a mailing list; and what weakens an act: a condition, a
plan not yet decided, a state reported rather than an act done, a negation. The rules
of core/classify/intent.py decide from these marks, in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inbox_bot.core.classify import acts, rules

# A dot after these does not end a sentence; neither does one after a number ("5. Dez.").
_ABBREVIATIONS = frozenset(
    """z b u a d h bzw ca dr prof ing dipl nr str st tel ggf evtl inkl vgl usw etc i v
    hr fr mr mrs ms dez nov okt sept jan feb mär apr aug ca mo di mi do sa so""".split()
)
_END = re.compile(r"[.!?]+(?=\s)")
_NUMBER = re.compile(r"^\d[\d.]*$")  # "5", "5.12": a date or a number, not a sentence end
_DOTTED = re.compile(r"^-?[^\W\d_]{1,5}(?:\.-?[^\W\d_]{1,5})+$")


@dataclass(frozen=True, kw_only=True)
class Sentence:
    text: str
    question: bool = False
    usual_condition: bool = False  # "falls noch ein Platz frei ist": every registration's
    registers: bool = False
    cancels: bool = False
    thanks: bool = False
    informs: bool = False
    mailing_list: bool = False
    state: bool = False  # "ist angemeldet": a state told, not an act
    conditional: bool = False
    tentative: bool = False
    negated: bool = False

    @property
    def weakened(self) -> bool:
        """The act in it is not done now: asked, conditional, not decided, or a state."""
        return self.question or self.conditional or self.tentative or self.state

    @property
    def firm_registration(self) -> bool:
        if not self.registers or self.negated or self.cancels:
            return False
        if self.question or self.conditional or self.state:
            return False
        return not self.tentative or bool(acts.FIRM.search(self.text))

    @property
    def firm_cancellation(self) -> bool:
        return self.cancels and not (self.question or self.conditional or self.tentative)


def sentences(text: str) -> list[Sentence]:
    return [mark(s) for s in split(text)]


def split(text: str) -> list[str]:
    """Paragraphs joined across wrapped lines, then cut at sentence ends (linear)."""
    out: list[str] = []
    for paragraph in _paragraphs(text):
        flat = " ".join(line.strip() for line in paragraph.split("\n"))
        start = 0
        for match in _END.finditer(flat):
            # The word before the dot: at most 40 characters back, so this stays linear.
            before = flat[max(start, match.start() - 40) : match.start()]
            token = (before.rsplit(None, 1)[-1] if before.strip() else "").strip("(„\"'").lower()
            if match.group(0) == "." and _no_end(token):
                continue
            piece = flat[start : match.end()].strip()
            if piece:
                out.append(piece)
            start = match.end()
        if flat[start:].strip():
            out.append(flat[start:].strip())
    return out


def _no_end(token: str) -> bool:
    """The dot after this word ends no sentence: an abbreviation, an initial, a date."""
    token = token.strip("()[]")
    if "@" in token or "/" in token:
        return False  # an address or a link ends the sentence it closes
    return (
        len(token) <= 1
        or token in _ABBREVIATIONS
        or bool(_NUMBER.match(token))
        or bool(_DOTTED.match(token))  # "Dipl.-Ing", "z.B", "u.a"
    )


def mark(text: str) -> Sentence:
    """The marks of one sentence; ASCII spellings ("zurueckziehen") count as written."""
    plain = mark_as_written(text)
    spelled = _with_umlauts(text)
    if spelled == text:
        return plain
    other = mark_as_written(spelled)
    flags = {
        name: getattr(plain, name) or getattr(other, name)
        for name in (
            "question",
            "usual_condition",
            "registers",
            "cancels",
            "thanks",
            "informs",
            "mailing_list",
            "state",
            "conditional",
            "tentative",
        )
    }
    return Sentence(text=text, negated=plain.negated and other.negated, **flags)


def _with_umlauts(text: str) -> str:
    lowered = text.lower()
    if "ae" not in lowered and "oe" not in lowered and "ue" not in lowered:
        return text
    for ascii_form, umlaut in (
        ("ae", "ä"),
        ("oe", "ö"),
        ("ue", "ü"),
        ("Ae", "Ä"),
        ("Oe", "Ö"),
        ("Ue", "Ü"),
    ):
        text = text.replace(ascii_form, umlaut)
    return text


def mark_as_written(text: str) -> Sentence:
    question = text.rstrip().endswith("?") or bool(acts.QUESTION_START.search(text))
    if question and acts.ASKS_TO_REGISTER.search(text.strip()):
        question = False  # "Können Sie mich anmelden?" registers
    informs = bool(acts.INFORMS.search(text))
    act = acts.REGISTERS.search(text)
    if act is None and not informs:
        # "Wir kommen gerne" registers; "ich komme etwas später" tells how someone comes.
        act = acts.COMES.search(text)
    mailing_list = bool(acts.MAILING_LIST.search(text))
    if act is not None and mailing_list and not acts.REGISTERING_VERB.search(act.group(0)):
        act = None  # "please add me to your mailing list" asks for mail, not for a seat
    # A negation counts where the act is: "ich nehme nicht teil", not "falls nicht, ...".
    near = text[max(0, act.start() - 30) : act.end()] if act else ""
    # ... within the act's own clause: "es ist noch nicht zu spät: Hiermit melde ich mich an"
    near = re.split(r"[:;]\s", near)[-1] if act else ""
    return Sentence(
        text=text,
        question=question,
        registers=act is not None,
        cancels=bool(acts.CANCELS.search(text)),
        thanks=bool(acts.THANKS.search(text)),
        informs=informs,
        mailing_list=mailing_list,
        state=bool(acts.STATE.search(text)),
        conditional=bool(acts.CONDITION.search(acts.USUAL_CONDITION.sub(" ", text))),
        # "mit zwei, eventuell drei Personen" hedges the number, not the coming
        tentative=bool(acts.TENTATIVE.search(rules.VAGUE_COUNT.sub(" ", text))),
        usual_condition=bool(acts.USUAL_CONDITION.search(text)),
        negated=bool(acts.NEGATION.search(acts.USUAL_CONDITION.sub(" ", near or text))),
    )


def asks(text: str, marked: list[Sentence]) -> bool:
    """The mail asks something a person must answer."""
    return any(s.question for s in marked) or bool(acts.ASKS.search(text))


def _paragraphs(text: str) -> list[str]:
    paragraphs: list[str] = []
    lines: list[str] = []
    for line in [*text.split("\n"), ""]:
        if line.strip():
            lines.append(line)
        elif lines:
            paragraphs.append("\n".join(lines))
            lines = []
    return paragraphs
