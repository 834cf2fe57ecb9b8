"""Tests for the catalog: the built-in scenarios and focus areas, config overrides, suggestions."""

from __future__ import annotations

import textwrap
import unicodedata
from pathlib import Path

import pytest

from draft_feedback import tone
from draft_feedback.addresses import Address
from draft_feedback.catalog import Catalog, load_catalog
from draft_feedback.config import Config, parse_config
from draft_feedback.drafting import DraftInput, render
from draft_feedback.errors import BadInput
from draft_feedback.resources import builtin_dir, load_yaml

PRIYA = Address(name="Priya Shah", email="priya@example.com")
BUILTIN_SCENARIOS = ("interview", "application", "promotion", "manuscript", "pitch", "grant",
                     "journal-article", "admissions", "mentor")


def make_config(tmp_path: Path, extra: str = "") -> Config:
    """Parse a config with a sender, plus any extra YAML."""
    text = "sender: {name: Alex Rivera, email: alex@example.com}\ntimezone: Europe/Berlin\n"
    return parse_config(text + textwrap.dedent(extra), tmp_path / "config.yaml")


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return load_catalog(make_config(tmp_path))


# --- the built-in catalog ----------------------------------------------------------------


def test_the_builtin_scenarios(catalog: Catalog) -> None:
    assert set(catalog.scenarios) == set(BUILTIN_SCENARIOS)


@pytest.mark.parametrize("scenario_id", BUILTIN_SCENARIOS)
def test_every_builtin_scenario_is_complete(catalog: Catalog, scenario_id: str) -> None:
    scenario = catalog.scenario(scenario_id)
    assert scenario.id == scenario_id
    assert scenario.label.strip()
    assert scenario.description.strip()
    assert (builtin_dir() / scenario.template).is_file()
    assert scenario.subject.strip()
    assert not scenario.thank_you_only
    offered = catalog.areas_for(scenario_id)
    assert len(offered) >= 5
    assert scenario.default_areas
    assert len(set(scenario.default_areas)) == len(scenario.default_areas)
    for area_id in scenario.default_areas:
        assert catalog.area(area_id, scenario_id) in offered


def test_the_thank_you_template_exists() -> None:
    assert (builtin_dir() / "thank_you.txt.j2").is_file()


@pytest.mark.parametrize("area_id", sorted(load_catalog(
    parse_config("timezone: Europe/Berlin\n", Path("config.yaml"))).areas))
def test_every_focus_area_asks_one_forward_looking_question(catalog: Catalog,
                                                           area_id: str) -> None:
    area = catalog.areas[area_id]
    assert area.label.strip()
    question = area.question
    assert question.endswith("?")
    assert question.count("?") == 1
    assert not question.lower().startswith("why")
    assert question == " ".join(question.split())
    assert question[0].isupper()
    assert area.scenarios and set(area.scenarios) <= set(BUILTIN_SCENARIOS)
    assert area.keywords
    assert all(k == k.lower() for k in area.keywords)
    assert tone.check(question) == []


def test_area_ids_are_unique_to_their_scenario(catalog: Catalog) -> None:
    # The ids are prefixed with their scenario, so `--ask` reads the same in every guide.
    for area in catalog.areas.values():
        assert len(area.scenarios) == 1
        assert area.id.startswith(area.scenarios[0] + "-")


def test_the_reflection_questions_and_automated_senders_are_loaded(catalog: Catalog) -> None:
    assert len(catalog.reflection) >= 3
    assert all(r.question.endswith("?") for r in catalog.reflection)
    assert "greenhouse.io" in catalog.automated.domains
    assert "noreply" in catalog.automated.local_parts
    assert "do not reply" in catalog.automated.phrases


def test_an_unknown_scenario_lists_the_valid_ones(catalog: Catalog) -> None:
    with pytest.raises(BadInput) as caught:
        catalog.scenario("interveiw")
    message = str(caught.value)
    assert message.startswith("--scenario: unknown scenario 'interveiw'; choose one of ")
    for scenario_id in BUILTIN_SCENARIOS:
        assert scenario_id in message


# --- config overrides --------------------------------------------------------------------


