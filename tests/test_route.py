"""Routing in a series, pure: which events a mail names (several phrasings, German and
English, for a series that is not the shared examples') and which event it goes to."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbox_bot.core.classify import Context, classify
from inbox_bot.core.classify.event import EventFacts
from inbox_bot.core.classify.naming import named_in
from inbox_bot.core.classify.organizations import load_directory
from inbox_bot.core.model import Intent, Kind, Person
from inbox_bot.core.parse import parse_mail
from inbox_bot.core.route import Signals, Window, route

MOBIL = EventFacts.of(
    key="mobil",
    title="Themenworkshop Mobilitätsdaten und Verkehrsplanung",
    venue="Zeche Zollern, Grubenweg 5, 44388 Dortmund",
    dates=[date(2026, 3, 10), date(2026, 3, 3)],
    keywords=["Mobilität", "Verkehrsplanung", "mobility"],
    start=date(2026, 3, 10),
)
KLIMA = EventFacts.of(
    key="klima",
    title="Themenworkshop Klimamessnetz und Stadtklima",
    venue="Technologiezentrum Dortmund, Emil-Figge-Straße 76, 44227 Dortmund",
    dates=[date(2026, 5, 20), date(2026, 5, 13)],
    keywords=["Klimamessnetz", "Stadtklima", "climate"],
    start=date(2026, 5, 20),
)
OZG = EventFacts.of(
    key="ozg",
    title="Themenworkshop Digitale Verwaltung und OZG",
    venue="Rathaus Unna, Rathausplatz 1, 59423 Unna",
    dates=[date(2026, 9, 17), date(2026, 9, 10)],
    keywords=["OZG", "Onlinezugangsgesetz", "e-government"],
    start=date(2026, 9, 17),
)
SERIES = (MOBIL, KLIMA, OZG)
WINDOWS = (
    Window(key="mobil", label="Mobilität", deadline=datetime(2026, 3, 3, 23, tzinfo=UTC)),
    Window(key="klima", label="Klima", deadline=datetime(2026, 5, 13, 22, tzinfo=UTC)),
    Window(key="ozg", label="OZG", deadline=datetime(2026, 9, 10, 22, tzinfo=UTC)),
)
FEBRUARY = datetime(2026, 2, 10, 9, tzinfo=UTC)  # all three open
JUNE = datetime(2026, 6, 1, 9, tzinfo=UTC)  # only ozg open


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("Anmeldung zum Workshop Mobilitätsdaten", ("mobil",)),
        ("für den Themenworkshop am 20. Mai", ("klima",)),
        ("am 20.05. bin ich dabei", ("klima",)),
        ("in der Zeche Zollern", ("mobil",)),
        ("the e-government workshop in September", ("ozg",)),
        ("zu den Workshops Stadtklima und OZG", ("klima", "ozg")),
        ("für alle drei Themenworkshops", ("mobil", "klima", "ozg")),
        ("I'd like to join all three workshops", ("mobil", "klima", "ozg")),
        ("für den Workshop in Dortmund", ()),  # two are in Dortmund: names none
        ("für den Themenworkshop", ()),
        ("Wir haben offene Fragen zur Planung", ()),  # no title word alone
    ],
)
def test_what_a_text_names(text: str, keys: tuple[str, ...]) -> None:
    assert named_in(text, SERIES) == keys


def _intent(
    kind: Kind = Kind.REGISTRATION, events: tuple[str, ...] = (), *persons: Person
) -> Intent:
    return Intent(kind=kind, persons=persons or (Person(name="Lena Stratmann"),), events=events)


def test_what_the_mail_names_decides() -> None:
    routed = route(_intent(events=("klima",)), WINDOWS, Signals(arrival=FEBRUARY))
    assert [key for key, _ in routed.parts] == ["klima"] and routed.problem is None


def test_naming_nothing_while_several_are_open_goes_to_staff() -> None:
    routed = route(_intent(), WINDOWS, Signals(arrival=FEBRUARY))
    assert routed.parts == () and routed.problem and "Veranstaltung unklar" in routed.problem


def test_naming_nothing_when_only_one_is_open_means_that_one() -> None:
    routed = route(_intent(), WINDOWS, Signals(arrival=JUNE))
    assert [key for key, _ in routed.parts] == ["ozg"]


def test_a_named_closed_event_stays_that_event_even_when_another_is_open() -> None:
    routed = route(_intent(events=("mobil",)), WINDOWS, Signals(arrival=JUNE))
    assert [key for key, _ in routed.parts] == ["mobil"]  # decide() makes it late


def test_a_reply_to_our_mail_about_an_event_goes_there() -> None:
    routed = route(_intent(), WINDOWS, Signals(arrival=FEBRUARY, thread=("klima",)))
    assert [key for key, _ in routed.parts] == ["klima"]


def test_thread_and_text_that_disagree_go_to_staff() -> None:
    routed = route(_intent(events=("ozg",)), WINDOWS, Signals(arrival=FEBRUARY, thread=("klima",)))
    assert routed.problem and "ozg" not in routed.problem.split(":")[0]


def test_a_sub_address_names_the_event() -> None:
    routed = route(_intent(), WINDOWS, Signals(arrival=FEBRUARY, addressed=("mobil",)))
    assert [key for key, _ in routed.parts] == ["mobil"]


def test_each_person_goes_to_her_own_events() -> None:
    persons = (
        Person(name="Nicole Beispiel", events=("mobil",)),
        Person(name="Markus Muster", events=("klima", "ozg")),
    )
    routed = route(_intent(Kind.REGISTRATION, (), *persons), WINDOWS, Signals(arrival=FEBRUARY))
    placed = {key: [p.name for p in people] for key, people in routed.parts}
    assert placed == {
        "mobil": ["Nicole Beispiel"],
        "klima": ["Markus Muster"],
        "ozg": ["Markus Muster"],
    }


def test_a_cancellation_naming_no_event_from_someone_in_one_goes_there() -> None:
    routed = route(
        _intent(Kind.CANCELLATION),
        WINDOWS,
        Signals(arrival=FEBRUARY, registered_in=("klima",)),
    )
    assert [key for key, _ in routed.parts] == ["klima"]


def test_a_cancellation_naming_no_event_from_someone_in_two_goes_to_staff() -> None:
    routed = route(
        _intent(Kind.CANCELLATION),
        WINDOWS,
        Signals(arrival=FEBRUARY, registered_in=("klima", "ozg")),
    )
    assert routed.problem and "Abmeldung" in routed.problem


@given(
    st.lists(st.sampled_from(["mobil", "klima", "ozg"]), unique=True),
    st.sampled_from([FEBRUARY, JUNE]),
)
def test_routing_never_invents_an_event_the_mail_does_not_name(
    named: list[str], arrival: datetime
) -> None:
    routed = route(_intent(events=tuple(named)), WINDOWS, Signals(arrival=arrival))
    keys = {key for key, _ in routed.parts}
    if named:
        assert keys == set(named)
    else:
        assert keys <= {"ozg"}  # only the one open event, or none (staff)
        assert bool(keys) == (arrival == JUNE)


# --------------------------------------------------------------- through the classifier

CTX = Context(
    own_addresses=frozenset({"smartcity@dortmund.de"}),
    message_id_domain="smartcity.dortmund.de",
    internal_domains=frozenset(),
    directory=load_directory(),
    events=SERIES,
)


def _read(body: str, subject: str = "Anmeldung") -> Intent:
    raw = (
        f"From: Lena Stratmann <lena@kreis-unna.de>\r\nTo: smartcity@dortmund.de\r\n"
        f"Subject: {subject}\r\nMessage-ID: <r@x>\r\nContent-Type: text/plain; charset=utf-8"
        f"\r\n\r\n{body}\r\n\r\nMit freundlichen Grüßen\r\nLena Stratmann\r\n"
        "Klimaschutzagentur Unna\r\n"
    ).encode()
    return classify(parse_mail(raw), CTX)


def test_a_signature_full_of_another_event_s_keyword_names_nothing() -> None:
    intent = _read("hiermit melde ich mich zum Workshop Mobilitätsdaten an.")
    assert intent.events == ("mobil",)  # "Klimaschutzagentur" is in the signature


def test_one_person_per_event_in_a_list() -> None:
    body = (
        "ich melde folgende Personen an:\n\n"
        "- Frau Nicole Beispiel (n.beispiel@kreis-unna.de): Stadtklima am 20.05.\n"
        "- ich selbst: OZG am 17.09.2026\n"
    )
    intent = _read(body)
    by_name = {p.name: p.events for p in intent.persons}
    assert by_name == {"Lena Stratmann": ("ozg",), "Nicole Beispiel": ("klima",)}


def test_a_cancellation_names_its_event_not_the_one_kept() -> None:
    body = (
        "für den Workshop Stadtklima am 20. Mai muss ich mich leider abmelden. Meine "
        "Anmeldung für den OZG-Workshop bleibt bestehen."
    )
    intent = _read(body, "Abmeldung")
    assert intent.kind is Kind.CANCELLATION and intent.events == ("klima",)
