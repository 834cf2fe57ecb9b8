"""Shell completion through Click's protocol, as bash asks for it, against the real command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from conftest import write_config

Run = Callable[..., Result]
COMMAND = str(Path(sys.executable).with_name("draft-feedback"))


def complete(line: str, shell: str = "bash") -> list[str]:
    """What the shell would offer for the last word of `line` (a trailing space: a new word)."""
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    env = dict(os.environ, COMP_WORDS=line, COMP_CWORD=str(cword),
               _DRAFT_FEEDBACK_COMPLETE=f"{shell}_complete")
    result = subprocess.run([COMMAND], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return [item for item in result.stdout.split("\n") if item]


@pytest.mark.parametrize(("line", "expected"), [
    ("draft-feedback sche", ["plain,schedule", "plain,schedule-setup"]),
    ("draft-feedback send-due --q", ["plain,--quiet"]),
    ("draft-feedback new --scenario inter", ["plain,interview"]),
    ("draft-feedback new --ask interview-sy", ["plain,interview-system-design"]),
    ("draft-feedback templates show thank_y", ["plain,thank_you.txt.j2"]),
    ("draft-feedback new --from-eml ", ["file,"]),
    ("draft-feedback check ", ["file,"]),
    ("draft-feedback schedule-setup ", ["plain,cron", "plain,systemd", "plain,launchd"]),
    ("draft-feedback config init --provider p", ["plain,proton-bridge"]),
])
def test_commands_options_and_values_complete(line: str, expected: list[str]) -> None:
    assert complete(line) == expected


def test_request_ids_and_the_users_own_scenarios_complete(run: Run, tmp_path: Path) -> None:
    write_config(tmp_path / "config.yaml", extra=(
        "scenarios:\n  audition:\n    label: Audition\n    template: submission.txt.j2\n"
        "    subject: Thank you\n    thank_you_only: true\n"))
    for org in ("Acme", "Globex"):
        assert run("new", "--to", "Priya Shah <priya@example.com>", "--org", org).exit_code == 0
    assert complete("draft-feedback show ") == ["plain,1", "plain,2"]
    assert complete("draft-feedback new -s au") == ["plain,audition"]
    assert complete("draft-feedback new -s au", shell="zsh") == ["plain", "audition",
                                                                 "Audition"]


def test_a_broken_config_offers_nothing_and_says_nothing(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("timezone: [\n")
    assert complete("draft-feedback new --scenario ") == []
