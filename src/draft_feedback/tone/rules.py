"""Tone rules as data: the built-in rules (templates/tone_rules.yaml) and the user's own."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from draft_feedback.errors import BadInput, Failure
from draft_feedback.resources import builtin_dir, load_yaml

RULES_FILE = "tone_rules.yaml"
SEVERITIES = ("error", "warning")
KINDS = ("pattern", "shouting", "too-many-questions", "too-many-words", "model")
DEFAULT_TRAP = "custom"
EXCERPT_CHARS = 80
MODEL_PREFIX = "model-"

_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_EXTRA_REQUIRED = ("id", "pattern", "severity", "message", "suggestion")
_EXTRA_KEYS = (*_EXTRA_REQUIRED, "trap")
_BUILTIN_KEYS = frozenset(
    {"id", "trap", "severity", "message", "suggestion", "kind", "patterns", "unless", "allow",
     "emphasis"}
)
_SCOPE_KEYS = frozenset({"negated_request", "question_frame", "question_traps"})


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
    # Where a user's rule came from ("config.yaml: tone.rules[0] (id 'x')"); "" when built in.
    origin: str = ""


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


@dataclass(frozen=True)
class Scope:
    """Where a built-in rule's match does not count, whichever rule it is."""

    # A polite negation before the match: "Please don't feel you have to reply".
    negated_request: re.Pattern[str]
    # A question that opens like a request: "Is there a course you think I should consider?"
    question_frame: re.Pattern[str]
    # The traps that a question of that shape takes back (an assertion, not a demand).
    question_traps: frozenset[str]


def builtin_rules() -> tuple[Rule, ...]:
    """Return the built-in rules, parsed once per process."""
    return _builtin()[0]


def builtin_scope() -> Scope:
    """Return the negation and question scope of the built-in rules."""
    return _builtin()[1]


@functools.lru_cache(maxsize=1)
def _builtin() -> tuple[tuple[Rule, ...], Scope]:
    from draft_feedback.tone import patterns

    with patterns.cached() as compiled:
        return _parse_builtin(compiled)


def _parse_builtin(compiled: Any) -> tuple[tuple[Rule, ...], Scope]:
    path = rules_path()
    data = compiled.data(path)
    items = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise Failure(f"{path}: no 'rules' list; reinstall draft-feedback")
    rules = tuple(_builtin_rule(item, f"{path}: rules[{i}]", compiled)
                  for i, item in enumerate(items))
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise Failure(f"{path}: duplicate rule ids: {', '.join(dupes)}")
    scope = data.get("scope")
    if not isinstance(scope, dict) or set(scope) != _SCOPE_KEYS:
        raise Failure(f"{path}: scope must have the keys " + ", ".join(sorted(_SCOPE_KEYS)))
    traps = scope["question_traps"]
    if not isinstance(traps, list) or not all(isinstance(t, str) for t in traps):
        raise Failure(f"{path}: scope.question_traps must be a list of traps")
    return rules, Scope(
        negated_request=compiled.compile(str(scope["negated_request"]),
                                         f"{path}: scope.negated_request", Failure),
        question_frame=compiled.compile(str(scope["question_frame"]),
                                        f"{path}: scope.question_frame", Failure),
        question_traps=frozenset(traps),
    )


def _builtin_rule(item: Any, where: str, compiled: Any) -> Rule:
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
        pattern = compiled.compile("|".join(f"(?:{p})" for p in parts), where, Failure)
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
        unless=compiled.compile(unless, f"{where}: unless", Failure) if unless else None,
        allow=frozenset(str(a).upper() for a in allow),
        emphasis=frozenset(str(a).upper() for a in emphasis),
    )


def _compile(source: str, where: str, error: type[Exception]) -> re.Pattern[str]:
    from draft_feedback.tone.patterns import compile_checked

    return compile_checked(source, where, error)


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
        pattern=_compile(str(raw["pattern"]), where, BadInput),
        origin=where,
    )


