"""Real mail servers on loopback for tests: a throwaway Dovecot and a capturing SMTP sink.

No pytest import here, so the helpers also work from a REPL or a one-off script.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import email
import email.message
import email.policy
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypedDict

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from imapclient import IMAPClient
from jwt_hs256 import valid_for

DOVECOT_BINARY = Path("/usr/sbin/dovecot")
DOVEADM_BINARY = Path("/usr/bin/doveadm")
LOOPBACK = "127.0.0.1"

_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free a moment ago (the usual bind-to-0 trick; racy but fine here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _read_greeting(host: str, port: int, timeout: float = 2.0) -> bytes:
    """First line the server sends; b"" if it does not answer in time."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            data = b""
            while not data.endswith(b"\r\n") and len(data) < 4096:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data
    except OSError:
        return b""


def _pid_alive(pid: int) -> bool:
    # A daemonised Dovecot is reparented to PID 1, which in containers may never reap it:
    # a zombie counts as gone.
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state != b"Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def _require_traversable(path: Path) -> None:
    """Dovecot's auth and login processes run unprivileged: every parent must be o+x."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            raise RuntimeError(
                f"{folder} (mode {stat.filemode(mode)}) is not world-traversable; "
                "Dovecot's unprivileged processes could not reach its files. "
                "Point TMPDIR at a folder like /tmp."
            )


# --------------------------------------------------------------------------- TLS


@dataclass(frozen=True)
class TlsFiles:
    """A server certificate as PEM files, e.g. from `trustme`.

    `cert` holds the certificate chain (leaf first), `key` its private key, `ca` the CA
    that issued it; the helpers' own connections (Dovecot.client) trust `ca`.
    """

    cert: Path
    key: Path
    ca: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Trusts `ca` and checks the chain, not the name: helpers connect by IP address."""
        context = ssl.create_default_context(cafile=str(self.ca))
        context.check_hostname = False
        return context


# --------------------------------------------------------------------------- Dovecot


class StoredMessage(TypedDict):
    uid: int
    internaldate: datetime
    flags: set[bytes]
    raw: bytes


