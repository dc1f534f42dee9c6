"""The readable text of a mail body: HTML to text, quoted history split off (pure).

Every character here comes from a stranger: the work stays linear in the length of the
text (no pattern backtracks over a long run), and the HTML converter reads a bounded
amount.
"""

from __future__ import annotations

import html as entities
import re
from collections.abc import Iterator
from dataclasses import dataclass

from inscriptis import get_text
from inscriptis.model.config import ParserConfig

_HTML_CONFIG = ParserConfig(display_links=False, display_anchors=False)

# The converter reads at most 512 KB of markup: an HTML registration is 5-60 KB (Outlook's
# styles included), and the text that matters comes first.
MAX_HTML_CHARS = 512 * 1024
# inscriptis pads every table cell to its column's width and its row's height, so a table
# with one tall and one wide cell becomes height x width characters (a 60 KB table took
# 29 s). Tables that could grow beyond a megabyte of text together, or more cells than
# any list of attendees, are read by the plain extractor below instead; every other mail
# keeps inscriptis.
MAX_TABLE_CELLS = 2000
MAX_TABLE_AREA = 1_000_000

# Where the history of a reply or a forward begins, in the mail programs our senders use.
# Leading blanks only within the line ([^\S\n]), runs possessive (*+): no backtracking
# over long runs of spaces or blank lines.
_HISTORY_START = re.compile(
    r"""^[^\S\n]*+(?:
        -{2,}\s*(?:Original\s*Message|Urspr(?:ü|ue)ngliche\s*Nachricht|Weitergeleitete\s*Nachricht
                |Forwarded\s*message|Original-Nachricht)\s*-{2,}
      | (?:Von|From)\s*+:\s*+.++\n\s*+(?:Gesendet|Sent|Datum|Date|An|To)\s*:
      | Am\s.{4,120}\s(?:schrieb|hat\s.{1,80}\sgeschrieben)\s*+.*:\s*$
      | On\s.{4,120}\swrote\s*:\s*$
      | Begin\s+forwarded\s+message\s*:
      | Anfang\s+der\s+weitergeleiteten\s+(?:E-Mail|Nachricht)\s*:
    )""",
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)
# Outlook's echo of an address; [^<>] so that a '<mailto:' without its '>' is read once.
_MAILTO = re.compile(r"<mailto:[^<>]*+>")
_BLANK_LINES = re.compile(r"\n{3,}")

# Unicode format characters (category Cf, Unicode 14 as in Python 3.11): bidi overrides and
# isolates, zero-width spaces and joiners, soft hyphen, BOM. tests/test_linear.py checks
# the list against unicodedata.
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f"
)
_INVISIBLE = re.compile(f"[\x00-\x1f\x7f-\x9f{_FORMAT}]+")
_INVISIBLE_IN_LINES = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_FORMAT}]+")


@dataclass(frozen=True, kw_only=True)
class SplitText:
    new: str  # what the sender wrote now
    history: str  # quoted or forwarded mail below it ("" when none)


def strip_invisible(text: str, *, lines: bool = False) -> str:
    """`text` without control characters (C0, C1) and format characters (Unicode Cf).

    "an\\u200bmelden" reads as "anmelden", and a bidi override cannot disguise a name.
    With lines=True, line breaks and tabs stay (CR, LF, tab: body text, folded headers).
    """
    return (_INVISIBLE_IN_LINES if lines else _INVISIBLE).sub("", text)


def html_to_text(html: str) -> str:
    html = html[:MAX_HTML_CHARS]
    text = get_text(html, _HTML_CONFIG) if _tables_fit(html) else _plain_text(html)
    return "\n".join(line.strip() for line in text.splitlines())


