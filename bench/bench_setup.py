"""What bench/throughput.py and bench/latency.py share: the test servers, the mails, the config.

`load()` imports tests/servers.py, helpers.py and fakes.py (tests/ is not a package);
`make_mails()` generates distinct registrations (plain German text, ~10 % HTML-only,
~5 % with a colleague, ~2 % padded to 8-30 KB with a signature and quoted text);
`bot_config()` writes the tests' config for the servers with a far-future event, no
brakes and the shipped batch_size. Not a benchmark itself.
"""

from __future__ import annotations

import importlib
import os
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"

FAR_FUTURE = {
    "deadline": "2099-11-23T23:59:59+01:00",
    "starts_at": "2099-12-05T10:00:00+01:00",
    "ends_at": "2099-12-05T13:00:00+01:00",
}
# No brake may trip: every registration is to be answered in the one poll.
LIMITS = """
[limits]
replies_per_address_per_day = 1000
replies_per_hour = 10000000
persons_per_mail = 10
persons_per_address = 10
persons_per_domain = 10000000
"""
FIRST = (
    "Anna Jonas Lea Tim Sabine Markus Julia Stefan Katrin Thomas Petra Michael Claudia Frank "
    "Nicole Andreas Heike Jan Sandra Dirk Birgit Oliver Melanie Sven Ute Ralf Kerstin Holger "
    "Silke Carsten Anja Uwe Tanja Jens Britta Lars Miriam Bernd Nadine Torsten Ines Malte"
).split()
LAST = (
    "Albers Roth Wehrmann Sommerfeld Brandhoff Kortmann Ahrens Kersting Reuter Lindner "
    "Obermeier Sasse Kleffmann Kuschel Tewes Brenner Vogt Hartmann Krause Lange Pohl Franke "
    "Kuhn Busch Bauer Winkler Lorenz Otto Jansen Arndt Haase Engel Brandt Peters Sander "
    "Wolters Hesse Dreyer Ostermann Kemper Böhmer Fischer Schäfer Kaiser Thiele Gröne Küpper"
).split()
DOMAINS = (
    "unna.de bochum.de hagen.de iserlohn.de hamm.de herne.de essen.de bottrop.de witten.de "
    "marl.de kamen.de selm.de werne.de schwelm.de gladbeck.de dorsten.de herten.de gmx.de "
    "waltrop.de luenen.de schwerte.de bergkamen.de oberhausen.de arnsberg.de web.de"
).split()
PLAIN = (
    "Sehr geehrte Damen und Herren,\n\nhiermit melde ich mich verbindlich zum Interkommunalen "
    "Austausch an.\n\nMit freundlichen Grüßen\n{name}\n",
    "Guten Tag,\n\nhiermit melde ich mich zum Interkommunalen Austausch am 5. Dezember "
    "an.\n\nViele Grüße\n{name}\n",
)
TWO = (
    "Sehr geehrte Damen und Herren,\n\nhiermit melde ich mich sowie {colleague} zum "
    "Interkommunalen Austausch an.\n\nMit freundlichen Grüßen\n{name}\n"
)
HTML = (
    "<html><body><p>Sehr geehrte Damen und Herren,</p><p>hiermit melde ich mich verbindlich "
    "zum Interkommunalen Austausch an.</p><p>Mit freundlichen Gr&uuml;&szlig;en<br>{name}"
    "</p></body></html>"
)
SIGNATURE = (
    "\n--\n{name}\nStabsstelle Digitalisierung\nRathausplatz 1, 59423 Unna\nTel. 02303 103-0\n\n"
    + "Diese E-Mail enthält vertrauliche Informationen. Wenn Sie nicht der richtige Adressat "
    "sind, informieren Sie bitte sofort den Absender und vernichten Sie diese Mail.\n" * 6
)
QUOTED = (
    "> die Allianz Smart City Dortmund lädt Sie herzlich zum Interkommunalen Austausch in\n"
    "> die Westfalenhallen ein. Das Programm und die Anreise finden Sie im Anhang.\n>\n"
)


def load() -> tuple[ModuleType, ModuleType, ModuleType]:
    """tests/servers.py, helpers.py and fakes.py (tests/ is not a package)."""
    for path in (str(TESTS), str(REPO)):
        if path not in sys.path:
            sys.path.insert(0, path)
    names = ("servers", "helpers", "fakes")
    servers, helpers, fakes = (importlib.import_module(name) for name in names)
    return servers, helpers, fakes


@dataclass(frozen=True)
class Mail:
    sender: str
    raw: bytes
    when: datetime


def _names(rng: random.Random) -> Iterator[str]:
    """Distinct names, in random order within each block of first x last names."""
    block = [f"{f} {la}" for f in FIRST for la in LAST]
    for tail in ["", *LAST]:
        rng.shuffle(block)
        yield from (f"{name}-{tail}" if tail else name for name in block)


_ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", " ": "."})


def _address(name: str, domain: str) -> str:
    local = name.lower().translate(_ASCII)
    return f"{local}@{domain}"


def _body(rng: random.Random, name: str, people: Iterator[str]) -> tuple[str, bool]:
    """A registration text and whether it is HTML."""
    roll = rng.random()
    if roll < 0.10:
        return HTML.format(name=name), True
    if roll < 0.15:
        salutation = rng.choice(("meine Kollegin Frau", "meinen Kollegen Herrn"))
        return TWO.format(colleague=f"{salutation} {next(people)}", name=name), False
    body = rng.choice(PLAIN).format(name=name)
    if roll < 0.17:
        target = rng.randint(8_000, 30_000)
        body += SIGNATURE.format(name=name) + "\n-----Ursprüngliche Nachricht-----\n"
        body += QUOTED * (max(0, target - len(body)) // len(QUOTED) + 1)
    return body, False


def make_mails(n: int, seed: int, start: datetime, fakes: ModuleType) -> list[Mail]:
    """N registrations from N distinct senders, one second apart from `start`."""
    rng = random.Random(seed)
    people = _names(rng)
    mails = []
    for i in range(n):
        name = next(people)
        sender = _address(name, rng.choice(DOMAINS))
        body, html = _body(rng, name, people)
        raw = fakes.mail(sender, "Anmeldung Interkommunaler Austausch", body, name=name)
        if html:
            raw = raw.replace(b"Content-Type: text/plain", b"Content-Type: text/html", 1)
        mails.append(Mail(sender, raw, start + timedelta(seconds=i)))
    return mails


def bot_config(
    folder: Path, dovecot: Any, sink: Any, capacity: int, extra: str = "", batch_size: int = 50
) -> Path:
    """tests/helpers.write_config in a fresh folder (its own state/), far-future event,
    no brakes, and the shipped batch_size instead of the tests' small one."""
    _, helpers, _ = load()
    folder.mkdir(parents=True)
    config: Path = helpers.write_config(
        folder, dovecot, sink, capacity=capacity, extra=LIMITS + extra, **FAR_FUTURE
    )
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^batch_size = \d+$", f"batch_size = {batch_size}", text)
    config.write_text(text, encoding="utf-8")
    return config


def bot_env(dovecot: Any) -> dict[str, str]:
    _, helpers, _ = load()
    return {**os.environ, helpers.PASSWORD_ENV: dovecot.password, "PYTHONIOENCODING": "utf-8"}
