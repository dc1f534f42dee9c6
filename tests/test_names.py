"""Person names and addresses in canonical form (inbox_bot.core.names, pure)."""

from __future__ import annotations

import pytest

from inbox_bot.core.names import canonical_name, clean_address, names_match, same_address


@pytest.mark.parametrize(
    ("display", "expected"),
    [
        ("Jürgen Müller", "Jürgen Müller"),
        ("Müller, Jürgen", "Jürgen Müller"),
        ("Reuter-Lang, Claudia, Dr.", "Claudia Reuter-Lang"),
        ("Prof. Dr.-Ing. Arne Vöcking", "Arne Vöcking"),
        ("Ahrens, Nadine (Stadt Iserlohn)", "Nadine Ahrens"),
        ("Müller, Jürgen, Dr. (Stadt Unna)", "Jürgen Müller"),
        ("Brenner, Lukas [Kreis Soest]", "Lukas Brenner"),
        ('"Brenner, Lukas"', "Lukas Brenner"),
        ("Frau Dr. med. Anna Schmidt", "Anna Schmidt"),
        ("Herrn Lukas Brenner", "Lukas Brenner"),
        ("Dipl.-Ing. Karl Drechsler", "Karl Drechsler"),  # 'Dr' inside a word stays
        ("Jürgen Müller-Medina", "Jürgen Müller-Medina"),  # 'Med' inside a word stays
        ("von Weizsäcker, Richard", "Richard von Weizsäcker"),  # particle kept with surname
        ("Ursula von der Leyen", "Ursula von der Leyen"),
        ("Weizsäcker, Richard von", "Richard von Weizsäcker"),
        ("  Anna   Schmidt  ", "Anna Schmidt"),
        ("anna.schmidt@example.de", ""),  # an address is no name
        ("", ""),
        ("Dr.", ""),
    ],
)
def test_canonical_name(display: str, expected: str) -> None:
    assert canonical_name(display) == expected


@pytest.mark.parametrize(
    ("named", "full", "expected"),
    [
        ("Brenner", "Lukas Brenner", True),
        ("Herr Brenner", "Lukas Brenner", True),
        ("brenner", "Lukas Brenner", True),
        ("Lukas Brenner", "Lukas Brenner", True),
        ("Müller", "Jürgen Mueller", True),  # umlaut and its ASCII spelling
        ("Juergen Mueller", "Jürgen Müller", True),
        ("Strauß", "Johann Strauss", True),
        ("José", "José Álvarez", True),
        ("Jose Alvarez", "José Álvarez", True),  # accents ignored
        ("Dr. Vöcking", "Arne Vöcking", True),
        ("Anna Brenner", "Lukas Brenner", False),  # every token must be there
        ("Brenner", "Lukas Brennecke", False),
        ("Lukas Brenner", "Brenner", False),
        ("", "Lukas Brenner", False),  # naming nobody matches nobody
        ("Herr", "Lukas Brenner", False),  # a title alone names nobody
        ("L.", "Lukas Brenner", False),  # single letters are no tokens
    ],
)
def test_names_match(named: str, full: str, expected: bool) -> None:
    assert names_match(named, full) is expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("anna@example.de", "anna@example.de", True),
        ("anna@example.de", "anna@EXAMPLE.DE", True),
        ("<anna@Example.de>", " anna@example.de ", True),
        ("Anna@example.de", "anna@example.de", True),  # local parts compared case-blind too
        ("anna@example.de", "anna@example.com", False),
        ("anna@example.de", "anne@example.de", False),
        ("anna@example.de", None, False),
        (None, None, False),
        ("", "", False),
    ],
)
def test_same_address(a: str | None, b: str | None, expected: bool) -> None:
    assert same_address(a, b) is expected
    assert same_address(b, a) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Anna@Example.DE", "Anna@example.de"),  # only the domain is lowercased
        ("<anna@example.de>", "anna@example.de"),
        ("  anna@example.de ", "anna@example.de"),
        ("ANNA", "anna"),
    ],
)
def test_clean_address(raw: str, expected: str) -> None:
    assert clean_address(raw) == expected


def test_apostrophes_inside_names_are_kept_and_outlook_quotes_dropped() -> None:
    assert canonical_name("O'Brien, Sean") == "Sean O'Brien"
    assert canonical_name("'Kersting, Simone'") == "Simone Kersting"
