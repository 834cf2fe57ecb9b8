"""A full disk is named as such, and the request that did not fit leaves nothing behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_config

pytestmark = pytest.mark.slow
COMMAND = str(Path(sys.executable).with_name("draft-feedback"))
NEW = [COMMAND, "new", "--to", "Priya Shah <priya@example.com>", "--org", "Acme", "--role",
       "Data Analyst", "--rejected", "2026-11-27T16:00", "--again"]

# In a mount namespace of its own, a 300 KiB tmpfs is the data folder's disk; the script fills
# it between two requests, then frees it and lists what the outbox holds.
SCRIPT = """
set -u
mount -t tmpfs -o size=300k tmpfs "$DISK" || exit 77
"$@" > /dev/null || exit 70
dd if=/dev/zero of="$DISK/fill" bs=1k 2>/dev/null
"$@" --highlight "$(printf 'the data platform %.0s' $(seq 12))" > "$DISK/../out" 2> "$DISK/../err"
echo $? > "$DISK/../rc"
rm "$DISK/fill"
"$COMMAND" list --all --json > "$DISK/../list"
"""


def test_a_full_disk_is_named_and_nothing_is_half_written(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("needs unshare(1) to mount a small disk")
    disk = tmp_path / "disk"
    disk.mkdir()
    write_config(tmp_path / "config.yaml")
    env = dict(os.environ, DISK=str(disk), COMMAND=COMMAND,
               DRAFT_FEEDBACK_HOME=str(disk / "home"))
    ran = subprocess.run([unshare, "--user", "--map-root-user", "--mount", "sh", "-c", SCRIPT,
                          "sh", *NEW], env=env, capture_output=True, text=True, timeout=60)
    if ran.returncode == 77 or "unshare failed" in ran.stderr:
        pytest.skip(f"cannot mount a small disk here: {ran.stderr.strip()}")
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "rc").read_text() == "1\n"
    assert (tmp_path / "err").read_text() == (
        f"Error: {disk}/home/outbox.sqlite3: the disk holding the outbox is full, so nothing "
        "was changed; free some space on it, or choose another data folder with --home\n")
    assert [r["id"] for r in json.loads((tmp_path / "list").read_text())] == [1]
