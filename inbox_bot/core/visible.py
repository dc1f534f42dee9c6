"""Text from mail as staff see it: nothing invisible, nothing that passes for another.

Every name, address, subject and reason shown to staff (terminal, report page, review
queue) goes through `shown`: control and format characters (a bidi override that turns
"Anna" around, a zero-width space) are removed, and a word that mixes scripts ("Anna"
written with a Cyrillic first letter) is marked, so that four different people never look like one.
parse.py already strips invisible characters from mail; this is the last line for
older databases and for text that reaches a view by another way.
"""

from __future__ import annotations

import unicodedata

from inbox_bot.core.bodytext import strip_invisible

MIXED = "⚠"  # shown after a word whose letters come from more than one script


def shown(value: object) -> str:
    """One value fit for a staff view."""
    text = strip_invisible("" if value is None else str(value), lines=True)
    return " ".join(_marked(word) for word in text.split(" ")) if _has_mixed(text) else text


def scripts(word: str) -> set[str]:
    """The scripts of the letters of a word: {"LATIN"}, {"LATIN", "CYRILLIC"}, ..."""
    found = set()
    for char in word:
        if char.isalpha():
            name = unicodedata.name(char, "")
            found.add(name.split(" ", 1)[0] if name else "UNKNOWN")
    return found


def _has_mixed(text: str) -> bool:
    return not text.isascii() and any(len(scripts(word)) > 1 for word in text.split())


def _marked(word: str) -> str:
    mixed = scripts(word)
    if len(mixed) <= 1:
        return word
    return f"{word}{MIXED}[{'+'.join(sorted(s.title() for s in mixed))}]"


def counted(number: int, one: str, many: str) -> str:
    """ "1 Person", "2 Personen": staff read sentences, not "Person(en)"."""
    return f"{number} {one if number == 1 else many}"
