"""The tone check: rules as data (templates/tone_rules.yaml) and check(text) -> [Finding]."""

from __future__ import annotations

import bisect
import functools
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from draft_feedback.errors import BadInput, Failure
from draft_feedback.patterns import PatternCache, Scanner, Starts, TextIndex, compile_kept
from draft_feedback.resources import builtin_dir, load_data

RULES_FILE = "tone_rules.yaml"
SEVERITIES = ("error", "warning")
KINDS = ("pattern", "shouting", "too-many-questions", "too-many-words")
EXCERPT_CHARS = 80
DEFAULT_TRAP = "custom"

_ID = compile_kept(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_EXTRA_REQUIRED = ("id", "pattern", "severity", "message", "suggestion")
_EXTRA_KEYS = (*_EXTRA_REQUIRED, "trap")
_BUILTIN_KEYS = frozenset(
    {"id", "trap", "severity", "message", "suggestion", "kind", "patterns", "unless", "allow",
     "emphasis"}
)
# Phones and word processors turn quotes curly; the rules are written with straight ones.
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_SENTENCE_END = compile_kept(r"[.?!\n]")
_WORD = compile_kept(r"\w+")
_TOKEN = compile_kept(r"\S+")
_QUESTION = compile_kept(r"\?[?!]*")
_ASCII_CAPITALS_WORD = compile_kept(r"\b[A-Z]{2,}\b")
# Contractions typed without the apostrophe ("didnt", "im"): the rules are written with it.
_BARE_CONTRACTION = compile_kept(
    r"\b(?:(?:did|does|do|was|were|is|are|has|have|had|could|should|would|must|need|ca|wo)(?=nt\b)"
    r"|(?:should|would|could|must|might)(?=ve\b)|we(?=ve\b)"
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
    # A built-in rule: where its pattern's matches can start (see patterns.starts_of).
    starts: Starts | None = None


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
    starts = None
    if kind == "pattern":
        parts = item.get("patterns")
        if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
            raise Failure(f"{where}: patterns must be a non-empty list of strings")
        pattern, starts = _compile("|".join(f"(?:{p})" for p in parts), where, Failure,
                                   patterns)
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
        unless=_compile(unless, f"{where}: unless", Failure, patterns)[0] if unless else None,
        allow=frozenset(str(a).upper() for a in allow),
        emphasis=frozenset(str(a).upper() for a in emphasis),
        starts=starts,
    )


def _compile(source: str, where: str, error: type[Exception],
             patterns: PatternCache | None = None) -> tuple[re.Pattern[str], Starts | None]:
    """Compile a built-in pattern; with its starts when it comes through the pattern cache."""
    starts = None
    try:
        if patterns is not None:
            scanner = patterns.scanner(source, re.IGNORECASE)
            compiled, starts = scanner.pattern, scanner.starts
        else:
            compiled = re.compile(source, re.IGNORECASE)
    except re.error as exc:
        raise error(f"{where}: pattern is not a valid regular expression: {exc}") from None
    if compiled.search("") is not None:
        # An empty match would flag every position of every text.
        raise error(f"{where}: pattern matches empty text; make it match at least one character")
    return compiled, starts


class RuleSet(tuple[Rule, ...]):
    """The rules to check with, and the traps the learned layer stays quiet on."""

    # Traps from `tone.disable: [model-<trap>]`; "model" alone silences the whole layer.
    quiet: frozenset[str] = frozenset()


# The learned layer's findings have rule ids "model-<trap>"; `tone.disable` takes them too.
LEARNED = "model"


def learned_ids() -> tuple[str, ...]:
    """Return the rule ids of the learned layer's findings, one per trap, and "model"."""
    from draft_feedback.tonemodel import TRAPS

    return (LEARNED, *(f"{LEARNED}-{trap}" for trap in TRAPS))


def load_rules(extra: Sequence[Mapping[str, object]] = (), disable: Iterable[str] = (),
               source: str = "config") -> tuple[Rule, ...]:
    """Return the built-in rules minus the ids in `disable`, plus the user's `extra` rules.

    `disable` may also name the learned layer's ids: "model-sarcasm" silences it for one trap,
    "model" for all of them.
    """
    builtin = builtin_rules()
    if isinstance(disable, str):
        disable = (disable,)
    disabled = set()
    quiet = set()
    known = {r.id for r in builtin}
    learned = learned_ids() if disable else ()
    # workflow.py passes "<file>: tone"; the bare default names the config itself.
    prefix = f"{source}." if source.endswith("tone") else f"{source}: tone."
    for rule_id in disable:
        if rule_id in learned:
            quiet.add(rule_id.removeprefix(LEARNED).removeprefix("-") or LEARNED)
            continue
        if rule_id not in known:
            raise BadInput(f"{prefix}disable: unknown rule id {rule_id!r}; valid ids: "
                           + ", ".join([*sorted(known), *learned]))
        disabled.add(rule_id)
    if not disabled and not extra and not quiet:
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
    chosen = RuleSet(rules)
    chosen.quiet = frozenset(quiet)
    return chosen


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
        pending = ""  # separator owed before the next kept run of text: "", " " or "\n"
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
            for run in _TOKEN.finditer(line):
                if pending:
                    chars.append(pending)
                    where.append(pending_at)
                left, right = run.span()
                chars.append(run.group())
                where.extend(range(start + left, start + right))
                # Spaces between runs, and a line break within a paragraph, are one space:
                # wrapped phrases still match.
                pending, pending_at = " ", start + right
        self.text, self.where = _apostrophes("".join(chars).translate(_QUOTES), where)
        # Where sentences end, found once: looking them up per match stays fast on long texts.
        self.ends = [m.start() for m in _SENTENCE_END.finditer(self.text)]

    @functools.cached_property
    def index(self) -> TextIndex:
        """The text indexed once for the built-in rules: each is tried where it can match."""
        return TextIndex(self.text)

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


# Where the learned layer cuts sentences: after a run of ., ! or ? (with a closing quote or
# bracket) before a space, and at every paragraph break.
_SENTENCE_CUT = compile_kept(r"[.!?]+[\"')\]]*(?=\s|$)|\n")
_LIST_NUMBER = compile_kept(r"(?:\d+|[a-z])[.)]\s+|[-*\u2022]\s+", re.IGNORECASE)
# A greeting, a sign-off or a list number is not a sentence the model can read.
MODEL_MIN_WORDS = 3


def _sentence_spans(read: _Text) -> list[tuple[int, int]]:
    """Return the (start, end) of each sentence of the read text the learned layer scores."""
    spans = []
    start = 0
    text = read.text
    for cut in [*_SENTENCE_CUT.finditer(text), None]:
        end = cut.end() if cut is not None else len(text)
        left, right = start, end
        while left < right and text[left].isspace():
            left += 1
        numbered = _LIST_NUMBER.match(text, left, right)
        if numbered:
            left = numbered.end()
        while right > left and text[right - 1].isspace():
            right -= 1
        if len(_WORD.findall(text, left, right)) >= MODEL_MIN_WORDS:
            spans.append((left, right))
        start = end
    return spans


def sentences(text: str) -> list[str]:
    """Return the sentences of a text as the learned layer reads them (for training)."""
    read = _Text(text)
    return [read.text[left:right] for left, right in _sentence_spans(read)]


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
          max_words: int = 180, learned: bool = True) -> list[Finding]:
    """Tone-check a text; return the findings sorted by line and column.

    The rules run first, one finding a sentence (an error before a warning, then the rule that
    comes first); then the learned layer reads each sentence no rule flagged and adds at most
    one warning (rule id "model-<trap>"). The length rules speak of the whole email and are
    kept besides. `learned=False` leaves the layer out.
    """
    if max_questions < 0 or max_words < 0:
        raise ValueError("max_questions and max_words must not be negative")
    if rules is None:
        rules = load_rules()
    read = _Text(text)
    found: list[tuple[int, int, int, Finding]] = []
    taken: list[int] = []  # where rule findings start: their sentences are the rules' to report
    best: dict[int, tuple[tuple[bool, int, int], tuple[int, int, int, Finding]]] = {}
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
            if rule.trap == "length":  # about the whole email, not one sentence's wording
                found.append((line, column, order, finding))
                continue
            taken.append(start)
            # A sentence is reported once: an error before a warning, then the rule that
            # comes first in the rules file (demands before traps before shouting).
            sentence = read.sentence(start, start)[0]
            rank = (rule.severity != "error", order, start)
            if sentence not in best or rank < best[sentence][0]:
                best[sentence] = (rank, (line, column, order, finding))
    found += [item for _, item in best.values()]
    quiet: frozenset[str] = getattr(rules, "quiet", frozenset())
    if learned and LEARNED not in quiet and read.text.strip():
        found += _learned(read, rules, taken, quiet, len(rules))
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found]


