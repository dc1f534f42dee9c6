"""Reply mails: the right headers, clean subjects, and staff-edited templates."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from inbox_bot.config import settings_from_mapping
from inbox_bot.core.allocate import Decision, Outcome, Placement, Request
from inbox_bot.core.model import Attendee, Intent, Kind, Person, ReplyKind, Status
from inbox_bot.core.render import Original, Renderer, reply_subject
from inbox_bot.errors import TemplateError

ARRIVAL = datetime(2018, 11, 6, 8, 5, 12, tzinfo=UTC)


def _settings(tmp_path: Path, folder: str | None = None):  # type: ignore[no-untyped-def]
    raw = {
        "imap": {"host": "imap.example.org", "security": "ssl"},
        "smtp": {
            "host": "smtp.example.org",
            "security": "ssl",
            "from_address": "smartcity@dortmund.de",
            "from_name": "Allianz Smart City",
        },
        "event": {
            "title": "Interkommunaler Austausch",
            "organizer": "Allianz Smart City Dortmund",
            "starts_at": "2018-12-05T10:00:00+01:00",
            "ends_at": "2018-12-05T13:00:00+01:00",
            "venue": "Rheinlanddamm 200",
            "capacity": 10,
            "registration_deadline": "2018-11-23T23:59:59+01:00",
        },
    }
    if folder:
        raw["templates"] = {"folder": folder}
    return settings_from_mapping(raw, base=tmp_path, environ={})


def _decision(name: str = "Jürgen Müller") -> tuple[Decision, Request]:
    attendee = Attendee(
        id="k#0",
        name=name,
        email="j.mueller@unna.de",
        organization="Stadt Unna",
        contact="j.mueller@unna.de",
        status=Status.CONFIRMED,
        seat=3,
        arrival=ARRIVAL,
        uid=4,
        index=0,
        message_key="k",
    )
    request = Request(
        message_key="k",
        uid=4,
        arrival=ARRIVAL,
        sender="j.mueller@unna.de",
        contact="j.mueller@unna.de",
        intent=Intent(kind=Kind.REGISTRATION, persons=(Person(name=name),)),
    )
    decision = Decision(
        outcome=Outcome.CONFIRMED,
        reply=ReplyKind.ACCEPTANCE,
        placements=(Placement(attendee=attendee),),
        changes=(attendee,),
    )
    return decision, request


def test_reply_headers_thread_and_mark_it_automatic(tmp_path: Path) -> None:
    decision, request = _decision()
    original = Original(message_id="<a@unna.de>", subject="AW: Anmeldung", references=("<x@y>",))
    [row] = Renderer(_settings(tmp_path)).replies(decision, request, original, ARRIVAL)
    mail = message_from_bytes(row.data, policy=policy.default)
    assert mail["To"] == "j.mueller@unna.de" and row.recipient == "j.mueller@unna.de"
    assert mail["Subject"] == "Re: Anmeldung"
    assert mail["In-Reply-To"] == "<a@unna.de>"
    assert mail["References"] == "<x@y> <a@unna.de>"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["X-Auto-Response-Suppress"] == "All"
    assert mail["Message-ID"] == row.message_id and row.message_id.endswith("@dortmund.de>")
    body = mail.get_body(preferencelist=("plain",)).get_content()  # beside it: the .ics
    assert "Jürgen Müller (Stadt Unna): Platz 3 von 10" in body
    assert "6. November 2018 um 09:05:12 Uhr" in body  # Berlin time, not UTC


@pytest.mark.parametrize(
    "subject",
    ["Anmeldung\r\nBcc: victim@example.org", "=?utf-8?q?x=0ABcc:_a@b?=", "A\nB\x00C"],
)
def test_subjects_with_line_breaks_cannot_add_headers(tmp_path: Path, subject: str) -> None:
    decision, request = _decision()
    [row] = Renderer(_settings(tmp_path)).replies(
        decision, request, Original(message_id=None, subject=subject), ARRIVAL
    )
    headers = row.data.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc" not in headers and b"\x00" not in headers
    assert reply_subject(subject, "de").count("\n") == 0


def test_a_name_cannot_smuggle_a_recipient(tmp_path: Path) -> None:
    decision, request = _decision(name="Eve\r\nBcc: x@evil.example")
    [row] = Renderer(_settings(tmp_path)).replies(
        decision, request, Original(message_id=None, subject="Anmeldung"), ARRIVAL
    )
    headers = row.data.split(b"\r\n\r\n", 1)[0].decode()
    assert "evil" not in headers
    assert row.recipient == "j.mueller@unna.de"


def test_staff_template_folder_overrides_one_template(tmp_path: Path) -> None:
    custom = tmp_path / "staff"
    (custom / "de").mkdir(parents=True)
    (custom / "de" / "acceptance.txt").write_text(
        "Hallo {{ persons[0].name }}, Sie sind dabei.\n", encoding="utf-8"
    )
    decision, request = _decision()
    renderer = Renderer(_settings(tmp_path, folder="staff"))
    [row] = renderer.replies(decision, request, Original(message_id=None, subject="x"), ARRIVAL)
    mail = message_from_bytes(row.data, policy=policy.default)
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert body.replace("\r\n", "\n") == "Hallo Jürgen Müller, Sie sind dabei.\n"
    # Templates not copied by staff still come from the defaults.
    assert "Warteliste" in renderer.body(
        ReplyKind.WAITLIST, "de", renderer.context((), "de", arrival=ARRIVAL)
    )


def test_a_broken_staff_template_is_a_template_error(tmp_path: Path) -> None:
    custom = tmp_path / "staff" / "de"
    custom.mkdir(parents=True)
    (custom / "acceptance.txt").write_text("{{ no_such_value }}", encoding="utf-8")
    decision, request = _decision()
    with pytest.raises(TemplateError, match="acceptance"):
        Renderer(_settings(tmp_path, folder="staff")).replies(
            decision, request, Original(message_id=None, subject="x"), ARRIVAL
        )


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("language", ["de", "en"])
def test_every_reply_kind_ends_with_the_privacy_line(tmp_path: Path, language: str) -> None:
    decision, _ = _decision()
    renderer = Renderer(_settings(tmp_path))
    context = renderer.context(decision.placements, language, arrival=ARRIVAL)
    line = (
        "Datenschutz: Wir verwenden Ihre Angaben nur für die Organisation dieser "
        "Veranstaltung und löschen sie 30 Tage nach der Veranstaltung."
        if language == "de"
        else "Privacy: we use your details only to organise this event and delete them "
        "30 days after the event."
    )
    for kind in ReplyKind:
        body = renderer.body(kind, language, context)
        assert line in _flat(body), kind
        assert _flat(body).endswith(line), kind  # the last words of every reply


def test_the_privacy_line_and_retention_are_configurable(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings = settings.model_copy(
        update={
            "privacy": settings.privacy.model_copy(
                update={
                    "notice": "Löschung {retention_days} Tage danach {keine Formatierung}.",
                    "retention_days": 14,
                }
            )
        }
    )
    decision, request = _decision()
    [row] = Renderer(settings).replies(
        decision, request, Original(message_id=None, subject="x"), ARRIVAL
    )
    mail = message_from_bytes(row.data, policy=policy.default)
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Löschung 14 Tage danach {keine Formatierung}." in _flat(body)
    # English replies keep the English default with the same number of days.
    en = Renderer(settings).body(
        ReplyKind.WAITLIST, "en", Renderer(settings).context((), "en", arrival=ARRIVAL)
    )
    assert "delete them 14 days after the event." in _flat(en)
