"""Tests for drafting: the scenario and tone matrix, question choice, user templates, sandbox."""

from __future__ import annotations

import re
import statistics
import textwrap
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from draft_feedback import drafting, tone, wording
from draft_feedback.addresses import Address
from draft_feedback.catalog import Catalog, load_catalog
from draft_feedback.config import Config, parse_config, user_config_dir
from draft_feedback.drafting import (
    DraftInput,
    choose_questions,
    copy_template,
    first_name,
    render,
    template_names,
    template_path,
)
from draft_feedback.errors import BadInput
from draft_feedback.resources import builtin_dir
from draft_feedback.wording import highlight_sentence

PRIYA = Address(name="Priya Shah", email="priya@example.com")
SIGNATURE = "Alex Rivera\nProduct designer"
SENDER_YAML = textwrap.dedent("""\
    sender:
      name: Alex Rivera
      email: alex@example.com
      signature: "Alex Rivera\\nProduct designer"
    timezone: Europe/Berlin
    language: en-GB
    """)

# The built-in catalog, read once to build the matrix; user overrides cannot change it here.
BUILTIN = load_catalog(parse_config("timezone: Europe/Berlin\nlanguage: en-GB\n",
                                    Path("config.yaml")))
SCENARIOS = sorted(BUILTIN.scenarios)
TONES = ("warm", "formal", "brief")

# The sentence each built-in template uses to keep the door open, by scenario and tone.
FUTURE_LINE = {
    ("interview", "warm"): "I'd love to be considered when a suitable role comes up",
    ("interview", "formal"): "I would welcome the chance to be considered for future openings",
    ("interview", "brief"): "I'd be glad to be considered for future roles.",
    ("application", "warm"): "I'd love to be considered when a suitable role comes up",
    ("application", "formal"): "I would welcome the chance to be considered for future openings",
    ("application", "brief"): "I'd be glad to be considered for future roles.",
    ("promotion", "warm"): "I'm keen to put myself forward again when the time is right.",
    ("promotion", "formal"): "would welcome the chance to be considered again in a future cycle",
    ("promotion", "brief"): "I'm keen to try again next cycle.",
    ("manuscript", "warm"): "I'd be glad to send you my next project.",
    ("manuscript", "formal"): "I would be glad to send you my next project.",
    ("manuscript", "brief"): "I'd be glad to send you my next project.",
    ("pitch", "warm"): "I'd be glad to pitch to you again.",
    ("pitch", "formal"): "I would be glad to pitch to you again.",
    ("pitch", "brief"): "I'd be glad to pitch to you again.",
    ("grant", "warm"): "I'd be glad to apply to you again.",
    ("grant", "formal"): "I would be glad to apply to you again.",
    ("grant", "brief"): "I'd be glad to apply to you again.",
    ("journal-article", "warm"): "I'd be glad to submit to you again.",
    ("journal-article", "formal"): "I would be glad to submit to you again.",
    ("journal-article", "brief"): "I'd be glad to submit to you again.",
    ("admissions", "warm"): "I hope to apply again.",
    ("admissions", "formal"): "I hope to apply again, and would welcome the chance to be",
    ("admissions", "brief"): "I hope to apply again.",
    ("mentor", "warm"): "if you hear of something that could suit me, I'd love to know.",
    ("mentor", "formal"): "If you hear of an opening that could suit me, I would be glad",
    ("mentor", "brief"): "Do tell me if anything suitable comes up.",
}
# Words that only the door-opening sentence uses; none may appear when --no-future is given.
FUTURE_WORDS = ("future", "in mind", "suitable", "suit me", "next cycle", "next project",
                "time is right", "again")
# The one short clause about replying, by tone; requests say it once, and nothing else like it.
REASSURE = {"warm": "A line or two would be plenty.", "formal": "Even a sentence would be most "
            "helpful.", "brief": "A line is plenty."}
MENTOR_REASSURE = {"warm": "No rush; a few lines work too.", "formal": "Whenever suits you; a "
                   "short note works too.", "brief": "No rush."}
FILLER = ("i understand", "no need to reply", "put to good use", "long or short",
          "however brief", "if things are busy", "if you're busy", "along the way")
OWN_QUESTION = "what would you focus on first"


def make_config(tmp_path: Path, extra: str = "") -> Config:
    """Parse a config with a sender and signature, plus any extra YAML."""
    return parse_config(SENDER_YAML + textwrap.dedent(extra), tmp_path / "config.yaml")


def user_templates(tmp_path: Path, extra: str = "", **files: str) -> tuple[Config, Path]:
    """Write templates into a folder and return a config whose templates_dir points at it."""
    folder = tmp_path / "my-templates"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("__", ".")).write_text(text, encoding="utf-8")
    return make_config(tmp_path, f"templates_dir: {folder}\n" + textwrap.dedent(extra)), folder


def core(body: str) -> list[str]:
    """Return the words a reader reads: the body without the greeting and the sign-off."""
    lines = body.rstrip("\n").split("\n")
    last_blank = max(i for i, line in enumerate(lines) if not line.strip())
    return "\n".join(lines[1:last_blank]).split()


def first_question_end(body: str) -> int:
    """Return the number of words read up to the end of the first question."""
    words = core(body)
    return next(i + 1 for i, word in enumerate(words) if word.endswith("?"))


