"""The files the bot writes: private modes, no writing through planted links, a log file
that stays appended exactly once, and the config refusing clear text and open secrets.

Modes are checked as `ls -l` shows them, with the process umask at a lax 022: the bot's
own explicit modes must hold without the CLI's umask.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from helpers import write_config

from inbox_bot.adapters.logfile import FILE_STATE_KEY, rewrite_log_file, sync_log_file
from inbox_bot.adapters.store import Store, open_store
from inbox_bot.app import staff
from inbox_bot.config import Settings, load_settings, settings_from_mapping
from inbox_bot.core.audit import (
    MAX_PERSONS,
    MAX_REASON_CHARS,
    mail_record,
    to_json,
    undecided_record,
)
from inbox_bot.errors import ConfigError, StoreError
from inbox_bot.ui.report import write_report

NOW = datetime.fromisoformat("2018-11-26T09:00:00+01:00")
OUTSIDE_TEXT = "a file of someone else's\n"


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def raw_config(**sections: dict[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "imap": {"host": "127.0.0.1", "security": "none", "username": "bot@example.org"},
        "smtp": {"host": "127.0.0.1", "security": "none", "from_address": "bot@example.org"},
        "event": {
            "title": "Interkommunaler Austausch",
            "organizer": "Stadt Dortmund",
            "starts_at": "2030-12-05T10:00:00+01:00",
            "ends_at": "2030-12-05T13:00:00+01:00",
            "venue": "Rathaus",
            "capacity": 10,
            "registration_deadline": "2030-11-23T23:59:59+01:00",
        },
        "storage": {"database": "state/bot.sqlite3", "log": "state/allocation-log.jsonl"},
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    return raw


def settings(tmp_path: Path, **sections: dict[str, Any]) -> Settings:
    return settings_from_mapping(raw_config(**sections), base=tmp_path, environ={})


def note(store: Store, reason: str) -> None:
    """A staff note (not capped: it comes from staff) through inbox_bot.app.staff."""
    deps: Any = SimpleNamespace(store=store, clock=lambda: NOW, settings=settings(Path("/")))
    staff.note(deps, "a@example.org", "Frau Schmidt", reason)


def config_file(folder: Path, extra: str = "") -> Path:
    """The tests' TOML config; its servers are never contacted."""
    unused = SimpleNamespace(host="127.0.0.1", port=9, user="nobody")
    return write_config(folder, unused, unused, extra=extra)  # type: ignore[arg-type]