def tidy(text: str) -> str:
    """Normalise line ends, drop invisible characters and Outlook's '<mailto:...>' echoes."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = _MAILTO.sub("", strip_invisible(text, lines=True))
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def split_history(text: str) -> SplitText:
    match = _HISTORY_START.search(text)
    start = _blank_lines_above(text, match.start()) if match else len(text)
    new, history = text[:start], text[start:]
    kept = [line for line in new.splitlines() if not line.lstrip().startswith(">")]
    quoted = [line for line in new.splitlines() if line.lstrip().startswith(">")]
    history = "\n".join([*quoted, history]).strip() if quoted else history.strip()
    return SplitText(new="\n".join(kept).strip(), history=history)


def _blank_lines_above(text: str, start: int) -> int:
    """Where the blank lines right above the line at `start` begin: they go with it."""
    last = len(text[:start].rstrip())
    return text.find("\n", last) + 1 if last else 0


# --- HTML without inscriptis: one pass, each character read once ---
#
# Not html.parser: Python 3.11's HTMLParser is quadratic on unclosed constructs
# ("<a " repeated: 33 KB took 9 s, 100 KB 146 s; CVE-2025-6069).

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*+)[^>]*+>?")
_RAW_TEXT_END = {
    name: re.compile(rf"</{name}", re.IGNORECASE) for name in ("script", "style", "title")
}
# Bounded, so that '&#' and a million digits is text, not an int() of a million digits.
_ENTITY = re.compile(
    r"&(?:#[0-9]{1,7}(?![0-9])|#[xX][0-9a-fA-F]{1,6}(?![0-9a-fA-F])|[A-Za-z][A-Za-z0-9]{1,31});?"
)
_SPACES = re.compile(r"\s+")
_CELLS = frozenset({"td", "th"})
_BLOCKS = frozenset(
    """p div br tr li ul ol dl dt dd table thead tbody tfoot caption blockquote pre hr
    h1 h2 h3 h4 h5 h6 section article header footer address form fieldset""".split()
)


def _tokens(html: str) -> Iterator[tuple[str, str]]:
    """("text", data) and ("tag", "td" or "/td"), in document order."""
    pos, end = 0, len(html)
    while pos < end:
        start = html.find("<", pos)
        if start < 0:
            yield "text", html[pos:]
            return
        if start > pos:
            yield "text", html[pos:start]
        tag = _TAG.match(html, start)
        if html.startswith("<!--", start):
            close = html.find("-->", start + 4)
            pos = end if close < 0 else close + 3
        elif tag is not None:
            name = tag.group(2).lower()
            yield "tag", tag.group(1) + name
            pos = tag.end()
            if name in _RAW_TEXT_END and not tag.group(1):
                close_tag = _RAW_TEXT_END[name].search(html, pos)
                pos = end if close_tag is None else close_tag.start()
        elif html.startswith(("<!", "<?", "</"), start):
            close = html.find(">", start)
            pos = end if close < 0 else close + 1
        else:
            yield "text", "<"
            pos = start + 1


def _tables_fit(html: str) -> bool:
    """The tables' padded layouts, all together, fit MAX_TABLE_AREA; at most
    MAX_TABLE_CELLS cells."""
    if "<table" not in html.lower():
        return True
    now = [0, 0, 0]  # block tags, characters of text, cells: so far
    begun: list[tuple[int, ...]] = []  # the counts where each open table began
    area = 0
    for kind, value in _tokens(html):
        if kind == "text":
            now[1] += len(value.strip())
            continue
        now[0] += value in _BLOCKS
        now[2] += value in _CELLS
        if value == "table":
            begun.append(tuple(now))
        elif value == "/table" and begun:
            area += _area(begun.pop(), now)
        if area > MAX_TABLE_AREA or now[2] > MAX_TABLE_CELLS:
            return False
    return area + sum(_area(start, now) for start in begun) <= MAX_TABLE_AREA


def _area(start: tuple[int, ...], now: list[int]) -> int:
    """At most how many characters inscriptis lays a table out in: lines x widths."""
    lines, chars, cells = (n - s for s, n in zip(start, now, strict=True))
    return (lines + 1) * (chars + 2 * cells)


def _plain_text(html: str) -> str:
    """Text of the markup: cells two spaces apart, rows and blocks on lines of their own."""
    out: list[str] = []
    for kind, value in _tokens(html):
        if kind == "text":
            out.append(_SPACES.sub(" ", _ENTITY.sub(_entity, value)))
        elif value in _CELLS:
            out.append("  ")
        elif value.lstrip("/") in _BLOCKS:
            out.append("\n")
    return "".join(out)


def _entity(match: re.Match[str]) -> str:
    return entities.unescape(match.group(0))
