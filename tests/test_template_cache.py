"""Compiled templates kept in the cache folder: reused, refreshed on an edit, never a failure."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from draft_feedback import drafting
from draft_feedback.addresses import Address
from draft_feedback.cache import cache_dir
from draft_feedback.catalog import load_catalog
from draft_feedback.config import Config, parse_config
from draft_feedback.drafting import DraftInput, render

PRIYA = Address(name="Priya Shah", email="priya@example.com")


@pytest.fixture(autouse=True)
def fresh_environments() -> None:
    """Each test starts as a new process would: no environment built yet."""
    drafting._environment.cache_clear()
    drafting._compiled_string.cache_clear()


def config_with(folder: Path, tmp_path: Path) -> Config:
    text = textwrap.dedent(f"""\
        sender: {{name: Alex Rivera, email: alex@example.com}}
        timezone: Europe/Berlin
        templates_dir: {folder}
        """)
    return parse_config(text, tmp_path / "config.yaml")


def draft(config: Config) -> str:
    return render(DraftInput(scenario="interview", to=PRIYA, areas=("interview-clarity",)),
                  config, load_catalog(config)).body


def entries() -> list[Path]:
    return sorted(Path(cache_dir(), "jinja").rglob("*.cache"))


def test_compiled_templates_are_kept_and_an_edit_is_compiled_again(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    template = folder / "interview.txt.j2"
    template.write_text("Hello {{ recipient_first }}, first version.\n", encoding="utf-8")
    config = config_with(folder, tmp_path)
    assert draft(config) == "Hello Priya, first version.\n"
    kept = {entry: entry.stat().st_mtime_ns for entry in entries()}
    assert kept  # compiled once, kept
    drafting._environment.cache_clear()
    assert draft(config) == "Hello Priya, first version.\n"
    # Loaded, not compiled and written again.
    assert {entry: entry.stat().st_mtime_ns for entry in entries()} == kept
    # Same size, an old modification time: the content decides, not the clock.
    template.write_text("Hello {{ recipient_first }}, other version.\n", encoding="utf-8")
    os.utime(template, ns=(0, 0))
    drafting._environment.cache_clear()
    assert draft(config) == "Hello Priya, other version.\n"


def test_a_damaged_entry_is_compiled_afresh(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "interview.txt.j2").write_text("Hi {{ recipient_first }}.\n", encoding="utf-8")
    config = config_with(folder, tmp_path)
    draft(config)
    for entry in entries():
        entry.write_bytes(b"not bytecode")
    drafting._environment.cache_clear()
    assert draft(config) == "Hi Priya.\n"


def test_a_cache_folder_that_cannot_be_written_never_fails_a_draft(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way\n", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "interview.txt.j2").write_text("Hi {{ recipient_first }}.\n", encoding="utf-8")
    assert draft(config_with(folder, tmp_path)) == "Hi Priya.\n"


def test_a_subject_line_is_compiled_once(tmp_path: Path) -> None:
    config = config_with(tmp_path / "none", tmp_path)
    catalog = load_catalog(config)
    first = render(DraftInput(scenario="interview", to=PRIYA), config, catalog)
    render(DraftInput(scenario="interview", to=PRIYA, org="Acme"), config, catalog)
    assert drafting._compiled_string.cache_info().hits >= 1
    assert first.subject == render(DraftInput(scenario="interview", to=PRIYA), config,
                                   catalog).subject


def test_a_subject_line_is_kept_compiled_and_an_edit_is_compiled_again(
        tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    config = config_with(folder, tmp_path)
    env = drafting.environment(config)
    ctx = {"org": "Acme"}
    assert drafting.render_string(env, "Thanks, {{ org }}", ctx, "subject") == "Thanks, Acme"
    kept = {entry: entry.stat().st_mtime_ns for entry in entries()}
    assert len(kept) == 1
    # A new process: loaded from the folder, not compiled and written again.
    drafting._environment.cache_clear()
    drafting._compiled_string.cache_clear()
    env = drafting.environment(config)
    assert drafting.render_string(env, "Thanks, {{ org }}", ctx, "subject") == "Thanks, Acme"
    assert {entry: entry.stat().st_mtime_ns for entry in entries()} == kept
    # Another subject is another entry; the first still renders as written.
    assert drafting.render_string(env, "Hello {{ org }}!", ctx, "subject") == "Hello Acme!"
    assert len(entries()) == 2
    drafting._environment.cache_clear()
    drafting._compiled_string.cache_clear()
    env = drafting.environment(config)
    assert drafting.render_string(env, "Thanks, {{ org }}", ctx, "subject") == "Thanks, Acme"


def test_a_damaged_subject_entry_is_compiled_afresh(tmp_path: Path) -> None:
    config = config_with(tmp_path / "none", tmp_path)
    env = drafting.environment(config)
    assert drafting.render_string(env, "Hi {{ org }}", {"org": "Acme"}, "subject") == "Hi Acme"
    for entry in entries():
        entry.write_bytes(b"not bytecode")
    drafting._environment.cache_clear()
    drafting._compiled_string.cache_clear()
    env = drafting.environment(config)
    assert drafting.render_string(env, "Hi {{ org }}", {"org": "Acme"}, "subject") == "Hi Acme"
