"""Tests for header safety, message building and reading saved rejection emails."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from draft_feedback.errors import EXIT_BAD_INPUT, BadInput
from draft_feedback.message import (
    Address,
    build_message,
    cap_subject,
    check_header_value,
    envelope,
    make_message_id,
    message_bytes,
    parse_address,
    parse_rejection,
)

FIXTURES = Path(__file__).parent / "fixtures"
WHEN = datetime(2026, 11, 27, 16, 0, tzinfo=timezone(timedelta(hours=1)))
SENDER = Address(name="Alex Rivera", email="alex.rivera@example.com")
PRIYA = Address(name="Priya Shah", email="priya@example.com")


def parse_bytes(data: bytes) -> EmailMessage:
    """Read serialised bytes back the way a recipient's mail program would."""
    parsed = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(parsed, EmailMessage)
    return parsed


def content(msg: EmailMessage) -> str:
    """Return a parsed message's text with the wire's CRLF turned back into newlines."""
    text = msg.get_content()
    assert isinstance(text, str)
    return text.replace("\r\n", "\n")


def build(**overrides: object) -> EmailMessage:
    """Build a message from sensible defaults, overriding what a test cares about."""
    fields: dict[str, object] = {
        "sender": SENDER,
        "to": PRIYA,
        "subject": "Thank you, and a quick question",
        "body": "Hi Priya,\n\nThank you for your time.\n\nBest,\nAlex\n",
        "date": WHEN,
        "message_id": "<17.42.99@example.com>",
    }
    fields.update(overrides)
    return build_message(**fields)  # type: ignore[arg-type]


# --- check_header_value -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected_error"),
    [
        ("Acme\rCorp", "(U+000D)"),
        ("Acme\nBcc: x@evil.example", "(U+000A)"),
        ("Acme\r\nBcc: x@evil.example", "(U+000D)"),
        ("Acme\x00", "(U+0000)"),
        ("Acme\tCorp", "(U+0009)"),
        ("Acme\x1b[31m", "(U+001B)"),
        ("Acme\x7f", "(U+007F)"),
        ("Acme\x85Corp", "(U+0085)"),
        ("Acme\u2028Corp", "(U+2028)"),
        ("Acme\u2029Corp", "(U+2029)"),
        ("\u202eproC emcA", "(U+202E)"),
        ("Acme \u2066x\u2069", "(U+2066)"),
        ("Acme\u200f", "(U+200F)"),
        ("Acme\u200e", "(U+200E)"),
        ("Acme\udc80", "(U+DC80)"),
        (
            "=?utf-8?q?Acme=0ABcc:_x@evil.example?=",
            "an encoded word ('=?utf-8?q?Acme=0ABcc:_x@evil.example?=') that decodes to a line "
            "break or control character (U+000A)",
        ),
        ("=?UTF-8?B?QWNtZQ0KQmNjOiB4QGV2aWwuZXhhbXBsZQ==?=", "decodes to a line break"),
        ("=?utf-8?b?QWNtZQo?=", "(U+000A)"),  # missing padding, as lenient readers accept
        ("=?utf-16-be?b?AAo=?=", "(U+000A)"),
        ("=?x-unknown?q?a=00b?=", "(U+0000)"),
        ("=?utf-8*en?q?a=0Db?=", "(U+000D)"),
        ("Team =?iso-8859-1?q?=85?= Acme", "(U+0085)"),
        ("=?utf-8?q?Acme?=", "that mail programs would decode"),
    ],
)
def test_check_header_value_refuses(value: str, expected_error: str) -> None:
    with pytest.raises(BadInput) as caught:
        check_header_value(value, "--org")
    message = str(caught.value)
    assert message.startswith("--org: contains ")
    assert message.endswith("; remove it and try again")
    assert expected_error in message
    assert caught.value.exit_code == EXIT_BAD_INPUT


def test_check_header_value_message_names_option_and_fix() -> None:
    with pytest.raises(BadInput) as caught:
        check_header_value("Acme\nCorp", "--org")
    assert str(caught.value) == (
        "--org: contains a line break or control character (U+000A); remove it and try again"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Acme", "Acme"),
        ("  Acme Corp  ", "Acme Corp"),
        ("Zoë Müller", "Zoë Müller"),
        ("Acme, Inc. (Berlin) <Data>", "Acme, Inc. (Berlin) <Data>"),
        ('O\'Brien & Sons: "Quality"', 'O\'Brien & Sons: "Quality"'),
        ("株式会社アクメ", "株式会社アクメ"),
        ("שלום עולם", "שלום עולם"),
        ("=? is not an encoded word ?=", "=? is not an encoded word ?="),
        ("2+2=4?", "2+2=4?"),
        ("", ""),
    ],
)
def test_check_header_value_accepts(value: str, expected: str) -> None:
    assert check_header_value(value, "--org") == expected


