"""A plain `pip install .` gives a working `inbox-bot` with its templates and data inside."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# The installed console script and interpreter, in subprocesses.
pytestmark = pytest.mark.integration

SCRIPT = Path(sys.executable).with_name("inbox-bot")


@pytest.fixture
def installed() -> Path:
    if not SCRIPT.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {SCRIPT} is missing: .ci/run must pip install the project")
        pytest.skip("inbox-bot is not installed into this interpreter's environment")
    return SCRIPT


def test_installed_package_carries_templates_and_data(installed: Path, tmp_path: Path) -> None:
    probe = (
        "import inbox_bot.core.render as r, importlib.resources as res;"
        "f = r.default_template_folder();"
        "print(f);"
        "print((f / 'de' / 'acceptance.txt').is_file(), (f / 'en' / 'waitlist.txt').is_file());"
        "print(res.files('inbox_bot').joinpath('data/organizations.toml').is_file())"
    )
    # Run from an empty folder so the source checkout cannot stand in for the install.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert out[1:3] == ["True True", "True"]


def test_installed_console_script_runs_the_demo(installed: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [str(installed), "demo", "--workdir", str(tmp_path / "demo")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Auto-Submitted: auto-replied" in result.stdout
    assert "Traceback" not in result.stderr
