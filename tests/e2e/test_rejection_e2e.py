"""The installed command from a saved rejection to the bytes on the wire, and on a real terminal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pexpect
import pytest

from conftest import SMTPServer, write_config

pytestmark = pytest.mark.slow
COMMAND = str(Path(sys.executable).with_name("draft-feedback"))
FIXTURES = Path(__file__).parents[1] / "fixtures"
ORIGINAL_ID = "<CAH3nR8tYp2Lq6Vz0sWc4Xe9Kd1mJb7Fu5Gi3Oa@mail.gmail.com>"
ORIGINAL_DATE = b"Date: Thu, 26 Nov 2026 16:04:11 +0100"


def recent_rejection(tmp_path: Path) -> Path:
    """person_plain.eml, received three days ago, so its cooling-off has ended."""
    when = format_datetime(datetime.now(UTC) - timedelta(days=3)).encode()
    data = (FIXTURES / "person_plain.eml").read_bytes()
    assert data.count(ORIGINAL_DATE) == 1
    target = tmp_path / "rejection.eml"
    target.write_bytes(data.replace(ORIGINAL_DATE, b"Date: " + when))
    return target


def draft_feedback(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([COMMAND, *args], input=input, capture_output=True, timeout=60)
    return subprocess.CompletedProcess(result.args, result.returncode,
                                       result.stdout.decode(), result.stderr.decode())


@pytest.mark.parametrize("via", ["file", "stdin"])
def test_from_eml_to_the_wire_threads_under_the_rejection(
        tmp_path: Path, smtp_server: SMTPServer, via: str) -> None:
    write_config(tmp_path / "config.yaml", smtp_server)
    eml = recent_rejection(tmp_path)
    if via == "file":
        created = draft_feedback("new", "--from-eml", str(eml), "--json")
    else:
        created = draft_feedback("new", "--from-eml", "-", "--json", input=eml.read_bytes())
    assert created.returncode == 0, created.stderr
    request_id = json.loads(created.stdout)["id"]
    scheduled = draft_feedback("schedule", str(request_id))
    assert scheduled.returncode == 0, scheduled.stderr
    sent = draft_feedback("send-due")
    assert sent.returncode == 0, sent.stderr
    assert "1 sent" in sent.stdout

    [received] = smtp_server.received
    assert received.rcpt_tos == ["priya.shah@acme-corp.com"]
    data = received.data
    assert f"\r\nIn-Reply-To: {ORIGINAL_ID}\r\n".encode() in data
    references = re.search(rb"\r\nReferences: (.*?)\r\n(?![ \t])", data, re.S)
    assert references is not None
    chain = references.group(1).split()
    assert chain[-1] == ORIGINAL_ID.encode()
    assert chain[0] == b"<CAJx9Lm2r0pQ4Wd7kE1sHn3bT8vYc5uF6gA2zXo@mail.gmail.com>"
    assert b"\r\nSubject: Re: Data Analyst role - final interview\r\n" in data
    assert b"\r\nTo: Priya Shah <priya.shah@acme-corp.com>\r\n" in data
    listed = json.loads(draft_feedback("list", "--json").stdout)
    assert [r["status"] for r in listed] == ["sent"]


def test_guided_flow_on_a_real_terminal(tmp_path: Path, smtp_server: SMTPServer) -> None:
    write_config(tmp_path / "config.yaml", smtp_server)
    eml = recent_rejection(tmp_path)
    child = pexpect.spawn(COMMAND, [], env=dict(os.environ), encoding="utf-8", timeout=20,
                          dimensions=(50, 200))
    try:
        def answer(prompt: str, text: str) -> None:
            child.expect_exact(prompt)
            child.sendline(text)

        child.expect_exact("Before the email, a few questions for you alone.")
        answer("What feedback, if any, did they already give you?", "")
        answer("did not fully meet?", "They wanted experience with experimentation platforms")
        answer("What would you do differently?", "")
        answer("What would a better fit look like?", "")
        answer("Scenario (interview, application, promotion, manuscript, pitch, grant, "
               "journal-article, admissions, mentor) [interview]:", "")
        answer("Saved rejection email (.eml) to prefill from (Enter to skip):", str(eml))
        answer("Whom to ask (Name <address>) [Priya Shah <priya.shah@acme-corp.com>]:", "")
        answer("Organisation [Acme Corp]:", "")
        answer("Position, promotion, manuscript or pitch [Data Analyst]:", "")
        answer("Enter for the email's date):", "")
        answer("Only say thank you, with no questions (for a form rejection)? [y/N]:", "")
        child.expect_exact("1. The skill that would make the biggest difference  (suggested by "
                           "your answers)")
        answer("Numbers, comma-separated (Enter for the usual ones) [1]:", "")
        answer("A question of your own (Enter to skip):", "")
        answer("Something specific you appreciated about the process (Enter to skip):",
               "the walkthrough of the churn dashboard")
        answer("Tone (warm, formal, brief) [warm]:", "")
        answer("Ask to be kept in mind for future opportunities? [Y/n]:", "")
        # The preview, its tone findings, then the question with the earliest time.
        child.expect_exact("Subject: Re: Data Analyst role - final interview")
        child.expect_exact("Which skill would make the biggest difference for a role like this?")
        child.expect_exact("Tone check: no findings.")
        child.expect(r"Schedule for \w{3} \d{4}-\d\d-\d\d \d\d:\d\d \S+\? \[Y/n\]:")
        child.sendline("y")
        child.expect_exact("Request 1 is queued for")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before

    shown = draft_feedback("show", "1", "--json")
    record = json.loads(shown.stdout)
    assert record["status"] == "scheduled"
    assert record["reflection"] == {
        "requirements": "They wanted experience with experimentation platforms"}
    assert record["in_reply_to"] == ORIGINAL_ID
    assert "the walkthrough of the churn dashboard" in record["body"]
    text = draft_feedback("show", "1").stdout
    assert "requirements: They wanted experience with experimentation platforms" in text
    assert "experimentation platforms" not in draft_feedback("show", "1", "--eml").stdout
