"""Reading replies: quoted history, form answers, kinds of mail; and the commands around them."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from draft_feedback.incoming import (
    AUTO_REPLY,
    BOUNCE,
    FORWARD,
    REPLY,
    is_form_answer,
    parse_headers,
    strip_quoted,
)

from conftest import PRIYA, write_config

Run = Callable[..., Result]
NOW = datetime(2026, 12, 2, 10, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("Thanks!\n\nOn Mon, 30 Nov 2026 at 10:00, Alex Rivera <alex@example.com> wrote:\n> hi\n",
     "Thanks!"),
    ("Sure.\nOn Mon, 30 Nov 2026 at 10:00 Alex Rivera <\nalex@example.com> wrote:\n> hi\n",
     "Sure."),
    ("Gern.\n\nAm 30.11.2026 um 10:00 schrieb Alex Rivera <alex@example.com>:\n> hallo\n",
     "Gern."),
    ("Notes below.\n\n-----Original Message-----\nFrom: Alex\nSent: Monday\n", "Notes below."),
    ("Answer.\n\nFrom: Alex Rivera <alex@example.com>\nSent: Monday, 30 November 2026\n"
     "To: Priya\nSubject: Feedback\n\nHi Priya", "Answer."),
    ("Practise SQL.\n\nSent from my iPhone\n", "Practise SQL."),
    ("> your question one\nMy answer one.\n> your question two\nMy answer two.\n",
     "My answer one.\nMy answer two."),
    ("Best,\nPriya\n-- \nPriya Shah | Acme\n", "Best,\nPriya"),
])
def test_quoted_history_is_stripped(text: str, expected: str) -> None:
    assert strip_quoted(text) == expected


@pytest.mark.parametrize(("text", "form"), [
    ("Due to the high volume of applications we are unable to provide individual feedback.",
     True),
    ("Unfortunately we're not able to offer feedback at this stage.", True),
    ("Happy to give feedback: the portfolio needed one deeper case study.", False),
    ("We are not able to offer specific feedback, but we wish you well.", True),
    ("It is our policy not to provide feedback on unsuccessful applications.", True),
    ("Your SQL was strong; the system design answer lacked trade-offs.", False),
])
def test_form_answers_are_recognised(text: str, form: bool) -> None:
    assert is_form_answer(text) is form


def headers(text: str) -> bytes:
    return textwrap.dedent(text).replace("\n", "\r\n").encode() + b"\r\n"


@pytest.mark.parametrize(("block", "kind"), [
    ("From: Priya <priya@example.com>\nSubject: Re: Thank you\n", REPLY),
    ("From: Priya <priya@example.com>\nSubject: Out of Office: Re: Thank you\n", AUTO_REPLY),
    ("From: Priya <priya@example.com>\nSubject: Re: Thank you\nAuto-Submitted: auto-replied\n",
     AUTO_REPLY),
    ("From: Priya <priya@example.com>\nSubject: Re: x\nX-Autoreply: yes\n", AUTO_REPLY),
    ("From: Priya <priya@example.com>\nSubject: Re: x\nAuto-Submitted: no\n", REPLY),
    ("From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered Mail Returned to Sender\n",
     BOUNCE),
    ("From: postmaster@example.com\nSubject: Delivery Status Notification (Failure)\n", BOUNCE),
    ("From: Priya <priya@example.com>\nSubject: Fwd: Thank you\n", FORWARD),
])
def test_kinds_of_mail_are_told_apart_by_their_headers(block: str, kind: str) -> None:
    assert parse_headers(1, headers(block), NOW).kind == kind


def test_a_forged_date_far_from_the_servers_time_is_not_believed() -> None:
    mail = parse_headers(1, headers("From: p@example.com\nDate: Fri, 1 Jan 1999 00:00:00 +0000\n"),
                         NOW)
    assert mail.date == NOW


# --- commands -----------------------------------------------------------------------------


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")


def new(run: Run, *extra: str, to: str = PRIYA, ok: bool | None = None) -> Result:
    return run("new", "--to", to, "--org", "Acme", "--rejected", days_ago(3), *extra, ok=ok)


def test_asking_the_same_person_again_warns_and_a_blind_schedule_is_refused(
        run: Run, config_file: Path) -> None:
    first = json.loads(new(run, "--json", ok=True).stdout)
    second = new(run, "--json")
    assert second.exit_code == 0
    assert (f"Note: priya@example.com was already asked: request {first['id']} (draft)"
            in second.stderr)
    refused = new(run, "--schedule")
    assert refused.exit_code == 2
    assert f"--again: priya@example.com was already asked: request {first['id']} (draft)" \
        in refused.stderr
    assert "nothing was stored" in refused.stderr
    assert len(json.loads(run("list", "--json", ok=True).stdout)) == 2
    confirmed = new(run, "--schedule", "--again", "--json")
    assert confirmed.exit_code == 0, confirmed.output
    assert "already asked" not in confirmed.stderr
    assert json.loads(confirmed.stdout)["status"] == "scheduled"
    other = new(run, "--schedule", "--json", to="Sam Lee <sam@example.com>")
    assert other.exit_code == 0 and other.stderr == ""


def test_an_address_asked_before_is_found_whatever_its_case(run: Run, config_file: Path) -> None:
    first = json.loads(new(run, "--json", ok=True).stdout)
    second = new(run, "--json", to="Priya Shah <PRIYA@Example.COM>")
    assert second.exit_code == 0
    assert second.stderr == (
        f"Note: PRIYA@example.com was already asked: request {first['id']} (draft). This one "
        "is saved too; add --again to confirm such a request without this note.\n")


def test_the_note_names_the_latest_three_earlier_requests_and_counts_the_rest(
        run: Run, config_file: Path) -> None:
    ids = [json.loads(new(run, "--json", "--again", ok=True).stdout)["id"] for _ in range(5)]
    run("cancel", str(ids[4]), ok=True)  # a cancelled request is no longer "asked"
    noted = new(run, "--json")
    assert noted.stderr == (
        f"Note: priya@example.com was already asked: request {ids[1]} (draft), request "
        f"{ids[2]} (draft), request {ids[3]} (draft) and 1 earlier request. This one is saved "
        "too; add --again to confirm such a request without this note.\n")
    latest = json.loads(noted.stdout)["id"]
    refused = new(run, "--schedule")
    assert refused.exit_code == 2
    assert (f"request {latest} (draft) and 2 earlier requests; `draft-feedback show {latest}` "
            "shows it" in refused.stderr)


def test_a_second_request_answering_the_same_rejection_email_is_noted(
        run: Run, config_file: Path) -> None:
    person = str(Path(__file__).parent / "fixtures" / "person_plain.eml")
    first = run("new", "--from-eml", person, "--json", ok=True)
    record = json.loads(first.stdout)
    other = run("new", "--from-eml", person, "--to", "Sam Lee <sam.lee@acme.com>", "--json")
    assert other.exit_code == 0
    assert (f"Note: sam.lee@acme.com was already asked: request {record['id']} (draft). "
            in other.stderr)


def test_the_earlier_requests_are_found_through_indexes(tmp_path: Path) -> None:
    from draft_feedback.outbox import Outbox

    outbox = Outbox(tmp_path)
    conn = outbox.connect()
    plans = {}
    for column in ("to_addr = ? COLLATE NOCASE", "in_reply_to = ?"):
        rows = conn.execute("EXPLAIN QUERY PLAN SELECT id, status FROM requests WHERE "
                            f"kind = 'request' AND status IN ('draft', 'sent') AND {column}",
                            ("x",)).fetchall()
        plans[column] = " ".join(str(r[-1]) for r in rows)
    assert "USING INDEX requests_to_addr" in plans["to_addr = ? COLLATE NOCASE"]
    assert "USING INDEX requests_in_reply_to" in plans["in_reply_to = ?"]
    outbox.close()


def test_the_same_rejection_email_counts_as_asked(run: Run, config_file: Path,
                                                  tmp_path: Path) -> None:
    eml = tmp_path / "rejection.eml"
    date = (datetime.now(UTC) - timedelta(days=3)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    eml.write_bytes(b"From: Jobs <jobs@acme.example.com>\r\nReply-To: Priya <priya@acme.com>\r\n"
                    b"Date: " + date.encode() + b"\r\nMessage-ID: <rej-1@acme.com>\r\n"
                    b"Subject: Your application\r\n\r\nSorry.\r\n")
    first = json.loads(run("new", "--from-eml", str(eml), "--json", ok=True).stdout)
    again = run("new", "--from-eml", str(eml), "--to", "Sam Lee <sam@acme.com>", "--schedule")
    assert again.exit_code == 2
    assert f"request {first['id']} (draft)" in again.stderr


def test_follow_up_flag_sets_when_the_follow_up_would_go(run: Run, config_file: Path) -> None:
    record = json.loads(new(run, "--follow-up", "--json", ok=True).stdout)
    assert record["follow_up_at"] is None  # not sent yet: counted from the send
    shown = run("show", str(record["id"]), "--json", ok=True).stdout
    assert json.loads(shown)["kind"] == "request"


@pytest.mark.parametrize(("extra", "expected_error"), [
    ("imap:\n  host: imap.example.com\n  security: tls\n",
     "imap.security: 'tls' is not one of ssl, starttls, none"),
    ("smtp:\n  host: mail.example.org\nimap: {}\n",
     "imap.host: missing; the IMAP server of mail.example.org is not known"),
    ("imap:\n  host: imap.example.com\n  port: 99999\n",
     "imap.port: 99999 is out of range; use 1 to 65535"),
    ("imap:\n  host: imap.example.com\n  folder: INBOX\n", "imap.folder: unknown key"),
    ("follow_up:\n  after_days: 1\n", "follow_up.after_days: 1 is out of range; use 3 to 60"),
])
def test_bad_imap_and_follow_up_settings_are_config_errors(
        run: Run, tmp_path: Path, extra: str, expected_error: str) -> None:
    write_config(tmp_path / "config.yaml", extra=extra)
    result = run("sync")
    assert result.exit_code == 2
    assert expected_error in result.stderr


def test_gmail_users_get_the_gmail_imap_server_by_default(tmp_path: Path) -> None:
    from draft_feedback.config import load_config

    path = write_config(tmp_path / "config.yaml", extra="smtp:\n  host: smtp.gmail.com\nimap: {}\n")
    config = load_config(path)
    assert config.imap is not None
    assert (config.imap.host, config.imap.port, config.imap.security) == (
        "imap.gmail.com", 993, "ssl")
    assert config.imap_user == "alex@example.com"


def test_sync_without_an_imap_section_says_how_to_add_one(run: Run, config_file: Path) -> None:
    result = run("sync")
    assert result.exit_code == 2
    assert "no imap section, so there is no mailbox to read; add imap:" in result.stderr


def test_login_imap_keeps_its_own_password_and_sync_uses_it(
        run: Run, tmp_path: Path, imap_account: Any, memory_keyring: Any) -> None:
    server = imap_account.server
    write_config(tmp_path / "config.yaml", extra=textwrap.dedent(f"""\
        imap:
          host: 127.0.0.1
          port: {server.port}
          security: none
          user: {imap_account.user}
        """))
    result = run("login", "--imap", "--password-stdin", input=imap_account.password + "\n")
    assert result.exit_code == 0, result.output
    assert f"IMAP password for {imap_account.user} stored" in result.stdout
    assert memory_keyring.store == {("draft-feedback-imap", imap_account.user):
                                    imap_account.password}
    assert run("sync").exit_code == 0
    assert run("logout", "--imap", ok=True).stdout.startswith("IMAP password for")
    result = run("sync")
    assert result.exit_code == 1
    assert f"no IMAP password stored for {imap_account.user}; run `draft-feedback login " \
        "--imap`" in result.stderr


def test_reflect_and_review_tell_the_journey(run: Run, tmp_path: Path,
                                             smtp_server: Any) -> None:
    import time_machine

    write_config(tmp_path / "config.yaml", smtp_server)
    start = datetime.now(UTC)

    def at(days: float) -> Any:
        return time_machine.travel(start + timedelta(days=days), tick=False)

    people = [("Priya Shah <priya@acme.com>", "Acme", "interview-system-design"),
              ("Sam Lee <sam@globex.com>", "Globex", "interview-clarity"),
              ("Ana Gomez <ana@initech.com>", "Initech", "interview-system-design")]
    with at(0):
        for to, org, area in people:
            run("new", "--to", to, "--org", org, "--role", "Data Analyst", "--rejected",
                (start - timedelta(days=3)).isoformat(), "--ask", area, "--schedule", ok=True)
        run("send-due", ok=True)
        run("new", "--to", "Kim Park <kim@umbrella.com>", "--org", "Umbrella", "--rejected",
            start.isoformat(), ok=True)
    with at(2):
        run("reply", "1", "-", input="Your system design answer skipped the database "
            "trade-offs; practise scaling questions.\n", ok=True)
    with at(6):
        run("reply", "2", "-", input="Be more concise: your answers rambled a little, "
            "but the structure of your examples was good.\n", ok=True)
        reflected = run("reflect", "1", input="The database point, yes\nNone really\n"
                        "System design\nDo two mock design interviews by Friday\n")
        assert reflected.exit_code == 0, reflected.output
        assert "Kept with request 1, for you only" in reflected.stdout
        shown = run("show", "1", ok=True).stdout
        assert "next_step: Do two mock design interviews by Friday" in shown
        page = run("review", ok=True).stdout
        data = json.loads(run("review", "--json", ok=True).stdout)
    print("\n" + page)
    assert "Requests:   4 (1 draft, 2 replied, 1 sent)" in page
    assert "Replies:    2 of 3 sent (67%)" in page
    assert "Median time to a reply: 4 days" in page
    assert "  [1] Do two mock design interviews by Friday" in page
    assert "no reply yet (6 days)" in page
    assert "`draft-feedback reflect 2`" in page
    assert data["reply_rate"] == 0.667 and data["median_reply_days"] == 4.0
    assert {t["theme"]: t["count"] for t in data["themes"]} == {
        "My answer to the system-design question": 1,  # "system design", "scaling"
        "How I described my past impact": 1,  # "examples"
        "The answer you would have liked more on": 1,  # "concise", "rambled", "structure"
        "What came across best": 1}  # "good"
    assert data["next_steps"] == [{"id": 1, "next_step": "Do two mock design interviews by "
                                   "Friday"}]


def test_reflect_needs_a_reply(run: Run, config_file: Path) -> None:
    new(run, ok=True)
    result = run("reflect", "1", input="x\n")
    assert result.exit_code == 2
    assert "request 1 is draft; reflecting needs a reply" in result.stderr


def test_without_imap_a_recorded_reply_still_holds_the_follow_up(
        run: Run, tmp_path: Path, smtp_server: Any) -> None:
    import time_machine

    write_config(tmp_path / "config.yaml", smtp_server, extra="follow_up:\n  after_days: 10\n")
    start = datetime.now(UTC)
    record = json.loads(new(run, "--schedule", "--json", ok=True).stdout)
    run("send-due", ok=True)
    with time_machine.travel(start + timedelta(days=10, hours=1), tick=False):
        # The follow-up is made and sent at the first run after its day.
        result = run("send-due", ok=True)
        assert "2: sent" in result.stdout
        assert "0 sent, 0 not sent." in run("send-due", ok=True).stdout
    assert len(smtp_server.received) == 2
    follow = json.loads(run("show", "2", "--json", ok=True).stdout)
    assert (follow["kind"], follow["parent_id"], follow["status"]) == (
        "follow-up", record["id"], "sent")


def test_a_reply_recorded_by_hand_holds_a_queued_follow_up(
        run: Run, tmp_path: Path, smtp_server: Any) -> None:
    import time_machine

    write_config(tmp_path / "config.yaml", smtp_server, extra="follow_up:\n  after_days: 10\n",
                 window="send_window:\n  days: [sun]\n  start: \"09:00\"\n  end: \"09:01\"\n")
    start = datetime.now(UTC)
    # A chosen time, most likely outside the one-minute Sunday window: --force keeps it.
    at = (start + timedelta(days=1)).isoformat()
    record = json.loads(new(run, "--at", at, "--force", "--json", ok=True).stdout)
    with time_machine.travel(start + timedelta(days=1, minutes=1), tick=False):
        run("send-due", ok=True)
    with time_machine.travel(start + timedelta(days=12), tick=False):
        run("send-due", ok=True)  # makes the follow-up, queued for Sunday's window
        follow = json.loads(run("show", "2", "--json", ok=True).stdout)
        assert follow["status"] == "scheduled"
        run("reply", str(record["id"]), "-", input="Sorry for the delay: notes below.\n",
            ok=True)
    held = json.loads(run("show", "2", "--json", ok=True).stdout)
    assert held["status"] == "held"
    assert held["held_reason"] == "a reply was recorded with `draft-feedback reply`"
    with time_machine.travel(start + timedelta(days=20), tick=False):
        run("send-due", ok=True)
    assert len(smtp_server.received) == 1


@pytest.mark.parametrize(("to", "tone", "greeting"), [
    ("Dr Priya Lopez <priya@example.com>", "formal", "Dear Dr Lopez,"),
    ('"Shah, Priya" <priya@example.com>', "warm", "Hi Priya,"),
    ("priya@example.com", "brief", "Hello,"),
])
def test_the_thank_you_and_the_follow_up_greet_as_the_request_did(
        run: Run, tmp_path: Path, smtp_server: Any, to: str, tone: str, greeting: str) -> None:
    import time_machine

    write_config(tmp_path / "config.yaml", smtp_server, extra="follow_up:\n  after_days: 10\n")
    start = datetime.now(UTC)
    first = json.loads(new(run, "--tone", tone, "--schedule", "--json", to=to, ok=True).stdout)
    second = json.loads(new(run, "--tone", tone, "--schedule", "--again", "--json",
                            to=to, ok=True).stdout)
    run("send-due", ok=True)
    run("reply", str(first["id"]), "-", input="Your SQL was strong; practise design.\n", ok=True)
    thanks = json.loads(run("thank", str(first["id"]), "--json", ok=True).stdout)
    assert thanks["body"].splitlines()[0] == greeting
    with time_machine.travel(start + timedelta(days=10, hours=1), tick=False):
        run("send-due", ok=True)
    [follow] = [r for r in json.loads(run("list", "--all", "--json").stdout)
                if r["kind"] == "follow-up"]
    assert follow["parent_id"] == second["id"]
    assert follow["body"].splitlines()[0] == greeting