# --- parse_address --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected_error"),
    [
        ("", '--to: an address is required; write it as "Name <name@example.com>"'),
        ("   ", "an address is required"),
        (
            "priya@",
            "--to: 'priya@' is not a valid email address (there must be something after the "
            '@-sign); write it as "Name <name@example.com>"',
        ),
        ("priya", "must have an @-sign"),
        ("a@b", "should have a period"),
        ("a@@b.com", "invalid characters"),
        ("a b@c.com", "SPACE"),
        ("@x.com", "something before the @-sign"),
        ("x@.com", "period immediately after the @-sign"),
        ("x@-a.com", "hyphen"),
        ("x@example.com.", "cannot end with a period"),
        ("x" * 65 + "@example.com", "too long before the @-sign"),
        ("zoë@example.com", "internationalized characters before the @-sign"),
        ("a@x.test", "special-use or reserved"),
        ("a@localhost", "should have a period"),
        ("a@[192.0.2.1]", "bracketed IP address"),
        ('"a b"@example.com', "quoting the part before the @-sign"),
        ("a@x.com, b@x.com", "--to: give exactly one address, not 2"),
        ("a@x.com; b@x.com", "give exactly one address, not 2"),
        ("A <a@x.com>, B <b@x.com>, c@x.com", "give exactly one address, not 3"),
        ("A <a@x.com> <b@x.com>", "give exactly one address, not 2"),
        ("Shah, Priya <priya@example.com>", "put the name in double quotes"),
        ("priya@example.com,", "a stray ',' or ';'"),
        ('Pri"ya <priya@example.com>', "an unclosed double quote"),
        ("Priya <priya@example.com", "an unclosed '<'"),
        ("Priya priya@example.com>", "an unmatched '>'"),
        ("Priya <<priya@example.com>>", "a '<' inside '<...>'"),
        ("Priya <priya@example.com> extra", "text after the closing '>'"),
        ("Priya <>", "there is no address between '<' and '>'"),
        ("Team: a@x.com, b@x.com;", "a ':' outside quotes"),
        ("alice@example.org)<bob@example.org>", "an unmatched ')'"),
        ("Priya (Acme <priya@example.com>", "an unclosed '('"),
        ("Eve\tShah <eve@example.com>", "(U+0009)"),
        ("Eve\r\nBcc: x@evil.example <eve@example.com>", "(U+000D)"),
        ("=?utf-8?q?Eve=0ABcc:_x@evil.example?= <eve@example.com>", "decodes to a line break"),
        ("Priya\u202e <priya@example.com>", "(U+202E)"),
        ("priya@example.com\u2028", "(U+2028)"),
        ("A" * 201 + " <a@example.com>", "shorten it to 200 or fewer"),
    ],
)
def test_parse_address_refuses(text: str, expected_error: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_address(text)
    assert expected_error in str(caught.value)
    assert str(caught.value).startswith("--to: ")


@pytest.mark.parametrize(
    ("text", "name", "email"),
    [
        ("Priya Shah <priya@example.com>", "Priya Shah", "priya@example.com"),
        ("priya@example.com", "", "priya@example.com"),
        ("<priya@example.com>", "", "priya@example.com"),
        ('"Shah, Priya" <Priya.Shah@Example.COM>', "Shah, Priya", "Priya.Shah@example.com"),
        ("Zoë Müller <zoe@Bücher.example>", "Zoë Müller", "zoe@bücher.example"),
        ("  Priya   Shah   <priya@example.org>  ", "Priya Shah", "priya@example.org"),
        ('Priya "PJ" Shah <pj@example.com>', "Priya PJ Shah", "pj@example.com"),
        ('"Priya \\"PJ\\" Shah" <pj@example.com>', 'Priya "PJ" Shah', "pj@example.com"),
        (
            "Priya Shah (Acme, Berlin) <priya@acme.com>",
            "Priya Shah (Acme, Berlin)",
            "priya@acme.com",
        ),
        ("a@xn--bcher-kva.example", "", "a@xn--bcher-kva.example"),
        ("priya+jobs@mail.acme-corp.co.uk", "", "priya+jobs@mail.acme-corp.co.uk"),
        ("Priya<priya@example.com>", "Priya", "priya@example.com"),
    ],
)
def test_parse_address_accepts(text: str, name: str, email: str) -> None:
    address = parse_address(text)
    assert address == Address(name=name, email=email)
    # What formatted() prints must read back as the same address.
    assert parse_address(address.formatted()) == address


def test_parse_address_names_the_option() -> None:
    with pytest.raises(BadInput, match=r"^sender\.email: 'alex@' is not a valid email address"):
        parse_address("alex@", option="sender.email")


@pytest.mark.parametrize(
    ("address", "formatted"),
    [
        (Address("Priya Shah", "priya@example.com"), "Priya Shah <priya@example.com>"),
        (Address("", "priya@example.com"), "priya@example.com"),
        (Address("Shah, Priya", "priya@example.com"), '"Shah, Priya" <priya@example.com>'),
        (Address("Priya S. Shah", "p@example.com"), '"Priya S. Shah" <p@example.com>'),
        (Address('Priya "PJ" Shah', "p@example.com"), '"Priya \\"PJ\\" Shah" <p@example.com>'),
        (Address("Zoë Müller", "zoe@bücher.example"), "Zoë Müller <zoe@bücher.example>"),
    ],
)
def test_address_formatted(address: Address, formatted: str) -> None:
    assert address.formatted() == formatted


def test_address_domain() -> None:
    assert Address("Zoë", "zoe@bücher.example").domain == "bücher.example"


def test_envelope_address_uses_punycode() -> None:
    assert envelope("joerg@bücher.example") == "joerg@xn--bcher-kva.example"
    assert envelope("priya@example.com") == "priya@example.com"
    with pytest.raises(BadInput, match="address: 'priya@' is not a valid email address"):
        envelope("priya@")


# --- make_message_id and cap_subject -----------------------------------------------------------


def test_message_ids_are_unique_and_on_the_domain() -> None:
    ids = [make_message_id("example.com") for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(i.startswith("<") and i.endswith("@example.com>") for i in ids)


def test_message_id_uses_punycode_for_idn_domain() -> None:
    assert make_message_id("Bücher.example").endswith("@xn--bcher-kva.example>")


@pytest.mark.parametrize(
    ("domain", "expected_error"),
    [
        ("example.com\r\nBcc: x@evil.example", "(U+000D)"),
        ("", "the domain is empty"),
        ("exa mple.com", "'exa mple.com' is not a valid domain"),
        ("localhost", "'localhost' is not a valid domain"),
    ],
)
def test_message_id_refuses_bad_domain(domain: str, expected_error: str) -> None:
    with pytest.raises(BadInput, match=re.escape(expected_error)):
        make_message_id(domain)


def test_cap_subject_collapses_whitespace() -> None:
    assert cap_subject("  Thank   you\u00a0 so much  ") == "Thank you so much"


def test_cap_subject_cuts_at_a_word_boundary() -> None:
    subject = " ".join(f"word{i}" for i in range(100))
    capped = cap_subject(subject, limit=50)
    assert len(capped) <= 50
    assert capped.endswith("…")
    assert subject.startswith(capped[:-1])
    assert capped[:-1].split()[-1] in subject.split()  # no word is cut in half


def test_cap_subject_cuts_one_giant_word() -> None:
    capped = cap_subject("x" * 2000)
    assert capped == "x" * 199 + "…"


def test_cap_subject_leaves_short_subjects_alone() -> None:
    assert cap_subject("x" * 200) == "x" * 200


# --- build_message -------------------------------------------------------------------------


def lines_of(data: bytes) -> list[bytes]:
    """Split serialised bytes into lines, checking every line ends in CRLF."""
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    return data.split(b"\r\n")[:-1]


def test_build_message_round_trip() -> None:
    msg = build(
        in_reply_to="<CAH3nR8tYp2@mail.gmail.com>",
        references="<CAJx9Lm2r0@mail.gmail.com> <CAH3nR8tYp2@mail.gmail.com>",
    )
    data = message_bytes(msg)
    lines_of(data)
    parsed = parse_bytes(data)
    assert str(parsed["From"]) == "Alex Rivera <alex.rivera@example.com>"
    assert str(parsed["To"]) == "Priya Shah <priya@example.com>"
    assert len(parsed["To"].addresses) == 1
    assert parsed.get_all("To") is not None and len(parsed.get_all("To")) == 1
    assert str(parsed["Subject"]) == "Thank you, and a quick question"
    assert parsed["Date"].datetime == WHEN
    assert str(parsed["Date"]) == "Fri, 27 Nov 2026 16:00:00 +0100"
    assert str(parsed["Message-ID"]) == "<17.42.99@example.com>"
    assert str(parsed["In-Reply-To"]) == "<CAH3nR8tYp2@mail.gmail.com>"
    assert str(parsed["References"]) == ("<CAJx9Lm2r0@mail.gmail.com> <CAH3nR8tYp2@mail.gmail.com>")
    assert parsed["MIME-Version"] == "1.0"
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert not parsed.is_multipart()
    assert content(parsed) == "Hi Priya,\n\nThank you for your time.\n\nBest,\nAlex\n"
    assert [k for k, _ in parsed.items()] == [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
    ]


def test_build_message_leaves_out_thread_headers_when_unknown() -> None:
    parsed = parse_bytes(message_bytes(build()))
    assert "In-Reply-To" not in parsed
    assert "References" not in parsed


def test_plain_ascii_body_stays_readable_7bit() -> None:
    msg = build()
    assert msg["Content-Transfer-Encoding"] == "7bit"
    assert b"Thank you for your time." in message_bytes(msg)


def test_non_ascii_is_quoted_printable_and_7bit_safe() -> None:
    body = "Hallo Zoë,\n\nvielen Dank für Ihre Zeit – und Grüße aus Köln.\n"
    msg = build(
        sender=Address("Zoë Müller", "zoe@example.com"),
        to=Address("Jörg Straße", "joerg@example.com"),
        subject="Vielen Dank für das Gespräch",
        body=body,
    )
    data = message_bytes(msg)
    assert data.isascii()
    assert msg["Content-Transfer-Encoding"] == "quoted-printable"
    assert b"f=C3=BCr" in data
    parsed = parse_bytes(data)
    assert content(parsed) == body
    assert str(parsed["From"]) == "Zoë Müller <zoe@example.com>"
    assert str(parsed["To"]) == "Jörg Straße <joerg@example.com>"
    assert str(parsed["Subject"]) == "Vielen Dank für das Gespräch"
    assert b"=?utf-8?" in data  # the names and subject are RFC 2047 encoded words


def test_idn_address_is_punycode_in_the_headers() -> None:
    to = parse_address("Jörg <joerg@Bücher.example>")
    sender = parse_address("Alex <alex@straße.example>")
    data = message_bytes(build(sender=sender, to=to))
    assert b"<joerg@xn--bcher-kva.example>" in data
    assert b"<alex@xn--strae-oqa.example>" in data
    parsed = parse_bytes(data)
    (recipient,) = parsed["To"].addresses
    assert recipient.display_name == "Jörg"
    assert recipient.addr_spec == "joerg@xn--bcher-kva.example"


def test_ascii_headers_stay_readable() -> None:
    data = message_bytes(build(to=Address("Shah, Priya", "priya@example.com")))
    assert b"\r\nSubject: Thank you, and a quick question\r\n" in data
    assert b'\r\nTo: "Shah, Priya" <priya@example.com>\r\n' in data
    assert data.startswith(b"From: Alex Rivera <alex.rivera@example.com>\r\n")


def test_space_between_folded_encoded_words_is_not_lost() -> None:
    # Python 3.11.7's own folder writes this subject so that readers drop the space after "«".
    subject = "Re: Ihr Manuskript »Die Stille der Flüsse« – Bitte um eine kurze Rückmeldung"
    name = "Zoë Müller-Lüdenscheidt von Bärenfels zu Großostheim"
    data = message_bytes(build(subject=subject, sender=Address(name, "zoe@example.com")))
    parsed = parse_bytes(data)
    assert str(parsed["Subject"]) == subject
    assert displayed_name(parsed, "From") == name


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("Zoë Müller", "Vielen Dank für das Gespräch über die Stelle als Datenanalystin"),
        ("Zoë Müller-Lüdenscheidt von Bärenfels zu Großostheim und Hohenstein", "é" * 200),
        ("山田 太郎", "面接の機会をいただき、誠にありがとうございました。" * 5),
        ("Priya Shah " * 15, "Thank you " * 19),
    ],
)
def test_headers_fold_at_78(name: str, subject: str) -> None:
    data = message_bytes(build(sender=Address(name, "alex@example.com"), subject=subject))
    head = data.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    parsed = parse_bytes(data)
    assert str(parsed["Subject"]) == cap_subject(subject)
    assert displayed_name(parsed, "From") == " ".join(name.split())


