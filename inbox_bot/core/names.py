"""Person names and addresses in canonical form (pure)."""

from __future__ import annotations

import re
import unicodedata

# Academic and honorific titles never belong in the name field of an attendee list.
_TITLE = re.compile(
    r"\b(?:prof|dr|dipl|med|rer|nat|phil|jur|oec|habil|h\.\s*c|"
    r"herr|herrn|frau|mr|mrs|ms|miss|phd|ph\.\s?d|m\.\s?sc|msc|b\.\s?sc|bsc|mba|"
    r"m\.\s?a|b\.\s?a|ll\.\s?m|m\.\s?eng|b\.\s?eng)\b\.?(?:-\w+\.?)*",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")


def clean_address(address: str) -> str:
    """addr-spec with the domain lowercased.

    The local part keeps its spelling for replies; comparisons (same_address) ignore
    its case, as practically every mail system does.
    """
    address = address.strip().strip("<>").strip()
    local, at, domain = address.rpartition("@")
    if not at:
        return address.lower()
    return f"{local}@{domain.lower()}"


def address_key(address: str) -> str:
    """What two spellings of one address share (the local part's case ignored too)."""
    return clean_address(address).casefold()


def same_address(a: str | None, b: str | None) -> bool:
    return bool(a and b) and address_key(a or "") == address_key(b or "")


def domain_of(address: str | None) -> str:
    return (address or "").rpartition("@")[2].lower()


def strip_titles(name: str) -> str:
    return _SPACE.sub(" ", _TITLE.sub(" ", name)).strip(" ,;-")


def canonical_name(display: str) -> str:
    """'Müller, Jürgen, Dr. (Stadt Unna)' -> 'Jürgen Müller'."""
    # The organisation in brackets. Innermost brackets: "\([^)]*\)" read to the end of the
    # text again at each "(" of "((((...".
    name = re.sub(r"\([^()]*\)|\[[^\[\]]*\]", " ", display)
    # Outlook quotes names ("'Kersting, Simone'"); an apostrophe inside (O'Brien) stays.
    name = name.replace('"', " ").strip().strip("'")
    if "@" in name:
        return ""
    parts = [strip_titles(p) for p in name.split(",")]
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return _SPACE.sub(" ", parts[0] if parts else "").strip()
    # Outlook's "Nachname, Vorname": turn it around.
    name = f"{parts[1]} {parts[0]}"
    return _SPACE.sub(" ", name).strip()


def name_tokens(name: str) -> frozenset[str]:
    """Comparable tokens: case, accents of ASCII spellings and titles ignored."""
    text = strip_titles(name).casefold()
    for umlaut, ascii_form in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, ascii_form)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return frozenset(t for t in re.split(r"[^\w]+", text) if len(t) > 1)


def names_match(named: str, full: str) -> bool:
    """True when every token of `named` (e.g. 'Herr Brenner') is in `full`."""
    wanted, have = name_tokens(named), name_tokens(full)
    return bool(wanted) and wanted <= have