def choices(scenario: str) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Question choices over the scenario's areas: defaults, one to three, own, none."""
    offered = [a.id for a in BUILTIN.areas_for(scenario)]
    return {
        "defaults": ((), ()),
        "one-area": ((offered[-1],), ()),
        "two-areas": (tuple(offered[:2]), ()),
        "three-areas": (tuple(offered[:3]), ()),
        "two-areas-own": (tuple(offered[1:3]), (OWN_QUESTION,)),
        "thank-you-only": ((), ()),
    }


# One config for the matrix: parsing it per case would dominate the run time.
MATRIX_CONFIG = parse_config(SENDER_YAML, Path("config.yaml"))


def draw(config: Config, scenario: str, tone_name: str, areas: tuple[str, ...] = (),
         own: tuple[str, ...] = (), thank_you_only: bool = False, future: bool = True,
         org: str = "Acme", role: str = "Data Analyst",
         highlight: str = "the pairing exercise") -> drafting.Draft:
    catalog = BUILTIN if config is MATRIX_CONFIG else load_catalog(config)
    return render(DraftInput(scenario=scenario, to=PRIYA, org=org, role=role, areas=areas,
                             questions=own, future=future, tone=tone_name, highlight=highlight,
                             thank_you_only=thank_you_only), config, catalog)


