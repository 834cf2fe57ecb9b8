"""Built-in rules tried only where a match can start: the same matches as a plain search."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from draft_feedback import tone
from draft_feedback.patterns import PatternCache, Scanner, TextIndex, starts_of

HERE = Path(__file__).parent


def spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [m.span() for m in pattern.finditer(text)]


def scanned(scanner: Scanner, text: str) -> list[tuple[int, int]]:
    return [m.span() for m in scanner.finditer(TextIndex(text))]


def fresh_scanner(source: str, flags: int = re.IGNORECASE) -> Scanner:
    from re import _parser  # type: ignore[attr-defined]

    return Scanner(re.compile(source, flags), starts_of(_parser.parse(source, flags)))


@pytest.fixture(autouse=True)
def fresh_rules() -> Iterator[None]:
    tone.builtin_rules.cache_clear()
    yield
    tone.builtin_rules.cache_clear()


def builtin_scanners() -> list[tuple[str, Scanner]]:
    return [(rule.id, Scanner(rule.pattern, rule.starts)) for rule in tone.builtin_rules()
            if rule.pattern is not None]


def corpus_texts() -> list[str]:
    from tests.test_patterns import corpus_sentences

    return corpus_sentences()


def test_every_built_in_rule_knows_where_it_can_start() -> None:
    # Each rule's starts come with it (from the cache folder or a fresh parse), so the check
    # reads a draft once and tries each rule at a few places rather than at every character.
    missing = [rule.id for rule in tone.builtin_rules()
               if rule.kind == "pattern" and rule.starts is None]
    assert missing == []


def test_the_kept_starts_equal_a_fresh_reading_of_each_pattern() -> None:
    from re import _parser  # type: ignore[attr-defined]

    tone.builtin_rules()  # compiles and keeps them
    kept = PatternCache("tone-rules")
    for rule in tone.builtin_rules():
        if rule.pattern is not None:
            source = rule.pattern.pattern
            assert kept.scanner(source, re.IGNORECASE).starts == starts_of(
                _parser.parse(source, re.IGNORECASE))
    assert kept.reused > 30


def test_every_built_in_rule_finds_the_same_matches_on_the_whole_corpus() -> None:
    texts = corpus_texts()
    assert len(texts) > 500
    joined = "\n\n".join(texts)  # one long text too: places past the first sentence
    for rule_id, scanner in builtin_scanners():
        assert scanned(scanner, joined) == spans(scanner.pattern, joined), rule_id
        for text in texts:
            assert scanned(scanner, text) == spans(scanner.pattern, text), (rule_id, text)


# Words the rules are made of, and the characters that are easy to get wrong: the four that
# match an ASCII letter while ignoring case, another script's digits, apostrophes, breaks.
PIECES = ["\t", "\x1c", "\u2003", "\xa0", "I", "i", "you", "You", "they", "the panel", "never",
          "always", "sorry", "SORRY",
          "why", "Why", "?", "!", "!!", "?!", ".", ",", " ", " ", "\n", "'", "n't", "didn't",
          "must have", "thought", "3rd", "time", "in a row", "٣", "rd", "İ", "ı", "ſ", "K",
          "Kelvin", "don't", "ignore", "me", "but", "my", "fault", "complain", "about",
          "formally", "proper", "explanation", "sorry, sorry", "disgrace", "joke", "é", "_"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_generated_texts_find_the_same_matches(pieces: list[str]) -> None:
    text = "".join(pieces)
    for rule_id, scanner in builtin_scanners():
        assert scanned(scanner, text) == spans(scanner.pattern, text), (rule_id, text)


TRICKY = [
    r"\bsorry\b",
    r"(?:^|(?<=[.!?] )|(?<=\n))(?:but\s+)?why\s*\?+",  # zero-width ways in, then optional
    r"\b(?:sorry[\s,.!]+){2,}",                           # a repeat that must be entered
    r"[!?]*(?:!!|\?!|!\?|\?\?)[!?]*",                     # an optional repeat, then literals
    r"\b(?:second|\d+(?:st|nd|rd|th))\s+time\b",          # \d: only ASCII texts are indexed
    r"n't\s+(?:fair|right)",                               # starts inside a word
    r"\b(?:a\s+)?(?:proper|real)\s+answer\b",
    r"(?i:k)elvin|Sk",                                     # the Kelvin sign and the long s
    r"\bI\b",
    r"(?>ab|a)c|\bxyz",                                    # an atomic group
    r"\b'tis\b|\b_x",
]


@pytest.mark.parametrize("source", TRICKY)
@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="\t\x1c\xa0abcIiKkelvinSsſKİı' !?.\n٣3rdtimewhysorry,nfa_xyzpoe",
                    max_size=60))
def test_tricky_patterns_find_the_same_matches(source: str, text: str) -> None:
    for flags in (re.IGNORECASE, 0):
        scanner = fresh_scanner(source, flags)
        assert scanner.starts is not None, source
        assert scanned(scanner, text) == spans(scanner.pattern, text), (source, text)


def test_a_pattern_whose_start_cannot_be_told_is_searched_as_it_is() -> None:
    for source in (r"\w+ly\b", r"[^.]+!", r".sorry", r"(?:a|\w)b", r"x?"):
        scanner = fresh_scanner(source)
        assert scanner.starts is None
        text = "Truly sorry! a b xb"
        assert scanned(scanner, text) == spans(scanner.pattern, text)


def test_the_characters_that_fold_to_ascii_letters_are_all_known() -> None:
    # Under IGNORECASE an ASCII letter matches exactly these other characters in all of Unicode;
    # the index folds each of them to its letter, so a start is never missed.
    from draft_feedback.patterns import _FOLD

    letter = re.compile("[a-z]", re.IGNORECASE)
    found = {code: chr(code).lower() if chr(code).isascii() else None
             for code in range(128, 0x110000) if letter.match(chr(code))}
    assert set(found) == {code for code, to in dict(_FOLD).items()
                          if code >= 128 and chr(to).isascii() and chr(to).isalpha()}
    for code in found:
        assert re.match(chr(_FOLD[code]), chr(code), re.IGNORECASE)
    # Any other digit or space is folded to one that \d or \s matches too.
    assert "\u0663\u2003x\xa0".translate(_FOLD) == "0 x "


def test_starts_are_exact_where_they_can_be() -> None:
    from re import _parser  # type: ignore[attr-defined]

    def starts(source: str) -> object:
        return starts_of(_parser.parse(source, re.IGNORECASE))

    assert starts(r"\b(?:you|They)\s+must") == (frozenset({"you", "the"}), frozenset())
    assert starts(r"n't\b") == (frozenset(), frozenset({"n't"}))
    assert starts(r"\b\d+(?:st|nd)") == (frozenset("0"), frozenset())
    assert starts(r"\b3rd") == (frozenset({"0rd"}), frozenset())
    assert starts(r"\b(?:the\s+)?why") == (frozenset({"the", "why"}), frozenset())
    assert starts(r"\bI\s+know") == (frozenset({"i "}), frozenset())
    assert starts(r"\bso[\t ]") == (frozenset({"so "}), frozenset())


def read_plainly(original: str) -> tuple[str, list[int]]:
    """The text as the rules read it, character by character: the definition _Text keeps."""
    line_starts = [0] + [m.end() for m in re.finditer("\n", original)]
    chars: list[str] = []
    where: list[int] = []
    pending, pending_at = "", 0
    for number, start in enumerate(line_starts):
        end = line_starts[number + 1] - 1 if number + 1 < len(line_starts) else None
        line = original[start:end].rstrip("\r")
        stripped = line.strip()
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
            pending, pending_at = " ", start + len(line)
    return "".join(chars), where


def assert_read_alike(original: str) -> None:
    read = tone._Text(original)
    text, where = read_plainly(original)
    # _Text also puts apostrophes back into bare contractions; compare before that step.
    assert tone._apostrophes(text.translate(tone._QUOTES), where) == (read.text, read.where)


def test_the_text_is_read_as_its_plain_definition_on_the_corpus() -> None:
    texts = corpus_texts()
    for text in texts:
        assert_read_alike(text)
    assert_read_alike("\n\n".join(texts))
    assert_read_alike("> quoted\n\n  Dear Priya,\r\n\twrapped  line \n> more\n\nend \u2003x")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=" \t\r\n>\u2003\xa0ab'’.!?Iİ", max_size=80))
def test_awkward_texts_are_read_as_their_plain_definition(text: str) -> None:
    assert_read_alike(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["I", "A", "NO", "NEVER", "CV", "Ok", "oK", "É", "ÉTÉ", "a", "b",
                                 "\n", " ", "  ", ".", "!", "_", "X1", "AB_", "dont"]),
                max_size=25))
def test_shouting_is_found_alike_with_and_without_the_ascii_shortcut(pieces: list[str]) -> None:
    text = " ".join(pieces)
    (rule,) = [r for r in tone.builtin_rules() if r.kind == "shouting"]
    quick = list(tone._shouting(text, rule.allow, rule.emphasis))
    # The same text with one non-ASCII character at its end takes the long way.
    slow = list(tone._shouting(text + " \u00e9", rule.allow, rule.emphasis))
    assert quick == slow
