"""Raw bytes -> what the mail says: parse, then classify (pure).

The reader process (adapters/reader.py) runs exactly this within its budget; the scorer
runs it in process on labelled files.
"""

from __future__ import annotations

import re

from inbox_bot.core.classify import Context, classify
from inbox_bot.core.model import Analysis, Unreadable
from inbox_bot.core.parse import parse_mail
from inbox_bot.errors import ParseError

_MSGID_HEADER = re.compile(rb"^message-id:[ \t]*+(<[!-=?-~]{1,250}>)", re.I | re.M)


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID of a mail that may not parse at all: read from the header bytes."""
    head_end = raw.find(b"\r\n\r\n", 0, 256 * 1024)
    if head_end < 0:
        head_end = raw.find(b"\n\n", 0, 256 * 1024)
    head = raw[: head_end if head_end >= 0 else 256 * 1024]
    found = _MSGID_HEADER.search(head)
    return found.group(1).decode("ascii") if found else None


def analyse_bytes(raw: bytes, ctx: Context) -> Analysis | Unreadable:
    """The pure work: parse, then classify."""
    try:
        parsed = parse_mail(raw)
    except ParseError as exc:
        return Unreadable(reason=f"Mail nicht lesbar: {exc}", message_id=message_id_of(raw))
    return Analysis(parsed=parsed, intent=classify(parsed, ctx))
