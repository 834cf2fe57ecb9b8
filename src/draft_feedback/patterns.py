"""Compiled regular expressions kept in the cache folder, so fixed patterns are not recompiled.

Python's `re` spends most of a pattern's cost turning its text into the engine's code; matching
then runs on that code alone. A pickled pattern is compiled again when it is loaded, so this
module keeps the code itself (a list of integers, with the group names) written with marshal,
and gives it back to the engine's own constructor. An entry is used only when everything that
decides the code is the same: the interpreter's build, the engine's version and code size, and
the exact pattern text and flags. Before an entry is written, the pattern rebuilt from it must
equal a fresh `re.compile`; any fault, in reading or in rebuilding, means compiling as usual.
A folder that cannot be read or written makes the first use slower, never a failure.
"""

from __future__ import annotations

import marshal
import re
import sys
from typing import Any

from draft_feedback import cache

KIND = "re"
FORMAT = b"compiled patterns 1"

# One entry: the flags the engine settled on, its code, the group count, the named groups both
# ways. Exactly the arguments that re's own compiler hands to _sre.compile.
Entry = tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]


def build_key() -> bytes:
    """Identify what decides a pattern's code: this interpreter's build and its regex engine."""
    import _sre

    parts = (sys.version, sys.implementation.cache_tag or "", str(_sre.MAGIC),
             str(_sre.CODESIZE), str(getattr(_sre, "MAXREPEAT", "")),
             str(getattr(_sre, "MAXGROUPS", "")))
    return "\0".join(parts).encode()


class PatternCache:
    """Compile patterns through a named entry of the cache folder, and keep what was compiled."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._kept: dict[tuple[str, int], Entry] | None = None
        self._used: dict[tuple[str, int], Entry] = {}
        self._missed = False
        self.reused = 0  # patterns given back from kept code rather than compiled

    def compile(self, source: str, flags: int = 0) -> re.Pattern[str]:
        """Return `re.compile(source, flags)`, from the kept code when there is any."""
        flags = int(flags)
        key = (source, flags)
        entry = self._load().get(key)
        if entry is not None:
            try:
                compiled = _rebuild(source, entry)
            except Exception:  # any fault in a kept entry means compiling afresh
                compiled = None
            if compiled is not None:
                self._used[key] = entry
                self.reused += 1
                return compiled
        compiled = re.compile(source, flags)  # raises re.error as usual
        self._missed = True
        try:
            entry = _entry(source, flags)
            if _rebuild(source, entry) == compiled:
                self._used[key] = entry
        except Exception:  # an engine this module does not know: no caching
            pass
        return compiled

    def save(self) -> None:
        """Write the patterns compiled through this cache, if any had to be compiled afresh."""
        if not self._missed or not self._used:
            return
        try:
            payload = marshal.dumps((build_key(), dict(self._used)))
        except (ValueError, TypeError):
            return
        cache.write(KIND, self._file(), cache.digest(FORMAT, payload).encode() + payload)
        self._missed = False

    def _file(self) -> str:
        return f"{self.name}-{cache.digest(FORMAT, build_key())}.marshal"

    def _load(self) -> dict[tuple[str, int], Entry]:
        if self._kept is None:
            self._kept = {}
            try:
                data = cache.read(KIND, self._file())
                if data is not None:
                    self._kept = _parse(data)
            except Exception:  # a damaged or foreign file is ignored
                self._kept = {}
        return self._kept


def _parse(data: bytes) -> dict[tuple[str, int], Entry]:
    # The file starts with a digest of its payload: a file cut short or altered is not read.
    check, payload = data[:32], data[32:]
    if check != cache.digest(FORMAT, payload).encode():
        return {}
    key, entries = marshal.loads(payload)
    if key != build_key() or not isinstance(entries, dict):
        return {}
    return entries


def _entry(source: str, flags: int) -> Entry:
    """Compile a pattern as re's compiler does, stopping before the engine's constructor."""
    from re import _compiler, _parser  # type: ignore[attr-defined]

    parsed = _parser.parse(source, flags)
    code = _compiler._code(parsed, flags)
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for group_name, index in groupindex.items():
        indexgroup[index] = group_name
    # Plain ints: the compiler's opcodes and flags are int subclasses, which marshal refuses.
    return (int(flags | parsed.state.flags), [int(op) for op in code],
            int(parsed.state.groups) - 1, groupindex, tuple(indexgroup))


def _rebuild(source: str, entry: Any) -> re.Pattern[str]:
    import _sre

    final_flags, code, groups, groupindex, indexgroup = entry
    compiled: re.Pattern[str] = _sre.compile(source, final_flags, code, groups, groupindex,
                                             indexgroup)
    return compiled
