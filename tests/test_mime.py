"""A reply's bytes read back as what was put in (property tests): subjects in any
script, long Message-IDs never split from their header, References folded between ids,
the text and the calendar file intact, CRLF line ends and no line over 998 octets."""

from __future__ import annotations

from email import message_from_bytes, policy

from hypothesis import given
from hypothesis import strategies as st

from inbox_bot.core.mime import build
from inbox_bot.core.render import header_safe

MSGID = st.from_regex(r"<[A-Za-z0-9._%+-]{1,120}@[a-z0-9.-]{1,60}>", fullmatch=True)
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=300)
LINES = st.lists(TEXT, max_size=8).map("\n".join)
# Display names as staff write them: words of Latin letters with umlauts and accents, of
# a length that fits one encoded word. (A longer run of non-ASCII words must be split
# into several encoded words; RFC 2047 clients join those, Python's own parser reads a
# space between them in a From line: a limit of the library, not of the mail.)
WORD = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZäöüÄÖÜßéèçñ–-"),
    min_size=1,
    max_size=12,
)
NAME = st.lists(WORD, max_size=6).map(" ".join).filter(lambda n: len(n.encode()) <= 30)


@given(
    subject=TEXT,
    name=NAME,
    reply_to=MSGID,
    refs=st.lists(MSGID, max_size=11),
    body=LINES,
)
def test_what_goes_in_reads_back(
    subject: str, name: str, reply_to: str, refs: list[str], body: str
) -> None:
    clean_subject = header_safe(subject)
    clean_name = header_safe(name, limit=60)
    headers = [
        ("To", "vera@hamm.de"),
        ("Subject", clean_subject),
        ("Message-ID", "<reply-1@smartcity.dortmund.de>"),
        ("In-Reply-To", reply_to),
        ("References", " ".join([*refs, reply_to])),
    ]
    data, names = build(
        sender=(clean_name, "smartcity@dortmund.de"),
        headers=headers,
        text=body,
        calendars=[("einladung.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")],
    )
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    assert b"\n" not in data.replace(b"\r\n", b"")
    mail = message_from_bytes(data, policy=policy.default)
    assert names == set(mail.keys())
    assert str(mail["Subject"]) == clean_subject
    assert str(mail["In-Reply-To"]).strip() == reply_to
    assert str(mail["References"]).split() == [*refs, reply_to]
    assert mail["From"].addresses[0].addr_spec == "smartcity@dortmund.de"
    assert mail["From"].addresses[0].display_name == clean_name.strip()
    text = mail.get_body(("plain",))
    assert text is not None and text.get_content().replace("\r\n", "\n") == body
    [calendar] = list(mail.iter_attachments())
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_payload(decode=True) == b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
