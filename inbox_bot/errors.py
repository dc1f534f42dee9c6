"""One exception tree for inbox-bot.

    InboxBotError
    ├── ConfigError            bad or missing setting; the CLI exits with status 2
    ├── AlreadyRunning         another worker holds the database lock
    ├── MailboxError           IMAP trouble
    │   ├── MailboxUnavailable     cannot connect or select (retry later)
    │   │   └── LoginRefused           the server refused the account (fix the config)
    │   └── TLSFailure             certificate or STARTTLS problem (never retried in clear)
    ├── SendError              SMTP trouble for one reply
    │   ├── SendTemporary          4xx, connection refused: retry from the outbox
    │   │   └── SendLoginRefused       the server refused the account
    │   ├── SendPermanent          5xx, refused recipient: reply failed, staff review
    │   └── SendUnknown            connection lost after DATA: outcome unknown
    ├── ParseError             bytes that are no mail we can read (staff review)
    ├── Interrupted            asked to stop while a mail was read; it waits for later
    ├── TemplateError          a reply template failed to render
    │   └── UnsafeReply            a reply would not be safe to send (address, headers)
    ├── ActionRefused          a staff action cannot be done as asked; says why
    │   └── NotFound               no such person or mail
    └── StoreError             the database cannot be opened, migrated or written

Library exceptions are re-raised as one of these with the cause attached, so the
pipeline never sees imaplib, smtplib or sqlite3 types.
"""


class InboxBotError(Exception):
    """Base of every error inbox-bot raises on purpose."""


class ConfigError(InboxBotError):
    """A setting is missing or invalid. The message names the key."""


class AlreadyRunning(InboxBotError):
    """Another inbox-bot process works on the same database."""


class MailboxError(InboxBotError):
    """The IMAP server could not be used."""


class MailboxUnavailable(MailboxError):
    """Connecting, logging in or selecting the folder failed."""


class LoginRefused(MailboxUnavailable):
    """The IMAP server refused the account: retrying will not help until staff act."""


class TLSFailure(MailboxError):
    """TLS could not be established or verified."""


class SendError(InboxBotError):
    """A reply could not be handed to the SMTP server."""


class SendTemporary(SendError):
    """A temporary failure: the reply stays in the outbox and is retried."""


class SendLoginRefused(SendTemporary):
    """The SMTP server refused the account; replies wait until staff fix it."""


class SendPermanent(SendError):
    """The server refused the reply for good: it goes to staff review."""


class SendUnknown(SendError):
    """The connection broke after the message data was sent: it may have gone out."""


class ParseError(InboxBotError):
    """The bytes are not a mail we can read; the pipeline sends it to staff review."""


class Interrupted(InboxBotError):
    """The bot was asked to stop while a mail was read; the mail stays for later."""


class TemplateError(InboxBotError):
    """A reply template is broken or refers to an unknown value."""


class UnsafeReply(TemplateError):
    """A reply would go to an address that is no plain address, or carry other headers."""


class ActionRefused(InboxBotError):
    """A staff action cannot be done as asked; the message says why."""


class NotFound(ActionRefused):
    """No such person or mail."""


class StoreError(InboxBotError):
    """The database could not be opened, migrated or written."""
