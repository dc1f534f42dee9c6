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
from datetime import timedelta

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
        # Counted once, then by this run's own sends: no count over the outbox per reply.
        sent_before = report.sent
        this_hour = deps.store.sent_since(now - timedelta(hours=1))
        this_minute = deps.store.sent_since(now - timedelta(minutes=1))
        try:
            with deps.open_smtp() as smtp:
                for item in todo:
                    sent_now = report.sent - sent_before
                    if _over_hourly_budget(deps, report, this_hour + sent_now):
                        break
                    if _over_rate(deps, report, this_minute + sent_now):
                        break
                    # Checked before each reply: several replies to one address in one batch.
                    if not _within_limits(deps, item, report):
                        continue
                    if not _send_one(deps, mailbox, smtp, item, report):
                        break
        except SendTemporary as exc:
            # The server is away: the rows wait as they are; the poll interval paces retries
            # and a long outage never turns a reply into a failure.
            report.smtp_unreachable = str(exc)
            deps.store.set_meta("last_smtp_error", f"{iso(deps.clock())} {exc}")
        else:
            if report.sent:
                deps.store.set_meta("last_smtp_ok", iso(deps.clock()))
    report.send_waiting = len(deps.store.pending_outbox())
    paced = iso(report.next_send_at) if report.next_send_at and report.send_waiting else ""
    if paced or deps.store.get_meta("paced_until"):
        deps.store.set_meta("paced_until", paced)


def _over_rate(deps: Deps, report: CycleReport, this_minute: int) -> bool:
    """The provider's rate (Exchange Online: 30 a minute): the rest waits, in order, for
    the next minute; `run` comes back for it then. Not an alert: it is how it works."""
    rate = deps.settings.limits.replies_per_minute
    if not rate or this_minute < rate:
        return False
    report.next_send_at = deps.clock() + timedelta(minutes=1)
    log.info("%d replies in the last minute (replies_per_minute): the rest waits", this_minute)
    return True


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


def _within_limits(deps: Deps, item: OutboxItem, report: CycleReport) -> bool:
    """Per-address cap: a loop partner gets a few replies a day, then staff decide."""
    cap = deps.settings.limits.replies_per_address_per_day
    since = deps.clock() - timedelta(days=1)
    if deps.store.sent_since(since, item.recipient) < cap:
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
    deps: Deps, mailbox: Mailbox, smtp: Mailer, item: OutboxItem, report: CycleReport
) -> bool:
    """Submit one reply; False when the connection is gone and the batch must stop."""
    deps.store.claim(item.id)
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
    # Recorded at once: the window in which a crash makes a resend is this long.
    deps.store.mark_sent(item.id, deps.clock())
    log.info("reply %s sent", item.id)
    report.sent += 1
    _save_copy(deps, mailbox, item)
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
