"""Compiled regular expressions kept in the cache folder, so fixed patterns are not recompiled.

Python's `re` spends most of a pattern's cost turning its text into the engine's code; matching
then runs on that code alone. A pickled pattern is compiled again when it is loaded, so this
module keeps the code itself (its integers as bytes, with the group names) written with marshal,
and gives it back to the engine's own constructor. An entry is used only when everything that
decides the code is the same: the interpreter's build, the engine's version and code size, and
the exact pattern text and flags. Before an entry is written, the pattern rebuilt from it must
equal a fresh `re.compile`; any fault, in reading or in rebuilding, means compiling as usual.
A folder that cannot be read or written makes the first use slower, never a failure.

With the code, an entry keeps where the pattern's matches can start (see `starts_of`), so that
a text searched by many patterns is read once into an index and each pattern is tried only at
the places it could match (`Scanner`), with the same matches as `finditer`.
"""

from __future__ import annotations

import marshal
import re
import sys
from binascii import crc32  # the CRC-32 of zlib; binascii comes with addresses.py anyway

from draft_feedback import cache

# typing costs a cron tick more than the patterns it reads from here (tick.py): checkers only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, Literal

KIND = "re"
FORMAT = b"compiled patterns 3, starts 5"  # change when starts_of reads differently

# Where a pattern's matches can start: every match begins with one of these texts (lower-cased,
# one to three characters), found either only at the start of a word or anywhere.
Starts = tuple[frozenset[str], frozenset[str]]

# One entry: the flags the engine settled on, its code, the group count, the named groups both
# ways (exactly the arguments that re's own compiler hands to _sre.compile), and its Starts or
# None when they cannot be told.
Entry = tuple[int, bytes, int, dict[str, int], tuple[str | None, ...], Starts | None]


def build_key() -> bytes:
    """Identify what decides a pattern's code: this interpreter's build and its regex engine."""
    import _sre

    parts = (sys.version, sys.implementation.cache_tag or "", str(_sre.MAGIC),
             str(_sre.CODESIZE), str(getattr(_sre, "MAXREPEAT", "")),
             str(getattr(_sre, "MAXGROUPS", "")))
    return "\0".join(parts).encode()


MAX_ENTRIES = 1000  # far more than the rules and modules hold; past it, keep one run's alone


def compile_kept(source: str, flags: int = 0) -> re.Pattern[str]:
    """`re.compile` for the fixed patterns of our modules, through one shared cache file.

    The file is read on the first call and written at exit if a pattern had to be compiled.
    """
    global _modules
    if _modules is None:
        import atexit

        _modules = PatternCache("module-patterns", starts=False)
        atexit.register(_modules.save)
    return _modules.compile(source, flags)


_modules: PatternCache | None = None


class PatternCache:
    """Compile patterns through a named entry of the cache folder, and keep what was compiled."""

    def __init__(self, name: str, starts: bool = True) -> None:
        self.name = name
        # Whether entries keep their starts: only a text searched by many patterns needs them,
        # and they are most of what loading an entry costs.
        self.starts = starts
        self._kept: dict[tuple[str, int], Entry] | None = None
        self._used: dict[tuple[str, int], Entry] = {}
        self._missed = False
        self.reused = 0  # patterns given back from kept code rather than compiled

    def compile(self, source: str, flags: int = 0) -> re.Pattern[str]:
        """Return `re.compile(source, flags)`, from the kept code when there is any."""
        return self.scanner(source, flags).pattern

    def scanner(self, source: str, flags: int = 0) -> Scanner:
        """Return a Scanner of `re.compile(source, flags)`, from the kept entry if there is one."""
        flags = int(flags)
        key = (source, flags)
        entry = self._load().get(key)
        if entry is not None:
            try:
                compiled = _rebuild(source, entry)
                starts = _checked_starts(entry[5])
            except Exception:  # any fault in a kept entry means compiling afresh
                compiled = None
            if compiled is not None:
                self._used[key] = entry
                self.reused += 1
                return Scanner(compiled, starts)
        compiled = re.compile(source, flags)  # raises re.error as usual
        self._missed = True
        starts = None
        try:
            entry = _entry(source, flags, self.starts)
            if _rebuild(source, entry) == compiled:
                self._used[key] = entry
                starts = entry[5]
        except Exception:  # an engine this module does not know: no caching, no index
            pass
        return Scanner(compiled, starts)

    def save(self) -> None:
        """Write the patterns compiled through this cache, if any had to be compiled afresh.

        Entries another run kept and this one did not use stay (a command uses some of a
        module's patterns, another command others), up to MAX_ENTRIES; past that, this run's.
        """
        if not self._missed or not self._used:
            return
        entries = {**(self._kept or {}), **self._used}
        if len(entries) > MAX_ENTRIES:
            entries = dict(self._used)
        try:
            payload = marshal.dumps((build_key(), entries))
        except (ValueError, TypeError):
            return
        cache.write(KIND, self._file(), checksum(payload) + payload)
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


