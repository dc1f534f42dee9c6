"""Staff exports: CSV for German Excel and an XLSX workbook, neither ever a formula.

The hostile names are decided by the real allocation (`decide`) and written with the
real `Store.record`, one transaction per mail as the pipeline does; a second set goes
through Dovecot and `inbox-bot poll`. The exports are always made by the CLI from the
database on disk. Where LibreOffice is installed, it opens the workbook and must show
every name as written (CI installs it; elsewhere the test is skipped without it).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import openpyxl
import pytest
from helpers import record_mail, run_cli, write_config
from servers import Dovecot, SmtpSink

# The exports are made by the CLI in a subprocess; LibreOffice opens them.
pytestmark = pytest.mark.integration

BOM = b"\xef\xbb\xbf"
FORMULA_START = tuple("=+-@\t\r\n|%")
# What a spreadsheet shows where it failed to evaluate a formula.
ERROR_VALUE = re.compile(r"^(#NAME\?|#VALUE!|#REF!|#N/A|#DIV/0!|Err:\d+)$")

# (name, organisation, address): every formula trigger, markup, umlauts, separators.
HOSTILE = [
    ('=HYPERLINK("http://x","a")', "Stadt Dortmund", "hyperlink@example.org"),
    ("+4917612345", "=cmd|'/c calc'!A1", "+4917612345@example.org"),
    ("-Teilnahme", "-Teilnahme GmbH", "-minus@example.org"),
    ("@SUM(1)", "@SUM(1)", "at@example.org"),
    ("\tTab", 'Kreis Unna, Fachbereich "Digitales"', "tab@example.org"),
    ("\rCR", "\tTab e.V.", "cr@example.org"),
    ("\nLF", "+49 231 50-0", "lf@example.org"),
    ("=cmd|'/c calc'!A1", "<script>alert(1)</script>", "=cmd@example.org"),
    ("<script>alert(1)</script>", "%APPDATA%", "script@example.org"),
    ("Jürgen Müßig-Öztürk", "Stadt Lünen; Amt für Bürgerdienste", "jm@example.org"),
    ('Zeile eins\nZeile zwei, "zitiert"', "Straße 1\r\nHaus 2", "lines@example.org"),
    ("Vertical\x0bTab\x00Null", "|pipe", "ctrl@example.org"),
]
LATE = ("=1+1", "@late", "-late@example.org")
STAFF_NOTE = {
    "time": "2018-11-30T11:00:00+00:00",
    "kind": "staff",
    "decision": "staff_note",
    "by": "@admin",
    "reason": "=SUM(1) Rückruf vereinbart",
}
CAPACITY = 5
START = datetime(2018, 11, 5, 8, 0, tzinfo=UTC)


def shown(text: str) -> str:
    """A name as every export must show it: only unprintable control characters gone."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)


def _config(folder: Path, capacity: int = CAPACITY) -> Path:
    """A config whose servers are never contacted: export only reads the database."""
    unused = SimpleNamespace(host="127.0.0.1", port=9, user="nobody")
    return write_config(folder, unused, unused, capacity=capacity)  # type: ignore[arg-type]


