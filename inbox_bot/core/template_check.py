"""Every template in use rendered once with sample data, before a poll decides anything.

A typo in a staff-edited template would otherwise show only when its kind of reply is
first needed: the decision is kept and staff must answer by hand. Checked at the start
of `poll`, `run` and `console`, it stops them with one line naming the file and line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import jinja2

from inbox_bot.core.allocate import Placement
from inbox_bot.core.model import Attendee, ReplyKind, Status
from inbox_bot.core.render import LANGUAGES, Renderer
from inbox_bot.errors import TemplateError

_SAMPLE_TIME = datetime(2000, 1, 1, 9, 0, tzinfo=UTC)
# The subject macros: of each mail that answers no mail, and of a reply without subject.
_SUBJECTS = (
    ReplyKind.PROMOTION,
    ReplyKind.REGISTERED_NOTICE,
    ReplyKind.CANCELLED_NOTICE,
    ReplyKind.REMINDER,
    ReplyKind.WAITLIST_CLOSED,
    "admitted",
    "no_subject",
)


def check_templates(renderer: Renderer) -> None:
    """Raise TemplateError (file and line) for the first template that does not render."""
    sample = Attendee(
        id="check#0",
        name="Erika Mustermann",
        email="erika@example.org",
        organization="Stadt Beispiel",
        contact="erika@example.org",
        status=Status.CONFIRMED,
        seat=1,
        arrival=_SAMPLE_TIME,
        uid=1,
        index=0,
        message_key="check",
    )
    placements = (Placement(attendee=sample),)
    for language in LANGUAGES:
        context = renderer.context(placements, language, arrival=_SAMPLE_TIME)
        for kind in ReplyKind:
            _checked(partial(renderer.body, kind, language, context))
        for name in _SUBJECTS:
            _checked(partial(renderer.subject, name, language))
        # the wording files (_subjects.txt, _calendar.txt) through their macros
        _checked(partial(renderer.calendar_texts, placements, language))


def _checked(render: Callable[[], object]) -> None:
    try:
        render()
    except TemplateError as exc:
        cause = exc.__cause__
        if isinstance(cause, jinja2.TemplateSyntaxError) and cause.lineno:
            where = cause.filename or cause.name or "template"
            raise TemplateError(f"{where}, line {cause.lineno}: {cause.message}") from cause
        raise