@pytest.mark.parametrize("tone_name", TONES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_builtin_scenario_and_tone_renders_with_no_finding(scenario: str,
                                                                  tone_name: str) -> None:
    for label, (areas, own) in choices(scenario).items():
        for future in (True, False):
            for org, role in (("Acme", "Data Analyst"), ("", "")):
                check_draft(scenario, tone_name, areas, own, label == "thank-you-only", future,
                            org, role)


def check_draft(scenario: str, tone_name: str, areas: tuple[str, ...], own: tuple[str, ...],
                thank_you_only: bool, future: bool, org: str, role: str) -> None:
    """Assert what the reader of one built-in draft would check."""
    config = MATRIX_CONFIG
    catalog = BUILTIN
    draft = draw(config, scenario, tone_name, areas, own, thank_you_only, future, org, role)
    body, lower = draft.body, draft.body.lower()

    # Exactly the chosen questions, each verbatim, and no other question mark. A brief
    # request asks one default question; the others ask the scenario's defaults.
    defaults = catalog.scenarios[scenario].default_areas
    if thank_you_only:
        expected: tuple[str, ...] = ()
    elif not areas and not own:
        expected = tuple(catalog.areas[a].question
                         for a in (defaults[:1] if tone_name == "brief" else defaults))
    else:
        expected = tuple(catalog.areas[a].question for a in areas) + tuple(
            "What would you focus on first?" for _ in own)
    assert draft.questions == expected
    assert draft.thank_you_only is thank_you_only
    assert body.count("?") == len(expected)
    for question in expected:
        assert question in body

    # Thanks once (the sign-off aside), no filler, one short clause about replying.
    lines = body.rstrip("\n").splitlines()
    assert "\n".join(lines[-2:]) == SIGNATURE
    assert lines[-3].endswith(","), "a sign-off line comes before the signature"
    text = "\n".join(lines[:-3]).lower()
    assert text.count("thank") == 1, body
    assert not [f for f in FILLER if f in text and not (
        thank_you_only and f == "no need to reply")], body
    assert "I especially" not in body or tone_name == "warm"
    if thank_you_only:
        assert ("I'll keep you posted." if scenario == "mentor" else "need to reply.") in body
    else:
        reassure = (MENTOR_REASSURE if scenario == "mentor" else REASSURE)[tone_name]
        assert body.count(reassure) == 1, body
        # The first question ends within the first 45 words a reader reads.
        assert first_question_end(body) <= 45, body

    if future:
        assert FUTURE_LINE[(scenario, tone_name)] in body
    else:
        assert FUTURE_LINE[(scenario, tone_name)] not in body
        assert not [w for w in FUTURE_WORDS if w in lower], body

    assert body.endswith("\n")
    if org:
        assert org in body or role in body, "the request says what it is about"

    assert draft.subject and len(draft.subject) < 78
    assert "?" not in draft.subject
    assert "\n" not in draft.subject
    if thank_you_only:
        assert draft.subject.startswith("With thanks:")
    elif scenario != "mentor":
        count = {1: "A quick question", 2: "Two quick questions", 3: "Three quick questions"}
        assert draft.subject.startswith(count[len(expected)] + " about "), draft.subject
    assert tone.check(body) == []
    assert tone.check(draft.subject) == []


def test_the_matrix_covers_the_whole_builtin_catalog() -> None:
    assert set(SCENARIOS) == {"interview", "application", "promotion", "manuscript", "pitch",
                              "grant", "journal-article", "admissions", "mentor"}
    assert {s for s, _ in FUTURE_LINE} == set(SCENARIOS)


def test_length_over_the_whole_matrix() -> None:
    # Requests: median at most 100 words for warm and formal and 70 for brief, no draft
    # above 120; the first question ends by word 45 in every one.
    config = MATRIX_CONFIG
    for tone_name in TONES:
        sizes = []
        for scenario in SCENARIOS:
            offered = [a.id for a in BUILTIN.areas_for(scenario)]
            for count in range(4):
                for future in (True, False):
                    draft = draw(config, scenario, tone_name, tuple(offered[:count]),
                                 future=future)
                    sizes.append(len(core(draft.body)))
                    assert len(core(draft.body)) <= 120, draft.body
                    assert first_question_end(draft.body) <= 45, draft.body
        limit = 70 if tone_name == "brief" else 100
        assert statistics.median(sizes) <= limit, (tone_name, sorted(sizes))


def test_highlight_and_no_sender_still_read_well(tmp_path: Path) -> None:
    config = parse_config("timezone: Europe/Berlin\n", tmp_path / "config.yaml")
    draft = render(DraftInput(scenario="interview", to=PRIYA, org="Acme",
                              highlight="the pairing session."), config, load_catalog(config))
    assert "Thank you for the interview at Acme. I especially appreciated the pairing " \
           "session.\n" in draft.body
    assert draft.body.rstrip().endswith(drafting.SIGNATURE_PLACEHOLDER)
    assert tone.check(draft.body) == []


def test_an_explicit_subject_is_kept(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    draft = render(DraftInput(scenario="interview", to=PRIYA, subject="Re:  Your   application"),
                   config, load_catalog(config))
    assert draft.subject == "Re: Your application"


# --- choose_questions ----------------------------------------------------------------------


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return load_catalog(make_config(tmp_path))


def test_defaults_when_none_chosen(catalog: Catalog) -> None:
    chosen = choose_questions(DraftInput(scenario="interview", to=PRIYA), catalog, 3)
    defaults = catalog.scenarios["interview"].default_areas
    assert defaults
    assert chosen == tuple(catalog.areas[a].question for a in defaults)


def test_defaults_are_cut_to_the_limit(catalog: Catalog) -> None:
    chosen = choose_questions(DraftInput(scenario="promotion", to=PRIYA), catalog, 1)
    first = catalog.scenarios["promotion"].default_areas[0]
    assert chosen == (catalog.areas[first].question,)


def test_unknown_area_lists_the_valid_ids(catalog: Catalog) -> None:
    with pytest.raises(BadInput) as caught:
        choose_questions(DraftInput(scenario="interview", to=PRIYA, areas=("nope",)), catalog, 3)
    message = str(caught.value)
    assert "--ask" in message
    assert "'nope'" in message
    for area in catalog.areas_for("interview"):
        assert area.id in message
    assert "application-resume" not in message


def test_an_area_of_another_scenario_is_refused(catalog: Catalog) -> None:
    with pytest.raises(BadInput, match="--ask: unknown focus area 'application-resume'"):
        choose_questions(DraftInput(scenario="interview", to=PRIYA,
                                    areas=("application-resume",)), catalog, 3)


@pytest.mark.parametrize(
    ("areas", "questions", "limit", "expected_error"),
    [
        (("interview-clarity", "interview-take-home", "interview-skill-gap",
          "interview-differently"), (), 3, "4 questions chosen, at most 3"),
        (("interview-clarity",), ("one thing", "another thing"), 2,
         "3 questions chosen, at most 2"),
        ((), ("a", "b", "c", "d"), 3, "(defaults.max_questions)"),
    ],
)
def test_too_many_questions_names_the_limit(catalog: Catalog, areas: tuple[str, ...],
                                            questions: tuple[str, ...], limit: int,
                                            expected_error: str) -> None:
    inp = DraftInput(scenario="interview", to=PRIYA, areas=areas, questions=questions)
    with pytest.raises(BadInput) as caught:
        choose_questions(inp, catalog, limit)
    assert expected_error in str(caught.value)


@pytest.mark.parametrize(
    ("own", "expected"),
    [
        ("what would you focus on first", "What would you focus on first?"),
        ("What would you focus on first?", "What would you focus on first?"),
        ("  what   would you\nfocus on first.  ", "What would you focus on first?"),
        ("which skill matters most!", "Which skill matters most?"),
    ],
)
def test_own_questions_become_questions(catalog: Catalog, own: str, expected: str) -> None:
    inp = DraftInput(scenario="interview", to=PRIYA, questions=(own, "   "))
    assert choose_questions(inp, catalog, 3) == (expected,)


def test_areas_come_before_own_questions_and_repeats_are_dropped(catalog: Catalog) -> None:
    clarity = catalog.areas["interview-clarity"].question
    inp = DraftInput(scenario="interview", to=PRIYA, areas=("interview-clarity",),
                     questions=(clarity, "what else"))
    assert choose_questions(inp, catalog, 3) == (clarity, "What else?")


def test_thank_you_only_asks_nothing(tmp_path: Path, catalog: Catalog) -> None:
    inp = DraftInput(scenario="interview", to=PRIYA, areas=("interview-clarity",),
                     questions=("what else",), thank_you_only=True)
    assert choose_questions(inp, catalog, 3) == ()
    marked = load_catalog(make_config(tmp_path, """\
        scenarios:
          interview:
            thank_you_only: true
        """))
    assert choose_questions(DraftInput(scenario="interview", to=PRIYA), marked, 3) == ()
    draft = render(DraftInput(scenario="interview", to=PRIYA), make_config(tmp_path), marked)
    assert draft.thank_you_only and draft.questions == () and "?" not in draft.body


# --- user templates --------------------------------------------------------------------------


def test_a_template_in_templates_dir_overrides_the_builtin(tmp_path: Path) -> None:
    config, folder = user_templates(
        tmp_path,
        interview__txt__j2="Custom: thank you, {{ recipient_first }}.\n"
                           "{% for q in questions %}{{ q }}\n{% endfor %}{{ signature }}\n",
    )
    draft = render(DraftInput(scenario="interview", to=PRIYA, areas=("interview-clarity",)),
                   config, load_catalog(config))
    assert draft.body == ("Custom: thank you, Priya.\n"
                          "Which of my answers would you have liked to hear more on?\n"
                          f"{SIGNATURE}\n")
    # The other scenarios still use the built-ins.
    other = render(DraftInput(scenario="application", to=PRIYA), config, load_catalog(config))
    assert not other.body.startswith("Custom")

    names = dict(template_names(config))
    assert names["interview.txt.j2"] == f"yours, {folder}"
    assert names["application.txt.j2"] == "built-in"
    assert template_path(config, "interview.txt.j2") == folder / "interview.txt.j2"
    assert template_path(config, "application.txt.j2") == builtin_dir() / "application.txt.j2"


def test_template_names_lists_every_builtin(tmp_path: Path) -> None:
    names = dict(template_names(make_config(tmp_path)))
    assert {"interview.txt.j2", "application.txt.j2", "promotion.txt.j2", "submission.txt.j2",
            "mentor.txt.j2", "thank_you.txt.j2"} <= set(names)
    assert set(names.values()) == {"built-in"}


def test_templates_dir_defaults_to_the_user_config_folder(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    target = copy_template(config, "interview.txt.j2", force=False)
    assert target == user_config_dir() / "templates" / "interview.txt.j2"
    assert tmp_path in target.parents, "the autouse fixture keeps tests out of real folders"
    assert dict(template_names(config))["interview.txt.j2"].startswith("yours, ")


def test_copy_template_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    config, folder = user_templates(tmp_path)
    builtin = (builtin_dir() / "mentor.txt.j2").read_text(encoding="utf-8")
    target = copy_template(config, "mentor.txt.j2", force=False)
    assert target == folder / "mentor.txt.j2"
    assert target.read_text(encoding="utf-8") == builtin

    target.write_text("mine\n", encoding="utf-8")
    with pytest.raises(BadInput, match="already exists.*--force"):
        copy_template(config, "mentor.txt.j2", force=False)
    assert target.read_text(encoding="utf-8") == "mine\n"
    copy_template(config, "mentor.txt.j2", force=True)
    assert target.read_text(encoding="utf-8") == builtin


@pytest.mark.parametrize(
    ("name", "expected_error"),
    [
        ("nope.txt.j2", "no built-in template named 'nope.txt.j2'; choose one of:"),
        ("../x", "no built-in template named '../x'"),
        ("/etc/passwd", "no built-in template named '/etc/passwd'"),
    ],
)
def test_copy_template_refuses_unknown_names(tmp_path: Path, name: str,
                                             expected_error: str) -> None:
    config, folder = user_templates(tmp_path)
    with pytest.raises(BadInput) as caught:
        copy_template(config, name, force=True)
    assert expected_error in str(caught.value)
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "expected_error"),
    [
        ("../x", "'../x' is not a template name"),
        ("../../etc/passwd", "is not a template name"),
        ("/etc/passwd", "is not a template name"),
        (".hidden.j2", "is not a template name"),
        ("nope.txt.j2", "no template named 'nope.txt.j2'; choose one of: "),
    ],
)
def test_template_path_refuses_bad_names(tmp_path: Path, name: str,
                                         expected_error: str) -> None:
    config, _ = user_templates(tmp_path)
    with pytest.raises(BadInput) as caught:
        template_path(config, name)
    assert expected_error in str(caught.value)


# --- errors naming the file and line ------------------------------------------------------


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    config, folder = user_templates(
        tmp_path, interview__txt__j2="Hello {{ recipient_first }},\n\nThanks {% if %}\n")
    with pytest.raises(BadInput) as caught:
        render(DraftInput(scenario="interview", to=PRIYA), config, load_catalog(config))
    message = str(caught.value)
    assert f"{folder / 'interview.txt.j2'}:3: " in message
    assert "syntax error" in message


def test_an_undefined_variable_names_the_file_line_and_variable(tmp_path: Path) -> None:
    config, folder = user_templates(
        tmp_path, interview__txt__j2="Hello {{ recipient_first }},\nThanks {{ recipient_nmae }}\n")
    with pytest.raises(BadInput) as caught:
        render(DraftInput(scenario="interview", to=PRIYA), config, load_catalog(config))
    message = str(caught.value)
    assert f"{folder / 'interview.txt.j2'}:2: " in message
    assert "'recipient_nmae' is undefined" in message


def test_an_error_in_an_included_template_names_that_file(tmp_path: Path) -> None:
    config, folder = user_templates(
        tmp_path, interview__txt__j2='Hi\n{% include "part.txt.j2" %}\n',
        part__txt__j2="one\ntwo\n{{ missing_thing }}\n")
    with pytest.raises(BadInput) as caught:
        render(DraftInput(scenario="interview", to=PRIYA), config, load_catalog(config))
    assert f"{folder / 'part.txt.j2'}:3: " in str(caught.value)
    assert "missing_thing" in str(caught.value)


def test_a_subject_with_an_undefined_variable_names_its_key(tmp_path: Path) -> None:
    config = make_config(tmp_path, """\
        scenarios:
          interview:
            subject: "Thank you, {{ recipient_frist }}"
        """)
    with pytest.raises(BadInput) as caught:
        render(DraftInput(scenario="interview", to=PRIYA), config, load_catalog(config))
    message = str(caught.value)
    assert "scenarios.interview.subject" in message
    assert "recipient_frist" in message


def test_a_subject_with_a_syntax_error_names_its_key(tmp_path: Path) -> None:
    config = make_config(tmp_path, """\
        scenarios:
          interview:
            subject: "Thank you {% if %}"
        """)
    with pytest.raises(BadInput, match=r"scenarios\.interview\.subject:1: template syntax error"):
        render(DraftInput(scenario="interview", to=PRIYA), config, load_catalog(config))


def test_a_missing_template_is_named(tmp_path: Path) -> None:
    config = make_config(tmp_path, """\
        scenarios:
          audition:
            label: Audition
            template: audition.txt.j2
            subject: Thank you
        """)
    with pytest.raises(BadInput, match="audition.txt.j2: template not found"):
        render(DraftInput(scenario="audition", to=PRIYA, questions=("what next",)), config,
               load_catalog(config))


# --- hostile templates ---------------------------------------------------------------------

HOSTILE = [
    pytest.param("{{ ''.__class__.__mro__ }}", "not allowed in a template", id="mro"),
    pytest.param("{{ ().__class__.__base__.__subclasses__() }}",
                 "not allowed in a template", id="subclasses"),
    pytest.param("{{ ''|attr('__class__') }}", "not allowed in a template", id="attr-filter"),
    pytest.param("{{ 'x'.format.__globals__ }}", "not allowed in a template", id="format-globals"),
    pytest.param("{{ '{0.__class__}'.format('') }}",
                 "not allowed in a template", id="format-field-attr"),
    pytest.param("{{ 'x' * 10**8 }}", "too large", id="mul-pow"),
    pytest.param("{{ 'x' * 100000000 }}", "too large", id="mul-literal"),
    pytest.param("{{ 100000000 * 'x' }}", "too large", id="mul-reversed"),
    pytest.param("{{ 'x'.ljust(10**9) }}", "too large", id="ljust"),
    pytest.param("{{ ('a'*99999).replace('', 'b'*99999) }}", "too large", id="replace-bomb"),
    pytest.param("{{ ('a'*99999).join('b'*99999) }}", "too large", id="join-bomb"),
    pytest.param("{{ ('\t'*99999).expandtabs(99999) }}", "too large", id="expandtabs-bomb"),
    pytest.param("{{ 'x'|center(1000000000) }}", "too large", id="center-filter"),
    pytest.param("{{ '%999999999s' % 'x' }}", "the format width is too large", id="percent-width"),
    pytest.param("{{ '%(a)999999999s' % {'a': 'x'} }}",
                 "the format width is too large", id="percent-named-width"),
    pytest.param("{{ '%.999999999f' % 1.0 }}",
                 "the format width is too large", id="percent-precision"),
    pytest.param("{{ '%999999999s'|format('x') }}", "too large", id="format-filter-width"),
    pytest.param("{{ '{:>999999999}'.format('x') }}",
                 "the format width is too large", id="format-width"),
    pytest.param("{{ '{a:>999999999}'.format_map({'a': 'x'}) }}",
                 "the format width is too large", id="format-map-width"),
    pytest.param("{{ '{a:>{w}}'.format_map({'a': 'x', 'w': 999999999}) }}",
                 "the format width is too large", id="format-map-nested-width"),
    pytest.param("{{ '{0:>{1[0]}}'.format('x', [999999999]) }}",
                 "the format width is too large", id="format-nested-index-width"),
    pytest.param("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                 "ran for more than 1 seconds", id="nested-loop"),
    pytest.param("{% for i in range(10000) %}{{ 'y' * 50 }}{% endfor %}",
                 "renders more than 100,000 characters", id="output-cap"),
    pytest.param("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
                 "recurses too deeply", id="macro-recursion"),
    pytest.param("{{ range(10**9)|list }}", "too large", id="range-list"),
    pytest.param("{{ lipsum(10**6) }}", "too large", id="lipsum"),
    # Values built from small pieces that multiply: bounded by the child's memory and time.
    pytest.param("{% set a=[0]*100000 %}{% set b=[a]*100000 %}{{ (b|sum(start=[]))|length }}",
                 "ran for more than 1 seconds", id="sum-of-nested-lists"),
    pytest.param("{% set a=[0]*100000 %}{% set b=[a]*100000 %}{{ b|tojson|length }}",
                 "needs too much memory|ran for more than 1 seconds", id="tojson-of-nested-lists"),
    pytest.param('{% set ns = namespace(s="x"*100000) %}{% for i in range(40) %}'
                 "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
                 "needs too much memory|ran for more than 1 seconds", id="tilde-doubling"),
    pytest.param('{% set a=[0]*100000 %}{{ a|join("y"*100000)|length }}',
                 "needs too much memory|ran for more than 1 seconds",
                 id="join-filter-of-a-long-list"),
    pytest.param("{% set ns = namespace(l=[]) %}{% for i in range(100000) %}"
                 "{% set ns.l = ns.l + [ns.l] %}{% endfor %}{{ ns.l|string|length }}",
                 "needs too much memory|ran for more than 1 seconds|too large",
                 id="self-nesting-list"),
    pytest.param("{{ (range(100000)|list)|map('string')|join('x'*99999)|length }}",
                 "needs too much memory|ran for more than 1 seconds", id="map-join"),
    pytest.param("{{ cycler.__init__.__globals__ }}",
                 "not allowed in a template", id="cycler-globals"),
    pytest.param("{{ self.__init__.__globals__ }}", "not allowed in a template", id="self-globals"),
    pytest.param("{{ config }}", "'config' is undefined", id="config-undefined"),
    pytest.param("{{ request }}", "'request' is undefined", id="request-undefined"),
]


@pytest.mark.parametrize(("source", "expected_error"), HOSTILE)
def test_a_hostile_template_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             source: str, expected_error: str) -> None:
    monkeypatch.setattr(drafting, "MAX_RENDER_SECONDS", 1)
    config, folder = user_templates(tmp_path, interview__txt__j2=f"Thank you.\n{source}\n")
    catalog = load_catalog(config)
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(BadInput) as caught:
            render(DraftInput(scenario="interview", to=PRIYA), config, catalog)
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert any(e in message for e in expected_error.split("|")), message
    assert str(folder / "interview.txt.j2") in message
    assert elapsed < 4
    assert peak < 50_000_000, f"the render allocated {peak:,} bytes"


@pytest.mark.parametrize(
    ("subject", "expected_error"),
    [
        ("{{ ''.__class__.__mro__ }}", "not allowed in a template"),
        ("{{ 'x' * 10**8 }}", "too large"),
        ("{{ '{:>999999999}'.format('x') }}", "the format width is too large"),
        ("{{ config }}", "'config' is undefined"),
    ],
)
def test_a_hostile_subject_is_a_clear_error(tmp_path: Path, subject: str,
                                            expected_error: str) -> None:
    config = make_config(tmp_path, f"""\
        scenarios:
          interview:
            subject: "{subject}"
        """)
    with pytest.raises(BadInput) as caught:
        render(DraftInput(scenario="interview", to=PRIYA), config, load_catalog(config))
    assert "scenarios.interview.subject" in str(caught.value)
    assert expected_error in str(caught.value)


def test_a_benign_template_with_formatting_still_renders(tmp_path: Path) -> None:
    config, _ = user_templates(
        tmp_path,
        extra="""\
            scenarios:
              interview:
                subject: "Thank you, {{ '%s'|format(recipient_first) }} ({{ '%.1f' % 4.25 }})"
            """,
        interview__txt__j2=("Thank you, {{ recipient_first }}.\n"
                            "[{{ '{:>5}'.format('x') }}] [{{ '%-4s' % 'ab' }}] "
                            "[{{ '{a}:{b:>3}'.format(a=1, b=2) }}] {{ 'ab' * 3 }}\n"
                            "{{ signature }}\nCall me on +44 1234 567890.\n"),
    )
    draft = render(DraftInput(scenario="interview", to=PRIYA), config, load_catalog(config))
    assert draft.body == ("Thank you, Priya.\n"
                          "[    x] [ab  ] [1:  2] ababab\n"
                          f"{SIGNATURE}\nCall me on +44 1234 567890.\n")
    assert draft.subject == "Thank you, Priya (4.2)"


# --- first_name ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Dr. Priya Shah", "Priya"),
        ("Shah, Priya", "Priya"),
        ("", ""),
        ("priya@example.com", ""),
        ("Priya", "Priya"),
        ('"Priya Shah"', "Priya"),
        ("  Priya   Shah ", "Priya"),
        ("Prof. Dr. Priya Shah", "Priya"),
        ("Mx Sam Lee", "Sam"),
        ("Shah,", "Shah"),
        ("Dr.", ""),
        ("José Álvarez", "José"),
    ],
)
def test_first_name(name: str, expected: str) -> None:
    assert first_name(name) == expected


