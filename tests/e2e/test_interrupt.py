"""Ctrl-C on a real terminal: exit 130, and say truthfully what was stored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from conftest import write_config

pytestmark = pytest.mark.slow
COMMAND = str(Path(sys.executable).with_name("draft-feedback"))


def spawn(*args: str) -> pexpect.spawn:
    return pexpect.spawn(COMMAND, list(args), env=dict(os.environ), encoding="utf-8",
                         timeout=20, dimensions=(50, 200))


def stored() -> list[dict]:
    out = subprocess.run([COMMAND, "list", "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def answer_up_to_the_preview(child: pexpect.spawn) -> None:
    def answer(prompt: str, text: str) -> None:
        child.expect_exact(prompt)
        child.sendline(text)

    answer("What feedback, if any, did they already give you?", "They liked the take-home")
    answer("did not fully meet?", "experimentation platforms")
    answer("What would you do differently?", "")
    answer("What would a better fit look like?", "")
    answer("[interview]:", "")
    answer("Saved rejection email (.eml) to prefill from (Enter to skip):", "")
    answer("Whom to ask (Name <address>):", "Priya Shah <priya@example.com>")
    answer("Organisation:", "Acme")
    answer("Position, promotion, manuscript or pitch:", "Data Analyst")
    answer("Enter for now):", "2026-11-27T16:00")
    answer("[y/N]:", "")
    answer("Numbers, comma-separated", "")
    answer("A question of your own (Enter to skip):", "")
    answer("(Enter to skip):", "")
    answer("Tone (warm, formal, brief) [warm]:", "")
    answer("Ask to be kept in mind for future opportunities? [Y/n]:", "")


def test_ctrl_c_at_the_last_prompt_names_the_saved_draft(tmp_path: Path) -> None:
    write_config(tmp_path / "config.yaml")
    child = spawn()
    try:
        answer_up_to_the_preview(child)
        child.expect(r"Schedule for .*\? \[Y/n\]:")
        child.sendintr()
        child.expect_exact("Interrupted. Request 1 is saved as a draft. Next: "
                           "`draft-feedback schedule 1` queues it")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 130
    assert "nothing was stored" not in (child.before or "")
    [record] = stored()
    assert record["status"] == "draft"
    shown = subprocess.run([COMMAND, "show", "1"], capture_output=True, text=True, check=True)
    assert shown.stdout.endswith("Your reflection (private, never sent):\n"
                                 "  feedback-given: They liked the take-home\n"
                                 "  requirements: experimentation platforms\n")


def test_ctrl_c_before_anything_is_stored_says_so(tmp_path: Path) -> None:
    write_config(tmp_path / "config.yaml")
    child = spawn("new", "--guided")
    try:
        child.expect_exact("What feedback, if any, did they already give you?")
        child.sendline("They liked the take-home")
        child.expect_exact("did not fully meet?")
        child.sendintr()
        child.expect_exact("Aborted; nothing was stored.")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 130
    assert stored() == []


@pytest.mark.parametrize(("args", "prompt"), [
    (("config", "init", "--force"), "Your name, as your emails are signed:"),
    (("login", "--user", "alex@example.com"), "SMTP password for alex@example.com:"),
])
def test_ctrl_c_at_any_prompt_exits_130(tmp_path: Path, args: tuple[str, ...],
                                        prompt: str) -> None:
    config = write_config(tmp_path / "config.yaml")
    before = config.read_text()
    child = spawn(*args)
    try:
        child.expect_exact(prompt)
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 130
    assert config.read_text() == before
