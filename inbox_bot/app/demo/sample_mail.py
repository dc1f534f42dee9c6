"""The demo's sample mails: the .eml files in samples/, and samples.toml beside them for
what a mail cannot say about itself (when our mail server received it)."""

from __future__ import annotations

import email
import email.policy
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr, parsedate_to_datetime
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any

from inbox_bot.errors import InboxBotError

MANIFEST = "samples.toml"
# A Date: header this far off the arrival comes from a wrong clock; the demo says so.
CLOCK_SKEW = timedelta(hours=1)


@dataclass(frozen=True, kw_only=True)
class Sample:
    """One mail as it sits in the registration mailbox."""

    file: str
    data: bytes  # the mail as it goes into the mailbox, with CRLF line ends
    arrival: datetime  # INTERNALDATE: when our server received it
    name: str  # the sender's name as From: shows it
    address: str
    subject: str
    headers: Mapping[str, str]
    sent: datetime  # what the sender's computer wrote into Date:
    date_note: str = ""  # why Date: is far off the arrival (from samples.toml)

    @property
    def date_header(self) -> datetime | None:
        """The Date: header when it is far off the arrival (a wrong clock), else None."""
        return self.sent if abs(self.sent - self.arrival) > CLOCK_SKEW else None


def load_samples(folder: Traversable | None = None) -> tuple[Sample, ...]:
    """The mails samples.toml lists, in its order (by default the package's samples/)."""
    if folder is None:
        folder = resources.files("inbox_bot.app.demo").joinpath("samples")
    manifest = tomllib.loads(folder.joinpath(MANIFEST).read_text(encoding="utf-8"))
    return tuple(_sample(folder, entry) for entry in manifest["mail"])


def _sample(folder: Traversable, entry: Mapping[str, Any]) -> Sample:
    file, arrival = entry["file"], entry["arrival"]
    if not isinstance(arrival, datetime) or arrival.tzinfo is None:
        raise InboxBotError(f"{MANIFEST}: {file}: arrival needs a date, time and UTC offset")
    data = _crlf(folder.joinpath(file).read_bytes())
    message = email.message_from_bytes(data, policy=email.policy.default)
    name, address = parseaddr(str(message["From"]))
    sample = Sample(
        file=file,
        data=data,
        arrival=arrival,
        name=name,
        address=address,
        subject=str(message["Subject"]),
        headers=MappingProxyType({key: str(value) for key, value in message.items()}),
        sent=parsedate_to_datetime(str(message["Date"])),
        date_note=entry.get("date_note", ""),
    )
    if sample.date_header and not sample.date_note:
        raise InboxBotError(
            f"{MANIFEST}: {file}: Date: is far off the arrival; say why (date_note)"
        )
    return sample


def _crlf(data: bytes) -> bytes:
    """IMAP wants CRLF line ends, whatever an editor or a checkout made of the file."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


SAMPLES: tuple[Sample, ...] = load_samples()