BOMBS = [
    "{% set a=[0]*100000 %}{% set b=[a]*100000 %}{{ b|tojson|length }}",
    '{% set ns = namespace(s="x"*100000) %}{% for i in range(40) %}'
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    '{% set a=[0]*100000 %}{{ a|join("y"*100000)|length }}',
]


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="the memory cap is Linux's")
@pytest.mark.parametrize("source", BOMBS, ids=["tojson", "tilde-doubling", "join"])
def test_new_with_a_memory_bomb_template_stays_small(tmp_path: Path, source: str) -> None:
    import json
    import subprocess
    import sys

    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "interview.txt.j2").write_text(source)
    (tmp_path / "config.yaml").write_text(SENDER_YAML + f"templates_dir: {folder}\n")
    command = [str(Path(sys.executable).with_name("draft-feedback")), "new", "--to", "P "
               "<p@example.com>", "--org", "Acme"]
    # A parent that reports the largest memory of the command and everything it started.
    probe = ("import json, resource, subprocess, sys, time; t = time.monotonic(); "
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "print(json.dumps([r.returncode, r.stderr, time.monotonic() - t, "
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))")
    env = {**__import__("os").environ, "DRAFT_FEEDBACK_CONFIG": str(tmp_path / "config.yaml"),
           "DRAFT_FEEDBACK_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True,
                         text=True, env=env, timeout=60, check=True).stdout
    code, stderr, elapsed, peak_kib = json.loads(out)
    assert code == 2
    assert stderr.startswith(f"Error: {folder / 'interview.txt.j2'}")
    assert "needs too much memory" in stderr or "ran for more than 5 seconds" in stderr
    assert "Traceback" not in stderr
    assert peak_kib < 400 * 1024, f"{peak_kib:,} KiB"
    assert elapsed < 20


