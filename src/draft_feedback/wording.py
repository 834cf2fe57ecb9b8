"""Making typed slots grammatical: greetings, highlights, roles, questions and spelling."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# The spelling standards, and the locale's choice between them, belong to the config's
# `language` key, which is read without this module; here they decide the words.
from draft_feedback.config import LANGUAGES, language_from_locale  # noqa: F401
from draft_feedback.patterns import compile_kept

# The built-in text is written in en-GB; this map turns it into en-US (and back, for text
# that came in the other standard). Whole words only, first letter's case kept.
SPELLING: tuple[tuple[str, str], ...] = (
    ("organisation", "organization"),
    ("organisations", "organizations"),
    ("organised", "organized"),
    ("programme", "program"),
    ("programmes", "programs"),
    ("practise", "practice"),
    ("practised", "practiced"),
    ("towards", "toward"),
    ("CV", "résumé"),
    ("favour", "favor"),
    ("behaviour", "behavior"),
    ("recognise", "recognize"),
    ("recognised", "recognized"),
    ("prioritise", "prioritize"),
    ("analyse", "analyze"),
    ("colour", "color"),
    ("centre", "center"),
    ("judgement", "judgment"),
    ("enrol", "enroll"),
)
# Words of one standard that may not appear in a draft written in the other. "practice" is
# also an en-GB noun, so only the verb form counts against en-GB.
FOREIGN: Mapping[str, tuple[str, ...]] = {
    "en-GB": tuple(us for _, us in SPELLING if us != "practice"),
    "en-US": tuple(gb for gb, _ in SPELLING),
}


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = sorted(words, key=len, reverse=True)
    joined = "|".join(re.escape(w) for w in alternatives)
    return compile_kept(r"(?<![\w-])(" + joined + r")(?![\w-])", re.IGNORECASE)


_TO_US = {gb.lower(): us for gb, us in SPELLING}
_TO_GB = {us.lower(): gb for gb, us in SPELLING}
_US_PATTERN = _pattern(tuple(gb for gb, _ in SPELLING))
_GB_PATTERN = _pattern(tuple(us for _, us in SPELLING))


def respell(text: str, language: str) -> str:
    """Write built-in text in `language`: en-GB words become en-US ones, or the reverse."""
    table, pattern = (_TO_US, _US_PATTERN) if language == "en-US" else (_TO_GB, _GB_PATTERN)

    def swap(match: re.Match[str]) -> str:
        word = match.group(1)
        new = table[word.lower()]
        if word.isupper() and len(word) > 1 and not new.isupper():
            return new  # "CV" -> "résumé", not "RÉSUMÉ"
        if word[0].isupper():
            return new[0].upper() + new[1:]
        return new

    return pattern.sub(swap, text)


# --- names and greetings ----------------------------------------------------------------------

_TITLES = {"dr": "Dr", "doctor": "Dr", "mr": "Mr", "mrs": "Mrs", "ms": "Ms", "mx": "Mx",
           "miss": "Miss", "prof": "Professor", "professor": "Professor", "sir": "Sir",
           "dame": "Dame", "rev": "Rev", "revd": "Revd", "fr": "Fr", "lord": "Lord",
           "lady": "Lady"}
# Titles that go with the first name ("Sir David"), not the surname.
_FIRST_NAME_TITLES = {"Sir", "Dame", "Lord", "Lady"}
_POSTNOMINALS = {"phd", "md", "mba", "msc", "ma", "ba", "bsc", "jr", "sr", "ii", "iii", "frs",
                 "obe", "mbe", "cbe", "esq", "dphil", "frcp"}
_PARTICLES = {"van", "von", "de", "da", "del", "della", "di", "du", "la", "le", "bin", "al",
              "ter", "ten", "dos", "das", "st"}


@dataclass(frozen=True)
class Name:
    """A display name taken apart: title, given name and surname (any may be empty)."""

    title: str
    first: str
    surname: str


def _title_of(word: str) -> str | None:
    return _TITLES.get(word.lower().rstrip("."))


def split_name(display: str) -> Name:
    """Take a display name apart: 'Lopez, Dr. Ana' and 'Dr. Ana Lopez' give the same Name."""
    text = " ".join(display.replace('"', " ").split())
    if "@" in text:
        text = ""
    parts = [p.strip() for p in text.split(",")]
    # Drop post-nominals ("Ana Lopez, PhD", "Ana Lopez PhD").
    parts = [p for p in parts if p and p.lower().replace(".", "") not in _POSTNOMINALS]
    if len(parts) >= 2:
        text = parts[1] + " " + parts[0]  # "Surname, First" -> "First Surname"
    elif parts:
        text = parts[0]
    else:
        text = ""
    words = [w for w in text.split() if w.lower().replace(".", "") not in _POSTNOMINALS]
    title = ""
    while words and _title_of(words[0]):
        title = title or (_title_of(words[0]) or "")
        words = words[1:]
    # A title typed after the reversed surname ("Lopez, Dr. Ana" -> "Dr. Ana Lopez" above).
    words = [w for w in words if not _title_of(w) or len(words) == 1]
    words = [w for w in words if any(c.isalpha() for c in w)]
    if not words:
        return Name(title, "", "")
    if len(words) == 1:
        # One word with a title is a surname ("Dr Lopez"); alone it is what they go by.
        return Name(title, "", words[0]) if title else Name("", words[0], "")
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in _PARTICLES:
        start -= 1
    return Name(title, words[0], " ".join(words[start:]))


def first_name(display: str) -> str:
    """Return the given name to greet someone by, or '' when there is none."""
    name = split_name(display)
    return name.first


def _titled(title: str, language: str) -> str:
    if title in ("Dr", "Mr", "Mrs", "Ms", "Mx", "Rev", "Fr") and language == "en-US":
        return title + "."
    return title


def greeting(display: str, tone: str, team: str = "", personal: bool = False,
             language: str = "en-GB") -> str:
    """Return the opening line: 'Dear Dr Lopez,', 'Hi Ana,', 'Dear Admissions Team,'."""
    name = split_name(display)
    formal = tone == "formal"
    dear = "Dear" if formal or not personal and team in _DEAR_TEAMS else "Hi"
    if name.first and (personal or not formal):
        return f"{dear} {name.first},"
    if name.title and name.title in _FIRST_NAME_TITLES and name.first:
        return f"Dear {name.title} {name.first},"
    if name.title and name.surname:
        return f"Dear {_titled(name.title, language)} {name.surname},"
    if name.first and name.surname:
        return f"Dear {name.first} {name.surname},"
    if name.first or name.surname:
        return f"{dear} {name.first or name.surname},"
    if team:
        return f"Dear {team},"
    return "Hello,"


# Editors and panels are greeted with "Dear" even in a warm email; "Hi" is for people one knows.
_DEAR_TEAMS = {"Editors", "Editorial Team", "Review Panel", "Admissions Team"}


# --- highlights -------------------------------------------------------------------------------

_SENTENCE_STARTS = {"i", "i'm", "i've", "i'd", "i’m", "i’ve", "i’d", "we", "we're", "we’re",
                    "we've", "we’ve", "it", "it's", "it’s", "it was", "that was", "this was",
                    "everyone", "everybody", "the whole"}
_CLAUSE_SUBJECTS = {"you", "you're", "you’re", "you've", "you’ve", "they", "he", "she",
                    "everyone", "the team", "the panel"}
# Words that are capitalised only because they open the text, never proper nouns.
_COMMON = {"the", "a", "an", "your", "our", "my", "their", "his", "her", "its", "this", "that",
           "these", "those", "how", "what", "being", "having", "you", "they", "he", "she",
           "candid", "detailed", "clear", "quick", "kind", "honest", "helpful", "thoughtful",
           "warm", "friendly", "prompt", "generous", "careful", "thorough", "personal", "open",
           "whole", "entire", "chance", "opportunity", "time", "feedback", "tour", "conversation",
           "chat", "call", "discussion", "interview", "questions", "notes", "comments",
           "insight", "insights", "advice", "exercise", "case", "session", "panel", "visit",
           "lunch", "demo", "presentation", "welcome", "speed", "care", "way", "all", "both",
           "getting", "meeting", "seeing", "hearing", "learning", "talking", "working",
           "visiting", "touring", "reading", "discussing", "the way"}
_NOT_GERUNDS = {"thing", "nothing", "something", "anything", "everything", "evening", "morning",
                "string", "king", "ring", "wing", "spring", "ceiling", "during", "bring",
                "sing", "sibling", "wedding", "pudding", "building", "briefing", "clothing",
                "funding", "heading", "ending", "setting", "timing", "feeling", "opening",
                "offering", "painting", "drawing", "recording", "reading", "meeting"}
_THANKS = compile_kept(r"^(?:thank you(?: so much| very much)?|thanks(?: so much| a lot)?|many "
                       r"thanks)(?: again)?(?: for\b)?[\s,:]*", re.IGNORECASE)


def _clean(text: str) -> str:
    text = " ".join(text.split())
    text = text.strip("\"'“”‘’ ")
    return text.rstrip(" .!?;,:…").strip()


def _is_gerund(word: str) -> bool:
    word = word.lower()
    return word.endswith("ing") and len(word) > 5 and word not in _NOT_GERUNDS or word in (
        "meeting", "reading")


def _lower_first(text: str) -> str:
    words = text.split(" ", 2)
    first = words[0]
    two = " ".join(words[:2]).lower()
    if first.lower() in _COMMON or two in _COMMON or _is_gerund(first):
        if not (len(first) > 1 and first.isupper()):  # "CV", "NHS" stay as typed
            return first[:1].lower() + text[1:]
    return text


def highlight_sentence(text: str, tone: str = "warm") -> str:
    """Turn what the user appreciated, typed in any form, into one sentence of its own."""
    text = _THANKS.sub("", _clean(text))
    text = _clean(text)
    if not text:
        return ""
    words = text.split()
    low = [w.lower() for w in words]
    opening = {low[0], " ".join(low[:2])}
    if opening & _SENTENCE_STARTS:
        return text[:1].upper() + text[1:] + "."
    adverb = {"formal": "particularly ", "brief": ""}.get(tone, "especially ")
    text = _lower_first(text)
    if opening & _CLAUSE_SUBJECTS and low[0] not in ("the", "everyone") or (
            low[0] == "the" and " ".join(low[:2]) in _CLAUSE_SUBJECTS and len(low) > 2
            and _looks_like_verb(low[2])):
        return f"I {adverb}appreciated that {text}."
    if _is_gerund(words[0]):
        return f"I {adverb}enjoyed {text}."
    return f"I {adverb}appreciated {text}."


def _looks_like_verb(word: str) -> bool:
    return word.endswith("ed") or word in ("was", "were", "took", "made", "gave", "had", "sent",
                                           "spent", "explained", "read", "shared")


def sentence(text: str) -> str:
    """Return typed text as one sentence: capital first letter, one full stop."""
    text = " ".join(text.split()).strip()
    if not text:
        return ""
    text = text[:1].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."


# --- roles, organisations and titles of work ------------------------------------------------

_DETERMINERS = {"a", "an", "my", "our", "your", "their", "this", "that", "his", "her"}
_HEADS = {"role", "position", "post", "job", "place", "programme", "program", "fellowship",
          "scholarship", "opening", "vacancy", "internship", "residency", "course", "degree",
          "apprenticeship", "traineeship", "studentship", "placement", "grant", "award", "prize"}


def _words(text: str) -> list[str]:
    return " ".join(text.split()).split()


def the(role: str, noun: str = "") -> str:
    """Give a role one article: 'Data Analyst' -> 'the Data Analyst role', 'an MSc place' kept."""
    words = _words(role.rstrip(" .,;:"))
    if not words:
        return ""
    first, last = words[0].lower(), words[-1].lower().strip(".,")
    tail = f" {noun}" if noun and last not in _HEADS and last != noun else ""
    if first in _DETERMINERS:
        return " ".join([first] + words[1:]) + tail
    if first == "the":
        lead = "the" if last in _HEADS else words[0]
        return " ".join([lead] + words[1:]) + tail
    return "the " + " ".join(words) + tail


def work(title: str, default: str) -> str:
    """Name the work: a typed title as it is, a description with 'my', else the default."""
    words = _words(title.rstrip(" .;:"))
    if not words:
        return default
    first = words[0].lower()
    if first in ("a", "an"):
        return " ".join(["my"] + words[1:])  # "a feature on nurses" was the user's own
    if first in _DETERMINERS or first == "the" and not words[0][0].isupper():
        return " ".join([first] + words[1:])
    if words[0][0].islower():
        return "my " + " ".join(words)
    return " ".join(words)


def inner(phrase: str) -> str:
    """Close an appositive before more of the sentence: 'my novel, The Salt Road' gets a comma."""
    phrase = phrase.rstrip()
    return phrase + "," if ", " in phrase and not phrase.endswith(",") else phrase


def owner(text: str) -> str:
    """Return 'our' when the user's text speaks for a team ('our proposal'), else 'my'."""
    return "our" if _words(text.lower())[:1] == ["our"] else "my"


