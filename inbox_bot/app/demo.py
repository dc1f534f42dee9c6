"""`inbox-bot demo`: the whole job on built-in sample mail, with throwaway mail servers.

A pymap IMAP server (in-memory) and an aiosmtpd sink run on loopback in one background
thread. The sample mails go in by IMAP APPEND with the arrival times of a real
registration period; then one ordinary poll cycle runs against them, exactly as
`inbox-bot poll` would, and the result is shown the way staff and attendees see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import secrets
import tempfile
import threading
from argparse import Namespace
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address as MailAddress
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

import click
from aiosmtpd.controller import UnthreadedController
from imapclient import IMAPClient
from proxyprotocol.reader import ProxyProtocolReader
from pymap.backend.dict import DictBackend
from pymap.concurrent import Subsystem
from pymap.imap import IMAPServer
from tabulate import tabulate

from inbox_bot.adapters.store import Store, open_store
from inbox_bot.app.allocation import allocation
from inbox_bot.app.deps import CycleReport
from inbox_bot.app.wiring import build_deps
from inbox_bot.app.worker import cycle_lines, poll_cycle
from inbox_bot.config import Settings, settings_from_mapping
from inbox_bot.errors import InboxBotError

LOOPBACK = "127.0.0.1"
MAILBOX = "smartcity@example.org"
PASSWORD_ENV = "INBOX_BOT_DEMO_PASSWORD"  # noqa: S105 - the name of a variable
BERLIN = ZoneInfo("Europe/Berlin")
DATABASE = "inbox-bot-demo.sqlite3"
LOG = "allocation-log.jsonl"
CONFIG = "demo.toml"
_START_TIMEOUT = 15.0

_STATUS = {
    "confirmed": "bestätigt / confirmed",
    "waitlisted": "Warteliste / waitlist",
    "cancelled": "abgemeldet / cancelled",
    "late": "zu spät / late",
}


# --------------------------------------------------------------------------- sample mail


@dataclass(frozen=True, kw_only=True)
class Sample:
    """One mail as it sits in the registration mailbox."""

    arrival: datetime  # INTERNALDATE: when our server received it
    name: str
    address: str
    subject: str
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)
    # What the sender's computer wrote into Date:; normally a moment before arrival.
    date_header: datetime | None = None

    @property
    def sent(self) -> datetime:
        return self.date_header or self.arrival - timedelta(seconds=4)

    def to_bytes(self) -> bytes:
        message = EmailMessage()
        local, _, domain = self.address.partition("@")
        message["From"] = MailAddress(display_name=self.name, username=local, domain=domain)
        message["To"] = f"Allianz Smart City Dortmund <{MAILBOX}>"
        message["Subject"] = self.subject
        message["Date"] = format_datetime(self.sent)
        message["Message-ID"] = f"<{self.sent:%Y%m%d%H%M%S}.{local.replace('.', '')}@{domain}>"
        for name, value in self.headers.items():
            message[name] = value
        message.set_content(self.body, cte="quoted-printable")
        return message.as_bytes(policy=email.policy.SMTP)


def _berlin(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


_OUTLOOK = {"X-Mailer": "Microsoft Outlook 16.0", "Content-Language": "de-DE"}

SAMPLES: tuple[Sample, ...] = (
    Sample(
        arrival=_berlin("2018-11-06T08:14:52"),
        name="Dr. Katrin Vogelsang",
        address="k.vogelsang@stadt-hagen.de",
        subject="Anmeldung Interkommunaler Austausch am 05.12.2018",
        body="""\
Sehr geehrte Damen und Herren,

hiermit melde ich mich verbindlich für den Interkommunalen Austausch am
5. Dezember 2018 in Dortmund an.

Mit freundlichen Grüßen

Dr. Katrin Vogelsang
Stadt Hagen
Fachbereich Informationstechnologie und Zentrale Dienste
Rathausstraße 11, 58095 Hagen
""",
    ),
    Sample(
        arrival=_berlin("2018-11-06T09:02:17"),
        name="Brinkmann, Thomas",  # how Outlook in many town halls shows names
        address="thomas.brinkmann@iserlohn.de",
        subject="Anmeldung: Interkommunaler Austausch",
        headers=_OUTLOOK,
        body="""\
Sehr geehrte Damen und Herren,

