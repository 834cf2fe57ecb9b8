"""Tests for wording: typed slots made grammatical, and the two spelling standards."""

from __future__ import annotations

import pytest

from draft_feedback import wording
from draft_feedback.wording import (
    NotAQuestion,
    as_question,
    greeting,
    highlight_sentence,
    inner,
    language_from_locale,
    owner,
    promotion,
    respell,
    sentence,
    split_name,
    the,
    work,
)


@pytest.mark.parametrize(
    ("display", "formal", "warm", "formal_us"),
    [
        ("Dr. Ana Lopez", "Dear Dr Lopez,", "Hi Ana,", "Dear Dr. Lopez,"),
        ("Dr Ana Lopez", "Dear Dr Lopez,", "Hi Ana,", "Dear Dr. Lopez,"),
        ("O'Brien, Seán", "Dear Seán O'Brien,", "Hi Seán,", "Dear Seán O'Brien,"),
        ("Lopez, Dr. Ana", "Dear Dr Lopez,", "Hi Ana,", "Dear Dr. Lopez,"),
        ("Professor Ruth Marsh", "Dear Professor Marsh,", "Hi Ruth,", "Dear Professor Marsh,"),
        ("Prof. Dr. Priya Shah", "Dear Professor Shah,", "Hi Priya,", "Dear Professor Shah,"),
        ("Mx Jo Park", "Dear Mx Park,", "Hi Jo,", "Dear Mx. Park,"),
        ("Sir David Hare", "Dear Sir David,", "Hi David,", "Dear Sir David,"),
        ("Ana Lopez, PhD", "Dear Ana Lopez,", "Hi Ana,", "Dear Ana Lopez,"),
        ("Ludwig van Beethoven", "Dear Ludwig van Beethoven,", "Hi Ludwig,",
         "Dear Ludwig van Beethoven,"),
        ("Dr Lopez", "Dear Dr Lopez,", "Dear Dr Lopez,", "Dear Dr. Lopez,"),
        ("Chen", "Dear Chen,", "Hi Chen,", "Dear Chen,"),
        ('"Priya Shah"', "Dear Priya Shah,", "Hi Priya,", "Dear Priya Shah,"),
    ],
)
def test_greeting_from_a_display_name(display: str, formal: str, warm: str,
                                      formal_us: str) -> None:
    assert greeting(display, "formal", "Hiring Team") == formal
    assert greeting(display, "warm", "Hiring Team") == warm
    assert greeting(display, "formal", "Hiring Team", language="en-US") == formal_us


@pytest.mark.parametrize(
    ("display", "expected"),
    [("Maria Jensen", "Dear Maria,"), ("Dr. Maria Jensen", "Dear Maria,"),
     ("Jensen, Maria", "Dear Maria,"), ("", "Hello,"), ("Dr Jensen", "Dear Dr Jensen,")],
)
def test_ones_own_manager_is_greeted_by_first_name_even_formally(display: str,
                                                                 expected: str) -> None:
    assert greeting(display, "formal", "", personal=True) == expected
    assert greeting(display, "warm", "", personal=True) == expected.replace("Dear Maria",
                                                                              "Hi Maria")


@pytest.mark.parametrize(
    ("display", "team", "tone", "expected"),
    [
        ("", "Hiring Team", "formal", "Dear Hiring Team,"),
        ("", "Hiring Team", "warm", "Dear Hiring Team,"),
        ("", "Admissions Team", "formal", "Dear Admissions Team,"),
        ("", "Editors", "brief", "Dear Editors,"),
        ("", "Review Panel", "formal", "Dear Review Panel,"),
        ("jobs@example.com", "Hiring Team", "formal", "Dear Hiring Team,"),
        ("Dr.", "", "formal", "Hello,"),
        ("", "", "warm", "Hello,"),
        ("Ana Lopez", "Editors", "warm", "Dear Ana,"),
        ("Ana Lopez", "Hiring Team", "brief", "Hi Ana,"),
    ],
)
def test_without_a_name_the_scenarios_team_is_greeted(display: str, team: str, tone: str,
                                                      expected: str) -> None:
    assert greeting(display, tone, team) == expected


def test_split_name() -> None:
    assert split_name("Lee, Dr. Min") == wording.Name("Dr", "Min", "Lee")
    assert split_name("priya@example.com") == wording.Name("", "", "")
    assert split_name("Shah,") == wording.Name("", "Shah", "")


