"""Hostile input through the real command line: refused with exit 2, or stored and sent sound.

For every value that enters the product (the options of `new`, the subject and body from
`edit`, config values) the property is the same: draft-feedback either refuses the text with
exit 2 and a message, storing nothing, or stores a request whose message, serialised and parsed
again, has the headers that were stored and exactly one recipient.
"""

from __future__ import annotations

import json
import re
import sqlite3
import textwrap
import time
from collections.abc import Callable
from contextlib import closing
from datetime import datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path
from typing import Any
from unittest import mock

import click
import pytest
import yaml
from click.testing import Result
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from draft_feedback.addresses import envelope, parse_address

from conftest import PRIYA, SMTPServer, write_config

Run = Callable[..., Result]

SETTINGS = settings(max_examples=100, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
BASE = ("--org", "Acme", "--role", "Data Analyst", "--rejected", "2026-01-05T16:00")
WIRE_HEADERS = ["from", "to", "subject", "date", "message-id", "mime-version", "content-type",
                "content-transfer-encoding"]

# Pieces that have broken mail tools before: header injection, characters that some reader
# treats as a line break, bidi controls that make a header read differently from what it
# holds, encoded words that decode to a line break (CVE-2024-6923), quoting and grouping
# characters of address syntax, template and format syntax, and sheer length.
FRAGMENTS = [
    "\r\nBcc: eve@evil.example", "\nBcc: eve@evil.example", "\r", "\n", "\r\n", "\x00", "\t",
    "\x0b", "\x0c", "\x1b[31m", "\x7f", "\x85", "\x1c", "\u2028", "\u2029", "\u202e", "\u2066",
    "\u200f", "\u061c", "\ufeff", "\u200b", "\U000e0041",
    "=?utf-8?q?=0D=0ABcc:_eve@evil.example?=", "=?utf-8?b?DQpCY2M6IGV2ZUBldmlsLmV4YW1wbGU=?=",
    "=?iso-8859-1?q?=0A?=", "=?x-unknown?q?=0D?=", "=?utf-8?q?=E2=80=A8?=", "=?UTF-8?Q?Caf=C3=A9?=",
    "=?utf-8*en?b?Cg==?=", "=?utf-8?q?Hi?=",
    "x" * 2000, "word " * 300, "ü" * 400, "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 👍🏽", "中文", "עברית", "e\u0301",
    '"', "\\", "<", ">", "(", ")", ",", ";", ":", "@", "<eve@evil.example>", "eve@evil.example",
    "{{ 7*7 }}", "{% for x in y %}", "{0.__class__}", "%s%n", "'; DROP TABLE requests; --",
    " ", "",
]
fragment = st.sampled_from(FRAGMENTS)
hostile_text = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(fragment, st.text(max_size=8)), min_size=1, max_size=5).map("".join),
)

LOCAL_PARTS = ["priya", "p.shah", "p+feedback", "PRIYA", "", "a" * 65, "pri ya", ".priya",
               "priya.", "p..s", "ПРИЯ", "priya\r\nbcc", '"p r"', "priya@x", "p\u202e"]
DOMAINS = ["example.com", "EXAMPLE.COM", "xn--bcher-kva.com", "bücher.com", "münchen.de",
           "例え.jp", "xn--r8jz45g.jp", "\u0430pple.com", "ｅｘａｍｐｌｅ.com", "example",
           "localhost", "example.test", "exam_ple.com", "-bad.com", "a" * 64 + ".com",
           "example.com.", "[127.0.0.1]", "ex ample.com", "xn--zz.com", "example.com\u202e",
           "example.com\r\nBcc: eve@evil.example", "=?utf-8?q?example.com=0A?="]
NAMES = ["", "Priya Shah", '"Shah, Priya"', "Shah, Priya", "Priya (Hiring)", "Dr. P. Shah",
         "=?utf-8?q?Priya?=", "Priya\r\nBcc: eve@evil.example", "Zoë Ångström", "P" * 250]