def test_reword_an_area_by_id(tmp_path: Path, catalog: Catalog) -> None:
    changed = load_catalog(make_config(tmp_path, """\
        focus_areas:
          interview-clarity:
            question: "How could I keep my answers shorter?"
        """))
    area = changed.area("interview-clarity", "interview")
    before = catalog.areas["interview-clarity"]
    assert area.question == "How could I keep my answers shorter?"
    assert (area.label, area.scenarios, area.keywords) == (
        before.label, before.scenarios, before.keywords)
    # The order of the areas stays the catalog's.
    assert [a.id for a in changed.areas_for("interview")] == [
        a.id for a in catalog.areas_for("interview")]
    draft = render(DraftInput(scenario="interview", to=PRIYA, areas=("interview-clarity",)),
                   make_config(tmp_path), changed)
    assert "How could I keep my answers shorter?" in draft.body
    assert before.question not in draft.body


def test_move_an_area_to_another_scenario(tmp_path: Path) -> None:
    changed = load_catalog(make_config(tmp_path, """\
        focus_areas:
          interview-clarity:
            scenarios: [interview, mentor]
            keywords: [waffle]
        """))
    assert changed.area("interview-clarity", "mentor").keywords == ("waffle",)
    assert [a.id for a in changed.suggest("mentor", ["I waffle"])] == ["interview-clarity"]


def test_add_a_new_area(tmp_path: Path) -> None:
    changed = load_catalog(make_config(tmp_path, """\
        focus_areas:
          interview-portfolio-talk:
            label: The portfolio walkthrough
            question: "How could I walk through my portfolio more clearly?"
            scenarios: [interview, application]
            keywords: [Walkthrough]
        """))
    area = changed.area("interview-portfolio-talk", "application")
    assert area.label == "The portfolio walkthrough"
    assert area.keywords == ("walkthrough",)
    assert changed.areas_for("interview")[-1] is area
    assert changed.suggest("interview", ["The walkthrough dragged"]) == [area]


@pytest.mark.parametrize(
    ("entry", "expected_error"),
    [
        ({"question": "What next?", "scenarios": "[interview]"}, "needs label"),
        ({"label": "Next", "scenarios": "[interview]"}, "needs question"),
        ({"label": "Next", "question": "What next?"}, "needs scenarios"),
        ({"scenarios": "[interview]"}, "needs label, question"),
    ],
)
def test_a_new_area_needs_label_question_and_scenarios(tmp_path: Path, entry: dict[str, str],
                                                       expected_error: str) -> None:
    lines = "".join(f"    {key}: {value!s}\n" if key == "scenarios" else f'    {key}: "{value}"\n'
                    for key, value in entry.items())
    config = make_config(tmp_path, "focus_areas:\n  my-area:\n" + lines)
    with pytest.raises(BadInput) as caught:
        load_catalog(config)
    message = str(caught.value)
    assert "focus_areas.my-area" in message
    assert f"{tmp_path / 'config.yaml'}:4:" in message
    assert expected_error in message


def test_add_a_new_scenario_with_its_own_areas(tmp_path: Path) -> None:
    config = make_config(tmp_path, """\
        scenarios:
          audition:
            label: Audition
            description: After an audition was declined.
            template: submission.txt.j2
            subject: "Thank you for reading {{ role or 'my proposal' }}"
            default_areas: [audition-piece]
            cooling_off_hours: 96
        focus_areas:
          audition-piece:
            label: The piece
            question: "Which piece would you change first?"
            scenarios: [audition]
          audition-aims:
            label: The aims
            question: "How could the aims be sharper?"
            scenarios: [audition]
        """)
    catalog = load_catalog(config)
    audition = catalog.scenario("audition")
    assert (audition.label, audition.template, audition.default_areas,
            audition.cooling_off_hours) == (
        "Audition", "submission.txt.j2", ("audition-piece",), 96)
    assert [a.id for a in catalog.areas_for("audition")] == ["audition-piece", "audition-aims"]
    draft = render(DraftInput(scenario="audition", to=PRIYA, role="Soil Survey 2026"), config,
                   catalog)
    assert draft.subject == "Thank you for reading Soil Survey 2026"
    assert draft.questions == ("Which piece would you change first?",)
    assert draft.body.count("?") == 1
    assert set(BUILTIN_SCENARIOS) < set(catalog.scenarios)