def test_long_address_is_written_whole() -> None:
    to = parse_address(f"Zoë <{'z' * 64}@{'verlag-sonnenschein.' * 5}example>")
    data = message_bytes(build(to=to))
    (recipient,) = parse_bytes(data)["To"].addresses
    assert recipient.addr_spec == to.email
    assert max(len(line) for line in lines_of(data)) <= 998


def test_built_message_reads_back_without_serialising() -> None:
    msg = build(to=Address("Zoë Müller", "zoe@bücher.example"), subject="Grüße")
    (recipient,) = msg["To"].addresses
    assert (recipient.display_name, recipient.addr_spec) == (
        "Zoë Müller",
        "zoe@xn--bcher-kva.example",
    )
    assert str(msg["Subject"]) == "Grüße"


def test_long_subject_and_long_body_line_stay_under_998_octets() -> None:
    subject = " ".join(["feedback"] * 250)  # about 2,250 characters
    body = "Hi Priya,\n\n" + "x" * 3000 + "\n" + "ü" * 3000 + "\n"
    data = message_bytes(build(subject=subject, body=body))
    assert max(len(line) for line in lines_of(data)) <= 998
    parsed = parse_bytes(data)
    assert str(parsed["Subject"]) == cap_subject(subject)
    assert len(str(parsed["Subject"])) <= 200
    assert content(parsed) == body


