"""Shared fixtures: real servers on loopback and the shared mail corpora; the test tiers.

Deliberately imports nothing from inbox_bot, so these fixtures keep working while the
package changes shape.

Tiers (markers registered in pyproject.toml, applied here, see README "Tests"):

- fast: everything not marked below. No server, no browser, no office suite, no
  subprocess of the bot.
- ``integration``: real Dovecot, aiosmtpd, Chromium, LibreOffice, the CLI as a
  subprocess, kill -9. Set automatically for every test that uses one of
  INTEGRATION_FIXTURES (also through another fixture); test files that start such
  things without a fixture say so with ``pytestmark`` / ``@pytest.mark.integration``.
- ``shared``: needs the shared corpus folders beside the checkout (../shared). Set
  automatically for every test that uses one of SHARED_FIXTURES. Without ../shared the
  tier is deselected as a whole (never skipped test by test) and pytest's header and
  summary say so; with CI=true a missing ../shared fails the session instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import DOVECOT_BINARY, Dovecot, SmtpSink

SHARED_DIR = Path(__file__).resolve().parents[2] / "shared"

# Fixtures that start a real server or a browser. A test using any of them, directly or
# through another fixture, is in the integration tier. `dovecots`/`inbox` are
# tests/test_tls.py's TLS Dovecots, `chromium` is tests/test_report.py's browser.
INTEGRATION_FIXTURES = frozenset(
    {
        "dovecot",
        "mailbox",
        "smtp_sink",
        "module_mailbox",
        "module_smtp_sink",
        "dovecots",
        "inbox",
        "chromium",
    }
)
# Fixture -> the folder of ../shared it reads.
SHARED_FIXTURES = {
    "corpus_dir": "corpus",
    "badmail_dir": "badmail",
    "series_dir": "corpus-series-examples",
}

_SHARED_STATE = pytest.StashKey[dict[str, object]]()


# --------------------------------------------------------------------------- tiers


def _shared_folders_needed(item: pytest.Item) -> set[str]:
    names = set(getattr(item, "fixturenames", ()))
    needed = {folder for fixture, folder in SHARED_FIXTURES.items() if fixture in names}
    if not needed and item.get_closest_marker("shared"):
        needed = set(SHARED_FIXTURES.values())  # marked by hand: it may read any of them
    return needed


def _markers(item: pytest.Item) -> set[str]:
    return {mark.name for mark in item.iter_markers()}


def _missing_shared_folders() -> list[str]:
    return [f for f in sorted(set(SHARED_FIXTURES.values())) if not (SHARED_DIR / f).is_dir()]


def _tests(count: object) -> str:
    return f"{count} test" if count == 1 else f"{count} tests"


def _what_is_missing() -> tuple[str, str]:
    """("../shared" or the missing subfolders, where they were looked for)."""
    if not SHARED_DIR.is_dir():
        return "../shared", f"looked for {SHARED_DIR}"
    missing = ", ".join(f"../shared/{f}" for f in _missing_shared_folders())
    return missing, f"in {SHARED_DIR}"


def _shared_line(config: pytest.Config, *, with_count: bool) -> str:
    state = config.stash.get(_SHARED_STATE, {})
    if not _missing_shared_folders():
        return f"shared corpus tier: runs (../shared at {SHARED_DIR})"
    what, where = _what_is_missing()
    if with_count and "refused" in state:
        said = f"CI=true: {_tests(state['refused'])} would not run, the session fails"
    elif with_count and "deselected" in state:
        count = state["deselected"]
        said = _tests(count) + " deselected" if count else "no selected test needs it"
    else:
        said = "its tests are deselected"
    return f"shared corpus tier: NOT RUN — {what} not found ({said}; {where})"


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [_shared_line(config, with_count=False)]


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> Iterator[None]:
    # Before -m/-k select (they run inside the yield): put every test in its tiers.
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & INTEGRATION_FIXTURES:
            item.add_marker(pytest.mark.integration)
        if _shared_folders_needed(item):
            item.add_marker(pytest.mark.shared)
    result = yield
    # After the selection: what was chosen but needs a missing part of ../shared.
    missing = set(_missing_shared_folders())
    unrunnable = [item for item in items if _shared_folders_needed(item) & missing]
    if unrunnable and os.environ.get("CI") == "true":
        config.stash[_SHARED_STATE] = {"refused": len(unrunnable)}
        what, where = _what_is_missing()
        raise pytest.UsageError(
            f"CI=true but {what} not found ({where}): the shared corpus tier "
            f"({_tests(len(unrunnable))}) would not run, and CI must run every tier. "
            "Put the shared folders beside the checkout, or leave the tier out on purpose "
            "with -m 'not shared'."
        )
    config.stash[_SHARED_STATE] = {"deselected": len(unrunnable)}
    if unrunnable:
        dropped = set(unrunnable)
        items[:] = [item for item in items if item not in dropped]
        config.hook.pytest_deselected(items=unrunnable)
    return result


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    integration = sum(1 for item in items if item.get_closest_marker("integration"))
    shared = sum(1 for item in items if item.get_closest_marker("shared"))
    fast = sum(1 for item in items if not {"integration", "shared"} & _markers(item))
    lines = [
        f"tiers selected: {fast} fast, {integration} integration, {shared} shared "
        "(a test can be integration and shared)"
    ]
    # The header (not shown with -q) has said it already, unless there is a count to add.
    if config.get_verbosity() < 0 or _missing_shared_folders():
        lines.append(_shared_line(config, with_count=True))
    return lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.write_line(_shared_line(terminalreporter.config, with_count=True))


# --------------------------------------------------------------------------- servers


def _require_dovecot() -> None:
    if not DOVECOT_BINARY.exists():
        message = f"{DOVECOT_BINARY} is missing: install dovecot-imapd (Debian/Ubuntu)"
        if os.environ.get("CI") == "true":
            # On CI a skipped IMAP suite would look green while proving nothing.
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One throwaway Dovecot for the whole session; prefer `mailbox`, which resets it."""
    _require_dovecot()
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


