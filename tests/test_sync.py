"""The reply loop against a real Dovecot and a real aiosmtpd: sync, holds, thank-you, follow-up."""

from __future__ import annotations

import json
import re
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import Result

from conftest import PRIYA, SMTPServer, write_config

Run = Callable[..., Result]


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")


def mail(sender: str, subject: str, body: str, *, in_reply_to: str | None = None,
         references: str | None = None, date: datetime | None = None,
         extra: str = "", message_id: str | None = None) -> bytes:
    """An RFC 5322 message as a mail server stores it."""
    headers = [f"From: {sender}", "To: Alex Rivera <alex@example.com>", f"Subject: {subject}",
               f"Date: {format_datetime(date or datetime.now(UTC))}",
               f"Message-ID: {message_id or make_msgid(domain='example.com')}"]
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to}")
    if references:
        headers.append(f"References: {references}")
    headers += [h for h in extra.split("\n") if h]
    headers += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    return ("\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


REPLY_BODY = """\
Hi Alex,

Happy to help. Your system design answer was strong, but the trade-offs around
the database were not clear. Practise explaining scaling decisions out loud.

Best,
Priya

On Mon, 30 Nov 2026 at 10:00, Alex Rivera <alex@example.com> wrote:
> Hi Priya,
> Thank you for the interviews for the Data Analyst role.
"""


@pytest.fixture
def loop(tmp_path: Path, smtp_server: SMTPServer, imap_account: Any,
         monkeypatch: pytest.MonkeyPatch) -> Any:
    """A config with the local SMTP server and an IMAP account on the test Dovecot."""

    class Loop:
        smtp = smtp_server
        account = imap_account
        config = tmp_path / "config.yaml"

        def configure(self, extra: str = "", port: int | None = None,
                      security: str = "none", mailbox: str = "INBOX") -> None:
            server = imap_account.server
            imap = textwrap.dedent(f"""\
                imap:
                  host: 127.0.0.1
                  port: {port or (server.tls_port if security == 'ssl' else server.port)}
                  security: {security}
                  user: {imap_account.user}
                  mailbox: {mailbox}
                  timeout: 10
                """)
            write_config(self.config, smtp_server, extra=imap + extra)

    monkeypatch.setenv("DRAFT_FEEDBACK_IMAP_PASSWORD", imap_account.password)
    result = Loop()
    result.configure()
    return result


def queue(run: Run, *extra: str, to: str = PRIYA, rejected: str | None = None) -> dict:
    result = run("new", "--to", to, "--org", "Acme", "--role", "Data Analyst",
                 "--rejected", rejected or days_ago(3), "--ask", "interview-system-design",
                 "--schedule", "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def show(run: Run, request_id: int) -> dict:
    return json.loads(run("show", str(request_id), "--json", ok=True).stdout)


def sent_request(run: Run, loop: Any, **kwargs: Any) -> dict:
    record = queue(run, **kwargs)
    result = run("send-due")
    assert result.exit_code == 0, result.output
    record = show(run, record["id"])
    assert record["status"] == "sent"
    return record


def outbox_state(run: Run) -> list[dict]:
    return json.loads(run("list", "--all", "--json", ok=True).stdout)


# --- each kind of mail, classified ---------------------------------------------------------


def test_a_threaded_reply_is_recorded_without_its_quoted_history(run: Run, loop: Any) -> None:
    record = sent_request(run, loop)
    loop.account.deliver(mail(PRIYA, "Re: " + record["subject"], REPLY_BODY,
                              in_reply_to=record["message_id"],
                              message_id="<answer-1@example.com>"))
    before = loop.account.flags()
    result = run("sync")
    assert result.exit_code == 0, result.output
    assert f"request {record['id']}: replied (Priya Shah <priya@example.com>" in result.stdout
    assert "1 reply recorded, 0 held" in result.stdout
    after = show(run, record["id"])
    assert after["status"] == "replied"
    assert "trade-offs around\nthe database" in after["reply"]
    assert "wrote:" not in after["reply"] and "> Hi Priya" not in after["reply"]
    assert after["reply"].startswith("From: Priya Shah <priya@example.com>\n")
    # Read-only: the message is still new and unread, exactly where the server put it.
    assert loop.account.flags() == before == ["new/"]
    again = run("sync")
    assert again.exit_code == 0 and "0 replies recorded" in again.stdout


def test_a_huge_reply_is_kept_to_its_first_hundred_thousand_characters(
        run: Run, loop: Any) -> None:
    record = sent_request(run, loop)
    body = "Work on trade-offs.\n" * 15_000  # 300,000 characters; 299,999 without the last newline
    loop.account.deliver(mail(PRIYA, "Re: " + record["subject"], body,
                              in_reply_to=record["message_id"]))
    assert run("sync").exit_code == 0
    reply = show(run, record["id"])["reply"]
    assert reply.endswith("Work on trade-offs.\n\n[The reply goes on for another 199,999 "
                          "characters; the whole of it is in your mailbox.]\n")
    assert len(reply) < 100_300


def test_a_reply_without_threading_headers_is_matched_by_address_and_subject(
        run: Run, loop: Any) -> None:
    record = sent_request(run, loop)
    loop.account.deliver(mail(PRIYA, "RE: " + record["subject"], "Thanks Alex, a few notes:\n"
                              "work on presenting results concisely.\n"))
    loop.account.deliver(mail(PRIYA, "Lunch on Friday?", "Unrelated note.\n"))
    result = run("sync", "--json")
    assert result.exit_code == 0, result.output
    events = json.loads(result.stdout)["events"]
    assert [e["action"] for e in events] == ["replied"]
    assert "presenting results concisely" in show(run, record["id"])["reply"]


def test_an_out_of_office_is_not_a_reply(run: Run, loop: Any) -> None:
    record = sent_request(run, loop)
    loop.account.deliver(mail(PRIYA, "Automatic reply: " + record["subject"],
                              "I am out of the office until 14 December.\n",
                              in_reply_to=record["message_id"],
                              extra="Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All"))
    result = run("sync")
    assert result.exit_code == 0, result.output
    assert f"request {record['id']}: auto-reply" in result.stdout
    assert "not recorded as a reply" in result.stdout
    assert show(run, record["id"])["status"] == "sent"


def test_a_bounce_marks_the_request_failed_with_the_servers_reason(run: Run, loop: Any) -> None:
    record = sent_request(run, loop)
    bounce = textwrap.dedent(f"""\
        From: Mail Delivery System <MAILER-DAEMON@mail.example.com>
        To: alex@example.com
        Subject: Undelivered Mail Returned to Sender
        Date: {format_datetime(datetime.now(UTC))}
        Message-ID: <bounce-1@mail.example.com>
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

        --b1
        Content-Type: text/plain

        This is the mail system. Your message could not be delivered.

        --b1
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mail.example.com
        Final-Recipient: rfc822; priya@example.com
        Action: failed
        Status: 5.1.1
        Diagnostic-Code: smtp; 550 5.1.1 <priya@example.com>: Recipient address rejected

        --b1
        Content-Type: text/rfc822-headers

        Message-ID: {record['message_id']}
        Subject: {record['subject']}

        --b1--
        """).replace("\n", "\r\n").encode()
    loop.account.deliver(bounce)
    result = run("sync")
    assert result.exit_code == 0, result.output
    after = show(run, record["id"])
    assert after["status"] == "failed"
    assert after["last_error"] == ("the message bounced: 550 5.1.1 <priya@example.com>: "
                                   "Recipient address rejected")


def test_a_colleague_at_the_same_organisation_replying_in_the_thread_is_thanked(
        run: Run, loop: Any) -> None:
    record = sent_request(run, loop, to="Priya Shah <priya@acme-corp.com>")
    loop.account.deliver(mail("Sam Lee <sam.lee@acme-corp.com>", "Re: " + record["subject"],
                              "Priya asked me to answer: broaden your SQL practice.\n",
                              in_reply_to=record["message_id"],
                              message_id="<sam-1@acme-corp.com>"))
    synced = run("sync")
    assert synced.exit_code == 0, synced.output
    after = show(run, record["id"])
    assert after["status"] == "replied"
    assert after["reply"].startswith("From: Sam Lee <sam.lee@acme-corp.com>")
    thanks = json.loads(run("thank", str(record["id"]), "--json", ok=True).stdout)
    assert thanks["to"] == "Sam Lee <sam.lee@acme-corp.com>"
    assert thanks["body"].startswith("Hi Sam,")
    assert thanks["in_reply_to"] == "<sam-1@acme-corp.com>"


def test_a_forwarded_thread_is_not_taken_for_a_reply(run: Run, loop: Any) -> None:
    record = sent_request(run, loop)
    loop.account.deliver(mail(PRIYA, "Fwd: " + record["subject"],
                              "---------- Forwarded message ---------\nFrom: Alex Rivera\n\n"
                              "Thank you for the interviews.\n",
                              references=record["message_id"]))
    result = run("sync")
    assert result.exit_code == 0, result.output
    assert f"request {record['id']}: forward" in result.stdout
    assert show(run, record["id"])["status"] == "sent"


def test_hostile_headers_change_nothing_they_should_not(run: Run, loop: Any) -> None:
    record = sent_request(run, loop)
    refs = " ".join(f"<junk{i}@x.example>" for i in range(2000)) + " " + record["message_id"]
    loop.account.deliver(mail(
        '"=?utf-8?q?Priya=0D=0ABcc:_victim@evil.example?=" <priya@example.com>',
        "=?utf-8?q?Re:_hi=0D=0AX-Injected:_yes?=", "Fine answer: practise SQL.\n",
        references=refs, date=datetime(1999, 1, 1, tzinfo=UTC),
        extra="Message-ID: <a\"b\\c@evil>\nContent-Type: text/plain; charset=x-unknown-7"))
    loop.account.deliver(b"From: \x00\r\nSubject: \xff\xfe\r\n\r\nbinary\x00junk\r\n")
    result = run("sync")
    assert result.exit_code == 0, result.output
    after = show(run, record["id"])
    assert after["status"] == "replied"
    assert "practise SQL" in after["reply"]
    head = after["reply"].split("\n\n", 1)[0].split("\n")
    assert head[0] == "From: priya@example.com", repr(after["reply"])  # the hiding name dropped
    assert head[2] == "Subject: Re: hi X-Injected: yes"  # one line: the break became a space
    assert all(line.isprintable() for line in head)
    # The forged date is not believed: the server's own time is used.
    assert after["replied_at"][:4] == str(datetime.now(UTC).year)


# --- connection security -------------------------------------------------------------------


def test_tls_with_a_trusted_certificate_and_refusal_of_an_unknown_one(
        run: Run, loop: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    loop.configure(security="ssl")
    result = run("sync")
    assert result.exit_code == 1
    assert "could not be verified" in result.stderr and "no password was sent" in result.stderr
    monkeypatch.setenv("SSL_CERT_FILE", str(loop.account.server.cafile))
    result = run("sync")
    assert result.exit_code == 0, result.output


def test_starttls_is_verified_before_the_password_goes(
        run: Run, loop: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    loop.configure(security="starttls")
    result = run("sync")
    assert result.exit_code == 1
    assert "could not be verified" in result.stderr and "no password was sent" in result.stderr
    monkeypatch.setenv("SSL_CERT_FILE", str(loop.account.server.cafile))
    result = run("sync")
    assert result.exit_code == 0, result.output


def test_an_international_domain_is_searched_in_punycode(run: Run, loop: Any) -> None:
    record = sent_request(run, loop, to="Jörg Müller <joerg@münchen-firma.de>")
    loop.account.deliver(mail("Jörg Müller <joerg@xn--mnchen-firma-dlb.de>",
                              "Re: " + record["subject"], "Mehr SQL üben.\n"))
    result = run("sync")
    assert result.exit_code == 0, result.output
    assert show(run, record["id"])["status"] == "replied"


def test_plain_imap_to_a_remote_host_is_refused_in_the_config(run: Run, tmp_path: Path) -> None:
    write_config(tmp_path / "config.yaml", extra="imap:\n  host: imap.example.com\n"
                 "  security: none\n")
    result = run("sync")
    assert result.exit_code == 2
    assert "imap.security: none would send the password in the clear to imap.example.com" \
        in result.stderr


# --- scale ----------------------------------------------------------------------------------


def test_sync_of_ten_thousand_messages_stays_fast(run: Run, loop: Any) -> None:
    record = sent_request(run, loop)
    other = [mail(f"Person {i} <p{i}@other{i % 50}.example>", f"Newsletter {i}",
                  f"Body {i}\n" * 20) for i in range(10_000)]
    loop.account.deliver_many(other)
    loop.account.deliver(mail(PRIYA, "Re: " + record["subject"], "Short answer: SQL.\n",
                              in_reply_to=record["message_id"]))
    started = time.perf_counter()
    result = run("sync", "--json")
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [e["action"] for e in report["events"]] == ["replied"]
    assert report["messages_read"] == 1  # headers of candidates only, never all 10,001
    print(f"\nsync of 10,001 messages: {elapsed:.2f} s (first, index built); ", end="")
    started = time.perf_counter()
    assert run("sync").exit_code == 0
    print(f"{time.perf_counter() - started:.2f} s (again)")
    assert elapsed < 10


# --- holds ----------------------------------------------------------------------------------


def test_a_recipient_who_writes_first_holds_the_request_until_the_user_decides(
        run: Run, loop: Any) -> None:
    record = queue(run, rejected=days_ago(1.5))  # still cooling off: queued for later
    loop.account.deliver(mail(PRIYA, "A thought on your interview",
                              "Alex, I wanted to share some notes on your interview.\n"))
    result = run("sync")
    assert result.exit_code == 0, result.output
    assert f"request {record['id']}: held (Priya Shah <priya@example.com> wrote on" in \
        result.stdout
    listed = run("list", ok=True).stdout
    assert re.search(rf"^{record['id']} +held +", listed, re.M)
    assert f"{record['id']}: the recipient wrote first; read it, then `draft-feedback schedule " \
        f"{record['id']}` to send anyway or `draft-feedback cancel {record['id']}`" in listed
    shown = run("show", str(record["id"]), ok=True).stdout
    assert "Held:" in shown and "A thought on your interview" in shown
    assert show(run, record["id"])["held_reason"].startswith("Priya Shah <priya@example.com> "
                                                             "wrote on")
    # schedule sends it anyway, and no later check holds it again.
    with time_machine.travel(datetime.now(UTC) + timedelta(days=3), tick=True):
        assert run("schedule", str(record["id"])).exit_code == 0
        result = run("send-due")
        assert result.exit_code == 0, result.output
    assert show(run, record["id"])["status"] == "sent"
    assert len(loop.smtp.received) == 1


def test_a_reply_arriving_after_the_last_sync_stops_the_send(run: Run, loop: Any) -> None:
    record = queue(run)
    assert run("sync").exit_code == 0  # nothing yet
    assert show(run, record["id"])["status"] == "scheduled"
    loop.account.deliver(mail(PRIYA, "Re: your interview", "Quick notes before you ask...\n"))
    result = run("send-due")
    assert result.exit_code == 0, result.output
    assert f"request {record['id']}: held" in result.stdout
    assert loop.smtp.received == []
    assert show(run, record["id"])["status"] == "held"
    assert run("send-due").exit_code == 0 and loop.smtp.received == []  # stays held
    assert run("cancel", str(record["id"])).exit_code == 0
    assert show(run, record["id"])["status"] == "cancelled"


def test_imap_down_at_send_time_keeps_checked_requests_queued_and_sends_thank_yous(
        run: Run, loop: Any) -> None:
    from conftest import free_port

    answered = sent_request(run, loop, to="Sam Lee <sam@example.com>")
    loop.account.deliver(mail("Sam Lee <sam@example.com>", "Re: " + answered["subject"],
                              "Work on SQL.\n", in_reply_to=answered["message_id"]))
    assert run("sync").exit_code == 0
    thanks = json.loads(run("thank", str(answered["id"]), "--schedule", "--json",
                            ok=True).stdout)
    waiting = queue(run)
    loop.configure(port=free_port())
    result = run("send-due")
    assert result.exit_code == 1
    assert "the mailbox was not read" in result.stdout
    assert f"request {waiting['id']}: not sent (the mailbox could not be checked" in result.stderr
    assert f"request {thanks['id']}: sent" in result.stdout
    assert show(run, waiting["id"])["status"] == "scheduled"
    assert show(run, waiting["id"])["attempts"] == 0
    assert [r.rcpt_tos for r in loop.smtp.received][-1] == ["sam@example.com"]


# --- thank-you ------------------------------------------------------------------------------


def test_thank_you_is_threaded_under_their_reply_and_goes_without_cooling_off(
        run: Run, loop: Any) -> None:
    record = sent_request(run, loop)
    loop.account.deliver(mail(PRIYA, "Re: " + record["subject"], REPLY_BODY,
                              in_reply_to=record["message_id"],
                              message_id="<answer-7@example.com>"))
    assert run("sync").exit_code == 0
    thanks = json.loads(run("thank", str(record["id"]), "--schedule", "--json", ok=True).stdout)
    assert thanks["kind"] == "thank-you" and thanks["parent_id"] == record["id"]
    assert thanks["status"] == "scheduled" and thanks["findings"] == []
    assert thanks["subject"] == "Re: " + record["subject"]
    assert "Thank you so much for taking the time to share this." in thanks["body"]
    assert len(thanks["body"].split()) < 80
    result = run("send-due")
    assert result.exit_code == 0, result.output
    msg = loop.smtp.received[-1].message
    assert msg["In-Reply-To"] == "<answer-7@example.com>"
    assert record["message_id"] in msg["References"]
    again = run("thank", str(record["id"]))
    assert again.exit_code == 2 and f"already has thank-you {thanks['id']}" in again.stderr


def test_thank_you_to_a_form_answer_says_so_gracefully(run: Run, loop: Any) -> None:
    record = sent_request(run, loop)
    loop.account.deliver(mail(PRIYA, "Re: " + record["subject"],
                              "Dear Alex, due to the high volume of applications we are unable "
                              "to provide individual feedback.\n",
                              in_reply_to=record["message_id"]))
    assert run("sync").exit_code == 0
    thanks = json.loads(run("thank", str(record["id"]), "--tone", "formal", "--json",
                            ok=True).stdout)
    assert "I understand that individual feedback is not always possible" in thanks["body"]
    assert "feedback is genuinely useful" not in thanks["body"]
    assert thanks["findings"] == [] and thanks["status"] == "draft"


def test_thank_refuses_a_request_without_a_reply(run: Run, loop: Any) -> None:
    record = queue(run)
    result = run("thank", str(record["id"]))
    assert result.exit_code == 2
    assert f"request {record['id']} is scheduled; a thank-you answers a reply" in result.stderr


# --- the one follow-up --------------------------------------------------------------------


def test_one_follow_up_when_nobody_answered_never_a_second(run: Run, loop: Any) -> None:
    loop.configure(extra="follow_up:\n  after_days: 10\n")
    record = sent_request(run, loop)
    assert record["follow_up_at"] is not None
    with time_machine.travel(datetime.now(UTC) + timedelta(days=11), tick=True):
        first = run("send-due")
        assert first.exit_code == 0, first.output
        second = run("send-due")
        assert second.exit_code == 0, second.output
        assert run("sync").exit_code == 0
        assert run("send-due").exit_code == 0
    assert len(loop.smtp.received) == 2
    follow = loop.smtp.received[1].message
    assert follow["In-Reply-To"] == record["message_id"]
    assert follow["Subject"] == "Re: " + record["subject"]
    assert "in case it got buried" in follow.get_content()
    follow_ups = [r for r in outbox_state(run) if r["kind"] == "follow-up"]
    assert len(follow_ups) == 1 and follow_ups[0]["parent_id"] == record["id"]


def test_no_follow_up_after_a_reply(run: Run, loop: Any) -> None:
    loop.configure(extra="follow_up:\n  after_days: 10\n")
    record = sent_request(run, loop)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=5), tick=True):
        loop.account.deliver(mail(PRIYA, "Re: " + record["subject"], "Notes: SQL.\n",
                                  in_reply_to=record["message_id"]))
    with time_machine.travel(datetime.now(UTC) + timedelta(days=11), tick=True):
        assert run("send-due").exit_code == 0
    assert len(loop.smtp.received) == 1
    assert show(run, record["id"])["status"] == "replied"
    assert [r for r in outbox_state(run) if r["kind"] == "follow-up"] == []


def test_a_reply_landing_before_the_follow_up_goes_holds_it(run: Run, loop: Any) -> None:
    loop.configure(extra="follow_up:\n  after_days: 10\n")
    record = sent_request(run, loop)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=11), tick=True):
        synced = json.loads(run("sync", "--json", ok=True).stdout)
        assert len(synced["follow_ups_queued"]) == 1
        follow_id = synced["follow_ups_queued"][0]
        assert show(run, follow_id)["status"] == "scheduled"
        loop.account.deliver(mail(PRIYA, "Re: " + record["subject"], "Sorry for the delay!\n",
                                  in_reply_to=record["message_id"]))
        result = run("send-due")
        assert result.exit_code == 0, result.output
    assert len(loop.smtp.received) == 1
    assert show(run, record["id"])["status"] == "replied"
    held = show(run, follow_id)
    assert held["status"] == "held"
    assert held["held_reason"].startswith("Priya Shah <priya@example.com> replied on")