def test_two_thousand_character_single_word_subject_is_capped() -> None:
    data = message_bytes(build(subject="x" * 2000))
    assert max(len(line) for line in lines_of(data)) <= 998
    assert str(parse_bytes(data)["Subject"]) == "x" * 199 + "…"


def test_quoted_printable_lines_respect_rfc_2045() -> None:
    msg = build(body="ü" * 500 + "\n")
    data = message_bytes(msg)
    body = data.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in lines_of(body)) <= 76


def test_message_bytes_are_deterministic() -> None:
    first = message_bytes(build(body="Grüße\n"))
    assert first == message_bytes(build(body="Grüße\n"))
    msg = build()
    assert message_bytes(msg) == message_bytes(msg)


def test_naive_date_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build(date=datetime(2026, 11, 27, 16, 0))


@pytest.mark.parametrize(
    ("overrides", "expected_error"),
    [
        ({"sender": Address("Alex\nBcc: x@evil.example", "alex@example.com")}, "From name:"),
        ({"to": Address("Priya", "priya@example.com\r\nBcc: x@evil.example")}, "To:"),
        ({"to": Address("Priya", "not-an-address")}, "To: 'not-an-address' is not a valid"),
        ({"to": Address("Priya", "priya@localhost")}, "should have a period"),
        ({"to": Address("A" * 2000, "priya@example.com")}, "shorten it to 200"),
        ({"subject": "Hello\r\nBcc: x@evil.example"}, "Subject: contains"),
        ({"subject": "=?utf-8?q?Hi=0ABcc:_x@evil.example?="}, "decodes to a line break"),
        ({"subject": "Feedback \u202e"}, "(U+202E)"),
        ({"message_id": "no-brackets@example.com"}, "Message-ID: 'no-brackets@example.com'"),
        ({"message_id": "<a@b>\n<c@d>"}, "Message-ID: contains"),
        ({"message_id": "<" + "x" * 300 + "@example.com>"}, "over 250 characters"),
        ({"in_reply_to": "<a@b>\r\nBcc: x@evil.example"}, "In-Reply-To: contains"),
        ({"references": "<a@b> c@d"}, "References: '<a@b> c@d'"),
    ],
)
def test_build_message_revalidates_every_header(
    overrides: dict[str, object], expected_error: str
) -> None:
    with pytest.raises(BadInput) as caught:
        build(**overrides)
    assert expected_error in str(caught.value)


def displayed_name(parsed: EmailMessage, header: str) -> str:
    """Return the display name of a one-address header as an RFC 2047 reader shows it."""
    # CPython 3.11's header parser puts a space between adjacent encoded words in a display
    # name, where RFC 2047 section 6.2 says to drop it; folding a long non-ASCII name produces
    # exactly that, so the name is decoded from the raw header with the legacy decoder.
    (raw,) = [value for key, value in parsed.raw_items() if key.lower() == header.lower()]
    ((name, _addr),) = getaddresses([re.sub(r"\r?\n", "", raw)])
    return str(make_header(decode_header(name)))


