"""Crash anywhere: SIGKILL `inbox-bot poll` at random moments, restart it, and compare.

A reference run decides a large inbox in one go. Then the same mailbox messages are
decided again from a fresh database by polls that are SIGKILLed after a random delay
(while deciding, sending and marking) and restarted until one finishes. The final
allocation must equal the reference, no mail may be lost or decided twice, and a reply
may reach the SMTP server twice only when its submission was cut off by a kill.

This module also holds `assert_invariants`, the checks every reliability test ends
with (tests/test_faults.py imports it), and the crash-run engine that
bench/crash_report.py drives from the command line.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from helpers import PASSWORD_ENV, write_config
from servers import Dovecot, SmtpSink

REPO = Path(__file__).resolve().parents[1]
BERLIN = ZoneInfo("Europe/Berlin")
DEADLINE = datetime(2018, 11, 23, 23, 59, 59, tzinfo=BERLIN)
OUR_ID_DOMAIN = "@smartcity.dortmund.de>"
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)


# --------------------------------------------------------------------------- the inbox

_FIRST = (
    "Anna Jonas Lea Tim Sabine Markus Julia Stefan Katrin Thomas Petra Michael Claudia Frank "
    "Nicole Andreas Heike Jan Sandra Dirk Birgit Oliver Melanie Sven Ute Ralf Kerstin Holger "
    "Silke Carsten Anja Uwe Tanja Jens Britta Lars Miriam Bernd Nadine Torsten Ines Malte"
).split()
_LAST = (
    "Albers Roth Wehrmann Sommerfeld Brandhoff Kortmann Ahrens Kersting Reuter Lindner "
    "Obermeier Sasse Kleffmann Kuschel Tewes Brenner Vogt Hartmann Krause Lange Pohl Franke "
    "Kuhn Busch Bauer Winkler Lorenz Otto Jansen Arndt Haase Engel Brandt Peters Sander "
    "Wolters Hesse Dreyer Ostermann Kemper Böhmer Fischer Schäfer Kaiser Thiele Gröne Küpper"
).split()
_DOMAINS = (
    "unna.de bochum.de hagen.de iserlohn.de hamm.de herne.de essen.de bottrop.de witten.de "
    "marl.de kamen.de selm.de werne.de schwelm.de gladbeck.de dorsten.de herten.de datteln.de "
    "waltrop.de luenen.de schwerte.de bergkamen.de oberhausen.de arnsberg.de"
).split()

_REGISTER = (
    "Sehr geehrte Damen und Herren,\n\nhiermit melde ich mich verbindlich zum Interkommunalen "
    "Austausch am 5. Dezember an.\n\nMit freundlichen Grüßen\n{name}\n",
    "Guten Tag,\n\nich nehme gerne am Interkommunalen Austausch in den Westfalenhallen teil und "
    "melde mich hiermit an.\n\nViele Grüße\n{name}\n",
)
_REGISTER_TWO = (
    "Sehr geehrte Damen und Herren,\n\nhiermit melde ich mich sowie {colleague} zum "
    "Interkommunalen Austausch am 05.12.2018 an.\n\nMit freundlichen Grüßen\n{name}\n"
)
_CANCEL = (
    "Sehr geehrte Damen und Herren,\n\nleider muss ich meine Anmeldung zum Interkommunalen "
    "Austausch zurückziehen, an dem Tag tagt der Rat.\n\nMit freundlichen Grüßen\n{name}\n"
)
_AGAIN = "Guten Tag,\n\nsicherheitshalber schicke ich meine Mail noch einmal.\n\n"
_OOF = (
    "Vielen Dank für Ihre Nachricht. Ich bin bis einschließlich {day}. November nicht im "
    "Dienst. Ihre E-Mail wird nicht weitergeleitet.\n\nBeste Grüße\n{name}\n"
)
_SUBJECTS = {
    "registration": "Anmeldung Interkommunaler Austausch",
    "duplicate": "Anmeldung Interkommunaler Austausch",
    "late": "Anmeldung Interkommunaler Austausch",
    "cancellation": "Absage Interkommunaler Austausch",
    "auto_reply": "Automatische Antwort: Interkommunaler Austausch",
}


@dataclass(frozen=True)
class Delivery:
    """One mail to APPEND: its bytes, its INTERNALDATE and what it is meant to be."""

    raw: bytes
    when: datetime
    kind: str  # registration / duplicate / cancellation / auto_reply / late
    sender: str


def _ascii(text: str) -> str:
    return text.lower().translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}))


def mail_bytes(
    name: str,
    address: str,
    subject: str,
    body: str,
    message_id: str,
    extra: tuple[str, ...] = (),
) -> bytes:
    """A plain UTF-8 text mail as an MTA would deliver it (CRLF line ends)."""
    head = [
        f"From: {name} <{address}>",
        "To: smartcity@dortmund.de",
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        *extra,
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


def make_inbox(
    seed: int,
    mails: int = 120,
    *,
    start: datetime = datetime(2018, 11, 5, 8, 0, tzinfo=BERLIN),
    deadline: datetime = DEADLINE,
) -> list[Delivery]:
    """A registration season, sorted by arrival, every INTERNALDATE distinct.

    About 3/4 first registrations (30 % of them with a colleague), 1/15 duplicates,
    1/12 cancellations from registered addresses, 1/30 out-of-office mails and 1/24 late
    registrations; about 0.8 distinct addresses per mail, spread over 24 city domains.
    """
    rng = random.Random(seed)
    late_n = max(1, mails // 24)
    oof_n = max(1, mails // 30)
    cancel_n = max(1, mails // 12)
    dup_n = max(1, mails // 15)
    first_n = mails - late_n - oof_n - cancel_n - dup_n
    names = [(f, la) for f in _FIRST for la in _LAST]
    if first_n * 2 + late_n > len(names):
        raise ValueError(f"at most about {len(names) // 2} mails per inbox")
    rng.shuffle(names)
    people = iter(names)
    span = (deadline - start).total_seconds()

    def person() -> tuple[str, str]:
        first, last = next(people)
        return f"{first} {last}", f"{_ascii(first)}.{_ascii(last)}@{rng.choice(_DOMAINS)}"

    events: list[tuple[float, str, str, str, str]] = []  # offset, kind, name, address, body
    registered: list[tuple[float, str, str, str]] = []
    for _ in range(first_n):
        offset = rng.uniform(0, span * 0.85)
        name, address = person()
        if rng.random() < 0.3:
            salutation = rng.choice(("meine Kollegin Frau", "meinen Kollegen Herrn"))
            colleague = f"{salutation} {' '.join(next(people))}"
            body = _REGISTER_TWO.format(colleague=colleague, name=name)
        else:
            body = rng.choice(_REGISTER).format(name=name)
        events.append((offset, "registration", name, address, body))
        registered.append((offset, name, address, body))
    registered.sort()
    # Cancellations, duplicates and out-of-office mails come from distinct, earlier
    # registrants, so nobody registers again after cancelling.
    chosen = rng.sample(registered[: int(len(registered) * 0.8)], cancel_n + dup_n + oof_n)
    for index, (offset, name, address, body) in enumerate(chosen):
        later = rng.uniform(offset + 60, span - 60)
        if index < cancel_n:
            events.append((later, "cancellation", name, address, _CANCEL.format(name=name)))
        elif index < cancel_n + dup_n:
            events.append((later, "duplicate", name, address, _AGAIN + body))
        else:
            body = _OOF.format(day=rng.randint(24, 30), name=name)
            events.append((later, "auto_reply", name, address, body))
    for _ in range(late_n):
        name, address = person()
        offset = span + rng.uniform(3600, 5 * 86400)
        events.append((offset, "late", name, address, rng.choice(_REGISTER).format(name=name)))
    events.sort(key=lambda e: e[0])
    out: list[Delivery] = []
    previous = start - timedelta(seconds=1)
    for i, (offset, kind, name, address, body) in enumerate(events):
        when = max(start + timedelta(seconds=int(offset)), previous + timedelta(seconds=1))
        previous = when
        extra: tuple[str, ...] = ()
        if kind == "auto_reply":
            extra = ("Auto-Submitted: auto-replied", "X-Auto-Response-Suppress: All")
        message_id = f"<crash-{seed}-{i}-{rng.getrandbits(32):08x}@mail.example>"
        raw = mail_bytes(name, address, _SUBJECTS[kind], body, message_id, extra)
        out.append(Delivery(raw=raw, when=when, kind=kind, sender=address))
    return out


def append_all(dovecot: Dovecot, deliveries: list[Delivery], folder: str = "INBOX") -> list[int]:
    """APPEND every mail over one connection (much faster than one login per mail)."""
    uids = []
    with dovecot.client() as imap:
        for d in deliveries:
            response = imap.append(folder, d.raw, msg_time=d.when)
            match = _APPENDUID.search(response)
            assert match, response
            uids.append(int(match.group(2)))
    return uids


# --------------------------------------------------------------------------- invariants


def _config_near(db_path: Path) -> dict[str, Any]:
    """The event.toml that write_config put beside the state/ folder of this database."""
    for folder in (db_path.parent, db_path.parent.parent):
        config = folder / "event.toml"
        if config.is_file():
            return tomllib.loads(config.read_text(encoding="utf-8"))
    return {}


def _connect(db_path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(db_path, timeout=30)
    db.row_factory = sqlite3.Row
    return db


def submissions(sink: SmtpSink) -> dict[str, list[Any]]:
    """Every captured submission by its Message-ID header."""
    found: dict[str, list[Any]] = {}
    for captured in sink.messages:
        head = email.message_from_bytes(captured.data, policy=email.policy.compat32)
        found.setdefault((head["Message-ID"] or "").strip(), []).append(captured)
    return found


def _name_key(name: str) -> str:
    return " ".join(name.lower().split())


def assert_invariants(
    db_path: Path,
    sink: SmtpSink | None,
    dovecot: Dovecot,
    *,
    capacity: int | None = None,
    folder: str | None = None,
    settled: bool = True,
    interrupted: Mapping[str, int] | None = None,
    all_processed: bool = True,
    sink_is_complete: bool = True,
) -> dict[str, int]:
    """The promises that hold after any sequence of faults; returns a few figures.

    - seats: confirmed <= capacity, seat numbers unique in 1..capacity, nobody waits
      while a seat is free;
    - at most one active (confirmed/waitlisted) attendee per email, and per
      registering contact + name;
    - every UID of the folder (current UIDVALIDITY) has exactly one `messages` row
      (`all_processed`), and no mail content was decided twice;
    - every outbox row is sent or failed (`settled`, unless SMTP is left down or a
      brake holds replies on purpose);
    - each outbox Message-ID was submitted at most once, or once more per interrupted
      submission (`interrupted`: Message-ID -> how often its outcome was unknown), and
      all submissions of one reply are byte-identical to the outbox row, to its one
      recipient; a sent row was submitted (`sink_is_complete`: the sink saw all of
      this database's traffic and nothing else);
    - PRAGMA integrity_check is ok.
    Capacity and folder default to the config written beside the database.
    """
    config = _config_near(db_path)
    if capacity is None:
        capacity = int(config["event"]["capacity"])
    if folder is None:
        folder = str(config.get("imap", {}).get("folder", "INBOX"))
    interrupted = interrupted or {}
    figures: dict[str, int] = {}
    db = _connect(db_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

        # --- seats and persons
        people = db.execute("SELECT * FROM attendees").fetchall()
        confirmed = [p for p in people if p["status"] == "confirmed"]
        waiting = [p for p in people if p["status"] == "waitlisted"]
        seats = [p["seat"] for p in confirmed]
        assert len(confirmed) <= capacity, f"{len(confirmed)} confirmed > capacity {capacity}"
        assert len(set(seats)) == len(seats), f"a seat given twice: {sorted(seats)}"
        assert all(s is not None and 1 <= s <= capacity for s in seats), sorted(seats)
        assert all(p["seat"] is None for p in people if p["status"] != "confirmed")
        if waiting:
            assert len(confirmed) == capacity, "people wait while seats are free"
        active = confirmed + waiting
        by_email = Counter(p["email"].lower() for p in active if p["email"])
        assert not [e for e, n in by_email.items() if n > 1], f"active twice: {by_email}"
        by_contact_name = Counter((p["contact"].lower(), _name_key(p["name"])) for p in active)
        twice = [k for k, n in by_contact_name.items() if n > 1]
        assert not twice, f"active twice (contact, name): {twice}"
        figures["confirmed"] = len(confirmed)
        figures["waitlisted"] = len(waiting)

        # --- mail: none lost, none decided twice
        with dovecot.client() as imap:
            info = imap.select_folder(folder, readonly=True)
            uidvalidity = int(info[b"UIDVALIDITY"])
            in_mailbox = set(imap.search("ALL"))
        rows = db.execute(
            "SELECT uid FROM messages WHERE folder = ? AND uidvalidity = ?", (folder, uidvalidity)
        ).fetchall()
        recorded = Counter(r["uid"] for r in rows)
        assert not [u for u, n in recorded.items() if n > 1], "a UID recorded twice"
        lost = in_mailbox - set(recorded)
        figures["lost"] = len(lost)
        if all_processed:
            assert not lost, f"UIDs in {folder} without a messages row: {sorted(lost)}"
        decided = Counter(
            r[0]
            for r in db.execute(
                "SELECT raw_sha256 FROM messages WHERE decision != 'already_processed'"
            )
        )
        assert not [s for s, n in decided.items() if n > 1], "the same mail decided twice"

        # --- replies
        outbox = db.execute("SELECT * FROM outbox ORDER BY id").fetchall()
        if settled:
            stuck = [(r["id"], r["state"]) for r in outbox if r["state"] not in ("sent", "failed")]
            assert not stuck, f"outbox rows not settled: {stuck}"
        figures["replies"] = len(outbox)
        figures["duplicates"] = 0
        if sink is not None:
            submitted = submissions(sink)
            ours = {r["message_id"] for r in outbox}
            for row in outbox:
                copies = submitted.get(row["message_id"], [])
                allowed = 1 + interrupted.get(row["message_id"], 0)
                assert len(copies) <= allowed, (
                    f"reply {row['message_id']} submitted {len(copies)} times, allowed {allowed}"
                )
                figures["duplicates"] += max(0, len(copies) - 1)
                for copy in copies:
                    assert copy.rcpt_tos == (row["recipient"],), copy.rcpt_tos
                    assert copy.data == bytes(row["data"]), "a submission differs from its row"
                if sink_is_complete and row["state"] == "sent":
                    assert copies, f"reply {row['message_id']} is 'sent' but never submitted"
                if row["state"] in ("queued", "retry") and row["attempts"] == 0:
                    assert not copies, f"reply {row['message_id']} went out but is queued"
            if sink_is_complete:
                stray = [m for m in submitted if m.endswith(OUR_ID_DOMAIN) and m not in ours]
                assert not stray, f"submitted replies without an outbox row: {stray}"
    finally:
        db.close()
    return figures


# --------------------------------------------------------------------------- views


def export_allocation(config: Path) -> dict[str, Any]:
    """`inbox-bot export --format json`, computed in this process (same code, no startup)."""
    from inbox_bot.adapters.store import open_store
    from inbox_bot.app.allocation import allocation
    from inbox_bot.config import load_settings

    settings = load_settings(config, {PASSWORD_ENV: "unused"})
    with open_store(settings.storage.database) as store:
        return allocation(settings, store)


def attendee_view(exported: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What must not depend on crashes: who, registered by whom, when, and where they stand."""
    return [
        (
            a["name"],
            a["email"],
            a["contact"],
            a["registered_at"],
            a["status"],
            a["seat"],
            a["waitlist_position"],
        )
        for a in exported["attendees"]
    ]


def message_view(exported: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every mail's decision; reply Message-IDs are random per run and left out."""
    return sorted(
        (m["uid"], m["message_id"], m["kind"], m["decision"], m["needs_review"])
        for m in exported["messages"]
    )


def reply_kinds(db_path: Path) -> Counter[tuple[str, str]]:
    db = _connect(db_path)
    try:
        return Counter(
            (r["recipient"].lower(), r["kind"]) for r in db.execute("SELECT * FROM outbox")
        )
    finally:
        db.close()


def replies_per_recipient(sink: SmtpSink) -> Counter[str]:
    """Distinct replies (by Message-ID) each address received."""
    return Counter(copies[0].rcpt_tos[0].lower() for copies in submissions(sink).values() if copies)


# --------------------------------------------------------------------------- the crash run


def crash_config(folder: Path, dovecot: Dovecot, sink: SmtpSink, capacity: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = write_config(folder, dovecot, sink, capacity=capacity)
    text = config.read_text(encoding="utf-8")
    # Small batches: each batch is decided, sent and marked before the next one, so
    # kills land in all three stages. Copies of replies go to Sent, whose lookup guards
    # resending a reply whose submission was cut off.
    text = text.replace("batch_size = 7", 'batch_size = 5\nsent_folder = "Sent"')
    config.write_text(text, encoding="utf-8")
    return config


def bot_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
    )
    return env


def poll_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "inbox_bot", "poll", "--config", str(config)]


def run_poll(
    config: Path, dovecot: Dovecot, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {**bot_env(), PASSWORD_ENV: dovecot.password}
    return subprocess.run(
        poll_command(config),
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


@dataclass(frozen=True)
class _Snapshot:
    """What a poll had committed: counts, and each reply's state and attempts."""

    decided: int = 0
    sent: int = 0
    marked: int = 0
    replies: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    sent_unmarked: int = 0

    @property
    def progress(self) -> tuple[int, int, int]:
        return (self.decided, self.sent, self.marked)


def _snapshot(db_path: Path) -> _Snapshot:
    if not db_path.exists():
        return _Snapshot()
    db = _connect(db_path)
    try:
        replies = {
            r["message_id"]: (r["state"], r["attempts"])
            for r in db.execute("SELECT message_id, state, attempts FROM outbox")
        }
        return _Snapshot(
            decided=db.execute("SELECT COUNT(*) FROM messages").fetchone()[0],
            sent=sum(1 for state, _ in replies.values() if state == "sent"),
            marked=db.execute("SELECT COUNT(*) FROM messages WHERE marked = 1").fetchone()[0],
            replies=replies,
            sent_unmarked=db.execute(
                "SELECT COUNT(*) FROM outbox o JOIN messages m ON m.id = o.message_ref "
                "WHERE o.state = 'sent' AND m.marked = 0"
            ).fetchone()[0],
        )
    except sqlite3.OperationalError:
        return _Snapshot()  # killed while the schema was being created
    finally:
        db.close()


def _cut_off(before: _Snapshot, after: _Snapshot) -> list[str]:
    """Replies whose submission this run started but did not finish (outcome unknown)."""
    return [
        message_id
        for message_id, (state, attempts) in after.replies.items()
        if state in ("sending", "unknown") and attempts > before.replies.get(message_id, ("", 0))[1]
    ]


def _stage(before: _Snapshot, after: _Snapshot) -> str:
    """Roughly where the poll was when killed, judged from what it had committed."""
    if _cut_off(before, after):
        return "sending"
    if after.progress == before.progress:
        return "startup"
    states = Counter(state for state, _ in after.replies.values())
    if states["queued"]:
        return "sending" if after.sent_unmarked else "deciding"
    if after.decided > after.marked:
        return "marking"
    return "deciding"


def _log_file_check(log_path: Path, db_path: Path) -> int:
    """The JSON-lines copy has every record exactly once; returns the torn lines."""
    db = _connect(db_path)
    try:
        expected = [r[0] for r in db.execute("SELECT seq FROM log ORDER BY seq")]
    finally:
        db.close()
    seqs, torn = [], 0
    for line in log_path.read_text(encoding="utf-8").splitlines():
        try:
            seqs.append(int(json.loads(line)["seq"]))
        except (ValueError, KeyError, TypeError):
            torn += 1
    assert seqs == expected, "allocation log file: records missing or repeated"
    return torn


@dataclass
class CrashFigures:
    mails: int = 0
    rounds: int = 0
    kills: int = 0
    kills_by_stage: dict[str, int] = field(default_factory=dict)
    polls_started: int = 0
    replies: int = 0  # distinct replies per round, summed
    submissions: int = 0
    duplicate_submissions: int = 0
    interrupted_submissions: int = 0
    lost_mails: int = 0
    torn_log_lines: int = 0
    allocation_equal: bool = True
    replies_equal: bool = True
    reference_seconds: float = 0.0
    idle_poll_seconds: float = 0.0
    delays: tuple[float, float] = (0.0, 0.0)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def crash_run(
    dovecot: Dovecot,
    sink: SmtpSink,
    workdir: Path,
    *,
    mails: int = 150,
    kills: int = 100,
    seed: int = 1,
    capacity: int = 40,
    min_delay: float = 0.05,
    max_delay: float | None = None,
    max_seconds: float = 600,
) -> CrashFigures:
    """Reference run, then rounds of killed polls on the same mailbox until `kills` kills.

    Each round starts from a fresh database and a cleared sink and ends when a poll
    completes; then a further poll must say "No new mail." and send nothing. The figures
    say what happened; the checks that fail raise AssertionError.

    Kill delays are uniform in [min_delay, max_delay]. By default max_delay is the time
    of an idle poll (interpreter start, database, IMAP login: ~0.8 s here) plus 1 s, so
    most kills land in the work itself rather than in the interpreter's start-up, on
    fast and slow machines alike; the work of one 150-mail poll is ~3-4 s here.
    """
    started = time.monotonic()
    figures = CrashFigures(mails=mails)
    rng = random.Random(seed)
    dovecot.reset()
    dovecot.create_folder("Sent")
    append_all(dovecot, make_inbox(seed, mails))

    reference = crash_config(workdir / "reference", dovecot, sink, capacity)
    ref_db = reference.parent / "state" / "bot.sqlite3"
    sink.clear()
    t0 = time.monotonic()
    result = run_poll(reference, dovecot)
    figures.reference_seconds = round(time.monotonic() - t0, 2)
    assert result.returncode == 0, result.stderr
    sent = len(sink.messages)
    t0 = time.monotonic()
    idle = run_poll(reference, dovecot)
    figures.idle_poll_seconds = round(time.monotonic() - t0, 2)
    assert idle.returncode == 0 and "No new mail." in idle.stdout, idle.stdout + idle.stderr
    assert len(sink.messages) == sent
    if max_delay is None:
        max_delay = figures.idle_poll_seconds + 1.0
    figures.delays = (min_delay, round(max_delay, 2))
    assert_invariants(ref_db, sink, dovecot)
    ref_export = export_allocation(reference)
    ref_replies = replies_per_recipient(sink)
    ref_kinds = reply_kinds(ref_db)
    env = {**bot_env(), PASSWORD_ENV: dovecot.password}

    while figures.kills < kills:
        if time.monotonic() - started > max_seconds:
            raise AssertionError(f"only {figures.kills} kills in {max_seconds:.0f} s")
        figures.rounds += 1
        config = crash_config(workdir / f"round-{figures.rounds}", dovecot, sink, capacity)
        db_path = config.parent / "state" / "bot.sqlite3"
        sink.clear()
        interrupted: Counter[str] = Counter()
        completed = None
        for _attempt in range(400):
            # Once enough kills are done the round is allowed to finish.
            delay = rng.uniform(min_delay, max_delay) if figures.kills < kills else None
            before = _snapshot(db_path)
            out = config.parent / "poll.out"
            with (
                out.open("w+", encoding="utf-8") as log,
                subprocess.Popen(
                    poll_command(config), stdout=log, stderr=subprocess.STDOUT, text=True, env=env
                ) as proc,
            ):
                figures.polls_started += 1
                try:
                    proc.wait(timeout=delay if delay is not None else 120)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=30)
                    if delay is None:
                        raise AssertionError("a poll ran for more than 120 s") from None
                # A poll that ended by itself just before the kill counts as ended.
                if proc.returncode == -signal.SIGKILL:
                    figures.kills += 1
                    after = _snapshot(db_path)
                    stage = _stage(before, after)
                    figures.kills_by_stage[stage] = figures.kills_by_stage.get(stage, 0) + 1
                    interrupted.update(_cut_off(before, after))
                    continue
                log.seek(0)
                said = log.read()
            if proc.returncode == 0:
                completed = said
                break
            figures.problems.append(
                f"round {figures.rounds}: exit {proc.returncode}: {said[-400:]}"
            )
            assert len(figures.problems) < 5, figures.problems
        assert completed is not None, "no poll completed within 400 attempts"
        assert "mails processed" in completed, completed
        sent_before = len(sink.messages)
        again = run_poll(config, dovecot)
        assert again.returncode == 0, again.stderr
        assert "No new mail." in again.stdout, again.stdout
        assert len(sink.messages) == sent_before, "the poll after completion sent mail"

        got = assert_invariants(db_path, sink, dovecot, interrupted=interrupted)
        figures.interrupted_submissions += sum(interrupted.values())
        figures.duplicate_submissions += got["duplicates"]
        figures.lost_mails += got["lost"]
        figures.replies += got["replies"]
        figures.submissions += len(sink.messages)
        figures.torn_log_lines += _log_file_check(
            config.parent / "state" / "allocation-log.jsonl", db_path
        )
        exported = export_allocation(config)
        if attendee_view(exported) != attendee_view(ref_export) or message_view(
            exported
        ) != message_view(ref_export):
            figures.allocation_equal = False
            figures.problems.append(f"round {figures.rounds}: allocation differs")
        if replies_per_recipient(sink) != ref_replies or reply_kinds(db_path) != ref_kinds:
            figures.replies_equal = False
            figures.problems.append(f"round {figures.rounds}: replies differ")
    figures.seconds = round(time.monotonic() - started, 1)
    return figures


# --------------------------------------------------------------------------- the test


def test_sigkill_anywhere_loses_nothing_and_changes_no_seat(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink, capsys: Any
) -> None:
    figures = crash_run(mailbox, smtp_sink, tmp_path, mails=150, kills=100, seed=20181205)
    report = figures.as_dict()
    (tmp_path / "crash-figures.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    with capsys.disabled():
        print(
            f"\ncrash test: {figures.kills} kills survived in {figures.rounds} rounds "
            f"({figures.kills_by_stage}), {figures.mails} mails per round, "
            f"{figures.replies} replies, {figures.submissions} submissions, "
            f"{figures.duplicate_submissions} duplicate submissions "
            f"({figures.interrupted_submissions} interrupted), {figures.lost_mails} lost mails, "
            f"allocation equal: {figures.allocation_equal}, {figures.seconds} s; "
            f"figures in {tmp_path / 'crash-figures.json'}"
        )
    assert figures.kills >= 100
    assert figures.lost_mails == 0
    assert figures.allocation_equal, figures.problems
    assert figures.replies_equal, figures.problems
    assert figures.duplicate_submissions <= figures.kills
    assert not figures.problems, figures.problems
