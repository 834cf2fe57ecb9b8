"""The tone check: rules as data (templates/tone_rules.yaml) and check(text) -> [Finding]."""

from __future__ import annotations

import bisect
import functools
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from draft_feedback.errors import BadInput, Failure
from draft_feedback.resources import builtin_dir, load_data

if TYPE_CHECKING:
    from draft_feedback.patterns import PatternCache

RULES_FILE = "tone_rules.yaml"
SEVERITIES = ("error", "warning")
KINDS = ("pattern", "shouting", "too-many-questions", "too-many-words")
EXCERPT_CHARS = 80
DEFAULT_TRAP = "custom"

_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_EXTRA_REQUIRED = ("id", "pattern", "severity", "message", "suggestion")
_EXTRA_KEYS = (*_EXTRA_REQUIRED, "trap")
_BUILTIN_KEYS = frozenset(
    {"id", "trap", "severity", "message", "suggestion", "kind", "patterns", "unless", "allow",
     "emphasis"}
)
# Phones and word processors turn quotes curly; the rules are written with straight ones.
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_SENTENCE_END = re.compile(r"[.?!\n]")
_WORD = re.compile(r"\w+")
_TOKEN = re.compile(r"\S+")
_QUESTION = re.compile(r"\?[?!]*")
# Contractions typed without the apostrophe ("didnt", "im"): the rules are written with it.
_BARE_CONTRACTION = re.compile(
    r"\b(?:(?:did|does|do|was|were|is|are|has|have|had|could|should|would|must|need|ca|wo)(?=nt\b)"
    r"|i(?=m\b|ve\b)|(?:you|they)(?=re\b|ve\b)|(?:that|what|there|who)(?=s\b))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Rule:
    """One tone rule: a pattern (or a counting kind) with what to say when it matches."""

    id: str
    trap: str
    severity: str
    message: str
    suggestion: str
    pattern: re.Pattern[str] | None
    kind: str = "pattern"
    # A match is dropped when its sentence matches this (negations like "not unfair at all").
    unless: re.Pattern[str] | None = None
    # For the shouting kind: capitalised words that are acronyms, not raised voices.
    allow: frozenset[str] = frozenset()
    # For the shouting kind: everyday words that are shouting even alone ("I was NEVER told").
    emphasis: frozenset[str] = frozenset()
    # A user's rule: its pattern is the `regex` engine's, stopped after this many seconds.
    timeout: float | None = None


@dataclass(frozen=True)
class Finding:
    """One place in the text where a rule matched."""

    rule: str
    trap: str
    severity: str
    line: int
    column: int
    excerpt: str
    message: str
    suggestion: str

    def to_dict(self) -> dict[str, object]:
        """Return the FINDING object of the JSON record."""
        return {
            "rule": self.rule,
            "trap": self.trap,
            "severity": self.severity,
            "line": self.line,
            "column": self.column,
            "excerpt": self.excerpt,
            "message": self.message,
            "suggestion": self.suggestion,
        }


def rules_path() -> Path:
    """Return the path of the built-in rules file."""
    return builtin_dir() / RULES_FILE


@functools.lru_cache(maxsize=1)
def builtin_rules() -> tuple[Rule, ...]:
    """Return the built-in rules, parsed once per process."""
    from draft_feedback.patterns import PatternCache

    path = rules_path()
    try:
        data = load_data(path)  # a JSON copy in the cache folder, checked against the YAML
    except Exception as exc:
        # PyYAML is imported only when the YAML itself had to be read.
        yaml = sys.modules.get("yaml")
        if not isinstance(exc, OSError) and (
                yaml is None or not isinstance(exc, yaml.YAMLError)):
            raise
        raise Failure(f"{path}: cannot read the built-in tone rules ({exc}); "
                      "reinstall draft-feedback") from None
    items = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise Failure(f"{path}: no 'rules' list; reinstall draft-feedback")
    # Compiling the rules' patterns is most of their cost; their compiled code is kept.
    patterns = PatternCache("tone-rules")
    rules = tuple(_builtin_rule(item, f"{path}: rules[{i}]", patterns)
                  for i, item in enumerate(items))
    patterns.save()
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise Failure(f"{path}: duplicate rule ids: {', '.join(dupes)}")
    return rules


def _builtin_rule(item: Any, where: str, patterns: PatternCache | None = None) -> Rule:
    # The file ships with the package, so a fault here is ours: Failure, not BadInput.
    if not isinstance(item, dict):
        raise Failure(f"{where}: expected a mapping")
    unknown = sorted(set(item) - _BUILTIN_KEYS)
    if unknown:
        raise Failure(f"{where}: unknown key {unknown[0]!r}")
    texts = {}
    for key in ("id", "trap", "severity", "message", "suggestion"):
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            raise Failure(f"{where}: {key} must be a non-empty string")
        texts[key] = value.strip()
    where = f"{where} (id {texts['id']!r})"
    kind = item.get("kind", "pattern")
    if kind not in KINDS or texts["severity"] not in SEVERITIES:
        raise Failure(f"{where}: unknown kind or severity")
    pattern = None
    if kind == "pattern":
        parts = item.get("patterns")
        if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
            raise Failure(f"{where}: patterns must be a non-empty list of strings")
        pattern = _compile("|".join(f"(?:{p})" for p in parts), where, Failure, patterns)
    unless = item.get("unless")
    allow = item.get("allow") or []
    emphasis = item.get("emphasis") or []
    return Rule(
        id=texts["id"],
        trap=texts["trap"],
        severity=texts["severity"],
        message=texts["message"],
        suggestion=texts["suggestion"],
        pattern=pattern,
        kind=kind,
        unless=_compile(unless, f"{where}: unless", Failure, patterns) if unless else None,
        allow=frozenset(str(a).upper() for a in allow),
        emphasis=frozenset(str(a).upper() for a in emphasis),
    )


def _compile(source: str, where: str, error: type[Exception],
             patterns: PatternCache | None = None) -> re.Pattern[str]:
    try:
        if patterns is not None:
            compiled = patterns.compile(source, re.IGNORECASE)
        else:
            compiled = re.compile(source, re.IGNORECASE)
    except re.error as exc:
        raise error(f"{where}: pattern is not a valid regular expression: {exc}") from None
    if compiled.search("") is not None:
        # An empty match would flag every position of every text.
        raise error(f"{where}: pattern matches empty text; make it match at least one character")
    return compiled


def load_rules(extra: Sequence[Mapping[str, object]] = (), disable: Iterable[str] = (),
               source: str = "config") -> tuple[Rule, ...]:
    """Return the built-in rules minus the ids in `disable`, plus the user's `extra` rules."""
    builtin = builtin_rules()
    if isinstance(disable, str):
        disable = (disable,)
    disabled = set()
    known = {r.id for r in builtin}
    # workflow.py passes "<file>: tone"; the bare default names the config itself.
    prefix = f"{source}." if source.endswith("tone") else f"{source}: tone."
    for rule_id in disable:
        if rule_id not in known:
            raise BadInput(f"{prefix}disable: unknown rule id {rule_id!r}; valid ids: "
                           + ", ".join(sorted(known)))
        disabled.add(rule_id)
    if not disabled and not extra:
        return builtin
    rules = [r for r in builtin if r.id not in disabled]
    taken = {r.id for r in rules}
    for index, raw in enumerate(extra):
        rule = _extra_rule(raw, f"{prefix}rules[{index}]")
        if rule.id in taken:
            raise BadInput(f"{prefix}rules[{index}] (id {rule.id!r}): id is already used by "
                           "another rule; choose a new id, or disable the built-in one first")
        taken.add(rule.id)
        rules.append(rule)
    return tuple(rules)


def _extra_rule(raw: object, where: str) -> Rule:
    if not isinstance(raw, Mapping):
        raise BadInput(f"{where}: expected a mapping with the keys " + ", ".join(_EXTRA_KEYS))
    rule_id = raw.get("id")
    if isinstance(rule_id, str) and rule_id:
        where = f"{where} (id {rule_id!r})"
    for key in raw:
        if key not in _EXTRA_KEYS:
            raise BadInput(f"{where}: unknown key {key!r}; allowed keys: " + ", ".join(_EXTRA_KEYS))
    for key in _EXTRA_REQUIRED:
        if key not in raw:
            raise BadInput(f"{where}: missing key {key!r}")
    texts = {}
    for key in _EXTRA_KEYS:
        value = raw.get(key, DEFAULT_TRAP)
        if not isinstance(value, str) or not value.strip():
            raise BadInput(f"{where}: {key} must be a non-empty text")
        texts[key] = value.strip()
    if not _ID.fullmatch(texts["id"]):
        raise BadInput(f"{where}: id must be kebab-case (lower-case letters, digits and hyphens), "
                       "for example 'no-sorry'")
    if texts["severity"] not in SEVERITIES:
        raise BadInput(f"{where}: severity must be 'error' or 'warning', not {texts['severity']!r}")
    return Rule(
        id=texts["id"],
        trap=texts["trap"],
        severity=texts["severity"],
        message=texts["message"],
        suggestion=texts["suggestion"],
        pattern=_compile_bounded(str(raw["pattern"]), where),
        timeout=USER_RULE_SECONDS,
    )


# A user's pattern may backtrack without end, as ^(a+)+$ does with Python's re; the regex engine
# (same syntax, a time limit per search) stops it, and the rule is refused by name.
USER_RULE_SECONDS = 0.25


def _compile_bounded(source: str, where: str) -> Any:
    import regex

    try:
        compiled = regex.compile(source, regex.IGNORECASE | regex.VERSION0)
        empty = compiled.search("", timeout=USER_RULE_SECONDS)
    except regex.error as exc:
        raise BadInput(f"{where}: pattern is not a valid regular expression: {exc}") from None
    except TimeoutError:
        empty = None
    if empty is not None:
        raise BadInput(f"{where}: pattern matches empty text; make it match at least one "
                       "character")
    return compiled


class _Text:
    """The text as the rules read it, with a map back to lines and columns of the original."""

    def __init__(self, original: str) -> None:
        self.original = original
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", original)]
        chars: list[str] = []
        where: list[int] = []
        pending = ""  # separator owed before the next kept character: "", " " or "\n"
        pending_at = 0
        for number, start in enumerate(self.line_starts):
            end = self.line_starts[number + 1] - 1 if number + 1 < len(self.line_starts) else None
            line = original[start:end].rstrip("\r")
            stripped = line.strip()
            # Quoted lines are the other person's words; a blank line ends a paragraph.
            if not stripped or stripped.startswith(">"):
                if chars:
                    pending, pending_at = "\n", start
                continue
            for offset, char in enumerate(line):
                if char.isspace():
                    if chars and not pending:
                        pending, pending_at = " ", start + offset
                    continue
                if pending:
                    chars.append(pending)
                    where.append(pending_at)
                    pending = ""
                chars.append(char)
                where.append(start + offset)
            if chars and not pending:
                # Within a paragraph a line break is just a space: wrapped phrases still match.
                pending, pending_at = " ", start + len(line)
        self.text, self.where = _apostrophes("".join(chars).translate(_QUOTES), where)
        # Where sentences end, found once: looking them up per match stays fast on long texts.
        self.ends = [m.start() for m in _SENTENCE_END.finditer(self.text)]

    def position(self, index: int) -> tuple[int, int]:
        """Return the 1-based line and column of a character of the read text."""
        offset = self.where[index] if index < len(self.where) else len(self.original)
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def excerpt(self, start: int, end: int) -> str:
        """Return the original wording of a span, on one line and trimmed to a readable size."""
        if end <= start:
            return ""
        raw = self.original[self.where[start]:self.where[end - 1] + 1]
        text = " ".join(line.lstrip(">").strip() for line in raw.splitlines())
        text = " ".join(text.split())
        if len(text) > EXCERPT_CHARS:
            text = text[:EXCERPT_CHARS - 3].rstrip() + "..."
        return text

    def sentence(self, start: int, end: int) -> tuple[int, int]:
        """Return the bounds of the sentence around a span, with its closing punctuation."""
        before = bisect.bisect_left(self.ends, start)
        left = self.ends[before - 1] + 1 if before else 0
        while left < start and self.text[left].isspace():
            left += 1
        after = bisect.bisect_left(self.ends, end)
        if after == len(self.ends):
            return left, len(self.text)
        stop = self.ends[after]
        return left, stop if self.text[stop] == "\n" else stop + 1


def _apostrophes(text: str, where: list[int]) -> tuple[str, list[int]]:
    """Put the apostrophe back into bare contractions, keeping the map to the original."""
    parts: list[str] = []
    mapped: list[int] = []
    last = 0
    for match in _BARE_CONTRACTION.finditer(text):
        # "didnt" -> "didn't": the apostrophe goes before the t; "im" -> "i'm": after the head.
        cut = match.end() + 1 if text[match.end():match.end() + 2].lower() == "nt" else match.end()
        parts.append(text[last:cut])
        mapped.extend(where[last:cut])
        parts.append("'")
        mapped.append(where[cut])
        last = cut
    if not parts:
        return text, where
    parts.append(text[last:])
    mapped.extend(where[last:])
    return "".join(parts), mapped


def check(text: str, rules: Sequence[Rule] | None = None, *, max_questions: int = 3,
          max_words: int = 180) -> list[Finding]:
    """Tone-check a text; return the findings sorted by line and column."""
    if max_questions < 0 or max_words < 0:
        raise ValueError("max_questions and max_words must not be negative")
    if rules is None:
        rules = load_rules()
    read = _Text(text)
    found: list[tuple[int, int, int, Finding]] = []
    for order, rule in enumerate(rules):
        for start, end, message in _matches(rule, read, max_questions, max_words):
            line, column = read.position(start)
            finding = Finding(
                rule=rule.id,
                trap=rule.trap,
                severity=rule.severity,
                line=line,
                column=column,
                excerpt=read.excerpt(start, end),
                message=message,
                suggestion=rule.suggestion,
            )
            found.append((line, column, order, finding))
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found]


