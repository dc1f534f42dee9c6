"""The staff's allocation report: what the page says, and what a browser shows of it.

The corpus goes through the real pipeline (Dovecot + `inbox-bot poll`, capacity 10),
and the page is read twice: as HTML, and as headless Chromium renders it (DOM dump,
screenshot, print to PDF). Markup from mail must stay text.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    FINAL_SEATS,
    FINAL_WAITLIST,
    deliver_corpus,
    record_mail,
    run_cli,
    write_config,
)
from servers import Dovecot, SmtpSink

from inbox_bot.adapters.store import Store, open_memory_copy
from inbox_bot.app import staff
from inbox_bot.app.wiring import build_deps
from inbox_bot.config import Settings, load_settings, settings_from_mapping
from inbox_bot.core.model import Attendee, Kind, Person, Status
from inbox_bot.ui.report import build_report, door_list, refresh_report, split_name, write_report

DOOR_ORDER = [
    "Ahrens, Nadine",
    "Kersting, Simone",
    "Kortmann, Sebastian",
    "Lindner, Marco",
    "Obermeier, Jens",
    "Reuter-Lang, Claudia",
    "Sasse, Henrike",
    "Schürmann, Günter",
    "Tewes, Anja",
    "Wierzbicki, Tomasz",
]
SCRIPT_NAME = "<script>alert(1)</script>"
NOW = datetime.fromisoformat("2018-11-26T09:00:00+01:00")


# --------------------------------------------------------------------------- reading HTML


@dataclass
class Page:
    """The parts of the report a person reads: section texts and table rows, by id."""

    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)
    rows: dict[str, list[list[str]]] = field(default_factory=dict)
    text: str = ""

    def column(self, section: str, index: int) -> list[str]:
        return [row[index] for row in self.rows[section] if len(row) > index]


class _Reader(HTMLParser):
    VOID = frozenset({"br", "meta", "img", "input", "link", "hr", "wbr", "source", "col"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.stack: list[tuple[str, str | None]] = []  # (tag, id of a section it opens)
        self.open_sections: list[str] = []
        self.texts: dict[str, list[str]] = {}
        self.row: list[str] | None = None
        self.row_has_data = False
        self.cell: list[str] | None = None
        self.all_text: list[str] = []
        self.in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.page.tags.append((tag, values))
        if tag == "style":
            self.in_style = True
        section = values.get("id") if tag in ("section", "a", "div") and "id" in values else None
        if section:
            self.open_sections.append(section)
            self.texts.setdefault(section, [])
        if tag == "tr":
            self.row, self.row_has_data = [], False
        elif tag in ("td", "th"):
            self.cell = []
            self.row_has_data |= tag == "td"
        if tag not in self.VOID and not tag.endswith("/"):
            self.stack.append((tag, section))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.page.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self.in_style = False
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        if tag == "tr" and self.row is not None:
            if self.open_sections and self.row_has_data:  # header rows hold only th
                self.page.rows.setdefault(self.open_sections[-1], []).append(self.row)
            self.row = None
        if tag not in {open_tag for open_tag, _ in self.stack}:
            return
        while self.stack:
            open_tag, section = self.stack.pop()
            if section:
                self.open_sections.remove(section)
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.in_style:
            return
        self.all_text.append(data)
        for section in self.open_sections:
            self.texts[section].append(data)
        if self.cell is not None:
            self.cell.append(data)


def read_page(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    page = reader.page
    page.sections = {k: " ".join("".join(v).split()) for k, v in reader.texts.items()}
    page.text = " ".join("".join(reader.all_text).split())
    return page


def assert_self_contained(page: Page) -> None:
    """No script, no external file: the page opens from a share, offline."""
    names = {tag for tag, _ in page.tags}
    assert not names & {"script", "link", "iframe", "object", "embed", "img", "base"}
    for tag, attrs in page.tags:
        for key, value in attrs.items():
            assert not key.startswith("on"), (tag, key)
            if key in ("href", "src", "xlink:href", "action"):
                assert value.startswith("#"), (tag, key, value)
        assert "url(" not in attrs.get("style", "")


# --------------------------------------------------------------------------- the corpus


def _report_corpus(folder: Path, dovecot: Dovecot, corpus_dir: Path) -> dict[str, Any]:
    """The corpus delivered into the (empty) `dovecot`, one poll with capacity 10 (which
    writes the report), then `inbox-bot report` into another file."""
    with SmtpSink() as smtp:
        config = write_config(
            folder, dovecot, smtp, capacity=10, extra='\n[report]\npath = "state/report.html"\n'
        )
        deliver_corpus(corpus_dir, dovecot)
        run_cli("poll", "--config", str(config), imap=dovecot)
    after_poll = (folder / "state" / "report.html").read_text(encoding="utf-8")
    output = folder / "out" / "allocation.html"
    result = run_cli("report", "--config", str(config), "--output", str(output))
    html = output.read_text(encoding="utf-8")
    return {
        "config": config,
        "folder": folder,
        "after_poll": after_poll,
        "path": output,
        "html": html,
        "page": read_page(html),
        "stderr": result.stderr,
    }


@pytest.fixture(scope="module")
def corpus_report(
    module_mailbox: Dovecot, corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """`_report_corpus` once for the module; the tests that take it only read it."""
    return _report_corpus(tmp_path_factory.mktemp("report"), module_mailbox, corpus_dir)


@pytest.fixture
def corpus_report_afresh(mailbox: Dovecot, corpus_dir: Path, tmp_path: Path) -> dict[str, Any]:
    """`_report_corpus` of its own, for a test that polls again."""
    return _report_corpus(tmp_path, mailbox, corpus_dir)


def test_the_poll_writes_the_report_and_the_command_writes_it_again(
    corpus_report: dict[str, Any],
) -> None:
    assert "Interkommunaler Austausch" in corpus_report["after_poll"]
    assert f"wrote {corpus_report['path']}" in corpus_report["stderr"]
    assert read_page(corpus_report["after_poll"]).rows == corpus_report["page"].rows


def test_at_a_glance_seats_waitlist_and_mail_for_staff(corpus_report: dict[str, Any]) -> None:
    page: Page = corpus_report["page"]
    assert "10 von 10" in page.sections["seats"]
    assert "ausgebucht" in page.sections["seats"]
    assert page.sections["waitlist-count"].split()[2] == "4"  # "Warteliste (waitlist) 4"
    review_rows = page.rows["bearbeitung"]
    assert f"needs staff) {len(review_rows)}" in page.sections["review-count"]
    assert "23.11.2018" in page.sections["deadline"] and "abgelaufen" in page.sections["deadline"]


def test_confirmed_list_by_seat_with_organisation_and_arrival(
    corpus_report: dict[str, Any],
) -> None:
    page: Page = corpus_report["page"]
    rows = page.rows["bestaetigt"]
    assert [r[0] for r in rows] == [str(n) for n in range(1, 11)]
    names = [r[1].removesuffix(" nachgerückt") for r in rows]
    assert sorted(names) == sorted(FINAL_SEATS)
    by_name = {r[1].removesuffix(" nachgerückt"): r for r in rows}
    assert by_name["Sebastian Kortmann"][2] == "Stadt Hagen"
    assert re.fullmatch(r"\d\d\.\d\d\.2018 \d\d:\d\d:\d\d", by_name["Sebastian Kortmann"][3])
    moved_up = [r[1] for r in rows if r[1].endswith("nachgerückt")]
    assert moved_up == ["Jens Obermeier nachgerückt", "Henrike Sasse nachgerückt"]


def test_waitlist_in_order_then_late_and_cancelled(corpus_report: dict[str, Any]) -> None:
    page: Page = corpus_report["page"]
    assert page.column("warteliste", 1) == FINAL_WAITLIST
    assert page.column("warteliste", 0) == ["1", "2", "3", "4"]
    assert page.column("zu-spaet", 0) == ["Renate Hülsmann"]
    assert page.column("zu-spaet", 2) == ["25.11.2018 11:11:11"]
    assert sorted(page.column("abmeldungen", 0)) == ["Arne Vöcking", "Lukas Brenner"]


def test_review_queue_gives_each_reason(corpus_report: dict[str, Any]) -> None:
    page: Page = corpus_report["page"]
    rows = page.rows["bearbeitung"]
    assert len(rows) >= 4
    for arrival, kind, _who, reason in rows:
        assert re.fullmatch(r"\d\d\.\d\d\.2018 \d\d:\d\d:\d\d", arrival)
        assert kind and reason
    kinds = {row[1] for row in rows}
    assert {"Unzustellbar", "Frage"} <= kinds
    text = page.sections["bearbeitung"]
    assert "Automatische Mail (bounce)" in text
    assert "bitte persönlich beantworten" in text  # registration that also asks something
    assert "MAILER-DAEMON@mail.kreis-wesel.de" in text


def test_door_list_by_surname_with_check_in_boxes(corpus_report: dict[str, Any]) -> None:
    page: Page = corpus_report["page"]
    rows = [r for r in page.rows["tuerliste"] if r[1]]
    assert [r[1] for r in rows] == DOOR_ORDER
    assert [r[0] for r in rows] == [str(n) for n in range(1, 11)]
    assert rows[0][2] == "Stadt Iserlohn" and rows[0][3] == "2"
    boxes = [a for tag, a in page.tags if tag == "span" and a.get("class") == "box"]
    assert len(boxes) == 10 + 3  # one per person and three for walk-ins
    assert ".door { break-before: page; }" in corpus_report["html"]


def test_chart_is_inline_svg_with_capacity_deadline_and_german_dates(
    corpus_report: dict[str, Any],
) -> None:
    page: Page = corpus_report["page"]
    classes = [a.get("class", "") for _tag, a in page.tags]
    assert classes.count("capacity") == 1 and classes.count("deadline") == 1
    assert classes.count("line") == 1
    # seats filled up to 10; the two cancellations each moved one person up (net 0)
    assert classes.count("dot swap") == 2
    chart = page.sections["verlauf"]
    assert "Kapazität 10 Plätze" in chart and "Anmeldeschluss" in chart
    assert "Di. 6. Nov." in chart
    titles = re.findall(r"<title>([^<]*)</title>", corpus_report["html"])
    assert any("10 von 10 Plätzen belegt (1 abgemeldet, 1 nachgerückt)" in t for t in titles)
    last = max(float(a["d"].rsplit("H", 1)[1]) for t, a in page.tags if a.get("class") == "line")
    assert last > 700  # the line runs on to the deadline


def test_report_loads_nothing_from_outside(corpus_report: dict[str, Any]) -> None:
    assert_self_contained(corpus_report["page"])
    assert "http://" not in corpus_report["html"].replace('xmlns="http://www.w3.org', "")
    assert "https://" not in corpus_report["html"]


def test_report_command_defaults_to_the_config_path_then_the_current_folder(
    corpus_report: dict[str, Any], tmp_path: Path
) -> None:
    config: Path = corpus_report["config"]
    target = corpus_report["folder"] / "state" / "report.html"
    target.unlink()
    run_cli("report", "--config", str(config))
    assert target.is_file()
    plain = tmp_path / "plain.toml"
    text = config.read_text(encoding="utf-8").split("\n[report]")[0]
    plain.write_text(text.replace('"state/', f'"{config.parent}/state/'), encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "inbox_bot", "report", "--config", str(plain)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert "Renate Hülsmann" in (tmp_path / "allocation-report.html").read_text(encoding="utf-8")


def test_a_report_that_cannot_be_written_does_not_fail_the_poll(
    corpus_report_afresh: dict[str, Any], mailbox: Dovecot, tmp_path: Path
) -> None:
    config: Path = corpus_report_afresh["config"]
    blocked = tmp_path / "a-file"
    blocked.write_text("x", encoding="utf-8")
    broken = config.parent / "broken-report.toml"
    text = config.read_text(encoding="utf-8").replace(
        'path = "state/report.html"', f'path = "{blocked}/report.html"'
    )
    broken.write_text(text, encoding="utf-8")
    result = run_cli("poll", "--config", str(broken), imap=mailbox)
    assert "No new mail." in result.stdout
    assert "allocation report" in result.stderr and "not written" in result.stderr


def test_report_command_says_so_when_it_cannot_write(
    corpus_report: dict[str, Any], tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("x", encoding="utf-8")
    result = run_cli(
        "report",
        "--config",
        str(corpus_report["config"]),
        "--output",
        str(blocked / "report.html"),
        check=False,
    )
    assert result.returncode == 1
    assert "cannot write" in result.stderr and "Traceback" not in result.stderr


# --------------------------------------------------------------------------- in memory


def event_settings(tmp_path: Path, capacity: int = 2, report: str | None = None) -> Settings:
    raw: dict[str, Any] = {
        "imap": {"host": "imap.example.org", "username": "bot@example.org"},
        "smtp": {"host": "smtp.example.org", "from_address": "bot@example.org"},
        "event": {
            "title": "Austausch <b>&</b> Co.",
            "organizer": "Stadt Dortmund",
            "starts_at": "2018-12-05T10:00:00+01:00",
            "ends_at": "2018-12-05T13:00:00+01:00",
            "venue": "Rathaus",
            "capacity": capacity,
            "registration_deadline": "2018-11-23T23:59:59+01:00",
        },
    }
    if report is not None:
        raw["report"] = {"path": report}
    return settings_from_mapping(raw, base=tmp_path, environ={})


def feed(
    store: Store,
    settings: Settings,
    *,
    arrival: str,
    sender: str,
    persons: tuple[Person, ...] = (),
    kind: Kind = Kind.REGISTRATION,
    subject: str = "Anmeldung",
    question: bool = False,
    review: tuple[str, ...] = (),
) -> None:
    """One mail into the store as the pipeline would record it."""
    record_mail(
        store,
        settings,
        arrival=datetime.fromisoformat(arrival),
        sender=sender,
        persons=persons,
        kind=kind,
        subject=subject,
        question=question,
        review=review,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_memory_copy(tmp_path / "no-database-yet.sqlite3") as memory:
        yield memory


def hostile_store(store: Store, settings: Settings) -> None:
    feed(
        store,
        settings,
        arrival="2018-11-06T08:00:00+01:00",
        sender="a@stadt-hagen.de",
        persons=(
            Person(name=SCRIPT_NAME, email="a@stadt-hagen.de", organization='"><svg onload=x>'),
        ),
        subject="<img src=x onerror=alert(2)>",
        question=True,
    )
    feed(
        store,
        settings,
        arrival="2018-11-07T09:00:00+01:00",
        sender="b@example.org",
        kind=Kind.OTHER,
        subject="</td></tr></table><script>alert(3)</script>",
        review=("<iframe src=//evil.example></iframe> unklar",),
    )


def test_markup_from_mail_is_shown_as_text(tmp_path: Path, store: Store) -> None:
    settings = event_settings(tmp_path)
    hostile_store(store, settings)
    html = build_report(settings, store, NOW)
    page = read_page(html)
    assert_self_contained(page)
    assert "<script>" not in html and "<svg onload" not in html and "<iframe" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert page.column("bestaetigt", 1) == [SCRIPT_NAME]
    assert page.column("bestaetigt", 2) == ['"><svg onload=x>']
    assert "<img src=x onerror=alert(2)>" in page.sections["bearbeitung"]
    assert "<iframe src=//evil.example></iframe> unklar" in page.sections["bearbeitung"]
    assert "Austausch <b>&</b> Co." in page.text  # even the config's title is text


def test_empty_store_gives_a_calm_page(tmp_path: Path, store: Store) -> None:
    page = read_page(build_report(event_settings(tmp_path), store, NOW))
    assert "0 von 2" in page.sections["seats"]
    assert "Noch keine bestätigten Plätze." in page.sections["bestaetigt"]
    assert "Niemand wartet." in page.sections["warteliste"]
    assert "Keine offenen Mails." in page.sections["bearbeitung"]
    assert "Noch keine bestätigten Plätze." in page.sections["verlauf"]


def test_chart_counts_promotions_at_the_cancellation(tmp_path: Path, store: Store) -> None:
    settings = event_settings(tmp_path, capacity=2)
    for day, name in ((6, "Anna Alt"), (7, "Bernd Bode"), (8, "Carla Cramer")):
        address = f"{name.split()[0].lower()}@example.org"
        feed(
            store,
            settings,
            arrival=f"2018-11-{day:02d}T10:00:00+01:00",
            sender=address,
            persons=(Person(name=name, email=address),),
        )
    feed(
        store,
        settings,
        arrival="2018-11-20T10:00:00+01:00",
        sender="anna@example.org",
        kind=Kind.CANCELLATION,
    )
    html = build_report(settings, store, NOW)
    titles = re.findall(r"<title>([^<]*)</title>", html)[1:]  # the markers, after the page
    assert titles == [
        "06.11.2018 10:00 Uhr: 1 von 2 Plätzen belegt",
        "07.11.2018 10:00 Uhr: 2 von 2 Plätzen belegt",
        "20.11.2018 10:00 Uhr: 2 von 2 Plätzen belegt (1 abgemeldet, 1 nachgerückt)",
    ]
    page = read_page(html)
    assert page.column("bestaetigt", 1) == ["Carla Cramer nachgerückt", "Bernd Bode"]
    assert page.column("abmeldungen", 2) == ["20.11.2018 10:00:00"]
    assert page.column("tuerliste", 1)[:2] == ["Bode, Bernd", "Cramer, Carla"]


def test_chart_follows_a_cancellation_by_staff(tmp_path: Path, store: Store) -> None:
    settings = event_settings(tmp_path, capacity=2)
    for day, name in ((6, "Anna Alt"), (7, "Bernd Bode"), (8, "Carla Cramer")):
        address = f"{name.split()[0].lower()}@example.org"
        feed(
            store,
            settings,
            arrival=f"2018-11-{day:02d}T10:00:00+01:00",
            sender=address,
            persons=(Person(name=name, email=address),),
        )
    staff_time = datetime.fromisoformat("2018-11-21T15:30:00+01:00")
    deps = build_deps(settings, store, clock=lambda: staff_time)
    staff.commit(deps, staff.plan_cancel(deps, "bernd@example.org", "Team", "telefonisch"))
    html = build_report(settings, store, NOW)
    titles = re.findall(r"<title>([^<]*)</title>", html)[1:]
    assert (
        titles[-1] == "21.11.2018 15:30 Uhr: 2 von 2 Plätzen belegt (1 abgemeldet, 1 nachgerückt)"
    )
    page = read_page(html)
    assert page.column("bestaetigt", 1) == ["Anna Alt", "Carla Cramer nachgerückt"]
    assert page.column("abmeldungen", 2) == ["21.11.2018 15:30:00"]


def test_surname_and_german_sorting() -> None:
    assert split_name("Anna von Bülow") == ("Bülow", "Anna von")
    assert split_name("Poststelle") == ("Poststelle", "")
    people = [
        _attendee("Zoe Zander", 1),
        _attendee("Ülkü Özdemir", 2),
        _attendee("Otto Ober", 3),
        _attendee("Anna von Bülow", 4),
    ]
    assert [r["name"] for r in door_list(people)] == [
        "Bülow, Anna von",
        "Ober, Otto",
        "Özdemir, Ülkü",
        "Zander, Zoe",
    ]


def _attendee(name: str, seat: int) -> Attendee:
    return Attendee(
        id=f"k#{seat}",
        name=name,
        email=None,
        organization=None,
        contact="x@example.org",
        status=Status.CONFIRMED,
        seat=seat,
        arrival=NOW,
        uid=seat,
        index=0,
        message_key="k",
    )


def test_write_report_replaces_the_file_atomically(tmp_path: Path, store: Store) -> None:
    settings = event_settings(tmp_path)
    target = tmp_path / "share" / "report.html"
    write_report(settings, store, NOW, target)
    # Private by default; `[report] file_mode` opens it for a share (tests/test_files.py).
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    feed(
        store,
        settings,
        arrival="2018-11-06T08:00:00+01:00",
        sender="a@example.org",
        persons=(Person(name="Anna Alt", email="a@example.org"),),
    )
    write_report(settings, store, NOW + timedelta(minutes=5), target)
    assert "Anna Alt" in target.read_text(encoding="utf-8")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]


def test_a_report_that_cannot_be_written_only_logs_a_warning(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "taken").write_text("a file where a folder should be", encoding="utf-8")
    settings = event_settings(tmp_path, report="taken/report.html")
    with caplog.at_level(logging.WARNING, logger="inbox_bot.ui.report"):
        refresh_report(settings, store, NOW)
    assert "not written" in caplog.text
    refresh_report(event_settings(tmp_path), store, NOW)  # no path: nothing to do


def test_report_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    assert event_settings(tmp_path, report="../state/r.html").report.path == (
        tmp_path / "../state/r.html"
    )
    assert event_settings(tmp_path).report.path is None
    shipped = load_settings(Path(__file__).parents[1] / "config/interkommunaler-austausch.toml", {})
    assert shipped.report.path is not None and shipped.report.path.name == "allocation-report.html"


# --------------------------------------------------------------------------- the browser


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "chromium is missing: install the Debian package chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
    return path


def browse(chromium: str, work: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run with a fresh profile; the page by file:// URL."""
    profile = work / f"chromium-profile-{uuid.uuid4().hex}"
    try:
        result = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_browser_shows_the_report(
    chromium: str, corpus_report: dict[str, Any], tmp_path: Path
) -> None:
    dom = browse(chromium, tmp_path, corpus_report["path"], "--dump-dom").stdout
    page = read_page(dom)
    assert "Bestätigte Plätze" in page.text and "Warteliste" in page.text
    assert "Türliste" in page.text and "Verlauf der Anmeldungen" in page.text
    assert "10 von 10" in page.sections["seats"]
    assert page.column("warteliste", 1) == FINAL_WAITLIST
    assert [r[0] for r in page.rows["bestaetigt"]] == [str(n) for n in range(1, 11)]
    assert any(tag == "svg" for tag, _ in page.tags)
    assert not any(tag == "script" for tag, _ in page.tags)


