"""Our own words coming back (inbox_bot/echo.py): an echo of our mail is never read as
the sender's, and the sender's own words are never taken for an echo."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbox_bot.core.classify.echo import MIN_CHARS, OwnWords, normalise, own_words
from inbox_bot.core.render import default_template_folder

SOURCES = [p.read_text(encoding="utf-8") for p in default_template_folder().rglob("*.txt")]
OURS = own_words(SOURCES)

# The acceptance as it arrives (lines wrapped by us), with our values filled in.
ACCEPTANCE = """Guten Tag,

vielen Dank für Ihre Anmeldung.
Ihre E-Mail ist bei uns eingegangen am: 6. November 2018 um 10:00:00 Uhr
So haben wir sie verstanden:

- Vera Voss: Platz 1 von 40 ist für Sie reserviert

Ihre Teilnahme ist damit bestätigt. Wenn Sie doch nicht kommen können, antworten Sie
bitte kurz auf diese E-Mail, damit eine Person von der Warteliste nachrücken kann.

Die Veranstaltung:
Interkommunaler Austausch
Mittwoch, 5. Dezember 2018, 10:00–13:00 Uhr

So vergeben wir die Plätze: Die Plätze sind begrenzt. Sie werden in der Reihenfolge
vergeben, in der die Anmeldungen bei unserem Mailserver eingehen, bis zum
Anmeldeschluss am Freitag, 23. November 2018.
Wird ein Platz frei, rückt die erste Person der Warteliste nach und erhält eine
Nachricht.

Dies ist eine automatisch erstellte Antwort. Bei Fragen schreiben Sie uns einfach an:
smartcity@dortmund.de
"""
REMINDER_EN = """Hello,

If you cannot come after all, please reply briefly to this e-mail (for example "I
have to cancel"). We will then give your seat to the next person on the waiting list.
"""


def stripped(text: str) -> str:
    return OURS.strip(text)


@pytest.mark.parametrize(
    "echo",
    [
        ACCEPTANCE,  # pasted as it came
        "\n".join("> " + line for line in ACCEPTANCE.splitlines()),  # quoted
        textwrap.fill(ACCEPTANCE.split("Ihre Teilnahme")[1], 60),  # re-wrapped narrower
        " ".join(ACCEPTANCE.split("Ihre Teilnahme")[1].splitlines()),  # one long line
    ],
    ids=["pasted", "quoted", "rewrapped", "one-line"],
)
def test_an_echo_of_our_acceptance_loses_its_cancellation_words(echo: str) -> None:
    text = stripped("Ich bin bis 20.11. nicht im Büro.\n\nIhre Nachricht lautete:\n\n" + echo)
    assert "nicht kommen" not in text.lower()
    assert "Ich bin bis 20.11. nicht im Büro." in text


def test_an_echo_loses_its_short_lines_and_the_lines_with_our_values() -> None:
    text = stripped(ACCEPTANCE)
    assert "Anmeldung" not in text and "Anmeldeschluss" not in text


def test_an_english_reminder_echoed_cancels_nothing() -> None:
    text = stripped("Out of office until Monday.\n\n" + REMINDER_EN)
    assert "cancel" not in text.lower()


@pytest.mark.parametrize(
    "own",
    [
        "Hiermit melde ich mich an.",
        "Leider werde ich doch nicht kommen können, bitte streichen Sie mich.",
        "Wenn Sie noch einen Platz haben, melde ich mich gerne an.",
        "Mit freundlichen Grüßen",
        "vielen Dank für Ihre Anmeldung.",  # alone it is no echo
        "Anmeldeschluss am Freitag ist mir zu knapp, kann ich nachmelden?",
    ],
)
def test_the_senders_own_words_stay(own: str) -> None:
    assert stripped(f"Guten Tag,\n\n{own}\n\nGruß\nAnna") == f"Guten Tag,\n\n{own}\n\nGruß\nAnna"


def test_staff_templates_are_learned_too() -> None:
    parking = "Bitte beachten Sie unsere neuen Parkregeln am Veranstaltungsort hinter dem Haus."
    learned = own_words(["Guten Tag,\n\n" + parking + "\n"])
    echoed = "Bitte beachten Sie unsere neuen Parkregeln am Veranstaltungsort\nhinter dem Haus."
    # the long line is ours anywhere; the short rest only counts within an echo
    assert OwnWords.strip(learned, echoed) == "hinter dem Haus."


def test_without_templates_nothing_is_stripped() -> None:
    assert OwnWords().strip(ACCEPTANCE) == ACCEPTANCE


@given(st.text(max_size=300))
def test_strip_keeps_the_order_and_never_adds_lines(text: str) -> None:
    kept = stripped(text).splitlines()
    assert len(kept) <= len(text.splitlines())


def test_stripping_twice_changes_nothing_more() -> None:
    once = stripped("Ich bin nicht im Büro.\n\n" + ACCEPTANCE)
    assert stripped(once) == once


@given(st.text(min_size=MIN_CHARS, max_size=200))
def test_normalise_is_idempotent(text: str) -> None:
    assert normalise(normalise(text)) == normalise(text)


def test_templates_in_the_repository_are_all_read() -> None:
    names = {p.name for p in Path(default_template_folder()).rglob("*.txt")}
    assert {"acceptance.txt", "reminder.txt", "cancelled_notice.txt"} <= names
