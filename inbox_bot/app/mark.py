"""Mark: the last step. Flags tell staff in Outlook what happened to each mail.

Answered mail gets \\Seen and \\Answered; mail for staff review gets \\Flagged and stays
unread, so "unread in the inbox" means "needs a person". A mail is marked only after
its replies are out, so a crash before that leaves it for the next cycle.
"""

from __future__ import annotations

from inbox_bot.adapters.store import OutboxState
from inbox_bot.app.deps import Deps
from inbox_bot.ports import Mailbox


def mark_done(deps: Deps, mailbox: Mailbox) -> None:
    """Flags last: answered mail \\Seen + \\Answered; staff review \\Flagged and unread."""
    for row in deps.store.unmarked(deps.settings.imap.folder, mailbox.uidvalidity):
        replies = deps.store.outbox_for_message(row.id)
        if not all(r.state.done for r in replies):
            if row.needs_review:
                # Held back (reply cap, retries): staff see it now, \Answered comes later.
                mailbox.add_flags(row.uid, ["\\Flagged"])
            continue  # wait until the reply is out
        flags = []
        if any(r.state is OutboxState.SENT for r in replies):
            flags.append("\\Answered")
        flags.append("\\Flagged" if row.waiting_for_staff else "\\Seen")
        if row.resolved:
            # Staff resolved it by hand: it no longer needs a person.
            mailbox.remove_flags(row.uid, ["\\Flagged"])
        mailbox.add_flags(row.uid, flags)
        deps.store.set_marked(row.id)