# The property the spec asks for: whatever text a user types as a name, organisation or
# subject is either refused up front or arrives intact, with exactly one recipient.
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_any_text_is_refused_or_survives_the_round_trip(text: str) -> None:
    try:
        value = check_header_value(text, "--org")
    except BadInput:
        return
    msg = build(
        sender=Address(value, "alex@example.com"),
        to=Address(value, "priya@example.com"),
        subject=value,
        body=f"About {value}.\n",
    )
    data = message_bytes(msg)
    assert max(len(line) for line in lines_of(data)) <= 998
    parsed = parse_bytes(data)
    assert len(parsed.get_all("To")) == 1
    (recipient,) = parsed["To"].addresses
    assert recipient.addr_spec == "priya@example.com"
    # Display names are sent with whitespace runs collapsed, as readers would show them.
    assert displayed_name(parsed, "To") == " ".join(value.split())
    (sender,) = parsed["From"].addresses
    assert sender.addr_spec == "alex@example.com"
    assert displayed_name(parsed, "From") == " ".join(value.split())
    assert str(parsed["Subject"]) == cap_subject(value)
    assert content(parsed) == f"About {value}.\n"
    assert "Bcc" not in parsed and "Cc" not in parsed


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_text_as_address_is_refused_or_reads_back(text: str) -> None:
    try:
        address = parse_address(text)
    except BadInput:
        return
    assert parse_address(address.formatted()) == address
    parsed = parse_bytes(message_bytes(build(to=address)))
    assert len(parsed["To"].addresses) == 1


# --- parse_rejection: fixtures ----------------------------------------------------------------


def read_fixture(name: str) -> bytes:
    """Return a saved email from tests/fixtures."""
    return (FIXTURES / name).read_bytes()


FIXTURE_EXPECTATIONS = {
    "person_plain.eml": {
        "to": Address("Priya Shah", "priya.shah@acme-corp.com"),
        "org": "Acme Corp",
        "received_at": datetime(2026, 11, 26, 15, 4, 11, tzinfo=UTC),
        "role": "Data Analyst",
        "subject": "Re: Data Analyst role - final interview",
        "reply_subject": "Re: Data Analyst role - final interview",
        "message_id": "<CAH3nR8tYp2Lq6Vz0sWc4Xe9Kd1mJb7Fu5Gi3Oa@mail.gmail.com>",
        "references": "<CAJx9Lm2r0pQ4Wd7kE1sHn3bT8vYc5uF6gA2zXo@mail.gmail.com> "
        "<CAF7k2QmZ8xJ4t3p1N9bVd0eYwR5u6LhT2sGqPa@mail.gmail.com> "
        "<CAH3nR8tYp2Lq6Vz0sWc4Xe9Kd1mJb7Fu5Gi3Oa@mail.gmail.com>",
        "automated": False,
        "automated_reason": "",
        "body_contains": "your walkthrough of the\nchurn dashboard",
    },
    "ats_html_noreply.eml": {
        "to": None,
        "org": "Acme",
        "received_at": datetime(2026, 11, 24, 14, 32, 7, tzinfo=UTC),
        "role": "Data Analyst",
        "subject": "Important information about your application to Data Analyst at Acme",
        "reply_subject": "Re: Important information about your application to Data Analyst at Acme",
        "message_id": "<8Yk3Qe2tRwO5n1Lz7Pj0Vg@geopod-ismtpd-3>",
        "references": "<8Yk3Qe2tRwO5n1Lz7Pj0Vg@geopod-ismtpd-3>",
        "automated": True,
        "automated_reason": "the sender is a no-reply address (no-reply@us.greenhouse-mail.io)",
        "body_contains": "we\u2019ve decided not to move forward",
    },
    "qp_nonascii.eml": {
        "to": Address("Zoë Müller", "z.mueller@verlag-sonnenschein.de"),
        "org": "Verlag Sonnenschein",
        "received_at": datetime(2026, 11, 20, 8, 15, 42, tzinfo=UTC),
        "role": "Die Stille der Flüsse",
        "subject": "Ihr Manuskript »Die Stille der Flüsse«",
        "reply_subject": "Re: Ihr Manuskript »Die Stille der Flüsse«",
        "message_id": "<AM9PR07MB71231A2B3C4D5E6F7A8B9C0D1E2F3@AM9PR07MB7123.eurprd07.prod."
        "outlook.com>",
        "references": "<AM9PR07MB71231A2B3C4D5E6F7A8B9C0D1E2F3@AM9PR07MB7123.eurprd07.prod."
        "outlook.com>",
        "automated": False,
        "automated_reason": "",
        "body_contains": "Mit freundlichen Grüßen\n\nZoë Müller",
    },
    "folded_refs.eml": {
        "to": Address("Jordan Lee", "jordan.lee@northwind-labs.com"),
        "org": "Northwind Labs",
        "received_at": datetime(2026, 11, 26, 2, 47, 3, tzinfo=UTC),
        "role": "Senior Backend Engineer (Platform Infrastructure)",
        "subject": "Re: Update on your application for the Senior Backend Engineer (Platform "
        "Infrastructure) position at Northwind Labs",
        "reply_subject": "Re: Update on your application for the Senior Backend Engineer "
        "(Platform Infrastructure) position at Northwind Labs",
        "message_id": "<CAD5mWq9Rt2Zx7Kp0Ns4Lb8Yc1Jf6Hv3Gu2Ea@mail.gmail.com>",
        "references": "<CAKp3vRw8Hq0Ld1nE5sTz2yUc7xJ9bG4fA6mQo@mail.gmail.com> "
        "<CAN2eYt0Wm4Pr7Bx1Gs9Jd3Kq8Lz5Vc6Hf2Ui@mail.gmail.com> "
        "<CAB8fZq1Xn5Ts2Ky7Mw0Pd4Rj9Lc3Gv6Eh1Oa@mail.gmail.com> "
        "<CAD5mWq9Rt2Zx7Kp0Ns4Lb8Yc1Jf6Hv3Gu2Ea@mail.gmail.com>",
        "automated": False,
        "automated_reason": "",
        # The text/plain part (base64) wins over the HTML alternative.
        "body_contains": "wrapped up the loop — I know it took longer\nthan we’d hoped.",
    },
    "reply_to.eml": {
        "to": Address("Shah, Priya", "priya.shah@acme-corp.com"),
        "org": "Acme Corp",
        "received_at": datetime(2026, 11, 30, 9, 2, 17, tzinfo=UTC),
        "role": "Data Analyst",
        "subject": "Regarding your application: Data Analyst (Req #4471)",
        "reply_subject": "Re: Regarding your application: Data Analyst (Req #4471)",
        "message_id": "<20261130090217.4471.5531@smtp.acme-corp.com>",
        "references": "<20261130090217.4471.5531@smtp.acme-corp.com>",
        "automated": False,
        "automated_reason": "",
        "body_contains": "it will reach Priya Shah",
    },
}


