"""The security review's smaller findings that pure code decides: the address a reply
shows is the address it goes to, and staff views show what is really there."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbox_bot.config import settings_from_mapping
from inbox_bot.core.model import ReplyKind
from inbox_bot.core.parse import parse_mail
from inbox_bot.core.render import Renderer
from inbox_bot.core.visible import MIXED, shown
from inbox_bot.errors import TemplateError


def _renderer(tmp_path: Path) -> Renderer:
    raw = {
        "imap": {"host": "imap.example.org"},
        "smtp": {"host": "smtp.example.org", "from_address": "smartcity@dortmund.de"},
        "event": {
            "title": "Interkommunaler Austausch",
            "organizer": "Allianz Smart City Dortmund",
            "starts_at": "2018-12-05T10:00:00+01:00",
            "ends_at": "2018-12-05T13:00:00+01:00",
            "venue": "Saal 9",
            "capacity": 10,
            "registration_deadline": "2018-11-23T23:59:59+01:00",
        },
    }
    return Renderer(settings_from_mapping(raw, base=tmp_path, environ={}))


@pytest.mark.parametrize(
    "sender",
    [
        "=?utf-8?q?anna=40unna=2Ede?=@evil.example",
        '"=?utf-8?b?YW5uYUB1bm5hLmRl?="@evil.example',
        "anna=?x?=@evil.example",
    ],
)
def test_an_encoded_word_in_a_local_part_is_no_address_we_answer(sender: str) -> None:
    raw = (
        f"From: Anna <{sender}>\r\nSubject: Anmeldung\r\nMessage-ID: <e@x>\r\n\r\n"
        "Hiermit melde ich mich an.\r\n"
    ).encode()
    assert parse_mail(raw).sender is None


def test_a_reply_is_never_addressed_with_an_encoded_word(tmp_path: Path) -> None:
    renderer = _renderer(tmp_path)
    with pytest.raises(TemplateError):
        renderer.compose(
            kind=ReplyKind.QUESTION,
            recipient="=?utf-8?q?anna?=@evil.example",
            subject="Re: x",
            text="Guten Tag",
            now=datetime(2018, 11, 6, tzinfo=UTC),
            original=None,
        )
    row = renderer.compose(
        kind=ReplyKind.QUESTION,
        recipient="anna.schulz@unna.de",
        subject="Re: x",
        text="Guten Tag",
        now=datetime(2018, 11, 6, tzinfo=UTC),
        original=None,
    )
    assert b"\r\nTo: anna.schulz@unna.de\r\n" in row.data


@pytest.mark.parametrize(
    ("given_text", "seen"),
    [
        ("Anna Schulz", "Anna Schulz"),
        ("Anna\u202e Schulz", "Anna Schulz"),  # right-to-left override
        ("An\u200bna Schu\u00adlz", "Anna Schulz"),  # zero-width space, soft hyphen
        ("Anna\x85Schulz\x9b", "AnnaSchulz"),  # C1 controls
        ("\u0410nna Schulz", f"\u0410nna{MIXED}[Cyrillic+Latin] Schulz"),  # Cyrillic first letter
        ("Łukasz Yıldız Müller", "Łukasz Yıldız Müller"),  # one script, many letters
    ],
)
def test_staff_views_show_what_is_really_there(given_text: str, seen: str) -> None:
    assert shown(given_text) == seen


def test_four_look_alike_names_are_four_different_names_on_screen() -> None:
    names = ["Anna Schulz", "\u0410nna Schulz", "Anna\u202e Schulz\u202c", "Anna Schul\u0437"]
    # the invisible override is gone; the two look-alikes are marked, so all differ
    assert len({shown(n) for n in names}) == 3
    assert sum(MIXED in shown(n) for n in names) == 2


@given(st.text(max_size=80))
def test_shown_leaves_no_control_or_format_character(text: str) -> None:
    assert not [
        c for c in shown(text) if unicodedata.category(c) in ("Cc", "Cf") and c not in "\n\t\r"
    ]
