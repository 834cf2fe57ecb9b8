"""The tone check: rules as data, a learned layer for what no phrase list covers, one check().

Rules (templates/tone_rules.yaml and the user's own) give precise findings with their own
messages; the learned layer (model.py) reads every sentence no rule flagged and names the trap
it most resembles, as a warning. Each sentence is reported once: by the surest rule, else by
the learned layer.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence

from draft_feedback.tone.reading import Text
from draft_feedback.tone.rules import (
    DEFAULT_TRAP,
    EXCERPT_CHARS,
    KINDS,
    MODEL_PREFIX,
    SEVERITIES,
    Finding,
    Rule,
    Scope,
    builtin_rules,
    builtin_scope,
    load_rules,
    rules_path,
)

__all__ = ["DEFAULT_TRAP", "EXCERPT_CHARS", "KINDS", "MODEL_PREFIX", "SEVERITIES", "Finding",
           "Rule", "Scope", "builtin_rules", "builtin_scope", "check", "load_rules", "rules_path",
           "USER_RULE_SECONDS"]

# A user's pattern that takes longer than this on one text is refused (catastrophic
# backtracking such as "^(a+)+$" would otherwise hang `check` and `new`).
USER_RULE_SECONDS = 1.0

_WORD = re.compile(r"\w+")
_TOKEN = re.compile(r"\S+")
_QUESTION = re.compile(r"\?[?!]*")
_WHOLE_TEXT = ("too-many-questions", "too-many-words")
_RANK = {"error": 0, "warning": 1}


def check(text: str, rules: Sequence[Rule] | None = None, *, max_questions: int = 3,
          max_words: int = 180, model: object | None = None) -> list[Finding]:
    """Tone-check a text; return the findings sorted by line and column.

    `model` is the learned layer to use (tone.model.Model); None means the shipped one. It
    runs only while the rules include its `model-<trap>` entries (tone.disable removes them).
    """
    if max_questions < 0 or max_words < 0:
        raise ValueError("max_questions and max_words must not be negative")
    if rules is None:
        rules = load_rules()
    read = Text(text)
    spans = read.sentences()
    lefts = [left for left, _ in spans]
    # Per sentence, the surest rule's finding: errors before warnings, then the rules' order.
    best: dict[int, tuple[int, int, int, int, Rule, str]] = {}
    whole: list[tuple[int, int, int, Rule, str]] = []
    learned: dict[str, Rule] = {}
    scope = builtin_scope() if any(not r.origin for r in rules) else None
    for order, rule in enumerate(rules):
        if rule.kind == "model":
            learned[rule.trap] = rule
            continue
        for start, end, message in _matches(rule, read, max_questions, max_words, scope):
            if rule.kind in _WHOLE_TEXT:
                whole.append((order, start, end, rule, message))
                continue
            index = max(bisect.bisect_right(lefts, start) - 1, 0)
            candidate = (_RANK[rule.severity], order, start, end, rule, message)
            if index not in best or candidate[:3] < best[index][:3]:
                best[index] = candidate
    found: list[tuple[int, int, int, Finding]] = []
    for _, order, start, end, rule, message in best.values():
        found.append(_finding(read, rule, start, end, message, order))
    for order, start, end, rule, message in whole:
        found.append(_finding(read, rule, start, end, message, order))
    if learned:
        from draft_feedback.tone import model as learned_layer

        scorer = model if model is not None else learned_layer.load()
        for index, (left, right) in enumerate(spans):
            # A list number ("1.") or a one-word line carries no tone of its own.
            if index in best or len(read.text[left:right].split()) < 3:
                continue
            verdict = scorer.classify(read.text[left:right])  # type: ignore[attr-defined]
            if verdict is None or verdict[0] not in learned:
                continue
            rule = learned[verdict[0]]
            found.append(_finding(read, rule, left, right, rule.message, len(rules)))
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found]


def _finding(read: Text, rule: Rule, start: int, end: int, message: str,
             order: int) -> tuple[int, int, int, Finding]:
    line, column = read.position(start)
    return line, column, order, Finding(
        rule=rule.id,
        trap=rule.trap,
        severity=rule.severity,
        line=line,
        column=column,
        excerpt=read.excerpt(start, end, EXCERPT_CHARS),
        message=message,
        suggestion=rule.suggestion,
    )


def _matches(rule: Rule, read: Text, max_questions: int, max_words: int,
             scope: Scope | None) -> Iterable[tuple[int, int, str]]:
    if rule.kind == "shouting":
        spans = _shouting(read.text, rule.allow, rule.emphasis)
        yield from ((start, end, rule.message) for start, end in spans)
    elif rule.kind == "too-many-questions":
        yield from _over_limit(rule, read, _QUESTION, max_questions)
    elif rule.kind == "too-many-words":
        yield from _over_limit(rule, read, _TOKEN, max_words)
    elif rule.pattern is not None and rule.origin:
        yield from _bounded(rule, read)
    elif rule.pattern is not None:
        excused: dict[tuple[int, int], bool] = {}  # per sentence, so each is searched once
        for match in rule.pattern.finditer(read.text):
            start, end = match.span()
            if end == start:
                continue
            bounds = read.sentence(start, end)
            if rule.unless is not None:
                if bounds not in excused:
                    excused[bounds] = rule.unless.search(read.text, *bounds) is not None
                if excused[bounds]:
                    continue
            if scope is not None and _out_of_scope(rule, read.text, bounds, start, scope):
                continue
            yield start, end, rule.message


def _out_of_scope(rule: Rule, text: str, bounds: tuple[int, int], start: int,
                  scope: Scope) -> bool:
    """True when a polite negation or a request-shaped question takes the match back."""
    left, right = bounds
    for cue in scope.negated_request.finditer(text, left, start):
        if cue.end() <= start:
            return True
    if rule.trap in scope.question_traps and text[left:right].rstrip().endswith("?"):
        return scope.question_frame.match(text, left, right) is not None
    return False


def _bounded(rule: Rule, read: Text) -> list[tuple[int, int, str]]:
    """Match a user's rule under a time limit; a rule that runs away is refused by name."""
    from draft_feedback.deadline import deadline
    from draft_feedback.errors import BadInput

    assert rule.pattern is not None

    def refuse() -> BaseException:
        return BadInput(f"{rule.origin}: pattern took longer than {USER_RULE_SECONDS:g} s on "
                        "this text, so it was stopped; nested repeats such as (a+)+ make an "
                        "expression slow: simplify the pattern or disable the rule")

    with deadline(USER_RULE_SECONDS, refuse):
        return [(m.start(), m.end(), rule.message) for m in rule.pattern.finditer(read.text)
                if m.end() > m.start()]


def _over_limit(rule: Rule, read: Text, unit: re.Pattern[str],
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