@pytest.mark.parametrize("name", sorted(FIXTURE_EXPECTATIONS))
def test_fixture_is_read(name: str) -> None:
    expected = dict(FIXTURE_EXPECTATIONS[name])
    body_contains = expected.pop("body_contains")
    rejection = parse_rejection(read_fixture(name), name)
    assert rejection.source == name
    for field, value in expected.items():
        assert getattr(rejection, field) == value, field
    assert rejection.received_at.tzinfo is not None
    assert isinstance(body_contains, str) and body_contains in rejection.body_text


def test_html_only_fixture_loses_its_markup() -> None:
    body = parse_rejection(read_fixture("ats_html_noreply.eml"), "ats.eml").body_text
    assert "<" not in body and "font-family" not in body and "&nbsp;" not in body
    assert "Data Analyst position" in body
    assert body.startswith("Hi Alex,\n\nThank you for your interest in Acme")


def test_fixture_received_at_keeps_the_senders_offset() -> None:
    rejection = parse_rejection(read_fixture("qp_nonascii.eml"), "qp.eml")
    assert rejection.received_at.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("name", "expected_error"),
    [
        (
            "hostile_from.eml",
            "hostile_from.eml: the From header contains an encoded word "
            "('=?utf-8?q?Eve=0ABcc:_x@evil.example?=') that decodes to a line break or control "
            "character (U+000A)",
        ),
        (
            "not_email.eml",
            "not_email.eml: not an email message (no From or Date header); save the rejection "
            "from your mail client as .eml",
        ),
        ("no_date.eml", "no_date.eml: there is no Date header"),
    ],
)
def test_unusable_fixture_is_bad_input(name: str, expected_error: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_rejection(read_fixture(name), name)
    assert str(caught.value).startswith(expected_error)


# --- parse_rejection: edge cases --------------------------------------------------------------


def eml(*headers: str, body: str = "Thank you for applying.\n") -> bytes:
    """Assemble a small email from header lines and a body."""
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode("utf-8")


DATE = "Date: Thu, 26 Nov 2026 16:04:11 +0100"


@pytest.mark.parametrize(
    ("data", "expected_error"),
    [
        (b"", "not an email message"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n", "not an email message"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not an email message"),
        (b"Note: copied from the portal\n\nWe regret...\n", "not an email message"),
        (eml(DATE, "Subject: Hi"), "there is no From header"),
        (eml("From: Priya <priya@example.com>", "Date: someday soon"), "the Date header"),
        (eml("From: undisclosed-recipients:;", DATE), "the From header has no usable address"),
        (eml("From: Priya <priya@localhost>", DATE), "'priya@localhost' is not a valid address"),
        (
            eml("From: a@localhost", "Reply-To: b@x.test", DATE),
            "the From header has no usable address",
        ),
        (
            eml("From: Priya <priya@example.com>", DATE, "Subject: =?utf-8?b?SGkKQmNjOiB4?="),
            "the Subject header contains an encoded word",
        ),
        (
            eml("From: p@example.com", "Reply-To: =?utf-8?q?a=0D=0Ab?= <b@example.com>", DATE),
            "the Reply-To header contains",
        ),
        (
            eml("From: =?utf-8?q?Priya=E2=80=AE?= <p@example.com>", DATE),
            "the From header contains an encoded word",
        ),
        (
            eml("From: =?utf-8?b?PT91dGYtOD9xP2E9MEFiPz0=?= <p@example.com>", DATE),
            "the From header contains an encoded word ('=?utf-8?q?a=0Ab?=')",
        ),
        (eml("From: p@example.com", DATE, "References: <a@b>\x00<c@d>"), "(U+0000)"),
    ],
)
def test_parse_rejection_refuses(data: bytes, expected_error: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_rejection(data, "saved.eml")
    assert str(caught.value).startswith("saved.eml: ")
    assert expected_error in str(caught.value)


def test_unusable_reply_to_falls_back_to_from() -> None:
    data = eml("From: Priya Shah <priya@acme.com>", "Reply-To: nobody@localhost", DATE)
    assert parse_rejection(data, "x.eml").to == Address("Priya Shah", "priya@acme.com")


def test_unusable_from_is_not_fatal_when_reply_to_works() -> None:
    data = eml("From: Acme <jobs@acme>", "Reply-To: Priya Shah <priya@acme.com>", DATE)
    assert parse_rejection(data, "x.eml").to == Address("Priya Shah", "priya@acme.com")


def test_first_usable_reply_to_wins() -> None:
    data = eml(
        "From: Acme Careers <careers@acme.com>",
        "Reply-To: broken@localhost, Priya <priya@acme.com>, Sam <sam@acme.com>",
        DATE,
    )
    assert parse_rejection(data, "x.eml").to == Address("Priya", "priya@acme.com")


def test_no_reply_sender_with_named_reply_to() -> None:
    data = eml("From: Acme Hiring <noreply@acme.com>", "Reply-To: Priya <priya@acme.com>", DATE)
    rejection = parse_rejection(data, "x.eml")
    assert rejection.to == Address("Priya", "priya@acme.com")
    assert rejection.automated
    assert rejection.automated_reason == "the sender is a no-reply address (noreply@acme.com)"


def test_only_no_reply_addresses_leave_nobody_to_ask() -> None:
    data = eml("From: Acme <no-reply@acme.com>", "Reply-To: donotreply@acme.com", DATE)
    assert parse_rejection(data, "x.eml").to is None


def test_minus_zero_date_is_utc() -> None:
    data = eml("From: p@example.com", "Date: Thu, 26 Nov 2026 16:04:11 -0000")
    assert parse_rejection(data, "x.eml").received_at == datetime(
        2026, 11, 26, 16, 4, 11, tzinfo=UTC
    )


def test_raw_utf8_display_name_is_decoded() -> None:
    data = eml("From: Zoë Müller <zoe@verlag.example>", DATE, "Subject: Grüße")
    rejection = parse_rejection(data, "x.eml")
    assert rejection.to == Address("Zoë Müller", "zoe@verlag.example")
    assert rejection.subject == "Grüße"


def test_outlook_tab_folding_is_not_a_control_character() -> None:
    data = eml("From: p@example.com", DATE, "Subject: Your application\r\n\tfor Data Analyst")
    rejection = parse_rejection(data, "x.eml")
    assert rejection.subject == "Your application for Data Analyst"
    assert rejection.role == "Data Analyst"


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        (
            ("From: Acme <jobs@mail.workday.example>",),
            "Thanks.",
            "the sender's domain is listed as automated (workday.example)",
        ),
        (
            ("From: Acme <jobs@acme.com>", "Auto-Submitted: auto-generated"),
            "Thanks.",
            "the message is marked Auto-Submitted: auto-generated",
        ),
        (
            ("From: Acme <jobs@acme.com>",),
            "Note: This mailbox is not\nmonitored.",
            "the message says 'this mailbox is not monitored'",
        ),
        (
            ("From: Acme <jobs@acme.com>", "Content-Type: text/plain; charset=utf-8"),
            "Please don\u2019t reply to this message.",
            "the message says 'please don't reply'",
        ),
        (
            ("From: Acme <notifications-jobs@acme.com>",),
            "Thanks.",
            "the sender is a no-reply address (notifications-jobs@acme.com)",
        ),
        (("From: Acme <jobs@notworkday.example>",), "Thanks.", ""),
        (("From: Acme <jobs@acme.com>", "Auto-Submitted: no"), "Thanks.", ""),
        (("From: Priya <priya.noreply.fan@acme.com>",), "Thanks.", ""),
    ],
)
def test_automated_sender_detection(headers: tuple[str, ...], body: str, reason: str) -> None:
    data = eml(*headers, DATE, body=body)
    rejection = parse_rejection(data, "x.eml", automated_domains=["workday.example"])
    assert rejection.automated_reason == reason
    assert rejection.automated is bool(reason)