@st.composite
def addresses(draw: st.DrawFn) -> str:
    """Something typed as --to: well-formed, nearly well-formed, or hostile."""
    # Half the draws are built from usable parts, so that accepted addresses are common too.
    usable = draw(st.booleans())
    local = draw(st.sampled_from(LOCAL_PARTS[:5] if usable else LOCAL_PARTS))
    domain = draw(st.sampled_from(DOMAINS[:8] if usable else DOMAINS))
    name = draw(st.sampled_from(NAMES[:7] + NAMES[8:9]) if usable else
                st.one_of(st.sampled_from(NAMES), hostile_text))
    shape = draw(st.sampled_from([0, 1]) if usable else st.integers(0, 5))
    if shape == 0:
        return f"{name} <{local}@{domain}>"
    if shape == 1:
        return f"{local}@{domain}"
    if shape == 2:
        return f"{name} <{local}@{domain}>, Eve <eve@evil.example>"
    if shape == 3:
        return f"{name} <{local}@{domain}" + draw(fragment) + ">"
    if shape == 4:
        return draw(hostile_text) + f"{local}@{domain}" + draw(hostile_text)
    return draw(hostile_text)


def rows(home: Path) -> int:
    """Count stored requests without going through the product."""
    path = home / "outbox.sqlite3"
    if not path.exists():
        return 0
    with closing(sqlite3.connect(path)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "requests" not in tables:
            return 0
        return int(conn.execute("SELECT count(*) FROM requests").fetchone()[0])


def parse(data: bytes) -> EmailMessage:
    parsed = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(parsed, EmailMessage)
    return parsed


def displayed_name(msg: EmailMessage, header: str) -> str:
    """The display name of a one-address header as an RFC 2047 reader shows it."""
    # Python 3.11's structured parser shows a space between adjacent encoded words of a
    # display name (RFC 2047 6.2 drops it), so the name is decoded from the raw header.
    (raw,) = [v for k, v in msg.raw_items() if k.lower() == header]
    ((name, _addr),) = getaddresses([re.sub(r"\r?\n", "", raw)])
    return str(make_header(decode_header(name)))


def wire_view(msg: EmailMessage) -> dict[str, Any]:
    """The parts of a parsed message a recipient sees, for comparing two readings."""
    return {
        "headers": [k.lower() for k in msg.keys()],
        "to": [(a.addr_spec) for a in msg["To"].addresses],
        "to_name": displayed_name(msg, "to"),
        "from": [(a.addr_spec) for a in msg["From"].addresses],
        "from_name": displayed_name(msg, "from"),
        "subject": str(msg["Subject"]),
        "message_id": str(msg["Message-ID"]),
        "body": msg.get_content().replace("\r\n", "\n"),
    }


def assert_refused(result: Result, before: int, home: Path, *names: str) -> None:
    """Exit 2, a message naming what was wrong, no traceback, nothing stored."""
    event("refused")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: ") or result.stderr.startswith("Usage: "), \
        result.stderr
    if names:
        assert any(n in result.stderr for n in names), result.stderr
    assert rows(home) == before


def assert_sound(run: Run, record: dict[str, Any],
                 sender: tuple[str, str] = ("Alex Rivera", "alex@example.com")) -> EmailMessage:
    """The stored request's message: pure ASCII, short lines, the stored headers, one To."""
    event("stored")
    shown = run("show", str(record["id"]), "--eml")
    assert shown.exit_code == 0, f"stored, but its message cannot be built: {shown.output}"
    data = shown.stdout_bytes
    assert data.isascii()
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    msg = parse(data)
    assert not msg.defects
    assert [k.lower() for k in msg.keys()] == WIRE_HEADERS
    assert len(msg.get_all("To")) == 1
    seen = wire_view(msg)
    assert seen["to"] == [envelope(record["to"].rpartition("<")[2].rstrip(">"))]
    name = record["to"].rpartition("<")[0].strip() if "<" in record["to"] else ""
    assert seen["to_name"] == (name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
                               if name.startswith('"') else name)
    assert seen["from"] == [envelope(sender[1])]
    assert seen["from_name"] == sender[0]
    assert seen["subject"] == record["subject"]
    assert seen["message_id"] == record["message_id"]
    assert seen["body"] == record["body"]
    # Serialised again by a standard reader and read back, nothing changes.
    again = parse(msg.as_bytes(policy=policy.SMTP))
    assert wire_view(again) == seen
    return msg


@pytest.fixture
def home(private_paths: Path, config_file: Path) -> Path:
    return private_paths


def new(run: Run, *args: str) -> Result:
    return run("new", "--json", *args)


@SETTINGS
@given(value=addresses())
@example(value="Priya Shah <priya@example.com>\r\nBcc: eve@evil.example")
@example(value="=?utf-8?q?Priya=0D=0ABcc:_eve@evil.example?= <priya@example.com>")
@example(value="Priya Shah <priya@bücher.com>")
@example(value="Priya <priya@example.com>, Eve <eve@evil.example>")
@example(value="Priya\u2028Bcc: eve@evil.example <priya@example.com>")
@example(value="Priya \u202eevil\u202c <priya@example.com>")
@example(value="Priya\x00 <priya@example.com>")
@example(value='"Eve <eve@evil.example>" <priya@example.com>')
def test_any_recipient_is_refused_or_sent_to_exactly_one_address(run: Run, home: Path,
                                                                 value: str) -> None:
    before = rows(home)
    result = new(run, "--to", value, *BASE)
    if result.exit_code != 0:
        assert_refused(result, before, home, "--to")
        return
    assert rows(home) == before + 1
    record = json.loads(result.stdout)
    msg = assert_sound(run, record)
    (recipient,) = msg["To"].addresses
    # The one address that goes out is one that was typed (domain possibly in punycode).
    typed_local = recipient.addr_spec.rpartition("@")[0]
    assert typed_local.lower() in value.lower()
    assert "eve@evil.example" not in msg.as_string() or "eve@evil.example" in record["to"]


@SETTINGS
@given(option=st.sampled_from(["--org", "--role", "--highlight", "--question"]),
       value=hostile_text)
@example(option="--org", value="Acme\r\nBcc: eve@evil.example")
@example(option="--role", value="=?utf-8?b?DQpCY2M6IGV2ZUBldmlsLmV4YW1wbGU=?=")
@example(option="--org", value="Acme\u2028Bcc: eve@evil.example")
@example(option="--role", value="Analyst\u202e")
@example(option="--org", value="x" * 100_000)
@example(option="--role", value="Data " * 20_000)
@example(option="--org", value="Bücher & Söhne GmbH")
@example(option="--question", value="What could I do better?" + "?" * 5000)
@example(option="--highlight", value="the {{ config }} and {% raw %} parts")
def test_any_detail_is_refused_or_stored_and_sent_sound(run: Run, home: Path, option: str,
                                                        value: str) -> None:
    before = rows(home)
    args = ["--to", PRIYA, "--rejected", "2026-01-05T16:00"]
    if option not in ("--org", "--role"):
        args += ["--org", "Acme", "--role", "Data Analyst"]
    result = new(run, *args, option, value)
    if result.exit_code != 0:
        assert_refused(result, before, home, option)
        return
    assert rows(home) == before + 1
    record = json.loads(result.stdout)
    if option in ("--org", "--role"):
        assert record[option[2:]] == value.strip()
    assert_sound(run, record)


@SETTINGS
@given(subject=hostile_text, body=hostile_text)
@example(subject="Thanks\r\nBcc: eve@evil.example", body="Hi")
@example(subject="=?utf-8?q?Thanks=0ABcc:_eve@evil.example?=", body="Hi")
@example(subject="Thanks\u2028Bcc: eve@evil.example", body="Hi")
@example(subject="Thanks \u202e", body="Hi")
@example(subject="T" * 5000, body="x" * 100_000)
@example(subject="Thanks", body="Hi\x00\r\n.\r\nMAIL FROM:<eve@evil.example>\r\n")
@example(subject="Thanks", body=".\n..\nFrom the team\n")
def test_any_edit_is_refused_or_stored_and_sent_sound(run: Run, home: Path, subject: str,
                                                      body: str) -> None:
    if rows(home) == 0:
        run("new", "--to", PRIYA, *BASE, ok=True)
    before = json.loads(run("show", "1", "--json", ok=True).stdout)
    count = rows(home)
    with mock.patch.object(click, "edit", return_value=f"Subject: {subject}\n\n{body}"):
        result = run("edit", "1")
    after = json.loads(run("show", "1", "--json", ok=True).stdout)
    assert rows(home) == count
    if result.exit_code != 0:
        event("refused")
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert result.stderr.startswith("Error: ")
        assert (after["subject"], after["body"]) == (before["subject"], before["body"])
        return
    assert_sound(run, after)


def config_with(tmp_path: Path, key: str, value: str) -> Path:
    """Write a valid config with one value replaced, quoted by YAML itself."""
    data: dict[str, Any] = {
        "sender": {"name": "Alex Rivera", "email": "alex@example.com"},
        "timezone": "Europe/Berlin",
        "send_window": "off",
    }
    section, _, field = key.partition(".")
    if field:
        if not isinstance(data.get(section), dict):
            data[section] = {}
        data[section][field] = value
    else:
        data[section] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


CONFIG_KEYS = ["sender.name", "sender.email", "sender.signature", "smtp.user", "smtp.host",
               "timezone", "templates_dir", "defaults.scenario", "send_window.start"]


@SETTINGS
@given(key=st.sampled_from(CONFIG_KEYS), value=st.one_of(hostile_text, addresses()))
@example(key="sender.name", value="Alex\r\nBcc: eve@evil.example")
@example(key="sender.name", value="=?utf-8?q?Alex=0ABcc:_eve@evil.example?=")
@example(key="sender.email", value="alex@example.com, eve@evil.example")
@example(key="sender.email", value="alex@bücher.com")
@example(key="sender.signature", value="Alex\n\u202e\x00" + "x" * 100_000)
@example(key="smtp.user", value="alex@example.com\r\nAUTH PLAIN")
@example(key="timezone", value="../../../../etc/passwd")
@example(key="timezone", value="Europe/Berlin\x00")
@example(key="templates_dir", value="/proc/self")
def test_any_config_value_is_refused_or_sent_sound(run: Run, tmp_path: Path,
                                                   private_paths: Path, key: str,
                                                   value: str) -> None:
    config = config_with(tmp_path, key, value)
    before = rows(private_paths)
    result = new(run, "--to", PRIYA, *BASE)
    if result.exit_code != 0:
        assert_refused(result, before, private_paths, str(config))
        return
    record = json.loads(result.stdout)
    assert run("config", "check").exit_code == 0
    sender = ("Alex Rivera", "alex@example.com")
    if key == "sender.name":
        sender = (" ".join(value.split()), sender[1])
    elif key == "sender.email":
        accepted = parse_address(value, "sender.email").email
        assert accepted.rpartition("@")[0].lower() in value.lower()
        sender = (sender[0], accepted)
    assert_sound(run, record, sender)


def test_deeply_nested_yaml_is_a_clear_error(run: Run, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("sender: " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
    result = run("config", "check")
    assert result.exit_code == 2, result.output
    assert str(config) in result.stderr
    assert "unexpected" not in result.stderr


def test_huge_config_file_is_a_clear_error_quickly(run: Run, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(textwrap.dedent("""\
        tone:
          disable: [""" + ", ".join(f"rule{i}" for i in range(30_000)) + "]\n"),
                      encoding="utf-8")
    started = time.monotonic()
    result = run("config", "check")
    assert result.exit_code == 2, result.output
    assert str(config) in result.stderr
    assert time.monotonic() - started < 5


def user_rule(tmp_path: Path, pattern: str) -> None:
    write_config(tmp_path / "config.yaml", extra=textwrap.dedent(f"""\
        tone:
          rules:
            - id: no-long-a
              pattern: '{pattern}'
              message: A long run of a.
              suggestion: Shorten it.
              severity: warning
        """))


STOPPED = ("Error: tone rule 'no-long-a' from your config was stopped after 0.25 s on a text of "
           "{n} characters: its pattern backtracks without end (a repeat inside a repeat, such "
           "as (a+)+). Rewrite its pattern under tone.rules, or remove the rule; nothing was "
           "changed.\n")


def test_a_user_rule_that_backtracks_without_end_is_stopped_and_named(
        run: Run, tmp_path: Path) -> None:
    user_rule(tmp_path, "(a|aa)+$")
    text = "a" * 80 + "!"
    result = run("check", "-", input=text)
    assert result.exit_code == 2, result.output
    assert result.stderr == STOPPED.format(n=len(text))
    drafted = run("new", "--to", PRIYA, *BASE, "--highlight", text)
    assert drafted.exit_code == 2
    assert "tone rule 'no-long-a' from your config was stopped" in drafted.stderr
    assert json.loads(run("list", "--all", "--json").stdout) == []


def test_the_nested_repeat_of_the_report_finishes_and_still_matches(
        run: Run, tmp_path: Path) -> None:
    user_rule(tmp_path, "^(a+)+$")  # hangs Python's re on 40 a's and a '!'
    assert run("check", "-", input="a" * 40 + "!").stdout == "Tone check: no findings.\n"
    found = run("check", "-", input="aaaa")
    assert (found.exit_code, found.stdout) == (0, (
        "Tone check: 1 finding(s)\n"
        '  warning: line 1, column 1 [no-long-a] "aaaa"\n'
        "    A long run of a.\n"
        "    Try: Shorten it.\n"))


TIMES = ["2026-01-07T16:00", "2026-01-07T15:59:59", "2026-01-07T16:00:00.000001",
         "2026-03-29T02:30", "2026-10-25T02:30", "2026-01-07T16:00Z", "2026-01-07 16:00+14:00",
         "9999-12-31T23:59:59-23:59", "0001-01-01T00:00+14:00", "2026-02-30", "2026-W02",
         "٢٠٢٦-٠١-٠٧", "2026-01-07\x00", "2026-01-07T16:00\u2028", "now", "", " ",
         "2026-01-07T24:00", "2026-01-07T16:00+25:00", "1" * 5000, "0026-11-27T16:00",
         "0999-12-31", "1969-12-31T23:59Z", "2099-01-01"]


@SETTINGS
@given(option=st.sampled_from(["--rejected", "--at"]),
       value=st.one_of(st.sampled_from(TIMES), st.text(max_size=30)))
def test_any_time_is_refused_or_kept_after_the_cooling_off(run: Run, home: Path, option: str,
                                                           value: str) -> None:
    before = rows(home)
    # --again: each example asks the same person; the time is what is on trial here.
    args = ["--to", PRIYA, "--org", "Acme", "--role", "Data Analyst", option, value, "--again"]
    if option == "--at":
        args += ["--rejected", "2026-01-05T16:00"]
    result = new(run, *args)
    if result.exit_code != 0:
        assert_refused(result, before, home, option)
        return
    event("stored")
    record = json.loads(result.stdout)
    # Whatever was stored, the outbox as a whole stays readable.
    assert run("list").exit_code == 0
    assert len(json.loads(run("list", "--json").stdout)) == before + 1
    times = {k: datetime.fromisoformat(record[k]) for k in
             ("rejected_at", "earliest_send_at", "created_at")}
    assert all(t.utcoffset() is not None for t in times.values())
    assert times["earliest_send_at"] - times["rejected_at"] == timedelta(hours=48)
    assert times["rejected_at"] <= times["created_at"]
    if option == "--at":
        assert record["status"] == "scheduled"
        assert datetime.fromisoformat(record["send_at"]) >= times["earliest_send_at"]


def test_smuggled_smtp_commands_in_a_body_arrive_as_text(run: Run, tmp_path: Path,
                                                         smtp_server: SMTPServer) -> None:
    """SMTP smuggling: a body holding '<CR><LF>.<CR><LF>' and commands is one message's text."""
    write_config(tmp_path / "config.yaml", smtp_server)
    body = ("Hi Priya,\r\n.\r\nMAIL FROM:<eve@evil.example>\r\nRCPT TO:<victim@example.com>\r\n"
            "DATA\r\nSubject: forged\r\n\r\nforged\r\n.\n\n.\r\nThanks,\nAlex\n")
    run("new", "--to", PRIYA, *BASE, ok=True)
    with mock.patch.object(click, "edit", return_value=f"Subject: Thank you\n\n{body}"):
        run("edit", "1", ok=True, env={"EDITOR": "true"})  # named, as off a terminal it must be
    run("schedule", "1", "--at", "2026-01-08T10:00", "--force", ok=True)  # in the past
    assert "1 sent" in run("send-due", ok=True).stdout
    (got,) = smtp_server.received
    assert got.rcpt_tos == ["priya@example.com"]
    assert got.mail_from == "alex@example.com"
    record = json.loads(run("show", "1", "--json", ok=True).stdout)
    assert got.message.get_content().replace("\r\n", "\n") == record["body"]
    assert "MAIL FROM:<eve@evil.example>" in record["body"]


IMPLAUSIBLE = [
    pytest.param("--rejected", "0026-11-27T16:00", "is before 1970", id="year-26"),
    pytest.param("--rejected", "0999-12-31", "is before 1970", id="year-999"),
    pytest.param("--rejected", "1969-12-31T23:59Z", "is before 1970", id="just-before-1970"),
    pytest.param("--at", "0026-11-27T16:00", "is before 1970", id="at-year-26"),
    pytest.param("--at", "2099-01-01", "is more than a year ahead", id="at-2099"),
    pytest.param("--at", "9999-12-31T23:59:59-23:59", "is not a valid", id="at-9999"),
    pytest.param("--at", f"{(datetime.now() + timedelta(days=367)):%Y-%m-%dT09:00+14:00}",
                 "is more than a year ahead", id="at-a-year-and-a-day-ahead"),
]


@pytest.mark.parametrize(("option", "value", "expected_error"), IMPLAUSIBLE)
def test_an_implausible_date_is_refused_at_input(run: Run, home: Path, option: str,
                                                 value: str, expected_error: str) -> None:
    result = new(run, "--to", PRIYA, "--org", "Acme", option, value,
                 *(["--rejected", "2026-01-05T16:00"] if option == "--at" else []))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {option}: {value!r} {expected_error}")
    assert "for example 2026-11-27" in result.stderr
    assert rows(home) == 0


def test_a_row_that_cannot_be_read_is_a_problem_of_that_row_only(run: Run, home: Path) -> None:
    for _ in range(3):
        assert new(run, "--to", PRIYA, "--org", "Acme", "--rejected",
                   "2026-01-05T16:00").exit_code == 0
    with closing(sqlite3.connect(home / "outbox.sqlite3")) as conn, conn:
        # As an older release stored the year 26, and as a hand edit might leave a row.
        conn.execute("UPDATE requests SET rejected_at = '26-11-27T15:06:32.000000Z', "
                     "earliest_send_at = '26-11-29T15:06:32.000000Z' WHERE id = 1")
        conn.execute("UPDATE requests SET created_at = 'last tuesday', areas = '{' "
                     "WHERE id = 2")
    listing = run("list")
    assert listing.exit_code == 0, listing.output
    assert "2: the stored request cannot be read (" in listing.stdout
    assert "cancel it and draft it again" in listing.stdout
    records = json.loads(run("list", "--json").stdout)
    assert [r["id"] for r in records] == [1, 2, 3]
    assert records[0]["rejected_at"].startswith("0026-11-27")
    assert "problem" not in records[0] and "problem" not in records[2]
    assert records[1]["problem"].startswith("the stored request cannot be read")
    assert records[1]["created_at"] is None
    assert run("show", "2").exit_code == 0
    for request_id in ("1", "2"):
        cancelled = run("cancel", request_id)
        assert cancelled.exit_code == 0, cancelled.output
    assert [r["status"] for r in json.loads(run("list", "--json").stdout)] == [
        "cancelled", "cancelled", "draft"]
