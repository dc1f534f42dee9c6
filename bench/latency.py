#!/usr/bin/env python3
"""Latency: from a mail's arrival to the bot's reply, with `inbox-bot run` as the worker.

Starts a throwaway Dovecot and SMTP sink on loopback (tests/servers.py; Dovecot must be
installed and this must run as root, as for the test suite) and `inbox-bot run` with
`poll_interval_seconds = 300`, waits for its first cycle, then APPENDs --mails
registrations one every --every seconds. For each mail it measures the time from the
end of its APPEND to its reply at the SMTP sink (looked at every 20 ms, matched by
recipient); a mail with no reply within --timeout seconds counts as a timeout. At the
end the worker is stopped with SIGTERM.

    python bench/latency.py                     # 20 mails, one every 3 s, 30 s timeout
    python bench/latency.py --mails 5 --every 2 --timeout 15 --keep

What to read: with a 300 s poll interval, replies within seconds can only come from
IMAP IDLE (push); a bot that only polls on its schedule shows timeouts instead. p50 and
p95 say how fast a person gets an answer; timeouts say whether push works at all.
Not run by pytest; exit status 0 when the worker ran, 1 when it failed to start.
"""

from __future__ import annotations

import argparse
import math
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_setup import Mail, bot_config, bot_env, load, make_mails

SCHEDULE = "\n[schedule]\npoll_interval_seconds = 300\n"
LOOK_EVERY = 0.02
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 70.0


def start_bot(config: Path, dovecot: Any, folder: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "inbox_bot", "run", "--config", str(config)]
    with (folder / "run.out").open("wb") as out, (folder / "run.err").open("wb") as err:
        return subprocess.Popen(command, stdout=out, stderr=err, env=bot_env(dovecot))


def wait_ready(proc: subprocess.Popen[bytes], log: Path) -> bool:
    """Until the worker logged its first cycle ("poll done"); False if it died."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if "poll done" in log.read_text(encoding="utf-8", errors="replace"):
            return True
        time.sleep(0.1)
    print(f"note: no 'poll done' in the worker's log after {READY_TIMEOUT:.0f} s; measuring")
    return True


def _look(sink: Any, seen: int, replied: dict[str, float]) -> int:
    """Note the first reply to each recipient; returns how many messages were looked at."""
    messages = sink.messages
    now = time.monotonic()
    for captured in messages[seen:]:
        for recipient in captured.rcpt_tos:
            replied.setdefault(recipient.lower(), now)
    return len(messages)


def measure(
    dovecot: Any, sink: Any, mails: list[Mail], every: float, timeout: float
) -> list[float | None]:
    """Seconds from APPEND to reply per mail, None for a timeout."""
    queue = list(mails)
    arrived: dict[str, float] = {}
    replied: dict[str, float] = {}
    seen = 0
    next_append = time.monotonic()

    def waiting() -> bool:
        now = time.monotonic()
        return any(s not in replied and now - t < timeout for s, t in arrived.items())

    with dovecot.client(timeout=60) as imap:
        while queue or waiting():
            if queue and time.monotonic() >= next_append:
                mail = queue.pop(0)
                imap.append("INBOX", mail.raw, msg_time=datetime.now(UTC).replace(microsecond=0))
                arrived[mail.sender.lower()] = time.monotonic()
                next_append += every
            seen = _look(sink, seen, replied)
            time.sleep(LOOK_EVERY)
    return [_latency(arrived[s], replied.get(s), timeout) for s in arrived]


def _latency(arrived: float, replied: float | None, timeout: float) -> float | None:
    if replied is None or replied - arrived > timeout:
        return None
    return max(0.0, replied - arrived)


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the values at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def stop_bot(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        print(f"warning: the worker ignored SIGTERM for {STOP_TIMEOUT:.0f} s and was killed")
        return -signal.SIGKILL


def report(latencies: list[float | None], args: argparse.Namespace, code: int) -> None:
    answered = [x for x in latencies if x is not None]

    def shown(share: float) -> str:
        return f"{percentile(answered, share):.2f}" if answered else "-"

    rows = [
        ("mails appended", f"{len(latencies)} (one every {args.every:g} s)"),
        (f"replies within {args.timeout:g} s", len(answered)),
        ("timeouts", len(latencies) - len(answered)),
        ("p50 (s)", shown(0.5)),
        ("p95 (s)", shown(0.95)),
        ("max (s)", f"{max(answered):.2f}" if answered else "-"),
        ("per mail (s)", " ".join("timeout" if x is None else f"{x:.2f}" for x in latencies)),
        ("worker exit after SIGTERM", code),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


def run(args: argparse.Namespace, work: Path) -> int:
    servers, _, fakes = load()
    mails = make_mails(args.mails, args.seed, datetime.now(UTC), fakes)
    with servers.Dovecot() as dovecot, servers.SmtpSink() as sink:
        capacity = max(1, args.mails // 2)
        config = bot_config(work / "bot", dovecot, sink, capacity, extra=SCHEDULE)
        proc = start_bot(config, dovecot, work)
        try:
            if not wait_ready(proc, work / "run.err"):
                said = (work / "run.err").read_text(encoding="utf-8", errors="replace")
                print(f"the worker exited {proc.returncode} before its first cycle:\n{said}")
                return 1
            latencies = measure(dovecot, sink, mails, args.every, args.timeout)
        finally:
            code = stop_bot(proc) if proc.returncode is None else proc.returncode
    report(latencies, args, code)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=20, help="registrations to append")
    parser.add_argument("--every", type=float, default=3.0, help="seconds between appends")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait per mail")
    parser.add_argument("--seed", type=int, default=1, help="seed for the generated mails")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (bot state)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="inbox-bot-latency-"))
    try:
        return run(args, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
