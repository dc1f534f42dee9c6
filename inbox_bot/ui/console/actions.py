"""Every change staff make in the console. An action that sends mail first shows the
exact mails (recipient, subject, text) and is carried out only when confirmed; each one
records the signed-in staff member and the reason in the allocation log.

The plan shown is kept (in memory, for ten minutes, for the one who made it). On
confirm it is made again: if the allocation changed meanwhile (the worker placed
someone), staff see the new plan to confirm instead of an outdated one.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import quote

from flask import Flask, current_app, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from inbox_bot.app import staff
from inbox_bot.app.assign import PlannedAssign, commit_assign, plan_assign
from inbox_bot.app.deps import Deps
from inbox_bot.core.model import OutgoingRow, Person
from inbox_bot.errors import ActionRefused, InboxBotError, NotFound

KEEP = timedelta(minutes=10)
Plan = staff.Planned | PlannedAssign


@dataclass(frozen=True)
class Pending:
    user: str
    made: datetime
    plan: Plan
    replan: Callable[[Deps], Plan]
    back: str  # where to go afterwards


class Plans:
    def __init__(self) -> None:
        self._plans: dict[str, Pending] = {}
        self._lock = threading.Lock()

    def keep(self, pending: Pending) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._plans = {k: p for k, p in self._plans.items() if pending.made - p.made < KEEP}
            self._plans[token] = pending
        return token

    def take(self, token: str, user: str, now: datetime) -> Pending | None:
        with self._lock:
            pending = self._plans.pop(token, None)
        if pending is None or pending.user != user or now - pending.made > KEEP:
            return None
        return pending


def _console() -> Any:
    return current_app.extensions["inbox_bot_console"]


def install(app: Flask) -> None:
    plans = Plans()
    propose = _proposer(plans)
    _install_confirm(app, plans)
    _install_review(app, propose)
    _install_people(app, plans, propose)


Propose = Callable[[Callable[[Deps], Plan], str], str | BaseResponse]


def _proposer(plans: Plans) -> Propose:
    """Plan an action; show its mails to confirm (kept in `plans`), or do it when it
    sends nothing."""

    def propose(make: Callable[[Deps], Plan], back: str) -> str | BaseResponse:
        console = _console()
        with console.deps() as deps:
            try:
                plan = make(deps)
            except (ActionRefused, NotFound) as exc:
                return _refused(str(exc), back)
            if not plan.mails:  # nothing is sent: no need to confirm
                return _done(deps, plan, back)
            pending = Pending(user=g.user, made=console.clock(), plan=plan, replan=make, back=back)
            token = plans.keep(pending)
        return render_template("confirm.html", plan=plan, mails=_shown(plan.mails), token=token)

    return propose


def _install_confirm(app: Flask, plans: Plans) -> None:
    from inbox_bot.ui.console.auth import signed_in

    @app.route("/confirm/<token>", methods=["POST"])
    @signed_in
    def confirm(token: str) -> str | BaseResponse:
        console = _console()
        pending = plans.take(token, g.user, console.clock())
        if pending is None:
            return _refused("Diese Bestätigung ist abgelaufen; bitte noch einmal.", "/")
        with console.deps() as deps:
            try:
                fresh = pending.replan(deps)
            except (ActionRefused, NotFound) as exc:
                return _refused(str(exc), pending.back)
            if _fingerprint(fresh) != _fingerprint(pending.plan):
                again = Pending(g.user, console.clock(), fresh, pending.replan, pending.back)
                note = "Der Stand hat sich inzwischen geändert. Bitte den neuen Vorschlag prüfen."
                return render_template(
                    "confirm.html",
                    plan=fresh,
                    mails=_shown(fresh.mails),
                    token=plans.keep(again),
                    note=note,
                )
            return _done(deps, pending.plan, pending.back)


def _install_review(app: Flask, propose: Propose) -> None:
    from inbox_bot.ui.console.auth import signed_in

    @app.route("/review/<int:ref>/register", methods=["POST"])
    @signed_in
    def register(ref: int) -> str | BaseResponse:
        persons = _persons_from_form()
        event = request.form.get("event", "")
        reason = request.form.get("reason", "").strip()
        if not persons:
            return _refused("Bitte mindestens eine Person mit Namen eintragen.", f"/review/{ref}")

        def make(deps: Deps) -> Plan:
            row = deps.store.message(ref)
            if row is None:
                raise NotFound("Diese Mail gibt es nicht (mehr).")
            return plan_assign(deps, f"UID:{row.uid}", event, g.user, reason, persons)

        return propose(make, "/review")

    @app.route("/review/<int:ref>/resolve", methods=["POST"])
    @signed_in
    def resolve(ref: int) -> BaseResponse | str:
        reason = request.form.get("reason", "").strip()
        with _console().deps() as deps:
            row = deps.store.message(ref)
            if row is None:
                return _refused("Diese Mail gibt es nicht (mehr).", "/review")
            staff.resolve(deps, f"UID:{row.uid}", g.user, reason or "erledigt")
        return redirect(url_for("review"))


def _install_people(app: Flask, plans: Plans, propose: Propose) -> None:
    from inbox_bot.ui.console.auth import signed_in

    @app.route("/people/<path:attendee_id>/cancel", methods=["POST"])
    @signed_in
    def cancel(attendee_id: str) -> str | BaseResponse:
        reason = request.form.get("reason", "").strip()
        return propose(
            lambda deps: staff.plan_cancel(deps, "", g.user, reason, attendee_id=attendee_id),
            _person_page(attendee_id),
        )

    @app.route("/people/<path:attendee_id>/admit", methods=["POST"])
    @signed_in
    def admit(attendee_id: str) -> str | BaseResponse:
        reason = request.form.get("reason", "").strip()
        force = request.form.get("extra_seat") == "yes"
        return propose(
            lambda deps: staff.plan_admit_person(
                deps, "", g.user, reason, force, attendee_id=attendee_id
            ),
            _person_page(attendee_id),
        )

    @app.route("/people/<path:attendee_id>/resend", methods=["POST"])
    @signed_in
    def resend(attendee_id: str) -> str | BaseResponse:
        message_id = request.form.get("message_id", "")
        reason = request.form.get("reason", "").strip()
        back = _person_page(attendee_id)
        with _console().deps() as deps:
            try:
                item = staff.reply_to_resend(deps, message_id)
            except ActionRefused as exc:
                return _refused(str(exc), back)
        plan = _resend_plan(item.message_id, item.recipient, item.data, reason)
        pending = Pending(g.user, _console().clock(), plan, lambda deps: plan, back)
        token = plans.keep(pending)
        return render_template("confirm.html", plan=plan, mails=_shown(plan.mails), token=token)

    @app.route("/people/<path:attendee_id>/note", methods=["POST"])
    @signed_in
    def note(attendee_id: str) -> BaseResponse | str:
        reason = request.form.get("reason", "").strip()
        if not reason:
            return _refused("Eine Notiz braucht einen Text.", _person_page(attendee_id))
        with _console().deps() as deps:
            staff.note(deps, attendee_id, g.user, reason)
        return redirect(_person_page(attendee_id))


@dataclass(frozen=True)
class _Resend:
    """A resend as a plan: the stored mail, sent again as it was."""

    message_id: str
    recipient: str
    data: bytes
    reason: str

    @property
    def summary(self) -> str:
        return f"Erneut senden an {self.recipient}"

    @property
    def mails(self) -> tuple[OutgoingRow, ...]:
        return (
            OutgoingRow(
                kind="resend", message_id=self.message_id, recipient=self.recipient, data=self.data
            ),
        )


def _resend_plan(message_id: str, recipient: str, data: bytes, reason: str) -> Any:
    return _Resend(message_id, recipient, data, reason)


def _done(deps: Deps, plan: Any, back: str) -> BaseResponse:
    if isinstance(plan, PlannedAssign):
        commit_assign(deps, plan)
    elif isinstance(plan, _Resend):
        staff.resend(deps, plan.message_id, g.user, plan.reason)
    else:
        staff.commit(deps, plan)
    with contextlib.suppress(InboxBotError):  # else the worker's next cycle sends it
        staff.send_now(deps)
    return redirect(back)


def _person_page(attendee_id: str) -> str:
    """Attendee ids hold "#" ("sha256:...#0"): quoted, or the browser cuts the path."""
    return "/people/" + quote(attendee_id, safe="")


def _refused(message: str, back: str) -> str:
    return render_template("refused.html", message=message, back=back), 409  # type: ignore[return-value]


def _persons_from_form() -> tuple[Person, ...]:
    names = request.form.getlist("name")
    emails = request.form.getlist("email")
    orgs = request.form.getlist("organization")
    persons = []
    for name, email, org in zip(names, emails, orgs, strict=False):
        if name.strip():
            persons.append(
                Person(
                    name=" ".join(name.split())[:120],
                    email=email.strip()[:200] or None,
                    organization=" ".join(org.split())[:200] or None,
                )
            )
    return tuple(persons[:50])


def _shown(mails: tuple[OutgoingRow, ...]) -> list[dict[str, str]]:
    out = []
    for row in mails:
        message = message_from_bytes(row.data, policy=policy.default)
        body = message.get_body(("plain",)) if hasattr(message, "get_body") else None
        text = body.get_content() if body is not None else ""
        attachments = [p.get_filename() or "" for p in message.iter_attachments()]
        out.append(
            {
                "to": str(message["To"]),
                "subject": str(message["Subject"]),
                "text": str(text),
                "attachments": ", ".join(a for a in attachments if a),
            }
        )
    return out


def _fingerprint(plan: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    return (plan.summary, tuple((m["to"], m["text"]) for m in _shown(plan.mails)))
