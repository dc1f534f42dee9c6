"""The readable text of a mail body: HTML to text, quoted history split off (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from inscriptis import get_text
from inscriptis.model.config import ParserConfig

_HTML_CONFIG = ParserConfig(display_links=False, display_anchors=False)

# Where the history of a reply or a forward begins, in the mail programs our senders use.
_HISTORY_START = re.compile(
    r"""^\s*(?:
        -{2,}\s*(?:Original\s*Message|Urspr(?:ü|ue)ngliche\s*Nachricht|Weitergeleitete\s*Nachricht
                |Forwarded\s*message|Original-Nachricht)\s*-{2,}
      | (?:Von|From)\s*:\s*.+\n\s*(?:Gesendet|Sent|Datum|Date|An|To)\s*:
      | Am\s.{4,120}\s(?:schrieb|hat\s.{1,80}\sgeschrieben)\s*.*:\s*$
      | On\s.{4,120}\swrote\s*:\s*$
      | Begin\s+forwarded\s+message\s*:
      | Anfang\s+der\s+weitergeleiteten\s+(?:E-Mail|Nachricht)\s*:
    )""",
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)
_MAILTO = re.compile(r"<mailto:[^>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, kw_only=True)
class SplitText:
    new: str  # what the sender wrote now
    history: str  # quoted or forwarded mail below it ("" when none)


def html_to_text(html: str) -> str:
    text = get_text(html, _HTML_CONFIG)
    return "\n".join(line.strip() for line in text.splitlines())


def tidy(text: str) -> str:
    """Normalise line ends, drop control characters and Outlook's '<mailto:...>' echoes."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = _MAILTO.sub("", _CONTROL.sub("", text))
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def split_history(text: str) -> SplitText:
    match = _HISTORY_START.search(text)
    new, history = (text[: match.start()], text[match.start() :]) if match else (text, "")
    kept = [line for line in new.splitlines() if not line.lstrip().startswith(">")]
    quoted = [line for line in new.splitlines() if line.lstrip().startswith(">")]
    history = "\n".join([*quoted, history]).strip() if quoted else history.strip()
    return SplitText(new="\n".join(kept).strip(), history=history)
