"""Tests for the learned layer of the tone check: its findings, normalising, scope, config."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import textwrap
import zipfile
import zlib
from array import array
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from draft_feedback import tone, tonemodel
from draft_feedback.errors import BadInput

from conftest import write_config

FINDING_KEYS = {"rule", "trap", "severity", "line", "column", "excerpt", "message", "suggestion"}

# The issue's examples: hurtful sentences the rules alone let through.
ISSUE_HURTFUL = [
    "Every grant I write gets turned down.",
    "The reviewers should have known better.",
    "Thanks so much for wasting three weeks of my time.",
    "I could tell the panel had already written me off.",
]
# The issue's hard negatives: they look like traps and are not.
ISSUE_HARD_NEGATIVES = [
    "I never expected such thoughtful interviews.",
    "I should mention I'm free next week.",
    "Everyone I met was welcoming.",
    "Nothing would help me more than a pointer.",
    "Is there a course you think I should consider?",
    "Please don't feel you have to reply.",
    "compared with my last role, this one fit me well.",
]


def learned(findings: list[tone.Finding]) -> list[tone.Finding]:
    return [f for f in findings if f.rule.startswith("model-")]


@pytest.mark.parametrize("sentence", ISSUE_HURTFUL)
def test_the_issues_hurtful_examples_are_flagged(sentence: str) -> None:
    findings = tone.check(sentence)
    assert findings, sentence
    assert len(findings) == 1


@pytest.mark.parametrize("sentence", ISSUE_HURTFUL)
def test_they_are_flagged_as_typed_in_a_hurry(sentence: str) -> None:
    hurried = sentence.lower().replace("'", "").rstrip(".")
    assert tone.check(hurried), hurried


@pytest.mark.parametrize("sentence", ISSUE_HARD_NEGATIVES)
def test_the_issues_hard_negatives_stay_clean(sentence: str) -> None:
    assert tone.check(sentence) == []


def test_a_learned_finding_is_a_kind_warning_naming_its_trap() -> None:
    text = "Dear Priya,\n\nThanks so much for wasting three weeks of my time.\n"
    [finding] = tone.check(text)
    assert finding.rule == f"model-{finding.trap}"
    assert finding.trap in tonemodel.TRAPS
    assert finding.severity == "warning"
    assert (finding.line, finding.column) == (3, 1)
    assert finding.excerpt == "Thanks so much for wasting three weeks of my time."
    message, suggestion = tonemodel.WORDS[finding.trap]
    assert (finding.message, finding.suggestion) == (message, suggestion)


@pytest.mark.parametrize("trap", tonemodel.TRAPS)
def test_each_traps_words_are_one_kind_sentence_and_pass_the_check(trap: str) -> None:
    message, suggestion = tonemodel.WORDS[trap]
    assert message.endswith(".") and message.count(". ") == 0
    assert suggestion[-1] in ".?"
    assert tone.check(suggestion) == []


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("I shouldve known", "i should have known"),
        ("it wasnt fair, i couldnt believe it", "it was not fair, i could not believe it"),
        ("ive tried, youre right, dont worry", "i have tried, you are right, do not worry"),
        ("I can\u2019t \u201cbelieve\u201d it", 'i can not "believe" it'),
        ("Soooo tired!!!!!", "soo tired!!"),
        ("really?!?!", "really!!"),
        ("Wait.....", "wait..."),
        ("I should of known", "i should have known"),
    ],
)
def test_normalising_reads_text_as_people_type_it(typed: str, read: str) -> None:
    assert tonemodel.normalise(typed) == read


def test_contractions_with_apostrophes_are_only_looked_for_where_there_is_one() -> None:
    for pattern, replacement in tonemodel._APOSTROPHE:
        assert "'" in pattern.pattern and "'" not in replacement


def test_a_sentence_scores_the_same_however_it_is_typed() -> None:
    model = tonemodel.load()
    typed = ("I should've known better.", "I shouldve known better.",
             "I should\u2019ve known better.", "I should have known better.")
    scores = {tuple(model.scores(s)) for s in typed}
    assert len(scores) == 1


def test_rules_read_bare_contractions_too() -> None:
    assert "should-statement" in {f.rule for f in tone.check("I shouldve known better")}


@pytest.mark.parametrize(("sentence", "rule"), [
    ("This whole process was completely unfair.", "unfair"),
    ("I'm so sorry for wasting your time.", "grovelling-apology"),
])
def test_a_sentence_a_rule_flags_is_reported_once_with_the_rules_words(sentence: str,
                                                                        rule: str) -> None:
    assert tonemodel.load().classify(sentence) is not None, "the model flags it on its own"
    findings = tone.check(sentence)
    assert [f.rule for f in findings] == [rule]
    assert findings[0].message == next(r.message for r in tone.builtin_rules() if r.id == rule)


def test_each_offending_sentence_of_an_email_is_flagged_once(run: object,
                                                             tmp_path: Path) -> None:
    letter = tmp_path / "letter.txt"
    letter.write_text(textwrap.dedent("""\
        Dear Dr Okafor,

        Thank you for letting me know about the fellowship.
        Every grant I write gets turned down. I could tell the panel had already written me off.
        Thanks so much for wasting three weeks of my time.

        I'd be grateful for any thoughts on what I could strengthen.

        Best wishes,
        Sam
        """), encoding="utf-8")
    result = run("check", str(letter), "--json")  # type: ignore[operator]
    findings = json.loads(result.stdout)
    places = [(f["line"], f["column"]) for f in findings]
    assert len(places) == len(set(places))
    flagged_lines = sorted({line for line, _ in places})
    assert flagged_lines == [4, 5]
    assert {(4, 1), (4, 39), (5, 1)} <= set(places)
    for finding in findings:
        assert set(finding) == FINDING_KEYS


def test_disabling_one_trap_of_the_learned_layer(run: object, tmp_path: Path) -> None:
    text = "Thanks so much for wasting three weeks of my time.\n"
    [finding] = tone.check(text)
    trap = finding.trap
    rules = tone.load_rules(disable=[f"model-{trap}"])
    assert tone.check(text, rules) == []
    assert learned(tone.check("Every grant I write gets turned down.", rules))
    write_config(tmp_path / "config.yaml", extra=f"tone:\n  disable: [model-{trap}]\n")
    result = run("check", "-", "--json", input=text)  # type: ignore[operator]
    assert (result.exit_code, json.loads(result.stdout)) == (0, [])


def test_disabling_the_whole_learned_layer_keeps_the_rules() -> None:
    rules = tone.load_rules(disable=["model"])
    assert tone.check("Every grant I write gets turned down.", rules) == []
    assert [f.rule for f in tone.check("Please reconsider your decision.", rules)] == [
        "reconsider"]


def test_an_unknown_learned_id_is_refused_with_the_valid_ones(run: object,
                                                              tmp_path: Path) -> None:
    with pytest.raises(BadInput) as raised:
        tone.load_rules(disable=["model-rudeness"], source="config.yaml")
    message = str(raised.value)
    assert message.startswith("config.yaml: tone.disable: unknown rule id 'model-rudeness'")
    assert "model-sarcasm" in message and "model-comparisons" in message
    write_config(tmp_path / "config.yaml", extra="tone:\n  disable: [model-rudeness]\n")
    result = run("check", "-", input="Hello there, thank you.\n")  # type: ignore[operator]
    assert result.exit_code == 2
    assert "unknown rule id 'model-rudeness'" in result.stderr
    assert "Traceback" not in result.output


def test_a_disabled_rules_sentences_do_not_come_back_from_the_model() -> None:
    rules = tone.load_rules(disable=["unfair"])
    assert tone.check("The process was completely unfair.", rules) == []


def test_user_rules_still_run_beside_the_model() -> None:
    extra = [{"id": "no-sigh", "pattern": r"\bsigh\b", "severity": "warning",
              "message": "A sigh reads as weary.", "suggestion": "Thank you for your time."}]
    rules = tone.load_rules(extra)
    findings = tone.check("Sigh. Every grant I write gets turned down.", rules)
    assert [f.rule for f in findings][0] == "no-sigh"
    assert len(learned(findings)) == 1


def test_greetings_list_numbers_and_sign_offs_are_not_read_as_sentences() -> None:
    text = "Hi Sam,\n\n1. What would you focus on first?\n\nAll the best,\nAlex\n"
    assert tone.sentences(text) == ["What would you focus on first?", "All the best, Alex"]
    assert tone.check(text) == []


def test_learned_findings_can_be_left_out() -> None:
    assert tone.check("Every grant I write gets turned down.", learned=False) == []


def test_the_model_file_is_small_and_loads_quickly() -> None:
    path = tonemodel.model_path()
    assert path.parent.name == "templates"
    assert path.stat().st_size < 1_000_000
    model = tonemodel.load.__wrapped__(path)
    assert model.thresholds and len(model.thresholds) == len(tonemodel.TRAPS)


@pytest.mark.parametrize(("change", "error"), [
    (lambda data: data[:-1], "the weights do not match the header"),
    (lambda data: data + b"\0", "the weights do not match the header"),
    (lambda data: data.replace(b"model 4", b"model 3", 1), "not a tone model file"),
    (lambda data: data.replace(b"\n16 ", b"\n60 ", 1), "the weights do not match the header"),
    (lambda data: data.replace(b"\n16 ", b"\n1 6 ", 1), "the weights do not match the header"),
    (lambda data: b"\n".join(data.split(b"\n")[:3]), "the weights do not match the header"),
])
def test_a_damaged_model_file_is_refused(tmp_path: Path, change: Callable[[bytes], bytes],
                                         error: str) -> None:
    path = tmp_path / "tone_model.bin"
    path.write_bytes(change(tonemodel.model_path().read_bytes()))
    with pytest.raises(ValueError, match=error):
        tonemodel.load.__wrapped__(path)


def test_a_written_model_reads_back_the_same(tmp_path: Path) -> None:
    shipped = tonemodel.load.__wrapped__(tonemodel.model_path())
    path = tmp_path / "tone_model.bin"
    tonemodel.dump(shipped, path)
    assert path.read_bytes() == tonemodel.model_path().read_bytes()
    again = tonemodel.load.__wrapped__(path)
    assert (again.bits, again.scale, again.bias, again.thresholds, again.weights) == (
        shipped.bits, shipped.scale, shipped.bias, shipped.thresholds, shipped.weights)


@pytest.mark.slow
def test_the_weights_ship_in_the_wheel_and_load_from_there(tmp_path: Path,
                                                           built_wheel: Path) -> None:
    wheel = built_wheel
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        assert "draft_feedback/templates/tone_model.bin" in archive.namelist()
        archive.extractall(target)
    # The installed package finds its weights beside itself, not in this checkout.
    code = ("from draft_feedback import tone, tonemodel; "
            "print(tonemodel.model_path()); "
            "print([f.rule for f in tone.check('Every grant I write gets turned down.')])")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
                            timeout=60)
    assert result.returncode == 0, result.stderr
    where, rules = result.stdout.splitlines()
    assert where == str(target / "draft_feedback" / "templates" / "tone_model.bin")
    assert rules.startswith("['model-")


# --- the fast path against the plain definition ------------------------------------------------

HERE = Path(__file__).parent


def corpus_sentences() -> list[str]:
    """Every sentence of the writers' corpora, the held-out writers and the shared list."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key not in ("writer", "persona"):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    paths = [*sorted((HERE / "tone_corpus").glob("*.yaml")),
             *sorted((HERE / "tone_fresh").glob("*.yaml")), HERE / "tone_corpus.yaml"]
    for path in paths:
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


