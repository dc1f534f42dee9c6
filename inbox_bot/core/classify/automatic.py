"""Automatic mail (RFC 3834: auto-replies, bounces, receipts, lists): never answered."""

from __future__ import annotations

import re

from inbox_bot.core.classify import rules
from inbox_bot.core.classify.context import Context
from inbox_bot.core.model import Kind, ParsedMail
from inbox_bot.core.names import clean_address

# --- automatic mail ---


def automatic_kind(mail: ParsedMail, ctx: Context) -> tuple[Kind, str] | None:
    """The kind of automatic mail and the signal that gave it away, or None for a person."""
    if mail.content_type == "multipart/report":
        if mail.report_type == "disposition-notification":
            return Kind.READ_RECEIPT, "multipart/report (disposition-notification)"
        return Kind.BOUNCE, f"multipart/report ({mail.report_type or 'unknown'})"
    if any(t in ("message/delivery-status",) for t in mail.attachment_types):
        return Kind.BOUNCE, "message/delivery-status part"
    if any(t == "message/disposition-notification" for t in mail.attachment_types):
        return Kind.READ_RECEIPT, "message/disposition-notification part"
    sender = mail.sender.email if mail.sender else ""
    local = sender.rpartition("@")[0]
    if rules.BOUNCE_SENDERS.match(local):
        return Kind.BOUNCE, f"sender {local}"
    if _null_return_path(mail):
        kind = Kind.BOUNCE if rules.SUBJECT_BOUNCE.search(mail.subject) else Kind.AUTO_REPLY
        return kind, "Return-Path <>"
    for check in (_own_mail, _header_signals, _subject_signals):
        found = check(mail, ctx)
        if found:
            return found
    if rules.MACHINE_SENDERS.match(local):
        return Kind.BULK, f"sender {local}"
    return None


def _null_return_path(mail: ParsedMail) -> bool:
    return any(v.strip() in ("<>", "") for v in mail.header("return-path"))


def _own_mail(mail: ParsedMail, ctx: Context) -> tuple[Kind, str] | None:
    addresses = [a.email for a in (mail.sender, mail.reply_to) if a]
    if any(clean_address(a).lower() in ctx.own_addresses for a in addresses):
        return Kind.AUTO_REPLY, "sent from our own address (loop)"
    if mail.message_id and mail.message_id.lower().endswith(
        "@" + ctx.message_id_domain.lower() + ">"
    ):
        return Kind.AUTO_REPLY, "our own Message-ID (loop)"
    if any(mail.header(h) for h in rules.LOOP_HEADERS):
        return Kind.AUTO_REPLY, "loop header"
    return None


def _header_signals(mail: ParsedMail, _ctx: Context) -> tuple[Kind, str] | None:
    for value in mail.header("auto-submitted"):
        token = value.split(";", 1)[0].strip().lower()
        if token and token != rules.AUTO_SUBMITTED_HUMAN:
            kind = Kind.BOUNCE if rules.SUBJECT_BOUNCE.search(mail.subject) else Kind.AUTO_REPLY
            return kind, f"Auto-Submitted: {token}"
    for value in mail.header("x-auto-response-suppress"):
        tokens = {t.strip().lower() for t in re.split(r"[,\s]+", value) if t.strip()}
        if tokens & rules.SUPPRESS_TOKENS:
            return Kind.AUTO_REPLY, f"X-Auto-Response-Suppress: {value.strip()[:40]}"
    for name in rules.AUTOMATIC_HEADERS:
        if mail.header(name):
            return Kind.AUTO_REPLY, f"{name} header"
    list_headers = sorted(h for h in mail.headers if h.startswith("list-"))
    if list_headers:
        return Kind.BULK, f"{list_headers[0]} header"
    for value in mail.header("precedence"):
        if value.strip().lower() in rules.PRECEDENCE_AUTOMATIC:
            return Kind.BULK, f"Precedence: {value.strip().lower()}"
    return None


def _subject_signals(mail: ParsedMail, _ctx: Context) -> tuple[Kind, str] | None:
    if rules.SUBJECT_BOUNCE.search(mail.subject):
        return Kind.BOUNCE, "subject of a delivery report"
    if rules.SUBJECT_READ_RECEIPT.search(mail.subject):
        return Kind.READ_RECEIPT, "subject of a read receipt"
    if rules.SUBJECT_AUTO_REPLY.search(mail.subject):
        return Kind.AUTO_REPLY, "subject of an automatic reply"
    return None
