"""`list` on a real terminal fits its width; into a closed pipe it ends quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from wcwidth import wcswidth

from conftest import write_config

pytestmark = pytest.mark.slow
COMMAND = str(Path(sys.executable).with_name("draft-feedback"))


@pytest.mark.parametrize("columns", [64, 80])
def test_list_fits_the_terminal_width(tmp_path: Path, columns: int) -> None:
    write_config(tmp_path / "config.yaml")
    for org in ("Acme", "株式会社ソニーグループ採用センター"):
        subprocess.run([COMMAND, "new", "--to",
                        "Priyanka Shahabuddin-Ramaswamy <priyanka.shahabuddin@example.com>",
                        "--org", org, "--rejected", "2026-11-20T16:00"],
                       check=True, capture_output=True)
    child = pexpect.spawn(COMMAND, ["list"], env=dict(os.environ), encoding="utf-8",
                          timeout=20, dimensions=(40, columns))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    lines = [line for line in (child.before or "").replace("\r", "").splitlines() if line]
    assert lines[0].startswith("ID  STATUS")
    assert max(wcswidth(line) for line in lines) < columns
    assert all(line.endswith("…") for line in lines[1:3])
    # Into a file, the subject is not cut to a terminal.
    piped = subprocess.run([COMMAND, "list"], capture_output=True, text=True, check=True)
    assert max(wcswidth(line) for line in piped.stdout.splitlines()) > columns
    assert not piped.stdout.splitlines()[1].endswith("…")


def test_a_closed_pipe_ends_quietly() -> None:
    reader = subprocess.Popen([COMMAND, "areas", "--scenario", "interview"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.read(20)  # like `| head -c 20`
    reader.stdout.close()
    stderr = reader.stderr.read()
    reader.stderr.close()
    reader.wait(timeout=20)
    assert stderr == b""