_CONFIG = """\
protocols = imap
listen = {host}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
mail_location = maildir:{root}/mail/%u
# Test data is disposable; skipping fsync keeps appends fast.
mail_fsync = never
first_valid_uid = 1
mail_uid = mail
mail_gid = mail
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
{imaps}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""


_NO_TLS = "ssl = no"
_NO_IMAPS = "    port = 0"
_TLS = """\
ssl = required
ssl_cert = <{root}/tls/cert.pem
ssl_key = <{root}/tls/key.pem"""
_IMAPS = """\
    address = {host}
    port = {port}"""


class Dovecot:
    """A private Dovecot IMAP server on loopback, with its own config and Maildir in a temp root.

    Without `tls` it speaks plain IMAP only (no STARTTLS). With `tls` it has `ssl = required`,
    STARTTLS on `port` and implicit TLS on `imaps_port`; `client()` then uses STARTTLS.
    (Dovecot counts loopback connections as secured, so it would still take a plain LOGIN
    from 127.0.0.1: refusing to send one is the client's job, which is what tests check.)

    `stop()` keeps the files so `restart()` finds the same mail; `close()` (or leaving the
    `with` block) also deletes the temp root.
    """

    def __init__(
        self,
        user: str = "smartcity@dortmund.de",
        password: str = "secret",  # noqa: S107 - a throwaway loopback account
        *,
        host: str = LOOPBACK,
        port: int | None = None,
        startup_timeout: float = 15.0,
        tls: TlsFiles | None = None,
        imaps_port: int | None = None,
        extra_config: str = "",
    ) -> None:
        self.extra_config = extra_config  # appended to dovecot.conf (e.g. imap_capability)
        if any(ch in user + password for ch in ":\n\r"):
            raise ValueError("user and password must not contain ':' or line breaks (passwd-file)")
        self.user = user
        self.password = password
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.tls = tls
        self.imaps_port: int | None = None
        if tls is not None:
            self.imaps_port = imaps_port if imaps_port is not None else free_port(host)
        self.startup_timeout = startup_timeout
        self.root = Path(tempfile.mkdtemp(prefix="inbox-bot-dovecot-"))
        self.config = self.root / "dovecot.conf"
        self.log = self.root / "dovecot.log"
        self._started = False
        self._master_pid: int | None = None
        # Safety net for sessions that end without teardown: no daemon or temp root left.
        atexit.register(self.close)
        self._prepare_root()

    # -- lifecycle ---------------------------------------------------------------

    def _prepare_root(self) -> None:
        self.root.chmod(0o755)  # mkdtemp gives 0700, which locks out auth and login
        _require_traversable(self.root)
        mail = self.root / "mail"
        mail.mkdir(mode=0o755)
        shutil.chown(mail, user="mail", group="mail")  # Dovecot refuses uid 0 for mail access
        passwd = self.root / "passwd"
        passwd.write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n", encoding="utf-8")
        passwd.chmod(0o644)
        tls_setting, imaps_listener = _NO_TLS, _NO_IMAPS
        if self.tls is not None:
            # Copies, read by Dovecot's config process (root) at every start.
            folder = self.root / "tls"
            folder.mkdir(mode=0o700)
            shutil.copyfile(self.tls.cert, folder / "cert.pem")
            shutil.copyfile(self.tls.key, folder / "key.pem")
            (folder / "key.pem").chmod(0o600)
            tls_setting = _TLS.format(root=self.root)
            imaps_listener = _IMAPS.format(host=self.host, port=self.imaps_port)
        self.config.write_text(
            _CONFIG.format(
                root=self.root,
                host=self.host,
                port=self.port,
                ssl=tls_setting,
                imaps=imaps_listener,
            )
            + self.extra_config,
            encoding="utf-8",
        )

    @property
    def running(self) -> bool:
        return self._started

    def start(self) -> None:
        if self.running:
            return
        for port in (self.port, self.imaps_port):
            if port is not None and _port_open(self.host, port):
                raise RuntimeError(f"port {self.host}:{port} is already taken by someone else")
        startup_output = self.root / "startup.out"
        # Not a pipe: the daemon inherits stderr, and reading a pipe would wait for it to exit.
        with startup_output.open("wb") as out:
            result = subprocess.run(
                [str(DOVECOT_BINARY), "-c", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                timeout=30,
                check=False,
            )
        if result.returncode != 0:
            said = startup_output.read_text(encoding="utf-8", errors="replace").strip()
            raise RuntimeError(
                f"dovecot failed to start (exit {result.returncode}): {said}\n{self._log_tail()}"
            )
        self._started = True
        self._master_pid = self._read_master_pid()
        if not _wait_until(self._greets, self.startup_timeout, interval=0.05):
            tail = self._log_tail()
            self.stop()
            raise RuntimeError(
                f"dovecot on {self.host}:{self.port} sent no IMAP greeting within "
                f"{self.startup_timeout:.0f}s\n{tail}"
            )

    def stop(self, timeout: float = 15.0) -> None:
        if not self.running:
            return
        pid = self._master_pid
        # If doveadm fails or hangs, the pid check below decides and SIGKILL is the fallback.
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run(
                [str(DOVEADM_BINARY), "-c", str(self.config), "stop"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        if not self._wait_stopped(pid, timeout):
            self._kill(pid)
        self._started = False
        self._master_pid = None
        if not _wait_until(lambda: not _port_open(self.host, self.port), timeout):
            raise RuntimeError(f"dovecot still listens on {self.host}:{self.port} after stop")

    def kick(self) -> None:
        """Cut every open client connection (as a server restart or a NAT timeout does),
        the server stays up."""
        subprocess.run(
            [str(DOVEADM_BINARY), "-c", str(self.config), "kick", self.user],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=15,
            check=True,
        )

    def restart(self) -> None:
        """Stop and start again on the same port with the same Maildir (for fault tests)."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop and delete the temp root. Idempotent."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            atexit.unregister(self.close)

    def __enter__(self) -> Dovecot:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _greets(self) -> bool:
        return _read_greeting(self.host, self.port).startswith(b"* OK")

    def _read_master_pid(self) -> int | None:
        pid_file = self.root / "run" / "master.pid"
        if not _wait_until(pid_file.exists, 5.0):
            return None
        text = pid_file.read_text(encoding="ascii").strip()
        return int(text) if text.isdigit() else None

    def _wait_stopped(self, pid: int | None, timeout: float) -> bool:
        if pid is None:  # start failed before the pid file appeared; rely on the port
            return _wait_until(lambda: not _port_open(self.host, self.port), timeout)
        return _wait_until(lambda: not _pid_alive(pid), timeout)

    def _kill(self, pid: int | None) -> None:
        if pid is None or not _pid_alive(pid):
            return
        os.kill(pid, signal.SIGKILL)
        _wait_until(lambda: not _pid_alive(pid), 5.0)

    def _log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return f"(no dovecot log at {self.log})"
        return "--- tail of dovecot log ---\n" + "\n".join(text.splitlines()[-lines:])

    # -- IMAP helpers --------------------------------------------------------------

    def client(self, timeout: float = 10.0) -> IMAPClient:
        """A logged-in client; use it as a context manager so it logs out."""
        imap = IMAPClient(self.host, port=self.port, ssl=False, timeout=timeout)
        try:
            if self.tls is not None:
                imap.starttls(self.tls.client_context())
            imap.login(self.user, self.password)
        except BaseException:
            imap.shutdown()
            raise
        # The default converts to naive local time with the wrong DST offset half the year.
        imap.normalise_times = False
        return imap

    def append(
        self,
        raw: bytes,
        when: datetime,
        folder: str = "INBOX",
        flags: Iterable[bytes | str] = (),
    ) -> int:
        """APPEND with an explicit INTERNALDATE (whole seconds) and return the new UID.

        imaplib rewrites bare LF and CR to CRLF on the way, as any MTA would.
        """
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("when must be timezone-aware; a naive time is ambiguous")
        with self.client() as imap:
            response = imap.append(folder, raw, flags=tuple(flags), msg_time=when)
        match = _APPENDUID.search(response)
        if match is None:
            raise RuntimeError(f"APPEND answered without APPENDUID: {response!r}")
        return int(match.group(2))

    def create_folder(self, name: str) -> None:
        with self.client() as imap:
            imap.create_folder(name)

    def messages(self, folder: str = "INBOX") -> list[StoredMessage]:
        """Every message of `folder`, by UID, read via EXAMINE so no flag changes.

        `flags` leaves out \\Recent: it belongs to an IMAP session, not to the message.
        """
        with self.client() as imap:
            imap.select_folder(folder, readonly=True)
            uids = imap.search("ALL")
            if not uids:
                return []
            fetched = imap.fetch(uids, ["INTERNALDATE", "FLAGS", "BODY.PEEK[]"])
        return [_stored_message(uid, data) for uid, data in sorted(fetched.items())]

    def reset(self) -> None:
        """Empty INBOX and delete every other folder, so tests can share one server."""
        with self.client() as imap:
            _delete_other_folders(imap)
            _unsubscribe_other_folders(imap)
            imap.select_folder("INBOX")
            uids = imap.search("ALL")
            if uids:
                imap.delete_messages(uids)
                imap.expunge()
            imap.close_folder()


def _stored_message(uid: int, data: dict[bytes, Any]) -> StoredMessage:
    return StoredMessage(
        uid=uid,
        internaldate=data[b"INTERNALDATE"],
        flags=set(data[b"FLAGS"]) - {b"\\Recent"},
        raw=data[b"BODY[]"],
    )


def _is_inbox(name: str) -> bool:
    return name.upper() == "INBOX"


def _delete_other_folders(imap: IMAPClient) -> None:
    listed = imap.list_folders()
    # Children first: some layouts refuse to delete a folder that still has children.
    deepest_first = sorted(
        listed,
        key=lambda entry: entry[2].count(entry[1].decode()) if entry[1] else 0,
        reverse=True,
    )
    for flags, _delimiter, name in deepest_first:
        if _is_inbox(name) or {b"\\NonExistent", b"\\Noselect"} & set(flags):
            continue
        imap.delete_folder(name)


def _unsubscribe_other_folders(imap: IMAPClient) -> None:
    for _flags, _delimiter, name in imap.list_sub_folders():
        if not _is_inbox(name):
            imap.unsubscribe_folder(name)


# --------------------------------------------------------------------------- SMTP sink


SmtpStage = Literal["MAIL", "RCPT", "DATA"]


@dataclass(frozen=True)
class Captured:
    """One message the sink accepted (or swallowed before dropping the connection)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        return parsed


@dataclass
class _SinkHandler:
    """aiosmtpd hooks; runs on the controller's event loop thread, so all state is locked."""

    lock: threading.Condition = field(default_factory=threading.Condition)
    captured: list[Captured] = field(default_factory=list)
    faults: dict[str, deque[str]] = field(
        default_factory=lambda: {"MAIL": deque(), "RCPT": deque(), "DATA": deque()}
    )
    refused: set[str] = field(default_factory=set)
    drops: int = 0
    # (username, password) the sink accepts for AUTH; None: AUTH is not offered.
    login: tuple[str, str] | None = None
    auth_attempts: list[str] = field(default_factory=list)
    # Seconds between taking the message and answering 250, as a busy server does: the
    # window in which a client that dies cannot know its mail went out.
    answer_delay: float = 0.0

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        """aiosmtpd authenticator: records every attempt's username, accepts `login`."""
        if not isinstance(data, LoginPassword) or self.login is None:
            return AuthResult(success=False, handled=False)
        username = data.login.decode("utf-8", "replace")
        with self.lock:
            self.auth_attempts.append(username)
        good = (username, data.password.decode("utf-8", "replace")) == self.login
        return AuthResult(success=good, handled=False)

    def _take_fault(self, stage: str) -> str | None:
        with self.lock:
            queue = self.faults[stage]
            return queue.popleft() if queue else None

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        fault = self._take_fault("MAIL")
        if fault is not None:
            return fault
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self.lock:
            refused = address.lower() in self.refused
        if refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        fault = self._take_fault("RCPT")
        if fault is not None:
            return fault
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self._take_fault("DATA")
        if fault is not None:
            return fault  # rejected after the body arrived: not recorded
        captured = Captured(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=bytes(envelope.original_content or b""),
        )
        with self.lock:
            self.captured.append(captured)
            drop = self.drops > 0
            self.drops -= int(drop)
            self.lock.notify_all()
        if drop and server.transport is not None:
            # The client never sees 250, so it cannot know the mail was taken: the
            # classic cause of duplicate submissions.
            server.transport.close()
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        return "250 OK"


SmtpTls = Literal["none", "starttls", "ssl"]


@dataclass
class _OAuthSinkHandler(_SinkHandler):
    """The sink with SASL XOAUTH2: a token signed with `oauth_key` (tests/jwt_hs256.py)
    is accepted; a bad one gets the error challenge first, as Gmail and Exchange send,
    and 535 after the client's empty answer."""

    oauth_key: bytes = b""
    mechanisms: list[str] = field(default_factory=list)

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        return await self._bearer(server, args, "XOAUTH2")

    async def _bearer(self, server: SMTP, args: list[str], mechanism: str) -> AuthResult:
        raw = args[1] if len(args) > 1 else ""
        text = base64.b64decode(raw).decode("utf-8", "replace") if raw else ""
        fields = dict(p.split("=", 1) for p in text.split("\x01") if "=" in p)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        if mechanism == "OAUTHBEARER":  # "n,a=USER," then the same key=value list
            user = text.split(",")[1].removeprefix("a=") if text.count(",") >= 2 else ""
        with self.lock:
            self.auth_attempts.append(user)
            self.mechanisms.append(mechanism)
        if user and valid_for(token, self.oauth_key) == user:
            return AuthResult(success=True, handled=False, auth_data=user)
        error = base64.b64encode(b'{"status":"401","schemes":"bearer"}').decode()
        await server.challenge_auth(error, encode_to_b64=False)
        return AuthResult(success=False, handled=False, message="535 5.7.8 token refused")


@dataclass
class _OAuthBearerSinkHandler(_OAuthSinkHandler):
    """XOAUTH2 and OAUTHBEARER (RFC 7628), as Gmail offers them."""

    async def auth_OAUTHBEARER(self, server: SMTP, args: list[str]) -> AuthResult:
        return await self._bearer(server, args, "OAUTHBEARER")


class SmtpSink:
    """A capturing SMTP server (aiosmtpd Controller) on loopback with fault injection.

    Optional: `tls` with `security` "starttls" (STARTTLS offered, not required) or "ssl"
    (implicit TLS); `login` = (username, password) to offer AUTH PLAIN/LOGIN, by default
    only over TLS; `auth_in_clear` offers it on a plain connection too (a careless server).
    """

    def __init__(
        self,
        host: str = LOOPBACK,
        port: int | None = None,
        *,
        tls: TlsFiles | None = None,
        security: SmtpTls = "none",
        login: tuple[str, str] | None = None,
        auth_in_clear: bool = False,
        answer_delay: float = 0.0,
        oauth_key: bytes | None = None,
        oauthbearer: bool = False,
    ) -> None:
        if (tls is None) != (security == "none"):
            raise ValueError("give tls files exactly when security is starttls or ssl")
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.tls = tls
        self.security = security
        self.auth_in_clear = auth_in_clear
        kind = _OAuthBearerSinkHandler if oauthbearer else _OAuthSinkHandler
        self._handler: _SinkHandler = (
            kind(login=login, answer_delay=answer_delay, oauth_key=oauth_key)
            if oauth_key is not None
            else _SinkHandler(login=login, answer_delay=answer_delay)
        )
        self._controller: Controller | None = None

    def _controller_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self._handler.login is not None or isinstance(self._handler, _OAuthSinkHandler):
            options["authenticator"] = self._handler.authenticate
            # aiosmtpd counts only STARTTLS as TLS, so implicit TLS needs this too.
            options["auth_require_tls"] = not (self.auth_in_clear or self.security == "ssl")
        if self.tls is not None and self.security == "starttls":
            options["tls_context"] = self.tls.server_context()
        if self.tls is not None and self.security == "ssl":
            options["ssl_context"] = self.tls.server_context()
        return options

    def start(self) -> None:
        if self._controller is not None:
            return
        controller = Controller(
            self._handler,
            hostname=self.host,
            port=self.port,
            enable_SMTPUTF8=True,
            **self._controller_options(),
        )
        try:
            controller.start()
        except BaseException:
            controller.stop(no_assert=True)
            if not controller.loop.is_closed():
                controller.loop.close()
            raise
        self._controller = controller

    def stop(self) -> None:
        if self._controller is None:
            return
        self._controller.stop()
        self._controller = None

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def messages(self) -> list[Captured]:
        """A snapshot copy; safe to read while the server thread appends."""
        with self._handler.lock:
            return list(self._handler.captured)

    def clear(self) -> None:
        """Forget captured mail; faults stay armed (see clear_faults)."""
        with self._handler.lock:
            self._handler.captured.clear()

    def clear_faults(self) -> None:
        """Disarm pending fail_next / drop_after_data_next faults and refused recipients."""
        with self._handler.lock:
            for queue in self._handler.faults.values():
                queue.clear()
            self._handler.refused.clear()
            self._handler.drops = 0

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Captured]:
        """Block until at least `n` messages were captured; TimeoutError otherwise."""
        with self._handler.lock:
            reached = self._handler.lock.wait_for(
                lambda: len(self._handler.captured) >= n, timeout=timeout
            )
            captured = list(self._handler.captured)
        if not reached:
            raise TimeoutError(f"SMTP sink captured {len(captured)} of {n} messages in {timeout}s")
        return captured

    def fail_next(self, code: int, message: str, at: SmtpStage) -> None:
        """Answer the next MAIL / RCPT / end-of-DATA with `code message`, once.

        Calls queue up: two calls at "RCPT" fail the next two RCPT commands.
        """
        if at not in ("MAIL", "RCPT", "DATA"):
            raise ValueError(f"at must be MAIL, RCPT or DATA, not {at!r}")
        if not 400 <= code <= 599:
            raise ValueError(f"code must be a 4xx or 5xx reply, not {code}")
        with self._handler.lock:
            self._handler.faults[at].append(f"{code} {message}")

    def drop_after_data_next(self) -> None:
        """Record the next message, then close the connection instead of answering 250."""
        with self._handler.lock:
            self._handler.drops += 1

    @property
    def auth_attempts(self) -> list[str]:
        """Usernames of every AUTH the sink received (empty when `login` is None)."""
        with self._handler.lock:
            return list(self._handler.auth_attempts)

    def refuse_recipient(self, address: str) -> None:
        """Answer 550 to every RCPT TO for `address` (case-insensitive) until clear_faults()."""
        with self._handler.lock:
            self._handler.refused.add(address.lower())
