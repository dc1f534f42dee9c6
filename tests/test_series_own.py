"""Our own labelled series (tests/series-mail: three workshops of 2026, written by
someone else than the code) through Dovecot and the CLI: one poll places every person
as the folder's README says. Needs no ../shared: this runs in a stranger's clone too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import corpus_labels, deliver_corpus, run_cli, write_config
from servers import Dovecot, SmtpSink
from test_series import _by_event, _events_toml, _surname

# Our own series (tests/series-mail, README "Expected"), written by someone else than the
# code, for other workshops: three of five seats each, all with a waitlist.
OWN = Path(__file__).parent / "series-mail"
OWN_SEATS = {
    "mobilitaet": ["Brauckmann", "Plümpe", "Whitcombe", "Kemper", "Höltke"],
    "klima": ["Bettermann", "Brinkhoff", "Plümpe", "Rosenbaum", "Höltke"],
    "verwaltung": ["Plümpe", "Kettler", "Gallagher", "Overkamp", "Hülsbusch"],
}
OWN_WAITLIST = {
    "mobilitaet": ["Zurhausen", "Vogelsang", "Rahmann"],
    "klima": ["Zurhausen", "Imholz", "Wiemers", "Overkamp"],
    "verwaltung": ["Ahlmann", "Osei", "Gosewinkel", "Schnittker"],
}


@pytest.fixture(scope="module")
def own_series(
    tmp_path_factory: pytest.TempPathFactory, module_mailbox: Dovecot, module_smtp_sink: SmtpSink
) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("own-series")
    config = write_config(folder, module_mailbox, module_smtp_sink, events=_events_toml(OWN))
    uids = deliver_corpus(OWN, module_mailbox)
    run_cli("poll", "--config", str(config), imap=module_mailbox)
    export = json.loads(run_cli("export", "--config", str(config)).stdout)
    return {"config": config, "uids": uids, "labels": corpus_labels(OWN), "export": export}


def test_our_own_series_places_everyone_as_its_readme_says(own_series: dict) -> None:
    lists = _by_event(own_series["export"])
    assert {k: sorted(v["confirmed"]) for k, v in lists.items()} == {
        k: sorted(v) for k, v in OWN_SEATS.items()
    }
    assert {k: v["waitlisted"] for k, v in lists.items()} == OWN_WAITLIST
    late = {k: v["late"] for k, v in lists.items() if v["late"]}
    expected: dict[str, list[str]] = {}
    for lab in own_series["labels"]:
        if lab.kind == "late_registration":
            for person in lab.raw["registers"]:
                expected.setdefault(person["event"], []).append(_surname(person["name"]))
    assert late == expected
    messages = {m["uid"]: m for m in own_series["export"]["messages"]}
    for lab in own_series["labels"]:
        if lab.raw["notes"].startswith("ambiguous"):
            message = messages[own_series["uids"][lab.file]]
            assert message["needs_review"] and message["events"] == [], lab.file
