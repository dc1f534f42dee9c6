"""Hand-written in-memory fakes of the ports (inbox_bot/ports.py), for the fast tier.

Each fake keeps the promises of its port's docstrings, no more: a test that passes
against them relies on nothing a real server would not do. They record what a person
would check afterwards (flags in the mailbox, mails that went out), and they can be
told to fail the way the real servers do (tests/servers.py arms the same faults in a
real Dovecot and SMTP sink, for the slow tier).

    FakeMailbox   an IMAP folder plus other folders (Sent); flags; UIDVALIDITY; faults
    FakeMailer    an SMTP server that captures (recipient, data); 4xx/5xx/broken DATA
    FakeClock     settable time, advanced by hand

Also here, so that the fast tests read the same way: `mail()` builds a mail as bytes,
`fast_settings()` a config for the fakes, `fast_deps()` the app's Deps around them.
"""

from __future__ import annotations

import dataclasses
import email.utils
import hashlib
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from types import TracebackType
from typing import Any

from inbox_bot import ports
from inbox_bot.adapters.reader import InProcessAnalyser
from inbox_bot.adapters.store import Store, open_store
from inbox_bot.app.deps import CycleReport, Deps
from inbox_bot.app.pipeline import run_once
from inbox_bot.app.wiring import build_deps
from inbox_bot.config import Settings, settings_from_mapping
from inbox_bot.core.model import FetchedMail, MailMeta
from inbox_bot.errors import MailboxUnavailable, SendError, SendTemporary, SendUnknown

T0 = datetime(2018, 11, 6, 9, 0, tzinfo=UTC)  # before the example event's deadline
OUR_ADDRESS = "smartcity@dortmund.de"
SENT = "Sent"

# --------------------------------------------------------------------------- clock


