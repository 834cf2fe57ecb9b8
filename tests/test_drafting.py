"""Tests for drafting: the scenario and tone matrix, question choice, user templates, sandbox."""

from __future__ import annotations

import textwrap
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from draft_feedback import drafting, tone
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

PRIYA = Address(name="Priya Shah", email="priya@example.com")
SIGNATURE = "Alex Rivera\nProduct designer"
SENDER_YAML = textwrap.dedent("""\
    sender:
      name: Alex Rivera
      email: alex@example.com
      signature: "Alex Rivera\\nProduct designer"
    timezone: Europe/Berlin
    """)

# The built-in catalog, read once to build the matrix; user overrides cannot change it here.
BUILTIN = load_catalog(parse_config("timezone: Europe/Berlin\n", Path("config.yaml")))
SCENARIOS = sorted(BUILTIN.scenarios)
TONES = ("warm", "formal", "brief")

# The sentence each built-in template uses to keep the door open, by scenario and tone.
FUTURE_LINE = {
    ("interview", "warm"): "would love to be considered when a suitable role comes up",
    ("interview", "formal"): "would welcome the chance to be considered for future openings",
    ("interview", "brief"): "I'd be glad to be considered for future roles.",
    ("application", "warm"): "would love to be considered when a suitable role comes up",
    ("application", "formal"): "would welcome the chance to be considered for future openings",
    ("application", "brief"): "Do keep me in mind for future openings.",
    ("promotion", "warm"): "I'm keen to put myself forward again when the time is right.",
    ("promotion", "formal"): "would welcome the chance to be considered again in a future cycle",
    ("promotion", "brief"): "I'm keen to try again next cycle.",
    ("submission", "warm"): "I'd be glad to send you my next project when it's ready.",
    ("submission", "formal"): "I would be glad to submit future work to",
    ("submission", "brief"): "I'd be glad to send you future work.",
    ("mentor", "warm"): "if you hear of something that could suit me, I'd love to know.",
    ("mentor", "formal"): "If you hear of an opening that could suit me, I would be glad",
    ("mentor", "brief"): "Do tell me if anything suitable comes up.",
}
# Words that only the door-opening sentence uses; none may appear when --no-future is given.
FUTURE_WORDS = ("future", "in mind", "suitable", "suit me", "next cycle", "next project",
                "time is right", "again")
# Each request template says, one way or another, that a reply of any length is welcome.
ANY_LENGTH = ("any length", "a line or two", "even a line", "a line is plenty", "a few lines",
              "a sentence", "however brief", "however short", "long or short")
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


def choice_cases() -> list[Any]:
    """Every scenario x tone x question choice x future x organisation, then thank-you-only."""
    cases = []
    for sid in SCENARIOS:
        offered = [a.id for a in BUILTIN.areas_for(sid)]
        choices = {
            "defaults": ((), ()),
            "one-area": ((offered[-1],), ()),
            "three-areas": (tuple(offered[:3]), ()),
            "two-areas-own": (tuple(offered[1:3]), (OWN_QUESTION,)),
            "thank-you-only": ((), ()),
        }
        for tone_name in TONES:
            for label, (areas, own) in choices.items():
                for future in (True, False):
                    for org, role in (("Acme Robotics", "Senior Product Designer"), ("", "")):
                        cases.append(pytest.param(
                            sid, tone_name, areas, own, label == "thank-you-only", future,
                            org, role,
                            id=f"{sid}-{tone_name}-{label}-{'future' if future else 'nofuture'}"
                               f"-{'org' if org else 'noorg'}",
                        ))
    return cases


@pytest.mark.parametrize(
    ("scenario", "tone_name", "areas", "own", "thank_you_only", "future", "org", "role"),
    choice_cases(),
)
def test_every_builtin_scenario_and_tone_renders_with_no_finding(
    tmp_path: Path, scenario: str, tone_name: str, areas: tuple[str, ...],
    own: tuple[str, ...], thank_you_only: bool, future: bool, org: str, role: str,
) -> None:
    config = make_config(tmp_path)
    catalog = load_catalog(config)
    draft = render(DraftInput(scenario=scenario, to=PRIYA, org=org, role=role, areas=areas,
                              questions=own, future=future, tone=tone_name,
                              thank_you_only=thank_you_only), config, catalog)
    body, lower = draft.body, draft.body.lower()

    # Exactly the chosen questions, each verbatim, and no other question mark.
    if thank_you_only:
        expected: tuple[str, ...] = ()
    elif not areas and not own:
        expected = tuple(catalog.areas[a].question
                         for a in catalog.scenarios[scenario].default_areas)
    else:
        expected = tuple(catalog.areas[a].question for a in areas) + tuple(
            "What would you focus on first?" for _ in own)
    assert draft.questions == expected
    assert draft.thank_you_only is thank_you_only
    assert body.count("?") == len(expected)
    for question in expected:
        assert question in body

    assert "thank" in lower
    assert "Priya" in body
    assert len(body.split()) < 180
    if thank_you_only:
        assert "no need to reply" in lower
    else:
        assert any(phrase in lower for phrase in ANY_LENGTH), body

    if future:
        assert FUTURE_LINE[(scenario, tone_name)] in body
    else:
        assert FUTURE_LINE[(scenario, tone_name)] not in body
        assert not [w for w in FUTURE_WORDS if w in lower], body

    assert body.endswith("\n")
    lines = body.rstrip("\n").splitlines()
    assert "\n".join(lines[-2:]) == SIGNATURE
    assert lines[-3].endswith(","), "a sign-off line comes before the signature"
    if org:
        assert org in body or role in body, "the request says what it is about"

    assert draft.subject and len(draft.subject) < 78
    assert "?" not in draft.subject
    assert "\n" not in draft.subject
    assert tone.check(body) == []
    assert tone.check(draft.subject) == []


def test_the_matrix_covers_the_whole_builtin_catalog() -> None:
    assert set(SCENARIOS) == {"interview", "application", "promotion", "submission", "mentor"}
    assert {s for s, _ in FUTURE_LINE} == set(SCENARIOS)


def test_highlight_and_no_sender_still_read_well(tmp_path: Path) -> None:
    config = parse_config("timezone: Europe/Berlin\n", tmp_path / "config.yaml")
    draft = render(DraftInput(scenario="interview", to=PRIYA, org="Acme",
                              highlight="the pairing session."), config, load_catalog(config))
    assert "I especially enjoyed the pairing session. " in draft.body
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
          "interview-team-fit"), (), 3, "4 questions chosen, at most 3"),
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
                          "How could I make my answers clearer and more concise?\n"
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
          grant:
            label: Grant
            template: grant.txt.j2
            subject: Thank you
        """)
    with pytest.raises(BadInput, match="grant.txt.j2: template not found"):
        render(DraftInput(scenario="grant", to=PRIYA, questions=("what next",)), config,
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
    assert expected_error in message
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
