"""Text from strangers is read in linear time: parse_mail + classify on hostile mail.

Each hostile input class below once made a pattern or a loop super-linear (a few dozen
KB hung the bot for minutes). Every check runs under a watchdog, so a regression fails
with "super-linear" instead of hanging the suite; there are no other timing assertions.
bench/linear_text.py times the same mails at n and 4n.

Pure and in-process: no servers.
"""

from __future__ import annotations

import re
import signal
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_bot.core import bodytext
from inbox_bot.core import classify as classifier
from inbox_bot.core import parse as parser
from inbox_bot.core.classify import Context, classify, rules
from inbox_bot.core.classify.organizations import load_directory
from inbox_bot.core.model import Intent, Kind, ParsedMail, Person
from inbox_bot.core.names import name_tokens
from inbox_bot.core.parse import parse_mail
from inbox_bot.errors import ParseError

CTX = Context(
    own_addresses=frozenset({"smartcity@dortmund.de"}),
    message_id_domain="smartcity.dortmund.de",
    internal_domains=frozenset({"stadtdo.de"}),
    directory=load_directory({"beispiel-gmbh.de": "Beispiel GmbH"}),
)
WATCHDOG_SECONDS = 20
ANNA = ("Anna Schulz", "a.schulz@unna.de")

OPENING = (
    "Sehr geehrte Damen und Herren,\n\n"
    "hiermit melde ich mich zum Interkommunalen Austausch am 5. Dezember an.\n\n"
)
CLOSING = "\n\nMit freundlichen Grüßen\nAnna Schulz\nStadt Unna\n"