für den Interkommunalen Austausch am 05.12.2018 möchte ich mich gerne anmelden.
Bitte bestätigen Sie mir kurz den Eingang.

Mit freundlichen Grüßen
i.A. Thomas Brinkmann

Stadt Iserlohn
Ressort Digitalisierung
Schillerplatz 7, 58636 Iserlohn
""",
    ),
    Sample(
        arrival=_berlin("2018-11-07T13:47:05"),
        name="Melanie Gerdes",
        address="m.gerdes@unna.de",
        subject="Anmeldung zwei Personen - Kreisstadt Unna",
        body="""\
Sehr geehrte Damen und Herren,

vielen Dank für die Einladung. Hiermit melde ich mich für den Interkommunalen
Austausch am 5. Dezember an. Außerdem wird mein Kollege Herr Jan Beispiel
(j.beispiel@unna.de) aus unserer Stabsstelle Smart City teilnehmen.

Mit freundlichen Grüßen

Melanie Gerdes
Kreisstadt Unna
Stabsstelle Smart City
Rathausplatz 1, 59423 Unna
""",
    ),
    Sample(
        arrival=_berlin("2018-11-08T10:23:40"),
        name="Emily Carter",
        address="emily.carter@leeds.example.org",
        subject="Registration: Interkommunaler Austausch, 5 December",
        body="""\
Dear Sir or Madam,

I would like to register for the Interkommunaler Austausch on 5 December 2018
in Dortmund. I work on the smart city programme of our council and would be
glad to join the discussion with colleagues from the region.

Kind regards,
Emily Carter
Digital Services
Leeds City Council
""",
    ),
    Sample(
        arrival=_berlin("2018-11-12T07:31:12"),
        name="Heidenreich, Markus",
        address="markus.heidenreich@hamm.de",
        # Exchange answers the invitation mailing while he is away.
        subject="Automatische Antwort: Einladung: Interkommunaler Austausch am 5. Dezember",
        headers={
            "X-Auto-Response-Suppress": "All",
            "In-Reply-To": "<einladung-2018-11@smartcity.example.org>",
            "Content-Language": "de-DE",
        },
        body="""\
Vielen Dank für Ihre Nachricht.

Ich bin bis einschließlich Freitag, 16.11.2018, nicht im Haus und habe keinen
Zugriff auf meine E-Mails. Ihre Nachricht wird nicht weitergeleitet.
In dringenden Fällen wenden Sie sich bitte an das Sekretariat, Tel. 02381 17-0.

Mit freundlichen Grüßen
Markus Heidenreich
Stadt Hamm
""",
    ),
    Sample(
        arrival=_berlin("2018-11-14T15:06:58"),
        name="Frank Oberholz",
        address="frank.oberholz@essen.de",
        subject="Frage zur Anreise - Interkommunaler Austausch",
        body="""\
Sehr geehrte Damen und Herren,

ich habe eine Frage zum Interkommunalen Austausch am 5. Dezember.
Gibt es Parkplätze? Einige Kolleginnen und Kollegen würden mit dem Auto aus
Essen anreisen.

Mit freundlichen Grüßen
Frank Oberholz
Stadt Essen
Amt für Digitalisierung
""",
    ),
    Sample(
        arrival=_berlin("2018-11-15T11:19:33"),
        name="Julia Petersen",
        address="julia.petersen@werne.de",
        subject="Anmeldung Interkommunaler Austausch",
        # The clock of her PC was ten days behind: by Date: she would be first.
        date_header=_berlin("2018-11-05T11:19:29"),
        body="""\
Guten Tag,

hiermit möchte ich mich für den Interkommunalen Austausch der Allianz Smart City
Dortmund am 5. Dezember anmelden.

Viele Grüße
Julia Petersen
Stadt Werne
Wirtschaftsförderung und Digitalisierung
""",
    ),
    Sample(
        arrival=_berlin("2018-11-20T08:55:21"),
        name="Brinkmann, Thomas",
        address="thomas.brinkmann@iserlohn.de",
        subject="Abmeldung Interkommunaler Austausch",
        headers=_OUTLOOK,
        body="""\
Sehr geehrte Damen und Herren,

ich muss meine Anmeldung leider zurückziehen, da mir ein Termin im
Verwaltungsvorstand dazwischengekommen ist. Bitte geben Sie meinen Platz frei.

