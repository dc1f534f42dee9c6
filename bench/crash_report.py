#!/usr/bin/env python3
"""Crash report: SIGKILL `inbox-bot poll` at random moments and print what survived.

Runs the same experiment as tests/test_crash.py against a throwaway Dovecot and SMTP
sink on loopback (tests/servers.py; Dovecot must be installed and this must run as
root, as for the test suite): a reference poll decides a generated inbox in one go,
then fresh databases decide the same mailbox messages with polls that are SIGKILLed
after a random delay and restarted until one completes, until --kills kills are done.

    python bench/crash_report.py --mails 150 --kills 100 --seed 1
    python bench/crash_report.py --kills 20 --smtp-delay 0.05   # a server slow to answer

Not run by pytest. Exit status 0 when every check held, 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"


def _load() -> tuple[object, object, object]:
    # tests/ is not a package: its modules import each other by name (servers, helpers).
    for path in (str(TESTS), str(REPO)):
        if path not in sys.path:
            sys.path.insert(0, path)
    servers = importlib.import_module("servers")
    crash = importlib.import_module("test_crash")
    return servers.Dovecot, servers.SmtpSink, crash


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=150, help="mails in the inbox")
    parser.add_argument("--kills", type=int, default=100, help="SIGKILLs to survive")
    parser.add_argument("--seed", type=int, default=1, help="seed for the inbox and delays")
    parser.add_argument("--capacity", type=int, default=40, help="seats of the event")
    parser.add_argument(
        "--smtp-delay",
        type=float,
        default=0.0,
        help="seconds the SMTP sink waits before answering 250 to DATA (a busy server)",
    )
    parser.add_argument(
        "--max-delay",
        type=float,
        default=None,
        help="longest kill delay in seconds (default: an idle poll's time + 1 s)",
    )
    args = parser.parse_args(argv)
    dovecot_class, sink_class, crash = _load()

    failure = None
    with (
        tempfile.TemporaryDirectory(prefix="inbox-bot-crash-") as work,
        dovecot_class() as dovecot,  # type: ignore[operator]
        sink_class(answer_delay=args.smtp_delay) as sink,  # type: ignore[operator]
    ):
        try:
            figures = crash.crash_run(  # type: ignore[attr-defined]
                dovecot,
                sink,
                Path(work),
                mails=args.mails,
                kills=args.kills,
                seed=args.seed,
                capacity=args.capacity,
                max_delay=args.max_delay,
                max_seconds=3600,
            )
        except AssertionError as exc:
            failure = str(exc) or type(exc).__name__
            figures = None
    if figures is None:
        print(f"crash run failed: {failure}", file=sys.stderr)
        return 1

    stages = ", ".join(f"{k} {v}" for k, v in sorted(figures.kills_by_stage.items()))
    rows = [
        ("kills survived", f"{figures.kills} ({stages})"),
        ("rounds (fresh database each)", figures.rounds),
        ("polls started", figures.polls_started),
        ("mails", f"{figures.mails} per round, {figures.mails * figures.rounds} decided"),
        ("replies", f"{figures.replies} ({figures.submissions} submissions)"),
        (
            "duplicate submissions",
            f"{figures.duplicate_submissions} "
            f"({figures.interrupted_submissions} submissions cut off by a kill)",
        ),
        ("lost mails", figures.lost_mails),
        ("torn allocation-log lines", figures.torn_log_lines),
        ("allocation equal to uninterrupted run", "yes" if figures.allocation_equal else "no"),
        ("replies equal to uninterrupted run", "yes" if figures.replies_equal else "no"),
        ("kill delays (s)", f"{figures.delays[0]}-{figures.delays[1]}"),
        ("SMTP answer delay (s)", args.smtp_delay),
        ("uninterrupted poll (s)", figures.reference_seconds),
        ("whole run (s)", figures.seconds),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    for problem in figures.problems:
        print(f"problem: {problem}")
    ok = (
        figures.allocation_equal
        and figures.replies_equal
        and figures.lost_mails == 0
        and not figures.problems
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
