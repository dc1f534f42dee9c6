"""The mail reader's budget: a mail that hangs, crashes or floods the reader costs that
mail a review entry, never the worker, and a stop request is honoured at once.

The real reader process is used where its behaviour is deterministic (a good mail, a
memory bomb under the memory cap); a hand-written misbehaving reader
(tests/fake_reader.py) plays the parser that never returns or dies.
"""

from __future__ import annotations

import base64
import sys
import threading
from pathlib import Path

import pytest

from inbox_bot.adapters.reader import (
    Analysis,
    InProcessAnalyser,
    Interrupted,
    IsolatedAnalyser,
    Unreadable,
    message_id_of,
)
from inbox_bot.core.classify import Context
from inbox_bot.core.classify.organizations import load_directory
from inbox_bot.core.model import Kind

FAKE = Path(__file__).with_name("fake_reader.py")
CONTEXT = Context(
    own_addresses=frozenset({"smartcity@dortmund.de"}),
    message_id_domain="smartcity.dortmund.de",
    internal_domains=frozenset(),
    directory=load_directory(),
)
GOOD = (
    b"From: Anna Schulz <anna.schulz@unna.de>\r\nTo: smartcity@dortmund.de\r\n"
    b"Subject: Anmeldung\r\nMessage-ID: <good-1@unna.de>\r\n\r\n"
    b"Hiermit melde ich mich an.\r\n\r\nMit freundlichen Gruessen\r\nAnna Schulz\r\n"
)
POISON = GOOD.replace(b"good-1", b"poison-1").replace(b"Hiermit", b"POISON Hiermit")


def fake(mode: str, budget: float = 1.0) -> IsolatedAnalyser:
    return IsolatedAnalyser(
        CONTEXT,
        budget_seconds=budget,
        memory_bytes=1 << 30,
        command=[sys.executable, str(FAKE), mode],
    )


@pytest.mark.integration
def test_the_real_reader_reads_a_registration() -> None:
    reader = IsolatedAnalyser(CONTEXT, budget_seconds=30, memory_bytes=1 << 30)
    try:
        first, second = reader.analyse(GOOD), reader.analyse(GOOD)
    finally:
        reader.close()
    for result in (first, second):
        assert isinstance(result, Analysis)
        assert result.intent.kind is Kind.REGISTRATION
        assert [p.name for p in result.intent.persons] == ["Anna Schulz"]


@pytest.mark.integration
def test_a_memory_bomb_is_stopped_by_the_cap_and_the_next_mail_is_read() -> None:
    attachment = base64.encodebytes(b"\0" * 30_000_000)
    bomb = (
        b"From: A B <a@b.de>\r\nSubject: Anmeldung\r\nMessage-ID: <bomb@b.de>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain\r\n\r\nHiermit melde ich mich an.\r\n"
        b"--XX\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + attachment + b"\r\n--XX--\r\n"
    )
    reader = IsolatedAnalyser(CONTEXT, budget_seconds=60, memory_bytes=128 << 20)
    try:
        result = reader.analyse(bomb)
        after = reader.analyse(GOOD)
    finally:
        reader.close()
    assert isinstance(result, Unreadable)
    assert "Speicher" in result.reason and result.message_id == "<bomb@b.de>"
    assert isinstance(after, Analysis)


@pytest.mark.integration
def test_a_reader_that_never_returns_is_killed_at_the_budget() -> None:
    reader = fake("hang-on-poison", budget=1.0)
    slow: list[bool] = []
    try:
        result = reader.analyse(POISON, on_slow=lambda: slow.append(True))
        after = reader.analyse(GOOD)
    finally:
        reader.close()
    assert isinstance(result, Unreadable)
    assert "Zeitbudget" in result.reason and result.message_id == "<poison-1@unna.de>"
    # Noted once as "started", so a crash of the whole bot meanwhile is not repeated.
    assert slow == [True]
    # A fresh reader takes the next mail (the fake answers it with nonsense).
    assert isinstance(after, Unreadable) and "unlesbar" in after.reason


@pytest.mark.integration
@pytest.mark.parametrize(("mode", "words"), [("crash", "Signal 11"), ("garbage", "unlesbar")])
def test_a_reader_that_dies_or_talks_nonsense_costs_only_that_mail(mode: str, words: str) -> None:
    reader = fake(mode)
    try:
        results = [reader.analyse(POISON), reader.analyse(GOOD)]
    finally:
        reader.close()
    for result in results:
        assert isinstance(result, Unreadable) and words in result.reason


@pytest.mark.integration
def test_stop_is_honoured_while_the_reader_hangs() -> None:
    reader = fake("hang", budget=600)
    outcome: list[object] = []

    def read() -> None:
        try:
            outcome.append(reader.analyse(GOOD))
        except Interrupted as exc:
            outcome.append(exc)

    worker = threading.Thread(target=read)
    worker.start()
    reader.stop.set()
    worker.join(timeout=30)  # a guard against hanging the suite, not a timing check
    assert not worker.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], Interrupted)
    reader.close()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (GOOD, "<good-1@unna.de>"),
        (b"message-id:   <a.b@c>\n\nbody", "<a.b@c>"),
        (b"Subject: x\r\nMessage-ID: <spaces in@x>\r\n\r\n", None),
        (b"Subject: x\r\n\r\nMessage-ID: <in-body@x>\r\n", None),
        (b"\x00\xff garbage", None),
        (b"Message-ID: <" + b"a" * 300 + b"@x>\r\n\r\n", None),
    ],
)
def test_message_id_of_reads_only_a_clean_header(raw: bytes, expected: str | None) -> None:
    assert message_id_of(raw) == expected


def test_in_process_reader_never_raises_for_mail() -> None:
    result = InProcessAnalyser(CONTEXT).analyse(b"\xff\xfe" * 10)
    assert isinstance(result, Analysis | Unreadable)


OTHER = GOOD.replace(b"good-1", b"good-2").replace(b"Anna Schulz", b"Jan Albers")


@pytest.mark.integration
def test_a_mail_read_ahead_is_answered_and_a_wrong_guess_costs_nothing_but_time() -> None:
    reader = IsolatedAnalyser(CONTEXT, budget_seconds=30, memory_bytes=1 << 30)
    try:
        first = reader.analyse(GOOD)
        reader.prefetch(OTHER)  # read while the shell decides GOOD
        ahead = reader.analyse(OTHER)
        reader.prefetch(OTHER)
        guessed_wrong = reader.analyse(GOOD)  # the read-ahead answer is dropped
    finally:
        reader.close()
    names = [
        [p.name for p in r.intent.persons] if isinstance(r, Analysis) else r
        for r in (first, ahead, guessed_wrong)
    ]
    assert names == [["Anna Schulz"], ["Jan Albers"], ["Anna Schulz"]]


@pytest.mark.integration
def test_a_hanging_mail_read_ahead_still_meets_the_budget_and_is_noted_as_begun() -> None:
    reader = fake("hang-on-poison", budget=1.5)
    noted: list[str] = []
    try:
        reader.prefetch(POISON)
        result = reader.analyse(POISON, on_slow=lambda: noted.append("begun"))
        after = reader.analyse(GOOD)
    finally:
        reader.close()
    assert isinstance(result, Unreadable) and "Zeitbudget" in result.reason
    assert noted == ["begun"]
    # A fresh worker answers the next mail (this fake answers garbage, read as such).
    assert isinstance(after, Unreadable) and "unlesbar" in after.reason