def test_override_a_builtin_scenario(tmp_path: Path, catalog: Catalog) -> None:
    changed = load_catalog(make_config(tmp_path, """\
        scenarios:
          interview:
            subject: "Thanks for the interviews"
            default_areas: [interview-clarity]
            cooling_off_hours: 24
        """))
    interview = changed.scenario("interview")
    assert interview.subject == "Thanks for the interviews"
    assert interview.default_areas == ("interview-clarity",)
    assert interview.cooling_off_hours == 24
    assert interview.label == catalog.scenarios["interview"].label
    assert interview.template == "interview.txt.j2"


@pytest.mark.parametrize(
    ("extra", "expected_error"),
    [
        ("scenarios:\n  audition:\n    label: Audition\n    template: submission.txt.j2\n",
         "scenarios.audition: a new scenario needs subject"),
        ("scenarios:\n  audition:\n    subject: Thanks\n",
         "scenarios.audition: a new scenario needs label, template"),
        ("focus_areas:\n  my-area:\n    label: A\n    question: B?\n    scenarios: [nope]\n",
         "focus_areas.my-area.scenarios: unknown scenario 'nope'; choose from admissions, "
         "application"),
        ("focus_areas:\n  interview-clarity:\n    scenarios: [interview, nope]\n",
         "focus_areas.interview-clarity.scenarios: unknown scenario 'nope'"),
        ("scenarios:\n  interview:\n    default_areas: [application-cv]\n",
         "scenarios.interview: default area 'application-cv' is not a focus area of "
         "scenario 'interview'"),
        ("scenarios:\n  interview:\n    default_areas: [nope]\n",
         "default area 'nope' is not a focus area"),
        ("focus_areas:\n  interview-skill-gap:\n    scenarios: [mentor]\n",
         "default area 'interview-skill-gap' is not a focus area of scenario 'interview'"),
    ],
)
def test_bad_overrides_name_the_entry(tmp_path: Path, extra: str, expected_error: str) -> None:
    with pytest.raises(BadInput) as caught:
        load_catalog(make_config(tmp_path, extra))
    assert expected_error in str(caught.value)


# --- suggestions from the reflection answers ------------------------------------------------


@pytest.mark.parametrize(
    ("scenario_id", "answers", "expected"),
    [
        ("application", ["my portfolio was thin"], "application-portfolio"),
        ("interview", ["I didn't have enough Kubernetes experience"], "interview-skill-gap"),
        ("interview", ["I RAMBLED", "and got nervous"], "interview-clarity"),
        ("application", ["My cover letter was generic"], "application-cover-letter"),
        ("application", ["mon résumé était trop long"], "application-cv"),
        ("application", ["Mon RÉSUMÉ était trop long"], "application-cv"),
        ("application", [unicodedata.normalize("NFD", "mon résumé était trop long")],
         "application-cv"),
        ("submission", ["The query letter felt flat"], "manuscript-query-letter"),
        ("mentor", ["I think my résumé undersold me"], "mentor-positioning"),
    ],
    ids=["portfolio", "kubernetes", "shouted", "cover-letter", "accented", "accented-capitals",
         "accented-decomposed", "phrase", "mentor-accented"],
)
def test_suggest_finds_areas_by_keyword(catalog: Catalog, scenario_id: str, answers: list[str],
                                        expected: str) -> None:
    assert expected in [a.id for a in catalog.suggest(scenario_id, answers)]


def test_suggest_offers_only_the_scenarios_areas(catalog: Catalog) -> None:
    found = catalog.suggest("interview", ["my portfolio was thin", "my résumé was long"])
    assert found and all("interview" in a.scenarios for a in found)
    assert catalog.suggest("application", ["the weather was lovely"]) == []
    assert catalog.suggest("application", []) == []


def test_suggest_matches_whole_words_and_phrases(catalog: Catalog) -> None:
    # "cv" must not match inside "cvs"; a phrase keyword needs its words together.
    assert "application-cv" not in [a.id for a in catalog.suggest("application", ["cvs"])]
    assert [a.id for a in catalog.suggest("interview", ["The take home was hard"])] == [
        "interview-take-home"]
    assert catalog.suggest("interview", ["I take the bus home"]) == []


