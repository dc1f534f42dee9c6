"""The staff console over HTTP (the fast tier): Flask's test client against the real
app, a real SQLite store, and the fake mailbox and mailer of tests/fakes.py.

What staff and an attacker would try: no page without signing in, no change without
the form's CSRF token, a guessed password slowed down, mail text with markup shown as
text, and a day's work: register a mail's persons by hand, cancel a phoned-in person
(she and the one who moves up are told), an extra seat only when confirmed, "why am I
on the waitlist?" from the person's story, the list for Excel.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fakes import World, mail, open_world, registration
from flask import Flask
from flask.testing import FlaskClient

from inbox_bot.app.console_users import add_user
from inbox_bot.config import ConsoleSettings
from inbox_bot.core.model import Status
from inbox_bot.ui.console import create_app

VERA = "vera.voss@stadt-hamm.de"
JAN = "jan.albers@unna.de"
LEA = "lea.roth@bochum.de"
PASSWORD = "ein-langes-passwort"
PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = open_world(tmp_path, event={"capacity": 2})
    for address, name in [(VERA, "Vera Voss"), (JAN, "Jan Albers"), (LEA, "Lea Roth")]:
        world.mailbox.deliver(registration(address, name))
    # A shared mailbox names its attendee only vaguely: a mail for staff.
    world.mailbox.deliver(
        mail(
            "poststelle@herne.de",
            f"Anmeldung {PAYLOAD}",
            "Sehr geehrte Damen und Herren,\n\nwir kommen mit ein paar Kollegen.\n\n"
            f"Poststelle {PAYLOAD}\n",
            name="Poststelle Herne",
        )
    )
    world.poll()
    world.mailer.sent.clear()
    add_user(world.store, "anna", PASSWORD, world.clock())
    yield world
    world.close()


def app_for(world: World, **console: Any) -> Flask:
    settings = world.deps.settings
    if console:
        settings = settings.model_copy(update={"console": ConsoleSettings(**console)})
    app = create_app(settings, world.clock, deps=lambda: contextlib.nullcontext(world.deps))
    app.testing = True
    return app


@pytest.fixture
def client(world: World) -> FlaskClient:
    return app_for(world).test_client()


def token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def sign_in(client: FlaskClient, name: str = "anna", password: str = PASSWORD) -> Any:
    page = client.get("/login").get_data(as_text=True)
    return client.post(
        "/login", data={"name": name, "password": password, "csrf_token": token(page)}
    )


def form(client: FlaskClient, path: str, action: str, **fields: Any) -> Any:
    """Submit the form with `action` on the page at `path`, as a browser would."""
    page = client.get(path).get_data(as_text=True)
    assert f'action="{action}"' in page, page[:2000]
    return client.post(action, data={"csrf_token": token(page), **fields})


def confirm(client: FlaskClient, preview: Any) -> Any:
    page = preview.get_data(as_text=True)
    target = re.search(r'action="(/confirm/[^"]+)"', page)
    assert target, page[:2000]
    return client.post(target.group(1), data={"csrf_token": token(page)})


def person_id(world: World, name: str) -> str:
    """The person's id as it stands in the console's links (quoted: ids hold "#")."""
    return quote(next(a.id for a in world.store.attendees() if a.name == name), safe="")


# --------------------------------------------------------------------- security


@pytest.mark.parametrize(
    "path", ["/", "/review", "/review/4", "/people", "/people/x", "/door", "/export.csv"]
)
def test_no_page_without_a_session(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_a_post_without_a_valid_csrf_token_is_refused(client: FlaskClient, world: World) -> None:
    sign_in(client)
    target = f"/people/{person_id(world, 'Jan Albers')}/cancel"
    assert client.post(target, data={"reason": "x"}).status_code == 400
    assert client.post(target, data={"reason": "x", "csrf_token": "forged"}).status_code == 400
    assert [a.status for a in world.store.attendees() if a.name == "Jan Albers"] == [
        Status.CONFIRMED
    ]


def test_a_wrong_password_five_times_slows_sign_in_down(client: FlaskClient, world: World) -> None:
    for _ in range(5):
        assert sign_in(client, password="falsch-falsch").status_code == 401
    assert sign_in(client).status_code == 429  # even the right one, for a while
    world.clock.advance(minutes=2)
    assert sign_in(client).status_code == 302


def test_an_unknown_name_answers_like_a_wrong_password(client: FlaskClient) -> None:
    wrong_name = sign_in(client, name="mallory").get_data(as_text=True)
    wrong_password = sign_in(client, password="falsch-falsch").get_data(as_text=True)
    assert re.sub(r'value="[^"]+"', "", wrong_name) == re.sub(r'value="[^"]+"', "", wrong_password)


def test_the_session_cookie_is_httponly_samesite_and_secure_behind_tls(world: World) -> None:
    plain = app_for(world).test_client()
    cookie = sign_in(plain).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    proxied = app_for(
        world, listen="0.0.0.0:8025", trusted_proxy="10.0.0.2", secure_cookies=True
    ).test_client()
    assert "Secure" in sign_in(proxied).headers["Set-Cookie"]


def test_the_proxy_header_counts_only_from_the_proxy(world: World) -> None:
    app = app_for(world, trusted_proxy="10.0.0.2", user_header="X-Remote-User")
    client = app.test_client()
    header = {"X-Remote-User": "ben"}
    assert (
        client.get("/", headers=header, environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 302
    )
    page = client.get("/", headers=header, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert page.status_code == 200 and "Angemeldet: ben" in page.get_data(as_text=True)


def test_listening_beyond_this_machine_needs_a_tls_proxy() -> None:
    with pytest.raises(ValueError, match="reverse proxy"):
        ConsoleSettings(listen="0.0.0.0:8025")
    with pytest.raises(ValueError, match="trusted_proxy"):
        ConsoleSettings(user_header="X-Remote-User")


def test_markup_from_mail_is_shown_as_text(client: FlaskClient, world: World) -> None:
    sign_in(client)
    (row,) = world.store.review_queue()
    for path in ("/review", f"/review/{row.id}"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --------------------------------------------------------------------- a day's work


def test_overview_shows_seats_waitlist_and_the_queue(client: FlaskClient) -> None:
    sign_in(client)
    page = client.get("/").get_data(as_text=True)
    assert "2 von 2" in page and "Zur Bearbeitung: 1 Mails" in page
    assert "Letzter erfolgreicher Abruf" in page


def test_registering_the_persons_of_a_review_mail_by_hand(
    client: FlaskClient, world: World
) -> None:
    sign_in(client)
    (row,) = world.store.review_queue()
    path = f"/review/{row.id}"
    page = client.get(path).get_data(as_text=True)
    preview = client.post(
        f"{path}/register",
        data={
            "csrf_token": token(page),
            "event": "",
            "name": ["Tom Tewes", "Ina Igel", ""],
            "email": ["", "ina.igel@herne.de", ""],
            "organization": ["Stadt Herne", "Stadt Herne", ""],
            "reason": "telefonisch geklärt",
        },
    )
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "poststelle@herne.de" in text and "Tom Tewes" in text
    assert world.mailer.sent == []  # nothing is sent before staff confirm

    done = confirm(client, preview)

    assert done.status_code == 302
    placed = {a.name: (a.status, a.arrival) for a in world.store.attendees()}
    assert placed["Tom Tewes"] == (Status.WAITLISTED, row.received_at)  # its own arrival
    assert world.store.review_queue() == []
    assert "poststelle@herne.de" in world.mailer.recipients


def test_cancelling_a_phoned_in_person_tells_her_and_the_one_who_moves_up(
    client: FlaskClient, world: World
) -> None:
    sign_in(client)
    jan = person_id(world, "Jan Albers")
    preview = form(client, f"/people/{jan}", f"/people/{jan}/cancel", reason="hat angerufen")
    text = preview.get_data(as_text=True)
    assert JAN in text and LEA in text  # both mails are shown first

    confirm(client, preview)

    statuses = {a.name: a.status for a in world.store.attendees()}
    assert statuses["Jan Albers"] is Status.CANCELLED and statuses["Lea Roth"] is Status.CONFIRMED
    assert sorted(world.mailer.recipients) == sorted([JAN, LEA])
    record = world.store.log_after(0)[-1].data
    assert (record["by"], record["reason"]) == ("anna", "hat angerufen")


def test_an_extra_seat_only_when_staff_say_so(client: FlaskClient, world: World) -> None:
    sign_in(client)
    lea = person_id(world, "Lea Roth")
    refused = form(client, f"/people/{lea}", f"/people/{lea}/admit", reason="Rednerin")
    assert refused.status_code == 409 and "force" in refused.get_data(as_text=True)
    preview = form(
        client, f"/people/{lea}", f"/people/{lea}/admit", reason="Rednerin", extra_seat="yes"
    )
    assert "Zusatzplatz" in preview.get_data(as_text=True)
    confirm(client, preview)
    assert {a.name: a.seat for a in world.store.attendees()}["Lea Roth"] == 3


def test_why_am_i_on_the_waitlist(client: FlaskClient, world: World) -> None:
    sign_in(client)
    page = client.get(f"/people/{person_id(world, 'Lea Roth')}").get_data(as_text=True)
    assert "Anmeldung eingegangen: Warteliste, Position 1" in page
    assert "alle 2 Plätze vergeben" in page


def test_people_search_finds_by_name_address_and_organisation(client: FlaskClient) -> None:
    sign_in(client)
    for query in ("Albers", "unna.de", "ALBERS"):
        page = client.get(f"/people?q={query}").get_data(as_text=True)
        assert "Jan Albers" in page and "Vera Voss" not in page


def test_the_list_for_excel_and_the_door_list(client: FlaskClient) -> None:
    sign_in(client)
    csv = client.get("/export.csv")
    assert csv.status_code == 200 and "attachment" in csv.headers["Content-Disposition"]
    assert "Vera Voss" in csv.get_data().decode("utf-8-sig")
    xlsx = client.get("/export.xlsx")
    assert xlsx.get_data()[:2] == b"PK"
    door = client.get("/door").get_data(as_text=True)
    assert "Albers, Jan" in door and "Voss, Vera" in door


def test_a_confirmation_is_for_its_own_user_and_once(client: FlaskClient, world: World) -> None:
    sign_in(client)
    jan = person_id(world, "Jan Albers")
    preview = form(client, f"/people/{jan}", f"/people/{jan}/cancel", reason="Anruf")
    assert confirm(client, preview).status_code == 302
    again = confirm(client, preview)
    assert again.status_code == 409
    assert len(world.mailer.sent) == 2
    world.clock.advance(timedelta(seconds=1))
