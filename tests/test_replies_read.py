"""The replies in the README's table, read as the recipient reads them (the fast tier).

Each test runs real mail through one poll cycle in memory and reads the text of the mail
that went out: whose seat is named, who stays registered, who else is told, what a
question or an extra seat is called. What must not go out is checked too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import World, cancellation, mail, open_world, registration

from inbox_bot.app import staff

VERA = "vera.voss@stadt-hamm.de"
KAI = "kai.krause@stadt-hamm.de"
JAN = "jan.albers@unna.de"
LEA = "lea.roth@bochum.de"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = open_world(tmp_path, event={"capacity": 2})
    yield world
    world.close()


def only_mail_to(world: World, address: str) -> str:
    mails = world.mailer.to(address)
    assert len(mails) == 1, [m.text for m in mails]
    return mails[0].text


def vera_with_kai(world: World) -> None:
    body = (
        "Sehr geehrte Damen und Herren,\n\nhiermit melde ich mich zum Interkommunalen "
        f"Austausch an, zusammen mit meinem Kollegen Kai Krause ({KAI}).\n\n"
        "Mit freundlichen Grüßen\nVera Voss\nStadt Hamm\n"
    )
    world.mailbox.deliver(mail(VERA, "Anmeldung", body, name="Vera Voss"))
    world.poll()


def test_a_colleague_s_seat_is_named_as_hers_and_she_gets_a_note(world: World) -> None:
    vera_with_kai(world)

    reply = only_mail_to(world, VERA)
    assert "Vera Voss (Stadt Hamm): Platz 1 von 2" in reply
    assert "Kai Krause (Stadt Hamm): Platz 2 von 2" in reply
    assert "für Sie reserviert" not in reply
    note = only_mail_to(world, KAI)
    # The note names who registered her by address: that is what she can check.
    assert VERA in note and "Platz 2 von 2" in note


def test_the_waitlist_reply_gives_the_position(world: World) -> None:
    vera_with_kai(world)
    world.mailbox.deliver(registration(JAN, "Jan Albers"))
    world.poll()

    reply = only_mail_to(world, JAN)
    assert "Warteliste, Position 1" in reply
    assert "Platz" not in reply.split("Warteliste")[0].split("Jan Albers")[-1]


def test_cancelling_a_colleague_says_who_stays_and_tells_the_colleague(world: World) -> None:
    vera_with_kai(world)
    world.mailer.sent.clear()
    body = (
        "Guten Tag,\n\nmein Kollege Kai Krause kann leider nicht teilnehmen, ich komme wie "
        "geplant.\n\nViele Grüße\nVera Voss\n"
    )
    world.mailbox.deliver(mail(VERA, "Abmeldung Kollege", body, name="Vera Voss"))
    world.poll()

    reply = only_mail_to(world, VERA)
    assert "Kai Krause" in reply and "abgemeldet" in reply
    assert "Weiterhin angemeldet bleiben" in reply
    assert "Vera Voss" in reply.split("Weiterhin angemeldet bleiben")[1]
    assert "Schade, dass Sie nicht dabei sein können" not in reply
    assert "Kai Krause" in only_mail_to(world, KAI)


def test_a_person_cancelling_herself_tells_who_registered_her(world: World) -> None:
    vera_with_kai(world)
    world.mailer.sent.clear()
    world.mailbox.deliver(cancellation(KAI, "Kai Krause"))
    world.poll()

    reply = only_mail_to(world, KAI)
    assert "abgemeldet" in reply
    note = only_mail_to(world, VERA)
    assert "Kai Krause" in note and "abgemeldet" in note


def test_a_question_gets_an_acknowledgement_that_is_no_registration(world: World) -> None:
    body = "Guten Tag,\n\ngibt es vor Ort WLAN für Gäste?\n\nGruß\nLea Roth\n"
    world.mailbox.deliver(mail(LEA, "Frage WLAN", body, name="Lea Roth"))
    world.poll()

    reply = only_mail_to(world, LEA).lower()
    assert "keine anmeldung" in reply or "nicht als anmeldung" in reply
    assert "platz" not in reply.split("anmeld")[0]
    assert [row.uid for row in world.store.review_queue()] == [1]


def test_a_conditional_registration_is_answered_as_a_question(world: World) -> None:
    body = (
        "Guten Tag,\n\nich würde mich gern anmelden, sofern die Folien vorher verschickt "
        "werden. Ist das geplant?\n\nGruß\nLea Roth\n"
    )
    world.mailbox.deliver(mail(LEA, "Interkommunaler Austausch", body, name="Lea Roth"))
    world.poll()

    reply = only_mail_to(world, LEA).lower()
    assert "keine anmeldung" in reply or "nicht als anmeldung" in reply
    assert list(world.store.attendees()) == []


def test_a_registration_with_a_question_says_a_person_will_answer(world: World) -> None:
    world.mailbox.deliver(
        registration(LEA, "Lea Roth", extra=" Gibt es vegetarisches Essen?"),
    )
    world.poll()

    reply = only_mail_to(world, LEA)
    assert "Platz 1 von 2" in reply
    assert "Frage" in reply


def test_an_extra_seat_beyond_capacity_is_called_so(world: World) -> None:
    vera_with_kai(world)
    world.mailbox.deliver(registration(LEA, "Lea Roth"))
    world.poll()
    world.mailer.sent.clear()

    staff.commit(world.deps, staff.plan_admit_person(world.deps, LEA, "Frau Schmidt", "Rede", True))
    world.poll()

    reply = only_mail_to(world, LEA)
    assert "Zusatzplatz" in reply
    assert "Platz 3 von 2" not in reply


@pytest.mark.parametrize(
    ("subject", "body", "headers"),
    [
        ("Re: Ihre Anmeldung", "Vielen Dank für die Bestätigung, der Termin ist notiert.", ()),
        ("Danke", "Danke, ich freue mich auf den Austausch!", ()),
        (
            "Automatische Antwort: Anmeldung",
            "Ich bin bis 3.12. nicht im Büro.",
            ("Auto-Submitted: auto-replied",),
        ),
        (
            "Anmeldung Netzwerktreffen",
            "hiermit melde ich mich zum Netzwerktreffen „Breitband Westfalen“ am 27.11.2018 an.",
            (),
        ),
    ],
)
def test_thanks_automatic_mail_and_other_events_get_no_reply(
    world: World, subject: str, body: str, headers: tuple[str, ...]
) -> None:
    world.mailbox.deliver(
        mail(LEA, subject, f"Guten Tag,\n\n{body}\n\nGruß\nLea Roth\n", extra_headers=headers)
    )
    world.poll()

    assert world.mailer.sent == []
    assert list(world.store.attendees()) == []


def test_a_review_reason_counts_grammatically(world: World) -> None:
    body = "Guten Tag,\n\nwir melden uns zu zweit an: Vera Voss.\n\nGruß\nVera Voss\n"
    world.mailbox.deliver(mail(VERA, "Anmeldung", body, name="Vera Voss"))
    world.poll()

    (row,) = world.store.review_queue()
    reasons = row.review_reason
    assert "2 Personen" in reasons and "erkannt wurde 1 Person " in reasons
