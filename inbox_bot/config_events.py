"""The events of the configuration: one `[event]` (a series of one) or `[[events]]`.

Each event has the keys of `[event]`, plus `key` (its name on the command line, in the
database and in exports), `keywords` (words that name it in a mail) and
`invitation_message_ids` (replies to these invitations belong to it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

KEY = re.compile(r"^[a-z0-9-]{1,40}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventSettings(_Section):
    # "" for the one event of an `[event]` config; each of `[[events]]` needs its own.
    key: str = ""
    title: str = Field(min_length=1)
    organizer: str = Field(min_length=1)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    timezone: str = "Europe/Berlin"
    venue: str = Field(min_length=1)
    # At least one seat: "alle 0 Plätze" is no event anyone can register for.
    capacity: int = Field(ge=1)
    registration_deadline: AwareDatetime
    # Further addresses of the registration mailbox (aliases): mail from them is our own.
    own_addresses: tuple[str, ...] = ()
    # Words that name this event in a mail ("Mobilität", "Klimamessnetz"): a hint for
    # routing in a series, never proof on their own when another event fits too.
    keywords: tuple[str, ...] = ()
    # Message-IDs of the invitations staff sent for this event: replies route themselves.
    invitation_message_ids: tuple[str, ...] = ()

    @field_validator("key")
    @classmethod
    def _slug(cls, value: str) -> str:
        if value and not KEY.match(value):
            raise ValueError(
                f"{value!r}: a key is lower-case letters, digits and '-' (e.g. \"energie\")"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("invitation_message_ids")
    @classmethod
    def _angle_brackets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v if v.startswith("<") else f"<{v.strip('<>')}>" for v in value)

    @model_validator(mode="after")
    def _ordered_times(self) -> EventSettings:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    @property
    def label(self) -> str:
        """How staff see it named in a message: its key, or its title in a series of one."""
        return self.key or self.title


class RoutingSettings(_Section):
    """How a mail finds its event in a series."""

    # smartcity+KEY@dortmund.de in To/Cc/Delivered-To names the event. Off by default:
    # a mail server without plus-addressing bounces such mail.
    plus_addressing: bool = False


def series_problem(events: Sequence[EventSettings], *, single: bool) -> str | None:
    """What is wrong with the events together, naming the event; None if nothing."""
    if not events:
        return "missing [event] (or [[events]])"
    seen: dict[str, int] = {}
    words: dict[str, str] = {}
    for number, event in enumerate(events, start=1):
        name = f"events[{number}]" if not single else "event"
        if not single and not event.key:
            return f'{name}.key: each of [[events]] needs a key (e.g. key = "energie")'
        if event.key in seen:
            return f"{name}.key: {event.key!r} is the key of events[{seen[event.key]}] too"
        seen[event.key] = number
        if event.registration_deadline > event.starts_at:
            return (
                f"{name}.registration_deadline ({event.label}): the deadline is after the "
                "event starts"
            )
        for word in event.keywords:
            folded = word.strip().casefold()
            if folded in words:
                return (
                    f"{name}.keywords ({event.label}): {word!r} is a keyword of "
                    f"{words[folded]} too; it could not tell them apart"
                )
            words[folded] = event.label
    return None