def _learned(read: _Text, rules: Sequence[Rule], taken: list[int], quiet: frozenset[str],
             order: int) -> list[tuple[int, int, int, Finding]]:
    """The learned layer's findings: one warning per sentence that no rule flagged."""
    from draft_feedback import tonemodel

    spans = _sentence_spans(read)
    if not spans:
        return []
    # A sentence that a built-in rule the user disabled would flag stays quiet: disabling
    # "demanding-why" should not bring "why didn't I" back as a learned finding.
    present = {id(rule) for rule in rules}
    for rule in builtin_rules():
        if id(rule) not in present and rule.kind == "pattern":
            taken += [start for start, _, _ in _matches(rule, read, 0, 0)]
    taken.sort()
    try:
        model = tonemodel.load()
    except (OSError, ValueError) as exc:
        raise Failure(f"{tonemodel.model_path()}: cannot read the tone model ({exc}); "
                      "reinstall draft-feedback") from None
    out = []
    for left, right in spans:
        first = bisect.bisect_left(taken, left)
        if first < len(taken) and taken[first] < right:
            continue
        trap = model.classify(read.text[left:right])
        if trap is None or trap in quiet:
            continue
        line, column = read.position(left)
        words = tonemodel.WORDS[trap]
        out.append((line, column, order, Finding(
            rule=f"{LEARNED}-{trap}", trap=trap, severity="warning", line=line, column=column,
            excerpt=read.excerpt(left, right), message=words[0], suggestion=words[1])))
    return out


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
        # The scanner searches the whole text itself when the rule's starts are not known.
        for match in Scanner(rule.pattern, rule.starts).finditer(read.index):
            start, end = match.span()
            if end == start:
                continue
            if rule.unless is not None:
                bounds = read.sentence(start, end)
                if bounds not in excused:
                    excused[bounds] = rule.unless.search(read.text, *bounds) is not None
                if excused[bounds]:
                    continue
            if _out_of_scope(rule, read, start, end):
                continue
            yield start, end, rule.message