def checksum(payload: bytes) -> bytes:
    """The 32 bytes a file starts with: a check of its payload (the format and a CRC-32).

    A file cut short or altered is not read. CRC-32 finds such damage as a digest would, in a
    fifth of the time: the rules' code is some 700 KB, read on every new draft.
    """
    return f"{cache.digest(FORMAT)[:24]}{crc32(payload):08x}".encode()


def _parse(data: bytes) -> dict[tuple[str, int], Entry]:
    check, payload = data[:32], data[32:]
    if check != checksum(payload):
        return {}
    key, entries = marshal.loads(payload)
    if key != build_key() or not isinstance(entries, dict):
        return {}
    return entries


def _entry(source: str, flags: int, find_starts: bool = True) -> Entry:
    """Compile a pattern as re's compiler does, stopping before the engine's constructor."""
    from re import _compiler, _parser  # type: ignore[attr-defined]

    parsed = _parser.parse(source, flags)
    final_flags = int(flags | parsed.state.flags)
    starts = (starts_of(parsed) if find_starts and not final_flags & (re.ASCII | re.LOCALE)
              else None)
    code = _compiler._code(parsed, flags)
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for group_name, index in groupindex.items():
        indexgroup[index] = group_name
    # The code as bytes of machine integers: read back in one step, not one int at a time.
    from array import array

    return (final_flags, array(_code_type(), code).tobytes(),
            int(parsed.state.groups) - 1, groupindex, tuple(indexgroup), starts)


def _code_type() -> Literal["I", "L", "Q"]:
    """The machine integer type (array and memoryview letter) as wide as the engine's code."""
    import _sre

    typecodes: tuple[Literal["I", "L", "Q"], ...] = ("I", "L", "Q")
    for typecode in typecodes:
        if memoryview(bytes(8)).cast(typecode).itemsize == _sre.CODESIZE:
            return typecode
    raise ValueError("no array type fits this engine's code")


def _rebuild(source: str, entry: Any) -> re.Pattern[str]:
    import _sre

    final_flags, data, groups, groupindex, indexgroup, _ = entry
    # memoryview rather than array: a cron tick that reads kept patterns loads no array module.
    code = memoryview(data).cast(_code_type()).tolist()
    compiled: re.Pattern[str] = _sre.compile(source, final_flags, code, groups, groupindex,
                                             indexgroup)
    return compiled


# --- where matches can start ---------------------------------------------------------------------

class _Fold(dict[int, int]):
    """How a text is folded for finding places, one character for one (the same length).

    Capitals become small letters, and so do the four other characters that an ASCII letter
    matches under IGNORECASE (the whole of Unicode was searched; tests/test_scanner.py searches
    it again). Every digit becomes 0 and every space a space, as a start reads \\d and \\s
    (and a literal digit or space) the same way. Anything else stays as it is.
    """

    def __missing__(self, code: int) -> int:
        char = chr(code)
        folded = 48 if char.isdecimal() else 32 if char.isspace() else code
        self[code] = folded
        return folded


_FOLD = _Fold({0x130: ord("i"), 0x131: ord("i"), 0x17F: ord("s"), 0x212A: ord("k")})
for _code in range(128):
    _FOLD[_code] = ord(chr(_code).lower()) if chr(_code).isalpha() else _FOLD[_code]
del _code
# The same for ASCII text, as bytes: translated in one step.
_ASCII_FOLD = bytes(_FOLD[code] for code in range(128)) + bytes(range(128, 256))


