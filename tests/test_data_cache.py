"""The built-in YAML read through a JSON copy: the same data, and an edit is seen at once."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import pytest
import yaml

from draft_feedback import catalog
from draft_feedback.cache import cache_dir
from draft_feedback.config import parse_config
from draft_feedback.resources import builtin_dir, load_data


def copies() -> list[Path]:
    return sorted(Path(cache_dir(), "data").glob("*.json"))


def test_the_copy_gives_what_yaml_gives_and_follows_every_edit(tmp_path: Path) -> None:
    source = tmp_path / "rules.yaml"
    source.write_text("a: [1, two, {x: null}]\nb: yes\n", encoding="utf-8")
    assert load_data(source) == {"a": [1, "two", {"x": None}], "b": True}
    assert len(copies()) == 1
    assert load_data(source) == {"a": [1, "two", {"x": None}], "b": True}
    # Same length, an old modification time: the text decides.
    source.write_text("a: [1, six, {x: null}]\nb: no\n", encoding="utf-8")
    os.utime(source, ns=(0, 0))
    assert load_data(source) == {"a": [1, "six", {"x": None}], "b": False}


def test_data_json_cannot_hold_is_read_from_yaml_each_time(tmp_path: Path) -> None:
    source = tmp_path / "dates.yaml"
    source.write_text("when: 2026-12-02\n", encoding="utf-8")
    assert load_data(source) == {"when": datetime.date(2026, 12, 2)}
    assert copies() == []


def test_a_damaged_copy_is_read_from_yaml(tmp_path: Path) -> None:
    source = tmp_path / "rules.yaml"
    source.write_text("a: 1\n", encoding="utf-8")
    load_data(source)
    copies()[0].write_bytes(b"{not json")
    assert load_data(source) == {"a": 1}


def test_an_unwritable_cache_folder_reads_yaml(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way\n", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    source = tmp_path / "rules.yaml"
    source.write_text("a: 1\n", encoding="utf-8")
    assert load_data(source) == load_data(source) == {"a": 1}


def test_the_builtin_catalog_is_the_same_from_the_copy(tmp_path: Path) -> None:
    path = builtin_dir() / catalog.CATALOG_FILE
    with path.open(encoding="utf-8") as handle:
        expected = yaml.safe_load(handle)
    config = parse_config("timezone: Europe/Berlin\n", tmp_path / "config.yaml")
    catalog._builtin.cache_clear()
    cold = catalog.load_catalog(config)
    catalog._builtin.cache_clear()
    warm = catalog.load_catalog(config)
    catalog._builtin.cache_clear()
    assert cold == warm
    assert load_data(path) == expected
    assert len(copies()) == 1