Mit freundlichen Grüßen
i.A. Thomas Brinkmann

Stadt Iserlohn
Ressort Digitalisierung
""",
    ),
    Sample(
        arrival=_berlin("2018-11-24T00:12:44"),
        name="Jörg Wolters",
        address="j.wolters@bottrop.de",
        subject="Anmeldung Interkommunaler Austausch",
        body="""\
Sehr geehrte Damen und Herren,

ich hoffe, es ist noch nicht zu spät: Hiermit melde ich mich für den
Interkommunalen Austausch am 5. Dezember an.

Mit freundlichen Grüßen
Jörg Wolters
Stadt Bottrop
Stabsstelle Digitalisierung
""",
    ),
)


# --------------------------------------------------------------------------- settings


def demo_config(imap_port: int, smtp_port: int) -> dict[str, dict[str, Any]]:
    """The raw config, as a TOML file would hold it; paths are relative to the workdir."""
    return {
        "imap": {
            "host": LOOPBACK,
            "port": imap_port,
            "security": "none",
            "username": MAILBOX,
            "password_env": PASSWORD_ENV,
            "timeout_seconds": 10,
        },
        "smtp": {
            "host": LOOPBACK,
            "port": smtp_port,
            "security": "none",
            "from_address": MAILBOX,
            "from_name": "Allianz Smart City Dortmund (Demo)",
            "message_id_domain": "smartcity.example.org",
            "timeout_seconds": 10,
        },
        "event": {
            "title": "Interkommunaler Austausch (Demo)",
            "organizer": "Allianz Smart City Dortmund (Demo)",
            "starts_at": "2018-12-05T10:00:00+01:00",
            "ends_at": "2018-12-05T13:00:00+01:00",
            "timezone": "Europe/Berlin",
            "venue": "Saal 9 und 10, Kongresszentrum Westfalenhallen Dortmund, Rheinlanddamm 200",
            "capacity": 4,
            "registration_deadline": "2018-11-23T23:59:59+01:00",
        },
        "storage": {"database": DATABASE, "log": LOG},
        "rules": {
            "internal_domains": ["dortmund.de", "stadtdo.de"],
            "organizations": {"leeds.example.org": "Leeds City Council"},
        },
    }


def write_toml(path: Path, raw: Mapping[str, Mapping[str, Any]]) -> None:
    """Just enough TOML for the demo config (strings, numbers, lists, inline tables)."""
    lines = [
        "# Written by `inbox-bot demo`. Its mail servers ran only while the demo ran;",
        "# `inbox-bot status` and `inbox-bot export` need only the database.",
    ]
    for section, values in raw.items():
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON escapes are valid TOML escapes
    if isinstance(value, Mapping):
        items = ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


# --------------------------------------------------------------------------- mail servers


@dataclass(frozen=True, kw_only=True)
class Captured:
    """One message the SMTP sink accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class SinkHandler:
    """aiosmtpd handler that accepts everything and keeps it in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the server thread appends, the main thread reads
        self._captured: list[Captured] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        captured = Captured(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=bytes(envelope.original_content or b""),
        )
        with self._lock:
            self._captured.append(captured)
        return "250 OK"

    @property
    def captured(self) -> list[Captured]:
        with self._lock:
            return list(self._captured)


class DemoServers:
    """IMAP (pymap, in memory) and SMTP (aiosmtpd) on loopback, served by one asyncio loop
    in a background thread. Use as a context manager: both stop on leaving it, also on
    an error or Ctrl+C."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self.password = password
        self.sink = SinkHandler()
        self.imap_port = 0
        self.smtp_port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()  # bound to the loop on first use, in the server thread
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> DemoServers:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="inbox-bot-demo-mail", daemon=True)
        self._thread.start()
        try:
            if not self._ready.wait(_START_TIMEOUT):
                raise InboxBotError(f"demo mail servers did not start in {_START_TIMEOUT:.0f} s")
            if self._failure is not None:
                raise InboxBotError(
                    f"demo mail servers could not start: {self._failure}"
                ) from self._failure
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if not loop.is_closed():
            # RuntimeError: the loop closed in between, so the thread is ending anyway.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._stop.set)
        thread.join(_START_TIMEOUT)
        self._thread = None

    # --- the server thread ---

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        try:
            # The Runner cancels leftover connection tasks and closes the loop at the end.
            with asyncio.Runner(loop_factory=lambda: loop) as runner:
                smtp = UnthreadedController(
                    self.sink,
                    hostname=LOOPBACK,
                    port=0,
                    loop=runner.get_loop(),
                    server_hostname="localhost",  # else the banner costs a DNS lookup
                )
                smtp.begin()  # type: ignore[no-untyped-call]
                try:
                    self.smtp_port = _bound_port(smtp.server)
                    runner.run(self._serve_imap())
                finally:
                    runner.run(smtp.finalize())  # type: ignore[no-untyped-call]
        except BaseException as exc:
            self._failure = exc
        finally:
            self._ready.set()

    async def _serve_imap(self) -> None:
        args = Namespace(
            host=LOOPBACK,
            port=0,
            debug=False,
            cert=None,
            key=None,
            tls=False,  # no STARTTLS offered, so plain LOGIN is allowed
            passlib_cfg=None,
            proxy_protocol=None,
            demo_data=False,
            demo_user=self.user,
            demo_password=self.password,
        )
        # The asyncio subsystem hashes passwords in the loop: no thread pool left behind.
        backend, config = await DictBackend.init(args, cpu_subsystem=Subsystem.for_asyncio())
        async with AsyncExitStack() as stack:
            await backend.start(stack)
            # What IMAPService.start does, but on port 0 so we learn the port it got.
            handler = ProxyProtocolReader(config.proxy_protocol).get_callback(
                IMAPServer(backend.login, config)
            )
            listener = await asyncio.start_server(handler, host=LOOPBACK, port=0)
            await stack.enter_async_context(listener)
            self.imap_port = _bound_port(listener)
            self._ready.set()
            await self._stop.wait()


