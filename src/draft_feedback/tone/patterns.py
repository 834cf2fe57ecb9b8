"""Compiling the rule patterns, with a cache of the compiled form between runs.

The built-in rules are a few hundred large case-insensitive expressions; compiling them takes
far longer than everything else `new` does, so their compiled code is kept in the user's cache
folder. The cache is keyed by the interpreter build, the regular-expression engine version and
the exact text of the rules file, pattern and flags; anything wrong with it (missing, stale,
unreadable, a folder that cannot be written) means compiling as usual, never an error.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FLAGS = int(re.IGNORECASE)
CACHE_NAME = "tone-rules.cache"
CACHE_FORMAT = 1


def compile_checked(source: str, where: str, error: type[Exception]) -> re.Pattern[str]:
    """Compile one rule pattern; refuse one that is invalid or matches empty text."""
    try:
        compiled = re.compile(source, FLAGS)
    except (re.error, RecursionError, OverflowError) as exc:
        raise error(f"{where}: pattern is not a valid regular expression: {exc}") from None
    _refuse_empty(compiled, where, error)
    return compiled


def _refuse_empty(compiled: re.Pattern[str], where: str, error: type[Exception]) -> None:
    if compiled.search("") is not None:
        # An empty match would flag every position of every text.
        raise error(f"{where}: pattern matches empty text; make it match at least one character")


def cache_path() -> Path:
    """Return the cache file in the user's cache folder (platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("draft-feedback", appauthor=False)) / CACHE_NAME


def engine_key() -> tuple[object, ...]:
    """Return what a compiled pattern depends on besides its source and flags."""
    import _sre

    return (CACHE_FORMAT, sys.version, sys.implementation.cache_tag, _sre.MAGIC, _sre.CODESIZE,
            getattr(_sre, "MAXREPEAT", None), getattr(_sre, "MAXGROUPS", None))


class Compiler:
    """Reads the rules file and compiles patterns, from the cache where it holds them."""

    def __init__(self, stored: dict[str, Any] | None) -> None:
        self.stored = stored or {}
        self.texts: dict[str, bytes] = dict(self.stored.get("texts", {}))
        self.data_of: dict[str, Any] = dict(self.stored.get("data", {}))
        self.codes: dict[tuple[str, int], tuple[Any, ...]] = dict(self.stored.get("codes", {}))
        self.used: set[tuple[str, int]] = set()
        self.changed = False

    def data(self, path: Path) -> Any:
        """Return the parsed YAML of a shipped file, parsed again only when its text changed."""
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise _unreadable(path, exc) from None
        key = str(path)
        if self.texts.get(key) == text and key in self.data_of:
            return self.data_of[key]
        import yaml

        from draft_feedback.resources import load_yaml

        try:
            data = load_yaml(path)
        except (OSError, yaml.YAMLError) as exc:
            raise _unreadable(path, exc) from None
        self.texts[key], self.data_of[key] = text, data
        self.changed = True
        return data

    def compile(self, source: str, where: str, error: type[Exception]) -> re.Pattern[str]:
        """Return the compiled pattern, rebuilt from cached code when the cache has it."""
        key = (source, FLAGS)
        self.used.add(key)
        stored = self.codes.get(key)
        if stored is not None:
            try:
                return _from_code(source, stored)
            except Exception:  # noqa: BLE001 - a bad cache entry only means compiling again
                del self.codes[key]
        compiled = compile_checked(source, where, error)
        code = _code(source)
        if code is not None:
            self.codes[key] = code
            self.changed = True
        return compiled

    def snapshot(self) -> dict[str, Any]:
        """Return what to store: only the patterns this run used, so the cache never grows."""
        return {"key": engine_key(), "texts": self.texts, "data": self.data_of,
                "codes": {k: v for k, v in self.codes.items() if k in self.used}}


def _unreadable(path: Path, exc: BaseException) -> Exception:
    from draft_feedback.errors import Failure

    return Failure(f"{path}: cannot read the built-in tone rules ({exc}); reinstall draft-feedback")


def _code(source: str) -> tuple[Any, ...] | None:
    """Return the engine's compiled form of a pattern, or None where it cannot be had."""
    try:
        from re import _compiler, _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(source, FLAGS)
        code = _compiler._code(parsed, FLAGS)
        groupindex = dict(parsed.state.groupdict)
        indexgroup = [None] * parsed.state.groups
        for name, index in groupindex.items():
            indexgroup[index] = name
        return (int(FLAGS | parsed.state.flags), [int(c) for c in code], parsed.state.groups - 1, groupindex,
                tuple(indexgroup))
    except Exception:  # noqa: BLE001 - another engine: compile every run instead
        return None


def _from_code(source: str, stored: tuple[Any, ...]) -> re.Pattern[str]:
    import _sre

    flags, code, groups, groupindex, indexgroup = stored
    return _sre.compile(source, flags, code, groups, groupindex, indexgroup)  # type: ignore


@contextmanager
def cached() -> Iterator[Compiler]:
    """Yield a Compiler primed from the cache file; store what it compiled afresh."""
    import marshal

    try:
        path: Path | None = cache_path()
    except Exception:  # noqa: BLE001 - no cache folder: compile every time
        path = None
    stored = None
    if path is not None:
        try:
            loaded = marshal.loads(path.read_bytes())
            if isinstance(loaded, dict) and loaded.get("key") == engine_key():
                stored = loaded
        except Exception:  # noqa: BLE001 - missing, truncated or foreign: start afresh
            stored = None
    compiler = Compiler(stored)
    yield compiler
    if path is None or not (compiler.changed or len(compiler.codes) != len(compiler.used)):
        return
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(marshal.dumps(compiler.snapshot()))
        os.replace(temporary, path)
    except Exception:  # noqa: BLE001 - a cache that cannot be written only costs time
        try:
            temporary.unlink()
        except Exception:  # noqa: BLE001
            pass
