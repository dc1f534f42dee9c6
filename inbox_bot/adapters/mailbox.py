"""IMAP adapter (imapclient): fetch new mail in arrival order, mark what was done.

Network methods are a few lines each; library types and errors stop here.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import ssl
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from types import TracebackType

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from imapclient.util import to_unicode

from inbox_bot.adapters.tokens import access_token
from inbox_bot.config import ImapSettings, Security, require_password
from inbox_bot.core.model import FetchedMail, MailMeta
from inbox_bot.errors import LoginRefused, MailboxUnavailable, TLSFailure

log = logging.getLogger(__name__)

# Servers reject very long UID sets ("Too long argument"): ask in chunks.
_CHUNK = 200


def tls_context(ca_file: object = None) -> ssl.SSLContext:
    """Certificates and host names are always verified. One context per CA file (and
    its modification time) for the process: building one loads the system's trust
    store, about 45 ms, which every connection paid before."""
    path = str(ca_file) if ca_file else ""
    stamp = os.stat(path).st_mtime_ns if path and os.path.exists(path) else 0
    return _context(path, stamp)


@functools.lru_cache(maxsize=8)
def _context(ca_file: str, _stamp: int) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def tls_reason(exc: ssl.SSLError) -> str:
    """The words a person needs: "certificate is not valid for '127.0.0.1'", not a code."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return f"certificate not accepted: {exc.verify_message}"
    return str(exc.reason or exc)


