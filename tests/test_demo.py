"""`inbox-bot demo` as a user runs it: the whole job on sample mail, nothing installed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import click
import pytest

from inbox_bot.app import demo
from inbox_bot.config import load_settings
from inbox_bot.errors import InboxBotError

REPO = Path(__file__).resolve().parents[1]


def _section(out: str, number: int) -> str:
    """The text under the heading "== <number>. ..." up to the next heading."""
    start = out.index(f"== {number}. ")
    end = out.find("\n== ", start + 1)
    return out[start : end if end != -1 else None]


def _open_sockets() -> int:
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        pytest.skip("needs /proc to count sockets")
    count = 0
    for fd in fds.iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue  # the fd of the listing itself
    return count


@pytest.fixture
def servers_seen(monkeypatch: pytest.MonkeyPatch) -> list[demo.DemoServers]:
    """The demo's mail servers, so a test can read what the SMTP sink received."""
    seen: list[demo.DemoServers] = []

    class Spy(demo.DemoServers):
        def __enter__(self) -> demo.DemoServers:
            seen.append(self)
            return super().__enter__()

    monkeypatch.setattr(demo, "DemoServers", Spy)
    return seen


@pytest.mark.integration
def test_demo_shows_allocation_reply_and_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], servers_seen: list[demo.DemoServers]
) -> None:
    threads_before = set(threading.enumerate())
    sockets_before = _open_sockets()

    demo.run_demo(tmp_path)

    out = capsys.readouterr().out
    settings = load_settings(tmp_path / "demo.toml", {})
    capacity = settings.event.capacity

    # The allocation table: every seat taken, and more people waiting.
    table = _section(out, 2).splitlines()
    confirmed = [line for line in table if line.startswith("bestätigt")]
    waiting = [line for line in table if line.startswith("Warteliste /")]
    assert len(confirmed) == capacity
    assert len(waiting) >= 1
    # Promoted from the waitlist after a cancellation; the late one gets no seat.
    assert any("Emily Carter" in line for line in confirmed)
    assert any(line.startswith("abgemeldet") and "Thomas Brinkmann" in line for line in table)
    assert any(line.startswith("zu spät") and "Wolters" in line for line in table)

    # The reply as the recipient reads it: headers decoded, body not quoted-printable.
    reply = _section(out, 3)
    assert "Auto-Submitted: auto-replied" in reply
    assert 'From: "Allianz Smart City Dortmund (Demo)" <smartcity@example.org>' in reply
    assert "vielen Dank für Ihre Anmeldung" in reply
    assert "Mit freundlichen Grüßen" in reply
    assert "=C3" not in reply
    assert not [line for line in reply.splitlines() if line.endswith("=") and line[:2] != "=="]

    # What really reached the SMTP sink: one reply per mail, none to the out-of-office.
    [servers] = servers_seen
    sent = servers.sink.captured
    automatic = [s for s in demo.SAMPLES if "X-Auto-Response-Suppress" in s.headers]
    assert len(automatic) == 1
    recipients = [r for mail in sent for r in mail.rcpt_tos]
    assert automatic[0].address not in recipients
    answers = [m for m in sent if m.message["Auto-Submitted"] == "auto-replied"]
    promotions = [
        m
        for m in sent
        if m.message["Auto-Submitted"] == "auto-generated"
        and str(m.message["Subject"]).startswith(("Sie haben einen Platz", "You have a seat"))
    ]
    # A colleague registered with her own address hears of it from us.
    notices = [m for m in sent if str(m.message["Subject"]).startswith("Sie wurden angemeldet")]
    assert [m.rcpt_tos for m in notices] == [("j.beispiel@unna.de",)]
    assert len(answers) == len(demo.SAMPLES) - 1
    assert [m.rcpt_tos for m in promotions] == [("emily.carter@leeds.example.org",)]
    assert f"replies sent:  {len(sent)}" in _section(out, 4)
    assert "keine Antwort / no reply" in _section(out, 4)

    # Database and allocation log are where the output says, one JSON line per mail.
    files = _section(out, 5)
    assert settings.storage.database.is_file()
    assert str(settings.storage.database) in files
    assert str(settings.storage.log) in files
    records = [json.loads(line) for line in settings.storage.log.read_text("utf-8").splitlines()]
    assert len(records) == len(demo.SAMPLES)
    assert len({r["uid"] for r in records}) == len(demo.SAMPLES)
    assert f"inbox-bot status --config {tmp_path / 'demo.toml'}" in files

    # Both servers are gone: no thread, no socket left behind.
    assert set(threading.enumerate()) == threads_before
    assert _open_sockets() == sockets_before


@pytest.mark.integration
def test_arrival_order_is_the_servers_not_the_date_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.run_demo(tmp_path)
    out = capsys.readouterr().out

    [early] = [s for s in demo.SAMPLES if s.date_header and s.date_header < s.arrival]
    # By its Date: header it would be the first mail of all; it still waits.
    assert early.sent < min(s.arrival for s in demo.SAMPLES)
    table = _section(out, 2).split("\n\nHinweis")[0]
    rows = [line for line in table.splitlines() if early.name in line]
    assert len(rows) == 1 and rows[0].startswith("Warteliste")


def test_demo_toml_reads_back_with_the_same_storage(tmp_path: Path) -> None:
    raw = demo.demo_config(1143, 1025)
    demo.write_toml(tmp_path / "demo.toml", raw)

    settings = load_settings(tmp_path / "demo.toml", {})

    assert settings.storage.database == tmp_path / demo.DATABASE
    assert settings.storage.log == tmp_path / demo.LOG
    assert settings.event.capacity == 4
    assert settings.rules.organizations == {"leeds.example.org": "Leeds City Council"}


@pytest.mark.integration
def test_servers_stop_on_error(servers_seen: list[demo.DemoServers]) -> None:
    threads_before = set(threading.enumerate())

    with pytest.raises(KeyboardInterrupt), demo.DemoServers(demo.MAILBOX, "pw") as servers:
        ports = (servers.imap_port, servers.smtp_port)
        raise KeyboardInterrupt  # as Ctrl+C would

    assert set(threading.enumerate()) == threads_before
    for port in ports:
        with pytest.raises(OSError):
            socket.create_connection((demo.LOOPBACK, port), timeout=1).close()


def test_servers_that_cannot_start_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    threads_before = set(threading.enumerate())
    monkeypatch.setattr(demo, "LOOPBACK", "192.0.2.1")  # TEST-NET: not ours to bind

    with pytest.raises(InboxBotError, match="demo mail servers could not start"):
        demo.DemoServers(demo.MAILBOX, "pw").start()

    assert set(threading.enumerate()) == threads_before


@pytest.mark.integration
def test_demo_stops_servers_when_the_cycle_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads_before = set(threading.enumerate())

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "poll_cycle", interrupted)
    with pytest.raises(KeyboardInterrupt):
        demo.run_demo(tmp_path)

    assert set(threading.enumerate()) == threads_before


def test_demo_refuses_a_used_workdir(tmp_path: Path) -> None:
    # The samples have fixed Message-IDs: a second run would only find known mail.
    (tmp_path / demo.DATABASE).touch()

    with pytest.raises(click.UsageError, match="already holds a demo database"):
        demo.run_demo(tmp_path)


@pytest.mark.integration
def test_command_line(tmp_path: Path) -> None:
    workdir = tmp_path / "demo out"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }

    done = subprocess.run(
        [sys.executable, "-m", "inbox_bot", "demo", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "Auto-Submitted: auto-replied" in done.stdout
    assert (workdir / "demo.toml").is_file()
    assert (workdir / demo.DATABASE).is_file()