@contextmanager
def watchdog(seconds: float = WATCHDOG_SECONDS) -> Iterator[None]:
    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise AssertionError(f"super-linear: took > {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def mail(
    body: str,
    *,
    html: bool = False,
    subject: str = "Anmeldung",
    sender: str = "Anna Schulz <a.schulz@unna.de>",
) -> bytes:
    """A simple RFC 5322 mail, 8-bit UTF-8, plain or HTML."""
    kind = "html" if html else "plain"
    head = (
        f"From: {sender}\r\nTo: smartcity@dortmund.de\r\nSubject: {subject}\r\n"
        "Date: Mon, 12 Nov 2018 09:00:00 +0100\r\nMessage-ID: <linear@unna.de>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/{kind}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return (head + body.replace("\r\n", "\n").replace("\n", "\r\n")).encode("utf-8")


def read(raw: bytes) -> tuple[ParsedMail, Intent]:
    with watchdog():
        parsed = parse_mail(raw)
        return parsed, classify(parsed, CTX)


def people(intent: Intent) -> list[tuple[str, str | None]]:
    return [(p.name, p.email) for p in intent.persons]


# --------------------------------------------------------------------------- hostile mail
#
# Each builder makes a mail of about n characters of hostile text; the registration of
# Anna Schulz comes first, her closing after the junk.


def _names(count: int) -> list[str]:
    first = "Anna Bernd Carla Dirk Emma Frank Greta Hans Ilse Jonas Karin Lukas".split()
    last = "Albers Brandt Claasen Dorn Ebert Fink Gerlach Horn Jansen Kessler".split()
    syllables = "ba ke lo mi nu ra se ti vo wu".split()
    out = []
    for i in range(count):
        # a surname of its own for each: no name is a subset of another
        tail = "".join(syllables[int(d)] for d in str(i))
        out.append(f"{first[i % len(first)]} {last[i % len(last)]}{tail}")
    return out


def _registration(junk: str) -> str:
    return OPENING + junk + CLOSING


def _html_registration(table: str) -> str:
    return (
        "<html><body><p>Sehr geehrte Damen und Herren,</p>"
        "<p>hiermit melde ich mich zum Interkommunalen Austausch am 5. Dezember an.</p>"
        f"{table}<p>Mit freundlichen Grüßen<br>Anna Schulz<br>Stadt Unna</p></body></html>"
    )


def _tall_and_wide_table(n: int) -> str:
    """One cell of n/10 lines beside one cell of n/2 characters: inscriptis pads both."""
    tall, wide = "x<br>" * (n // 10), "y" * (n // 2)
    return f"<table><tr><td>{tall}</td><td>{wide}</td></tr></table>"


def _wide_rows_table(n: int) -> str:
    """A wide first row, then many short rows: every row is padded to the wide one."""
    rows = "<tr><td>a</td><td>b</td></tr>" * (n // 60)
    return f"<table><tr><td>{'y' * (n // 2)}</td></tr>{rows}</table>"


# Text after which the registration must still be read as Anna Schulz's, fast.
JUNK: dict[str, Callable[[int], str]] = {
    # tidy: "[ \t]+\n" re-read the run from each space
    "spaces": lambda n: " " * n + "x",
    # EMAIL_IN_TEXT: "[\w.+-]+@" re-read the run from each letter
    "letters": lambda n: "a" * n,
    # CLOSING, _HISTORY_START: "^\s*" read all following blank lines at each line start
    "blank-lines": lambda n: "\u2003\n" * (n // 2),
    # ORGANIZATION_IN_TEXT: "\s+(...)?\s*" split the run in every way
    "bei-spaces": lambda n: "bei" + " " * n + "x",
    # _HISTORY_START: "(?:Von|From)\s*:\s*.+" split the run in every way
    "von-spaces": lambda n: "Von:" + " " * n + "x",
    # _HISTORY_START: "schrieb\s*.*:" split the run in every way
    "schrieb-spaces": lambda n: "Am 5.12.2018 um 10:00 schrieb" + " " * n + "x",
    # SUBSTITUTE: "kolleg\w*" re-read the rest of the word at each "kolleg"
    "kolleg": lambda n: "kolleg" * (n // 6),
    # canonical_name: "\[[^\]]*\]" read to the end at each "["
    "brackets": lambda n: "- " + "[" * n,
    # tidy: "<mailto:[^>]*>" read to the end at each "<mailto:"
    "mailto": lambda n: "<mailto:" * (n // 8),
    # FIRST_PERSON: many starts before "an", then a long run of blanks
    "mich-an-spaces": lambda n: "mich " * 30 + "an" + " " * n + "x",
    # _with_addresses: every address of the text against every person
    "addresses": lambda n: "\n".join(f"kontakt{i}@unna.de" for i in range(n // 18)),
    # _sentences: many short sentences
    "sentences": lambda n: "Ja. " * (n // 4),
    # split_history: a long run of quoted lines
    "quoted": lambda n: "> zitiert\n" * (n // 10),
}
HTML_JUNK: dict[str, Callable[[int], str]] = {
    "html-tall-wide-table": _tall_and_wide_table,
    "html-wide-rows-table": _wide_rows_table,
    # the plain extractor (not html.parser, quadratic on "<a " in Python 3.11)
    "html-unclosed-tags": lambda n: _wide_rows_table(n // 2) + "<a " * (n // 6),
    "html-many-cells": lambda n: "<table><tr>" + "<td>z</td>" * (n // 10) + "</tr></table>",
    # each table fits, all of them together would not
    "html-many-tables": lambda n: _wide_rows_table(n // 40) * 40,
}


def hostile(case: str, n: int) -> bytes:
    """The mail of a hostile input class with about n characters of junk (also for bench/)."""
    if case in HTML_JUNK:
        return mail(_html_registration(HTML_JUNK[case](n)), html=True)
    if case in JUNK:
        return mail(_registration(JUNK[case](n)))
    return OTHER_HOSTILE[case](n)


def listed_names(n: int) -> bytes:
    """A registration listing about n/40 colleagues, one per line with address."""
    lines = [f"- {name}, {name.split()[1].lower()}@unna.de" for name in _names(n // 40)]
    return mail(_registration("Ich melde folgende Kollegen an:\n" + "\n".join(lines)))


def accompanying_names(n: int) -> bytes:
    """A registration naming about n/30 persons in one sentence, "sowie Frau X Y" each."""
    named = " ".join(f"sowie Frau {name}" for name in _names(n // 30))
    return mail(_registration(f"Ich melde mich an, {named}."))


def cancelled_names(n: int) -> bytes:
    """A cancellation naming about n/25 persons."""
    named = ", ".join(f"Herrn {name}" for name in _names(n // 25))
    return mail(f"Hiermit sage ich die Teilnahme ab für {named}.{CLOSING}", subject="Absage")


def spaces_only(n: int) -> bytes:
    """Spaces and a full stop (a body of blanks alone is dropped before tidy sees it)."""
    return mail(" " * n + ".")


OTHER_HOSTILE: dict[str, Callable[[int], bytes]] = {
    "listed-names": listed_names,
    "accompanying-names": accompanying_names,
    "cancelled-names": cancelled_names,
    "spaces-only": spaces_only,
}
CASES = [*JUNK, *HTML_JUNK, *OTHER_HOSTILE]


@pytest.mark.parametrize("case", [*JUNK, *HTML_JUNK])
def test_a_registration_before_hostile_text_is_read_in_linear_time(case: str) -> None:
    size = 200_000 if case in HTML_JUNK else 1_000_000
    _, intent = read(hostile(case, size))
    assert intent.kind is Kind.REGISTRATION, intent
    assert people(intent) == [ANNA], intent.persons
    assert not intent.review_reasons


def test_a_registration_before_megabytes_of_junk_is_still_a_registration() -> None:
    junk = "".join(JUNK[case](250_000) + "\n" for case in ("letters", "spaces", "kolleg"))
    raw = mail(_registration(junk * 4))
    assert len(raw) > 3_000_000
    _, intent = read(raw)
    assert intent.kind is Kind.REGISTRATION
    assert people(intent) == [ANNA]


def test_a_megabyte_of_spaces_is_no_registration_and_goes_to_staff() -> None:
    _, intent = read(spaces_only(1 << 20))
    assert intent.kind is Kind.OTHER
    assert intent.review_reasons


@pytest.mark.parametrize("build", [listed_names, accompanying_names, cancelled_names])
def test_thousands_of_named_persons_are_not_thousands_of_seats(
    build: Callable[[int], bytes],
) -> None:
    _, intent = read(build(120_000))  # 3,000 to 4,800 names
    assert intent.kind is Kind.OTHER
    assert intent.persons == ()
    assert any(str(classifier.MAX_CANDIDATES) in r for r in intent.review_reasons), intent


def test_a_list_below_the_cap_is_read_whole() -> None:
    """150 listed colleagues: all of them (allocate.py sends more than 10 to staff)."""
    _, intent = read(listed_names(150 * 40))
    names = [name for name, _ in people(intent)]
    assert intent.kind is Kind.REGISTRATION
    assert names == [ANNA[0], *_names(150)]  # the sender registers herself too


def test_a_huge_html_table_is_read_by_the_plain_extractor() -> None:
    parsed, intent = read(hostile("html-wide-rows-table", 60_000))
    assert intent.kind is Kind.REGISTRATION and people(intent) == [ANNA]
    assert "a  b" in parsed.text  # cells two spaces apart, one row per line
    assert len(parsed.full_text) < 100_000  # not one padded line per row


def test_a_small_html_table_keeps_inscriptis() -> None:
    """inscriptis pads the cells of a table that fits; the plain extractor would not."""
    table = (
        "<table><tr><td>Tim Albers</td><td>t.albers@unna.de</td></tr>"
        "<tr><td>Bo Li</td><td>b.li@unna.de</td></tr></table>"
    )
    with watchdog():
        text = bodytext.html_to_text(table)
    assert "Bo Li       b.li@unna.de" in text


# --------------------------------------------------------------------------- header check


def _indented_html(size: int) -> str:
    """Outlook-style HTML whose lines are all indented, about `size` characters."""
    style = "\n".join(f"    p.Style{i}, li.Style{i}\n\t{{margin:0cm;}}" for i in range(40))
    filler = "\n".join(
        f"      <p class=MsoNormal><span style='font-family:Calibri'>Zeile {i} des Programms"
        "</span></p>"
        for i in range(size // 100)
    )
    return (
        # Outlook ends its styles with "-->" in the first column, like a boundary line
        "<html>\n  <head>\n    <style><!--\n" + style + "\n-->\n    </style>\n  </head>\n"
        "  <body>\n"
        "    <p>Sehr geehrte Damen und Herren,</p>\n"
        "    <p>hiermit melde ich mich zum Interkommunalen Austausch am 5. Dezember an.</p>\n"
        "    <p>Mit freundlichen Grüßen<br>\n      Anna Schulz<br>\n      Stadt Unna</p>\n"
        "    <div style='display:none'>\n" + filler + "\n    </div>\n  </body>\n</html>\n"
    )


def test_a_47_kb_html_registration_with_indented_lines_passes_the_header_check() -> None:
    raw = mail(_indented_html(47_000), html=True)
    assert 45_000 < len(raw) < 50_000
    _, intent = read(raw)
    assert intent.kind is Kind.REGISTRATION
    assert people(intent) == [ANNA]


def test_indented_html_in_a_body_part_passes_the_header_check() -> None:
    body = _indented_html(47_000).replace("\n", "\r\n")
    raw = (
        "From: Anna Schulz <a.schulz@unna.de>\r\nTo: smartcity@dortmund.de\r\n"
        "Subject: Anmeldung\r\nMessage-ID: <parts@unna.de>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
        "--alt\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + body + "\r\n--alt--\r\n"
    ).encode()
    _, intent = read(raw)
    assert intent.kind is Kind.REGISTRATION and people(intent) == [ANNA]


@pytest.mark.parametrize("where", ["top", "part"])
def test_a_folded_header_over_32_kb_is_still_refused(where: str) -> None:
    folded = "X-Filler: a\r\n" + "\tAnmeldung zum Interkommunalen Austausch\r\n" * 1000
    body = OPENING + CLOSING
    if where == "top":
        raw = mail(body).replace(b"MIME-Version", folded.encode() + b"MIME-Version")
    else:
        raw = (
            "From: Anna Schulz <a.schulz@unna.de>\r\nSubject: Anmeldung\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="p"\r\n\r\n'
            f"--p\r\nContent-Type: text/plain\r\n\r\n{body}\r\n"
            f"--p\r\nContent-Type: text/plain\r\n{folded}\r\nx\r\n--p--\r\n"
        ).encode()
    with watchdog(), pytest.raises(ParseError, match="32 KB"):
        parse_mail(raw)


# --------------------------------------------------------------------------- invisible text


def test_format_characters_hide_no_word_and_no_name() -> None:
    raw = mail(
        "Hiermit möchte ich mich an\u200bmel\u00adden\ufeff.\n\n"
        "Mit freundlichen Grüßen\nAnna Schulz\n",
        subject="An\u200bmel\u202edung\x85",
        sender="=?utf-8?q?Anna_=E2=80=AESchulz=E2=80=AC?= <a.schulz@unna.de>",
    )
    parsed, intent = read(raw)
    assert parsed.sender is not None and parsed.sender.name == "Anna Schulz"
    assert parsed.subject == "Anmeldung"
    assert "anmelde" in parsed.text
    assert intent.kind is Kind.REGISTRATION and people(intent) == [ANNA]


def _invisible(char: str, *, lines: bool = False) -> bool:
    if lines and char in "\r\n\t":
        return False
    return unicodedata.category(char) in ("Cc", "Cf")


def test_every_control_and_format_character_is_invisible() -> None:
    """The hand-written list of format characters is complete for this Python."""
    every = "".join(chr(c) for c in range(0x110000) if _invisible(chr(c)))
    assert bodytext.strip_invisible(every) == ""
    assert bodytext.strip_invisible(every, lines=True) == "\t\n\r"


@settings(max_examples=300)
@given(text=st.text(), lines=st.booleans())
def test_stripping_invisible_characters_is_idempotent_and_leaves_none(
    text: str, lines: bool
) -> None:
    clean = bodytext.strip_invisible(text, lines=lines)
    assert bodytext.strip_invisible(clean, lines=lines) == clean
    assert not any(_invisible(c, lines=lines) for c in clean)
    assert clean == "".join(c for c in text if not _invisible(c, lines=lines))


@settings(max_examples=300)
@given(value=st.text())
def test_a_header_value_is_one_visible_line(value: str) -> None:
    line = parser.one_line(value)
    assert not any(_invisible(c) for c in line)
    assert line == line.strip() and "  " not in line and len(line) <= 300


# --------------------------------------------------------------------------- same results
#
# The linear code gives what the backtracking code it replaced gave, on small inputs.

OLD_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
OLD_CLOSING = re.compile(rules.CLOSING.pattern.replace(r"^[^\S\n]*+", r"^\s*", 1), re.I | re.M)
_SMALL_TEXT = st.text(alphabet="aZ .+-@\n\t(\u2003", max_size=40)


def _old_paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _old_sentences(text: str) -> list[str]:
    paragraphs = re.split(r"\n\s*\n", rules.ABBREVIATION_DOT.sub(r"\1", text))
    flat = [re.sub(r"\s*\n\s*", " ", p) for p in paragraphs]
    return [s.strip() for p in flat for s in re.split(r"(?<=[.!?])\s+", p) if s.strip()]


@given(text=_SMALL_TEXT)
def test_an_address_is_found_where_the_old_pattern_found_it(text: str) -> None:
    old, new = OLD_EMAIL.search(text), rules.EMAIL_IN_TEXT.search(text)
    assert (old and old.span()) == (new and new.span())


@given(text=st.text(alphabet="ab. ?!\n\t\u2003", max_size=60))
def test_sentences_and_paragraphs_are_those_of_the_old_patterns(text: str) -> None:
    assert classifier._sentences(text) == _old_sentences(text)
    assert [p.strip() for p in classifier._paragraphs(text)] == _old_paragraphs(text)


@given(
    text=st.lists(
        st.sampled_from(["Text", "", "  ", "\u2003", "Mit freundlichen Grüßen", "Anna", "--"]),
        max_size=8,
    ).map("\n".join)
)
def test_the_signature_starts_where_it_started(text: str) -> None:
    old = OLD_CLOSING.search(text)
    new = rules.CLOSING.search(text)
    assert (old and (text[: old.start()].strip(), old.end())) == (
        new and (text[: new.start()].strip(), new.end())
    )


_PERSON_NAMES = st.sampled_from(
    ["Anna Schulz", "Schulz", "Anna", "Thomas Rehberg", "Rehberg", "Dr. Anna Schulz", ""]
)
_PERSONS = st.lists(
    st.builds(
        Person,
        name=_PERSON_NAMES,
        email=st.sampled_from([None, "a@unna.de", "A@unna.de", "t@unna.de"]),
    ),
    max_size=8,
)


def _old_unique(persons: list[Person]) -> list[Person]:
    seen: list[Person] = []
    for person in persons:
        tokens = name_tokens(person.name)
        duplicate = any(
            (person.email and p.email and person.email.lower() == p.email.lower())
            or (tokens and (tokens <= name_tokens(p.name)))
            for p in seen
        )
        if duplicate:
            continue
        seen = [p for p in seen if not (name_tokens(p.name) and name_tokens(p.name) < tokens)]
        seen.append(person)
    return seen


@given(persons=_PERSONS)
def test_unique_persons_are_those_of_the_pairwise_comparison(persons: list[Person]) -> None:
    assert classifier._unique(persons) == _old_unique(persons)


OLD_HISTORY_START = re.compile(
    r"""^\s*(?:
        -{2,}\s*(?:Original\s*Message|Urspr(?:ü|ue)ngliche\s*Nachricht|Weitergeleitete\s*Nachricht
                |Forwarded\s*message|Original-Nachricht)\s*-{2,}
      | (?:Von|From)\s*:\s*.+\n\s*(?:Gesendet|Sent|Datum|Date|An|To)\s*:
      | Am\s.{4,120}\s(?:schrieb|hat\s.{1,80}\sgeschrieben)\s*.*:\s*$
      | On\s.{4,120}\swrote\s*:\s*$
      | Begin\s+forwarded\s+message\s*:
      | Anfang\s+der\s+weitergeleiteten\s+(?:E-Mail|Nachricht)\s*:
    )""",
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)
OLD_FORWARDED_FROM = re.compile(
    r"^\s*(?:Von|From)\s*:\s*\"?(?P<name>[^<\[\n\"]*?)\"?\s*[<\[](?:mailto:)?"
    r"(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)[>\]]",
    re.I | re.M,
)
OLD_ORGANIZATION_IN_TEXT = re.compile(
    rules.ORGANIZATION_IN_TEXT.pattern.replace(r"\s++", r"\s+").replace(r"\s*+", r"\s*")
)
OLD_SUBSTITUTE = re.compile(
    rules.SUBSTITUTE.pattern.replace(r"kolleg\w{0,20}+", r"kolleg\w*"), re.I
)


def _lines_of(*fragments: str, joiner: str = "\n") -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(fragments), max_size=8).map(joiner.join)


@given(
    text=_lines_of(
        "Text",
        "",
        "  ",
        "\u2003",
        "> zitiert",
        "-----Original Message-----",
        "Von: Anna Schulz <a@b.de>",
        "Von:   ",
        "From:",
        "Gesendet: Montag",
        "Am 5.12.2018 um 10:00 schrieb Anna Schulz",
        "Am 5.12.2018 um 10:00 schrieb Anna Schulz <a@b.de>:",
        "<a@b.de>:",
        "On Monday, 5 December, Anna wrote:",
    )
)
def test_the_history_starts_where_it_started(text: str) -> None:
    """On tidied text, as parse_mail gives it (no blanks at line ends: "Von:   " followed
    by "Gesendet:" matched only with the old pattern)."""
    text = bodytext.tidy(text)
    match = OLD_HISTORY_START.search(text)
    new, history = (text[: match.start()], text[match.start() :]) if match else (text, "")
    kept = [line for line in new.splitlines() if not line.lstrip().startswith(">")]
    quoted = [line for line in new.splitlines() if line.lstrip().startswith(">")]
    history = "\n".join([*quoted, history]).strip() if quoted else history.strip()
    old = bodytext.SplitText(new="\n".join(kept).strip(), history=history)
    assert bodytext.split_history(text) == old


@given(
    text=_lines_of(
        "Text",
        "",
        "  ",
        'Von: "Anna Schulz" <a@b.de>',
        "From: Anna Schulz [mailto:a@b.de]",
        "Von: Anna   Schulz   <a@b.de>",
        'Von: "Anna" Schulz <a@b.de>',
        "Von:",
        "  <a@b.de>",
        "Gesendet: Montag",
    )
)
def test_forwarded_authors_are_those_the_old_pattern_found(text: str) -> None:
    def authors(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
        return [(m["name"].strip(), m["email"]) for m in pattern.finditer(text)]

    assert authors(rules.FORWARDED_FROM) == authors(OLD_FORWARDED_FROM)


@given(
    text=_lines_of(*"bei der die für Stadt stadt Unna WFG Kreis GmbH ( \n".split(" "), joiner=" ")
)
def test_organisations_in_text_are_those_the_old_pattern_found(text: str) -> None:
    old, new = OLD_ORGANIZATION_IN_TEXT.search(text), rules.ORGANIZATION_IN_TEXT.search(text)
    assert (old and old.groups()) == (new and new.groups())


@given(
    text=_lines_of(
        *"Kollegin Arbeitskollegin kolleg colleague übernimmt meinen Platz my seat .".split(),
        joiner=" ",
    )
)
def test_substitutes_are_found_where_the_old_pattern_found_them(text: str) -> None:
    assert bool(rules.SUBSTITUTE.search(text)) == bool(OLD_SUBSTITUTE.search(text))


@pytest.mark.parametrize(
    "read_text",
    [
        classifier.split_signature,
        bodytext.split_history,
        rules.FORWARDED_FROM.search,
        classifier._sentences,
        classifier._paragraphs,
    ],
)
def test_untidied_blank_lines_are_read_in_linear_time(read_text: Callable[[str], object]) -> None:
    """tidy() removes them, but the patterns must not rely on it."""
    with watchdog():
        read_text("\u2003\n" * 500_000 + "x")
        read_text(" \n" * 500_000 + "x")
