"""The whole bot against a real Dovecot and a real SMTP sink, driven through the CLI.

The shared corpus goes in by IMAP APPEND with its arrival times as INTERNALDATE; one
`inbox-bot poll` must then answer exactly as a careful member of staff would.
"""

from __future__ import annotations

import email
import json
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers import (
    FINAL_SEATS,
    FINAL_WAITLIST,
    Label,
    corpus_labels,
    deliver_corpus,
    run_cli,
    write_config,
)
from servers import Dovecot, SmtpSink

PROMOTED = {"jens.obermeier@dew21.de", "henrike.sasse@kommunen.nrw"}


def _poll_corpus(folder: Path, mailbox: Dovecot, smtp_sink: SmtpSink, corpus_dir: Path) -> dict:
    """The corpus delivered and one poll done with capacity 10."""
    config = write_config(folder, mailbox, smtp_sink, capacity=10)
    uids = deliver_corpus(corpus_dir, mailbox)
    result = run_cli("poll", "--config", str(config), imap=mailbox)
    exported = json.loads(run_cli("export", "--config", str(config)).stdout)
    return {
        "config": config,
        "uids": uids,
        "labels": corpus_labels(corpus_dir),
        "stdout": result.stdout,
        "sent": smtp_sink.messages,
        "export": exported,
    }


@pytest.fixture(scope="module")
def polled(
    tmp_path_factory: pytest.TempPathFactory,
    module_mailbox: Dovecot,
    module_smtp_sink: SmtpSink,
    corpus_dir: Path,
) -> dict:
    """One poll of the corpus for the whole module: the tests that take it only read it
    (the mailbox it polled is `module_mailbox`). A test that changes the state takes
    `polled_afresh`."""
    folder = tmp_path_factory.mktemp("polled")
    return _poll_corpus(folder, module_mailbox, module_smtp_sink, corpus_dir)


@pytest.fixture
def polled_afresh(tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink, corpus_dir: Path) -> dict:
    """The same poll, of its own, for a test that polls again."""
    return _poll_corpus(tmp_path, mailbox, smtp_sink, corpus_dir)


def _replies_by_recipient(sent: list) -> Counter[str]:
    return Counter(rcpt.lower() for m in sent for rcpt in m.rcpt_tos)


def test_each_correspondent_gets_exactly_the_replies_the_labels_call_for(polled: dict) -> None:
    labels: list[Label] = polled["labels"]
    expected = Counter(lab.reply_to.lower() for lab in labels if lab.reply_to)
    for address in PROMOTED:
        expected[address] += 1  # the waitlist reply, then the promotion
    expected.update(_notices_to_colleagues(labels))
    assert _replies_by_recipient(polled["sent"]) == expected


def _notices_to_colleagues(labels: list[Label]) -> Counter[str]:
    """A colleague registered with her own address hears of it, and of a cancellation."""
    own: dict[str, str] = {}
    notices: Counter[str] = Counter()
    for lab in labels:
        for person in lab.raw["registers"] or ():
            email = (person.get("email") or "").lower()
            if lab.kind == "registration" and email and email != (lab.reply_to or "").lower():
                own[person["name"]] = email
                notices[email] += 1
            elif lab.kind == "cancellation" and person["name"] in own:
                notices[own[person["name"]]] += 1
    return notices
    for message in polled["sent"]:
        assert len(message.rcpt_tos) == 1


def test_no_reply_to_automatic_thanks_or_internal_mail(polled: dict) -> None:
    silent = {
        (lab.raw["registers"] or [{}])[0].get("email") or lab.file
        for lab in polled["labels"]
        if lab.reply_to is None
    }
    recipients = set(_replies_by_recipient(polled["sent"]))
    senders_of_silent = {
        "mailer-daemon@mail.kreis-wesel.de",
        "birgit.lohmann@essen.de",
        "bernd.koetter@hochsauerlandkreis.de",
        "olaf.schmedding@bottrop.de",
        "wochenbrief@verwaltung-digital-wochenbrief.de",
        "cbartsch@stadtdo.de",
    }
    assert silent  # the corpus has such mail
    assert not recipients & senders_of_silent