CORPUS_SENTENCES = corpus_sentences()
# Text as people type it: capitals, marks, contractions with and without apostrophes, curly
# quotes, letters that change length or script when lower-cased, digits and stray spaces.
TYPED_PIECES = st.sampled_from([
    "I", "i", "I'm", "im", "don't", "dont", "shouldve", "should of", "can\u2019t", "won't",
    "NEVER", "Thanks", "thank", "you", "so", "much", "for", "wasting", "my", "TIME", "not",
    "the", "panel", "always", "everyone", "else", "sorry", "but", "because", "no", "u", "ur",
    "Soooo", "really", "?", "!", "!!!", "?!?!", "...", "....", ",", ";", "\u2026", "\u2014",
    "'", "\u2019", "\u201cquoted\u201d", "`", "\u00e9cole", "\u00c9COLE", "\u0130stanbul",
    "\u212a", "stra\u00dfe", "\ufb01ne", "12", "3rd", "a", "OK", "A", "-", "  ", "\t",
])
TYPED = (st.lists(TYPED_PIECES, max_size=40).map(" ".join)
         | st.lists(TYPED_PIECES, max_size=12).map("".join)
         | st.text(max_size=60)
         | st.text(alphabet="aAbBiIkK !?.,;'\u2019\u0130\u212a\u00e9 ", max_size=60))


