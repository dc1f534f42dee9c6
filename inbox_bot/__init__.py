"""inbox-bot: event registration by plain email.

The pipeline, one module per stage: mailbox (fetch) -> parse -> classify ->
allocate (decide) -> store (persist) -> render + smtp (reply) -> mailbox (mark).
"""

__version__ = "0.1.0"
