"""Throwaway mail servers for the demo: IMAP (pymap, in memory) and an SMTP sink
(aiosmtpd) on loopback, served by one asyncio loop in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import threading
from argparse import Namespace
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.controller import UnthreadedController
from imapclient import IMAPClient
from proxyprotocol.reader import ProxyProtocolReader
from pymap.backend.dict import DictBackend
from pymap.concurrent import Subsystem
from pymap.imap import IMAPServer

from inbox_bot.app.demo.sample_mail import Sample
from inbox_bot.errors import InboxBotError

LOOPBACK = "127.0.0.1"
_START_TIMEOUT = 15.0


@dataclass(frozen=True, kw_only=True)
class Captured:
    """One message the SMTP sink accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class SinkHandler:
    """aiosmtpd handler that accepts everything and keeps it in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the server thread appends, the main thread reads
        self._captured: list[Captured] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        captured = Captured(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=bytes(envelope.original_content or b""),
        )
        with self._lock:
            self._captured.append(captured)
        return "250 OK"

    @property
    def captured(self) -> list[Captured]:
        with self._lock:
            return list(self._captured)


class MailServers:
    """IMAP (pymap, in memory) and SMTP (aiosmtpd) on `host`, served by one asyncio loop
    in a background thread. Use as a context manager: both stop on leaving it, also on
    an error or Ctrl+C."""

    def __init__(self, user: str, password: str, *, host: str = LOOPBACK) -> None:
        self.user = user
        self.password = password
        self.host = host
        self.sink = SinkHandler()
        self.imap_port = 0
        self.smtp_port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()  # bound to the loop on first use, in the server thread
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> MailServers:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="inbox-bot-demo-mail", daemon=True)
        self._thread.start()
        try:
            if not self._ready.wait(_START_TIMEOUT):
                raise InboxBotError(f"demo mail servers did not start in {_START_TIMEOUT:.0f} s")
            if self._failure is not None:
                raise InboxBotError(
                    f"demo mail servers could not start: {self._failure}"
                ) from self._failure
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if not loop.is_closed():
            # RuntimeError: the loop closed in between, so the thread is ending anyway.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._stop.set)
        thread.join(_START_TIMEOUT)
        self._thread = None

    # --- the server thread ---

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        try:
            # The Runner cancels leftover connection tasks and closes the loop at the end.
            with asyncio.Runner(loop_factory=lambda: loop) as runner:
                smtp = UnthreadedController(
                    self.sink,
                    hostname=self.host,
                    port=0,
                    loop=runner.get_loop(),
                    server_hostname="localhost",  # else the banner costs a DNS lookup
                )
                smtp.begin()  # type: ignore[no-untyped-call]
                try:
                    self.smtp_port = _bound_port(smtp.server)
                    runner.run(self._serve_imap())
                finally:
                    runner.run(smtp.finalize())  # type: ignore[no-untyped-call]
        except BaseException as exc:
            self._failure = exc
        finally:
            self._ready.set()

    async def _serve_imap(self) -> None:
        args = Namespace(
            host=self.host,
            port=0,
            debug=False,
            cert=None,
            key=None,
            tls=False,  # no STARTTLS offered, so plain LOGIN is allowed
            passlib_cfg=None,
            proxy_protocol=None,
            demo_data=False,
            demo_user=self.user,
            demo_password=self.password,
        )
        # The asyncio subsystem hashes passwords in the loop: no thread pool left behind.
        backend, config = await DictBackend.init(args, cpu_subsystem=Subsystem.for_asyncio())
        async with AsyncExitStack() as stack:
            await backend.start(stack)
            # What IMAPService.start does, but on port 0 so we learn the port it got.
            handler = ProxyProtocolReader(config.proxy_protocol).get_callback(
                IMAPServer(backend.login, config)
            )
            listener = await asyncio.start_server(handler, host=self.host, port=0)
            await stack.enter_async_context(listener)
            self.imap_port = _bound_port(listener)
            self._ready.set()
            await self._stop.wait()


def _bound_port(server: Any) -> int:
    return int(server.sockets[0].getsockname()[1])


def deliver(samples: Sequence[Sample], servers: MailServers) -> None:
    """Put the sample mails into the INBOX by IMAP APPEND, each with its arrival time."""
    with IMAPClient(servers.host, port=servers.imap_port, ssl=False, timeout=10) as client:
        client.login(servers.user, servers.password)
        for sample in samples:
            client.append("INBOX", sample.data, flags=(), msg_time=sample.arrival)