# Negation and questions, for every built-in rule at once rather than rule by rule.
# A match is released when a negated request comes before it in its clause ("Please don't feel
# you have to reply", "I'm not asking you to reconsider", "there's no need to justify it").
_RELEASE = compile_kept(
    r"\bno\s+need\b"
    r"|\bnot\s+(?:at\s+all\s+)?(?:asking|expecting|trying|writing|looking|hoping|suggesting|"
    r"saying|requesting|here\s+to)\b"
    r"|(?:n't|\bnot|\bnever)\s+(?:\w+\s+)?(?:ask|asking|expect|expecting|want|wish|mean|"
    r"intend|trying|need|have\s+to|must)\b"
    r"|(?:n't|\bnot|\bnever)\s+(?:feel|think)\s+(?:that\s+)?(?:you|anyone)\s+"
    r"(?:have|has|need|must|should|owe)\b"
    r"|(?:n't|\bnot)\s+(?:think|believe|say|claim)\s+(?:that\s+)?I\s+(?:deserve|am\s+owed)\b",
    re.IGNORECASE)
_CLAUSE_BREAK = compile_kept(r"[,;:]|\b(?:but|although|though|yet)\b", re.IGNORECASE)
# A question put to the reader asks their view: "Is there a course you think I should
# consider?" is not mind-reading, "What should I change first?" is no should-statement.
# "Why" questions are left to the rules: they are how a demand is usually put.
_ASKING = compile_kept(r"(?:is|are|was|were|do|does|did|could|would|can|will|should|what|which|"
                       r"how|where|when|who|whom)\b", re.IGNORECASE)
_ASKED_TRAPS = frozenset({"mind-reading", "should-statements"})


def _out_of_scope(rule: Rule, read: _Text, start: int, end: int) -> bool:
    """True if a built-in rule's match sits under a negated request or in a question."""
    left, right = read.sentence(start, end)
    text = read.text
    for release in _RELEASE.finditer(text, left, end):
        if release.start() >= start:
            break
        if not _CLAUSE_BREAK.search(text, release.end(), start):
            return True
    if rule.trap in _ASKED_TRAPS and text[left:right].rstrip().endswith("?"):
        return _ASKING.match(text, left) is not None
    return False


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
    if text.isascii() and not _ASCII_CAPITALS_WORD.search(text):
        return  # no word of two capitals or more: nothing can count
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
