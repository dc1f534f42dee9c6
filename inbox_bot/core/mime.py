"""A reply's bytes: text/plain (UTF-8, quoted-printable) and calendar files (pure).

Built with the email package's classic API (email.mime, email.header; CRLF line ends):
the same MIME as its modern EmailMessage API gives, at a quarter of the cost (that API
parses every header it is given, and was half of the time a reply took). What reaches
a header has been made one safe line before (render.header_safe, the address checked
as an addr-spec), and render._check_headers reads the result once more.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from email import charset as charsets
from email import encoders
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.policy import SMTP, compat32
from typing import Any, cast

_UTF8_QP = charsets.Charset("utf-8")
_UTF8_QP.body_encoding = charsets.QP
_UTF8_QP.header_encoding = charsets.QP
_WIRE = compat32.clone(linesep="\r\n", max_line_length=78)


def build(
    *,
    sender: tuple[str, str],
    headers: Sequence[tuple[str, str]],
    text: str,
    calendars: Sequence[tuple[str, bytes]] = (),
) -> tuple[bytes, set[str]]:
    """The mail as bytes for SMTP, and the names of its top-level headers.

    `sender` is (display name, address); `headers` come after From in this order."""
    body = MIMEBase("text", "plain")
    body.set_payload(text, _UTF8_QP)
    mail: Message
    if calendars:
        mail = MIMEMultipart("mixed")
        del body["MIME-Version"]  # belongs to the top level only
        mail.attach(body)
        for filename, data in calendars:
            mail.attach(_calendar(filename, data))
    else:
        mail = body
    top = Message()
    for name, value in headers:
        top[name] = cast(Any, _value(name, value))
    for name, value in mail.items():  # MIME-Version and Content-* after ours
        top[name] = value
    top.set_payload(mail.get_payload())
    data = _from_line(*sender) + top.as_bytes(policy=_WIRE)
    return data, {"From", *top.keys()}


_MESSAGE_IDS = frozenset({"Message-ID", "In-Reply-To", "References"})


class _AsGiven:
    """A header value the classic folder leaves alone: a msg-id must never be split
    from its header name (it would read back with a leading space), so msg-id lists
    are folded here, between ids."""

    def __init__(self, text: str) -> None:
        self.text = text

    def encode(self, linesep: str = "\n", maxlinelen: int | None = None, **_: object) -> str:
        return self.text.replace("\r\n", linesep)

    def __str__(self) -> str:
        return self.text


def _value(name: str, value: str) -> object:
    if name in _MESSAGE_IDS:
        return _AsGiven(_fold_ids(name, value.split()))
    # A Header encodes (RFC 2047) and folds a non-ASCII value at 76 columns.
    return value if value.isascii() else Header(value, "utf-8")


def _fold_ids(name: str, ids: list[str]) -> str:
    lines, line = [], ""
    width = len(name) + 2
    for one in ids:
        if line and width + len(line) + 1 + len(one) > 78:
            lines.append(line)
            line, width = one, 1
        else:
            line = f"{line} {one}" if line else one
    lines.append(line)
    return "\r\n ".join(lines)


@functools.lru_cache(maxsize=4)
def _from_line(name: str, address: str) -> bytes:
    """The From line, folded by the modern API (it encodes a display name so that every
    parser reads it back whole); the same for every reply, so made once."""
    mail = EmailMessage(policy=SMTP)
    mail["From"] = Address(display_name=name, addr_spec=address)
    return SMTP.fold_binary("From", mail["From"])


def _calendar(filename: str, data: bytes) -> Message:
    """text/calendar; method=PUBLISH, base64 so the .ics keeps its CRLFs and folding."""
    part = MIMEBase("text", "calendar", charset="utf-8", method="PUBLISH")
    part.set_payload(data)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=filename)
    del part["MIME-Version"]
    return part