def _bound_port(server: Any) -> int:
    return int(server.sockets[0].getsockname()[1])


def deliver(samples: Sequence[Sample], servers: DemoServers) -> None:
    """Put the sample mails into the INBOX by IMAP APPEND, each with its arrival time."""
    with IMAPClient(LOOPBACK, port=servers.imap_port, ssl=False, timeout=10) as client:
        client.login(servers.user, servers.password)
        for sample in samples:
            client.append("INBOX", sample.to_bytes(), flags=(), msg_time=sample.arrival)


# --------------------------------------------------------------------------- output


def heading(text: str) -> None:
    click.echo(f"\n== {text} ==\n")


def print_allocation(settings: Settings, store: Store) -> None:
    data = allocation(settings, store)
    rows = [
        [
            _STATUS.get(person["status"], person["status"]),
            person["seat"],
            person["waitlist_position"],
            person["name"],
            person["organization"],
            _local(person["registered_at"]),
        ]
        for person in data["attendees"]
    ]
    head = [
        "Status",
        "Platz/seat",
        "Warteliste/waitlist",
        "Name",
        "Organisation",
        "Eingang/arrived",
    ]
    click.echo(tabulate(rows, headers=head, tablefmt="simple", missingval=""))


def _local(iso_time: str) -> str:
    return datetime.fromisoformat(iso_time).strftime("%d.%m.%Y %H:%M:%S")


def print_date_notes(samples: Sequence[Sample]) -> None:
    """Point out the mail whose Date: header lies about when it came."""
    for sample in samples:
        if sample.date_header and abs(sample.date_header - sample.arrival) > timedelta(hours=1):
            click.echo(
                f"\nHinweis / note: {sample.name}: Date:-Kopf / header "
                f"{sample.date_header:%d.%m.%Y %H:%M} (falsche Uhr am PC / wrong PC clock).\n"
                "Es zählt der Eingang beim Mailserver / the server's arrival counts: "
                f"{sample.arrival:%d.%m.%Y %H:%M}."
            )


def print_reply(mail: Captured) -> None:
    message = mail.message
    for name in ("From", "To", "Subject", "Auto-Submitted"):
        click.echo(f"{name}: {message[name]}")
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    click.echo("")
    click.echo(body.get_content().rstrip())


def first_acceptance(store: Store, sent: Sequence[Captured]) -> Captured | None:
    """The reply to the first confirmed registration, as the sink received it."""
    by_id = {mail.message["Message-ID"]: mail for mail in sent}
    for row in store.messages():
        if row["decision"] != "confirmed":
            continue
        for item in store.outbox_for_message(row["id"]):
            if item.kind == "acceptance" and item.message_id in by_id:
                return by_id[item.message_id]
    return None


