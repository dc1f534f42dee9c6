"""Raw bytes -> ParsedMail. The only module that touches mail-parser (pure).

Inbound headers are attacker-controlled: every string leaving this module is decoded,
stripped of control and format characters and bounded in length.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from email.header import Header, decode_header, make_header
from email.message import Message

import mailparser

from inbox_bot.core.bodytext import (
    MAX_HTML_CHARS,
    html_to_text,
    split_history,
    strip_invisible,
    tidy,
)
from inbox_bot.core.model import Address, ParsedMail
from inbox_bot.core.names import clean_address
from inbox_bot.errors import ParseError

# mail-parser logs every unhandled content type at WARNING; that is noise for staff.
logging.getLogger("mailparser").setLevel(logging.ERROR)

MAX_HEADER_VALUE = 2000
_MSGID = re.compile(r"<[^<>\s\x00-\x1f\x7f]{1,250}>")
# Replies go out as plain ASCII addresses: anything else (control bytes, 8-bit) is no
# address to answer; such a mail goes to staff.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
# The text of the body parts is read up to 1 MB: a registration is a few hundred
# characters, and the classifier reads less still (classify.MAX_TEXT_CHARS).
MAX_BODY_CHARS = 1024 * 1024


# CPython's header parser is super-linear on some inputs (";;;;", python/cpython#87075):
# refuse a huge header block, and any single header (also of a body part) over 32 KB.
MAX_HEADER_BYTES = 256 * 1024
MAX_ONE_HEADER = 32 * 1024
# A mail with thousands of parts is no registration; staff look at it.
MAX_PARTS = 500
_HEADER_LINE = re.compile(rb"^[!-9;-~]++:")


def parse_mail(raw: bytes) -> ParsedMail:
    _check_size(raw)
    try:
        mail = mailparser.parse_from_bytes(raw)
        message: Message = mail.message
    except Exception as exc:  # mail-parser raises many types on hostile input
        raise ParseError(f"{type(exc).__name__}: {exc}"[:300]) from exc
    parts = sum(1 for _ in message.walk())
    if parts > MAX_PARTS:
        raise ParseError(f"{parts} MIME parts (more than {MAX_PARTS})")
    headers = _headers(message)
    sender, spoofed = _first_address(message, "from")
    reply_to, _ = _first_address(message, "reply-to")
    full = _body_text(mail)
    split = split_history(full)
    return ParsedMail(
        message_id=_first_msgid(headers.get("message-id", ())),
        sender=sender,
        reply_to=reply_to,
        subject=one_line(" ".join(headers.get("subject", ()))),
        text=split.new,
        full_text=full,
        in_reply_to=_msgids(headers.get("in-reply-to", ())),
        references=_msgids(headers.get("references", ())),
        headers=headers,
        content_type=message.get_content_type(),
        report_type=(str(message.get_param("report-type") or "").lower() or None),
        attachment_types=tuple(
            str(a.get("mail_content_type", "")).lower() for a in mail.attachments
        ),
        defects=tuple(str(d) for d in (mail.defects_categories or ())),
        spoofed_display_name=spoofed,
    )


def _check_size(raw: bytes) -> None:
    end = raw.find(b"\r\n\r\n", 0, MAX_HEADER_BYTES + 4)
    if end < 0:
        end = raw.find(b"\n\n", 0, MAX_HEADER_BYTES + 2)
    if end < 0 and len(raw) > MAX_HEADER_BYTES:
        raise ParseError(f"header longer than {MAX_HEADER_BYTES // 1024} KB")
    if any(size > MAX_ONE_HEADER for size in _header_sizes(raw)):
        raise ParseError(f"a header line longer than {MAX_ONE_HEADER // 1024} KB")


def _header_sizes(raw: bytes) -> Iterator[int]:
    """The length of each header field so far, folded lines included.

    Header lines are those of the top-level header and of the header of each body part:
    after a boundary line ("--...") up to the blank line, as the email parser reads them.
    Lines of a body are no header, however they are indented (HTML often is).
    """
    in_header, current = True, 0
    for line in raw.splitlines():
        if in_header and line[:1] in (b" ", b"\t"):
            # A folded continuation of the field above; before any field, the parser
            # drops it (FirstHeaderLineIsContinuationDefect).
            current += len(line) if current else 0
        elif in_header and _HEADER_LINE.match(line):
            current = len(line)
        elif in_header and line.startswith(b"From "):
            continue  # an mbox "From " line: the parser skips it, the field above goes on
        else:
            # A blank line (or a line of text) ends a header; a boundary line begins one.
            in_header, current = line.startswith(b"--"), 0
        yield current


def one_line(value: str, limit: int = 300) -> str:
    """A header value fit to be shown or reused: one line, no invisible characters."""
    words = strip_invisible(" ".join(value.split())).split()
    return " ".join(words)[:limit]


def _headers(message: Message) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for name, value in message.items():
        text = strip_invisible(_decode(value), lines=True)
        found.setdefault(str(name).strip().lower(), []).append(text)
    return {k: tuple(v) for k, v in found.items()}


def _decode(value: object) -> str:
    try:
        if isinstance(value, Header):
            # Raw 8-bit bytes in a header (not RFC 2047): mostly UTF-8, else Windows-1252.
            text = "".join(_text(chunk, charset) for chunk, charset in decode_header(value))
        else:
            text = str(make_header(decode_header(str(value))))
    except Exception:  # malformed encoded words: keep what is readable
        text = str(value)
    return text[:MAX_HEADER_VALUE]


def _text(chunk: bytes | str, charset: str | None) -> str:
    if isinstance(chunk, str):
        return chunk
    if charset and charset != "unknown-8bit":
        try:
            return chunk.decode(charset, "replace")
        except LookupError:
            pass  # an unknown charset name: guess like for raw bytes
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError:
        return chunk.decode("cp1252", "replace")


def _first_address(message: Message, name: str) -> tuple[Address | None, bool]:
    """The first address of an address header, read from the RAW header text.

    Encoded words are decoded only for the display name, after the address is found:
    "=?utf-8?q?x:_anna@unna.de?= <mallory@evil.example>" is mallory, never anna. A
    display name that is itself an address is never used (spoofing).
    """
    for value in message.get_all(name) or ():
        raw = _raw_text(value)
        for segment in _top_level(raw, ","):
            found = _angle_address(segment)
            if found is None:
                continue
            display, address = found
            address = clean_address(address)
            # "=?" in a local part: the email package would show an encoded word in the
            # To: of our reply instead of the address it goes to.
            if not _ADDRESS.match(address) or "=?" in address:
                continue
            display = one_line(_decode(display).strip().strip('"').strip())
            spoofed = "@" in display
            return Address(name="" if spoofed else display, email=address), spoofed
    return None, False


def _raw_text(value: object) -> str:
    if isinstance(value, Header):
        # Raw 8-bit header bytes: text as written, encoded words (if any) left as they are.
        return "".join(_text(chunk, charset) for chunk, charset in decode_header(value))
    return str(value)


def _angle_address(segment: str) -> tuple[str, str] | None:
    """(display name, address): the last <...> of a segment, or the bare address."""
    segment = re.sub(r"\([^()]*\)", " ", segment).strip()  # comments
    close = segment.rfind(">")
    opened = segment.rfind("<", 0, close) if close >= 0 else -1
    if opened >= 0:
        return segment[:opened], segment[opened + 1 : close].strip()
    if "<" in segment or ">" in segment or " " in segment.strip():
        return None
    return "", segment.strip()


def _top_level(text: str, separator: str) -> list[str]:
    """Split at separators outside quotes and angle brackets."""
    parts: list[str] = []
    current: list[str] = []
    quoted, depth = False, 0
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            depth += 1
        elif char == ">" and not quoted and depth:
            depth -= 1
        if char == separator and not quoted and not depth:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def _first_msgid(values: tuple[str, ...]) -> str | None:
    ids = _msgids(values)
    return ids[0] if ids else None


def _msgids(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_MSGID.findall(" ".join(values)))[:50]


def _body_text(mail: mailparser.MailParser) -> str:
    plain = [p for p in (mail.text_plain or []) if p and p.strip()]
    if plain:
        return tidy("\n\n".join(plain)[:MAX_BODY_CHARS])
    html = [p for p in (mail.text_html or []) if p and p.strip()]
    if html:
        return tidy(_html_text(html)[:MAX_BODY_CHARS])
    return ""


def _html_text(parts: list[str]) -> str:
    """The text of the HTML parts; the converter reads MAX_HTML_CHARS of them in all."""
    texts, budget = [], MAX_HTML_CHARS
    for part in parts:
        if budget <= 0:
            break
        texts.append(html_to_text(part[:budget]))
        budget -= len(part)
    return "\n\n".join(texts)