def fold(text: str) -> str:
    """Return the text folded for finding places (see _Fold)."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_FOLD).decode("ascii")
    return text.translate(_FOLD)


START_CHARS = 3  # the longest start kept: longer ones hardly narrow the places to try
_MOST_STARTS = 4096  # past this many, a pattern is simply searched
_END = ("end of a start",)  # marks where the walk must stop: what follows is not known


def _ascii_classes() -> dict[tuple[Any, Any], list[tuple[Any, int]]]:
    from re import _constants as c  # type: ignore[attr-defined]

    members = {c.CATEGORY_DIGIT: "0", c.CATEGORY_SPACE: " "}  # as the fold has them
    return {(c.CATEGORY, category): [(c.LITERAL, ord(char)) for char in chars]
            for category, chars in members.items()}


_CLASSES = _ascii_classes()


def starts_of(parsed: Any) -> Starts | None:
    """Tell where the matches of a parsed pattern can start, or None if that cannot be told.

    Walks the pattern from its start through literals, small character sets, alternatives and
    groups, skipping zero-width assertions, up to START_CHARS characters; anything else ends a
    start early. A start behind a word boundary (\\b) counts only at the start of a word.
    Every match of the pattern begins with one of the starts returned: it is a superset.
    """
    from re import _constants as c  # type: ignore[attr-defined]

    word: set[str] = set()
    anywhere: set[str] = set()

    def walk(items: list[Any], prefix: str, bounded: bool) -> bool:
        """Add the starts of items + what follows; False if a start cannot be told."""
        for index, item in enumerate(items):
            if len(prefix) >= START_CHARS or item is _END:
                break
            op, av = item
            if op is c.AT:
                if av in (c.AT_BOUNDARY, c.AT_UNI_BOUNDARY) and not prefix:
                    bounded = True
                continue
            if op in (c.ASSERT, c.ASSERT_NOT):
                continue  # a look-around reads without moving: the start is what follows
            rest = items[index + 1:]
            if op is c.SUBPATTERN:
                return walk(list(av[3]) + rest, prefix, bounded)
            if op is c.ATOMIC_GROUP:
                return walk(list(av) + rest, prefix, bounded)
            if op is c.BRANCH:
                return all(walk(list(alt) + rest, prefix, bounded) for alt in av[1])
            if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
                low, high, body = av
                # Once through the body, then what follows; or, when it repeats, the body alone
                # (the start ends where it does). An optional part may also be left out.
                entered = list(body) + (rest if high == 1 else [_END])
                return (low > 0 or walk(rest, prefix, bounded)) and walk(entered, prefix, bounded)
            if op is c.IN and any(part in _CLASSES for part in av):
                # \d and \s: every digit is 0 in the fold, every space a space.
                av = [member for part in av for member in _CLASSES.get(part, [part])]
            chars = _literal_chars(op, av, c)
            if chars is None:
                break
            if len(word) + len(anywhere) + len(chars) > _MOST_STARTS:
                return False
            return all(walk(rest, prefix + char, bounded) for char in chars)
        if not prefix:
            return False  # the pattern may match from any character, or match nothing
        on_word = bounded and (prefix[0].isalnum() or prefix[0] == "_")
        (word if on_word else anywhere).add(prefix)
        return True

    if not walk(list(parsed), "", False):
        return None
    return frozenset(word), frozenset(anywhere)


def _literal_chars(op: Any, av: Any, c: Any) -> list[str] | None:
    """The folded ASCII characters one pattern item matches, or None if not that simple."""
    if op is c.LITERAL:
        chars = [chr(av)]
    elif op is c.IN:
        chars = []
        for item_op, item in av:
            if item_op is c.LITERAL:
                chars.append(chr(item))
            elif item_op is c.RANGE and item[1] - item[0] < 64:
                chars.extend(chr(i) for i in range(item[0], item[1] + 1))
            else:
                return None  # a negated set, a class such as \\w: anything may start here
    else:
        return None
    if not all(char.isascii() for char in chars):
        return None
    return sorted({chr(_FOLD[ord(char)]) for char in chars})


def _checked_starts(value: Any) -> Starts | None:
    if value is None:
        return None
    word, anywhere = value
    both = word | anywhere  # (a TypeError too if either is not a set)
    if (not isinstance(word, frozenset) or not isinstance(anywhere, frozenset)
            or not 0 < min(map(len, both), default=1) <= max(map(len, both), default=1)
            <= START_CHARS):
        raise ValueError("damaged starts")
    return word, anywhere


class TextIndex:
    """A text read once for scanners: its fold, and where its words start by their first one
    to three characters."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.fold = folded = fold(text)
        starts = [match.start() for match in _WORD_START.finditer(folded)]
        # The text of a start (one to three characters) -> the places of the words it begins.
        words: dict[str, list[int]] = {}
        for size in range(1, START_CHARS + 1):
            for at in starts:
                start = folded[at:at + size]
                found = words.get(start)
                if found is None:
                    words[start] = [at]
                else:
                    found.append(at)
        self.words = words
        self._anywhere: dict[str, list[int]] = {}  # found on first asking, shared by rules

    def places(self, starts: Starts) -> list[int]:
        """Return, in order, every place of the text where one of the starts begins."""
        word, anywhere = starts
        words = self.words
        found: list[int] = []
        for start in words.keys() & word:
            found += words[start]
        for start in anywhere:
            places = self._anywhere.get(start)
            if places is None:
                places = self._anywhere[start] = self._find_all(start)
            found += places
        return sorted(set(found))

    def _find_all(self, start: str) -> list[int]:
        find = self.fold.find
        places = []
        at = find(start)
        while at >= 0:
            places.append(at)
            at = find(start, at + 1)
        return places


class Scanner:
    """A compiled pattern that knows where its matches can start.

    `finditer(index)` gives the same matches as `pattern.finditer(index.text)`, trying the
    pattern only at the places where one of its starts begins.
    """

    __slots__ = ("pattern", "starts")

    def __init__(self, pattern: re.Pattern[str], starts: Starts | None) -> None:
        self.pattern = pattern
        self.starts = starts

    def finditer(self, index: TextIndex) -> Iterator[re.Match[str]]:
        if self.starts is None:
            yield from self.pattern.finditer(index.text)
            return
        match_at = self.pattern.match
        text = index.text
        after = 0  # finditer's matches do not overlap: the next one starts at or after this
        for at in index.places(self.starts):
            if at < after:
                continue
            match = match_at(text, at)
            if match is not None:
                yield match
                after = match.end()


_WORD_START = compile_kept(r"\b\w")  # where TextIndex finds the words of a text