@pytest.mark.parametrize(
    ("typed", "warm", "formal"),
    [
        ("I really enjoyed meeting the team.", "I really enjoyed meeting the team.",
         "I really enjoyed meeting the team."),
        ("The tour of the lab", "I especially appreciated the tour of the lab.",
         "I particularly appreciated the tour of the lab."),
        ("you took the time to call me",
         "I especially appreciated that you took the time to call me.",
         "I particularly appreciated that you took the time to call me."),
        ("meeting the dancers", "I especially enjoyed meeting the dancers.",
         "I particularly enjoyed meeting the dancers."),
        ("Seeing the studio!", "I especially enjoyed seeing the studio.",
         "I particularly enjoyed seeing the studio."),
        ("Your detailed notes on chapter two",
         "I especially appreciated your detailed notes on chapter two.",
         "I particularly appreciated your detailed notes on chapter two."),
        ("how clearly the panel explained the process",
         "I especially appreciated how clearly the panel explained the process.",
         "I particularly appreciated how clearly the panel explained the process."),
        ("The candid feedback during the call.",
         "I especially appreciated the candid feedback during the call.",
         "I particularly appreciated the candid feedback during the call."),
        ("that you read the whole script",
         "I especially appreciated that you read the whole script.",
         "I particularly appreciated that you read the whole script."),
        ("Thank you for the tour", "I especially appreciated the tour.",
         "I particularly appreciated the tour."),
        ("the panel explained everything clearly",
         "I especially appreciated that the panel explained everything clearly.",
         "I particularly appreciated that the panel explained everything clearly."),
        ("It was great to meet Sam", "It was great to meet Sam.", "It was great to meet Sam."),
        ("Kubernetes deep-dive", "I especially appreciated Kubernetes deep-dive.",
         "I particularly appreciated Kubernetes deep-dive."),
        ("NHS case study", "I especially appreciated NHS case study.",
         "I particularly appreciated NHS case study."),
        ("  ", "", ""),
    ],
)
def test_a_highlight_of_any_form_becomes_one_sentence(typed: str, warm: str,
                                                      formal: str) -> None:
    assert highlight_sentence(typed, "warm") == warm
    assert highlight_sentence(typed, "formal") == formal
    brief = highlight_sentence(typed, "brief")
    assert brief == warm.replace("especially ", "")


@pytest.mark.parametrize(
    ("role", "noun", "expected"),
    [
        ("Data Analyst", "role", "the Data Analyst role"),
        ("an MSc place", "role", "an MSc place"),
        ("a Senior Editor role", "position", "a Senior Editor role"),
        ("A Senior Producer role", "role", "a Senior Producer role"),
        ("The Head of Data position", "role", "the Head of Data position"),
        ("the MSc in Data Science", "", "the MSc in Data Science"),
        ("MSc in Data Science", "", "the MSc in Data Science"),
        ("Data Analyst role", "role", "the Data Analyst role"),
        ("  ", "role", ""),
    ],
)
def test_a_role_gets_one_article(role: str, noun: str, expected: str) -> None:
    assert the(role, noun) == expected


@pytest.mark.parametrize(
    ("title", "expected", "mid_sentence"),
    [
        ("The Salt Road", "The Salt Road", "The Salt Road"),
        ("my novel, The Salt Road", "my novel, The Salt Road", "my novel, The Salt Road,"),
        ("our proposal on malaria vectors", "our proposal on malaria vectors",
         "our proposal on malaria vectors"),
        ("novel about bees", "my novel about bees", "my novel about bees"),
        ("a feature on night-shift nurses", "my feature on night-shift nurses",
         "my feature on night-shift nurses"),
        ("", "my manuscript", "my manuscript"),
    ],
)
def test_a_title_of_work_and_its_appositive_comma(title: str, expected: str,
                                                  mid_sentence: str) -> None:
    assert work(title, "my manuscript") == expected
    assert inner(work(title, "my manuscript")) == mid_sentence


def test_our_and_my_agree_with_what_was_typed() -> None:
    assert owner("our proposal on malaria vectors") == "our"
    assert owner("Our proposal") == "our"
    assert owner("The Salt Road") == "my"
    assert owner("") == "my"


@pytest.mark.parametrize(
    ("role", "expected"),
    [("Senior Engineer", "promotion to Senior Engineer"),
     ("promotion to Staff Engineer", "promotion to Staff Engineer"),
     ("A Senior role", "promotion to a Senior role"), ("", "promotion")],
)
def test_promotion_to(role: str, expected: str) -> None:
    assert promotion(role) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Tell me which part of my CV was weakest",
         "Could you tell me which part of my CV was weakest?"),
        ("Please let me know what to improve.", "Could you let me know what to improve?"),
        ("what should I change first", "What should I change first?"),
        ("What's the bar?", "What's the bar?"),
        ("I'd like to know which part was weakest", "Could you tell me which part was weakest?"),
        ("Was the portfolio the main gap?!", "Was the portfolio the main gap?"),
    ],
)
def test_a_typed_question_gets_one_question_mark(typed: str, expected: str) -> None:
    assert as_question(typed) == expected


@pytest.mark.parametrize("typed", ["the portfolio", "My CV was weak.", "  ?  "])
def test_a_statement_is_not_a_question(typed: str) -> None:
    with pytest.raises(NotAQuestion):
        as_question(typed)


def test_sentence() -> None:
    assert sentence("they wanted more commissioning experience") == (
        "They wanted more commissioning experience.")
    assert sentence("Great panel!") == "Great panel!"
    assert sentence("  ") == ""


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({"LANG": "en_US.UTF-8"}, "en-US"), ({"LC_ALL": "en_US"}, "en-US"),
     ({"LC_ALL": "en_GB.UTF-8", "LANG": "en_US.UTF-8"}, "en-GB"),
     ({"LANG": "de_DE.UTF-8"}, "en-GB"), ({}, "en-GB"), ({"LANG": "C.UTF-8"}, "en-GB")],
)
def test_language_from_the_locale(environ: dict[str, str], expected: str) -> None:
    assert language_from_locale(environ) == expected


def test_respell_both_ways() -> None:
    gb = "Your organisation's programme: practise towards my CV. Organisation"
    us = "Your organization's program: practice toward my résumé. Organization"
    assert respell(gb, "en-US") == us
    assert respell(gb, "en-GB") == gb
    assert respell("Your organization's program: toward my résumé.", "en-GB") == (
        "Your organisation's programme: towards my CV.")
    # Whole words only.
    assert respell("CVS centres on hyphen-programme", "en-US") == (
        "CVS centres on hyphen-programme")
