"""Tests for the learned layer of the tone check: its findings, normalising, scope, config."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

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
