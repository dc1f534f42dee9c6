"""Whom a mail registers or cancels, and for which organisation, in several phrasings each:
assistants for their principals, co-founders in prose, a first name in a cancellation
that keeps the sender registered, organisations from signature lines of every shape.

Each case is what a careful person at the desk would write on the attendee list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from inbox_bot.core.allocate import AllocationState, Outcome, Request, apply, decide
from inbox_bot.core.classify import Context, classify
from inbox_bot.core.classify.event import EventFacts
from inbox_bot.core.classify.organizations import load_directory
from inbox_bot.core.model import Kind
from inbox_bot.core.parse import parse_mail

EVENT = EventFacts.of(title="Themenwerkstatt Wärmeplanung", venue="Rathaus Hamm", dates=[])
CTX = Context(
    own_addresses=frozenset({"smartcity@dortmund.de"}),
    message_id_domain="smartcity.dortmund.de",
    internal_domains=frozenset(),
    directory=load_directory(),
    events=(EVENT,),
)


def mail(body: str, sender: str = "Lena Stratmann <l.stratmann@beispiel-planung.de>") -> bytes:
    return (
        f"From: {sender}\r\nTo: smartcity@dortmund.de\r\nSubject: Themenwerkstatt\r\n"
        f"Message-ID: <w@example.org>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}\r\n"
    ).encode()


def registered(body: str, sender: str | None = None) -> list[str]:
    raw = mail(body, sender) if sender else mail(body)
    intent = classify(parse_mail(raw), CTX)
    assert intent.kind is Kind.REGISTRATION, intent
    return [p.name for p in intent.persons]


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (
            "im Auftrag unseres Ersten Beigeordneten und Stadtkämmerers, Herrn Dr. rer. pol. "
            "Bernd Wiesmann, melde ich ihn verbindlich an.\n\ni. A. Lena Stratmann",
            ["Bernd Wiesmann"],
        ),
        (
            "on behalf of Prof. Dr. Helen Marsh, Dean of the Faculty of Engineering, I would "
            "like to register her for the workshop.\n\nKind regards\nLena Stratmann",
            ["Helen Marsh"],
        ),
        (
            "Im Auftrag von Frau Bürgermeisterin Dr. Petra Kohlhaas melde ich sie hiermit "
            "an.\n\nMit freundlichen Grüßen\nLena Stratmann",
            ["Petra Kohlhaas"],
        ),
        (
            "wir melden uns an: ich und mein Mitgründer Jonas Ebbinghaus.\n\nBeste Grüße\n"
            "Lena Stratmann",
            ["Lena Stratmann", "Jonas Ebbinghaus"],
        ),
        (
            "I would like to register for the workshop, together with my colleague Bas "
            "Dekker from our mobility team.\n\nKind regards\nLena Stratmann",
            ["Lena Stratmann", "Bas Dekker"],
        ),
        (
            "Please register me, and my co-founder Priya Raman will join as well.\n\n"
            "Best\nLena Stratmann",
            ["Lena Stratmann", "Priya Raman"],
        ),
    ],
)
def test_principals_and_colleagues_in_prose(body: str, names: list[str]) -> None:
    assert registered(body) == names


def test_an_office_on_whose_behalf_a_mailbox_writes_is_no_person() -> None:
    body = (
        "im Auftrag des Fachdienstes Umwelt melden wir Herrn Tobias Kemper an.\n\n"
        "Mit freundlichen Grüßen\nIm Auftrag\n\nPoststelle\nKreis Unna"
    )
    assert registered(body, "Poststelle Kreis Unna <poststelle@kreis-unna.de>") == ["Tobias Kemper"]


@pytest.mark.parametrize(
    "body",
    [
        "Ich bitte Sie, meine Mitarbeiterin Frau Vieth anzumelden. Ich selbst kann an dem "
        "Termin leider nicht teilnehmen.",
        "Bitte melden Sie Frau Vieth aus meinem Team an. Ich selbst bin leider verhindert.",
        "Please register my colleague Ms Vieth. I myself cannot attend, unfortunately.",
    ],
)
def test_asking_to_register_an_employee_while_not_coming_oneself(body: str) -> None:
    assert registered(body + "\n\nMit freundlichen Grüßen\nLena Stratmann") == ["Vieth"]


def test_registering_someone_and_declining_in_one_sentence_goes_to_staff() -> None:
    body = "bitte melden Sie Frau Vieth an, ich selbst kann leider nicht dabei sein."
    intent = classify(parse_mail(mail(body + "\n\nGruß\nLena Stratmann")), CTX)
    assert intent.review_reasons and not intent.persons


# ------------------------------------------------------------ a first name in a cancellation

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2027, 10, 1, 8, 0, tzinfo=UTC)
SENDER = "carla@datenhain.example"


def request(uid: int, body: str) -> Request:
    raw = mail(body + "\n\nBeste Grüße\nCarla", f"Carla Reuschenbach <{SENDER}>")
    return Request(
        message_key=f"m{uid}",
        uid=uid,
        arrival=T0 + timedelta(hours=uid),
        sender=SENDER,
        contact=SENDER,
        intent=classify(parse_mail(raw), CTX),
    )


def start() -> AllocationState:
    state = AllocationState(
        capacity=10,
        deadline=datetime(2027, 11, 9, 23, 59, 59, tzinfo=BERLIN),
        event_start=datetime(2027, 11, 16, 9, 0, tzinfo=BERLIN),
    )
    first = request(1, "wir melden uns an: ich und mein Mitgründer Jannik Vogt.")
    return apply(state, decide(state, first))


@pytest.mark.parametrize(
    "body",
    [
        "kleine Änderung: Jannik muss leider passen, er ist auf einer Messe. Ich komme aber.",
        "Jannik kann leider nicht teilnehmen, ich bleibe angemeldet.",
        "Leider muss Jannik absagen – ich selbst komme wie geplant.",
    ],
)
def test_a_colleague_named_by_first_name_is_cancelled_and_the_sender_stays(body: str) -> None:
    state = start()
    decision = decide(state, request(2, body))
    assert decision.outcome is Outcome.CANCELLED
    after = apply(state, decision)
    active = sorted(a.name for a in after.attendees.values() if a.active)
    assert active == ["Carla Reuschenbach"]
    assert [p.attendee.name for p in decision.staying] == ["Carla Reuschenbach"]


@pytest.mark.parametrize(
    "body", ["Leider muss ich absagen.", "Leider kann ich nun doch nicht kommen."]
)
def test_leider_at_the_start_is_no_first_name(body: str) -> None:
    state = start()
    after = apply(state, decide(state, request(2, body)))
    assert sorted(a.name for a in after.attendees.values() if a.active) == ["Jannik Vogt"]


# ------------------------------------------------------------ organisations from signatures


@pytest.mark.parametrize(
    ("signature", "organization"),
    [
        ("Mit freundlichen Grüßen\nLena Stratmann\nGemeente Venlo", "Gemeente Venlo"),
        (
            "Kind regards\nLena Stratmann\nResearch Fellow\nInstitut für Raum, Umwelt, Energie "
            "gGmbH\nDöppersberg 19",
            "Institut für Raum, Umwelt, Energie gGmbH",
        ),
        (
            "Viele Grüße\nLena Stratmann\nLandschaftsarchitektin\nGrünplan Stratmann "
            "PartGmbB\nRüttenscheider Straße 1",
            "Grünplan Stratmann PartGmbB",
        ),
        ("Thanks,\nLena Stratmann\nChair of Urban Informatics, Universität Siegen", None),
        (
            "Best\nLena Stratmann\nStratmann Mobility Consulting\nHamm",
            "Stratmann Mobility Consulting",
        ),
        # no closing formula at all: the last lines are the signature
        ("Lena Stratmann\nWissenschaftliche Mitarbeiterin\nHochschule Hamm-Lippstadt", None),
    ],
)
def test_organisation_from_signature_lines(signature: str, organization: str | None) -> None:
    body = f"hiermit melde ich mich zur Themenwerkstatt an.\n\n{signature}"
    intent = classify(parse_mail(mail(body, "Lena Stratmann <lena.s@gmail.com>")), CTX)
    expected = organization or signature.rsplit("\n", 1)[-1].split(", ")[-1]
    assert [p.organization for p in intent.persons] == [expected]


# ------------------------------------------------------------ more kinds, seen on a third set


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (
            "ich melde mich an. Mit mir kommt unser Amtsleiter Herr Reinhold Becker.\n\nGruß\n"
            "Lena Stratmann",
            ["Lena Stratmann", "Reinhold Becker"],
        ),
        (
            "hiermit melde ich mich an, zusammen mit meinem Kollegen Kai Brandt.\n\nGruß\n"
            "Lena Stratmann",
            ["Lena Stratmann", "Kai Brandt"],
        ),
        (
            "wir melden uns zu dritt an:\n\nName\nBereich\nE-Mail\nLena Stratmann\nPlanung\n"
            "l.stratmann@beispiel-planung.de\nDr. Sevgi Aksoy\nDaten\ns.aksoy@beispiel-planung.de\n"
            "Maik Terhorst\nBetrieb\nm.terhorst@beispiel-planung.de\n\nGruß\nLena Stratmann",
            ["Lena Stratmann", "Sevgi Aksoy", "Maik Terhorst"],
        ),
    ],
)
def test_colleagues_in_every_case_and_tables_cell_by_cell(body: str, names: list[str]) -> None:
    assert registered(body) == names


def test_reply_to_an_office_mailbox_registers_the_person_named_in_the_text() -> None:
    raw = (
        "From: Sabine Terlinden <s.terlinden@castrop-rauxel.de>\r\n"
        "Reply-To: Buero des Buergermeisters <buergermeisterbuero@castrop-rauxel.de>\r\n"
        "To: smartcity@dortmund.de\r\nSubject: Anmeldung\r\nMessage-ID: <b@x>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Herr Bürgermeister Hartmut Wiegand nimmt gern teil. Hiermit melde ich ihn an.\r\n\r\n"
        "Mit freundlichen Grüßen\r\nSabine Terlinden\r\n"
    ).encode()
    intent = classify(parse_mail(raw), CTX)
    assert [p.name for p in intent.persons] == ["Hartmut Wiegand"]


@pytest.mark.parametrize(
    "body",
    [
        "Herr Yilmaz und ich kommen mit dem Auto. Kann man vor Ort parken?",
        "We will come by car: is there parking for guests?",
    ],
)
def test_how_registered_people_travel_is_no_new_registration(body: str) -> None:
    intent = classify(parse_mail(mail(f"{body}\n\nGruß\nLena Stratmann")), CTX)
    assert intent.kind is Kind.QUESTION


@pytest.mark.parametrize(
    ("body", "cancelled"),
    [
        (
            "sodass ich leider nicht teilnehmen kann. Bitte streichen Sie mich; Frau Dr. "
            "Aksoy und Herr Terhorst kommen wie vorgesehen.",
            ["Lena Stratmann"],
        ),
        (
            "Frau Dr. Aksoy kann leider doch nicht teilnehmen; bitte streichen Sie sie. Herr "
            "Terhorst und ich kommen wie geplant.",
            ["Aksoy"],
        ),
        (
            "Tobias Reinke can't come after all. Please cancel his seat – I will still attend.",
            ["Tobias Reinke"],
        ),
    ],
)
def test_only_the_clauses_that_cancel_name_whom(body: str, cancelled: list[str]) -> None:
    intent = classify(parse_mail(mail(f"Hallo,\n\n{body}\n\nGruß\nLena Stratmann")), CTX)
    assert intent.kind is Kind.CANCELLATION
    assert [p.name for p in intent.persons] == cancelled


@pytest.mark.parametrize(
    "body",
    [
        "Am 16. November habe ich eine Sitzung, sodass ich nicht nach Hamm kommen kann.",
        "Leider werde ich an dem Tag nicht dabei sein können.",
    ],
)
def test_a_decline_with_the_verb_at_the_end_is_a_decline(body: str) -> None:
    intent = classify(parse_mail(mail(f"Hallo,\n\n{body}\n\nGruß\nLena Stratmann")), CTX)
    assert intent.kind is Kind.CANCELLATION


def test_a_decline_for_someone_registered_by_a_colleague_names_her_for_staff() -> None:
    state = start()
    raw = mail(
        "Jannik kann leider nicht.\n\nGruß\nJannik Vogt", "Jannik Vogt <jv@datenhain.example>"
    )
    request = Request(
        message_key="m9",
        uid=9,
        arrival=T0 + timedelta(hours=9),
        sender="jv@datenhain.example",
        contact="jv@datenhain.example",
        intent=classify(parse_mail(raw), CTX),
    )
    decision = decide(state, request)
    assert decision.outcome is Outcome.REVIEW
    reason = " ".join(decision.reasons)
    assert "Jannik Vogt (angemeldet von carla@datenhain.example)" in reason
