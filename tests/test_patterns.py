"""Compiled patterns kept in the cache folder: equal to a fresh compile, never a failure."""

from __future__ import annotations

import marshal
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from draft_feedback import cache, tone
from draft_feedback.patterns import KIND, PatternCache, build_key, checksum

HERE = Path(__file__).parent


def corpus_sentences() -> list[str]:
    """Every sentence of the tone corpora: the writers' files and the shared list."""
    found: list[str] = []

    def walk(node: object) -> Iterator[str]:
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for key, value in node.items():
                if key not in ("writer", "persona"):
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    for path in [*sorted((HERE / "tone_corpus").glob("*.yaml")), HERE / "tone_corpus.yaml"]:
        found.extend(walk(yaml.safe_load(path.read_text(encoding="utf-8"))))
    return found


def rule_sources() -> list[tuple[str, int]]:
    """The pattern text and flags of every built-in rule's pattern and exception."""
    sources = []
    for rule in tone.builtin_rules():
        for pattern in (rule.pattern, rule.unless):
            if pattern is not None:
                sources.append((pattern.pattern, re.IGNORECASE))
    return sources


def kept_files() -> list[Path]:
    return sorted(Path(cache.cache_dir(), KIND).glob("*.marshal"))


@pytest.fixture(autouse=True)
def fresh_rules() -> Iterator[None]:
    """Each test starts as a new process would: no rules compiled yet."""
    tone.builtin_rules.cache_clear()
    yield
    tone.builtin_rules.cache_clear()


def test_every_kept_pattern_equals_a_fresh_compile_on_the_whole_corpus() -> None:
    sources = rule_sources()  # the first load compiles them and keeps their code
    assert len(kept_files()) == 1
    kept = PatternCache("tone-rules")
    sentences = corpus_sentences()
    assert len(sentences) > 500
    for source, flags in sources:
        cached = kept.compile(source, flags)
        fresh = re.compile(source, flags)
        assert cached == fresh
        assert (cached.pattern, cached.flags, cached.groups, cached.groupindex) == (
            fresh.pattern, fresh.flags, fresh.groups, fresh.groupindex)
        for sentence in sentences:
            assert [m.span() for m in cached.finditer(sentence)] == [
                m.span() for m in fresh.finditer(sentence)], (source, sentence)
    # All of them came from the kept code, none was compiled again.
    assert kept.reused == len(sources)


def test_the_built_in_rules_find_the_same_with_kept_code() -> None:
    shared = yaml.safe_load((HERE / "tone_corpus.yaml").read_text(encoding="utf-8"))
    sentences = [*shared["hurt"], *shared["polite"]]
    first = [tone.check(s) for s in sentences]
    tone.builtin_rules.cache_clear()
    before = kept_files()[0].stat().st_mtime_ns
    assert [tone.check(s) for s in sentences] == first
    assert kept_files()[0].stat().st_mtime_ns == before  # read, not compiled and written again


def write_raw(payload: bytes, name: str = "words") -> None:
    """Write an entry as PatternCache does: a digest of the payload, then the payload."""
    cache.write(KIND, PatternCache(name)._file(),
                checksum(payload) + payload)


def damage_cut(data: bytes) -> None:
    cache.write(KIND, PatternCache("words")._file(), data[: len(data) // 2])


def damage_byte(data: bytes) -> None:
    changed = bytearray(data)
    changed[-10] ^= 0xFF
    cache.write(KIND, PatternCache("words")._file(), bytes(changed))


def damage_garbage(data: bytes) -> None:
    cache.write(KIND, PatternCache("words")._file(), b"\x00not a cache file" * 3)


def stale_build(data: bytes) -> None:
    _, entries = marshal.loads(data[32:])
    write_raw(marshal.dumps((b"Python 2.7 another build", entries)))


def invalid_code(data: bytes) -> None:
    key, entries = marshal.loads(data[32:])
    entries = {k: (v[0], b"\xff" * len(v[1]), *v[2:]) for k, v in entries.items()}
    write_raw(marshal.dumps((key, entries)))


def wrong_shape(data: bytes) -> None:
    write_raw(marshal.dumps((build_key(), {("\\bsorry\\b", 2): "not an entry"})))


def wrong_starts(data: bytes) -> None:
    # A start that no match begins with would hide matches: a damaged one is not used.
    key, entries = marshal.loads(data[32:])
    entries = {k: (*v[:5], (frozenset({"zzzzz"}), frozenset(), False)) for k, v in entries.items()}
    write_raw(marshal.dumps((key, entries)))


@pytest.mark.parametrize("damage", [damage_cut, damage_byte, damage_garbage, stale_build,
                                    invalid_code, wrong_shape, wrong_starts])
def test_a_damaged_or_stale_file_is_ignored_and_written_again(damage: object) -> None:
    sources = [("\\bsorry\\b", re.IGNORECASE), ("(?P<word>always|never)", re.IGNORECASE)]
    first = PatternCache("words")
    for source, flags in sources:
        first.compile(source, flags)
    first.save()
    (path,) = kept_files()
    damage(path.read_bytes())  # type: ignore[operator]
    second = PatternCache("words")
    for source, flags in sources:
        assert second.compile(source, flags) == re.compile(source, flags)
        assert second.compile(source, flags).groupindex == re.compile(source, flags).groupindex
    assert second.reused == 0
    second.save()
    third = PatternCache("words")
    for source, flags in sources:
        assert third.compile(source, flags) == re.compile(source, flags)
    assert third.reused == len(sources)


def test_an_edited_pattern_or_other_flags_are_compiled_afresh() -> None:
    first = PatternCache("words")
    first.compile("\\bsorry\\b", re.IGNORECASE)
    first.save()
    second = PatternCache("words")
    assert second.compile("\\bsorry\\b", 0) == re.compile("\\bsorry\\b")
    assert second.compile("\\bsorry!", re.IGNORECASE).search("SORRY!") is not None
    assert second.reused == 0
    with pytest.raises(re.error):
        second.compile("(sorry", re.IGNORECASE)


def test_a_cache_folder_that_cannot_be_written_never_fails_the_tone_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way\n", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    findings = tone.check("I think this decision was unfair and I deserve an explanation.")
    assert findings
    assert blocker.read_text(encoding="utf-8") == "in the way\n"


def test_patterns_another_command_kept_stay_when_this_one_saves() -> None:
    # One command compiles some of the modules' patterns, another command others: each save
    # keeps what the other wrote, so neither compiles its own again on every run.
    first = PatternCache("modules-test")
    first.compile("\\bsorry\\b", re.IGNORECASE)
    first.save()
    second = PatternCache("modules-test")
    second.compile("(?P<word>always|never)", re.IGNORECASE)
    second.save()
    third = PatternCache("modules-test")
    assert third.compile("\\bsorry\\b", re.IGNORECASE) == re.compile("\\bsorry\\b", re.IGNORECASE)
    assert third.compile("(?P<word>always|never)", re.IGNORECASE).groupindex == {"word": 1}
    assert third.reused == 2


def test_our_modules_fixed_patterns_come_from_the_shared_file(tmp_path: Path) -> None:
    # A second process finds the patterns the first one compiled and wrote at its exit.
    import subprocess
    import sys

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    code = ("import draft_feedback.tone, draft_feedback.tonemodel, draft_feedback.patterns as p;"
            "print(p._modules.reused)")
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True).stdout.strip() for _ in range(2)]
    assert runs[0] == "0"
    assert int(runs[1]) >= 20
