"""Classifier rules, table-driven on small hand-built mails (no servers)."""

from __future__ import annotations

import pytest

from inbox_bot.core.classify import Context, classify
from inbox_bot.core.classify.organizations import load_directory
from inbox_bot.core.model import Kind
from inbox_bot.core.parse import parse_mail

CTX = Context(
    own_addresses=frozenset({"smartcity@dortmund.de"}),
    message_id_domain="smartcity.dortmund.de",
    internal_domains=frozenset({"stadtdo.de"}),
    directory=load_directory({"beispiel-gmbh.de": "Beispiel GmbH"}),
)

REGISTRATION_BODY = (
    "Sehr geehrte Damen und Herren,\r\n\r\nhiermit melde ich mich an.\r\n\r\n"
    "Mit freundlichen Gruessen\r\nAnna Schulz\r\n"
)


def mail(headers: str, body: str = REGISTRATION_BODY) -> bytes:
    base = (
        "From: Anna Schulz <a.schulz@unna.de>\r\nTo: smartcity@dortmund.de\r\n"
        "Subject: Anmeldung\r\nMessage-ID: <m1@unna.de>\r\n"
    )
    return (base + headers + "\r\n" + body).encode("utf-8")


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ("Auto-Submitted: auto-replied\r\n", Kind.AUTO_REPLY),
        ('Auto-Submitted: auto-replied; owner-email="a@b.de"\r\n', Kind.AUTO_REPLY),
        ("Auto-Submitted: auto-generated\r\n", Kind.AUTO_REPLY),
        ("Auto-Submitted: no\r\n", Kind.REGISTRATION),
        ("X-Auto-Response-Suppress: OOF\r\n", Kind.AUTO_REPLY),
        ("X-Auto-Response-Suppress: DR, RN\r\n", Kind.REGISTRATION),
        ("Precedence: bulk\r\n", Kind.BULK),
        ("Precedence: junk\r\n", Kind.BULK),
        ("Precedence: list\r\n", Kind.BULK),
        ("List-Id: <news.example.org>\r\n", Kind.BULK),
        ("List-Unsubscribe: <mailto:leave@example.org>\r\n", Kind.BULK),
        ("Return-Path: <>\r\n", Kind.AUTO_REPLY),
        ("X-Loop: yes\r\n", Kind.AUTO_REPLY),
    ],
)
def test_automatic_mail_is_recognised_by_its_headers(headers: str, kind: Kind) -> None:
    assert classify(parse_mail(mail(headers)), CTX).kind is kind


@pytest.mark.parametrize(
    "sender",
    [
        "MAILER-DAEMON@mx.unna.de",
        "postmaster@unna.de",
        "noreply@unna.de",
        "no-reply@portal.example.org",
        "news-request@lists.example.org",
        "owner-info@lists.example.org",
        "smartcity@dortmund.de",
    ],
)
def test_machine_and_own_senders_are_never_answered(sender: str) -> None:
    raw = mail("").replace(b"a.schulz@unna.de", sender.encode())
    assert classify(parse_mail(raw), CTX).kind.automatic


@pytest.mark.parametrize(
    "subject",
    [
        "Automatische Antwort: Anmeldung",
        "Abwesenheitsnotiz: Ihre Mail",
        "Out of Office: Re: x",
        "Automatic reply: Registration",
        "Gelesen: Einladung",
        "Unzustellbar: Ihre Anmeldung",
    ],
)
def test_clients_without_headers_are_recognised_by_subject(subject: str) -> None:
    raw = mail("").replace(b"Subject: Anmeldung", f"Subject: {subject}".encode())
    assert classify(parse_mail(raw), CTX).kind.automatic


def test_our_own_reply_looped_back_is_not_answered() -> None:
    raw = mail("").replace(b"<m1@unna.de>", b"<reply-0a1b@smartcity.dortmund.de>")
    assert classify(parse_mail(raw), CTX).kind is Kind.AUTO_REPLY


