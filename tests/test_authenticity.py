"""Only what our own border server vouches for counts (RFC 8601): the topmost
Authentication-Results fields with our authserv-id decide pass, fail or unknown; a
forged From that our server marked dmarc=fail cancels nobody, takes no seat and gets
no mail; a reply to our own mail still cancels by its token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import World, cancellation, log_records, open_world, registration

from inbox_bot.core.authenticity import Verdict, judge

OURS = frozenset({"mx.dortmund.de"})
EXCHANGE = (
    "spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=hamm.de; dkim=none (message not "
    "signed) header.d=none;dmarc=fail action=oreject header.from=hamm.de;compauth=fail "
    "reason=000"
)


@pytest.mark.parametrize(
    ("fields", "exchange", "expected"),
    [
        (
            ("mx.dortmund.de; spf=pass smtp.mailfrom=hamm.de; dmarc=pass header.from=hamm.de",),
            False,
            "pass",
        ),
        (
            ("mx.dortmund.de 1; dkim=pass header.d=hamm.de; dmarc=fail header.from=hamm.de",),
            False,
            "fail",
        ),
        (("MX.Dortmund.DE; dmarc=pass (p=none) header.from=unna.de",), False, "pass"),
        (("mx.dortmund.de; none",), False, "unknown"),
        (("mx.dortmund.de; dmarc=temperror header.from=hamm.de",), False, "unknown"),
        ((), False, "unknown"),
        # A field the sender wrote below ours, or one of another server, never counts.
        (
            (
                "mx.dortmund.de; dmarc=fail header.from=hamm.de",
                "mx.dortmund.de; dmarc=pass header.from=hamm.de",
            ),
            False,
            "fail",
        ),
        (("mx.example.net; dmarc=pass", "mx.dortmund.de; dmarc=pass"), False, "unknown"),
        (("evil.example; dmarc=pass header.from=hamm.de",), False, "unknown"),
        # Exchange Online's form has no authserv-id: trusted only when configured.
        ((EXCHANGE,), True, "fail"),
        ((EXCHANGE,), False, "unknown"),
        (
            (
                "spf=pass smtp.mailfrom=unna.de; dkim=pass header.d=unna.de;dmarc=pass "
                "action=none header.from=unna.de;compauth=pass reason=100",
            ),
            True,
            "pass",
        ),
    ],
)
def test_the_verdict_is_our_servers(fields: tuple[str, ...], exchange: bool, expected: str) -> None:
    assert judge(fields, OURS, exchange_online=exchange).verdict == Verdict(expected)


def test_nothing_configured_is_unknown_whatever_the_mail_says() -> None:
    assert judge(("mx.dortmund.de; dmarc=fail",), frozenset()).verdict is Verdict.UNKNOWN


def stamped(result: str, raw: bytes) -> bytes:
    """The mail as our border server hands it on: its field on top."""
    field = f"Authentication-Results: mx.dortmund.de; dmarc={result} header.from=hamm.de\r\n"
    return field.encode() + raw


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = open_world(tmp_path, authenticity={"trusted_authserv_ids": ["mx.dortmund.de"]})
    yield made
    made.close()


VERA = "vera.voss@stadt-hamm.de"


def test_a_vouched_registration_is_answered_and_recorded_as_pass(world: World) -> None:
    world.mailbox.deliver(stamped("pass", registration(VERA, "Vera Voss")))
    world.poll()
    assert [s.recipient for s in world.mailer.sent] == [VERA]
    assert log_records(world.store)[-1]["authenticity"] == "pass"


def test_a_registration_our_server_calls_forged_takes_no_seat_and_gets_no_mail(
    world: World,
) -> None:
    world.mailbox.deliver(stamped("fail", registration(VERA, "Vera Voss")))
    world.poll()
    assert world.mailer.sent == []
    assert world.store.attendees() == []
    [entry] = world.store.review_queue()
    assert "Absender nicht bestätigt" in entry.review_reason
    assert "dmarc=fail (mx.dortmund.de)" in entry.review_reason
    assert log_records(world.store)[-1]["authenticity"] == "fail"


def test_a_forged_cancellation_cancels_nobody(world: World) -> None:
    world.mailbox.deliver(stamped("pass", registration(VERA, "Vera Voss")))
    world.poll()
    # From: Vera, but not sent by her: our server says dmarc=fail.
    world.mailbox.deliver(stamped("fail", cancellation(VERA, "Vera Voss")))
    world.poll()
    [vera] = world.store.attendees()
    assert str(vera.status) == "confirmed"
    assert len(world.mailer.sent) == 1  # only the acceptance; nothing to the forged From
    assert any("Absender nicht bestätigt" in r.review_reason for r in world.store.review_queue())


def test_a_reply_to_our_own_mail_still_cancels_by_its_token_but_gets_no_reply(
    world: World,
) -> None:
    world.mailbox.deliver(stamped("pass", registration(VERA, "Vera Voss")))
    world.poll()
    acceptance = world.mailer.sent[0].message_id
    world.mailbox.deliver(stamped("fail", cancellation(VERA, "Vera Voss", in_reply_to=acceptance)))
    world.poll()
    [vera] = world.store.attendees()
    assert str(vera.status) == "cancelled"
    record = log_records(world.store)[-1]
    assert record["decision"] == "cancelled" and record["needs_review"]
    # No confirmation to the From; only the note to the person's own address.
    kinds = [s.message["Subject"] for s in world.mailer.sent[1:]]
    assert all("Re:" not in str(k) for k in kinds)


def test_the_staff_report_counts_what_our_server_said(world: World) -> None:
    from datetime import UTC, datetime

    from inbox_bot.ui.report import report_context

    world.mailbox.deliver(stamped("pass", registration(VERA, "Vera Voss")))
    world.mailbox.deliver(stamped("fail", registration("jan@unna.de", "Jan Albers")))
    world.poll()
    page = report_context(world.deps.settings, world.store, datetime(2018, 11, 7, tzinfo=UTC))
    [line] = [n for n in page["notices"] if n.startswith("Absenderprüfung")]
    assert "1 bestätigt (pass), 1 gefälscht (fail), 0 ohne Aussage" in line