def _matches(rule: Rule, read: _Text, max_questions: int,
             max_words: int) -> Iterable[tuple[int, int, str]]:
    if rule.kind == "shouting":
        spans = _shouting(read.text, rule.allow, rule.emphasis)
        yield from ((start, end, rule.message) for start, end in spans)
    elif rule.kind == "too-many-questions":
        yield from _over_limit(rule, read, _QUESTION, max_questions)
    elif rule.kind == "too-many-words":
        yield from _over_limit(rule, read, _TOKEN, max_words)
    elif rule.timeout is not None:
        bounded: Any = rule.pattern  # a pattern of the regex engine (see _compile_bounded)
        try:
            for match in bounded.finditer(read.text, timeout=rule.timeout):
                if match.end() > match.start():
                    yield match.start(), match.end(), rule.message
        except TimeoutError:
            raise BadInput(
                f"tone rule {rule.id!r} from your config was stopped after {rule.timeout} s on "
                f"a text of {len(read.text):,} characters: its pattern backtracks without end "
                "(a repeat inside a repeat, such as (a+)+). Rewrite its pattern under "
                "tone.rules, or remove the rule; nothing was changed.") from None
    elif rule.pattern is not None:
        excused: dict[tuple[int, int], bool] = {}  # per sentence, so each is searched once
        for match in rule.pattern.finditer(read.text):
            start, end = match.span()
            if end == start:
                continue
            if rule.unless is not None:
                bounds = read.sentence(start, end)
                if bounds not in excused:
                    excused[bounds] = rule.unless.search(read.text, *bounds) is not None
                if excused[bounds]:
                    continue
            yield start, end, rule.message


