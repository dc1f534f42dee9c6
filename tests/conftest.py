"""Shared fixtures: real servers on loopback and the shared mail corpora.

Deliberately imports nothing from inbox_bot, so these fixtures keep working while the
package changes shape.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import DOVECOT_BINARY, Dovecot, SmtpSink

SHARED_DIR = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One throwaway Dovecot for the whole session; prefer `mailbox`, which resets it."""
    if not DOVECOT_BINARY.exists():
        message = f"{DOVECOT_BINARY} is missing: install dovecot-imapd (Debian/Ubuntu)"
        if os.environ.get("CI") == "true":
            # On CI a skipped IMAP suite would look green while proving nothing.
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
    with Dovecot() as server:
        yield server


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Dovecot:
    """The session's Dovecot with an empty INBOX and no other folders."""
    dovecot.reset()
    return dovecot


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A fresh capturing SMTP server per test, so armed faults never leak between tests."""
    with SmtpSink() as sink:
        yield sink


def _shared_folder(name: str) -> Path:
    folder = SHARED_DIR / name
    if not folder.is_dir():
        pytest.skip(f"shared folder {folder} is missing")
    return folder


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The labelled .eml corpus (labels.json beside the mails)."""
    return _shared_folder("corpus")


@pytest.fixture(scope="session")
def badmail_dir() -> Path:
    """Hostile and malformed mail from other projects' test suites."""
    return _shared_folder("badmail")