def test_a_display_name_that_is_an_address_is_not_used() -> None:
    raw = mail("").replace(
        b"From: Anna Schulz <a.schulz@unna.de>", b"From: chef@stadt-unna.de <eve@evil.example>"
    )
    parsed = parse_mail(raw)
    assert parsed.sender is not None and parsed.sender.email == "eve@evil.example"
    assert parsed.spoofed_display_name
    assert parsed.reply_address is not None and parsed.reply_address.email == "eve@evil.example"


def test_encoded_outlook_name_is_decoded_and_turned_around() -> None:
    raw = (
        mail("")
        .replace(
            b"From: Anna Schulz <a.schulz@unna.de>",
            b"From: =?utf-8?q?M=C3=BCller=2C_J=C3=BCrgen=2C_Dr=2E?= <j.mueller@unna.de>",
        )
        .replace(b"Anna Schulz\r\n", b"J. Mueller\r\n")
    )
    intent = classify(parse_mail(raw), CTX)
    assert [p.name for p in intent.persons] == ["Jürgen Müller"]
    assert intent.persons[0].organization == "Stadt Unna"


def test_html_only_windows_1252_mail_is_read() -> None:
    html = (
        "<html><body><p>Hiermit melde ich mich f\xfcr den Austausch an.</p>"
        "<p>Gr\xfc\xdfe<br>J\xf6rg Br\xfcck</p></body></html>"
    )
    raw = (
        b"From: =?windows-1252?q?J=F6rg_Br=FCck?= <j.brueck@beispiel-gmbh.de>\r\n"
        b"To: smartcity@dortmund.de\r\nSubject: Anmeldung\r\nMessage-ID: <h1@x>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=windows-1252\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    ) + html.encode("cp1252")
    intent = classify(parse_mail(raw), CTX)
    assert intent.kind is Kind.REGISTRATION
    assert [(p.name, p.organization) for p in intent.persons] == [("Jörg Brück", "Beispiel GmbH")]


@pytest.mark.parametrize(
    ("body", "kind", "reviewed"),
    [
        ("Gibt es Parkplaetze am Kongresszentrum?", Kind.QUESTION, False),
        ("Ich muss meine Anmeldung leider zurueckziehen.", Kind.CANCELLATION, False),
        ("I am afraid I have to cancel my registration.", Kind.CANCELLATION, False),
        ("Please register me for the exchange on 5 December.", Kind.REGISTRATION, False),
        ("Wir kommen zu dritt.", Kind.OTHER, True),
        ("Ich kann leider nicht, an meiner Stelle kommt Herr Jan Pohl.", Kind.OTHER, True),
        ("", Kind.OTHER, True),
    ],
)
def test_what_the_sender_wants(body: str, kind: Kind, reviewed: bool) -> None:
    raw = mail("", f"{body}\r\n\r\nViele Gruesse\r\nAnna Schulz\r\n").replace(
        b"Subject: Anmeldung", b"Subject: Interkommunaler Austausch"
    )
    intent = classify(parse_mail(raw), CTX)
    assert intent.kind is kind
    assert bool(intent.review_reasons) is reviewed


def test_registration_with_a_question_is_a_registration_flagged_for_staff() -> None:
    raw = mail(
        "",
        "Hiermit melde ich mich an. Gibt es vegetarisches Essen?\r\n\r\nGruss\r\nAnna Schulz\r\n",
    )
    intent = classify(parse_mail(raw), CTX)
    assert intent.kind is Kind.REGISTRATION and intent.has_question


def test_english_mail_gets_english_language() -> None:
    raw = mail(
        "",
        "Dear team,\r\n\r\nplease register me for the event.\r\n\r\n"
        "Best regards\r\nAnna Schulz\r\n",
    )
    assert classify(parse_mail(raw), CTX).language == "en"


def test_internal_mail_goes_to_staff() -> None:
    raw = (
        mail("")
        .replace(b"a.schulz@unna.de", b"kollegin@stadtdo.de")
        .replace(
            REGISTRATION_BODY.encode(),
            b"Koennt ihr mir die Liste schicken?\r\n\r\nGruss\r\nCarina\r\n",
        )
    )
    intent = classify(parse_mail(raw), CTX)
    assert intent.kind is Kind.OTHER and intent.review_reasons