@pytest.mark.parametrize(
    ("sender", "org"),
    [
        ("Acme Talent Team via Greenhouse <no-reply@us.greenhouse-mail.io>", "Acme"),
        ("Acme Careers <careers@acme.com>", "Acme"),
        ("Talent Acquisition at Globex Corporation <ta@globex.com>", "Globex Corporation"),
        ("The Hiring Team at Stark Industries <hiring@stark.example>", "Stark Industries"),
        ("Hooli Recruiting Team <recruiting@hooli.example>", "Hooli"),
        ("HR | Umbrella <hr@umbrella.example>", "Umbrella"),
        ("Initech <jobs@initech.example>", "Initech"),
        ("Recruiting <recruiting@acme-corp.com>", "Acme Corp"),
        ("Priya Shah <priya.shah@acme-corp.com>", "Acme Corp"),
        ("Priya Shah <priya@mail.initech.co.uk>", "Initech"),
        ("noreply@bücher-verlag.example", "Bücher Verlag"),
        ("noreply@xn--bcher-verlag-dlb.example", "Bücher Verlag"),
        ("Priya <priya.shah@gmail.com>", ""),
        ("priya@acme.com <priya@acme.com>", "Acme"),
    ],
)
def test_org_guess(sender: str, org: str) -> None:
    data = eml(f"From: {sender}", DATE)
    assert parse_rejection(data, "x.eml").org == org