# --- awkward input: what a new user types -------------------------------------------------

# name, organisation, role, highlight, own question (or None).
AWKWARD = [
    ("Dr. Ana Lopez", "The Guardian", "a Senior Editor role", "I really enjoyed meeting the team.",
     None),
    ("O'Brien, Seán", "ING", "an MSc place", "The tour of the lab", None),
    ("Maria Jensen", "", "The Salt Road", "you took the time to call me", None),
    ("Professor Ruth Marsh", "The Royal Ballet", "my novel, The Salt Road", "meeting the dancers",
     "Tell me which part of my CV was weakest"),
    ("", "The Guardian", "", "Seeing the studio!", None),
    ("Lee, Dr. Min", "University of Leeds", "our proposal on malaria vectors",
     "how clearly the panel explained the process", "what should I change first"),
    ("Sir David Hare", "The National Theatre", "the MSc in Data Science",
     "The candid feedback during the call.", None),
    ("jobs@example.com", "", "Data Analyst", "", "Was the portfolio the main gap?"),
]
DOUBLED = re.compile(r"\b(?:the|a|an|my|our) (?:the|a|an|my|our)\b", re.IGNORECASE)


@pytest.mark.parametrize("row", AWKWARD, ids=[r[0] or r[1] or "none" for r in AWKWARD])
def test_awkward_input_reads_well_in_every_scenario_and_tone(row: tuple[Any, ...]) -> None:
    name, org, role, highlight, own = row
    address = Address(name="" if "@" in name else name, email="x@example.com")
    for scenario in SCENARIOS:
        for tone_name in TONES:
            draft = render(DraftInput(scenario=scenario, to=address, org=org, role=role,
                                      highlight=highlight, questions=(own,) if own else (),
                                      tone=tone_name), MATRIX_CONFIG, BUILTIN)
            body = draft.body
            first = body.splitlines()[0]
            assert not DOUBLED.search(body + draft.subject), body
            assert "Dear The" not in first and "Hello The" not in first, first
            assert re.fullmatch(r"(Dear|Hi) [^,]+,|Hello,", first), first
            assert "appreciated I " not in body and "for you " not in body, body
            assert "enjoyed The" not in body and "appreciated The " not in body, body
            assert "!" not in body
            assert body.count("?") == len(draft.questions)
            assert all(q.endswith("?") and q.count("?") == 1 for q in draft.questions)
            if highlight:
                assert highlight_sentence(highlight, tone_name) in body, body
            if ", The Salt Road" in role and org and scenario in (
                    "manuscript", "pitch", "journal-article"):
                assert "my novel, The Salt Road, for" in body, body
            if scenario == "promotion" and role:
                assert " for promotion to " in body, body
            if scenario == "mentor":
                assert "A quick update on " not in body or "my application" in body or (
                    "the opportunity I mentioned" in body)
            assert tone.check(body) == [], body
            assert tone.check(draft.subject) == []