def plain_buckets(sentence: str, bits: int) -> list[int]:
    """The buckets as the training script hashes them: every feature string, one by one."""
    mask = (1 << bits) - 1
    return sorted({zlib.crc32(f.encode()) & mask for f in tonemodel.features(sentence)})


def plain_scores(model: tonemodel.Model, found: list[int]) -> list[float]:
    """Each trap's score from a sentence's buckets: the column sums of their rows of weights."""
    width = len(tonemodel.TRAPS)
    rows = [model.weights[bucket * width:(bucket + 1) * width] for bucket in found]
    totals = [sum(column) for column in zip(*rows, strict=True)]
    factor = model.scale / math.sqrt(len(found))
    return [bias + factor * total for bias, total in zip(model.bias, totals, strict=True)]


def plain_classify(model: tonemodel.Model, scores: list[float]) -> str | None:
    """The trap with the largest margin over its threshold (the first on a tie), if any."""
    best, margin = None, -math.inf
    for trap, score, threshold in zip(tonemodel.TRAPS, scores, model.thresholds, strict=True):
        if score - threshold > margin:
            best, margin = trap, score - threshold
    return best if margin >= 0 else None


def assert_same_as_plain(model: tonemodel.Model, sentence: str) -> None:
    found = plain_buckets(sentence, model.bits)
    assert tonemodel.buckets(sentence, model.bits) == found, sentence
    scores = plain_scores(model, found)
    assert model.scores(sentence) == scores, sentence
    assert model.classify(sentence) == plain_classify(model, scores), sentence


