#!/usr/bin/env python3
"""Throughput: `inbox-bot poll` against an I/O floor and a naive script, on the same mails.

For each size N, N registration mails from N distinct senders (plain German text, ~10 %
HTML-only, ~5 % also registering a colleague, ~2 % padded to 8-30 KB with signatures and
quoted text) go into a fresh throwaway Dovecot (tests/servers.py; Dovecot must be
installed and this must run as root, as for the test suite) with increasing
INTERNALDATEs, for an event with N/2 seats. Three contenders then answer the same
unprocessed mails (flags and SMTP sink reset in between, a fresh bot state each time):

    floor  in process: one SEARCH, FETCH in batches of 200, mailparser, N short replies
           over one SMTP connection, one STORE for all UIDs (what the I/O costs at least)
    naive  in process: one FETCH, one SMTP connection and one STORE per mail
    bot    `inbox-bot poll --config FILE` as a subprocess (interpreter start included);
           peak RSS from os.wait4 (the bot and the reader processes it waited for)

    python bench/throughput.py                           # N = 1000, 2500, 5000, 10000
    python bench/throughput.py --sizes 200,500 --repeats 2 --only floor,bot --keep

What to read: the ratios, not the seconds (those depend on the machine and its load).
`bot/floor` is how many times the I/O floor the bot needs for the same work (its
parsing, classification, database and bookkeeping); `naive/bot` above 1 means the bot
beats a script that opens a connection per reply. A bot/floor that grows with N points
at work that is super-linear in the number of mails. Not run by pytest; exit status 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import mailparser
from bench_setup import Mail, bot_config, bot_env, load, make_mails

OURS = "smartcity@dortmund.de"
FETCH_BATCH = 200
APPEND_BATCH = 500
RESET_FLAGS = [b"\\Seen", b"\\Answered", b"\\Flagged"]


def uid_set(uids: list[int]) -> str:
    """UIDs as an IMAP sequence set of ranges ("1:200,202"), short even for 10000 UIDs."""
    parts: list[str] = []
    ordered = sorted(uids)
    for i, uid in enumerate(ordered):
        if i and uid == ordered[i - 1] + 1:
            parts[-1] = f"{parts[-1].split(':')[0]}:{uid}"
        else:
            parts.append(str(uid))
    return ",".join(parts)


def fill(dovecot: Any, mails: list[Mail]) -> None:
    """APPEND all mails over one connection, MULTIAPPEND in chunks when offered."""
    with dovecot.client(timeout=300) as imap:
        if b"MULTIAPPEND" in imap.capabilities():
            for i in range(0, len(mails), APPEND_BATCH):
                chunk = mails[i : i + APPEND_BATCH]
                imap.multiappend("INBOX", [{"msg": m.raw, "date": m.when} for m in chunk])
        else:
            for m in mails:
                imap.append("INBOX", m.raw, msg_time=m.when)
        count = imap.select_folder("INBOX", readonly=True)[b"EXISTS"]
    if count != len(mails):
        raise RuntimeError(f"INBOX holds {count} mails, {len(mails)} were appended")


def reset(dovecot: Any, sink: Any) -> None:
    """The mails unprocessed again: no \\Seen, \\Answered, \\Flagged; an empty sink."""
    with dovecot.client(timeout=300) as imap:
        imap.select_folder("INBOX")
        imap.remove_flags(uid_set(imap.search("ALL")), RESET_FLAGS, silent=True)
    sink.clear()


def reply(raw: bytes) -> tuple[str, bytes]:
    """Parse a mail with mailparser; a short reply to its sender."""
    parsed = mailparser.parse_from_bytes(raw)
    to = parsed.from_[0][1]
    msg = EmailMessage()
    msg["From"], msg["To"] = OURS, to
    msg["Subject"] = f"Re: {parsed.subject}"
    msg["Message-ID"] = make_msgid(domain="smartcity.dortmund.de")
    msg["In-Reply-To"] = parsed.message_id or ""
    msg.set_content("Vielen Dank, Ihre Anmeldung ist eingegangen.\n")
    return to, msg.as_bytes()


def run_floor(dovecot: Any, sink: Any, work: Path, n: int, args: argparse.Namespace) -> str:
    """The least I/O for the job: batched FETCH, one SMTP connection, one STORE."""
    with dovecot.client(timeout=300) as imap, smtplib.SMTP(sink.host, sink.port) as smtp:
        imap.select_folder("INBOX")
        uids = sorted(imap.search("UNANSWERED"))
        for i in range(0, len(uids), FETCH_BATCH):
            for data in imap.fetch(uids[i : i + FETCH_BATCH], ["BODY.PEEK[]"]).values():
                to, out = reply(data[b"BODY[]"])
                smtp.sendmail(OURS, [to], out)
        imap.add_flags(uid_set(uids), [b"\\Answered", b"\\Seen"], silent=True)
    return ""


def run_naive(dovecot: Any, sink: Any, work: Path, n: int, args: argparse.Namespace) -> str:
    """A first script: one FETCH, one SMTP connection and one STORE per mail."""
    with dovecot.client(timeout=300) as imap:
        imap.select_folder("INBOX")
        for uid in sorted(imap.search("UNANSWERED")):
            to, out = reply(imap.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"])
            with smtplib.SMTP(sink.host, sink.port) as smtp:
                smtp.sendmail(OURS, [to], out)
            imap.add_flags([uid], [b"\\Answered", b"\\Seen"], silent=True)
    return ""


def run_bot(dovecot: Any, sink: Any, work: Path, n: int, args: argparse.Namespace) -> str:
    """One `inbox-bot poll` in a fresh state folder; its peak RSS in MB (os.wait4)."""
    folder = Path(tempfile.mkdtemp(prefix=f"bot-{n}-", dir=work))
    config = bot_config(folder / "run", dovecot, sink, n // 2, batch_size=args.batch_size)
    profiler = ["-m", "cProfile", "-o", str(args.profile)] if args.profile else []
    command = [sys.executable, *profiler, "-m", "inbox_bot", "poll", "--config", str(config)]
    with (folder / "poll.out").open("wb") as out, (folder / "poll.err").open("wb") as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=bot_env(dovecot))
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = (folder / "poll.err").read_text(encoding="utf-8", errors="replace")[-600:]
        print(f"warning: inbox-bot poll exited {proc.returncode}: {tail.strip()}")
    return f"{usage.ru_maxrss / 1024:.0f}"


CONTENDERS: dict[str, Callable[[Any, Any, Path, int, argparse.Namespace], str]] = {
    "floor": run_floor,
    "naive": run_naive,
    "bot": run_bot,
}


@dataclass
class Row:
    contender: str
    seconds: float
    rss: str
    replies: int
    kinds: str


def reply_kinds(sink: Any) -> str:
    """Acceptances, waitlist and other replies among what the sink holds."""
    counts = {"acceptance": 0, "waitlist": 0, "other": 0}
    for captured in sink.messages:
        part = captured.message.get_body(("plain",))
        text = str(part.get_content()) if part is not None else ""
        kind = "other"
        if "Ihre Teilnahme ist damit bestätigt" in text:
            kind = "acceptance"
        elif "Leider sind alle" in text:
            kind = "waitlist"
        counts[kind] += 1
    return ", ".join(f"{v} {k}" for k, v in counts.items())


def measure(name: str, dovecot: Any, sink: Any, work: Path, n: int, args: Any) -> Row:
    reset(dovecot, sink)
    started = time.perf_counter()
    rss = CONTENDERS[name](dovecot, sink, work, n, args)
    seconds = time.perf_counter() - started
    kinds = reply_kinds(sink) if name == "bot" else ""
    return Row(name, seconds, rss or "-", len(sink.messages), kinds)


def _ratio(secs: dict[str, float], top: str, bottom: str) -> str:
    return f"{secs[top] / secs[bottom]:.1f}" if top in secs and bottom in secs else "-"


def table(n: int, rows: list[Row]) -> list[str]:
    secs = {r.contender: r.seconds for r in rows}
    lines = [
        "| N | contender | seconds | bot/floor | naive/bot | ms per mail | peak RSS MB | replies |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        bot_floor = _ratio(secs, "bot", "floor") if r.contender == "bot" else ""
        naive_bot = _ratio(secs, "naive", "bot") if r.contender == "naive" else ""
        lines.append(
            f"| {n} | {r.contender} | {r.seconds:.2f} | {bot_floor} | {naive_bot} | "
            f"{1000 * r.seconds / n:.1f} | {r.rss} | {r.replies} |"
        )
    return lines


def run_size(n: int, args: argparse.Namespace, work: Path) -> None:
    servers, _, fakes = load()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=n + 60)
    mails = make_mails(n, args.seed, start, fakes)
    with servers.Dovecot() as dovecot, servers.SmtpSink() as sink:
        fill(dovecot, mails)
        for repeat in range(args.repeats):
            order = args.only if repeat % 2 == 0 else args.only[::-1]
            rows = [measure(name, dovecot, sink, work, n, args) for name in order]
            print(f"\nN = {n}, repeat {repeat + 1} of {args.repeats}, order {', '.join(order)}\n")
            print("\n".join(table(n, rows)))
            for r in rows:
                if r.kinds:
                    print(f"\nbot replies: {r.kinds}")
                if r.contender == "bot" and r.replies != n:
                    print(f"warning: the bot delivered {r.replies} replies for {n} registrations")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,2500,5000,10000", help="mail counts N")
    parser.add_argument("--repeats", type=int, default=1, help="runs per N (order alternates)")
    parser.add_argument("--only", default="floor,naive,bot", help="contenders, comma-separated")
    parser.add_argument("--seed", type=int, default=1, help="seed for the generated mails")
    parser.add_argument("--batch-size", type=int, default=50, help="the bot's [imap] batch_size")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (bot state)")
    parser.add_argument(
        "--profile", type=Path, default=None, help="write a cProfile of the bot's poll here"
    )
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    if unknown := set(args.only) - set(CONTENDERS):
        parser.error(f"unknown contenders: {', '.join(sorted(unknown))}")
    work = Path(tempfile.mkdtemp(prefix="inbox-bot-throughput-"))
    try:
        for n in (int(size) for size in args.sizes.split(",")):
            run_size(n, args, work)
    finally:
        if args.keep:
            print(f"\nkept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
