"""Tests for checking header values and parsing addresses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from draft_feedback.addresses import (
    Address,
    cap_subject,
    check_header_value,
    envelope,
    parse_address,
)
from draft_feedback.errors import EXIT_BAD_INPUT, BadInput

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


LOOKALIKES = [
    pytest.param("Priya <priya@exаmple.com>", "the domain exаmple.com mixes Cyrillic and Latin "
                 "letters, as look-alike addresses do; it goes to xn--exmple-4nf.com",
                 id="cyrillic-a-in-domain"),
    pytest.param("Priya <priya@gοogle.com>", "the domain gοogle.com mixes Greek and Latin "
                 "letters, as look-alike addresses do; it goes to xn--gogle-rce.com", id="greek-o"),
    pytest.param("Priуa Shah <priya@example.com>", "the name 'Priуa Shah' mixes Cyrillic and "
                 "Latin letters", id="cyrillic-y-in-name"),
]


@pytest.mark.parametrize(("to", "expected_warning"), LOOKALIKES)
def test_a_mixed_script_recipient_is_warned_of_before_it_is_stored(
        run: Any, config_file: Path, to: str, expected_warning: str) -> None:
    result = run("new", "--to", to, "--org", "Acme", "--json")
    assert result.exit_code == 0, result.output
    assert f"Warning: {expected_warning}" in result.stderr
    assert json.loads(result.stdout)["id"] == 1


@pytest.mark.parametrize("to", ["Priya Shah <priya@example.com>", "Jürgen <j@bücher.de>",
                                "Иван <ivan@пример.рф>", "李明 <li@example.cn>"])
def test_a_single_script_recipient_gets_no_warning(run: Any, config_file: Path,
                                                   to: str) -> None:
    result = run("new", "--to", to, "--org", "Acme")
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.stderr


def test_a_recipient_taken_from_reply_to_is_named_as_such(run: Any, config_file: Path,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "rejection.eml"
    path.write_text("From: Priya Shah <priya@example.com>\nReply-To: Talent <talent@ats.example>"
                    "\nDate: Fri, 27 Nov 2026 16:00:00 +0100\nSubject: Your application\n\nNo."
                    "\n")
    result = run("new", "--from-eml", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert ("Note: the recipient talent@ats.example is the email's Reply-To, not its From"
            in result.stderr)
    assert json.loads(result.stdout)["to"] == "Talent <talent@ats.example>"
    same = tmp_path / "same.eml"
    same.write_text(path.read_text().replace("talent@ats.example", "priya@example.com"))
    assert "Reply-To" not in run("new", "--from-eml", str(same), "--again").stderr