# --- faults: nothing changes, and the message says why ------------------------------------
# Last in the file: after a refused login Dovecot slows further logins from the address.


@pytest.mark.parametrize(("setup", "expected"), [
    ("down", "could not be reached (connection refused); check imap.host and imap.port"),
    ("mailbox", "has no mailbox 'Feedback'"),
    ("password", "refused the login for reader"),
])
def test_imap_faults_change_no_request(run: Run, loop: Any, monkeypatch: pytest.MonkeyPatch,
                                       setup: str, expected: str) -> None:
    from conftest import free_port

    held_candidate = queue(run, to="Sam Lee <sam@example.com>")
    record = sent_request(run, loop)
    loop.account.deliver(mail(PRIYA, "Re: x", "answer", in_reply_to=record["message_id"]))
    if setup == "down":
        loop.configure(port=free_port())
    elif setup == "password":
        monkeypatch.setenv("DRAFT_FEEDBACK_IMAP_PASSWORD", "wrong-password")
    else:
        loop.configure(mailbox="Feedback")
    before = outbox_state(run)
    result = run("sync")
    assert result.exit_code == 1
    assert expected in result.stderr
    assert "no request was changed" in result.stderr
    assert "Traceback" not in result.output
    assert outbox_state(run) == before
    assert show(run, held_candidate["id"])["status"] in ("scheduled", "sent")


def test_a_wrong_password_is_never_echoed(run: Run, loop: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRAFT_FEEDBACK_IMAP_PASSWORD", "hunter2-secret")
    result = run("sync")
    assert result.exit_code == 1
    assert "hunter2" not in result.output