def test_replies_are_proper_auto_replies_in_the_thread(polled: dict, corpus_dir: Path) -> None:
    originals = {}
    for label in polled["labels"]:
        message_id = email.message_from_bytes((corpus_dir / label.file).read_bytes())["Message-ID"]
        if message_id:
            originals[message_id.strip()] = label
    for captured in polled["sent"]:
        reply: EmailMessage = captured.message
        assert reply["From"].addresses[0].addr_spec == "smartcity@dortmund.de"
        assert reply["X-Auto-Response-Suppress"] == "All"
        assert reply["Message-ID"].endswith("@smartcity.dortmund.de>")
        body = reply.get_body(preferencelist=("plain",)).get_content()  # beside: .ics
        assert "Rheinlanddamm 200" in body
        assert "5. Dezember 2018" in body or "5 December 2018" in body  # German or English
        if reply["Auto-Submitted"] == "auto-generated":
            # A promotion, or the note to a colleague whom someone else registered.
            assert captured.rcpt_tos[0] in PROMOTED or _is_notice(reply)
            assert reply["In-Reply-To"] is None
            continue
        assert reply["Auto-Submitted"] == "auto-replied"
        assert reply["Subject"].startswith("Re: ")
        in_reply_to = reply["In-Reply-To"]
        if in_reply_to is not None:  # 025 has no Message-ID to refer to
            label = originals[in_reply_to]
            assert captured.rcpt_tos[0].lower() == label.reply_to.lower()
            assert in_reply_to in reply["References"]


def test_first_ten_persons_by_arrival_are_confirmed_and_the_rest_wait_in_order(
    polled: dict,
) -> None:
    attendees = polled["export"]["attendees"]
    confirmed = [a["name"] for a in attendees if a["status"] == "confirmed"]
    waiting = sorted(
        (a for a in attendees if a["status"] == "waitlisted"), key=lambda a: a["waitlist_position"]
    )
    assert sorted(confirmed) == sorted(FINAL_SEATS)
    assert [a["name"] for a in waiting] == FINAL_WAITLIST
    assert [a["waitlist_position"] for a in waiting] == [1, 2, 3, 4]
    seats = [a["seat"] for a in attendees if a["status"] == "confirmed"]
    assert sorted(seats) == list(range(1, 11))
    cancelled = {a["name"] for a in attendees if a["status"] == "cancelled"}
    assert cancelled == {"Arne Vöcking", "Lukas Brenner"}
    late = [a["name"] for a in attendees if a["status"] == "late"]
    assert late == ["Renate Hülsmann"]


def _is_notice(reply: EmailMessage) -> bool:
    return str(reply["Subject"]).startswith(("Sie wurden angemeldet:", "Abmeldung:"))


def test_obermeier_moves_up_first_because_arrival_not_date_header_counts(polled: dict) -> None:
    promotions = [
        m
        for m in polled["sent"]
        if m.message["Auto-Submitted"] == "auto-generated" and not _is_notice(m.message)
    ]
    assert [m.rcpt_tos[0] for m in promotions] == [
        "jens.obermeier@dew21.de",
        "henrike.sasse@kommunen.nrw",
    ]


def test_the_late_registration_gets_the_late_reply(polled: dict) -> None:
    late = [m for m in polled["sent"] if m.rcpt_tos == ("r.huelsmann@schwelm.de",)]
    assert len(late) == 1
    assert "nach dem Anmeldeschluss" in late[0].message.get_content()


def test_originals_are_marked_and_review_mail_stays_unread(
    polled: dict, module_mailbox: Dovecot
) -> None:
    by_uid = {m["uid"]: m["flags"] for m in module_mailbox.messages()}
    uids = polled["uids"]
    for label in polled["labels"]:
        flags = by_uid[uids[label.file]]
        if label.reply_to and not label.raw["has_question"]:
            assert {b"\\Seen", b"\\Answered"} <= flags, label.file
            assert b"\\Flagged" not in flags, label.file
        if label.kind in ("thanks", "other", "bounce") or label.raw["has_question"]:
            assert b"\\Flagged" in flags and b"\\Seen" not in flags, label.file
        if label.kind in ("auto_reply", "read_receipt", "bulk"):
            assert flags == {b"\\Seen"}, label.file


