"""Parse and classify one mail inside a time and memory budget.

Every byte of a mail comes from a stranger, and parsing libraries (CPython's email
package, mail-parser, inscriptis) have had super-linear corners. So the pure stages
parse -> classify run in a worker process: the shell waits at most `budget_seconds`
for the answer, and kills and replaces the worker when the budget is spent, when the
worker dies (a crash, a memory cap hit) or when the bot is asked to stop. A mail that
cost the worker its life goes to staff review with its raw bytes; the cycle goes on.

The worker is started once and lives for many mails; a killed one is replaced when the
next mail comes.
`InProcessAnalyser` does the same work without a process, for trusted input (the
scorer on labelled folders) and for tests that exercise the shell in memory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from inbox_bot.core.analysis import analyse_bytes, message_id_of
from inbox_bot.core.classify import Context
from inbox_bot.errors import Interrupted
from inbox_bot.ports import Analyser, Analysis, Unreadable

log = logging.getLogger(__name__)

# A worker that has not answered after this long is probably chewing on a hostile
# mail: the shell notes that the mail was started, so that a crash of the whole bot
# during the rest of the budget does not meet the same mail first after the restart.
SLOW_AFTER_SECONDS = 1.0
_WAIT_SLICE = 0.1  # how often the shell looks at the stop flag while it waits
_SERVE = "from inbox_bot.adapters.reader import serve; serve()"


class InProcessAnalyser:
    """No worker, no budget: for trusted input and in-memory tests."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def analyse(
        self, raw: bytes, on_slow: Callable[[], None] = lambda: None
    ) -> Analysis | Unreadable:
        try:
            return analyse_bytes(raw, self.ctx)
        except Exception as exc:  # one hostile mail must never stop the worker
            log.exception("mail could not be analysed")
            return Unreadable(
                reason=f"Interner Fehler beim Lesen ({type(exc).__name__}); Rohdaten gespeichert.",
                message_id=message_id_of(raw),
            )

    def prefetch(self, raw: bytes) -> None:
        return None  # nothing runs beside the caller

    def close(self) -> None:
        return None


class IsolatedAnalyser:
    """Parse + classify in a worker process, killed when the budget is spent.

    The worker is a plain `python -c` child speaking length-prefixed frames on its
    stdin/stdout (not multiprocessing, which would import the caller's __main__, the
    CLI, into the child): the context once, then a mail in, an answer out.
    """

    def __init__(
        self,
        ctx: Context,
        *,
        budget_seconds: float,
        memory_bytes: int,
        stop: threading.Event | None = None,
        command: Sequence[str] = (),
    ) -> None:
        self.ctx = ctx
        self.budget = budget_seconds
        self.memory = memory_bytes
        self.stop = stop or threading.Event()
        # The worker's command line; tests put a misbehaving worker of their own here.
        self.command = list(command) or [sys.executable, "-c", _SERVE]
        self._child: subprocess.Popen[bytes] | None = None
        self._inflight: bytes | None = None  # the mail the worker reads ahead (prefetch)

    def prefetch(self, raw: bytes) -> None:
        """The worker reads `raw` while the shell decides the mail before it: the two
        cores work at once. The budget still counts from when analyse() waits for it."""
        if self._inflight is not None:
            return
        try:
            _write_frame(self._worker(), raw)
        except OSError:
            self._kill()
            return
        self._inflight = raw

    def analyse(
        self, raw: bytes, on_slow: Callable[[], None] = lambda: None
    ) -> Analysis | Unreadable:
        ahead, self._inflight = self._inflight, None
        if ahead is not None and ahead is not raw and ahead != raw:
            self._kill()  # it reads another mail: that answer is of no use now
            ahead = None
        child = self._child if ahead is not None and self._child is not None else self._send(raw)
        reader = _FrameReader(child)
        started = time.monotonic()
        slow_noted = False
        while True:
            if self.stop.is_set():
                self._kill()
                raise Interrupted("stopped while a mail was analysed")
            try:
                frame = reader.read(_WAIT_SLICE)
            except EOFError:
                code = self._kill()
                return self._unreadable(
                    raw, f"Lesen der Mail hat den Leseprozess beendet ({_exit_words(code)})"
                )
            if frame is not None:
                break
            spent = time.monotonic() - started
            if spent >= SLOW_AFTER_SECONDS and not slow_noted:
                slow_noted = True
                on_slow()
            if spent >= self.budget:
                self._kill()
                return self._unreadable(
                    raw, f"Lesen der Mail nach {self.budget:g} s abgebrochen (Zeitbudget je Mail)"
                )
        try:
            answer = pickle.loads(frame)  # noqa: S301 - our own child process wrote it
        except Exception:  # a worker in a broken state: never trust it with another mail
            self._kill()
            return self._unreadable(raw, "Antwort des Leseprozesses unlesbar")
        if isinstance(answer, Unreadable) and answer.message_id is None:
            return Unreadable(reason=answer.reason, message_id=message_id_of(raw))
        if isinstance(answer, Analysis | Unreadable):
            return answer
        return self._unreadable(raw, f"Interner Fehler beim Lesen ({answer})")

    def _send(self, raw: bytes) -> subprocess.Popen[bytes]:
        try:
            child = self._worker()
            _write_frame(child, raw)
        except OSError:
            self._kill()  # a worker that died between two mails: one fresh try
            child = self._worker()
            _write_frame(child, raw)
        return child

    def close(self) -> None:
        self._inflight = None
        child, self._child = self._child, None
        if child is None:
            return
        with contextlib.suppress(OSError):
            _write_frame(child, b"")  # asks the worker to end
            assert child.stdin is not None
            child.stdin.close()
        try:
            child.wait(1.0)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)
        _close_pipes(child)

    def _unreadable(self, raw: bytes, why: str) -> Unreadable:
        return Unreadable(
            reason=f"{why}; Rohdaten gespeichert, bitte im Postfach lesen.",
            message_id=message_id_of(raw),
        )

    def _worker(self) -> subprocess.Popen[bytes]:
        if self._child is not None and self._child.poll() is None:
            return self._child
        self._kill()
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        self._child = child
        # A forgotten close() must not leave a process and two pipes behind.
        weakref.finalize(self, _reap, child)
        _write_frame(child, pickle.dumps((self.ctx, self.memory)))
        return child

    def _kill(self) -> int | None:
        self._inflight = None
        child, self._child = self._child, None
        if child is None:
            return None
        if child.poll() is None:
            child.kill()
        code = child.wait(5)
        _close_pipes(child)
        return code


