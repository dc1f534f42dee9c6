"""A day's work in the staff console, in a real browser (Debian's Chromium driven by
Selenium through chromedriver), against a real Dovecot and SMTP sink, with the console
started as a user starts it (`inbox-bot console`) beside the data of a real poll.

Signing in, working through the review queue (registering the persons of a mail by
hand), cancelling a phoned-in person and seeing the promotion in the SMTP sink, and
answering "why am I on the waitlist?" from a person's story: no terminal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes import mail, registration
from helpers import PASSWORD_ENV, run_cli, write_config
from servers import Dovecot, SmtpSink, free_port

pytestmark = pytest.mark.integration

T0 = datetime(2018, 11, 6, 9, 0, tzinfo=UTC)
PASSWORD = "ein-langes-passwort"


def _driver_paths() -> tuple[str, str]:
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if browser is None or driver is None:
        message = "chromium and chromedriver are needed: apt-get install chromium-driver"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
    return browser, driver


@pytest.fixture
def console(tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink) -> Iterator[dict[str, object]]:
    port = free_port()
    # An event still to come: staff work in the console today, with today's clock.
    config = write_config(
        tmp_path,
        mailbox,
        smtp_sink,
        capacity=2,
        deadline="2099-11-23T23:59:59+01:00",
        starts_at="2099-12-05T10:00:00+01:00",
        ends_at="2099-12-05T13:00:00+01:00",
        extra=f'[console]\nlisten = "127.0.0.1:{port}"\n',
    )
    people = [
        ("vera.voss@stadt-hamm.de", "Vera Voss"),
        ("jan.albers@unna.de", "Jan Albers"),
        ("lea.roth@bochum.de", "Lea Roth"),
        ("otto.pohl@herne.de", "Otto Pohl"),
    ]
    for minute, (address, name) in enumerate(people):
        mailbox.append(registration(address, name), T0 + timedelta(minutes=minute))
    mailbox.append(
        mail(
            "poststelle@herne.de",
            "Anmeldung",
            "Sehr geehrte Damen und Herren,\n\nwir kommen mit ein paar Kollegen.\n\nPoststelle\n",
            name="Poststelle Herne",
        ),
        T0 + timedelta(minutes=10),
    )
    run_cli("poll", "--config", str(config), imap=mailbox)
    smtp_sink.clear()
    subprocess.run(
        [sys.executable, "-m", "inbox_bot", "staff-user", "add", "--config", str(config), "anna"],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )
    env = {**os.environ, PASSWORD_ENV: mailbox.password}
    server = subprocess.Popen(
        [sys.executable, "-m", "inbox_bot", "console", "--config", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base)
        yield {"base": base, "config": config}
    finally:
        server.terminate()
        server.wait(timeout=20)
        if server.stdout is not None:
            server.stdout.close()


def _wait_for(base: str) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/login", timeout=2).read()  # noqa: S310 (http://127.0.0.1)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the console did not come up")


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = _driver_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    chrome.implicitly_wait(5)
    try:
        yield chrome
    finally:
        chrome.quit()


def test_a_day_in_the_console_without_a_terminal(
    console: dict[str, object], browser: object, smtp_sink: SmtpSink
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    base = str(console["base"])

    def fill(field: str, value: str) -> None:
        element = browser.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)

    def press(label: str) -> None:
        """Press a form's button and wait for the next page (a loaded machine is slow)."""
        button = browser.find_element(By.XPATH, f"//button[contains(., '{label}')]")
        button.click()
        WebDriverWait(browser, 30).until(expected_conditions.staleness_of(button))

    def follow(how: str, text: str) -> None:
        """Follow a link and wait for the page it leads to."""
        link = browser.find_element(how, text)
        link.click()
        WebDriverWait(browser, 30).until(expected_conditions.staleness_of(link))

    # Nothing without signing in.
    browser.get(f"{base}/review")
    assert "Anmelden" in browser.title
    fill("name", "anna")
    fill("password", PASSWORD)
    press("Anmelden")
    assert "2 von 2" in browser.page_source

    # The review queue: a shared mailbox with "ein paar Kollegen": enter them by hand.
    browser.get(f"{base}/review")
    follow(By.PARTIAL_LINK_TEXT, "poststelle@herne.de")
    names = browser.find_elements(By.NAME, "name")
    names[0].send_keys("Tom Tewes")
    names[1].send_keys("Ina Igel")
    fill("register-reason", "Rückruf: zwei Personen")
    press("Antwort ansehen")
    assert "poststelle@herne.de" in browser.page_source and "Tom Tewes" in browser.page_source
    assert smtp_sink.messages == []  # shown, not sent
    press("Senden und speichern")
    browser.get(f"{base}/review")
    assert "Nichts zu tun" in browser.page_source
    _wait_until(lambda: "poststelle@herne.de" in _recipients(smtp_sink))

    # Jan phoned: cancel him; he is told, and Lea moves up and is told.
    browser.get(f"{base}/people?q=Albers")
    follow(By.LINK_TEXT, "Jan Albers")
    fill("cancel-reason", "hat angerufen")
    press("Abmelden …")  # the form's button, not "Abmelden (sign out)" in the header
    assert "lea.roth@bochum.de" in browser.page_source  # the promotion is shown first
    press("Senden und speichern")
    _wait_until(lambda: {"jan.albers@unna.de", "lea.roth@bochum.de"} <= _recipients(smtp_sink))
    promotion = next(m for m in smtp_sink.messages if "lea.roth@bochum.de" in m.rcpt_tos)
    assert "Platz" in str(promotion.message["Subject"])

    # "Why am I on the waitlist?" for Otto, from his story.
    browser.get(f"{base}/people?q=Pohl")
    follow(By.LINK_TEXT, "Otto Pohl")
    story = browser.find_element(By.CLASS_NAME, "story").text
    assert "Warteliste, Position" in story and "06.11.2018 10:03" in story

    # Otto gets an extra seat over the capacity: only with the box ticked.
    fill("admit-reason", "Referent")
    press("Platz geben")
    assert "Alle 2 Plätze sind vergeben" in browser.page_source
    assert "otto.pohl@herne.de" not in _recipients(smtp_sink)
    follow(By.LINK_TEXT, "Zurück")
    browser.find_element(By.NAME, "extra_seat").click()
    fill("admit-reason", "Referent")
    press("Platz geben")
    assert "otto.pohl@herne.de" in browser.page_source
    press("Senden und speichern")
    _wait_until(lambda: "otto.pohl@herne.de" in _recipients(smtp_sink))
    browser.get(f"{base}/people?q=Pohl")
    follow(By.LINK_TEXT, "Otto Pohl")
    assert "Platz 3" in browser.find_element(By.CLASS_NAME, "state").text

    # The attendee list for Excel, downloaded with the browser's session.
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
    request = urllib.request.Request(f"{base}/export.csv", headers={"Cookie": cookie})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert "attachment" in response.headers["Content-Disposition"]
        table = response.read().decode("utf-8-sig")
    assert ";" in table.splitlines()[0]
    for name in ("Vera Voss", "Lea Roth", "Otto Pohl", "Tom Tewes", "Ina Igel"):
        assert name in table


def _recipients(sink: SmtpSink) -> set[str]:
    return {r.lower() for m in sink.messages for r in m.rcpt_tos}


def _wait_until(condition: object, seconds: float = 20) -> None:
    assert callable(condition)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("the mail did not arrive at the SMTP sink")
