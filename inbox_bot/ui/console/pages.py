"""The console's pages (read only): overview, review queue, people, exports, door list.

Names, subjects, reasons and mail text come from mail: the template engine escapes all
of them (autoescape), and `shown` marks mixed scripts as everywhere else.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from typing import Any

from flask import Flask, Response, abort, current_app, g, render_template, request

from inbox_bot.adapters.store import MessageRow
from inbox_bot.app.allocation import allocation
from inbox_bot.app.deps import Deps
from inbox_bot.app.review_now import current_notes
from inbox_bot.core.audit import from_json
from inbox_bot.core.model import Analysis, Attendee
from inbox_bot.core.story import story
from inbox_bot.core.template_check import check_templates
from inbox_bot.core.visible import shown
from inbox_bot.errors import TemplateError
from inbox_bot.ui.console.auth import signed_in
from inbox_bot.ui.export import attendees_csv, attendees_xlsx
from inbox_bot.ui.report import report_context
from inbox_bot.ui.statusline import status_times


def _console() -> Any:
    return current_app.extensions["inbox_bot_console"]


def install(app: Flask) -> None:
    app.jinja_env.filters["shown"] = lambda value: shown(value) if value else ""
    _install_people(app)
    _install_downloads(app)

    @app.route("/")
    @signed_in
    def overview() -> str:
        console = _console()
        with console.deps() as deps:
            context = report_context(deps.settings, deps.store, console.clock())
            status = status_times(deps.settings, deps.store)
            template_problem = _template_problem(deps)
        return render_template(
            "overview.html",
            page=context,
            status=status,
            template_problem=template_problem,
            series=deps.settings.series,
        )

    @app.route("/review")
    @signed_in
    def review() -> str:
        with _console().deps() as deps:
            now = current_notes(deps.store.attendees())
            rows = [_review_row(deps, row, now) for row in deps.store.review_queue()]
        return render_template("review.html", rows=rows)

    @app.route("/review/<int:ref>")
    @signed_in
    def review_mail(ref: int) -> str:
        with _console().deps() as deps:
            row = deps.store.message(ref)
            if row is None:
                abort(404)
            return render_template("review_mail.html", **review_details(deps, row))


def _install_people(app: Flask) -> None:
    @app.route("/people")
    @signed_in
    def people() -> str:
        query = (request.args.get("q") or "").strip()
        with _console().deps() as deps:
            found = [a for a in deps.store.attendees() if _matches(a, query)]
            titles = {e.key: e.title for e in deps.settings.events}
        return render_template("people.html", query=query, people=found, titles=titles)

    @app.route("/people/<path:attendee_id>")
    @signed_in
    def person(attendee_id: str) -> str:
        with _console().deps() as deps:
            return render_template("person.html", **person_details(deps, attendee_id))


def _install_downloads(app: Flask) -> None:
    @app.route("/export.<fmt>")
    @signed_in
    def export(fmt: str) -> Response:
        with _console().deps() as deps:
            data = allocation(deps.settings, deps.store)
        if fmt == "csv":
            payload, kind = attendees_csv(data), "text/csv; charset=utf-8"
        elif fmt == "xlsx":
            payload = attendees_xlsx(data)
            kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            abort(404)
        headers = {"Content-Disposition": f'attachment; filename="teilnehmende.{fmt}"'}
        return Response(payload, mimetype=kind, headers=headers)

    @app.route("/door")
    @signed_in
    def door() -> str:
        console = _console()
        with console.deps() as deps:
            context = report_context(deps.settings, deps.store, console.clock())
        return render_template("door.html", page=context)

    @app.route("/console.css")
    def stylesheet() -> Response:
        loader = current_app.jinja_loader
        css = loader.get_source(current_app.jinja_env, "console.css")[0] if loader else ""
        return Response(css, mimetype="text/css")

    @app.context_processor
    def everywhere() -> dict[str, Any]:
        return {"user": g.get("user")}


def review_details(deps: Deps, row: MessageRow) -> dict[str, Any]:
    """The mail as staff need it: its text, what the bot understood, the form's rows."""
    raw = deps.store.raw_of(row.id)
    result = deps.analyser.analyse(raw) if raw is not None else None
    text, kind, evidence, persons = "", "", "", []
    if isinstance(result, Analysis):
        text = result.parsed.full_text[:20_000]
        kind, evidence = str(result.intent.kind), result.intent.evidence
        persons = [
            {"name": p.name, "email": p.email or "", "organization": p.organization or ""}
            for p in result.intent.persons
        ]
    elif raw is not None:
        text = _plain_text(raw)
    rows = persons + [{"name": "", "email": "", "organization": ""}] * 3
    return {
        "row": row,
        "text": text,
        "kind": kind,
        "evidence": evidence,
        "understood": persons,
        "form_rows": rows[: max(len(persons) + 3, 4)],
        "events": deps.settings.events,
        "series": deps.settings.series,
        "now": current_notes(deps.store.attendees()).get(row.message_key, ""),
    }


def person_details(deps: Deps, attendee_id: str) -> dict[str, Any]:
    found = [a for a in deps.store.attendees() if a.id == attendee_id]
    if not found:
        abort(404)
    attendee = found[0]
    records = (from_json(entry.data) for entry in deps.store.log_after(0))
    lines = story(records, attendee_id, deps.settings.zone)
    replies = [
        {"message_id": r.message_id, "kind": r.kind, "recipient": r.recipient, "state": r.state}
        for r in deps.store.replies_about(attendee_id)
    ]
    event = deps.settings.event_for(attendee.event) if attendee.event else deps.settings.events[0]
    return {
        "person": attendee,
        "event": event,
        "series": deps.settings.series,
        "lines": lines,
        "replies": replies,
        "arrival": attendee.arrival.astimezone(deps.settings.zone).strftime("%d.%m.%Y %H:%M:%S"),
    }


def _review_row(deps: Deps, row: MessageRow, now: dict[str, str]) -> dict[str, Any]:
    return {
        "row": row,
        "arrival": row.received_at.astimezone(deps.settings.zone).strftime("%d.%m.%Y %H:%M"),
        "now": now.get(row.message_key, ""),
    }


def _matches(attendee: Attendee, query: str) -> bool:
    if not query:
        return True
    needle = query.casefold()
    fields = (attendee.name, attendee.email or "", attendee.organization or "", attendee.contact)
    return any(needle in f.casefold() for f in fields)


def _template_problem(deps: Deps) -> str:
    try:
        check_templates(deps.renderer)
    except TemplateError as exc:
        return str(exc)
    return ""


def _plain_text(raw: bytes) -> str:
    message = message_from_bytes(raw[:200_000], policy=policy.default)
    body = message.get_body(("plain",)) if hasattr(message, "get_body") else None
    try:
        return str(body.get_content()) if body is not None else ""
    except (LookupError, ValueError):
        return ""