def test_browser_screenshot_is_a_real_page(
    chromium: str, corpus_report: dict[str, Any], tmp_path: Path
) -> None:
    image_module = pytest.importorskip("PIL.Image")
    shot = tmp_path / "report.png"
    browse(
        chromium, tmp_path, corpus_report["path"], f"--screenshot={shot}", "--window-size=1280,2000"
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with image_module.open(shot) as image:
        assert image.size == (1280, 2000)
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 100  # text, cards, chart: not blank
    by_colour = {c: n for n, c in colours}
    page_grey, accent = (0xF3, 0xF5, 0xF7), (0x1F, 0x5F, 0x8B)
    assert by_colour.get(page_grey, 0) > 1280 * 2000 // 10  # the calm page background
    assert by_colour.get(accent, 0) > 2000  # the masthead rule, the seats bar, the chart line
    assert by_colour.get((0xFF, 0xFF, 0xFF), 0) > 1280 * 2000 // 4  # the white cards


def test_markup_from_mail_is_no_element_in_the_browser(
    chromium: str, tmp_path: Path, store: Store
) -> None:
    settings = event_settings(tmp_path)
    hostile_store(store, settings)
    path = write_report(settings, store, NOW, tmp_path / "hostile.html")
    dom = browse(chromium, tmp_path, path, "--dump-dom").stdout
    page = read_page(dom)
    assert not {tag for tag, _ in page.tags} & {"script", "img", "iframe"}
    assert page.column("bestaetigt", 1) == [SCRIPT_NAME]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom


def test_printing_puts_the_door_list_on_its_own_page(
    chromium: str, corpus_report: dict[str, Any], tmp_path: Path
) -> None:
    pdf = tmp_path / "report.pdf"
    browse(
        chromium,
        tmp_path,
        corpus_report["path"],
        f"--print-to-pdf={pdf}",
        "--no-pdf-header-footer",
        "--print-to-pdf-no-header",
    )
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
    assert pages >= 2
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        return  # the page count above is what can be checked without poppler-utils
    texts = []
    for number in range(1, pages + 1):
        texts.append(
            subprocess.run(
                [pdftotext, "-f", str(number), "-l", str(number), "-layout", str(pdf), "-"],
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            ).stdout
        )
    door = [i for i, text in enumerate(texts) if "Ahrens, Nadine" in text]
    assert door == [pages - 1]
    last = texts[-1]
    assert "TÜRLISTE" in last.upper() and "Bestätigte Plätze" not in last
    assert "Verlauf der Anmeldungen" not in last
    names = [n for n in DOOR_ORDER if n in last]
    assert names == DOOR_ORDER  # every confirmed person, sorted by surname
    assert "Sebastian Kortmann" in texts[0]  # the overview comes first
