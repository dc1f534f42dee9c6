"""One exception tree for inbox-bot.

    InboxBotError
    ├── ConfigError            bad or missing setting; the CLI exits with status 2
    ├── AlreadyRunning         another worker holds the database lock
    ├── MailboxError           IMAP trouble
    │   ├── MailboxUnavailable     cannot connect, log in or select (retry later)
    │   └── TLSFailure             certificate or STARTTLS problem (never retried in clear)
    ├── SendError              SMTP trouble for one reply
    │   ├── SendTemporary          4xx, connection refused: retry from the outbox
    │   ├── SendPermanent          5xx, refused recipient: reply failed, staff review
    │   └── SendUnknown            connection lost after DATA: outcome unknown
    ├── TemplateError          a reply template failed to render
    └── StoreError             the database cannot be opened or migrated

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


class TLSFailure(MailboxError):
    """TLS could not be established or verified."""


class SendError(InboxBotError):
    """A reply could not be handed to the SMTP server."""


class SendTemporary(SendError):
    """A temporary failure: the reply stays in the outbox and is retried."""


class SendPermanent(SendError):
    """The server refused the reply for good: it goes to staff review."""


class SendUnknown(SendError):
    """The connection broke after the message data was sent: it may have gone out."""


class TemplateError(InboxBotError):
    """A reply template is broken or refers to an unknown value."""


class StoreError(InboxBotError):
    """The database could not be opened, migrated or written."""
