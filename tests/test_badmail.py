"""Hostile and malformed mail through the real worker: Dovecot, the SMTP sink, the CLI.

The promise: every mail of ../shared/badmail/ (mail-parser's test mails, CPython's email
test data) goes through `inbox-bot poll` without a crash of the worker and ends in a
decision or in staff review with its raw bytes kept. None of them is a registration.
A multipart bomb, a 50 MB message and a 1 MB header take bounded time and memory and end
in review; a winmail.dat-only mail and an empty body after a broken boundary go to
review, never become an empty registration.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import PASSWORD_ENV, run_cli, write_config
from servers import Dovecot, SmtpSink

BERLIN = ZoneInfo("Europe/Berlin")
FIRST_ARRIVAL = datetime(2018, 11, 12, 9, 0, tzinfo=BERLIN)  # well before the deadline
POLL_SECONDS = 60.0  # what one poll over a hostile mail may take
POLL_KILL_SECONDS = 90  # the measured poll is killed after this, so the test stays bounded
PEAK_RSS_MB = 400  # the worker process's peak memory for any single hostile mail
SIZE_WORDS = re.compile(r"gro(ß|ss)|größe|large|size|bytes", re.IGNORECASE)
MAX_BYTES = 5_000_000

# Python that runs the CLI exactly like `python -m inbox_bot` and writes its peak RSS.
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so it would include pytest's.
_MEASURED_CLI = """\
import os, re
from inbox_bot.ui.cli import main
try:
    main()
finally:
    with open("/proc/self/status", encoding="ascii") as status:
        peak = re.search(r"VmHWM:\\s*(\\d+) kB", status.read()).group(1)
    with open(os.environ["INBOX_BOT_TEST_PEAK_RSS"], "w", encoding="ascii") as fh:
        fh.write(peak)