def test_the_corpus_reads_the_same_with_the_fast_path() -> None:
    model = tonemodel.load.__wrapped__(tonemodel.model_path())
    assert len(CORPUS_SENTENCES) > 8000
    for sentence in CORPUS_SENTENCES:
        assert_same_as_plain(model, sentence)
    # A second time through, as a long-running process meets its sentences again.
    for sentence in CORPUS_SENTENCES[::7]:
        assert_same_as_plain(model, sentence)


@settings(max_examples=400, deadline=None)
@given(TYPED)
@example("")
@example("   ")
@example("?")
@example("!!!")
@example("a")
@example("I")
@example("NO")
@example("WHY WOULD YOU DO THIS")
@example("Why would you DO THIS?!")
@example("not , not ; never but no ... hardly")
@example("\u0130\u0130 \u212a\u212a K")
@example("a b c d e f g h i j k l m n o p q r s t u v w x y z " * 12)
def test_typed_text_reads_the_same_with_the_fast_path(sentence: str) -> None:
    assert_same_as_plain(tonemodel.load(), sentence)


def feature_kind(feature: str) -> str:
    """The kind of a feature: its prefix ("w", "c", "TW", ...), or its name when it has none."""
    return feature.split(":", 1)[0] if ":" in feature else feature.rstrip("0123456789")


def test_every_kind_of_feature_changes_some_corpus_sentences_buckets() -> None:
    # So the comparison above fails if the fast path leaves out any kind of feature.
    kinds = {"w", "b", "t", "s", "c", "n", "q", "m", "C", "caps", "allcaps", "lowercase", "len",
             "L", "P", "T", "TW", "WT"}
    mask = (1 << 16) - 1
    counted: set[str] = set()
    for sentence in [*CORPUS_SENTENCES, "THANKS FOR NOTHING, REALLY"]:
        found = tonemodel.features(sentence)
        whole = {zlib.crc32(f.encode()) & mask for f in found}
        for kind in {feature_kind(f) for f in found} - counted:
            rest = {zlib.crc32(f.encode()) & mask for f in found if feature_kind(f) != kind}
            if rest != whole:
                counted.add(kind)
    assert counted == kinds


@pytest.mark.parametrize("bits", [0, 1, 4, 8, 9])
@pytest.mark.parametrize("fill", ["random", "highest", "lowest"])
def test_other_sizes_and_extreme_weights_score_as_summed_one_by_one(bits: int,
                                                                    fill: str) -> None:
    # A bucket's weights are added all at once as one packed int: no trap's sum may spill into
    # the next, whatever the weights and however many buckets a sentence fills.
    width = len(tonemodel.TRAPS)
    rng = random.Random(f"{bits} {fill}")
    size = (1 << bits) * width
    values = {"random": [rng.randint(-128, 127) for _ in range(size)],
              "highest": [127] * size, "lowest": [-128] * size}[fill]
    model = tonemodel.Model(bits, 0.05, tuple(rng.uniform(-5, 0) for _ in range(width)),
                            array("b", values), tuple(rng.uniform(0, 2) for _ in range(width)))
    sentences = [*CORPUS_SENTENCES[::97], "", "Fine.", " ".join(CORPUS_SENTENCES[:40])]
    for sentence in [*sentences, *sentences]:
        found = plain_buckets(sentence, bits)
        assert tonemodel.buckets(sentence, bits) == found
        assert model.scores(sentence) == plain_scores(model, found), sentence


def test_verdicts_are_kept_per_model_and_only_the_latest() -> None:
    model = tonemodel.load.__wrapped__(tonemodel.model_path())
    other = tonemodel.load.__wrapped__(tonemodel.model_path())
    sentence = "Every grant I write gets turned down."
    verdict = plain_classify(model, plain_scores(model, plain_buckets(sentence, model.bits)))
    assert verdict is not None
    assert model.classify(sentence) == model.classify(sentence) == verdict
    info = model._memo.cache_info()  # type: ignore[attr-defined]
    assert (info.hits, info.misses, info.maxsize) == (1, 1, tonemodel.CLASSIFY_MEMO)
    assert other._memo.cache_info().currsize == 0  # type: ignore[attr-defined]
    for i in range(tonemodel.CLASSIFY_MEMO + 10):
        model.classify(f"Draft {i}.")
    assert model._memo.cache_info().currsize == tonemodel.CLASSIFY_MEMO  # type: ignore[attr-defined]
    assert model.classify(sentence) == verdict