def print_counts(report: CycleReport, received: int, sent: Sequence[Captured]) -> None:
    answers = [m for m in sent if m.message["Auto-Submitted"] == "auto-replied"]
    notices = len(sent) - len(answers)
    click.echo(f"Mails empfangen / mails received:  {received}")
    click.echo(
        f"Antworten gesendet / replies sent:  {len(sent)}  ({len(answers)} Antworten auf Mails, "
        f"{notices} Nachrück-Nachricht(en) / promotion notices)"
    )
    for mail in sent:
        if mail not in answers:
            click.echo(
                f"Nachgerückt, benachrichtigt / promoted and notified: {', '.join(mail.rcpt_tos)}"
            )
    recipients = {r.lower() for m in sent for r in m.rcpt_tos}
    for handled in report.handled:
        if handled.kind == "auto_reply":
            answered = handled.sender.lower() in recipients
            verdict = "beantwortet (!)" if answered else "keine Antwort / no reply"
            click.echo(f"Abwesenheitsnotiz / out-of-office from {handled.sender}: {verdict}")
    review = [h for h in report.handled if h.needs_review]
    for handled in review:
        click.echo(f"Für das Team / for staff: {handled.kind} from {handled.sender or '?'}")


def print_files(settings: Settings, config_path: Path) -> None:
    log_lines = len(settings.storage.log.read_text(encoding="utf-8").splitlines())
    click.echo(f"Datenbank / database:         {settings.storage.database}")
    click.echo(f"Protokoll / allocation log:   {settings.storage.log}  ({log_lines} JSON lines)")
    click.echo(f"Konfiguration / config:       {config_path}")
    click.echo("\nSelbst nachsehen / look yourself:")
    click.echo(f"  inbox-bot status --config {config_path}")
    click.echo(f"  inbox-bot export --config {config_path} --format csv --output teilnehmer.csv")


# --------------------------------------------------------------------------- the demo


def prepare_workdir(workdir: Path | None) -> Path:
    if workdir is None:
        return Path(tempfile.mkdtemp(prefix="inbox-bot-demo-"))
    workdir = workdir.expanduser().resolve()
    # The sample mails carry fixed Message-IDs: a second run would find them all known.
    if (workdir / DATABASE).exists():
        raise click.UsageError(
            f"{workdir} already holds a demo database; use an empty folder or leave out --workdir"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def run_demo(workdir: Path | None) -> None:
    workdir = prepare_workdir(workdir)
    password = secrets.token_urlsafe(18)
    with DemoServers(MAILBOX, password) as servers:
        raw = demo_config(servers.imap_port, servers.smtp_port)
        settings = settings_from_mapping(raw, base=workdir, environ={PASSWORD_ENV: password})
        config_path = workdir / CONFIG
        write_toml(config_path, raw)
        click.echo("inbox-bot demo")
        click.echo(
            f"Mailserver nur für die Demo / demo-only mail servers: IMAP {LOOPBACK}:"
            f"{servers.imap_port}, SMTP {LOOPBACK}:{servers.smtp_port}"
        )
        deliver(SAMPLES, servers)
        click.echo(
            f"{len(SAMPLES)} Beispiel-Mails im Postfach / sample mails in the mailbox {MAILBOX}, "
            f"Plätze / seats: {settings.event.capacity}"
        )

        heading("1. Ein Abruf / one poll cycle")
        with open_store(settings.storage.database) as store:
            with contextlib.closing(build_deps(settings, store)) as deps:
                report = poll_cycle(deps)
            for line in cycle_lines(report, settings, dry_run=False):
                click.echo(line)
            sent = servers.sink.captured

            heading(f"2. Platzvergabe / allocation ({settings.event.capacity} Plätze / seats)")
            print_allocation(settings, store)
            print_date_notes(SAMPLES)

            heading("3. Eine Antwort, wie sie ankommt / one reply as the attendee sees it")
            reply = first_acceptance(store, sent)
            if reply is None:
                click.echo("(keine Bestätigung gesendet / no acceptance was sent)")
            else:
                print_reply(reply)

    heading("4. Antworten / replies")
    print_counts(report, len(SAMPLES), sent)

    heading("5. Dateien / files")
    print_files(settings, config_path)