@pytest.mark.parametrize(
    ("scenario", "tone_name", "name", "org", "role", "highlight", "expected"),
    [
        ("interview", "formal", "Dr. Ana Lopez", "The Guardian", "Senior Editor",
         "I really enjoyed meeting the team.",
         ["Dear Dr Lopez,\n\nThank you for the interview for the Senior Editor position at The "
          "Guardian. I really enjoyed meeting the team.\n"]),
        ("interview", "warm", "O'Brien, Seán", "ING", "an MSc place", "The tour of the lab",
         ["Hi Seán,\n\nThank you for the interview for an MSc place at ING. I especially "
          "appreciated the tour of the lab.\n"]),
        ("application", "formal", "O'Brien, Seán", "ING", "", "",
         ["Dear Seán O'Brien,\n\nThank you for considering my application to ING.\n"]),
        ("application", "warm", "", "The Guardian", "a Senior Editor role",
         "you took the time to call me",
         ["Dear Hiring Team,\n\nThank you for considering my application for a Senior Editor "
          "role at The Guardian. I especially appreciated that you took the time to call me.\n"]),
        ("admissions", "formal", "", "University of Leeds", "an MSc place", "",
         ["Dear Admissions Team,\n\nThank you for considering my application for an MSc place "
          "at University of Leeds.\n"]),
        ("promotion", "formal", "Maria Jensen", "", "Senior Engineer", "",
         ["Dear Maria,\n\nThank you for your support with my case for promotion to Senior "
          "Engineer.\n"]),
        ("manuscript", "warm", "Ana Lopez", "Penguin", "my novel, The Salt Road", "",
         ["Dear Ana,\n\nThank you for considering my novel, The Salt Road, for Penguin.\n"]),
        ("grant", "formal", "", "Wellcome Trust", "our proposal on malaria vectors", "",
         ["Dear Review Panel,\n\nThank you for reviewing our proposal on malaria vectors for "
          "Wellcome Trust.\n", "We would be glad to apply to you again."]),
        ("grant", "warm", "", "", "our proposal", "",
         ["Your view on any of these would help us a great deal:\n"]),
        ("pitch", "brief", "", "", "", "meeting the dancers",
         ["Dear Editors,\n\nThanks for reading my pitch. I enjoyed meeting the dancers. One "
          "question, if you have a moment:\n"]),
        ("mentor", "warm", "Maria Jensen", "The Guardian", "Senior Editor", "",
         ["Hi Maria,\n\nA quick update on my application for the Senior Editor role at The "
          "Guardian: the answer was no this time.\n"]),
    ],
)
def test_awkward_input_gives_these_sentences(scenario: str, tone_name: str, name: str, org: str,
                                             role: str, highlight: str,
                                             expected: list[str]) -> None:
    draft = render(DraftInput(scenario=scenario, to=Address(name=name, email="x@example.com"),
                              org=org, role=role, highlight=highlight, tone=tone_name),
                   MATRIX_CONFIG, BUILTIN)
    for text in expected:
        assert text in draft.body, draft.body