def test_suggest_accepts_any_iterable(catalog: Catalog) -> None:
    # A generator is read once; the phrase keyword "take home" must still be seen.
    answers = (text for text in ["The take home was hard"])
    assert [a.id for a in catalog.suggest("interview", answers)] == ["interview-take-home"]


def test_suggest_keeps_catalog_order(catalog: Catalog) -> None:
    found = [a.id for a in catalog.suggest(
        "interview", ["I lacked Kubernetes experience", "I rambled"])]
    order = [a.id for a in catalog.areas_for("interview")]
    assert found == sorted(found, key=order.index)
    assert {"interview-clarity", "interview-skill-gap"} <= set(found)


@pytest.mark.parametrize("name", ["catalog.yaml", "tone_rules.yaml"])
def test_shipped_yaml_reads_the_same_with_the_fast_loader(name: str) -> None:
    import yaml

    path = builtin_dir() / name
    assert load_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8"))


# --- old ids, spelling ------------------------------------------------------------------------


def test_submission_is_an_alias_of_manuscript(tmp_path: Path, catalog: Catalog) -> None:
    assert "submission" not in catalog.scenarios
    assert catalog.scenario("submission").id == "manuscript"
    assert catalog.areas_for("submission") == catalog.areas_for("manuscript")
    # An old area id still asks the question of the area that replaced it.
    assert catalog.area("submission-opening", "submission").id == "manuscript-opening"
    # A config written for submission changes the manuscript scenario and its areas.
    changed = load_catalog(make_config(tmp_path, """\
        defaults: {scenario: submission}
        scenarios:
          submission:
            default_areas: [submission-query-letter]
        focus_areas:
          submission-opening:
            question: "Did the first page hold you?"
          my-synopsis:
            label: My synopsis
            question: "Was the synopsis clear?"
            scenarios: [submission]
        """))
    manuscript = changed.scenario("submission")
    assert manuscript.default_areas == ("manuscript-query-letter",)
    assert changed.areas["manuscript-opening"].question == "Did the first page hold you?"
    assert changed.areas["my-synopsis"].scenarios == ("manuscript",)
    draft = render(DraftInput(scenario="submission", to=PRIYA, role="The Salt Road"),
                   make_config(tmp_path), changed)
    assert draft.questions == ("What would make my query letter more compelling?",)
    assert draft.subject == "A quick question about The Salt Road"


def test_every_builtin_scenario_has_its_own_team_greeting(catalog: Catalog) -> None:
    teams = {sid: s.team for sid, s in catalog.scenarios.items() if not s.personal}
    assert teams == {"interview": "Hiring Team", "application": "Hiring Team",
                     "manuscript": "Editorial Team", "pitch": "Editors", "grant": "Review Panel",
                     "journal-article": "Editors", "admissions": "Admissions Team"}
    assert {sid for sid, s in catalog.scenarios.items() if s.personal} == {"promotion", "mentor"}


def test_the_catalog_is_respelled_for_en_us(tmp_path: Path) -> None:
    catalog = load_catalog(parse_config("timezone: Europe/Berlin\nlanguage: en-GB\n",
                                        tmp_path / "config.yaml"))
    us = load_catalog(parse_config("timezone: Europe/Berlin\nlanguage: en-US\n",
                                   tmp_path / "config.yaml"))
    assert us.areas["application-cv"].label == "My résumé"
    assert us.areas["application-cv"].question == (
        "What one change to my résumé would help most for roles like this?")
    assert catalog.areas["application-cv"].label == "My CV"
    assert us.areas["mentor-rehearse"].label == "What to practice before the next one"
    assert catalog.areas["mentor-rehearse"].label == "What to practise before the next one"
    # What a user wrote keeps its spelling.
    mine = load_catalog(parse_config(
        "timezone: Europe/Berlin\nlanguage: en-US\nfocus_areas:\n  application-cv:\n"
        "    label: My CV and organisation\n", tmp_path / "config.yaml"))
    assert mine.areas["application-cv"].label == "My CV and organisation"
