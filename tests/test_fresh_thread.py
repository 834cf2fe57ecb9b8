"""A request to someone who did not send the rejection email starts a thread of its own."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

Run = Callable[..., Result]
FIXTURES = Path(__file__).parent / "fixtures"
ATS = str(FIXTURES / "ats_html_noreply.eml")
PERSON = str(FIXTURES / "person_plain.eml")
SAM = "Sam Lee <sam.lee@acme.com>"


def eml_of(run: Run, request_id: int) -> bytes:
    result = run("show", str(request_id), "--eml")
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def test_a_real_person_after_a_no_reply_rejection_gets_a_fresh_thread(
        run: Run, config_file: Path) -> None:
    result = run("new", "--from-eml", ATS, "--to", SAM, "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    # The scenario's own subject, not "Re: Important information about your application ..."
    assert not record["subject"].startswith("Re:")
    assert "Data Analyst" in record["subject"] and "Important" not in record["subject"]
    assert record["to"] == SAM
    assert result.stderr == (
        "Note: sam.lee@acme.com did not send the rejection email, so the request starts a new "
        "thread with its own subject rather than replying to \"Important information about "
        "your application to Data Analyst at Acme\".\n")
    data = eml_of(run, record["id"])
    assert b"\r\nIn-Reply-To:" not in data and b"\r\nReferences:" not in data
    from email import message_from_bytes, policy

    assert message_from_bytes(data, policy=policy.default)["Subject"] == record["subject"]


@pytest.mark.parametrize("to", [None, "Priya Shah <Priya.Shah@ACME-corp.com>"])
def test_the_sender_of_the_rejection_gets_a_reply_in_its_thread(run: Run, config_file: Path,
                                                                to: str | None) -> None:
    args = ["new", "--from-eml", PERSON, "--json"] + (["--to", to] if to else [])
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    record = json.loads(result.stdout)
    assert record["subject"] == "Re: Data Analyst role - final interview"
    data = eml_of(run, record["id"])
    assert b"\r\nIn-Reply-To: <CAH3nR8tYp2Lq6Vz0sWc4Xe9Kd1mJb7Fu5Gi3Oa@mail.gmail.com>\r\n" in data


def test_another_person_than_the_sender_gets_a_fresh_thread(run: Run, config_file: Path) -> None:
    result = run("new", "--from-eml", PERSON, "--to", SAM, "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert not record["subject"].startswith("Re:") and "Data Analyst" in record["subject"]
    assert "starts a new thread" in result.stderr
    assert b"\r\nIn-Reply-To:" not in eml_of(run, record["id"])


def test_a_thank_you_to_a_no_reply_address_is_refused(run: Run, config_file: Path) -> None:
    result = run("new", "--from-eml", ATS, "--thank-you-only")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --to: the sender is a no-reply address (no-reply@us.greenhouse-mail.io), so "
        'even a thank-you would reach nobody; give --to "Name <name@example.com>" for a real '
        "person (a recruiter or the hiring manager) to thank\n")
    assert json.loads(run("list", "--json").stdout) == []
    thanks = run("new", "--from-eml", ATS, "--thank-you-only", "--to", SAM, "--json")
    assert thanks.exit_code == 0, thanks.output
    assert json.loads(thanks.stdout)["questions"] == []


def test_the_role_comes_from_a_title_dash_stage_subject(run: Run, config_file: Path,
                                                        tmp_path: Path) -> None:
    eml = tmp_path / "rejection.eml"
    eml.write_bytes((FIXTURES / "person_plain.eml").read_bytes().replace(
        b"Subject: Re: Data Analyst role - final interview",
        "Subject: Re: Backend Engineer (Payments) – final round".encode()))
    result = run("new", "--from-eml", str(eml), "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["role"] == "Backend Engineer (Payments)"
    assert "Backend Engineer (Payments) role" in record["body"]
