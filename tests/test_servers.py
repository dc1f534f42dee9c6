"""The test servers themselves: if these fail, every IMAP/SMTP test downstream is moot."""

from __future__ import annotations

import smtplib
from datetime import datetime
from email.message import EmailMessage

import pytest
from servers import Dovecot, SmtpSink, SmtpStage

BOT = "smartcity@dortmund.de"
ATTENDEE = "kortmann@hagen.de"


def _raw_mail(subject: str) -> bytes:
    message_id = subject.replace(" ", "-")
    return (
        f"From: Sebastian Kortmann <{ATTENDEE}>\r\n"
        f"To: {BOT}\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{message_id}@hagen.de>\r\n"
        "\r\n"
        "Hiermit melde ich mich an.\r\n"
    ).encode()


def _outgoing(to: str, subject: str = "Anmeldebestaetigung") -> EmailMessage:
    message = EmailMessage()
    message["From"] = BOT
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Sie sind angemeldet.")
    return message


def _send(sink: SmtpSink, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as client:
        return client.send_message(message)


# --------------------------------------------------------------------------- IMAP


def test_append_keeps_internaldate_and_uid_order(mailbox: Dovecot) -> None:
    # Arrival order on purpose differs from time order; one date is in summer time.
    arrivals = [
        datetime.fromisoformat("2018-11-06T09:05:12+01:00"),
        datetime.fromisoformat("2018-11-06T08:30:44+01:00"),
        datetime.fromisoformat("2018-06-14T23:59:59+02:00"),
    ]
    uids = [mailbox.append(_raw_mail(f"mail {n}"), when) for n, when in enumerate(arrivals)]

    stored = mailbox.messages()

    assert uids == sorted(uids) and len(set(uids)) == 3
    assert [m["uid"] for m in stored] == uids
    # Dovecot answers in its own zone: compare instants, not wall-clock fields.
    assert [m["internaldate"] for m in stored] == arrivals
    assert all(m["internaldate"].utcoffset() is not None for m in stored)
    assert [m["raw"] for m in stored] == [_raw_mail(f"mail {n}") for n in range(3)]
    assert [m["flags"] for m in stored] == [set(), set(), set()]


def test_append_turns_bare_lf_into_crlf(mailbox: Dovecot) -> None:
    # imaplib normalises line ends on APPEND, so bare-LF corpus mail reads back as CRLF.
    when = datetime.fromisoformat("2018-11-06T09:05:12+01:00")
    mailbox.append(b"Subject: bare\n\nline one\nline two\n", when)

    [stored] = mailbox.messages()
    assert stored["raw"] == b"Subject: bare\r\n\r\nline one\r\nline two\r\n"


def test_append_rejects_naive_time(mailbox: Dovecot) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        mailbox.append(_raw_mail("naive"), datetime(2018, 11, 6, 9, 5, 12))


def test_body_peek_does_not_set_seen(mailbox: Dovecot) -> None:
    when = datetime.fromisoformat("2018-11-06T09:05:12+01:00")
    peeked = mailbox.append(_raw_mail("peeked"), when)
    read = mailbox.append(_raw_mail("read"), when)

    with mailbox.client() as imap:
        imap.select_folder("INBOX")  # read-write, unlike messages()
        imap.fetch([peeked], ["BODY.PEEK[]"])
        imap.fetch([read], ["BODY[]"])  # the control: a plain fetch does mark it

    flags = {m["uid"]: m["flags"] for m in mailbox.messages()}
    assert b"\\Seen" not in flags[peeked]
    assert b"\\Seen" in flags[read]


def test_folders_and_flags_and_reset(mailbox: Dovecot) -> None:
    mailbox.create_folder("Archiv")
    mailbox.create_folder("Archiv.2018")
    when = datetime.fromisoformat("2018-11-06T09:05:12+01:00")
    mailbox.append(_raw_mail("archived"), when, folder="Archiv.2018", flags=[b"\\Seen", "Erledigt"])
    mailbox.append(_raw_mail("inbox"), when)

    [archived] = mailbox.messages("Archiv.2018")
    assert {b"\\Seen", b"Erledigt"} <= archived["flags"]

    mailbox.reset()

    with mailbox.client() as imap:
        assert [name for _flags, _delim, name in imap.list_folders()] == ["INBOX"]
    assert mailbox.messages() == []


def test_restart_keeps_mail(mailbox: Dovecot) -> None:
    when = datetime.fromisoformat("2018-11-06T09:05:12+01:00")
    uid = mailbox.append(_raw_mail("survivor"), when)
    port = mailbox.port

    mailbox.restart()

    assert mailbox.port == port
    [stored] = mailbox.messages()
    assert (stored["uid"], stored["internaldate"]) == (uid, when)


# --------------------------------------------------------------------------- SMTP


def test_sink_captures_message(smtp_sink: SmtpSink) -> None:
    refused = _send(smtp_sink, _outgoing(ATTENDEE))

    [captured] = smtp_sink.wait_for(1, timeout=5)
    assert refused == {}
    assert captured.mail_from == BOT
    assert captured.rcpt_tos == (ATTENDEE,)
    assert captured.message["Subject"] == "Anmeldebestaetigung"
    assert captured.message.get_content().strip() == "Sie sind angemeldet."


def test_fail_next_rcpt_fails_once(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next(451, "4.3.0 Try again later", at="RCPT")

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        _send(smtp_sink, _outgoing(ATTENDEE))
    assert refused.value.recipients[ATTENDEE][0] == 451
    assert smtp_sink.messages == []

    _send(smtp_sink, _outgoing(ATTENDEE))
    assert [c.rcpt_tos for c in smtp_sink.wait_for(1)] == [(ATTENDEE,)]


@pytest.mark.parametrize(
    ("stage", "error"),
    [("MAIL", smtplib.SMTPSenderRefused), ("DATA", smtplib.SMTPDataError)],
)
def test_fail_next_other_stages(
    smtp_sink: SmtpSink, stage: SmtpStage, error: type[smtplib.SMTPResponseException]
) -> None:
    smtp_sink.fail_next(550, "5.7.1 Rejected", at=stage)

    with pytest.raises(error) as raised:
        _send(smtp_sink, _outgoing(ATTENDEE))
    assert raised.value.smtp_code == 550
    assert smtp_sink.messages == []


def test_refuse_recipient_is_permanent(smtp_sink: SmtpSink) -> None:
    smtp_sink.refuse_recipient("Gone@Example.org")

    for _attempt in range(2):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            _send(smtp_sink, _outgoing("gone@example.org"))
        assert refused.value.recipients["gone@example.org"][0] == 550

    partly = _send(smtp_sink, _outgoing(f"gone@example.org, {ATTENDEE}"))
    assert partly["gone@example.org"][0] == 550
    assert [c.rcpt_tos for c in smtp_sink.wait_for(1)] == [(ATTENDEE,)]


def test_drop_after_data_records_the_message(smtp_sink: SmtpSink) -> None:
    smtp_sink.drop_after_data_next()

    with pytest.raises(smtplib.SMTPServerDisconnected):
        _send(smtp_sink, _outgoing(ATTENDEE))
    assert len(smtp_sink.wait_for(1)) == 1

    # A sender that retries now delivers a duplicate, which is what tests must catch.
    _send(smtp_sink, _outgoing(ATTENDEE))
    first, second = smtp_sink.wait_for(2)
    assert first.data == second.data