def promotion(role: str) -> str:
    """Return the promotion sought: 'Senior Engineer' -> 'promotion to Senior Engineer'."""
    text = " ".join(role.split()).rstrip(" .;:")
    text = re.sub(r"^(?:(?:my|a|the)\s+)?promotion(?:\s+case)?(?:\s+(?:to|for))?\s*", "", text,
                  flags=re.IGNORECASE)
    if re.match(r"(?:A|An)\s", text):
        text = text[:1].lower() + text[1:]
    return f"promotion to {text}" if text else "promotion"


# --- questions --------------------------------------------------------------------------------

_QUESTION_WORDS = {"what", "which", "how", "where", "when", "who", "whom", "whose", "why",
                   "could", "would", "can", "do", "does", "did", "is", "are", "was", "were",
                   "should", "will", "have", "has", "may", "might", "shall", "am", "any",
                   "if", "whether", "wouldn't", "isn't", "aren't", "didn't", "doesn't"}
_IMPERATIVES = {"tell", "explain", "describe", "share", "give", "let", "suggest", "say",
                "advise", "point", "send", "help", "list", "recommend", "name", "clarify",
                "outline", "show", "identify", "pass"}
_WANT_TO_KNOW = compile_kept(r"^(?:i(?:'d| would)? (?:like|love) to (?:know|hear|understand)|"
                             r"i wonder|i'm curious|i am curious|i want to know)\s+(?:about\s+)?",
                             re.IGNORECASE)


class NotAQuestion(ValueError):
    """Typed text that is neither a question nor a request that can become one."""


def as_question(text: str) -> str:
    """Return a typed question with one question mark; imperatives become 'Could you ...?'."""
    text = " ".join(text.replace("’", "'").split()).strip()
    text = text.rstrip(" .!;,:?")
    text = re.sub(r"^please\s+", "", text, flags=re.IGNORECASE).strip()
    if not text:
        raise NotAQuestion("an empty question")
    first = re.match(r"[a-z']+", text.lower())
    word = first.group(0).split("'")[0] if first else ""
    if word in _QUESTION_WORDS:
        return text[:1].upper() + text[1:] + "?"
    if word in _IMPERATIVES:
        return "Could you " + text[:1].lower() + text[1:] + "?"
    wants = _WANT_TO_KNOW.match(text)
    if wants:
        rest = text[wants.end():]
        if rest:
            return "Could you tell me " + ("about " if wants.group(0).lower().rstrip().endswith(
                "about") else "") + rest + "?"
    raise NotAQuestion(text)