@pytest.mark.parametrize(
    ("scenario", "role", "org", "subject"),
    [
        ("interview", "Data Analyst", "Acme",
         "Two quick questions about my interview for the Data Analyst role at Acme"),
        ("application", "an MSc place", "", "Two quick questions about my application for an "
         "MSc place"),
        ("application", "", "The Guardian",
         "Two quick questions about my application to The Guardian"),
        ("promotion", "Senior Engineer", "",
         "Two quick questions about my case for promotion to Senior Engineer"),
        ("manuscript", "The Salt Road", "Penguin", "Two quick questions about The Salt Road"),
        ("grant", "", "", "Two quick questions about my proposal"),
        ("journal-article", "our paper on soil carbon", "",
         "Two quick questions about our paper on soil carbon"),
        ("mentor", "Senior Editor", "The Guardian",
         "News on my application for the Senior Editor role, and a quick question"),
    ],
)
def test_subjects_signal_a_short_question(scenario: str, role: str, org: str,
                                          subject: str) -> None:
    draft = render(DraftInput(scenario=scenario, to=PRIYA, org=org, role=role), MATRIX_CONFIG,
                   BUILTIN)
    assert draft.subject == subject


def test_a_statement_given_as_a_question_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="--question: 'the portfolio' is not a question; write "
                                       "it as one"):
        render(DraftInput(scenario="interview", to=PRIYA, questions=("the portfolio",)),
               MATRIX_CONFIG, BUILTIN)


