"""The parsed config kept in the cache folder: used for the same text only, never a failure."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from draft_feedback.cache import cache_dir
from draft_feedback.config import load_config, parse_yaml
from draft_feedback.errors import BadInput

CONFIG = """\
sender: {name: Alex Rivera, email: alex@example.com}
timezone: Europe/Berlin
send_window: off
defaults: {tone: warm, max_questions: 2}
tone: {disable: [no-sorry]}
"""


def entries() -> list[Path]:
    return sorted(Path(cache_dir(), "config").glob("*.json"))


def test_an_unchanged_config_is_read_from_its_kept_parse(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    first = load_config(path)
    (entry,) = entries()
    written = entry.stat().st_mtime_ns
    again = load_config(path)
    assert again == first
    assert (again.defaults.tone, again.defaults.max_questions) == ("warm", 2)
    assert entry.stat().st_mtime_ns == written  # read, not parsed and written again


def test_an_edit_is_parsed_again_whatever_its_size_and_time(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    assert load_config(path).defaults.max_questions == 2
    stamp = path.stat().st_mtime_ns
    edited = CONFIG.replace("max_questions: 2", "max_questions: 3")
    assert len(edited) == len(CONFIG)
    path.write_text(edited, encoding="utf-8")
    os.utime(path, ns=(stamp, stamp))  # same size, same modification time
    assert load_config(path).defaults.max_questions == 3
    assert len(entries()) == 1  # the entry of this file was replaced, not joined by another


def test_an_edit_that_breaks_the_config_is_reported_as_before(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    load_config(path)
    path.write_text(CONFIG + "timezone: UTC\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(BadInput, match=r"config.yaml:6: timezone: duplicate key "
                                           r"\(first given on line 2\); keep one"):
            load_config(path)


def test_validation_still_reads_the_environment(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("sender: {name: Alex Rivera, email: alex@example.com}\n", encoding="utf-8")
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    first = load_config(path)
    monkeypatch.setenv("TZ", "America/New_York")
    second = load_config(path)
    assert entries()
    assert first.timezone != second.timezone


@pytest.mark.parametrize("damage", [b"", b"not json", b'{"key": "x", "nodes": []}',
                                    b'{"key": 1}', b"[1, 2]"])
def test_a_damaged_entry_is_ignored(tmp_path: Path, damage: bytes) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    first = load_config(path)
    (entry,) = entries()
    entry.write_bytes(damage)
    assert load_config(path) == first


def test_a_value_json_cannot_hold_is_parsed_every_time(tmp_path: Path) -> None:
    text = "when: 2026-12-02\nratio: .nan\n"
    for _ in range(2):
        node = parse_yaml(text, "x.yaml")
        assert node.value["when"].value == dt.date(2026, 12, 2)
    assert entries() == []


def test_a_cache_folder_that_cannot_be_written_never_fails_a_load(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way\n", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    assert load_config(path).defaults.tone == "warm"
    assert load_config(path).defaults.tone == "warm"


@pytest.mark.slow
def test_a_command_on_an_unchanged_config_loads_no_yaml_parser(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(CONFIG, encoding="utf-8")
    probe = ("import atexit, sys\n"
             "atexit.register(lambda: print('yaml' in sys.modules, file=sys.stderr))\n"
             "sys.argv = ['draft-feedback', 'list']\n"
             "from draft_feedback.launch import main\nmain()\n")
    seen = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              timeout=60, env=dict(os.environ))
        assert done.returncode == 0, done.stderr
        seen.append(done.stderr.strip().splitlines()[-1])
    assert seen == ["True", "False"]  # parsed once, then read from the kept parse
