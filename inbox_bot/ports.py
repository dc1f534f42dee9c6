"""The ports: what the shell (app/) needs of the world outside, and what it may rely on.

    Mailbox    the IMAP folder people write to (adapters/mailbox.py)
    Mailer     the SMTP submission server (adapters/smtp.py)
    Analyser   parse + classify one mail within a budget (adapters/reader.py)
    Clock      the current time

Each contract says what an implementation guarantees, so that the shell can be read,
and tested with the in-memory fakes of tests/fakes.py, against these docstrings alone.
Every failure is one of the exceptions of inbox_bot.errors; no library type crosses a
port. This module imports only the frozen records of core/model.py and errors.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from inbox_bot.core.model import Analysis, FetchedMail, MailMeta, Unreadable


class Clock(Protocol):
    """The current time, passed in so that the shell never reads the system clock."""

    def __call__(self) -> datetime:
        """
        :return: the current moment, timezone-aware, in UTC. Wall-clock time: it may
            jump (a test clock jumps on purpose), so durations are never measured with it
        """
        ...


class Mailbox(Protocol):
    """One IMAP folder (settings.imap.folder), opened as a context manager per cycle.

    The mailbox is shared with staff, who read and flag mail in it too: the bot never
    infers from flags what it has processed (the store records that), and it changes
    a message only by adding or removing flags.
    """

    def __enter__(self) -> Self:
        """Connect, log in and select the folder read-write.

        :raises MailboxUnavailable: the server cannot be reached or the folder cannot
            be selected (retry in the next cycle); its LoginRefused when the server
            refuses the account (retrying will not help until the config is fixed)
        :raises TLSFailure: TLS cannot be established or the certificate is not
            accepted (never retried without TLS)
        """
        ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Log out. Never raises, also when the connection is already gone."""
        ...

    @property
    def uidvalidity(self) -> int:
        """The folder's UIDVALIDITY, valid once entered and fixed while connected.

        A UID identifies a message only together with it: when it changes, the folder
        was recreated and every message may carry a UID that was already processed.
        """
        ...

    @property
    def uidnext(self) -> int:
        """The folder's UIDNEXT when entered (0: the server did not say). Unchanged
        UIDVALIDITY and UIDNEXT since a complete pass: no new mail arrived."""
        ...

    def pending(self, done: set[int]) -> list[MailMeta]:
        """The messages of the folder whose UID is not in `done`, as the server sees them.

        Ordered by arrival: INTERNALDATE, then UID (never the Date: header). Reads the
        metadata only (INTERNALDATE, RFC822.SIZE, FLAGS); never downloads a body, never
        changes a flag and so never marks anything read.

        :param done: UIDs (of this uidvalidity) already processed
        :raises MailboxUnavailable: the search or fetch failed as a whole
        """
        ...

    def download(self, metas: Iterable[MailMeta]) -> list[FetchedMail]:
        """The raw bytes of these messages, exactly as stored, in arrival order.

        Each FetchedMail carries the folder, this uidvalidity, the UID, the arrival
        (the meta's INTERNALDATE in UTC), size and flags. Reading marks nothing read
        (BODY.PEEK). A message expunged since `pending` is absent from the result, and
        so is one the server does not return: it is not an error, and that mail is
        simply not processed now. Never raises for one bad message.

        :raises MailboxUnavailable: the fetch failed as a whole
        """
        ...

    def add_flags(self, uids: Sequence[int], flags: Iterable[str]) -> None:
        """Add IMAP flags ("\\Seen", "\\Answered", "\\Flagged") to these messages, in
        as few STORE commands as the server's line length allows (UIDs as ranges).

        Other flags (set by staff) stay as they are; adding a flag already set, or to a
        message expunged meanwhile, changes nothing and is not an error.

        :raises MailboxUnavailable: the STORE failed
        """
        ...

    def remove_flags(self, uids: Sequence[int], flags: Iterable[str]) -> None:
        """Remove IMAP flags from these messages; as add_flags otherwise.

        :raises MailboxUnavailable: the STORE failed
        """
        ...

    def save_copy(self, folder: str, raw: bytes, when: datetime) -> None:
        """Append a copy of a reply we sent to another folder (Sent), marked \\Seen.

        The bytes are stored unchanged, so that its Message-ID can be found again with
        holds_message_id; `when` becomes its INTERNALDATE. The selected folder stays
        the one the bot works on.

        :raises MailboxUnavailable: the APPEND failed; the reply itself went out anyway
        """
        ...

    def holds_message_id(self, folder: str, message_id: str) -> bool:
        """Whether `folder` holds a mail whose Message-ID header is `message_id`.

        True is proof that a reply went out (it was filed on submission); False means
        "not found" and is what makes the outbox send a reply again. Afterwards the
        selected folder is the one the bot works on, as before.

        :raises MailboxUnavailable: the folder could not be searched (nothing is known)
        """
        ...


class Mailer(Protocol):
    """The SMTP submission server, opened as a context manager for one batch of replies."""

    def __enter__(self) -> Self:
        """Connect (TLS as configured) and log in; nothing is sent yet.

        :raises SendTemporary: the server cannot be reached or TLS fails (its
            SendLoginRefused: the login is refused); the replies wait in the outbox and
            no attempt is counted against them
        """
        ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Quit. Never raises, also when the connection is already gone."""
        ...

    @property
    def connected(self) -> bool:
        """Whether another `send` can be tried on this connection.

        True after entering and after a reply the server refused (it stays usable);
        False once the connection broke (after SendUnknown, and after a SendTemporary
        that came from a lost connection rather than from a 4xx answer).
        """
        ...

    def send(self, recipient: str, data: bytes) -> None:
        """Submit one message to exactly one envelope recipient, its bytes unchanged.

        Returns when the server accepted the message: it went out. Otherwise raises
        exactly one of:

        :raises SendTemporary: it did not go out (a 4xx answer, or the connection broke
            before the data was sent, or none was open); sending it again later is safe
        :raises SendPermanent: it did not go out and never will as it is (a 5xx
            answer, a refused recipient); staff must look at it
        :raises SendUnknown: the connection broke during or after the data: it may have
            gone out. Look it up (Sent folder) before sending it again
        """
        ...


class Analyser(Protocol):
    """Turns raw bytes into an Analysis, or says why they cannot be read."""

    def analyse(self, raw: bytes, on_slow: Callable[[], None] = ...) -> Analysis | Unreadable:
        """Read one mail (parse, then classify) within the time and memory budget.

        Never raises for anything in the mail: a mail that cannot be parsed, that costs
        more than the budget or that breaks the reader is an Unreadable, with the
        Message-ID read from the raw header where there is one.

        :param on_slow: called at most once, when the work takes longer than
            adapters.reader.SLOW_AFTER_SECONDS (the shell then notes the mail as started,
            so that a crash during the rest of the budget does not read it again)
        :raises Interrupted: the bot was asked to stop meanwhile; the mail was not read
            and stays for the next cycle
        """
        ...

    def prefetch(self, raw: bytes) -> None:
        """Begin reading the next mail while the shell decides the current one, so that
        its analyse() finds the answer (nearly) ready. Only for a mail that may be read
        (not noted as begun before). A later analyse() of another mail drops it."""
        ...

    def close(self) -> None:
        """Release the worker process, if any. Analysing again afterwards starts one."""
        ...


__all__ = [
    "Analyser",
    "Analysis",
    "Clock",
    "Mailbox",
    "Mailer",
    "Unreadable",
]