def uid_ranges(uids: Iterable[int], longest: int = 4000) -> Iterator[str]:
    """UIDs as IMAP sequence sets ("3:9,12,15:20"), each at most `longest` characters
    (servers limit the command line; Dovecot to 64 KB)."""
    ordered = sorted(set(uids))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}:{ordered[j]}")
        i = j + 1
    current: list[str] = []
    size = 0
    for part in parts:
        if current and size + len(part) + 1 > longest:
            yield ",".join(current)
            current, size = [], 0
        current.append(part)
        size += len(part) + 1
    if current:
        yield ",".join(current)


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Mailbox:
    def __init__(self, settings: ImapSettings, *, readonly: bool = False) -> None:
        self.settings = settings
        self.readonly = readonly  # EXAMINE: a watcher that never changes a flag
        self.client: IMAPClient | None = None
        self.uidvalidity = 0
        self.uidnext = 0

    def __enter__(self) -> Mailbox:
        self.connect()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def connect(self) -> None:
        s = self.settings
        password = require_password(s, "imap") if s.auth == "password" else None
        where = f"IMAP server {s.host}:{s.port}"
        try:
            context = tls_context(s.ca_file)
            client = IMAPClient(
                s.host,
                port=s.port,
                ssl=s.security is Security.SSL,
                ssl_context=context,
                timeout=s.timeout_seconds,
            )
            if s.security is Security.STARTTLS:
                # Unconditionally: a server that hides STARTTLS must not get our password.
                client.starttls(context)
            client.normalise_times = False
            if s.auth == "oauth2":
                token = access_token(s, "imap", LoginRefused)
                try:
                    # OAUTHBEARER (RFC 7628) where offered (Gmail, Dovecot), else XOAUTH2
                    # (Exchange Online offers only that).
                    if b"AUTH=OAUTHBEARER" in client.capabilities():
                        client.oauthbearer_login(s.username, token)
                    else:
                        client.oauth2_login(s.username, token)
                except LoginError:
                    raise LoginRefused(
                        f"{where}: OAuth2 token refused for {s.username}; check token_command "
                        "(expired or not allowed for this mailbox?)"
                    ) from None
            elif s.username:
                client.login(s.username, password or "")
            info = client.select_folder(s.folder, readonly=self.readonly)
        except ssl.SSLError as exc:
            raise TLSFailure(f"{where}: TLS failed ({tls_reason(exc)})") from exc
        except (TimeoutError, OSError) as exc:
            raise MailboxUnavailable(f"{where}: cannot connect ({exc})") from exc
        except LoginError as exc:
            raise LoginRefused(f"{where}: login refused for {s.username}") from exc
        except IMAPClientError as exc:
            text = str(exc)
            if "STARTTLS" in text.upper():
                raise TLSFailure(f"{where}: server offers no STARTTLS; refusing to log in") from exc
            raise MailboxUnavailable(f"{where}: {text[:200]}") from exc
        self.client = client
        self.uidvalidity = int(info[b"UIDVALIDITY"])
        self.uidnext = int(info.get(b"UIDNEXT", 0))

    def close(self) -> None:
        if self.client is None:
            return
        with contextlib.suppress(IMAPClientError, OSError):  # the connection is gone anyway
            self.client.logout()
        self.client = None

    def _imap(self) -> IMAPClient:
        if self.client is None:
            raise MailboxUnavailable("not connected")
        return self.client

    # --- fetch ---

    def pending(self, done: set[int]) -> list[MailMeta]:
        """Messages not yet processed, in arrival order (INTERNALDATE, then UID)."""
        try:
            uids = sorted(set(self._imap().search("ALL")) - done)
            found: list[MailMeta] = []
            for chunk in _chunks(uids, _CHUNK):
                response = self._imap().fetch(chunk, ["INTERNALDATE", "RFC822.SIZE", "FLAGS"])
                found += [_meta(uid, data) for uid, data in response.items() if uid in chunk]
        except (IMAPClientError, OSError) as exc:
            raise MailboxUnavailable(f"IMAP fetch failed: {exc}") from exc
        return sorted(found, key=lambda m: (m.internaldate, m.uid))

    def download(self, metas: Iterable[MailMeta]) -> list[FetchedMail]:
        """The raw bytes; BODY.PEEK so that nothing becomes read. Expunged mail is absent."""
        wanted = {m.uid: m for m in metas}
        if not wanted:
            return []
        try:
            response = self._imap().fetch(sorted(wanted), ["BODY.PEEK[]"])
        except (IMAPClientError, OSError) as exc:
            raise MailboxUnavailable(f"IMAP fetch failed: {exc}") from exc
        log.debug("fetched %d of %d messages", len(response), len(wanted))
        mails = []
        for uid, meta in wanted.items():
            raw = response.get(uid, {}).get(b"BODY[]")
            if raw is None:
                continue  # expunged between search and fetch: not processed, never lost
            mails.append(
                FetchedMail(
                    folder=self.settings.folder,
                    uidvalidity=self.uidvalidity,
                    uid=uid,
                    arrival=meta.internaldate.astimezone(UTC),
                    size=meta.size,
                    raw=bytes(raw),
                    flags=meta.flags,
                )
            )
        return sorted(mails, key=lambda m: m.order)

    # --- mark ---

    def add_flags(self, uids: Sequence[int], flags: Iterable[str]) -> None:
        self._store(uids, flags, add=True)

    def remove_flags(self, uids: Sequence[int], flags: Iterable[str]) -> None:
        self._store(uids, flags, add=False)

    def _store(self, uids: Sequence[int], flags: Iterable[str], *, add: bool) -> None:
        names = [f.encode() for f in flags]
        imap = self._imap()
        try:
            for ranges in uid_ranges(uids):
                if add:
                    imap.add_flags(ranges, names, silent=True)
                else:
                    imap.remove_flags(ranges, names, silent=True)
        except (IMAPClientError, OSError) as exc:
            raise MailboxUnavailable(f"IMAP STORE failed: {exc}") from exc

    def save_copy(self, folder: str, raw: bytes, when: datetime) -> None:
        """A copy of a sent reply in the Sent folder, marked read."""
        try:
            self._imap().append(folder, raw, flags=[b"\\Seen"], msg_time=when)
        except (IMAPClientError, OSError) as exc:
            raise MailboxUnavailable(f"IMAP APPEND to {folder} failed: {exc}") from exc

    def holds_message_id(self, folder: str, message_id: str) -> bool:
        """Whether a folder holds a mail with this Message-ID (ASCII search only)."""
        try:
            imap = self._imap()
            imap.select_folder(folder, readonly=True)
            try:
                return bool(imap.search(["HEADER", "Message-ID", message_id]))
            finally:
                imap.select_folder(self.settings.folder)
        except (IMAPClientError, OSError) as exc:
            raise MailboxUnavailable(f"IMAP search in {folder} failed: {exc}") from exc


def _meta(uid: int, data: dict[bytes, object]) -> MailMeta:
    when = data.get(b"INTERNALDATE")
    if not isinstance(when, datetime):
        raise MailboxUnavailable(f"server gave no INTERNALDATE for UID {uid}")
    if when.tzinfo is None:  # normalise_times is off, so this means the server sent none
        when = when.replace(tzinfo=UTC)
    flags = data.get(b"FLAGS") or ()
    return MailMeta(
        uid=uid,
        internaldate=when,
        size=int(data.get(b"RFC822.SIZE") or 0),  # type: ignore[call-overload]
        flags=frozenset(to_unicode(f) for f in flags),  # type: ignore[attr-defined]
    )