@pytest.fixture(scope="session")
def _module_dovecot() -> Iterator[Dovecot]:
    """A second Dovecot, only for `module_mailbox`: `mailbox` resets the first one before
    every test, which would wipe a set-up that a whole module reads."""
    _require_dovecot()
    with Dovecot() as server:
        yield server


@pytest.fixture(scope="module")
def module_mailbox(_module_dovecot: Dovecot) -> Dovecot:
    """An empty mailbox that keeps its state for one test module: for a module-scoped
    set-up (one poll) that the module's tests only read. One such set-up per module."""
    _module_dovecot.reset()
    return _module_dovecot


@pytest.fixture(scope="module")
def module_smtp_sink() -> Iterator[SmtpSink]:
    """A capturing SMTP server for one test module (see `module_mailbox`)."""
    with SmtpSink() as sink:
        yield sink


# --------------------------------------------------------------------------- ../shared


def _shared_folder(name: str) -> Path:
    folder = SHARED_DIR / name
    if not folder.is_dir():
        # Unreachable through pytest_collection_modifyitems, which deselects such tests;
        # a failure, never a skip, if a test finds another way here.
        pytest.fail(f"shared folder {folder} is missing (shared corpus tier)", pytrace=False)
    return folder


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The labelled .eml corpus (labels.json beside the mails)."""
    return _shared_folder("corpus")


@pytest.fixture(scope="session")
def badmail_dir() -> Path:
    """Hostile and malformed mail from other projects' test suites."""
    return _shared_folder("badmail")


@pytest.fixture(scope="session")
def series_dir() -> Path:
    """Mail for a series of three workshops, with event.toml ([[events]]) and labels."""
    return _shared_folder("corpus-series-examples")
