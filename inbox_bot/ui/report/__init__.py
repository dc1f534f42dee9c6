"""The staff's allocation report: one static HTML page, rewritten after every poll cycle.

`build_report` reads the store and renders `templates/report/report.html` (Jinja2,
autoescape on, StrictUndefined); it touches no network and takes the time as a value.
Everything in the page comes as plain values from context.py (the timeline is folded
by attendee id, core/timeline.py): names, organisations, subjects and review reasons
come from mail and are escaped by the template engine, and the chart is an inline SVG
whose coordinates chart.py computes. The page loads
nothing from outside and runs no script, so it opens from a file share as it is.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import jinja2
import markupsafe

from inbox_bot.adapters.safefiles import private_dir, write_atomic
from inbox_bot.adapters.store import Store
from inbox_bot.config import Settings
from inbox_bot.core.render import default_template_folder
from inbox_bot.core.visible import shown
from inbox_bot.ui.report.chart import seat_chart
from inbox_bot.ui.report.context import KIND_LABELS, door_list, report_context, split_name

__all__ = [
    "DEFAULT_FILE",
    "KIND_LABELS",
    "build_report",
    "door_list",
    "refresh_report",
    "report_context",
    "seat_chart",
    "split_name",
    "write_report",
]

log = logging.getLogger(__name__)

TEMPLATE = "report/report.html"
DEFAULT_FILE = "allocation-report.html"


# --------------------------------------------------------------------------- the page


def build_report(settings: Settings, store: Store, now: datetime, only: str | None = None) -> str:
    """The whole page as a string (pure but for reading the store and the template)."""
    context = report_context(settings, store, now, only if settings.series else None)
    return _environment().get_template(TEMPLATE).render(**context)


def write_report(
    settings: Settings, store: Store, now: datetime, path: Path, only: str | None = None
) -> Path:
    """Render and replace `path` atomically: a reader sees the old page or the new one."""
    html = build_report(settings, store, now, only)
    mode = settings.report.mode  # "0600" unless staff open it for a share's group
    # A folder made for the page may be entered by whoever may read the page.
    private_dir(path.parent, 0o700 | mode & 0o044 | (mode & 0o044) >> 2)
    write_atomic(path, html.encode("utf-8"), mode)
    return path


def refresh_report(settings: Settings, store: Store, now: datetime) -> None:
    """After a poll cycle: write the report if `[report] path` is set; never fail the poll."""
    path = settings.report.path
    if path is None:
        return
    try:
        write_report(settings, store, now, path)
    except Exception as exc:  # a page for staff must never stop the mail from being answered
        log.warning("allocation report %s not written: %s", path, exc)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(default_template_folder())),
        autoescape=True,  # every value in the page may come from a mail
        undefined=jinja2.StrictUndefined,
        # nothing invisible, and names of mixed scripts marked (inbox_bot/visible.py)
        finalize=_shown,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _shown(value: object) -> object:
    # Markup is already ours (and escaped); everything else that is text may be a mail's.
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return shown(value)
    return value
