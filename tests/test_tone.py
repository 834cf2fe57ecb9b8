"""Tests for the tone check: the corpus of real wording, the rules as data, positions, config."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from draft_feedback import tone
from draft_feedback.errors import BadInput

CORPUS = Path(__file__).with_name("tone_corpus.yaml")
SPEC_TRAPS = {"framing", "catastrophizing", "personalizing", "overgeneralizing", "mind-reading",
              "filtering", "should-statements", "all-or-nothing", "comparisons", "grovelling",
              "shouting", "length"}
FINDING_KEYS = {"rule", "trap", "severity", "line", "column", "excerpt", "message", "suggestion"}


def corpus() -> dict[str, list[str]]:
    data = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    return {"hurt": data["hurt"], "polite": data["polite"]}


def rules_hit(text: str, *, max_questions: int = 3, max_words: int = 180) -> set[str]:
    """What the check reports, and what each rule finds alone: check() reports one finding a
    sentence, so a rule that a stronger one outranks in the same sentence shows only alone."""
    limits = {"max_questions": max_questions, "max_words": max_words}
    hit = {f.rule for f in tone.check(text, **limits)}
    for rule in tone.load_rules():
        hit |= {f.rule for f in tone.check(text, [rule], learned=False, **limits)}
    return hit


# --- the corpus: the quality bar ------------------------------------------------------------

def test_corpus_is_large_varied_and_unique() -> None:
    sentences = corpus()
    assert len(sentences["hurt"]) >= 80
    assert len(sentences["polite"]) >= 80
    for kind, items in sentences.items():
        assert all(isinstance(s, str) and s.strip() for s in items), kind
        assert len(set(items)) == len(items), f"duplicate {kind} sentences"


def test_corpus_recall_and_false_errors() -> None:
    sentences = corpus()
    missed = [s for s in sentences["hurt"] if not tone.check(s)]
    false_errors = {s: sorted(f.rule for f in tone.check(s) if f.severity == "error")
                    for s in sentences["polite"]}
    false_errors = {s: rules for s, rules in false_errors.items() if rules}
    warned = [s for s in sentences["polite"] if tone.check(s)]
    recall = 1 - len(missed) / len(sentences["hurt"])
    false_error_rate = len(false_errors) / len(sentences["polite"])
    print(f"\ntone corpus: {len(sentences['hurt'])} hurt, {len(sentences['polite'])} polite")
    print(f"recall on hurt: {recall:.1%} ({len(missed)} missed)")
    print(f"false errors on polite: {false_error_rate:.1%} ({len(false_errors)}); "
          f"polite with any warning: {len(warned)}")
    for sentence in missed:
        print(f"  missed: {sentence}")
    for sentence, rules in false_errors.items():
        print(f"  false error: {sentence} {rules}")
    assert recall >= 0.90, missed
    assert false_error_rate <= 0.05, false_errors


def test_every_trap_the_spec_names_has_rules() -> None:
    traps = {r.trap for r in tone.load_rules()}
    assert traps == SPEC_TRAPS
    by_trap = {trap: {r.severity for r in tone.load_rules() if r.trap == trap} for trap in traps}
    # Contesting the decision is an error; the thinking traps and length mostly warn.
    assert "error" in by_trap["framing"]
    assert by_trap["length"] == {"warning"} and by_trap["shouting"] == {"warning"}


# One sentence per built-in rule: each rule fires where it is meant to.
EXAMPLES = [
    ("demanding-why", "Why didn't I get the job?"),
    ("asking-why-rejected", "I'd like to know why I wasn't selected."),
    ("what-went-wrong", "What did I do wrong?"),
    ("reconsider", "Please reconsider your decision."),
    ("second-chance", "Please give me another chance to show what I can do."),
    ("unfair", "The process was completely unfair."),
    ("i-deserve", "I deserve this promotion more than anyone."),
    ("demanding-explanation", "I demand an explanation."),
    ("pressing-for-reply", "Please get back to me immediately."),
    ("insisting", "Please just tell me the truth."),
    ("you-made-a-mistake", "You made a mistake."),
    ("hostile-wording", "Frankly the whole process was a joke."),
    ("burning-bridges", "I'll be leaving a review on Glassdoor about this."),
    ("venting", "I'm furious about how this was handled."),
    ("criticizing-process", "Your rejection email was cold and impersonal."),
    ("blaming-them", "My manager has never supported me."),
    ("arguing-merit", "I more than met the criteria you set out."),
    ("comparing-candidates", "I can't believe you went with someone less qualified."),
    ("comparing-to-others", "Everyone else gets these roles."),
    ("assuming-bad-faith", "The other candidate probably just had connections."),
    ("mind-reading", "You must have thought I was too junior."),
    ("last-chance", "This was my last chance."),
    ("catastrophizing", "I'll never get a job in this field."),
    ("self-labelling", "I guess I'm just not good enough."),
    ("self-blame", "It's all my fault."),
    ("overgeneralizing", "This always happens to me."),
    ("filtering", "All I can think about is the question I fumbled."),
    ("should-have-been-chosen", "I should have been hired."),
    ("should-statement", "I should never have applied in the first place."),
    ("ultimatum", "Either I get this or I quit."),
    ("all-or-nothing", "It's this job or nothing for me."),
    ("grovelling-apology", "I'm so sorry for wasting your time."),
    ("pleading", "I'm begging you to give me some feedback."),
    ("shouting-capitals", "PLEASE RECONSIDER"),
    ("shouting-punctuation", "I really wanted this SO MUCH!!"),
    ("too-many-questions", "One? Two? Three? Four?"),
    ("too-many-words", " ".join(["word"] * 181)),
]


@pytest.mark.parametrize(("rule", "text"), EXAMPLES)
def test_each_rule_fires_on_its_example(rule: str, text: str) -> None:
    assert rule in rules_hit(text)


def test_every_builtin_rule_has_an_example() -> None:
    assert {rule for rule, _ in EXAMPLES} == {r.id for r in tone.load_rules()}


def test_builtin_rules_are_well_formed() -> None:
    rules = tone.load_rules()
    assert len({r.id for r in rules}) == len(rules)
    for rule in rules:
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", rule.id), rule.id
        assert rule.severity in ("error", "warning"), rule.id
        assert (rule.pattern is None) == (rule.kind != "pattern"), rule.id
        # One kind sentence: it ends once, and no second sentence starts inside it.
        assert rule.message.endswith("."), rule.id
        assert not re.search(r"[.!?] [A-Z]", rule.message), rule.id
        assert rule.suggestion and rule.suggestion[-1] in ".?", rule.id


@pytest.mark.parametrize("rule", [r.id for r in tone.load_rules()])
def test_each_suggestion_passes_the_check_itself(rule: str) -> None:
    suggestion = next(r.suggestion for r in tone.load_rules() if r.id == rule)
    assert tone.check(suggestion) == []


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("i dont understand why i wasnt picked", "asking-why-rejected"),
        ("Why didn\u2019t I get the job?", "demanding-why"),
        ("Im gutted tbh", "catastrophizing"),
        ("I would like to appeal\nthe decision.", "reconsider"),
        ("WHY WASN'T I GOOD ENOUGH?", "shouting-capitals"),
        ("I was NEVER told about the second round.", "shouting-capitals"),
    ],
)
def test_wording_as_people_type_it(text: str, rule: str) -> None:
    """Missing or curly apostrophes, phrases wrapped over lines and capitals still match."""
    assert rule in rules_hit(text)


@pytest.mark.parametrize(
    "text",
    [
        "I completely understand the decision.",
        "I'd be grateful for any feedback you're able to share.",
        "There's no need to reply; any length is welcome.",
        "If you have a moment, I'd value your thoughts.",
        "Thank you again for your time.",
        "Please keep me in mind for future opportunities.",
        "What could I strengthen for similar roles?",
        "Which areas would you suggest I focus on?",
        "Please never hesitate to get in touch.",
        "I'm not asking you to reconsider; I'd simply like to learn.",
        "I don't think the process was unfair at all.",
        "Thank you once again for your time and your kind words.",
        "I worked with SQL and AWS daily, and a little REST API design.",
        "I hope our paths cross at the NHS conference in the UK.",
    ],
)
def test_template_phrases_and_innocent_words_get_no_finding(text: str) -> None:
    assert tone.check(text) == []


def test_a_whole_polite_email_gets_no_finding() -> None:
    email = (
        "Hi Priya,\n"
        "\n"
        "Thank you for your time and for the opportunity to interview for the Data Analyst\n"
        "role at Acme. I especially enjoyed the case study. I understand the decision, and\n"
        "I'm grateful you let me know.\n"
        "\n"
        "I'd like to grow from this, so if you have a few minutes, I'd be grateful for your\n"
        "thoughts on:\n"
        "\n"
        "1. How could I make my answers to the SQL questions stronger?\n"
        "2. Which skill would make the biggest difference for a role like this?\n"
        "3. How could I describe the impact of my past work more convincingly?\n"
        "\n"
        "A line or two would be plenty, and if things are busy, there's no need to reply.\n"
        "I've enjoyed getting to know Acme and would love to be considered when a suitable\n"
        "role comes up.\n"
        "\n"
        "Best wishes,\n"
        "Alex\n"
    )
    assert tone.check(email) == []


def test_built_in_templates_render_with_no_finding(tmp_path: Path) -> None:
    """Every scenario and register, with and without the optional parts, reads as clean."""
    from draft_feedback.addresses import Address
    from draft_feedback.catalog import load_catalog
    from draft_feedback.config import load_config
    from draft_feedback.drafting import DraftInput, render

    config = load_config(tmp_path / "absent.yaml")
    catalog = load_catalog(config)
    rendered = 0
    for scenario in catalog.scenarios:
        areas = [a.id for a in catalog.areas_for(scenario)]
        choices = [(), *((a,) for a in areas), tuple(areas[:3]), tuple(areas[-2:])]
        for register, future, named, areas_chosen, thanks_only in itertools.product(
                ("warm", "formal", "brief"), (True, False), (True, False), choices,
                (False, True)):
            if thanks_only and areas_chosen:
                continue
            draft = render(DraftInput(
                scenario=scenario,
                to=Address("Priya Shah" if named else "", "priya@example.com"),
                org="Acme Analytics" if named else "",
                role="Senior Data Analyst" if named else "",
                areas=areas_chosen,
                highlight="the tour of the lab" if named else "",
                future=future,
                tone=register,
                thank_you_only=thanks_only,
            ), config, catalog)
            rendered += 1
            findings = tone.check(draft.body) + tone.check(draft.subject)
            assert findings == [], (scenario, register, areas_chosen, draft.body)
    assert rendered > 100


# --- findings: shape and positions ----------------------------------------------------------

def test_finding_to_dict_has_exactly_the_record_keys() -> None:
    finding = tone.check("Why didn't I get the job?")[0]
    record = finding.to_dict()
    assert set(record) == FINDING_KEYS
    assert record == {
        "rule": "demanding-why", "trap": "framing", "severity": "error", "line": 1, "column": 1,
        "excerpt": "Why didn't I get the job?", "message": finding.message,
        "suggestion": "What areas could I strengthen for similar opportunities in the future?",
    }


def test_lines_and_columns_are_one_based_and_sorted() -> None:
    text = ("Hi Priya,\n"
            "\n"
            "Thank you for the interview. Honestly, it was unfair.\n"
            "  I really wanted this!!\r\n"
            "Would you please give me another\n"
            "chance at the interview?\n")
    findings = tone.check(text)
    positions = [(f.rule, f.line, f.column, f.excerpt) for f in findings]
    assert ("unfair", 3, 47, "unfair") in positions
    assert ("shouting-punctuation", 4, 23, "!!") in positions
    # A phrase wrapped over two lines is found, reported where it starts.
    assert ("second-chance", 5, 18, "give me another chance") in positions
    assert [(f.line, f.column) for f in findings] == sorted((f.line, f.column) for f in findings)


def test_quoted_lines_are_the_other_persons_words() -> None:
    text = ("Thank you for letting me know.\n"
            "\n"
            "> Unfortunately it is unfair to keep you waiting, so we decided not to proceed.\n")
    assert tone.check(text) == []


def test_empty_and_blank_text_have_no_findings() -> None:
    assert tone.check("") == []
    assert tone.check("\n \n\t\n") == []


# --- counting rules ----------------------------------------------------------------------------

def test_too_many_questions_triggers_at_four_with_a_limit_of_three() -> None:
    three = "Could you share one thing? What should I read? Which skill matters most?"
    assert "too-many-questions" not in rules_hit(three)
    four = three + "\nAnd who else could I ask?"
    findings = [f for f in tone.check(four) if f.rule == "too-many-questions"]
    assert len(findings) == 1
    finding = findings[0]
    assert (finding.trap, finding.severity, finding.line, finding.column) == (
        "length", "warning", 2, 1)
    assert finding.excerpt == "And who else could I ask?"
    assert "4 questions" in finding.message and "3" in finding.message
    assert "too-many-questions" not in rules_hit(four, max_questions=4)
    assert "too-many-questions" in rules_hit(three, max_questions=2)


def test_too_many_words_triggers_at_181_and_not_at_180() -> None:
    assert "too-many-words" not in rules_hit(" ".join(["word"] * 180))
    over = "First sentence here. " + " ".join(["word"] * 177) + " last."
    assert len(over.split()) == 181
    findings = [f for f in tone.check(over) if f.rule == "too-many-words"]
    assert len(findings) == 1 and "181 words" in findings[0].message
    assert findings[0].excerpt.endswith("...") and len(findings[0].excerpt) <= 80
    # A lone dash is not a word.
    assert "too-many-words" not in rules_hit(" ".join(["word"] * 180) + " - -")
    assert "too-many-words" in rules_hit("one two three", max_words=2)


@pytest.mark.parametrize(
    ("text", "shouting"),
    [
        ("PLEASE RECONSIDER", True),
        ("I was SO READY for this role.", True),
        ("I was NEVER told.", True),
        ("SQL and AWS", False),
        ("I studied at UCL and worked on NASA and NHS projects.", False),
        ("A REST API on AWS EC2, with CI/CD and UX research.", False),
        ("I AM", False),
    ],
)
def test_shouting_capitals_spares_acronyms(text: str, shouting: bool) -> None:
    assert ("shouting-capitals" in rules_hit(text)) is shouting


def test_shouting_excerpt_is_the_run_of_capitals() -> None:
    [shouting] = [r for r in tone.load_rules() if r.id == "shouting-capitals"]
    [finding] = tone.check("Honestly, I AM SO UPSET today", [shouting], learned=False)
    assert (finding.column, finding.excerpt) == (16, "SO UPSET")


# --- rules from the config ---------------------------------------------------------------------

def test_load_rules_is_cached_and_default_is_the_builtin_set() -> None:
    assert tone.load_rules() is tone.load_rules() is tone.builtin_rules()
    assert tone.builtin_rules.cache_info().currsize == 1


def test_disable_removes_a_rule() -> None:
    rules = tone.load_rules(disable=["demanding-why", "shouting-punctuation"])
    ids = {r.id for r in rules}
    assert "demanding-why" not in ids and "shouting-punctuation" not in ids
    assert "unfair" in ids
    assert tone.check("Why didn't I get the job?!!", rules) == []


def test_disabling_an_unknown_rule_lists_the_valid_ids() -> None:
    with pytest.raises(BadInput) as raised:
        tone.load_rules(disable=["no-such-rule"], source="/home/a/config.yaml: tone")
    message = str(raised.value)
    assert message.startswith("/home/a/config.yaml: tone.disable: unknown rule id 'no-such-rule'")
    assert "demanding-why" in message and "too-many-words" in message


def test_extra_rules_from_the_config_are_checked() -> None:
    extra = [
        {"id": "no-sigh", "pattern": r"\bsigh\b", "severity": "warning",
         "message": "A sigh reads as weary.", "suggestion": "Thank you for your time."},
        {"id": "no-competitor", "pattern": "globex", "severity": "error", "trap": "framing",
         "message": "Naming a competitor reads as a threat.",
         "suggestion": "I'd value your perspective."},
    ]
    rules = tone.load_rules(extra, disable=["venting"])
    findings = tone.check("Thank you.\n*Sigh*. I will go to Globex then.", rules)
    assert [(f.rule, f.trap, f.severity, f.line, f.column, f.excerpt) for f in findings] == [
        ("no-sigh", "custom", "warning", 2, 2, "Sigh"),
        ("no-competitor", "framing", "error", 2, 22, "Globex"),
    ]


GOOD = {"id": "x", "pattern": "sigh", "severity": "warning", "message": "m.", "suggestion": "s."}


@pytest.mark.parametrize(
    ("rule", "expected_error"),
    [
        (dict(GOOD, pattern="(unclosed"),
         "config.yaml: tone.rules[0] (id 'x'): pattern is not a valid regular expression"),
        (dict(GOOD, pattern="a*"),
         "config.yaml: tone.rules[0] (id 'x'): pattern matches empty text"),
        ({k: v for k, v in GOOD.items() if k != "suggestion"},
         "config.yaml: tone.rules[0] (id 'x'): missing key 'suggestion'"),
        ({k: v for k, v in GOOD.items() if k != "id"},
         "config.yaml: tone.rules[0]: missing key 'id'"),
        (dict(GOOD, colour="red"),
         "config.yaml: tone.rules[0] (id 'x'): unknown key 'colour'"),
        (dict(GOOD, severity="fatal"),
         "config.yaml: tone.rules[0] (id 'x'): severity must be 'error' or 'warning'"),
        (dict(GOOD, message=""),
         "config.yaml: tone.rules[0] (id 'x'): message must be a non-empty text"),
        (dict(GOOD, pattern=3),
         "config.yaml: tone.rules[0] (id 'x'): pattern must be a non-empty text"),
        (dict(GOOD, id="No Sighs"),
         "config.yaml: tone.rules[0] (id 'No Sighs'): id must be kebab-case"),
        (dict(GOOD, id="unfair"),
         "config.yaml: tone.rules[0] (id 'unfair'): id is already used by another rule"),
        ("sigh", "config.yaml: tone.rules[0]: expected a mapping"),
    ],
)
def test_bad_extra_rules_name_the_rule_and_key(rule: Any, expected_error: str) -> None:
    with pytest.raises(BadInput) as raised:
        tone.load_rules([rule], source="config.yaml")
    assert str(raised.value).startswith(expected_error)


def test_a_disabled_builtin_id_can_be_reused() -> None:
    rule = dict(GOOD, id="unfair", pattern="unjust")
    rules = tone.load_rules([rule], disable=["unfair"])
    assert [f.rule for f in tone.check("It was unjust.", rules)] == ["unfair"]


def test_two_extra_rules_with_one_id_are_refused() -> None:
    with pytest.raises(BadInput, match=r"tone\.rules\[1\] \(id 'x'\): id is already used"):
        tone.load_rules([GOOD, GOOD])


def test_a_sentence_is_reported_once_an_error_first() -> None:
    text = ("WHY did you not pick me?? This is so unfair.\n"
            "PLEASE RECONSIDER!!\n"
            "I was SO READY for this role!!")
    assert [(f.line, f.rule, f.severity, f.excerpt) for f in tone.check(text)] == [
        (1, "demanding-why", "error", "WHY did you not pick me??"),
        (1, "unfair", "error", "unfair"),
        (2, "reconsider", "error", "PLEASE RECONSIDER"),
        (3, "shouting-capitals", "warning", "SO READY"),
    ]