def inbox_bot(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process, started under umask 022."""
    with umask(0o022):
        return subprocess.run(
            [sys.executable, "-m", "inbox_bot", *args],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
            timeout=120,
            check=False,
        )


def outside_file(tmp_path: Path) -> Path:
    outside = tmp_path / "elsewhere" / "victim.txt"
    outside.parent.mkdir()
    outside.write_text(OUTSIDE_TEXT, encoding="utf-8")
    outside.chmod(0o644)
    return outside


def assert_one_clear_line(result: subprocess.CompletedProcess[str], path: Path) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("inbox-bot: error: ") and str(path) in line and "link" in line


# --------------------------------------------------------------------------- modes


def test_state_folder_and_every_file_are_private_under_umask_022(tmp_path: Path) -> None:
    config = settings(tmp_path)
    state = tmp_path / "state"
    database = config.storage.database
    with umask(0o022), open_store(database) as store:
        store.lock()
        note(store, "angerufen")
        sync_log_file(store, config.storage.log)
        write_report(config, store, NOW, tmp_path / "share" / "report.html")
        modes = {
            path.name: mode(path)
            for path in (
                state,
                database,
                Path(f"{database}-wal"),
                Path(f"{database}-shm"),
                Path(f"{database}.lock"),
                config.storage.log,
                tmp_path / "share",
                tmp_path / "share" / "report.html",
            )
        }
    assert modes == {
        "state": 0o700,
        "bot.sqlite3": 0o600,
        "bot.sqlite3-wal": 0o600,
        "bot.sqlite3-shm": 0o600,
        "bot.sqlite3.lock": 0o600,
        "allocation-log.jsonl": 0o600,
        "share": 0o700,
        "report.html": 0o600,
    }


def test_files_of_an_older_version_become_private(tmp_path: Path) -> None:
    config = settings(tmp_path)
    with umask(0o022):
        with open_store(config.storage.database) as store:
            note(store, "vorher")
            sync_log_file(store, config.storage.log)
        for path in (config.storage.database, config.storage.log):
            path.chmod(0o644)
        with open_store(config.storage.database) as store:
            note(store, "nachher")
            sync_log_file(store, config.storage.log)
    assert mode(config.storage.database) == 0o600
    assert mode(config.storage.log) == 0o600


@pytest.mark.integration
def test_the_cli_writes_private_exports_and_the_report_mode_staff_chose(tmp_path: Path) -> None:
    share = tmp_path / "share"
    config = config_file(tmp_path, extra=f'[report]\npath = "{share}/report.html"\n')
    with config.open("a", encoding="utf-8") as handle:
        handle.write('file_mode = "0640"\n')
    exported = tmp_path / "teilnehmer.csv"
    for args in (
        ("export", "--config", str(config), "--format", "csv", "--output", str(exported)),
        ("report", "--config", str(config)),
    ):
        result = inbox_bot(*args)
        assert result.returncode == 0, result.stderr
    assert mode(tmp_path / "state") == 0o700
    assert mode(tmp_path / "state" / "bot.sqlite3") == 0o600
    assert mode(exported) == 0o600
    assert mode(share / "report.html") == 0o640
    assert mode(share) == 0o750  # the group that may read the page may enter its folder


def test_the_report_is_not_opened_to_everybody_under_umask_077(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    with umask(0o077), open_store(tmp_path / "bot.sqlite3") as store:
        write_report(settings(tmp_path), store, NOW, target)
        assert mode(target) == 0o600
        target.chmod(0o644)  # as an older version left it
        write_report(settings(tmp_path), store, NOW, target)
        assert mode(target) == 0o600
        write_report(settings(tmp_path, report={"file_mode": "0640"}), store, NOW, target)
        assert mode(target) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir() if "report" in p.name) == ["report.html"]


@pytest.mark.parametrize("value", ["0600", "0640", "0644", "600", "0o640"])
def test_report_file_mode_accepts_owner_rw_and_read_for_others(tmp_path: Path, value: str) -> None:
    chosen = settings(tmp_path, report={"file_mode": value}).report
    assert chosen.mode == int(value.removeprefix("0o"), 8)


@pytest.mark.parametrize(
    "value", ["0666", "0755", "0400", "0700", "1644", "rw-r-----", "", "06400"]
)
def test_report_file_mode_refuses_anything_else(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"^report\.file_mode: "):
        settings(tmp_path, report={"file_mode": value})


# --------------------------------------------------------------------------- links


@pytest.mark.integration
def test_export_replaces_a_link_at_the_target_never_its_target(tmp_path: Path) -> None:
    outside = outside_file(tmp_path)
    config = config_file(tmp_path)
    target = tmp_path / "teilnehmer.csv"
    target.symlink_to(outside)
    result = inbox_bot(
        "export", "--config", str(config), "--format", "csv", "--output", str(target)
    )
    assert result.returncode == 0, result.stderr
    assert outside.read_text(encoding="utf-8") == OUTSIDE_TEXT
    assert mode(outside) == 0o644
    assert not target.is_symlink() and mode(target) == 0o600
    assert target.read_bytes()  # the attendee list (a header at least)


@pytest.mark.integration
def test_export_into_a_missing_folder_is_one_clear_line(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    target = tmp_path / "no-such-folder" / "teilnehmer.csv"
    result = inbox_bot("export", "--config", str(config), "--output", str(target))
    assert result.returncode == 1
    assert result.stderr.strip() == (f"inbox-bot: cannot write {target}: No such file or directory")


def test_a_link_at_the_log_path_is_refused_with_the_path_named(tmp_path: Path) -> None:
    outside = outside_file(tmp_path)
    config = settings(tmp_path)
    with open_store(config.storage.database) as store:
        note(store, "angerufen")
        config.storage.log.symlink_to(outside)
        with pytest.raises(StoreError, match="symbolic link") as refused:
            sync_log_file(store, config.storage.log)
    assert str(config.storage.log) in str(refused.value)
    assert outside.read_text(encoding="utf-8") == OUTSIDE_TEXT
    assert mode(outside) == 0o644


@pytest.mark.integration
def test_the_cli_refuses_a_linked_log_in_one_line(tmp_path: Path) -> None:
    outside = outside_file(tmp_path)
    config = config_file(tmp_path)
    log = tmp_path / "state" / "allocation-log.jsonl"
    with open_store(load_settings(config, {}).storage.database) as store:
        note(store, "angerufen")
    log.symlink_to(outside)
    result = inbox_bot("note", "--config", str(config), "a@example.org", "--reason", "x")
    assert_one_clear_line(result, log)
    assert outside.read_text(encoding="utf-8") == OUTSIDE_TEXT


def test_a_rewritten_log_replaces_a_link_never_its_target(tmp_path: Path) -> None:
    outside = outside_file(tmp_path)
    config = settings(tmp_path)
    with open_store(config.storage.database) as store:
        note(store, "angerufen")
        config.storage.log.symlink_to(outside)
        rewrite_log_file(store, config.storage.log)
        assert sync_log_file(store, config.storage.log) == 0
    assert outside.read_text(encoding="utf-8") == OUTSIDE_TEXT
    assert not config.storage.log.is_symlink() and mode(config.storage.log) == 0o600
    assert [json.loads(line)["seq"] for line in config.storage.log.read_text().splitlines()] == [1]


@pytest.mark.integration
def test_a_link_at_the_lock_path_is_refused_before_any_server_is_asked(tmp_path: Path) -> None:
    outside = outside_file(tmp_path)
    config = config_file(tmp_path)
    lock = tmp_path / "state" / "bot.sqlite3.lock"
    lock.parent.mkdir()
    lock.symlink_to(outside)
    assert_one_clear_line(inbox_bot("poll", "--config", str(config)), lock)
    assert outside.read_text(encoding="utf-8") == OUTSIDE_TEXT
    assert mode(outside) == 0o644


def test_a_link_at_the_database_or_its_journal_is_refused(tmp_path: Path) -> None:
    outside = outside_file(tmp_path)
    database = tmp_path / "state" / "bot.sqlite3"
    database.parent.mkdir()
    for planted in (database, Path(f"{database}-wal")):
        planted.symlink_to(outside)
        with pytest.raises(StoreError, match="symbolic link") as refused:
            open_store(database)
        assert str(planted) in str(refused.value)
        planted.unlink()
    assert outside.read_text(encoding="utf-8") == OUTSIDE_TEXT


def test_the_report_replaces_a_link_never_its_target(tmp_path: Path) -> None:
    outside = outside_file(tmp_path)
    target = tmp_path / "report.html"
    target.symlink_to(outside)
    with open_store(tmp_path / "bot.sqlite3") as store:
        write_report(settings(tmp_path), store, NOW, target)
    assert outside.read_text(encoding="utf-8") == OUTSIDE_TEXT
    assert not target.is_symlink() and "<html" in target.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the log file


def _seqs(log: Path) -> list[int]:
    return [json.loads(line)["seq"] for line in log.read_text(encoding="utf-8").splitlines()]


@pytest.mark.integration
def test_a_record_over_64_kb_is_appended_once_and_the_log_verifies(tmp_path: Path) -> None:
    config_path = config_file(tmp_path)
    config = load_settings(config_path, {})
    log = config.storage.log
    with open_store(config.storage.database) as store:
        note(store, "vorher")
        note(store, "Telefonnotiz: " + "sehr lang " * 7_800)  # 78 KB, from staff: not cut
        assert sync_log_file(store, log) == 2
        assert sync_log_file(store, log) == 0
        store.set_meta(FILE_STATE_KEY, "")  # forgotten: the file's end must tell
        assert sync_log_file(store, log) == 0
        note(store, "nachher")
        assert sync_log_file(store, log) == 1
    assert log.stat().st_size > 78_000
    assert _seqs(log) == [1, 2, 3]
    result = inbox_bot("verify-log", "--config", str(config_path))
    assert result.returncode == 0, result.stderr
    assert "3 Einträge geprüft" in result.stdout


def test_a_replaced_or_emptied_log_file_is_noticed(tmp_path: Path) -> None:
    config = settings(tmp_path)
    log = config.storage.log
    with open_store(config.storage.database) as store:
        note(store, "eins")
        note(store, "zwei " * 20_000)
        sync_log_file(store, log)
        log.unlink()  # someone moved the file away: a new one gets every record
        assert sync_log_file(store, log) == 2
        with log.open("r+b") as handle:  # cut into the last record, as a crash would
            handle.truncate(log.stat().st_size - 10)
        assert sync_log_file(store, log) == 1
    lines = log.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["seq"] for line in (lines[0], lines[2])] == [1, 2]


def test_a_reason_from_mail_is_cut_and_says_how_much(tmp_path: Path) -> None:
    record = to_json(
        undecided_record(
            now=NOW,
            uid=1,
            uidvalidity=1,
            message_id=None,
            arrival=NOW,
            kind="other",
            decision="review",
            needs_review=True,
            reason="x" * 100_000,
        ),
        settings(tmp_path).event.zone,
    )
    assert record["reason"] == "x" * MAX_REASON_CHARS + "… [96000 Zeichen gekürzt]"


def test_the_persons_of_a_record_are_cut_with_a_count(tmp_path: Path) -> None:
    from inbox_bot.core.allocate import Decision, Outcome, Placement, Request
    from inbox_bot.core.model import Attendee, Intent, Kind, Status

    def placement(n: int) -> Placement:
        attendee = Attendee(
            id=f"a{n}",
            name=f"Person {n}",
            email=None,
            organization=None,
            contact="a@example.org",
            status=Status.WAITLISTED,
            seat=None,
            arrival=NOW,
            uid=1,
            index=n,
            message_key="k",
        )
        return Placement(attendee=attendee, waitlist_position=n)

    request = Request(
        message_key="k",
        uid=1,
        arrival=NOW,
        sender="a@example.org",
        contact="a@example.org",
        intent=Intent(kind=Kind.REGISTRATION),
    )
    placements = tuple(placement(n) for n in range(1, 81))
    record = to_json(
        mail_record(
            now=NOW,
            request=request,
            decision=Decision(
                outcome=Outcome.WAITLISTED, reply=None, placements=placements, promotions=placements
            ),
            uidvalidity=1,
            message_id=None,
            reply_ids=[],
        ),
        settings(tmp_path).event.zone,
    )
    assert [p["name"] for p in record["persons"]] == [f"Person {n}" for n in range(1, 51)]
    assert len(record["promoted"]) == MAX_PERSONS
    assert (record["persons_not_listed"], record["promoted_not_listed"]) == (30, 30)


# --------------------------------------------------------------------------- the config


@pytest.mark.parametrize("section", ["imap", "smtp"])
def test_clear_text_to_a_remote_host_is_refused_naming_the_key(
    tmp_path: Path, section: str
) -> None:
    raw = raw_config(**{section: {"host": "mail.example.org", "security": "none"}})
    with pytest.raises(ConfigError) as refused:
        settings_from_mapping(raw, base=tmp_path, environ={})
    [line] = str(refused.value).splitlines()
    assert line.startswith(f"{section}.security: ") and "mail.example.org" in line


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1"])
def test_clear_text_on_this_machine_is_accepted(tmp_path: Path, host: str) -> None:
    raw = raw_config(imap={"host": host}, smtp={"host": host})
    chosen = settings_from_mapping(raw, base=tmp_path, environ={})
    assert (chosen.imap.host, chosen.smtp.port) == (host, 25)


def test_a_password_file_others_can_read_is_refused_like_ssh_does(tmp_path: Path) -> None:
    secret = tmp_path / "imap-password"
    secret.write_text("geheim\n", encoding="utf-8")
    secret.chmod(0o644)
    raw = raw_config(imap={"password_file": "imap-password"})
    with pytest.raises(ConfigError) as refused:
        settings_from_mapping(raw, base=tmp_path, environ={})
    assert str(refused.value) == (
        f"imap.password_file: {secret} is readable by others (mode 0644); chmod 600 it"
    )
    secret.chmod(0o600)
    chosen = settings_from_mapping(raw, base=tmp_path, environ={})
    assert chosen.imap.password is not None
    assert chosen.imap.password.get_secret_value() == "geheim"