def _decide_and_store(store: Any, settings: Any, uid: int, kind: str, person: tuple) -> None:
    """One registration, cancellation or late registration into the store."""
    from inbox_bot.core.model import Kind, Person

    name, organization, address = person
    arrival = START + timedelta(minutes=7 * uid, seconds=uid)
    if kind == "late":
        arrival = settings.event.registration_deadline + timedelta(minutes=1)
    record_mail(
        store,
        settings,
        arrival=arrival,
        sender=address,
        persons=(Person(name=name, email=address, organization=organization),),
        kind=Kind.CANCELLATION if kind == "cancel" else Kind.REGISTRATION,
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A database with the hostile registrations, one cancellation and one late mail,
    exported by the CLI as JSON, CSV and XLSX."""
    from inbox_bot.adapters.store import open_store
    from inbox_bot.config import load_settings

    folder = tmp_path_factory.mktemp("hostile")
    config = _config(folder)
    settings = load_settings(config, {})
    with open_store(settings.storage.database) as store:
        for uid, person in enumerate(HOSTILE, start=1):
            _decide_and_store(store, settings, uid, "register", person)
        # The second person cancels: the head of the waitlist moves up.
        _decide_and_store(store, settings, len(HOSTILE) + 1, "cancel", HOSTILE[1])
        _decide_and_store(store, settings, len(HOSTILE) + 2, "late", LATE)
        store.append_log(STAFF_NOTE)  # a record that answers no mail
    xlsx, csv_file = folder / "teilnehmer.xlsx", folder / "teilnehmer.csv"
    run_cli("export", "--config", str(config), "--format", "xlsx", "--output", str(xlsx))
    run_cli("export", "--config", str(config), "--format", "csv", "--output", str(csv_file))
    exported = json.loads(run_cli("export", "--config", str(config)).stdout)
    return {"folder": folder, "xlsx": xlsx, "csv": csv_file, "json": exported}


def _csv_rows(path: Path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def _sheet_rows(path: Path, title: str) -> list[tuple[Any, ...]]:
    workbook = openpyxl.load_workbook(path)
    return [tuple(c.value for c in row) for row in workbook[title].iter_rows()]


# --------------------------------------------------------------------------- the data


def test_the_hostile_database_holds_what_the_exports_are_tested_on(hostile: dict) -> None:
    people = hostile["json"]["attendees"]
    statuses = {p["email"]: p["status"] for p in people}
    assert statuses["+4917612345@example.org"] == "cancelled"
    assert statuses["-late@example.org"] == "late"
    assert sum(s == "confirmed" for s in statuses.values()) == CAPACITY
    assert sum(s == "waitlisted" for s in statuses.values()) == len(HOSTILE) - CAPACITY - 1
    assert [r["seq"] for r in hostile["json"]["log"]] == list(range(1, len(HOSTILE) + 4))


# --------------------------------------------------------------------------- XLSX


def test_xlsx_has_the_sheets_with_bold_frozen_filtered_headers(hostile: dict) -> None:
    workbook = openpyxl.load_workbook(hostile["xlsx"])
    assert workbook.sheetnames == ["Teilnehmende", "Warteliste", "Entscheidungen", "Alle"]
    headers = {ws.title: [c.value for c in ws[1]] for ws in workbook}
    assert headers["Teilnehmende"] == [
        "Platz", "Name", "Organisation", "E-Mail", "Angemeldet von", "Eingang", "Status",
    ]  # fmt: skip
    assert headers["Warteliste"][0] == "Wartelistenplatz"
    assert headers["Entscheidungen"] == [
        "Zeit", "UID", "Absender", "Personen", "Art", "Entscheidung", "Platz",
        "Wartelistenplatz", "Begründung",
    ]  # fmt: skip
    for ws in workbook:
        assert all(c.font.bold for c in ws[1])
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}"
        for cells in ws.iter_cols():
            width = ws.column_dimensions[cells[0].column_letter].width
            longest = max(len(line) for c in cells for line in str(c.value).splitlines() or [""])
            assert len(str(cells[0].value)) < width <= 60, (ws.title, cells[0].value)
            if all(isinstance(c.value, str | None) for c in cells):  # text: fits, up to the cap
                assert width >= min(longest, 58), (ws.title, cells[0].value)


def test_xlsx_cells_are_typed_and_text_is_never_a_formula(hostile: dict) -> None:
    workbook = openpyxl.load_workbook(hostile["xlsx"])
    typed = {"Platz": "n", "Wartelistenplatz": "n", "Warteliste": "n", "UID": "n"}
    typed |= {"Eingang": "d", "Zeit": "d"}
    for ws in workbook:
        titles = [c.value for c in ws[1]]
        for row in ws.iter_rows(min_row=2):
            for title, cell in zip(titles, row, strict=True):
                if cell.value is None:
                    continue
                assert cell.data_type == typed.get(title, "s"), (ws.title, cell.coordinate)
                if cell.data_type == "d":
                    assert cell.number_format == "DD.MM.YYYY HH:MM:SS"
                    assert cell.value.tzinfo is None
    with zipfile.ZipFile(hostile["xlsx"]) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == 4
        for name in sheets:
            xml = archive.read(name).decode("utf-8")
            assert not re.search(r"<f[\s>/]", xml), name  # no formula element anywhere
            assert "<hyperlink" not in xml  # no link, whatever a cell says
        assert not any("externalLink" in n or "_rels/sheet" in n for n in archive.namelist())


def test_xlsx_sheets_hold_every_name_as_written(hostile: dict) -> None:
    people = hostile["json"]["attendees"]
    confirmed = _sheet_rows(hostile["xlsx"], "Teilnehmende")[1:]
    assert [r[0] for r in confirmed] == list(range(1, CAPACITY + 1))
    expected = sorted((p for p in people if p["status"] == "confirmed"), key=lambda p: p["seat"])
    assert [r[1:5] for r in confirmed] == [
        (p["name"], p["organization"], p["email"], p["contact"]) for p in expected
    ]
    waiting = _sheet_rows(hostile["xlsx"], "Warteliste")[1:]
    assert [r[0] for r in waiting] == list(range(1, len(waiting) + 1))
    everybody = _sheet_rows(hostile["xlsx"], "Alle")[1:]
    assert len(everybody) == len(HOSTILE) + 1
    names = {r[3] for r in everybody}
    assert names == {shown(n) for n, _, _ in [*HOSTILE, LATE]}
    orgs = {r[4] for r in everybody}
    assert orgs == {shown(o) for _, o, _ in [*HOSTILE, LATE]}
    # Arrival: a real date in Berlin time (CET in November: UTC+1), no zone.
    first = next(r for r in everybody if r[5] == "hyperlink@example.org")
    assert first[7] == datetime(2018, 11, 5, 9, 7, 1)


def test_xlsx_decision_sheet_has_one_row_per_log_record(hostile: dict) -> None:
    log = hostile["json"]["log"]
    rows = _sheet_rows(hostile["xlsx"], "Entscheidungen")[1:]
    assert len(rows) == len(log)
    *mails, staff = rows
    for row, record in zip(mails, log[:-1], strict=True):
        assert row[1] == record["uid"]
        assert row[2] == record["sender"]
        assert row[5] == record["decision"]
        assert row[6] == record["seat"]
        assert row[7] == record["waitlist_position"]
        assert row[8] == shown(record["reason"])
        assert row[0] == datetime.fromisoformat(record["received_at"]).replace(tzinfo=None)
    assert rows[0][3] == HOSTILE[0][0]
    # A staff record: the time it was done (Berlin time), the member of staff.
    assert staff == (
        datetime(2018, 11, 30, 12, 0),
        None,
        "@admin",
        None,
        "staff",
        "staff_note",
        None,
        None,
        "=SUM(1) Rückruf vereinbart",
    )
    assert rows[0][8].startswith('=HYPERLINK("http://x","a")')  # text, not a formula


def test_xlsx_needs_an_output_file(tmp_path: Path) -> None:
    config = _config(tmp_path)
    result = run_cli("export", "--config", str(config), "--format", "xlsx", check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0
    assert "--output" in result.stderr


# --------------------------------------------------------------------------- CSV


def test_csv_is_for_german_excel_and_never_a_formula(hostile: dict) -> None:
    raw = hostile["csv"].read_bytes()
    assert raw.startswith(BOM)
    text = raw[len(BOM) :].decode("utf-8")
    header, _, _ = text.partition("\r\n")
    assert header.split(";")[:4] == ['"Status"', '"Platz"', '"Warteliste"', '"Name"']
    # Every record ends in CRLF; a bare LF or CR is only ever inside a quoted field.
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert text.endswith("\r\n")
    assert text.count("\r\n") >= len(rows)
    assert len(rows) == len(HOSTILE) + 2
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(FORMULA_START), row
    names = {row[3] for row in rows[1:]}
    orgs = {row[4] for row in rows[1:]}
    for name, organization, _ in [*HOSTILE, LATE]:
        for value, found in ((name, names), (organization, orgs)):
            value = shown(value)
            expected = "'" + value if value.startswith(FORMULA_START) else value
            assert expected in found, value


def test_csv_keeps_umlauts_separators_quotes_and_line_breaks(hostile: dict) -> None:
    rows = _csv_rows(hostile["csv"])
    by_mail = {row[5]: row for row in rows[1:]}
    assert by_mail["jm@example.org"][3:5] == [
        "Jürgen Müßig-Öztürk",
        "Stadt Lünen; Amt für Bürgerdienste",
    ]
    assert by_mail["lines@example.org"][3:5] == [
        'Zeile eins\nZeile zwei, "zitiert"',
        "Straße 1\r\nHaus 2",
    ]
    assert by_mail["tab@example.org"][4] == 'Kreis Unna, Fachbereich "Digitales"'
    assert by_mail["ctrl@example.org"][3] == "VerticalTabNull"
    assert by_mail["'+4917612345@example.org"][0] == "cancelled"


# --------------------------------------------------------------------------- LibreOffice


def _office() -> str:
    binary = shutil.which("libreoffice") or shutil.which("soffice")
    if binary is None:
        message = "LibreOffice is not installed (Debian: libreoffice-calc-nogui)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
    return binary


def _office_csv(workbook: Path, out: Path) -> dict[str, list[list[str]]]:
    """Every sheet as LibreOffice Calc shows it (cell contents as shown, values of any
    formula rather than the formula): CSV with ";", UTF-8."""
    out.mkdir()
    profile = out / "profile"
    subprocess.run(
        [
            _office(),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):59,34,76,1,,0,false,true,true,false,false,-1",
            "--outdir",
            str(out),
            str(workbook),
        ],
        check=True,
        capture_output=True,
        timeout=180,
        env={**os.environ, "HOME": str(out)},
    )
    sheets = {}
    for path in sorted(out.glob("*.csv")):
        sheet = path.stem.removeprefix(workbook.stem).lstrip("-") or "first"
        text = path.read_bytes().decode("utf-8-sig")
        sheets[sheet] = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert sheets, "LibreOffice wrote no CSV"
    return sheets


def _same_text(a: str, b: str) -> bool:
    """Equal up to how line ends are written (LibreOffice writes CR LF in a cell as LF)."""

    def lines(text: str) -> str:
        return text.replace("\r\n", "\n").replace("\r", "\n")

    return lines(a) == lines(b)


def test_libreoffice_shows_every_name_intact_and_no_formula(hostile: dict, tmp_path: Path) -> None:
    sheets = _office_csv(hostile["xlsx"], tmp_path / "office")
    assert {"Teilnehmende", "first"} & set(sheets)
    first = sheets.get("Teilnehmende") or sheets["first"]
    assert first[0][:2] == ["Platz", "Name"]
    confirmed = sorted(
        (p for p in hostile["json"]["attendees"] if p["status"] == "confirmed"),
        key=lambda p: p["seat"],
    )
    assert [r[0] for r in first[1:]] == [str(n) for n in range(1, CAPACITY + 1)]
    for row, person in zip(first[1:], confirmed, strict=True):
        assert _same_text(row[1], person["name"]), (row[1], person["name"])
        assert _same_text(row[2], person["organization"])
        assert row[5] == datetime.fromisoformat(person["registered_at"]).strftime(
            "%d.%m.%Y %H:%M:%S"
        )
    if "Alle" in sheets:  # LibreOffice 7.2+ exports every sheet
        everybody = sheets["Alle"]
        for name, organization, _ in [*HOSTILE, LATE]:
            assert any(_same_text(r[3], shown(name)) for r in everybody[1:]), name
            assert any(_same_text(r[4], shown(organization)) for r in everybody[1:]), organization
    for rows in sheets.values():
        for row in rows:
            for cell in row:
                assert not ERROR_VALUE.match(cell), row  # a formula's result, not the text


# --------------------------------------------------------------------------- real pipeline


def _registration(name: str, address: str, n: int) -> bytes:
    return (
        f"From: {name} <{address}>\r\n"
        "To: smartcity@dortmund.de\r\n"
        "Subject: Anmeldung Interkommunaler Austausch\r\n"
        f"Message-ID: <export-{n}@example.org>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Hallo,\r\n\r\n"
        "hiermit melde ich mich zum Interkommunalen Austausch am 5. Dezember an.\r\n\r\n"
        f"Viele Grüße\r\n{name}\r\n"
    ).encode()


PIPELINE = [
    ("Anna Weiß", "+4917612345@example.org"),
    ("Jörg Öztürk", "-teilnahme@example.org"),
    ("Heike Groß", "=cmd|'/c_calc'!A1@example.org"),
    ("Günter Schürmann", "g.schuermann@example.org"),
]


def test_mail_through_the_pipeline_exports_safely(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink
) -> None:
    config = write_config(tmp_path, mailbox, smtp_sink, capacity=3)
    for n, (name, address) in enumerate(PIPELINE):
        mailbox.append(_registration(name, address, n), START + timedelta(minutes=n))
    run_cli("poll", "--config", str(config), imap=mailbox)
    xlsx, csv_file = tmp_path / "out.xlsx", tmp_path / "out.csv"
    run_cli("export", "--config", str(config), "--format", "xlsx", "--output", str(xlsx))
    run_cli("export", "--config", str(config), "--format", "csv", "--output", str(csv_file))

    confirmed = _sheet_rows(xlsx, "Teilnehmende")[1:]
    assert [(r[0], r[1], r[3]) for r in confirmed] == [
        (seat, name, address) for seat, (name, address) in enumerate(PIPELINE[:3], start=1)
    ]
    assert [r[1] for r in _sheet_rows(xlsx, "Warteliste")[1:]] == ["Günter Schürmann"]
    log_lines = (tmp_path / "state/allocation-log.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(_sheet_rows(xlsx, "Entscheidungen")) == 1 + len(log_lines)
    with zipfile.ZipFile(xlsx) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert not re.search(rb"<f[\s>/]", archive.read(name))

    rows = _csv_rows(csv_file)
    emails = [r[5] for r in rows[1:]]
    assert emails == [
        "'+4917612345@example.org",
        "'-teilnahme@example.org",
        "'=cmd|'/c_calc'!A1@example.org",
        "g.schuermann@example.org",
    ]