@pytest.mark.parametrize(
    ("subject", "role"),
    [
        ("Your application for Data Analyst", "Data Analyst"),
        ("Your application for the Senior Data Analyst position at Acme", "Senior Data Analyst"),
        ("Your application to Data Analyst at Acme Corp", "Data Analyst"),
        ("Data Analyst position", "Data Analyst"),
        ("Update on your Data Analyst application", "Data Analyst"),
        ("Regarding your application: Product Designer", "Product Designer"),
        ("Application for Data Analyst - Acme", "Data Analyst"),
        ("Re: Data Analyst role", "Data Analyst"),
        ("RE: AW: Data Analyst role", "Data Analyst"),
        ("Fwd: [Acme] Your application for UX Researcher (R-10293)", "UX Researcher"),
        ("Thank you for your interest in the Data Analyst position", "Data Analyst"),
        ("Update on the hiring process for the Data Analyst role", "Data Analyst"),
        ("Your application for the role of Head of Data at Acme", "Head of Data"),
        ("Your application for Data Analyst (Job ID 12345)", "Data Analyst"),
        ("Your submission: The Quiet of Rivers", "The Quiet of Rivers"),
        ("Ihr Manuskript »Die Stille der Flüsse«", "Die Stille der Flüsse"),
        ("Your application to Acme", ""),
        ("Thank you for your interest in Acme", ""),
        ("Update on your application", ""),
        ("Interview follow-up", ""),
        ("", ""),
    ],
)
def test_role_from_subject(subject: str, role: str) -> None:
    data = eml("From: Acme <jobs@acme.com>", DATE, f"Subject: {subject}")
    assert parse_rejection(data, "x.eml").role == role


@pytest.mark.parametrize(
    ("subject", "reply_subject"),
    [
        ("Your application", "Re: Your application"),
        ("Re: Your application", "Re: Your application"),
        ("RE: Re: AW: Your application", "Re: Your application"),
        ("Fwd: Your application", "Re: Fwd: Your application"),
        ("", ""),
    ],
)
def test_reply_subject_has_one_re(subject: str, reply_subject: str) -> None:
    data = eml("From: p@example.com", DATE, f"Subject: {subject}")
    assert parse_rejection(data, "x.eml").reply_subject == reply_subject


def test_reply_subject_is_capped() -> None:
    data = eml("From: p@example.com", DATE, "Subject: " + " ".join(["long"] * 100))
    assert len(parse_rejection(data, "x.eml").reply_subject) <= 200


def test_references_fall_back_to_in_reply_to_and_are_trimmed() -> None:
    data = eml("From: p@example.com", DATE, "In-Reply-To: <parent@x>", "Message-ID: <me@x>")
    rejection = parse_rejection(data, "x.eml")
    assert rejection.references == "<parent@x> <me@x>"

    ids = " ".join(f"<id{i}@x>" for i in range(40))
    data = eml("From: p@example.com", DATE, f"References: {ids}", "Message-ID: <me@x>")
    references = parse_rejection(data, "x.eml").references
    assert references is not None
    kept = references.split()
    assert len(kept) == 20
    assert kept[0] == "<id0@x>" and kept[-2:] == ["<id39@x>", "<me@x>"]


def test_missing_message_id_leaves_threading_empty() -> None:
    rejection = parse_rejection(eml("From: p@example.com", DATE), "x.eml")
    assert rejection.message_id is None
    assert rejection.references is None


def test_message_id_without_brackets_is_repaired() -> None:
    data = eml("From: p@example.com", DATE, "Message-ID: 1234.5678@mail.example")
    assert parse_rejection(data, "x.eml").message_id == "<1234.5678@mail.example>"


def test_rejection_threads_into_a_buildable_reply() -> None:
    rejection = parse_rejection(read_fixture("folded_refs.eml"), "folded_refs.eml")
    assert rejection.to is not None
    msg = build(
        to=rejection.to,
        subject=rejection.reply_subject,
        in_reply_to=rejection.message_id,
        references=rejection.references,
    )
    parsed = parse_bytes(message_bytes(msg))
    assert str(parsed["In-Reply-To"]) == rejection.message_id
    assert str(parsed["References"]) == rejection.references
    assert str(parsed["Subject"]) == rejection.reply_subject


def test_html_body_drops_scripts_and_decodes_entities() -> None:
    html = (
        "<html><head><title>Hidden</title><script>var x = 1;</script></head>"
        "<body><p>Dear&nbsp;Alex,</p><p>We&rsquo;re sorry.<br>Best,<br>Acme</p></body></html>"
    )
    data = eml("From: p@example.com", DATE, "Content-Type: text/html; charset=utf-8", body=html)
    assert parse_rejection(data, "x.eml").body_text == (
        "Dear Alex,\n\nWe\u2019re sorry.\nBest,\nAcme"
    )


def test_unknown_charset_body_does_not_crash() -> None:
    data = eml(
        "From: p@example.com",
        DATE,
        "Content-Type: text/plain; charset=x-no-such-charset",
        body="Thank you for applying.",
    )
    assert parse_rejection(data, "x.eml").body_text == "Thank you for applying."


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    try:
        parse_rejection(data, "random.eml")
    except BadInput:
        pass


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=60),
    st.text(max_size=60),
)
def test_arbitrary_header_text_never_crashes(name: str, subject: str) -> None:
    data = (f"From: {name} <p@example.com>\r\nSubject: {subject}\r\n{DATE}\r\n\r\nHi\r\n").encode(
        "utf-8", "surrogatepass"
    )
    try:
        rejection = parse_rejection(data, "x.eml")
    except BadInput:
        return
    for value in (rejection.subject, rejection.org, rejection.role, rejection.reply_subject):
        assert check_header_value(value, "--org") == value
    if rejection.to is not None:
        assert check_header_value(rejection.to.name, "--to") == rejection.to.name
