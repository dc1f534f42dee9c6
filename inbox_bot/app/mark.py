"""Mark: the last step. Flags tell staff in Outlook what happened to each mail.

Answered mail gets \\Seen and \\Answered; mail for staff review gets \\Flagged and stays
unread, so "unread in the inbox" means "needs a person". A mail is marked only after
its replies are out, so a crash before that leaves it for the next cycle. One STORE
per set of flags for all mails of a cycle (UIDs as ranges), not one per mail.
"""

from __future__ import annotations

from inbox_bot.adapters.store import OutboxState
from inbox_bot.app.deps import Deps
from inbox_bot.ports import Mailbox


def mark_done(deps: Deps, mailbox: Mailbox) -> None:
    """Flags last: answered mail \\Seen + \\Answered; staff review \\Flagged and unread."""
    rows = deps.store.unmarked(deps.settings.imap.folder, mailbox.uidvalidity)
    if not rows:
        return
    replies = deps.store.outbox_for_messages([row.id for row in rows])
    adding: dict[tuple[str, ...], list[int]] = {}
    unflagging: list[int] = []
    done: list[int] = []
    for row in rows:
        own = replies.get(row.id, [])
        if not all(r.state.done for r in own):
            if row.needs_review:
                # Held back (reply cap, retries): staff see it now, \Answered comes later.
                adding.setdefault(("\\Flagged",), []).append(row.uid)
            continue  # wait until the reply is out
        flags = []
        if any(r.state is OutboxState.SENT for r in own):
            flags.append("\\Answered")
        flags.append("\\Flagged" if row.waiting_for_staff else "\\Seen")
        if row.resolved:
            # Staff resolved it by hand: it no longer needs a person.
            unflagging.append(row.uid)
        adding.setdefault(tuple(flags), []).append(row.uid)
        done.append(row.id)
    if unflagging:
        mailbox.remove_flags(unflagging, ["\\Flagged"])
    for names, uids in adding.items():
        mailbox.add_flags(uids, list(names))
    deps.store.set_marked(done)
