"""The installed command with its streams cut: a reader that leaves, standard input closed.

Each of these was an "unexpected ..., please report this" error: now a reader that leaves is
not an error at all, and a closed standard input reads as an empty one, with the same clear
error (or result) an empty input gets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SMTPServer, write_config

COMMAND = str(Path(sys.executable).with_name("draft-feedback"))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    write_config(tmp_path / "config.yaml")
    environment = dict(os.environ, DRAFT_FEEDBACK_HOME=str(tmp_path / "home"),
                       DRAFT_FEEDBACK_CONFIG=str(tmp_path / "config.yaml"))
    for n in range(3):
        subprocess.run([COMMAND, "new", "--to", f"P {n} <p{n}@example.com>", "--org", "Acme",
                        "--rejected", "2026-01-05T16:00"], env=environment, check=True,
                       capture_output=True, timeout=60)
    return environment


@pytest.mark.parametrize("pipeline", [
    "list --all | head -0",
    "show 2 | true",
    "areas | head -1",
    "list --json | head -c 10",
])
def test_a_reader_that_leaves_is_not_an_error(env: dict[str, str], pipeline: str) -> None:
    command, reader = pipeline.split(" | ")
    result = subprocess.run(
        ["bash", "-c", f"{COMMAND} {command} | {reader} >/dev/null; exit ${{PIPESTATUS[0]}}"],
        env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stderr == ""


@pytest.mark.parametrize(("args", "code", "expected"), [
    (["login", "--password-stdin"], 2, "Error: the password is empty; nothing was stored"),
    (["new", "--guided"], 2, "Error: standard input is closed"),
    (["check", "-"], 0, "Tone check: no findings."),
    (["new", "--from-eml", "-"], 2, "Error: <stdin>: not an email message"),
], ids=["login", "new-guided", "check", "new-from-eml"])
def test_a_closed_standard_input_reads_as_empty(env: dict[str, str], args: list[str],
                                                code: int, expected: str) -> None:
    result = subprocess.run(["bash", "-c", '"$0" "$@" <&-', COMMAND, *args], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == code, result.stderr
    assert expected in result.stdout + result.stderr
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr


ANSWERS_UP_TO_THE_LAST_PROMPT = "\n".join([
    "", "", "", "",  # reflection skipped
    "interview", "", "Priya Shah <priya@example.com>", "Acme", "Data Analyst",
    "2026-11-20T16:00", "n", "", "", "", "warm", "y",
]) + "\n"


@pytest.mark.parametrize(("args", "given", "expected"), [
    (["new", "--guided"], "",
     "Error: standard input ended before the questions were answered; run it on a terminal, "
     "or give the options instead; nothing was stored.\n"),
    (["new", "--guided"], ANSWERS_UP_TO_THE_LAST_PROMPT,
     "Error: standard input ended before the questions were answered; run it on a terminal, "
     "or give the options instead; Request 4 is saved as a draft."),
], ids=["nothing-typed", "all-but-the-last"])
def test_input_that_ends_early_is_not_an_interrupt(env: dict[str, str], args: list[str],
                                                   given: str, expected: str) -> None:
    result = subprocess.run([COMMAND, *args], env=env, input=given, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1].startswith(expected.rstrip("\n"))
    drafts = json.loads(subprocess.run([COMMAND, "list", "--json"], env=env, check=True,
                                       capture_output=True, text=True).stdout)
    assert len(drafts) == (4 if given else 3)


@pytest.mark.parametrize("closed", [">&-", "2>&-", ">&- 2>&-"])
def test_send_due_with_its_output_closed_still_sends(tmp_path: Path, smtp_server: SMTPServer,
                                                     closed: str) -> None:
    write_config(tmp_path / "config.yaml", smtp_server)
    environment = dict(os.environ, DRAFT_FEEDBACK_HOME=str(tmp_path / "home"),
                       DRAFT_FEEDBACK_CONFIG=str(tmp_path / "config.yaml"))
    subprocess.run([COMMAND, "new", "--to", "Priya Shah <priya@example.com>", "--org", "Acme",
                    "--rejected", "2026-01-05T16:00", "--schedule"], env=environment,
                   check=True, capture_output=True, timeout=60)
    result = subprocess.run(["bash", "-c", f'"$0" send-due {closed}', COMMAND],
                            env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert [m.rcpt_tos for m in smtp_server.received] == [["priya@example.com"]]
    listed = subprocess.run([COMMAND, "list", "--json"], env=environment, check=True,
                            capture_output=True, text=True).stdout
    assert [r["status"] for r in json.loads(listed)] == ["sent"]
