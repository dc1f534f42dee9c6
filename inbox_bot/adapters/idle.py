"""Push: a second IMAP connection waits in IDLE (RFC 2177) and wakes the worker when
mail arrives, so `run` answers within seconds instead of at the next poll.

Polling stays the truth: a wake-up only runs the normal UID-based cycle sooner, and
the poll interval runs it anyway, so a lost IDLE notice costs time, never a mail.
IDLE is re-issued every 9 minutes (servers may drop an IDLE after 30, NATs sooner), an
`idle_check` that comes back empty before its timeout is a closed connection, the
socket has TCP keep-alive and gets its timeout back after every check (imapclient
leaves it blocking without one), and a lost connection is opened again with growing
pauses. A server without IDLE: the watcher says so once and leaves it to polling.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from inbox_bot.adapters.mailbox import Mailbox
from inbox_bot.config import ImapSettings
from inbox_bot.errors import InboxBotError

log = logging.getLogger(__name__)

RENEW_SECONDS = 9 * 60
CHECK_SECONDS = 2.0  # one idle_check at most this long: a stop is seen within it
FIRST_PAUSE, LONGEST_PAUSE = 5.0, 300.0
NEW_MAIL = (b"EXISTS", b"RECENT")


class IdleWatcher:
    """Calls `wake()` whenever the folder announces new mail, until `stop` is set."""

    def __init__(
        self,
        settings: ImapSettings,
        wake: Callable[[], None],
        stop: threading.Event,
        *,
        renew_seconds: float = RENEW_SECONDS,
    ) -> None:
        self.settings, self.wake, self.stop = settings, wake, stop
        self.renew = renew_seconds
        self.supported: bool | None = None  # known after the first connection

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="imap-idle", daemon=True)
        thread.start()
        return thread

    def run(self) -> None:
        pause = FIRST_PAUSE
        while not self.stop.is_set():
            try:
                with Mailbox(self.settings, readonly=True) as mailbox:
                    client = mailbox.client
                    assert client is not None
                    if b"IDLE" not in client.capabilities():
                        self.supported = False
                        log.info("IMAP server offers no IDLE: polling only")
                        return
                    self.supported = True
                    _keep_alive(client)
                    pause = FIRST_PAUSE
                    self.wake()  # mail may have come while no watcher was connected
                    self._watch(client)
            except (InboxBotError, IMAPClientError, OSError) as exc:
                if self.stop.is_set():
                    return
                log.warning("IMAP IDLE connection lost (%s); again in %.0f s", exc, pause)
                self.stop.wait(pause)
                pause = min(pause * 2, LONGEST_PAUSE)

    def _watch(self, client: IMAPClient) -> None:
        """IDLE, renewed every `renew` seconds, until stop or a dead connection."""
        while not self.stop.is_set():
            client.idle()
            renew_at = time.monotonic() + self.renew
            woke = False
            try:
                while not self.stop.is_set() and not woke and time.monotonic() < renew_at:
                    woke = self._check(client, min(CHECK_SECONDS, renew_at - time.monotonic()))
            finally:
                with contextlib.suppress(IMAPClientError, OSError):
                    client.idle_done()
            if woke:
                self.wake()

    def _check(self, client: IMAPClient, wait: float) -> bool:
        began = time.monotonic()
        responses = client.idle_check(timeout=max(wait, 0.05))
        # imapclient leaves the socket blocking without a timeout: give it back.
        client.socket().settimeout(self.settings.timeout_seconds)
        if not responses and time.monotonic() - began < wait * 0.5:
            raise ConnectionError("the server closed the IDLE connection")
        if any(len(r) > 0 and r[0] == b"BYE" for r in responses):
            raise ConnectionError("the server ended the IDLE connection (BYE)")
        return any(len(r) > 1 and r[1] in NEW_MAIL for r in responses)


def _keep_alive(client: IMAPClient) -> None:
    """TCP keep-alive: a connection a NAT or firewall dropped silently is noticed."""
    sock = client.socket()
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 20)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
