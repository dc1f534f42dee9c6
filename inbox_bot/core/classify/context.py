"""What the classifier knows about us, and the limits of what it reads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypeVar

from inbox_bot.core.classify.echo import OwnWords
from inbox_bot.core.classify.event import EventFacts
from inbox_bot.core.classify.organizations import Directory

T = TypeVar("T")

# The analysers read at most 64 KB of the new text and of the whole text: a registration
# is a few hundred characters, and what follows 64 KB (a pasted log, megabytes of junk)
# registers nobody. Every pattern is linear; the cap bounds what a hostile mail costs.
MAX_TEXT_CHARS = 64 * 1024
# More than persons_per_mail (10 by default) persons in one mail go to staff anyway
# (allocate.py): reading names stops after this many candidates, and the mail goes to
# staff as naming "more than MAX_CANDIDATES persons".
MAX_CANDIDATES = 200
# The blanks after a full stop, question or exclamation mark.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, kw_only=True)
class Context:
    """What the classifier knows about us."""

    own_addresses: frozenset[str]
    message_id_domain: str
    internal_domains: frozenset[str]
    directory: Directory
    # The wording of our own replies: repeated in a mail, it is never the sender's.
    own_words: OwnWords = field(default_factory=OwnWords)
    # Our event(s) as a mail names them: a mail naming only another event is not ours.
    events: tuple[EventFacts, ...] = ()


@dataclass(frozen=True, kw_only=True)
class _Body:
    text: str  # what the sender wrote now, without signature
    signature: tuple[str, ...]  # lines after the closing formula
    forwarded: bool
    from_history: bool = False  # the intent was found only in the forwarded part


class _TooManyPersons(Exception):
    """The mail names more than MAX_CANDIDATES persons: staff read the list."""