def _over_limit(rule: Rule, read: _Text, unit: re.Pattern[str],
                limit: int) -> Iterable[tuple[int, int, str]]:
    # A word is a run of non-spaces with a letter or digit in it: a lone dash is not a word.
    units = [m for m in unit.finditer(read.text) if unit is not _TOKEN or _has_alnum(m.group())]
    if len(units) > limit:
        # Point at the first unit past the limit: that is where the email should stop.
        first_over = units[limit]
        left, right = read.sentence(first_over.start(), first_over.end())
        if unit is _QUESTION:
            right = first_over.end()
        yield left, right, rule.message.format(count=len(units), limit=limit)


def _has_alnum(token: str) -> bool:
    return any(char.isalnum() for char in token)


def _shouting(text: str, allow: frozenset[str],
              emphasis: frozenset[str]) -> Iterable[tuple[int, int]]:
    # A run is consecutive words in capitals; allowed acronyms and single capitals ("I", "A")
    # neither count nor break it. Two counted words, one of three letters or more, is shouting;
    # so is one everyday word of emphasis, which is never an acronym.
    run: list[re.Match[str]] = []
    previous_end = 0
    for match in _WORD.finditer(text):
        word = match.group()
        if "\n" in text[previous_end:match.start()]:
            yield from _shouted_run(run, allow, emphasis)
            run = []
        previous_end = match.end()
        if word.isalpha() and word.isupper():
            run.append(match)
        else:
            yield from _shouted_run(run, allow, emphasis)
            run = []
    yield from _shouted_run(run, allow, emphasis)


def _shouted_run(run: list[re.Match[str]], allow: frozenset[str],
                 emphasis: frozenset[str]) -> Iterable[tuple[int, int]]:
    counted = [m for m in run if len(m.group()) > 1 and m.group() not in allow]
    loud = len(counted) >= 2 and any(len(m.group()) >= 3 for m in counted)
    if loud or any(m.group() in emphasis for m in counted):
        yield counted[0].start(), counted[-1].end()