def _reap(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(5)
    _close_pipes(child)


def _write_frame(child: subprocess.Popen[bytes], payload: bytes) -> None:
    assert child.stdin is not None
    child.stdin.write(struct.pack(">Q", len(payload)) + payload)
    child.stdin.flush()


class _FrameReader:
    """Reads one length-prefixed frame from the child without ever blocking long."""

    def __init__(self, child: subprocess.Popen[bytes]) -> None:
        assert child.stdout is not None
        self.fd = child.stdout.fileno()
        self.buffer = bytearray()
        self.wanted: int | None = None

    def read(self, timeout: float) -> bytes | None:
        """The frame, or None when it is not complete yet; EOFError when the child died."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return None
        chunk = os.read(self.fd, 1 << 20)
        if not chunk:
            raise EOFError
        self.buffer += chunk
        if self.wanted is None and len(self.buffer) >= 8:
            self.wanted = struct.unpack(">Q", self.buffer[:8])[0]
        if self.wanted is not None and len(self.buffer) >= 8 + self.wanted:
            return bytes(self.buffer[8 : 8 + self.wanted])
        return None


def _close_pipes(child: subprocess.Popen[bytes]) -> None:
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def _exit_words(code: int | None) -> str:
    if code is None:
        return "unbekannter Grund"
    if code < 0:
        return f"Signal {-code}"
    return f"Exit-Status {code}"


def serve() -> None:
    """The worker process: the context, then one mail in and one answer out, until EOF."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    setup = _read_frame(source)
    if setup is None:
        return
    ctx, memory_bytes = pickle.loads(setup)  # noqa: S301 - written by our parent
    _cap_memory(memory_bytes)
    while (raw := _read_frame(source)) is not None and raw:
        try:
            answer: object = analyse_bytes(raw, ctx)
        except MemoryError:
            answer = Unreadable(
                reason=(
                    "Lesen der Mail brauchte mehr Speicher als erlaubt ([limits] "
                    "reader_memory_mb); Rohdaten gespeichert, bitte im Postfach lesen."
                ),
                message_id=None,
            )
        except Exception as exc:  # reported to the shell as an unreadable mail
            answer = type(exc).__name__
        payload = pickle.dumps(answer)
        sink.write(struct.pack(">Q", len(payload)) + payload)
        sink.flush()


def _read_frame(source: Any) -> bytes | None:
    head = source.read(8)
    if len(head) < 8:
        return None
    size = struct.unpack(">Q", head)[0]
    data = source.read(size)
    return data if len(data) == size else None


def _cap_memory(memory_bytes: int) -> None:
    """A memory bomb becomes a MemoryError in the worker, not the OOM killer's pick."""
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        log.warning("memory cap for the mail reader could not be set")


# The port and its results live in ports.py; named here for the callers of this module.
__all__ = [
    "SLOW_AFTER_SECONDS",
    "Analyser",
    "Analysis",
    "InProcessAnalyser",
    "Interrupted",
    "IsolatedAnalyser",
    "Unreadable",
    "analyse_bytes",
    "message_id_of",
    "serve",
]
