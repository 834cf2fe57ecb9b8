"""On a terminal, an --at outside the send window is asked about, and kept only on yes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pexpect
import pytest

from conftest import write_config

pytestmark = pytest.mark.slow
COMMAND = str(Path(sys.executable).with_name("draft-feedback"))


def a_saturday_morning() -> str:
    """10:00 on a Saturday at least three days ahead, past any cooling-off from now."""
    day = datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=3)
    day += timedelta(days=(5 - day.weekday()) % 7)
    return f"{day.isoformat()}T10:00"


def ask(at: str) -> pexpect.spawn:
    child = pexpect.spawn(COMMAND, ["new", "--to", "Priya Shah <priya@example.com>", "--org",
                                    "Acme", "--role", "Data Analyst", "--at", at],
                          env=dict(os.environ), encoding="utf-8", timeout=20,
                          dimensions=(50, 200))
    child.expect_exact("is outside your send window (mon-fri 09:00-17:00 Europe/Berlin). "
                       "Send then anyway? [y/N]: ")
    return child


def stored() -> list[dict]:
    out = subprocess.run([COMMAND, "list", "--all", "--json"], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("answer", ["", "n"])
def test_no_keeps_nothing(tmp_path: Path, answer: str) -> None:
    write_config(tmp_path / "config.yaml", window="")
    child = ask(a_saturday_morning())
    child.sendline(answer)
    child.expect_exact("nothing was changed")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert stored() == []


def test_yes_queues_it_for_the_time_chosen(tmp_path: Path) -> None:
    write_config(tmp_path / "config.yaml", window="")
    at = a_saturday_morning()
    child = ask(at)
    child.sendline("y")
    child.expect_exact("Why then:      cooling-off until ")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    [record] = stored()
    assert record["status"] == "scheduled"
    assert record["send_at"].startswith(at)