class FakeClock:
    """The time the app reads (deps.clock); it moves only when a test moves it."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        """Move on by `delta` or by keyword units (`advance(minutes=2)`)."""
        self.now += delta if delta is not None else timedelta(**units)
        return self.now

    def set(self, moment: datetime) -> None:
        assert moment.tzinfo is not None, "the clock gives aware times"
        self.now = moment


# --------------------------------------------------------------------------- mailbox


@dataclass
class StoredMail:
    uid: int
    internaldate: datetime
    raw: bytes
    size: int  # RFC822.SIZE as the server reports it
    flags: set[str] = field(default_factory=set)

    @property
    def message_id(self) -> str | None:
        value = message_from_bytes(self.raw, policy=policy.compat32).get("Message-ID")
        return str(value).strip() if value else None


@dataclass(frozen=True)
class FlagChange:
    """One STORE the bot issued: "+" added or "-" removed `flags` on `uid`."""

    uid: int
    op: str
    flags: frozenset[str]


class FakeMailbox:
    """An IMAP account: the folder the bot reads (`folder`) and any others (Sent).

    It is the server and the connection at once: `open()` (deps.open_mailbox) hands
    out the same object, so what one cycle leaves is what the next one finds.
    """

    def __init__(self, folder: str = "INBOX", uidvalidity: int = 1) -> None:
        self.folder = folder
        self.uidvalidity = uidvalidity
        self.uidnext = 1  # the UID the next mail will get (IMAP UIDNEXT)
        self.folders: dict[str, list[StoredMail]] = {folder: []}
        self.flag_changes: list[FlagChange] = []
        self.stores = 0  # STORE commands (one may flag many mails)
        self.searches = 0  # full looks at the folder (SEARCH + metadata)
        self.downloaded: list[list[int]] = []  # UIDs asked for, one list per download
        self.connections = 0
        self.connected = False
        self._next_uid = itertools.count(1)
        self._fail: dict[str | None, str] = {}
        self._expunge_before_download: set[int] = set()

    # --- what a test does to the server ---

    def deliver(
        self,
        raw: bytes,
        at: datetime | None = None,
        *,
        size: int | None = None,
        flags: Iterable[str] = (),
    ) -> int:
        """A mail arrives; its INTERNALDATE is `at` (default: after the last one)."""
        inbox = self.folders[self.folder]
        if at is None:
            at = inbox[-1].internaldate + timedelta(minutes=1) if inbox else T0
        uid = next(self._next_uid)
        self.uidnext = uid + 1
        inbox.append(StoredMail(uid, at, raw, len(raw) if size is None else size, set(flags)))
        return uid

    def put(self, folder: str, raw: bytes, at: datetime = T0) -> None:
        """A mail in another folder (as a server that files submitted mail in Sent)."""
        self.folders.setdefault(folder, []).append(StoredMail(0, at, raw, len(raw), {"\\Seen"}))

    def recreate(self, uidvalidity: int, *, copy_back: bool = True) -> None:
        """The folder is deleted and made anew, the old mail copied back (or not): new
        UIDs from 1 again, so old numbers mean other mails; no flags; a new UIDVALIDITY."""
        old = self.folders[self.folder] if copy_back else []
        self.uidvalidity = uidvalidity
        self._next_uid = itertools.count(1)
        self.folders[self.folder] = []
        self.uidnext = 1
        for m in reversed(old):  # copied back in another order: UIDs differ from before
            uid = next(self._next_uid)
            self.uidnext = uid + 1
            self.folders[self.folder].append(StoredMail(uid, m.internaldate, m.raw, m.size))

    def expunge(self, uid: int) -> None:
        self.folders[self.folder] = [m for m in self.folders[self.folder] if m.uid != uid]

    def expunge_before_download(self, uid: int) -> None:
        """Someone deletes the mail after the bot listed it and before it fetches it."""
        self._expunge_before_download.add(uid)

    def fail_next(self, call: str | None = None, reason: str = "connection reset") -> None:
        """The next call of that name (`"__enter__"`, `"pending"`, ...), or of any
        method when None, raises MailboxUnavailable."""
        self._fail[call] = reason

    # --- what a test reads ---

    def flags_of(self, uid: int) -> set[str]:
        mail = self._held(uid)
        if mail is None:
            raise KeyError(f"no UID {uid} in {self.folder}")
        return set(mail.flags)

    def mails(self, folder: str | None = None) -> list[StoredMail]:
        return list(self.folders.get(folder or self.folder, []))

    # --- the port ---

    def open(self) -> FakeMailbox:
        return self

    def __enter__(self) -> FakeMailbox:
        self._maybe_fail("__enter__")
        self.connections += 1
        self.connected = True
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.connected = False

    def pending(self, done: set[int]) -> list[MailMeta]:
        self._maybe_fail("pending")
        self.searches += 1
        found = [
            MailMeta(uid=m.uid, internaldate=m.internaldate, size=m.size, flags=frozenset(m.flags))
            for m in self.folders[self.folder]
            if m.uid not in done
        ]
        return sorted(found, key=lambda m: (m.internaldate, m.uid))

    def download(self, metas: Iterable[MailMeta]) -> list[FetchedMail]:
        self._maybe_fail("download")
        wanted = list(metas)
        if not wanted:
            return []
        for uid in self._expunge_before_download:
            self.expunge(uid)
        self._expunge_before_download.clear()
        self.downloaded.append([m.uid for m in wanted])
        held = {m.uid: m for m in self.folders[self.folder]}
        mails = [
            FetchedMail(
                folder=self.folder,
                uidvalidity=self.uidvalidity,
                uid=meta.uid,
                arrival=meta.internaldate.astimezone(UTC),
                size=meta.size,
                raw=held[meta.uid].raw,
                flags=meta.flags,
            )
            for meta in wanted
            if meta.uid in held
        ]
        return sorted(mails, key=lambda m: m.order)

    def add_flags(self, uids: Sequence[int], flags: Iterable[str]) -> None:
        self._maybe_fail("add_flags")
        self.stores += 1
        added = frozenset(flags)
        for uid in uids:
            self.flag_changes.append(FlagChange(uid, "+", added))
            if (mail := self._held(uid)) is not None:
                mail.flags |= added

    def remove_flags(self, uids: Sequence[int], flags: Iterable[str]) -> None:
        self._maybe_fail("remove_flags")
        self.stores += 1
        removed = frozenset(flags)
        for uid in uids:
            self.flag_changes.append(FlagChange(uid, "-", removed))
            if (mail := self._held(uid)) is not None:
                mail.flags -= removed

    def save_copy(self, folder: str, raw: bytes, when: datetime) -> None:
        self._maybe_fail("save_copy")
        self.put(folder, raw, when)

    def holds_message_id(self, folder: str, message_id: str) -> bool:
        self._maybe_fail("holds_message_id")
        return any(m.message_id == message_id for m in self.folders.get(folder, []))

    # ---

    def _maybe_fail(self, call: str) -> None:
        if call != "__enter__" and not self.connected:
            raise MailboxUnavailable("not connected")
        for key in (call, None):
            if key in self._fail:
                reason = self._fail.pop(key)
                self.connected = False
                raise MailboxUnavailable(f"IMAP {call} failed: {reason}")

    def _held(self, uid: int) -> StoredMail | None:
        return next((m for m in self.folders[self.folder] if m.uid == uid), None)


# --------------------------------------------------------------------------- mailer


@dataclass(frozen=True)
class Submission:
    recipient: str
    data: bytes

    @property
    def message(self) -> Any:
        return message_from_bytes(self.data, policy=policy.default)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def text(self) -> str:
        """The plain text a person reads."""
        body = self.message.get_body(("plain",))
        return str(body.get_content()) if body is not None else ""


@dataclass
class _Armed:
    error: type[SendError]
    recipient: str | None
    times: int | None  # None: every time
    delivered: bool  # SendUnknown only: whether the data reached the server anyway
    drop: bool  # SendTemporary only: the connection broke before DATA (not a 4xx)


class FakeMailer:
    """An SMTP submission server and its connection (deps.open_smtp = mailer.open).

    `sent` holds what the server accepted (what people receive), `attempts` every
    `send` call, in order.
    """

    def __init__(self) -> None:
        self.sent: list[Submission] = []
        self.attempts: list[Submission] = []
        self.connections = 0
        self.unreachable = ""  # non-empty: connecting fails with this reason
        self.during_send: Callable[[Submission], None] | None = None
        self._armed: list[_Armed] = []
        self._open = False

    # --- what a test does to the server ---

    def arm(
        self,
        error: type[SendError],
        *,
        recipient: str | None = None,
        times: int | None = 1,
        delivered: bool = False,
        drop: bool = False,
    ) -> None:
        """The next `times` sends (to `recipient`, or to anyone) fail with `error`:
        SendTemporary as a 4xx answer (`drop`: as a connection lost before DATA),
        SendPermanent as a 5xx answer, SendUnknown as a connection that breaks during
        DATA (`delivered`: the mail got through anyway)."""
        self._armed.append(_Armed(error, recipient, times, delivered, drop))

    def disarm(self) -> None:
        self._armed.clear()

    # --- what a test reads ---

    def to(self, recipient: str) -> list[Submission]:
        return [s for s in self.sent if s.recipient.lower() == recipient.lower()]

    @property
    def recipients(self) -> list[str]:
        return [s.recipient for s in self.sent]

    # --- the port ---

    def open(self) -> FakeMailer:
        return self

    def __enter__(self) -> FakeMailer:
        if self.unreachable:
            raise SendTemporary(f"SMTP server 127.0.0.1:25: cannot connect ({self.unreachable})")
        self.connections += 1
        self._open = True
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._open = False

    @property
    def connected(self) -> bool:
        return self._open

    def send(self, recipient: str, data: bytes) -> None:
        if not self._open:
            raise SendTemporary("not connected")
        submission = Submission(recipient, data)
        self.attempts.append(submission)
        if self.during_send is not None:
            self.during_send(submission)
        armed = self._take_armed(recipient)
        if armed is None:
            self.sent.append(submission)
            return
        if armed.error is SendUnknown:
            self._open = False  # the connection broke: that is what makes it unknown
            if armed.delivered:
                self.sent.append(submission)
            raise SendUnknown("connection lost during DATA: fake")
        if armed.drop:
            self._open = False
            raise armed.error("connection lost before DATA: fake")
        code = 550 if armed.error.__name__ == "SendPermanent" else 451
        raise armed.error(f"{code} fake refusal for {recipient}")

    def _take_armed(self, recipient: str) -> _Armed | None:
        for armed in self._armed:
            if armed.recipient is None or armed.recipient.lower() == recipient.lower():
                if armed.times is not None:
                    armed.times -= 1
                    if armed.times == 0:
                        self._armed.remove(armed)
                return armed
        return None


# --------------------------------------------------------------------------- builders


def mail(
    sender: str,
    subject: str = "Anmeldung",
    body: str = "",
    *,
    name: str = "",
    message_id: str | None = "auto",
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    extra_headers: Iterable[str] = (),
) -> bytes:
    """A plain-text mail as a person's client would send it, as bytes."""
    if message_id == "auto":
        digest = hashlib.sha256(f"{sender}|{subject}|{body}|{name}".encode()).hexdigest()
        message_id = f"<{digest[:16]}@example.org>"
    head = [
        f"From: {email.utils.formataddr((name, sender)) if name else sender}",
        f"To: {OUR_ADDRESS}",
        f"Subject: {subject}",
        "Date: Tue, 6 Nov 2018 10:00:00 +0100",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        *extra_headers,
    ]
    if message_id:
        head.append(f"Message-ID: {message_id}")
    if reply_to:
        head.append(f"Reply-To: {reply_to}")
    if in_reply_to:
        head += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    return ("\r\n".join(head) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


def registration(sender: str, name: str, *, extra: str = "", **headers: Any) -> bytes:
    """One person registers herself."""
    body = (
        "Sehr geehrte Damen und Herren,\n\nhiermit melde ich mich verbindlich zum "
        f"Interkommunalen Austausch an.{extra}\n\nMit freundlichen Grüßen\n{name}\n"
    )
    return mail(sender, "Anmeldung Interkommunaler Austausch", body, name=name, **headers)


def cancellation(sender: str, name: str, **headers: Any) -> bytes:
    body = (
        "Sehr geehrte Damen und Herren,\n\nleider muss ich meine Anmeldung zum Interkommunalen "
        f"Austausch zurückziehen.\n\nMit freundlichen Grüßen\n{name}\n"
    )
    return mail(sender, "Abmeldung", body, name=name, **headers)


def fast_settings(tmp_path: Path, **sections: dict[str, Any]) -> Settings:
    """The example event, with servers the fakes stand in for (nothing connects)."""
    raw: dict[str, dict[str, Any]] = {
        "imap": {"host": "127.0.0.1", "security": "none", "sent_folder": SENT},
        "smtp": {
            "host": "127.0.0.1",
            "security": "none",
            "from_address": OUR_ADDRESS,
            "from_name": "Allianz Smart City Dortmund",
            "message_id_domain": "smartcity.dortmund.de",
        },
        "event": {
            "title": "Interkommunaler Austausch",
            "organizer": "Allianz Smart City Dortmund",
            "starts_at": "2018-12-05T10:00:00+01:00",
            "ends_at": "2018-12-05T13:00:00+01:00",
            "timezone": "Europe/Berlin",
            "venue": "Saal 9 und 10, Kongresszentrum Westfalenhallen Dortmund, Rheinlanddamm 200",
            "capacity": 10,
            "registration_deadline": "2018-11-23T23:59:59+01:00",
        },
        "storage": {"database": "bot.sqlite3", "log": "allocation-log.jsonl"},
        "rules": {"internal_domains": ["stadtdo.de", "dortmund.de"]},
    }
    for name, values in sections.items():
        if name == "events":  # a series: [[events]] instead of the one [event]
            raw.pop("event")
            raw["events"] = values  # type: ignore[assignment]
            continue
        raw[name] = {**raw.get(name, {}), **values}
    return settings_from_mapping(raw, base=tmp_path, environ={})


@dataclass
class World:
    """The app's Deps around the fakes, a real SQLite store and the real core."""

    deps: Deps
    mailbox: FakeMailbox
    mailer: FakeMailer
    clock: FakeClock

    @property
    def store(self) -> Store:
        return self.deps.store

    def poll(self, *, dry_run: bool = False) -> CycleReport:
        """One cycle of `inbox-bot poll`."""
        return run_once(self.deps, dry_run=dry_run)

    def close(self) -> None:
        self.deps.close()
        self.store.close()

    def with_settings(self, **sections: dict[str, Any]) -> World:
        """The same world after staff changed the config (and restarted the bot)."""
        settings = self.deps.settings
        update: dict[str, Any] = {
            name: getattr(settings, name).model_copy(update=values)
            for name, values in sections.items()
            if name != "event"
        }
        if "event" in sections:  # the one event of an [event] config
            update["events"] = (settings.events[0].model_copy(update=sections["event"]),)
        self.deps = dataclasses.replace(self.deps, settings=settings.model_copy(update=update))
        return self


def open_world(tmp_path: Path, **sections: dict[str, Any]) -> World:
    """A fresh database in tmp_path and fresh fakes; `sections` override the config."""
    settings = fast_settings(tmp_path, **sections)
    return fast_deps(open_store(tmp_path / "bot.sqlite3"), settings)


def fast_deps(store: Store, settings: Settings, clock: FakeClock | None = None) -> World:
    """build_deps, then the fakes put where the adapters were."""
    clock = clock or FakeClock()
    mailbox, mailer = FakeMailbox(settings.imap.folder), FakeMailer()
    deps = build_deps(settings, store, clock)
    deps.close()  # the reader process was never started; the fast tier reads in process
    # Typed as the ports, so that mypy checks each fake against its contract.
    open_mailbox: Callable[[], ports.Mailbox] = mailbox.open
    open_smtp: Callable[[], ports.Mailer] = mailer.open
    analyser: ports.Analyser = InProcessAnalyser(deps.context)
    fake_clock: ports.Clock = clock
    deps = dataclasses.replace(
        deps, open_mailbox=open_mailbox, open_smtp=open_smtp, analyser=analyser, clock=fake_clock
    )
    return World(deps, mailbox, mailer, clock)


# --------------------------------------------------------------------------- reading


def log_records(store: Store) -> list[dict[str, Any]]:
    """The allocation log, oldest first, as staff read it."""
    return [entry.data for entry in store.log_after(0)]
