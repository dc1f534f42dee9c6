"""`auth = "oauth2"` in [imap]/[smtp]: what the config must say, as one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes import fast_settings

from inbox_bot.adapters.tokens import access_token, xoauth2
from inbox_bot.errors import ConfigError, LoginRefused


@pytest.mark.parametrize(
    ("imap", "words"),
    [
        ({"auth": "oauth2", "username": "smartcity@dortmund.de"}, "needs username"),
        ({"auth": "oauth2", "token_command": ["get-token"]}, "needs username"),
        ({"token_command": ["get-token"]}, 'only with auth = "oauth2"'),
        (
            {
                "auth": "oauth2",
                "username": "a@b.de",
                "token_command": ["t"],
                "password_env": "X",
            },
            "takes no password",
        ),
    ],
)
def test_an_incomplete_oauth2_config_says_what_is_missing(
    tmp_path: Path, imap: dict[str, Any], words: str
) -> None:
    with pytest.raises(ConfigError, match=words):
        fast_settings(tmp_path, imap=imap)


@pytest.mark.integration  # runs a command: not for the in-process tier
def test_the_token_is_what_the_command_prints_and_a_failure_names_the_account(
    tmp_path: Path,
) -> None:
    good = fast_settings(
        tmp_path,
        imap={"auth": "oauth2", "username": "a@b.de", "token_command": ["echo", "tok-123"]},
    )
    assert access_token(good.imap, "imap", LoginRefused) == "tok-123"
    bad = fast_settings(
        tmp_path,
        imap={"auth": "oauth2", "username": "a@b.de", "token_command": ["false"]},
    )
    with pytest.raises(LoginRefused, match=r"imap \(a@b.de\): token_command gave no token"):
        access_token(bad.imap, "imap", LoginRefused)


def test_the_xoauth2_string_is_the_providers_format() -> None:
    assert xoauth2("a@b.de", "T") == "user=a@b.de\x01auth=Bearer T\x01\x01"