def test_a_second_poll_sends_nothing(
    polled_afresh: dict, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    before = len(smtp_sink.messages)
    result = run_cli("poll", "--config", str(polled_afresh["config"]), imap=mailbox)
    assert "No new mail." in result.stdout
    assert len(smtp_sink.messages) == before


def test_export_agrees_with_what_was_sent(polled: dict) -> None:
    sent_ids = {m.message["Message-ID"] for m in polled["sent"]}
    messages = polled["export"]["messages"]
    assert len(messages) == len(polled["labels"])
    recorded = {m["reply_message_id"] for m in messages if m["reply_message_id"]}
    assert recorded <= sent_ids
    kinds = Counter(m["kind"] for m in messages)
    assert kinds["registration"] == 17  # 16 on time (one a duplicate) + 1 late
    for m in messages:
        assert m["received_at"].endswith("+01:00")


def test_allocation_log_has_one_line_per_mail_with_reasons(polled: dict) -> None:
    log_path = polled["config"].parent / "state" / "allocation-log.jsonl"
    records = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(polled["labels"])
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    obermeier = next(r for r in records if r["sender"] == "jens.obermeier@dew21.de")
    assert obermeier["decision"] == "waitlisted" and obermeier["waitlist_position"] == 1
    assert "Warteliste" in obermeier["reason"]
    cancel = next(
        r
        for r in records
        if r["sender"] == "arne.voecking@hs-bochum.de" and r["kind"] == "cancellation"
    )
    assert [p["name"] for p in cancel["promoted"]] == ["Jens Obermeier"]


def test_dry_run_decides_but_sends_and_changes_nothing(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink, corpus_dir: Path
) -> None:
    config = write_config(tmp_path, mailbox, smtp_sink, capacity=10)
    deliver_corpus(corpus_dir, mailbox)
    result = run_cli("poll", "--dry-run", "--config", str(config), imap=mailbox)
    assert "Dry run" in result.stdout and "waitlisted" in result.stdout
    assert smtp_sink.messages == []
    assert not (tmp_path / "state" / "bot.sqlite3").exists()
    assert all(m["flags"] == set() for m in mailbox.messages())


def test_large_capacity_seats_everyone_and_refuses_the_late_mail(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink, corpus_dir: Path
) -> None:
    config = write_config(tmp_path, mailbox, smtp_sink, capacity=14)
    deliver_corpus(corpus_dir, mailbox)
    run_cli("poll", "--config", str(config), imap=mailbox)
    attendees = json.loads(run_cli("export", "--config", str(config)).stdout)["attendees"]
    statuses = Counter(a["status"] for a in attendees)
    assert statuses == {"confirmed": 14, "cancelled": 2, "late": 1}


def test_status_shows_seats_waitlist_and_review(polled: dict) -> None:
    out = run_cli("status", "--config", str(polled["config"])).stdout
    assert "10 von 10" in out
    assert "Warteliste / waitlist" in out
    lines = {line.split("  ")[0].strip(): line.split()[-1] for line in out.splitlines()}
    assert lines["Warteliste / waitlist"] == "4"


REPLY_WORDS = {
    # label kind -> what the reply must say (German or English)
    "registration": ("Platz", "seat", "Warteliste", "waiting list", "bereits angemeldet"),
    "late_registration": ("Anmeldeschluss", "deadline"),
    "question": ("nicht als Anmeldung", "not take this e-mail as a registration"),
    "cancellation": ("abgemeldet", "cancelled"),
}


def test_each_reply_says_what_the_labels_expect(polled: dict, corpus_dir: Path) -> None:
    """Kind of answer and the persons understood, checked against labels.json."""
    by_message_id = {}
    for label in polled["labels"]:
        message_id = email.message_from_bytes((corpus_dir / label.file).read_bytes())["Message-ID"]
        if message_id:
            by_message_id[message_id.strip()] = label
    checked = 0
    for captured in polled["sent"]:
        reply = captured.message
        label = by_message_id.get(reply["In-Reply-To"]) if reply["In-Reply-To"] else None
        if label is None:
            continue  # promotions and the reply to the mail without Message-ID
        body = reply.get_body(preferencelist=("plain",)).get_content()
        assert any(word in body for word in REPLY_WORDS[label.kind]), (label.file, body)
        for person in label.raw["registers"]:
            assert person["name"] in body, (label.file, person["name"])
        if label.raw["duplicate_of"]:
            assert "bereits angemeldet" in body
        checked += 1
    assert checked == sum(1 for lab in polled["labels"] if lab.reply_to) - 1  # 025: no Message-ID


def test_own_examples_get_exactly_the_replies_their_labels_call_for(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    examples = Path(__file__).parent / "mail"
    config = write_config(tmp_path, mailbox, smtp_sink, capacity=100)
    deliver_corpus(examples, mailbox)
    run_cli("poll", "--config", str(config), imap=mailbox)
    labels = corpus_labels(examples)
    expected = Counter(lab.reply_to.lower() for lab in labels if lab.reply_to)
    expected.update(_notices_to_colleagues(labels))
    assert _replies_by_recipient(smtp_sink.messages) == expected
    flags = {m["uid"]: m["flags"] for m in mailbox.messages()}
    needs_person = [lab for lab in labels if lab.kind in ("thanks", "other", "bounce")]
    flagged = [f for f in flags.values() if b"\\Flagged" in f]
    assert len(flagged) >= len(needs_person)
