"""The direct writer of the ordinary message gives the email package's bytes, byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st

from draft_feedback import message
from draft_feedback.addresses import Address
from draft_feedback.errors import BadInput
from draft_feedback.message import build_message, message_bytes, wire_bytes

printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
words = st.text(alphabet=printable, min_size=0, max_size=40)
body_line = st.text(alphabet=st.one_of(printable, st.just("\t")), max_size=80) | st.text(
    max_size=20)
# Long lines, spaces and tabs at line ends, '=' and dots, accents, dashes, emoji, controls: what
# quoted-printable has to get right at its 76-column breaks.
qp_char = st.sampled_from(list("ab =.\t-–éü€’😀\x0b\x85\u2028\r")) | printable
long_line = st.text(alphabet=qp_char, min_size=60, max_size=240)
body = (st.lists(body_line, max_size=8).map("\n".join)
        | st.lists(body_line, max_size=4).map(lambda lines: "\r\n".join(lines) + "\n")
        | st.lists(long_line | body_line, max_size=6).map("\n".join))
name = st.sampled_from(["", "Priya Shah", "Shah, Priya", "Zoë Åberg", "Dr. O'Brien",
                        "A very long name " * 5]) | words
ids = st.sampled_from(["<a.b.c@example.com>", "<123.456.789@mail.example.org>",
                       "<x@example.com> <y@example.com>",
                       " ".join(f"<{n}.long.reference@example.com>" for n in range(6))])
dates = st.builds(lambda minutes, offset: datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
                  + timedelta(minutes=minutes),
                  st.integers(0, 10**6), st.integers(-12, 12))
zones = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5))])


def both(**fields: object) -> tuple[bytes | None, bytes | None]:
    """The bytes of the email package and of wire_bytes, or None where either refused."""
    try:
        expected = message_bytes(build_message(**fields))  # type: ignore[arg-type]
    except BadInput:
        expected = None
    try:
        got = wire_bytes(**fields)  # type: ignore[arg-type]
    except BadInput:
        got = None
    return expected, got


@settings(max_examples=400, deadline=None)
@given(name, name, words, body, dates, zones, ids, st.none() | ids)
@example("Alex Rivera", "Priya Shah", "Thank you for the interviews at Acme",
         "Hi Priya,\n\nThank you.\n\nAlex\n", datetime(2026, 12, 2, 9, 30, tzinfo=UTC), UTC,
         "<1.2.3@example.com>", None)
@example("", "", "", "", datetime(2026, 12, 2, tzinfo=UTC), UTC, "<1@example.com>", None)
@example("A", "B", "x" * 200, ("y" * 78 + "\n") * 3, datetime(2026, 1, 1, tzinfo=UTC), UTC,
         "<1@example.com>", "<2@example.com>")
@example("Alex Rivera", "Priya Shah", "Feedback", ("Grüße – " * 12 + " \n" + "a" * 74 + "=\n"
         + "b" * 75 + " \n" + "c" * 73 + "\t\n.\n"), datetime(2026, 1, 1, tzinfo=UTC), UTC,
         "<1@example.com>", None)
def test_direct_bytes_equal_the_email_packages(sender_name: str, to_name: str, subject: str,
                                               text: str, date: datetime, zone: timezone,
                                               message_id: str, parent: str | None) -> None:
    expected, got = both(sender=Address(sender_name.strip(), "alex@example.com"),
                         to=Address(to_name.strip(), "priya@example.com"), subject=subject,
                         body=text, date=date.astimezone(zone), message_id=message_id,
                         in_reply_to=parent, references=parent)
    assert got == expected


def test_the_ordinary_request_is_written_directly() -> None:
    fields = dict(sender=Address("Alex Rivera", "alex@example.com"),
                  to=Address("Priya Shah", "priya@example.com"),
                  subject="Thank you for the interviews at Acme",
                  body="Hi Priya,\n\nThank you for your time.\n\nAlex\n",
                  date=datetime(2026, 12, 2, 9, 30, tzinfo=UTC), message_id="<1.2@example.com>")
    parts = message._checked_parts(*fields.values(), None, None)  # type: ignore[arg-type]
    assert message._direct_bytes(parts) is not None
    assert wire_bytes(**fields) == message_bytes(build_message(**fields))  # type: ignore[arg-type]
    # So is one that needs quoted-printable: a long paragraph with an accent.
    fields["body"] = "Hi Priya,\n\n" + "Thank you for the interviews; Grüße. " * 4 + "\n"
    parts = message._checked_parts(*fields.values(), None, None)  # type: ignore[arg-type]
    assert message._direct_bytes(parts) is not None
    assert wire_bytes(**fields) == message_bytes(build_message(**fields))  # type: ignore[arg-type]
    assert b"Content-Transfer-Encoding: quoted-printable\r\n" in wire_bytes(
        **fields)  # type: ignore[arg-type]
