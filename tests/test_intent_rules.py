"""The classifier's rule table, rule by rule, in several phrasings each (German formal,
German brief, English), for two different events: nothing may depend on one event's
wording. Each case says what a careful person at the registration desk would decide."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbox_bot.core.classify import Context, classify
from inbox_bot.core.classify.event import EventFacts, dates_in, other_event
from inbox_bot.core.classify.organizations import load_directory
from inbox_bot.core.classify.reading import mark, split
from inbox_bot.core.model import Kind
from inbox_bot.core.parse import parse_mail

AUSTAUSCH = EventFacts.of(
    title="Interkommunaler Austausch",
    venue="Saal 9 und 10, Kongresszentrum Westfalenhallen Dortmund, Rheinlanddamm 200",
    dates=[date(2018, 12, 5), date(2018, 11, 23)],
)
WERKSTATT = EventFacts.of(
    title="Werkstatt Klimaanpassung in der Stadtplanung",
    venue="Zeche Hannover, Günnigfelder Straße 251, 44793 Bochum",
    dates=[date(2025, 3, 13), date(2025, 3, 6)],
)


def context(event: EventFacts) -> Context:
    return Context(
        own_addresses=frozenset({"smartcity@dortmund.de"}),
        message_id_domain="smartcity.dortmund.de",
        internal_domains=frozenset({"stadtdo.de"}),
        directory=load_directory(),
        events=(event,),
    )


def read(
    body: str, subject: str = "Veranstaltung", event: EventFacts = AUSTAUSCH
) -> tuple[Kind, str]:
    raw = (
        f"From: Anna Schulz <anna.schulz@unna.de>\r\nTo: smartcity@dortmund.de\r\n"
        f"Subject: {subject}\r\nMessage-ID: <t@unna.de>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"Guten Tag,\r\n\r\n{body}\r\n\r\nMit freundlichen Grüßen\r\nAnna Schulz\r\nStadt Unna\r\n"
    ).encode()
    intent = classify(parse_mail(raw), context(event))
    return intent.kind, intent.evidence.split(":", 1)[0]


REGISTRATIONS = [
    "hiermit melde ich mich verbindlich zur Veranstaltung an.",
    "Ich möchte mich gerne für den Termin anmelden.",
    "Bitte melden Sie mich an.",
    "Gerne nehme ich teil.",
    "ich würd mich gern anmelden",
    "Wir kommen gerne zu zweit: Herr Jonas Brandt und ich.",
    "Bitte tragen Sie mich in die Teilnehmerliste ein.",
    "Ich werde an der Veranstaltung teilnehmen.",
    "Falls noch ein Platz frei ist, würde ich sehr gerne teilnehmen.",
    "Ich wollte sichergehen, dass meine Anmeldung ankam – falls nicht, melde ich mich "
    "hiermit erneut an.",
    "Please register me for the event.",
    "I would like to sign up for the event.",
    "I'd love to attend.",
    "I would be grateful if you could add me to the list of participants.",
]


@pytest.mark.parametrize("body", REGISTRATIONS)
@pytest.mark.parametrize("event", [AUSTAUSCH, WERKSTATT], ids=["austausch", "werkstatt"])
def test_firm_registrations(body: str, event: EventFacts) -> None:
    assert read(body, event=event) == (Kind.REGISTRATION, "registration")


CONDITIONAL = [
    "ich würde mich gerne anmelden, sofern die Veranstaltung auch für Unternehmen offen ist.",
    "Bevor ich mich verbindlich anmelde: ist die Teilnahme kostenfrei?",
    "Wir überlegen, mit zwei Personen zu kommen, und entscheiden nächste Woche.",
    "Je nach Programm würde ich teilnehmen.",
    "Muss ich mich extra anmelden, wenn ich nur die erste Stunde komme?",
    "Ist eine Anmeldung noch möglich?",
    "I'd register if there is room in the programme for a short pitch.",
    "Is there a registration form, or do I sign up by e-mail?",
]


@pytest.mark.parametrize("body", CONDITIONAL)
def test_conditional_or_asked_registrations_register_nobody(body: str) -> None:
    kind, rule = read(body)
    assert kind is Kind.QUESTION and rule in ("conditional", "question")


@pytest.mark.parametrize(
    ("body", "kind", "rule"),
    [
        ("Leider muss ich meine Anmeldung absagen.", Kind.CANCELLATION, "cancellation"),
        ("Ich muss meine Anmeldung leider zurueckziehen.", Kind.CANCELLATION, "cancellation"),
        ("ich kann am Termin leider doch nicht.", Kind.CANCELLATION, "cancellation"),
        ("Unfortunately I won't be able to attend.", Kind.CANCELLATION, "cancellation"),
        ("Vielen Dank für die Bestätigung, der Termin ist notiert.", Kind.THANKS, "thanks"),
        ("Thanks for the confirmation, looking forward to it!", Kind.THANKS, "thanks"),
        ("Kurze Info: ich komme etwas später, gegen 11 Uhr.", Kind.OTHER, "information"),
        ("Ich esse vegetarisch.", Kind.OTHER, "information"),
        ("Just to let you know: I will have to leave early.", Kind.OTHER, "information"),
        ("Bitte nehmen Sie mich in Ihren Verteiler auf.", Kind.OTHER, "mailing list"),
        ("Please add me to your mailing list for future events.", Kind.OTHER, "mailing list"),
        ("Gibt es vor Ort WLAN für Gäste?", Kind.QUESTION, "question"),
        ("Wo kann ich parken? Gibt es Parkplätze am Haus?", Kind.QUESTION, "question"),
        ("Werden die Folien danach verschickt?", Kind.QUESTION, "question"),
        ("Wir kommen mit ein paar Kollegen.", Kind.OTHER, "vague count"),
        ("Wir kommen mit zwei, eventuell auch drei Personen.", Kind.OTHER, "vague count"),
        ("An meiner Stelle kommt meine Kollegin Nina Brüggemann.", Kind.OTHER, "substitute"),
    ],
)
def test_each_rule(body: str, kind: Kind, rule: str) -> None:
    assert read(body) == (kind, rule)


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        (
            "hiermit melde ich mich zum Netzwerktreffen „Breitband Westfalen“ am 27.11.2018 an.",
            "Anmeldung Netzwerktreffen",
        ),
        ("hiermit melde ich mich für die Fachkonferenz am 12.12. in Essen an.", "Anmeldung"),
        (
            "please register me for the Civic Hackathon on Saturday, 1 December 2018.",
            "Registration",
        ),
    ],
)
def test_a_registration_for_another_event_goes_to_staff(body: str, subject: str) -> None:
    assert read(body, subject) == (Kind.OTHER, "other event")


def test_the_same_registration_names_our_date_and_is_ours() -> None:
    body = "hiermit melde ich mich für den Austausch am 5.12. an."
    assert read(body) == (Kind.REGISTRATION, "registration")
    # ... and for the workshop, its own date is ours and the 2018 one is another event's
    workshop = "hiermit melde ich mich für die Werkstatt am 13. März an."
    assert read(workshop, event=WERKSTATT) == (Kind.REGISTRATION, "registration")
    assert read("hiermit melde ich mich zum Treffen am 5.12. an.", event=WERKSTATT)[0] is Kind.OTHER


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("am 5.12. um 10 Uhr", [(12, 5, None)]),
        ("am 05.12.2018", [(12, 5, 2018)]),
        ("Mittwoch, 5. Dezember 2018", [(12, 5, 2018)]),
        ("on 5 December", [(12, 5, None)]),
        ("on December 5th, 2018", [(12, 5, 2018)]),
        ("2025-03-13", [(3, 13, 2025)]),
        ("um 13.00 Uhr, Raum 1.2", []),
    ],
)
def test_dates_as_people_write_them(text: str, found: list[tuple[int, int, int | None]]) -> None:
    assert dates_in(text) == found


def test_another_event_needs_something_of_another_event_and_nothing_of_ours() -> None:
    assert other_event("Anmeldung zum Workshop am 1.4.", [AUSTAUSCH]) is not None
    assert other_event("Anmeldung zum Interkommunalen Austausch am 1.4.", [AUSTAUSCH]) is None
    assert other_event("Anmeldung", [AUSTAUSCH]) is None


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("Bitte für Mi. 5.12. vormerken.", 1),
        ("Herrn Dipl.-Ing. Hans Pieper bitte anmelden. Danke!", 2),
        ("Erreichbar unter a.b@c.de. Geht das?", 2),
        ("Gruß J. Meier", 1),
    ],
)
def test_sentences_end_where_sentences_end(text: str, pieces: int) -> None:
    assert len(split(text)) == pieces


@given(st.text(max_size=400))
def test_marking_never_fails_and_keeps_the_text(text: str) -> None:
    for piece in split(text):
        assert mark(piece).text == piece
