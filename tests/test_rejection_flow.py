"""Starting from the rejection: --from-eml, automated senders, reflection, and recording replies."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from click.testing import Result

from conftest import PRIYA, SMTPServer, write_config

Run = Callable[..., Result]
BERLIN = ZoneInfo("Europe/Berlin")
FIXTURES = Path(__file__).parent / "fixtures"
# Every fixture is dated in late November 2026; a week later all of them are in the past.
LATER = datetime(2026, 12, 7, 10, 0, tzinfo=BERLIN)

PERSON_REFS = ("<CAJx9Lm2r0pQ4Wd7kE1sHn3bT8vYc5uF6gA2zXo@mail.gmail.com> "
               "<CAF7k2QmZ8xJ4t3p1N9bVd0eYwR5u6LhT2sGqPa@mail.gmail.com> "
               "<CAH3nR8tYp2Lq6Vz0sWc4Xe9Kd1mJb7Fu5Gi3Oa@mail.gmail.com>")

PREFILLED: dict[str, dict[str, Any]] = {
    "person_plain.eml": {
        "to": "Priya Shah <priya.shah@acme-corp.com>",
        "org": "Acme Corp",
        "role": "Data Analyst",
        "rejected_at": "2026-11-26T16:04:11+01:00",
        "subject": "Re: Data Analyst role - final interview",
        "in_reply_to": "<CAH3nR8tYp2Lq6Vz0sWc4Xe9Kd1mJb7Fu5Gi3Oa@mail.gmail.com>",
        "references": PERSON_REFS,
    },
    "folded_refs.eml": {
        "to": "Jordan Lee <jordan.lee@northwind-labs.com>",
        "org": "Northwind Labs",
        "role": "Senior Backend Engineer (Platform Infrastructure)",
        # -0800 in the file; stored in the configured timezone (Berlin), the same instant.
        "rejected_at": "2026-11-26T03:47:03+01:00",
        "subject": "Re: Update on your application for the Senior Backend Engineer (Platform "
                   "Infrastructure) position at Northwind Labs",
        "in_reply_to": "<CAD5mWq9Rt2Zx7Kp0Ns4Lb8Yc1Jf6Hv3Gu2Ea@mail.gmail.com>",
        "references": "<CAKp3vRw8Hq0Ld1nE5sTz2yUc7xJ9bG4fA6mQo@mail.gmail.com> "
                      "<CAN2eYt0Wm4Pr7Bx1Gs9Jd3Kq8Lz5Vc6Hf2Ui@mail.gmail.com> "
                      "<CAB8fZq1Xn5Ts2Ky7Mw0Pd4Rj9Lc3Gv6Eh1Oa@mail.gmail.com> "
                      "<CAD5mWq9Rt2Zx7Kp0Ns4Lb8Yc1Jf6Hv3Gu2Ea@mail.gmail.com>",
    },
    "qp_nonascii.eml": {
        "to": "Zoë Müller <z.mueller@verlag-sonnenschein.de>",
        "org": "Verlag Sonnenschein",
        "role": "Die Stille der Flüsse",
        "rejected_at": "2026-11-20T09:15:42+01:00",
        "subject": "Re: Ihr Manuskript »Die Stille der Flüsse«",
        "in_reply_to": "<AM9PR07MB71231A2B3C4D5E6F7A8B9C0D1E2F3@AM9PR07MB7123.eurprd07.prod."
                       "outlook.com>",
        "references": "<AM9PR07MB71231A2B3C4D5E6F7A8B9C0D1E2F3@AM9PR07MB7123.eurprd07.prod."
                      "outlook.com>",
    },
    "reply_to.eml": {
        "to": "\"Shah, Priya\" <priya.shah@acme-corp.com>",
        "org": "Acme Corp",
        "role": "Data Analyst",
        "rejected_at": "2026-11-30T10:02:17+01:00",
        "subject": "Re: Regarding your application: Data Analyst (Req #4471)",
        "in_reply_to": "<20261130090217.4471.5531@smtp.acme-corp.com>",
        "references": "<20261130090217.4471.5531@smtp.acme-corp.com>",
    },
}

ATS = FIXTURES / "ats_html_noreply.eml"
ATS_REASON = "the sender is a no-reply address (no-reply@us.greenhouse-mail.io)"

PERSON_REPLY = textwrap.dedent("""\
    From: Priya Shah <priya.shah@acme-corp.com>
    To: Alex Rivera <alex@example.com>
    Subject: Re: Data Analyst role - final interview
    Date: Wed, 09 Dec 2026 11:20:00 +0100
    Message-ID: <reply-1@acme-corp.com>
    MIME-Version: 1.0
    Content-Type: text/plain; charset=utf-8
    Content-Transfer-Encoding: quoted-printable

    Hi Alex,

    Happy to help. The biggest gap was hands-on experience with A/B testing =
    platforms; a small project on that would make a real difference.

    Priya
    """).encode()


@pytest.fixture(autouse=True)
def a_week_later() -> Any:
    """Freeze the clock a week after the fixtures were received."""
    with time_machine.travel(LATER, tick=False) as traveller:
        yield traveller


def stored(run: Run) -> list[dict[str, Any]]:
    return json.loads(run("list", "--json", ok=True).stdout)


def new_json(run: Run, *args: str, input: bytes | str | None = None) -> dict[str, Any]:
    result = run("new", *args, "--json", input=input)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- --from-eml prefills ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PREFILLED))
def test_from_eml_prefills_the_request(run: Run, config_file: Path, name: str) -> None:
    record = new_json(run, "--from-eml", str(FIXTURES / name))
    shown = json.loads(run("show", str(record["id"]), "--json", ok=True).stdout)
    for key, value in PREFILLED[name].items():
        assert shown[key] == value, key
    assert shown["status"] == "draft"
    assert shown["subject"].startswith("Re: ") and not shown["subject"].startswith("Re: Re:")


def test_from_eml_reads_standard_input(run: Run, config_file: Path) -> None:
    data = (FIXTURES / "person_plain.eml").read_bytes()
    record = new_json(run, "--from-eml", "-", input=data)
    for key, value in PREFILLED["person_plain.eml"].items():
        assert record[key] == value, key


def test_the_threading_reaches_the_message(run: Run, config_file: Path) -> None:
    new_json(run, "--from-eml", str(FIXTURES / "folded_refs.eml"))
    eml = run("show", "1", "--eml", ok=True).stdout_bytes
    assert b"\r\nIn-Reply-To: <CAD5mWq9Rt2Zx7Kp0Ns4Lb8Yc1Jf6Hv3Gu2Ea@mail.gmail.com>\r\n" in eml
    assert b"\r\nReferences: <CAKp3vRw8Hq0Ld1nE5sTz2yUc7xJ9bG4fA6mQo@mail.gmail.com>" in eml
    assert b"Subject: Re: Update on your application" in eml


def test_every_prefilled_value_gives_way_to_its_option(run: Run, config_file: Path) -> None:
    record = new_json(run, "--from-eml", str(FIXTURES / "person_plain.eml"),
                      "--to", "Sam Lee <sam@acme-corp.com>", "--org", "Acme Analytics",
                      "--role", "Senior Analyst", "--rejected", "2026-11-27T09:30")
    assert record["to"] == "Sam Lee <sam@acme-corp.com>"
    assert (record["org"], record["role"]) == ("Acme Analytics", "Senior Analyst")
    assert record["rejected_at"] == "2026-11-27T09:30:00+01:00"
    assert record["earliest_send_at"] == "2026-11-29T09:30:00+01:00"
    assert "Acme Analytics" in record["body"] or "Senior Analyst" in record["body"]
    # Sam did not get the rejection email, so the request does not reply to it.
    assert not record["subject"].startswith("Re:") and "Senior Analyst" in record["subject"]
    assert record["in_reply_to"] is None


def test_from_eml_with_scenario_and_schedule(run: Run, config_file: Path) -> None:
    record = new_json(run, "-s", "submission", "--from-eml", str(FIXTURES / "qp_nonascii.eml"),
                      "--ask", "submission-opening", "--schedule")
    assert record["status"] == "scheduled"
    assert record["scenario"] == "manuscript"  # submission is the old name of manuscript
    assert record["body"].startswith("Hi Zoë,") or "Zoë" in record["body"]
    assert "opening chapters" in record["body"]
    assert record["send_at"] == LATER.isoformat()  # the cooling-off ended long ago


def test_a_future_dated_email_needs_rejected(run: Run, config_file: Path,
                                            a_week_later: Any) -> None:
    a_week_later.move_to(datetime(2026, 11, 28, 12, 0, tzinfo=BERLIN))
    result = run("new", "--from-eml", str(FIXTURES / "reply_to.eml"))
    assert result.exit_code == 2
    assert "--from-eml: the rejection is dated 2026-11-30T10:02:17+01:00, in the future" in (
        result.stderr)
    assert "--rejected" in result.stderr
    assert stored(run) == []


# --- knowing when not to ask ------------------------------------------------------------------


def test_automated_sender_without_to_is_refused_with_the_reason(run: Run,
                                                                config_file: Path) -> None:
    result = run("new", "--from-eml", str(ATS))
    assert result.exit_code == 2, result.output
    assert ATS_REASON in result.stderr
    assert "there may be no person to ask" in result.stderr
    assert '--to "Name <name@example.com>"' in result.stderr
    assert "--thank-you-only" in result.stderr
    assert "Traceback" not in result.output
    assert stored(run) == []


def test_automated_sender_with_a_real_person_is_drafted_with_a_note(run: Run,
                                                                   config_file: Path) -> None:
    result = run("new", "--from-eml", str(ATS), "--to", PRIYA, "--json")
    assert result.exit_code == 0, result.output
    # A real person was given: no "nobody to ask" note, and no reply to a thread they never saw.
    assert ATS_REASON not in result.stderr
    assert "did not send the rejection email, so the request starts a new thread" in (
        result.stderr)
    record = json.loads(result.stdout)  # the note stays off stdout, so JSON still parses
    assert record["to"] == PRIYA
    assert (record["org"], record["role"]) == ("Acme", "Data Analyst")
    assert record["rejected_at"] == "2026-11-24T15:32:07+01:00"
    assert not record["subject"].startswith("Re:") and "Data Analyst" in record["subject"]
    assert record["in_reply_to"] is None


def test_automated_sender_thank_you_only(run: Run, config_file: Path) -> None:
    result = run("new", "--from-eml", str(ATS), "--to", PRIYA, "--thank-you-only", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert "?" not in record["body"] and record["questions"] == []
    assert "thank" in record["body"].lower()
    assert record["findings"] == []


def test_a_person_is_not_called_automated(run: Run, config_file: Path) -> None:
    result = run("new", "--from-eml", str(FIXTURES / "person_plain.eml"))
    assert result.exit_code == 0
    assert "Note:" not in result.stderr


def test_scenario_marked_thank_you_only_in_config_asks_nothing(run: Run, tmp_path: Path) -> None:
    write_config(tmp_path / "config.yaml", extra=textwrap.dedent("""\
        scenarios:
          application:
            thank_you_only: true
        """))
    record = new_json(run, "-s", "application", "--from-eml", str(FIXTURES / "reply_to.eml"))
    assert record["questions"] == [] and "?" not in record["body"]
    assert "thank" in record["body"].lower()
    assert record["subject"] == "Re: Regarding your application: Data Analyst (Req #4471)"
    # Other scenarios still ask.
    other = new_json(run, "--from-eml", str(FIXTURES / "person_plain.eml"))
    assert other["questions"]
    # Asking explicitly in a thank-you-only scenario is a contradiction, not silently dropped.
    refused = run("new", "-s", "application", "--from-eml", str(FIXTURES / "reply_to.eml"),
                  "--ask", "application-resume")
    assert refused.exit_code == 2
    assert "thank-you only" in refused.stderr and "--ask" in refused.stderr
    assert len(stored(run)) == 2


# --- bad files --------------------------------------------------------------------------------


def _bad_file(kind: str, tmp_path: Path) -> str:
    if kind.endswith(".eml"):
        return str(FIXTURES / kind)
    target = tmp_path / "saved.eml"
    if kind == "missing":
        return str(tmp_path / "nowhere.eml")
    if kind == "folder":
        target.mkdir()
    elif kind == "binary":
        target.write_bytes(bytes(range(256)) * 8 + b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    elif kind == "empty":
        target.write_bytes(b"")
    elif kind == "no-usable-from":
        target.write_bytes(b"From: undisclosed-recipients:;\r\n"
                           b"Date: Thu, 26 Nov 2026 16:04:11 +0100\r\n\r\nNo.\r\n")
    return str(target)


@pytest.mark.parametrize(
    ("kind", "expected_error"),
    [
        ("not_email.eml", "not_email.eml: not an email message (no From or Date header)"),
        ("no_date.eml", "no_date.eml: there is no Date header"),
        ("hostile_from.eml", "hostile_from.eml: the From header contains an encoded word"),
        ("missing", "--from-eml: cannot read {path}"),
        ("folder", "--from-eml: {path} is a folder"),
        ("binary", "{path}: not an email message"),
        ("empty", "{path}: not an email message"),
        ("no-usable-from", "{path}: the From header has no usable address"),
    ],
)
def test_bad_rejection_files_are_exit_2_and_store_nothing(
        run: Run, config_file: Path, tmp_path: Path, kind: str, expected_error: str) -> None:
    path = _bad_file(kind, tmp_path)
    result = run("new", "--from-eml", path)
    assert result.exit_code == 2, result.output
    assert expected_error.format(path=path) in result.stderr
    assert "Traceback" not in result.output and "unexpected" not in result.stderr
    assert stored(run) == []


def test_bad_standard_input_names_stdin(run: Run, config_file: Path) -> None:
    result = run("new", "--from-eml", "-", input=b"just some words\n")
    assert result.exit_code == 2
    assert "<stdin>: not an email message" in result.stderr
    assert stored(run) == []


def test_an_endless_file_is_refused_not_read_forever(run: Run, config_file: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    import draft_feedback.workflow as workflow

    monkeypatch.setattr(workflow, "MAX_INPUT_BYTES", 1024)
    big = tmp_path / "big.eml"
    big.write_bytes((FIXTURES / "person_plain.eml").read_bytes() + b"x" * 4096)
    result = run("new", "--from-eml", str(big))
    assert result.exit_code == 2
    assert f"--from-eml: {big} is larger than 1 KiB" in result.stderr
    assert stored(run) == []


# --- recording the reply ----------------------------------------------------------------------


def send_one(run: Run, tmp_path: Path, smtp_server: SMTPServer, *args: str) -> int:
    write_config(tmp_path / "config.yaml", smtp_server)
    record = new_json(run, "--from-eml", str(FIXTURES / "person_plain.eml"), "--schedule",
                      *args)
    assert "1 sent" in run("send-due", ok=True).stdout
    return int(record["id"])


def test_reply_as_text_from_standard_input(run: Run, tmp_path: Path,
                                           smtp_server: SMTPServer) -> None:
    request_id = send_one(run, tmp_path, smtp_server)
    result = run("reply", str(request_id), "-", input="Thanks Alex, happy to talk on a call.\n",
                 ok=True)
    assert f"draft-feedback show {request_id}" in result.stdout
    [record] = stored(run)
    assert record["status"] == "replied"
    assert record["reply"] == "Thanks Alex, happy to talk on a call.\n"
    assert record["replied_at"] == LATER.isoformat()
    assert "replied" in run("list", ok=True).stdout
    assert [r["id"] for r in json.loads(run("list", "--status", "replied", "--json",
                                            ok=True).stdout)] == [request_id]


def test_reply_as_a_saved_eml(run: Run, tmp_path: Path, smtp_server: SMTPServer) -> None:
    request_id = send_one(run, tmp_path, smtp_server)
    answer = tmp_path / "answer.eml"
    answer.write_bytes(PERSON_REPLY)
    run("reply", str(request_id), str(answer), ok=True)
    shown = run("show", str(request_id), ok=True).stdout
    assert f"Request {request_id} (replied" in shown
    assert "Subject: Re: Data Analyst role - final interview" in shown
    assert "Reply (recorded" in shown
    assert "From: Priya Shah <priya.shah@acme-corp.com>" in shown
    # The quoted-printable soft break is decoded, not shown.
    assert "experience with A/B testing platforms; a small project" in shown
    assert "Content-Transfer-Encoding" not in shown


@pytest.mark.parametrize(
    ("setup", "args", "expected_error"),
    [
        ("draft", ("1", "-"), "request 1 is draft; a reply can be recorded once the request "
                              "is sent"),
        ("scheduled", ("1", "-"), "request 1 is scheduled"),
        ("draft", ("7", "-"), "no request with id 7"),
        ("sent", ("1", "{tmp}/nowhere.txt"), "FILE: cannot read {tmp}/nowhere.txt"),
        ("sent", ("1", "{tmp}"), "FILE: {tmp} is a folder"),
        ("sent", ("1", "-"), "-: the reply is empty"),
        ("sent", ("1", "{tmp}/binary.bin"), "{tmp}/binary.bin: not UTF-8 text or an email"),
    ],
)
def test_reply_refusals(run: Run, tmp_path: Path, smtp_server: SMTPServer, setup: str,
                        args: tuple[str, ...], expected_error: str) -> None:
    if setup == "sent":
        send_one(run, tmp_path, smtp_server)
    else:
        write_config(tmp_path / "config.yaml", smtp_server)
        new_json(run, "--from-eml", str(FIXTURES / "person_plain.eml"),
                 *(("--schedule",) if setup == "scheduled" else ()))
    (tmp_path / "binary.bin").write_bytes(b"\xff\xfe\x00\x81" * 10)
    before = stored(run)
    result = run("reply", *(a.format(tmp=tmp_path) for a in args), input="  \n")
    assert result.exit_code == 2, result.output
    assert expected_error.format(tmp=tmp_path) in result.stderr
    assert stored(run) == before


# --- the guided flow --------------------------------------------------------------------------


def guided_input(*, reflection: tuple[str, ...] = ("", "", "", ""), eml: str | None = "",
                 to: str = "", org: str = "", role: str = "", rejected: str = "",
                 thank_you: str = "n", areas: str = "", own: str = "", highlight: str = "",
                 tone: str = "", future: str = "", after: tuple[str, ...] = ()) -> str:
    """Answers for every prompt of the guided flow, Enter where the default is wanted.

    eml=None leaves out the answer to the email prompt, which --from-eml skips.
    """
    lines = [*reflection, "", *([] if eml is None else [eml]), to, org, role, rejected,
             thank_you]
    if thank_you != "y":
        lines += [areas, own]
    lines += [highlight, tone, future, *after]
    return "\n".join(lines) + "\n"


def test_guided_from_eml_reflects_previews_and_schedules(run: Run, config_file: Path) -> None:
    answers = guided_input(
        reflection=("They said the experimentation experience was the gap", "",
                    "I rambled a bit in the behavioural round", ""),
        eml=str(FIXTURES / "person_plain.eml"),
        after=("y",))  # Schedule for ...? yes
    result = run("new", "--guided", input=answers, ok=True)
    out = result.stdout
    assert out.index("What feedback, if any, did they already give you?") < out.index(
        "Scenario")
    assert "Whom to ask (Name <address>) [Priya Shah <priya.shah@acme-corp.com>]" in out
    assert "Organisation [Acme Corp]" in out
    assert "The answer you would have liked more on  (suggested by your answers)" in out
    assert "The skill that would make the biggest difference  (suggested by your answers)" in out
    # The preview, the tone findings, then the question with the earliest time.
    assert "Subject: Re: Data Analyst role - final interview" in out
    assert "Tone check: no findings." in out
    assert "Schedule for Mon 2026-12-07 10:00 CET? [Y/n]" in out
    assert "queued for Mon 2026-12-07 10:00 CET" in out
    assert out.count("Tone check:") == 1  # the preview is not printed twice
    [record] = stored(run)
    assert record["status"] == "scheduled"
    assert record["in_reply_to"] == PREFILLED["person_plain.eml"]["in_reply_to"]
    assert "Which of my answers would you have liked to hear more on?" in record["body"]
    assert record["reflection"] == {
        "feedback-given": "They said the experimentation experience was the gap",
        "best-self": "I rambled a bit in the behavioural round"}
    eml = run("show", "1", "--eml", ok=True).stdout_bytes
    assert b"rambled" not in eml and b"experimentation experience" not in eml


def test_guided_with_tone_errors_keeps_a_draft(run: Run, config_file: Path) -> None:
    answers = guided_input(to=PRIYA, org="Acme", role="Data Analyst",
                           rejected="2026-11-27T16:00", areas="1",
                           own="Why didn't I get the job?",
                           after=("n",))  # do not open the editor
    result = run("new", "--guided", input=answers, ok=True)
    out = result.stdout
    assert "error: line" in out and "demanding-why" in out
    assert "Try: What areas could I strengthen" in out
    assert "Change the flagged wording in your editor now? [Y/n]" in out
    assert "Schedule for" not in out
    assert "draft-feedback edit 1" in out
    [record] = stored(run)
    assert record["status"] == "draft"
    assert any(f["severity"] == "error" for f in record["findings"])


def test_guided_tone_errors_fixed_in_the_editor_then_scheduled(
        run: Run, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "editor.py"
    script.write_text(textwrap.dedent("""\
        import sys
        path = sys.argv[1]
        text = open(path).read().replace("Why didn't I get the job?",
                                         "Which SQL topics should I practise?")
        open(path, "w").write(text)
        """))
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    answers = guided_input(to=PRIYA, org="Acme", role="Data Analyst",
                           rejected="2026-11-27T16:00", areas="1",
                           own="Why didn't I get the job?", after=("y", "y"))
    result = run("new", "--guided", input=answers, ok=True)
    assert "Tone check: no findings." in result.stdout
    assert "Schedule for Mon 2026-12-07 10:00 CET?" in result.stdout
    [record] = stored(run)
    assert record["status"] == "scheduled"
    assert "Which SQL topics should I practise?" in record["body"]


def test_guided_automated_email_defaults_to_thank_you(run: Run, config_file: Path) -> None:
    answers = guided_input(eml=str(ATS), to=PRIYA, thank_you="", after=("n",))
    result = run("new", "--guided", input=answers, ok=True)
    out = result.stdout
    assert f"Note: {ATS_REASON}; there may be no person to ask" in out
    assert "Only say thank you, with no questions (for a form rejection)? [Y/n]" in out
    assert "What would help most?" not in out
    [record] = stored(run)
    assert record["questions"] == [] and record["to"] == PRIYA


def test_guided_asks_again_after_a_bad_answer(run: Run, config_file: Path,
                                             tmp_path: Path) -> None:
    answers = "\n".join(["", "", "", "", "",
                         str(tmp_path / "nowhere.eml"), str(FIXTURES / "not_email.eml"), "",
                         "priya@", PRIYA, "Acme", "Data Analyst",
                         "last tuesday", "2099-01-01", "2026-11-27T16:00",
                         "n", "1,99", "1", "", "", "", "", "n"]) + "\n"
    result = run("new", "--guided", input=answers, ok=True)
    err = result.output  # Click shows a prompt's error next to the prompt, on stdout
    assert "cannot read" in err and "not an email message" in err
    assert "'priya@' is not a valid email address" in err
    assert "'last tuesday' is not an ISO 8601 date" in err and "in the future" in err
    assert "Error: 99 is not on the list; choose numbers from 1 to 7" in err
    [record] = stored(run)
    assert record["to"] == PRIYA and record["rejected_at"] == "2026-11-27T16:00:00+01:00"
    assert record["areas"] == ["interview-skill-gap"]


def test_guided_with_options_given_uses_them_as_defaults(run: Run, config_file: Path) -> None:
    answers = guided_input(eml=None, after=("n",))
    result = run("new", "--guided", "-s", "submission",
                 "--from-eml", str(FIXTURES / "qp_nonascii.eml"), "--role", "The novel",
                 input=answers, ok=True)
    assert "Saved rejection email" not in result.stdout
    assert "Position, promotion, manuscript or pitch [The novel]" in result.stdout
    [record] = stored(run)
    assert record["scenario"] == "manuscript" and record["role"] == "The novel"
    assert record["to"] == PREFILLED["qp_nonascii.eml"]["to"]


def test_bare_command_on_a_terminal_starts_the_guided_flow(
        run: Run, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import draft_feedback.cli as cli_module

    monkeypatch.setattr(cli_module, "_interactive", lambda: True)
    answers = guided_input(reflection=("", "The role wanted Kubernetes experience", "", ""),
                           to=PRIYA, org="Acme", role="Platform Engineer",
                           rejected="2026-11-27T16:00", after=("n",))
    result = run(input=answers, ok=True)
    assert result.stdout.startswith("Before the email, a few questions for you alone.")
    assert ("The skill that would make the biggest difference  (suggested by your answers)"
            in result.stdout)
    [record] = stored(run)
    assert record["reflection"] == {"requirements": "The role wanted Kubernetes experience"}
    shown = run("show", "1", ok=True).stdout
    assert "Your reflection (private, never sent):" in shown
    assert "requirements: The role wanted Kubernetes experience" in shown


def test_reflection_request_and_reply_are_shown_together(
        run: Run, tmp_path: Path, smtp_server: SMTPServer) -> None:
    write_config(tmp_path / "config.yaml", smtp_server)
    answers = guided_input(reflection=("None yet", "", "", "Yes, analytics is my path"),
                           eml=str(FIXTURES / "person_plain.eml"), after=("y",))
    run("new", "--guided", input=answers, ok=True)
    assert "1 sent" in run("send-due", ok=True).stdout
    [received] = smtp_server.received
    assert b"analytics is my path" not in received.data
    answer = tmp_path / "answer.eml"
    answer.write_bytes(PERSON_REPLY)
    run("reply", "1", str(answer), ok=True)
    shown = run("show", "1", ok=True).stdout
    request_at = shown.index("Subject: Re: Data Analyst role - final interview")
    reflection_at = shown.index("Your reflection (private, never sent):")
    reply_at = shown.index("Reply (recorded Mon 2026-12-07 10:00 CET):")
    assert request_at < reflection_at < reply_at
    assert "fit: Yes, analytics is my path" in shown
    assert "a small project on that would make a real difference" in shown
    assert "replied" in run("list", ok=True).stdout


def test_a_huge_reply_keeps_its_first_hundred_thousand_characters(
        run: Run, tmp_path: Path, smtp_server: SMTPServer) -> None:
    request_id = send_one(run, tmp_path, smtp_server)
    answer = tmp_path / "answer.txt"
    answer.write_text("Practise SQL. " * 50_000, encoding="utf-8")  # 700,000 characters
    run("reply", str(request_id), str(answer), ok=True)
    [record] = stored(run)
    kept, note = record["reply"].rsplit("\n\n", 1)
    assert kept == ("Practise SQL. " * 50_000)[:100_000].rstrip()
    assert note == (f"[The reply goes on for another 600,000 characters; the whole of it is in "
                    f"{answer}.]")