# --- spelling -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en-GB", "en-US"])
def test_one_spelling_standard_per_draft(tmp_path: Path, language: str) -> None:
    config = parse_config(SENDER_YAML.replace("language: en-GB", f"language: {language}"),
                          tmp_path / "config.yaml")
    catalog = load_catalog(config)
    foreign = re.compile(r"(?<![\w-])(" + "|".join(wording.FOREIGN[language]) + r")(?![\w-])",
                         re.IGNORECASE)
    seen = ""
    for scenario in SCENARIOS:
        for tone_name in TONES:
            for area in catalog.areas_for(scenario):
                draft = render(DraftInput(scenario=scenario, to=Address("Dr Ana Lopez", "a@x.io"),
                                          org="Acme", areas=(area.id,), tone=tone_name),
                               config, catalog)
                text = draft.subject + "\n" + draft.body + "\n" + area.label
                assert not foreign.search(text), (language, text)
                seen += text
            thanks = render(DraftInput(scenario=scenario, to=PRIYA, tone=tone_name,
                                       thank_you_only=True), config, catalog)
            assert not foreign.search(thanks.body + thanks.subject)
    # The drafts do use words that differ between the standards.
    if language == "en-US":
        assert "résumé" in seen and "Dr. Lopez" in seen
    else:
        assert " CV" in seen and "Dr Lopez" in seen


# --- mentor ---------------------------------------------------------------------------------


def test_a_mentor_hears_what_happened_the_feedback_so_far_and_is_asked_for_a_call() -> None:
    draft = render(DraftInput(scenario="mentor", to=Address("Maria Jensen", "m@example.com"),
                              org="The Guardian", role="Senior Editor",
                              context="they wanted more commissioning experience"),
                   MATRIX_CONFIG, BUILTIN)
    assert draft.body == (
        "Hi Maria,\n\n"
        "A quick update on my application for the Senior Editor role at The Guardian: the "
        "answer was no this time. They wanted more commissioning experience.\n\n"
        "I'd value your read on it:\n\n"
        "Would you have twenty minutes to talk it through?\n\n"
        "Thank you for your help with it. No rush; a few lines work too.\n\n"
        "And if you hear of something that could suit me, I'd love to know.\n\n"
        f"With thanks,\n{SIGNATURE}\n")
    assert draft.subject == ("News on my application for the Senior Editor role, and a quick "
                             "question")
    assert tone.check(draft.body) == []


def test_the_mentor_thank_you_ends_with_keeping_them_posted() -> None:
    draft = render(DraftInput(scenario="mentor", to=Address("Maria Jensen", "m@example.com"),
                              org="Acme", thank_you_only=True, future=False),
                   MATRIX_CONFIG, BUILTIN)
    assert draft.body == (
        "Hi Maria,\n\n"
        "A quick update on my application to Acme: the answer was no this time. Thank you for "
        "your help with it.\n\n"
        "I'll keep you posted.\n\n"
        f"With thanks,\n{SIGNATURE}\n")
    assert draft.subject == "With thanks: news on my application to Acme"


def test_the_mentor_context_comes_from_the_option_or_the_reflection(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from draft_feedback.workflow import NewOptions, prepare

    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    base = NewOptions(scenario="mentor", to="Maria Jensen <m@example.com>", org="Acme",
                      reflection=(("feedback-given", "They said my portfolio was thin"),))
    assert prepare(base, MATRIX_CONFIG, BUILTIN, now).draft.context == (
        "They said my portfolio was thin")
    given = replace(base, context="The panel wanted more data work")
    assert prepare(given, MATRIX_CONFIG, BUILTIN, now).draft.context == (
        "The panel wanted more data work")
    none = replace(base, reflection=(("feedback-given", "None."),))
    assert prepare(none, MATRIX_CONFIG, BUILTIN, now).draft.context == ""
    other = replace(base, scenario="interview")
    assert prepare(other, MATRIX_CONFIG, BUILTIN, now).draft.context == ""
    with pytest.raises(BadInput, match="--context: 301 characters is too long"):
        prepare(replace(base, context="x" * 301), MATRIX_CONFIG, BUILTIN, now)