"""


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Poll:
    result: subprocess.CompletedProcess[str]
    seconds: float
    peak_rss_mb: float

    def check(self) -> None:
        r = self.result
        assert r.returncode == 0, f"poll exited {r.returncode}\n{r.stdout}\n{r.stderr}"
        assert "Traceback" not in r.stderr, r.stderr


def measured_poll(config: Path, imap: Dovecot, tmp_path: Path) -> Poll:
    """`inbox-bot poll` in a subprocess, with its wall time and peak RSS (like run_cli)."""
    rss_file = tmp_path / f"peak-rss-{time.monotonic_ns()}"
    env = {
        **os.environ,
        "PYTHONIOENCODING": "utf-8",
        PASSWORD_ENV: imap.password,
        "INBOX_BOT_TEST_PEAK_RSS": str(rss_file),
    }
    started = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-c", _MEASURED_CLI, "poll", "--config", str(config)],
            capture_output=True,
            text=True,
            env=env,
            timeout=POLL_KILL_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"inbox-bot poll did not finish within {POLL_KILL_SECONDS} s (killed)")
    seconds = time.monotonic() - started
    peak_kb = int(rss_file.read_text(encoding="ascii")) if rss_file.exists() else 0
    return Poll(result, seconds, peak_kb / 1024)


def config_with_size_cap(tmp_path: Path, imap: Dovecot, smtp: SmtpSink) -> Path:
    config = write_config(tmp_path, imap, smtp, capacity=100)
    text = config.read_text(encoding="utf-8")
    assert "batch_size = 7\n" in text
    config.write_text(
        text.replace("batch_size = 7\n", f"batch_size = 7\nmax_message_bytes = {MAX_BYTES:_}\n"),
        encoding="utf-8",
    )
    return config


def message_rows(tmp_path: Path) -> list[dict[str, Any]]:
    database = tmp_path / "state" / "bot.sqlite3"
    db = sqlite3.connect(database)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM messages ORDER BY uid")]
    finally:
        db.close()


def attendee_rows(tmp_path: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(tmp_path / "state" / "bot.sqlite3")
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM attendees ORDER BY arrival, uid")]
    finally:
        db.close()


def fetch(imap: Dovecot, uids: list[int], items: list[str]) -> dict[int, dict[bytes, Any]]:
    """Selected items of some messages, read-only (no flag changes)."""
    with imap.client(timeout=60) as client:
        client.select_folder("INBOX", readonly=True)
        return dict(client.fetch(uids, items))


def flags_of(imap: Dovecot, uids: list[int]) -> dict[int, set[bytes]]:
    return {
        uid: set(data[b"FLAGS"]) - {b"\\Recent"}
        for uid, data in fetch(imap, uids, ["FLAGS"]).items()
    }


def recipients(sink: SmtpSink) -> Counter[str]:
    return recipients_of(sink.messages)


def recipients_of(sent: list[Any]) -> Counter[str]:
    return Counter(rcpt.lower() for m in sent for rcpt in m.rcpt_tos)


def badmail_files(badmail_dir: Path) -> list[Path]:
    files = sorted(
        p
        for p in badmail_dir.rglob("*")
        if p.is_file() and p.name != "README.md" and not p.name.startswith(".")
    )
    folders = {p.parent.name for p in files}
    assert {"mail-parser", "cpython-email"} <= folders, folders
    return files


# --------------------------------------------------------------------------- badmail


@pytest.fixture(scope="module")
def badmail_polled(
    dovecot: Dovecot, badmail_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """Every badmail file APPENDed (increasing INTERNALDATE), one poll, then a second.

    Module-scoped (one poll for all checks below); everything the checks need is read
    here, so later tests may reset the shared Dovecot.
    """
    dovecot.reset()
    folder = tmp_path_factory.mktemp("badmail")
    with SmtpSink() as sink:
        config = write_config(folder, dovecot, sink, capacity=100)
        uids: dict[str, int] = {}
        rejected: dict[str, str] = {}
        for index, path in enumerate(badmail_files(badmail_dir)):
            name = f"{path.parent.name}/{path.name}"
            try:
                when = FIRST_ARRIVAL + timedelta(minutes=index)
                uids[name] = dovecot.append(path.read_bytes(), when)
            except Exception as exc:  # a server refusal is data, reported by a test below
                rejected[name] = f"{type(exc).__name__}: {exc}"
        started = time.monotonic()
        result = run_cli("poll", "--config", str(config), imap=dovecot, check=False)
        seconds = time.monotonic() - started
        export = run_cli("export", "--config", str(config), "--format", "json").stdout
        rows = message_rows(folder)
        sent = sink.messages
        stored = {m["uid"]: m for m in dovecot.messages()}
        second = run_cli("poll", "--config", str(config), imap=dovecot, check=False)
        yield {
            "uids": uids,
            "name_of": {uid: name for name, uid in uids.items()},
            "rejected": rejected,
            "result": result,
            "seconds": seconds,
            "export": json.loads(export),
            "rows": rows,
            "attendees": attendee_rows(folder),
            "stored": stored,
            "sent": sent,
            "second": second,
            "rows_after_second": message_rows(folder),
            "sent_after_second": sink.messages,
        }


def test_dovecot_takes_every_badmail_file(badmail_polled: dict[str, Any]) -> None:
    # Dovecot 2.3 accepts all 71 files, the Outlook .msg binary included (it stores NUL
    # bytes as 0x80). A file a server refuses on APPEND never reaches the bot: it is
    # left out of the checks below, and this test says which and why.
    assert len(badmail_polled["uids"]) >= 60
    if badmail_polled["rejected"]:
        reasons = "; ".join(f"{k}: {v}" for k, v in badmail_polled["rejected"].items())
        pytest.skip(f"Dovecot refused on APPEND (not given to the bot): {reasons}")


def test_poll_over_badmail_exits_cleanly_in_bounded_time(badmail_polled: dict[str, Any]) -> None:
    result = badmail_polled["result"]
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    assert badmail_polled["seconds"] < POLL_SECONDS, badmail_polled["seconds"]


def test_every_badmail_uid_has_exactly_one_record(badmail_polled: dict[str, Any]) -> None:
    uids = set(badmail_polled["uids"].values())
    in_db = Counter(row["uid"] for row in badmail_polled["rows"])
    assert set(in_db) == uids
    assert [uid for uid, n in in_db.items() if n != 1] == []
    in_export = Counter(m["uid"] for m in badmail_polled["export"]["messages"])
    assert in_export == in_db
    for row in badmail_polled["rows"]:
        assert row["decision"], row["uid"]
        assert row["kind"], row["uid"]


def test_review_entries_keep_exactly_the_bytes_dovecot_holds(
    badmail_polled: dict[str, Any],
) -> None:
    stored, name_of = badmail_polled["stored"], badmail_polled["name_of"]
    reviewed = [row for row in badmail_polled["rows"] if row["needs_review"]]
    assert reviewed  # the unreadable ones at least go to staff
    for row in reviewed:
        if SIZE_WORDS.search(row["review_reason"] or "") and not row["raw"]:
            continue  # too large to download: staff read it in the mailbox
        assert row["raw"] is not None, name_of[row["uid"]]
        assert bytes(row["raw"]) == stored[row["uid"]]["raw"], name_of[row["uid"]]


def test_no_badmail_becomes_an_attendee(badmail_polled: dict[str, Any]) -> None:
    """None of the files is a registration (shared/badmail/README.md)."""
    name_of = badmail_polled["name_of"]
    found = [(name_of.get(a["uid"]), a["name"], a["status"]) for a in badmail_polled["attendees"]]
    assert found == []
    assert badmail_polled["export"]["attendees"] == []


def test_registrations_and_cancellations_from_badmail_wait_for_staff(
    badmail_polled: dict[str, Any],
) -> None:
    name_of = badmail_polled["name_of"]
    decided = [
        (name_of[row["uid"]], row["kind"], row["decision"])
        for row in badmail_polled["rows"]
        if row["kind"] in ("registration", "cancellation") and not row["needs_review"]
    ]
    assert decided == []


def test_replies_only_to_senders_of_questions_or_registrations(
    badmail_polled: dict[str, Any],
) -> None:
    answerable = {
        (row[col] or "").lower()
        for row in badmail_polled["rows"]
        if row["kind"] in ("question", "registration")
        for col in ("reply_to", "sender")
    } - {""}
    sent = recipients_of(badmail_polled["sent"])
    assert set(sent) <= answerable, set(sent) - answerable
    for message in badmail_polled["sent"]:
        assert len(message.rcpt_tos) == 1
        assert message.message["Auto-Submitted"] == "auto-replied"


def test_badmail_review_mail_is_flagged_and_unread(badmail_polled: dict[str, Any]) -> None:
    stored, name_of = badmail_polled["stored"], badmail_polled["name_of"]
    for row in badmail_polled["rows"]:
        flags = stored[row["uid"]]["flags"]
        if row["needs_review"]:
            assert b"\\Flagged" in flags, (name_of[row["uid"]], flags)
            assert b"\\Seen" not in flags, (name_of[row["uid"]], flags)
        else:
            assert b"\\Seen" in flags, (name_of[row["uid"]], flags)


def test_a_second_poll_over_badmail_processes_nothing(badmail_polled: dict[str, Any]) -> None:
    second = badmail_polled["second"]
    assert second.returncode == 0, f"{second.stdout}\n{second.stderr}"
    assert "Traceback" not in second.stderr, second.stderr
    assert "No new mail." in second.stdout
    ids = [row["id"] for row in badmail_polled["rows"]]
    assert [row["id"] for row in badmail_polled["rows_after_second"]] == ids
    assert len(badmail_polled["sent_after_second"]) == len(badmail_polled["sent"])


# --------------------------------------------------------------------------- hostile mail


SENDER = b"Juergen Mueller <j.mueller@hagen.de>"
HEAD = (
    b"From: " + SENDER + b"\r\n"
    b"To: smartcity@dortmund.de\r\n"
    b"Subject: Anmeldung\r\n"
    b"Date: Mon, 12 Nov 2018 09:00:00 +0100\r\n"
    b"Message-ID: <%s@hagen.de>\r\n"
    b"MIME-Version: 1.0\r\n"
)
REGISTRATION_TEXT = (
    b"Sehr geehrte Damen und Herren,\r\n\r\n"
    b"hiermit melde ich mich zum Interkommunalen Austausch am 5. Dezember an.\r\n\r\n"
    b"Mit freundlichen Gruessen\r\nJuergen Mueller\r\nStadt Hagen\r\n"
)
CANARY = (
    "From: Nadine Ahrens <n.ahrens@iserlohn.de>\r\n"
    "To: smartcity@dortmund.de\r\n"
    "Subject: Anmeldung Interkommunaler Austausch\r\n"
    "Date: Mon, 12 Nov 2018 10:00:00 +0100\r\n"
    "Message-ID: <canary-1@iserlohn.de>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n\r\n"
    "Sehr geehrte Damen und Herren,\r\n\r\n"
    "hiermit melde ich mich zum Interkommunalen Austausch am 5. Dezember an.\r\n\r\n"
    "Mit freundlichen Grüßen\r\nNadine Ahrens\r\nStadt Iserlohn\r\n"
).encode()


def head(tag: str) -> bytes:
    return HEAD % tag.encode()


def nested_bomb(levels: int = 3000) -> bytes:
    """3000 multiparts inside each other, a registration at the bottom."""
    out = [head("nested-bomb"), b'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n']
    for level in range(1, levels):
        out.append(
            b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (level - 1, level)
        )
    out.append(b"--b%d\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" % (levels - 1))
    out.append(REGISTRATION_TEXT)
    out.extend(b"--b%d--\r\n" % level for level in reversed(range(levels)))
    return b"".join(out)


def sibling_bomb(parts: int = 20_000) -> bytes:
    """20,000 text parts side by side; the first is a registration."""
    out = [head("sibling-bomb"), b'Content-Type: multipart/mixed; boundary="sep"\r\n\r\n']
    out.append(b"--sep\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + REGISTRATION_TEXT)
    out.extend(
        b"--sep\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nTeil %d\r\n" % i
        for i in range(1, parts)
    )
    out.append(b"--sep--\r\n")
    return b"".join(out)


def fifty_megabytes() -> bytes:
    """A registration with a 50 MB attachment (base64 lines of 76 characters)."""
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"
    return b"".join(
        [
            head("fifty-mb"),
            b'Content-Type: multipart/mixed; boundary="big"\r\n\r\n',
            b"--big\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n",
            REGISTRATION_TEXT,
            b'--big\r\nContent-Type: application/pdf; name="programm.pdf"\r\n'
            b"Content-Transfer-Encoding: base64\r\n"
            b'Content-Disposition: attachment; filename="programm.pdf"\r\n\r\n',
            line * (50_000_000 // len(line) + 1),
            b"--big--\r\n",
        ]
    )


def _folded(name: bytes, first: bytes, total: int) -> bytes:
    line = b"\t" + b"Anmeldung zum Interkommunalen Austausch " * 2 + b"\r\n"
    return name + b": " + first + b"\r\n" + line * (total // len(line) + 1)


def megabyte_subject() -> bytes:
    """A Subject folded over ~12,000 lines (1 MB)."""
    raw = head("mb-subject").replace(
        b"Subject: Anmeldung\r\n", _folded(b"Subject", b"Anmeldung", 1 << 20)
    )
    return raw + b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + REGISTRATION_TEXT


def megabyte_x_header() -> bytes:
    """An X-header folded over ~12,000 lines (1 MB)."""
    raw = head("mb-x-header") + _folded(b"X-Filler", b"a", 1 << 20)
    return raw + b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + REGISTRATION_TEXT


def megabyte_semicolons_to() -> bytes:
    """1 MB of ';' in an address header (python/cpython#87075: super-linear)."""
    raw = head("mb-semicolons").replace(
        b"To: smartcity@dortmund.de\r\n", b"To: smartcity@dortmund.de" + b";" * (1 << 20) + b"\r\n"
    )
    return raw + b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + REGISTRATION_TEXT


def megabyte_semicolons_in_part() -> bytes:
    """1 MB of ';' in the Content-Type of a body part, not in the top-level header."""
    return b"".join(
        [
            head("mb-semicolons-part"),
            b'Content-Type: multipart/mixed; boundary="p"\r\n\r\n',
            b"--p\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n",
            REGISTRATION_TEXT,
            b"--p\r\nContent-Type: text/plain" + b";" * (1 << 20) + b"\r\n\r\nx\r\n",
            b"--p--\r\n",
        ]
    )


def winmail_only() -> bytes:
    """Outlook RTF mail as a mail server passes it on: only winmail.dat, no text part."""
    tnef = b"\x78\x9f\x3e\x22" + b"\x00\x01\x06\x90\x08\x00" + bytes(range(256)) * 40
    body = base64.encodebytes(tnef).replace(b"\n", b"\r\n")
    return b"".join(
        [
            head("winmail"),
            b'Content-Type: multipart/mixed; boundary="tnef"\r\n\r\n',
            b'--tnef\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\n'
            b"Content-Transfer-Encoding: base64\r\n"
            b'Content-Disposition: attachment; filename="winmail.dat"\r\n\r\n',
            body,
            b"--tnef--\r\n",
        ]
    )


def broken_boundary() -> bytes:
    """Declared boundary never appears (like mail_malformed_3): the body parses empty."""
    return b"".join(
        [
            head("broken-boundary"),
            b'Content-Type: multipart/alternative; boundary="----=_Part_declared_1"\r\n\r\n',
            b"------=_Part_other_2\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n",
            b"\r\n",
            b"------=_Part_other_2\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n",
            b"<html><body></body></html>\r\n",
            b"------=_Part_other_2--\r\n",
        ]
    )


HOSTILE: dict[str, Callable[[], bytes]] = {
    "nested-3000": nested_bomb,
    "siblings-20000": sibling_bomb,
    "header-1mb-subject": megabyte_subject,
    "header-1mb-x-header": megabyte_x_header,
    "header-1mb-semicolons-to": megabyte_semicolons_to,
    "header-1mb-semicolons-in-part": megabyte_semicolons_in_part,
    "winmail-dat-only": winmail_only,
    "broken-boundary-empty-body": broken_boundary,
}


def deliver_hostile_then_canary(imap: Dovecot, raw: bytes) -> tuple[int, int]:
    hostile = imap.append(raw, FIRST_ARRIVAL)
    canary = imap.append(CANARY, FIRST_ARRIVAL + timedelta(minutes=5))
    return hostile, canary


def review_problems(
    tmp_path: Path, imap: Dovecot, sink: SmtpSink, hostile: int, canary: int, *, kept: bool
) -> tuple[list[str], dict[str, Any]]:
    """What is wrong with how the hostile mail ended (all of it, for a useful report)."""
    problems: list[str] = []
    rows = message_rows(tmp_path)
    assert Counter(r["uid"] for r in rows) == {hostile: 1, canary: 1}, rows
    row = next(r for r in rows if r["uid"] == hostile)
    if row["needs_review"] != 1 or not row["review_reason"]:
        problems.append(
            f"not in review: kind={row['kind']} decision={row['decision']} "
            f"needs_review={row['needs_review']} reason={row['review_reason']!r}"
        )
    if kept:
        raw = fetch(imap, [hostile], ["BODY.PEEK[]"])[hostile][b"BODY[]"]
        if row["raw"] is None or bytes(row["raw"]) != raw:
            problems.append("raw bytes not kept as Dovecot holds them")
    # Nobody from the hostile mail holds or waits for a seat; the canary does.
    seats = [(a["uid"], a["email"], a["status"]) for a in attendee_rows(tmp_path)]
    if seats != [(canary, "n.ahrens@iserlohn.de", "confirmed")]:
        problems.append(f"attendees (uid, email, status): {seats}")
    # The worker went on after the hostile mail: the canary got its one reply, nobody else.
    sent = recipients(sink)
    if sent != {"n.ahrens@iserlohn.de": 1}:
        problems.append(f"replies sent: {dict(sent)}")
    flags = flags_of(imap, [hostile, canary])[hostile]
    if b"\\Flagged" not in flags or b"\\Seen" in flags:
        problems.append(f"hostile mail's flags: {sorted(flags)}")
    return problems, row


def bound_problems(poll: Poll) -> list[str]:
    problems = []
    if poll.seconds >= POLL_SECONDS:
        problems.append(f"poll took {poll.seconds:.1f} s (limit {POLL_SECONDS:.0f} s)")
    if poll.peak_rss_mb >= PEAK_RSS_MB:
        problems.append(f"poll peaked at {poll.peak_rss_mb:.0f} MB (limit {PEAK_RSS_MB} MB)")
    return problems


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_mail_ends_in_review_in_bounded_time_and_memory(
    case: str, tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    config = config_with_size_cap(tmp_path, mailbox, smtp_sink)
    raw = HOSTILE[case]()
    assert len(raw) < MAX_BYTES  # downloaded and parsed: the parser must cope
    hostile, canary = deliver_hostile_then_canary(mailbox, raw)
    poll = measured_poll(config, mailbox, tmp_path)
    print(f"{case}: {len(raw)} bytes, poll {poll.seconds:.1f} s, peak {poll.peak_rss_mb:.0f} MB")
    poll.check()
    problems, row = review_problems(tmp_path, mailbox, smtp_sink, hostile, canary, kept=True)
    print(f"{case}: {row['kind']} / {row['decision']}: {row['review_reason']}")
    problems = bound_problems(poll) + problems
    assert not problems, f"{case}:\n" + "\n".join(problems)


def test_fifty_megabyte_mail_is_not_downloaded_and_goes_to_review(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    config = config_with_size_cap(tmp_path, mailbox, smtp_sink)
    raw = fifty_megabytes()
    assert len(raw) > 50_000_000
    hostile, canary = deliver_hostile_then_canary(mailbox, raw)
    del raw
    size = fetch(mailbox, [hostile], ["RFC822.SIZE"])[hostile][b"RFC822.SIZE"]
    assert size > MAX_BYTES
    first = measured_poll(config, mailbox, tmp_path)
    print(f"50 MB: poll {first.seconds:.1f} s, peak {first.peak_rss_mb:.0f} MB")
    first.check()
    problems, row = review_problems(tmp_path, mailbox, smtp_sink, hostile, canary, kept=False)
    problems = bound_problems(first) + problems
    assert not problems, "50 MB mail:\n" + "\n".join(problems)
    assert row["decision"] == "review"
    assert SIZE_WORDS.search(row["review_reason"]), row["review_reason"]
    assert not row["raw"]  # nothing of it was downloaded, so nothing is stored
    # A second poll processes nothing; it is also the baseline for memory: had the first
    # poll downloaded 50 MB, its peak would be far above that of a poll doing nothing.
    second = measured_poll(config, mailbox, tmp_path)
    second.check()
    assert "No new mail." in second.result.stdout
    assert len(message_rows(tmp_path)) == 2
    assert first.peak_rss_mb - second.peak_rss_mb < 25, (first.peak_rss_mb, second.peak_rss_mb)
