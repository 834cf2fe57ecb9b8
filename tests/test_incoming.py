"""Tests for reading saved rejection emails."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from draft_feedback.addresses import (
    Address,
    check_header_value,
)
from draft_feedback.errors import BadInput
from draft_feedback.incoming import parse_rejection

FIXTURES = Path(__file__).parent / "fixtures"

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
        # The public suffix list knows registries no short list of labels does.
        ("Recruiting <recruiting@empleos.acme.gob.mx>", "Acme"),
        ("Jobs <jobs@hr.initech.com.au>", "Initech"),
        ("Priya <priya@globex.co.jp>", "Globex"),
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


def test_org_guess_uses_the_bundled_suffix_list_without_network_or_files(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import socket

    from draft_feedback import incoming

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network unreachable")

    # The outer edge: no connection can be made, and any cache would land in tmp_path.
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    incoming._public_suffix.cache_clear()
    data = eml("From: Priya Shah <priya@mail.initech.co.uk>", DATE)
    assert parse_rejection(data, "x.eml").org == "Initech"
    assert list(tmp_path.iterdir()) == []


def test_html_without_a_closing_tag_or_with_comments_reads_as_text() -> None:
    html = ("<table><tr><td>Dear Alex,<td>thank you<!-- tracking --></tr>"
            "<tr><td>We chose another candidate &amp; wish you well</table>")
    data = eml("From: p@example.com", DATE, "Content-Type: text/html; charset=utf-8", body=html)
    assert parse_rejection(data, "x.eml").body_text == (
        "Dear Alex,thank you\n\nWe chose another candidate & wish you well"
    )


HUGE_HEADERS = [
    pytest.param(b"Subject: " + b"x" * 400_000 + b"\r\n", "the Subject header is longer than "
                 "64 KiB", id="400-KB-subject"),
    pytest.param(b"Subject: Re\r\n" + b"".join(b" " + b"y" * 70 + b"\r\n" for _ in range(1000)),
                 "the Subject header is longer than 64 KiB", id="subject-folded-1000-times"),
    pytest.param(b"".join(b"X-Spam-%d: %s\r\n" % (n, b"z" * 900) for n in range(400)),
                 "the email's headers are larger than 256 KiB", id="400-long-headers"),
]


@pytest.mark.parametrize(("extra", "expected_error"), HUGE_HEADERS)
def test_an_oversized_header_is_refused_quickly_by_new(run: Any, config_file: Path,
                                                       tmp_path: Path, extra: bytes,
                                                       expected_error: str) -> None:
    import time

    eml = tmp_path / "rejection.eml"
    eml.write_bytes(b"From: Priya Shah <priya@example.com>\r\nDate: Fri, 27 Nov 2026 16:00:00 "
                    b"+0100\r\n" + extra + b"\r\nThank you for applying.\r\n")
    started = time.monotonic()
    result = run("new", "--from-eml", str(eml))
    assert time.monotonic() - started < 3
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {eml}: {expected_error}")
    assert "--to" in result.stderr
    assert "Traceback" not in result.output


def _deep_multipart(levels: int) -> bytes:
    head = b"From: Priya Shah <priya@example.com>\r\nDate: Fri, 27 Nov 2026 16:00:00 +0100\r\n"
    head += b"Subject: Your application\r\nMIME-Version: 1.0\r\n"
    parts = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (n, n)
                     for n in range(levels))
    return head + parts + b"Content-Type: text/plain\r\n\r\nThank you.\r\n"


@pytest.mark.parametrize(("eml", "expected_error"), [
    pytest.param(b"From: Priya Shah <priya@example.com>\r\nDate: Fri, 31 Dec 9999 23:59:59 "
                 b"-2359\r\nSubject: x\r\n\r\nno\r\n", "is not a plausible date",
                 id="date-9999-minus-2359"),
    pytest.param(b"From: Priya Shah <priya@example.com>\r\nDate: Thu, 1 Jan 1960 00:00:00 "
                 b"+0000\r\nSubject: x\r\n\r\nno\r\n", "is not a plausible date",
                 id="date-1960"),
    pytest.param(_deep_multipart(3000), "nested too deeply", id="multipart-3000-deep"),
])
def test_an_unreadable_saved_email_is_a_clear_error(run: Any, config_file: Path,
                                                   tmp_path: Path, eml: bytes,
                                                   expected_error: str) -> None:
    path = tmp_path / "rejection.eml"
    path.write_bytes(eml)
    result = run("new", "--from-eml", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path}: ")
    assert expected_error in result.stderr
    assert "--rejected" in result.stderr or "--to" in result.stderr
    assert "unexpected" not in result.stderr


def test_non_ascii_message_ids_are_dropped_and_ascii_ones_thread(run: Any, config_file: Path,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "rejection.eml"
    path.write_bytes(
        "From: Priya Shah <priya@example.com>\r\nDate: Fri, 27 Nov 2026 16:00:00 +0100\r\n"
        "Subject: Your application\r\nMessage-ID: <prüfung-1@bücher.example>\r\n"
        "References: <root@example.com> <zwischen-ü@example.com>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nThank you.\r\n".encode())
    result = run("new", "--from-eml", str(path), "--json", "--rejected", "2026-11-27T16:00")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["in_reply_to"] is None
    assert record["references"] == "<root@example.com>"
    eml = run("show", str(record["id"]), "--eml").stdout_bytes
    assert b"References: <root@example.com>\r\n" in eml
    assert b"In-Reply-To" not in eml and b"=?utf-8?" not in eml.split(b"\r\n\r\n")[0].lower()
