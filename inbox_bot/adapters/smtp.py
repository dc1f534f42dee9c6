"""SMTP adapter (smtplib): one connection per batch, explicit envelope, verified TLS.

Each reply is submitted with MAIL, RCPT and DATA issued one by one, so that a broken
connection can be told apart: before DATA nothing went out (temporary), during or
after DATA it may have gone out (unknown).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from types import TracebackType

from inbox_bot.adapters.mailbox import tls_context, tls_reason
from inbox_bot.adapters.tokens import access_token, oauthbearer, xoauth2
from inbox_bot.config import Security, SmtpSettings, require_password
from inbox_bot.errors import SendLoginRefused, SendPermanent, SendTemporary, SendUnknown


class SmtpSender:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        self.connect()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def connect(self) -> None:
        s = self.settings
        password = require_password(s, "smtp") if s.auth == "password" else None
        where = f"SMTP server {s.host}:{s.port}"
        port = s.port or 0  # always set by load_settings
        context = tls_context(s.ca_file)
        try:
            if s.security is Security.SSL:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, port, timeout=s.timeout_seconds, context=context
                )
            else:
                smtp = smtplib.SMTP(s.host, port, timeout=s.timeout_seconds)
                if s.security is Security.STARTTLS:
                    _starttls(smtp, context, where)
            if s.auth == "oauth2":
                _oauth2_login(smtp, s.username, access_token(s, "smtp", SendLoginRefused), where)
            elif s.username:
                smtp.login(s.username, password or "")
        except ssl.SSLError as exc:
            raise SendTemporary(f"{where}: TLS failed ({tls_reason(exc)})") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise SendTemporary(f"{where}: the server offers no login (AUTH)") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise SendLoginRefused(f"{where}: login refused ({exc.smtp_code})") from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise SendTemporary(f"{where}: cannot connect ({exc})") from exc
        self.smtp = smtp

    @property
    def connected(self) -> bool:
        """Whether another reply can be tried on this connection (see ports.Mailer)."""
        return self.smtp is not None

    def close(self) -> None:
        if self.smtp is None:
            return
        try:
            self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            self.smtp.close()
        self.smtp = None

    def send(self, recipient: str, data: bytes) -> None:
        """Submit one message to one recipient; raise SendTemporary/Permanent/Unknown."""
        smtp = self.smtp
        if smtp is None:
            raise SendTemporary("not connected")
        try:
            self._envelope(smtp, recipient)
        except smtplib.SMTPServerDisconnected as exc:
            self.smtp = None
            raise SendTemporary(f"connection lost before DATA: {exc}") from exc
        except (TimeoutError, OSError) as exc:
            self.smtp = None
            raise SendTemporary(f"connection failed before DATA: {exc}") from exc
        try:
            code, reply = smtp.data(data)
        except smtplib.SMTPDataError as exc:
            _reset(smtp)
            raise _by_code(exc.smtp_code, exc.smtp_error) from exc
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            self.smtp = None
            raise SendUnknown(f"connection lost during DATA: {exc}") from exc
        if code != 250:
            raise _by_code(code, reply)

    def _envelope(self, smtp: smtplib.SMTP, recipient: str) -> None:
        smtp.ehlo_or_helo_if_needed()
        code, reply = smtp.mail(self.settings.from_address)
        if code != 250:
            _reset(smtp)
            raise _by_code(code, reply)
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            _reset(smtp)
            raise _by_code(code, reply)


def _oauth2_login(smtp: smtplib.SMTP, user: str, token: str, where: str) -> None:
    """OAUTHBEARER (RFC 7628) where offered, else XOAUTH2. A refused token comes back as
    an error challenge first, which must be answered (OAUTHBEARER: with ^A, XOAUTH2: with
    an empty line; otherwise smtplib sends the token again, five times, and gives up on
    an "infinite loop"); then 535."""
    smtp.ehlo_or_helo_if_needed()
    offered = smtp.esmtp_features.get("auth", "").upper().split()
    if "OAUTHBEARER" in offered:
        mechanism, initial, dummy = "OAUTHBEARER", oauthbearer(user, token), "\x01"
    elif "XOAUTH2" in offered:
        mechanism, initial, dummy = "XOAUTH2", xoauth2(user, token), ""
    else:
        raise SendTemporary(f"{where}: the server offers no OAuth2 login (XOAUTH2)")

    def answer(challenge: bytes | None = None) -> str:
        return initial if challenge is None else dummy

    try:
        smtp.auth(mechanism, answer)
    except smtplib.SMTPAuthenticationError as exc:
        raise SendLoginRefused(
            f"{where}: OAuth2 token refused for {user} ({exc.smtp_code}); check token_command"
            " or the [smtp.oauth2] sign-in"
        ) from None


def _starttls(smtp: smtplib.SMTP, context: ssl.SSLContext, where: str) -> None:
    """Unconditionally: a server that hides STARTTLS must not get our password."""
    try:
        smtp.starttls(context=context)
    except smtplib.SMTPNotSupportedError as exc:
        smtp.close()
        raise SendTemporary(f"{where}: no STARTTLS offered; refusing to log in") from exc


def _reset(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):  # the next send finds out
        smtp.rset()


def _by_code(code: int, reply: bytes | str) -> Exception:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    message = f"{code} {text}"[:300]
    if 500 <= code < 600:
        return SendPermanent(message)
    return SendTemporary(message)
