"""Reply: send what waits in the outbox, one SMTP connection per batch.

Each outbox row moves queued -> sending -> sent, or -> retry (temporary failure, with
a growing pause), failed (the server refused for good: staff review) or unknown (the
connection broke during DATA). SMTP cannot promise exactly-once delivery, so a row in
"sending" or "unknown" is first looked up in the Sent folder by its Message-ID and
only then sent again, with the same Message-ID and the same bytes.

Two brakes stop a loop or a bug from flooding people: a cap of replies per address
per day and a budget of replies per hour. When one trips, the rows wait and staff
are told; nothing is dropped, but held replies of a kind that repeats itself
("already registered") to one address are merged into the newest ("merged").
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

from inbox_bot.adapters.store import OutboxItem, OutboxState, iso
from inbox_bot.app.deps import CycleReport, Deps
from inbox_bot.errors import InboxBotError, SendError, SendPermanent, SendTemporary, SendUnknown
from inbox_bot.ports import Mailbox, Mailer

log = logging.getLogger(__name__)

FIRST_PAUSE = timedelta(minutes=1)
LONGEST_PAUSE = timedelta(hours=1)
# Replies whose held copies to one address say the same thing: the newest is enough.
MERGEABLE = frozenset({"duplicate", "question"})


def send_outbox(deps: Deps, mailbox: Mailbox, report: CycleReport) -> None:
    """Send the replies that are due; report what still waits."""
    if report.smtp_unreachable:
        return  # tried once this cycle already; the next cycle tries again
    now = deps.clock()
    due = [_settle_unknown(deps, mailbox, item) for item in deps.store.pending_outbox(now)]
    todo = [item for item in due if item is not None]
    if todo:
        run = _SendRun(deps, mailbox, report)
        try:
            with deps.open_smtp() as smtp:
                run.send(smtp, todo)
        except SendTemporary as exc:
            # The server is away: the rows wait as they are; the poll interval paces retries
            # and a long outage never turns a reply into a failure.
            report.smtp_unreachable = str(exc)
            deps.store.set_meta("last_smtp_error", f"{iso(deps.clock())} {exc}")
        else:
            if report.sent:
                deps.store.set_meta("last_smtp_ok", iso(deps.clock()))
        finally:
            run.finish()
    report.send_waiting = len(deps.store.pending_outbox())
    paced = iso(report.next_send_at) if report.next_send_at and report.send_waiting else ""
    if paced or deps.store.get_meta("paced_until"):
        deps.store.set_meta("paced_until", paced)


class _SendRun:
    """One pass over the due replies on one SMTP connection.

    A submitted reply is recorded as sent in the same commit that claims the next one
    (one fsync per reply, not two), made right after the 250: the next reply's brakes
    are checked before, counting this one as sent. The last one is recorded when the
    pass ends. Copies for the Sent folder are filed after their record."""

    def __init__(self, deps: Deps, mailbox: Mailbox, report: CycleReport) -> None:
        self.deps, self.mailbox, self.report = deps, mailbox, report
        now = deps.clock()
        # Counted once, then by this run's own sends: no count over the outbox per reply.
        self.sent_before = report.sent
        self.this_hour = deps.store.sent_since(now - timedelta(hours=1))
        self.this_minute = deps.store.sent_since(now - timedelta(minutes=1))
        self.unrecorded: tuple[OutboxItem, datetime] | None = None
        self.copies: list[OutboxItem] = []

    def send(self, smtp: Mailer, todo: list[OutboxItem]) -> None:
        queue = iter(todo)
        current = self._next(queue, None)
        if current is None:
            return
        self.deps.store.claim(current.id)
        while current is not None:
            # The next reply's checks come first (counting this one as sent), so that its
            # claim and this one's record follow the 250 at once, in one commit.
            upcoming = self._next(queue, current)
            if not _send_one(self.deps, smtp, current, self.report, self):
                return
            if upcoming is not None:
                self.deps.store.claim(upcoming.id, sent=self._take_unrecorded())
            current = upcoming

    def _next(self, queue: Iterator[OutboxItem], sending: OutboxItem | None) -> OutboxItem | None:
        """The next reply the brakes let go, counting `sending` as gone already."""
        deps, report = self.deps, self.report
        ahead = int(sending is not None)
        for item in queue:
            sent_now = report.sent - self.sent_before + ahead
            if _over_hourly_budget(deps, report, self.this_hour + sent_now):
                return None
            if _over_rate(deps, report, self.this_minute + sent_now):
                return None
            # Per address: the replies of this pass not recorded yet count too.
            unrecorded = [x for x in (sending, self._unrecorded_item()) if x is not None]
            if _within_limits(deps, item, report, sum(_same(x, item) for x in unrecorded)):
                return item
        return None

    def _unrecorded_item(self) -> OutboxItem | None:
        return self.unrecorded[0] if self.unrecorded is not None else None

    def submitted(self, item: OutboxItem) -> None:
        self.unrecorded = (item, self.deps.clock())
        self.report.sent += 1
        log.info("reply %s sent", item.id)

    def _take_unrecorded(self) -> tuple[int, datetime] | None:
        if self.unrecorded is None:
            return None
        item, when = self.unrecorded
        self.unrecorded = None
        self.copies.append(item)
        return (item.id, when)

    def finish(self) -> None:
        """Record the last submitted reply, then file the copies."""
        last = self._take_unrecorded()
        if last is not None:
            self.deps.store.mark_sent(*last)
        for item in self.copies:
            _save_copy(self.deps, self.mailbox, item)
        self.copies = []


def _over_rate(deps: Deps, report: CycleReport, this_minute: int) -> bool:
    """The provider's rate (Exchange Online: 30 a minute): the rest waits, in order, for
    the next minute; `run` comes back for it then. Not an alert: it is how it works."""
    rate = deps.settings.limits.replies_per_minute
    if not rate or this_minute < rate:
        return False
    report.next_send_at = deps.clock() + timedelta(minutes=1)
    log.info("%d replies in the last minute (replies_per_minute): the rest waits", this_minute)
    return True


def _same(a: OutboxItem, b: OutboxItem) -> bool:
    return a.recipient.casefold() == b.recipient.casefold()


def _settle_unknown(deps: Deps, mailbox: Mailbox, item: OutboxItem) -> OutboxItem | None:
    """A reply whose submission may have gone out is looked up before it is sent again."""
    sent_folder = deps.settings.imap.sent_folder
    if item.state not in (OutboxState.SENDING, OutboxState.UNKNOWN) or not sent_folder:
        return item
    try:
        if mailbox.holds_message_id(sent_folder, item.message_id):
            deps.store.mark_sent(item.id, deps.clock())
            return None
    except InboxBotError as exc:
        log.warning("could not look up reply %s in %s: %s", item.id, sent_folder, exc)
    return item


def _within_limits(deps: Deps, item: OutboxItem, report: CycleReport, unrecorded: int) -> bool:
    """Per-address cap: a loop partner gets a few replies a day, then staff decide.
    `unrecorded`: replies to the same address sent this pass and not yet recorded."""
    cap = deps.settings.limits.replies_per_address_per_day
    since = deps.clock() - timedelta(days=1)
    if deps.store.sent_since(since, item.recipient) + unrecorded < cap:
        return True
    reason = (
        f"Schon {cap} Antworten in 24 Stunden an {item.recipient}: weitere warten im "
        "Postausgang (Schutz vor Mail-Schleifen)."
    )
    if item.kind in MERGEABLE:
        # Twenty "you are already registered" replies say what one says: only the newest
        # of a kind waits; the others are done without being sent.
        merged = deps.store.merge_held(item.recipient, item.kind)
        if merged:
            log.info("%d held %s replies merged into the newest", merged, item.kind)
    if item.message_ref is not None:
        deps.store.flag_review(item.message_ref, reason)
    report.problems.append(reason)
    deps.store.set_meta("alert", f"{iso(deps.clock())} {reason}")
    log.warning("per-address reply cap reached for reply %s", item.id)
    return False


def _over_hourly_budget(deps: Deps, report: CycleReport, this_hour: int) -> bool:
    budget = deps.settings.limits.replies_per_hour
    if this_hour < budget:
        return False
    reason = (
        f"Stundenbudget von {budget} Antworten erreicht: Versand angehalten, "
        "Antworten warten im Postausgang. Bitte prüfen (Schleife?)."
    )
    report.problems.append(reason)
    deps.store.set_meta("alert", f"{iso(deps.clock())} {reason}")
    log.warning("hourly reply budget of %d reached; sending paused", budget)
    return True


def _send_one(
    deps: Deps, smtp: Mailer, item: OutboxItem, report: CycleReport, run: _SendRun
) -> bool:
    """Submit one (claimed) reply; False when the connection is gone and the batch must stop."""
    try:
        smtp.send(item.recipient, item.data)
    except SendPermanent as exc:
        _fail(deps, item, str(exc), report)
        return True
    except SendUnknown as exc:
        # Look again (Sent folder) next cycle, not at once: the server may still file it.
        deps.store.mark_unknown(item.id, str(exc), deps.clock() + FIRST_PAUSE)
        report.problems.append(f"Antwort {item.message_id}: Ausgang ungewiss ({exc})")
        return False
    except SendError as exc:
        _retry_or_fail(deps, item, str(exc), report)
        report.problems.append(f"Antwort {item.message_id} wird später erneut gesendet: {exc}")
        return smtp.connected
    run.submitted(item)
    return True


def _retry_or_fail(deps: Deps, item: OutboxItem, error: str, report: CycleReport) -> None:
    deps.store.set_meta("last_smtp_error", f"{iso(deps.clock())} {error}")
    attempts = item.attempts + 1
    if attempts >= deps.settings.limits.send_attempts:
        _fail(deps, item, f"nach {attempts} Versuchen: {error}", report)
        return
    pause = min(FIRST_PAUSE * 2 ** (attempts - 1), LONGEST_PAUSE)
    deps.store.retry_later(item.id, error, deps.clock() + pause)


def _fail(deps: Deps, item: OutboxItem, error: str, report: CycleReport) -> None:
    deps.store.set_meta("last_smtp_error", f"{iso(deps.clock())} {error}")
    deps.store.mark_failed(item.id, error)
    deps.store.flag_review(item.message_ref, f"Antwort nicht zustellbar: {error}")
    report.send_failed += 1


def _save_copy(deps: Deps, mailbox: Mailbox, item: OutboxItem) -> None:
    folder = deps.settings.imap.sent_folder
    if not folder or deps.settings.imap.sent_copy == "server":
        return  # "server": the server files what we submit; the bot only looks it up
    try:
        mailbox.save_copy(folder, item.data, deps.clock())
    except InboxBotError as exc:
        log.warning("reply %s sent but not copied to %s: %s", item.id, folder, exc)
