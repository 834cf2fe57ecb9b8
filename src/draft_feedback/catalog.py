"""Scenarios and focus areas: the built-in catalog merged with the user's YAML."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from draft_feedback.config import Config
from draft_feedback.errors import BadInput
from draft_feedback.resources import builtin_dir, load_data
from draft_feedback.wording import respell

CATALOG_FILE = "catalog.yaml"
THANK_YOU_TEMPLATE = "thank_you.txt.j2"


@dataclass(frozen=True)
class FocusArea:
    """One narrow, future-facing question about one aspect of the decision."""

    id: str
    label: str
    question: str
    scenarios: tuple[str, ...]
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """A kind of rejection, with its template, subject and defaults."""

    id: str
    label: str
    description: str
    template: str
    subject: str
    default_areas: tuple[str, ...] = ()
    cooling_off_hours: int | None = None
    thank_you_only: bool = False
    team: str = ""
    personal: bool = False


@dataclass(frozen=True)
class Reflection:
    """A private question asked before drafting; the answer is never sent."""

    id: str
    question: str


@dataclass(frozen=True)
class AutomatedSenders:
    """What marks a rejection as sent by a machine rather than a person."""

    domains: tuple[str, ...] = ()
    local_parts: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalog:
    """Every scenario and focus area available, built-in and the user's."""

    scenarios: dict[str, Scenario]
    areas: dict[str, FocusArea]
    reflection: tuple[Reflection, ...]
    automated: AutomatedSenders
    scenario_aliases: Mapping[str, str] = field(default_factory=dict)
    area_aliases: Mapping[str, str] = field(default_factory=dict)

    def scenario(self, scenario_id: str, option: str = "--scenario") -> Scenario:
        """Return a scenario by id (or by an old id it replaced), or a BadInput listing them."""
        try:
            return self.scenarios[self.scenario_aliases.get(scenario_id, scenario_id)]
        except KeyError:
            raise BadInput(
                f"{option}: unknown scenario {scenario_id!r}; choose one of "
                + ", ".join(sorted(self.scenarios))
            ) from None

    def areas_for(self, scenario_id: str) -> list[FocusArea]:
        """Return the focus areas a scenario offers, in catalog order."""
        scenario_id = self.scenario_aliases.get(scenario_id, scenario_id)
        return [a for a in self.areas.values() if scenario_id in a.scenarios]

    def area(self, area_id: str, scenario_id: str) -> FocusArea:
        """Return a focus area of a scenario, or a BadInput listing the valid ids."""
        scenario_id = self.scenario_aliases.get(scenario_id, scenario_id)
        area = self.areas.get(area_id) or self.areas.get(self.area_aliases.get(area_id, ""))
        if area is None or scenario_id not in area.scenarios:
            valid = ", ".join(a.id for a in self.areas_for(scenario_id)) or "(none)"
            raise BadInput(
                f"--ask: unknown focus area {area_id!r} for scenario {scenario_id!r}; "
                f"choose from: {valid} (see `draft-feedback areas --scenario {scenario_id}`)"
            )
        return area

    def suggest(self, scenario_id: str, answers: Iterable[str]) -> list[FocusArea]:
        """Suggest focus areas whose keywords appear in the user's reflection answers."""
        text = _fold(" ".join(answers))
        words = set(re.findall(r"[\w+#]+", text))
        picked = []
        for area in self.areas_for(scenario_id):
            keys = [_fold(k) for k in area.keywords]
            if any((k in words) if " " not in k else (k in text) for k in keys):
                picked.append(area)
        return picked


def _fold(text: str) -> str:
    """Lower-case and drop accents, so 'Résumé' (typed composed or not) matches 'resume'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


SCENARIO_FIELDS = ("label", "description", "template", "subject", "default_areas",
                   "cooling_off_hours", "thank_you_only")
AREA_FIELDS = ("label", "question", "scenarios", "keywords")
T = TypeVar("T", Scenario, FocusArea)


def _merged(base: T, override: Any, fields: tuple[str, ...]) -> T:
    """Return `base` with every field the override sets (None keeps the built-in value)."""
    changes = {f: getattr(override, f) for f in fields if getattr(override, f) is not None}
    return replace(base, **changes)


def _require(override: Any, fields: tuple[str, ...], what: str) -> None:
    missing = [f for f in fields if getattr(override, f) is None]
    if missing:
        raise BadInput(f"{override.where}: {what} needs " + ", ".join(missing))


def builtin_catalog_data() -> dict[str, Any]:
    """Return the built-in catalog as read from its YAML file (cached)."""
    return _builtin()


@functools.lru_cache(maxsize=4)
def _builtin() -> dict[str, Any]:
    path = builtin_dir() / CATALOG_FILE
    data = load_data(path)
    if not isinstance(data, dict):
        raise BadInput(f"{path}: the built-in catalog is damaged; reinstall draft-feedback")
    return data


def load_catalog(config: Config) -> Catalog:
    """Return the built-in catalog with the config's scenarios and focus areas merged in."""
    data = _builtin()
    language = getattr(config, "language", "en-GB")

    def text(value: str) -> str:
        # Built-in text only: what the user wrote in the config keeps its own spelling.
        return respell(value, language)

    aliases = data.get("aliases") or {}
    scenario_aliases: dict[str, str] = dict(aliases.get("scenarios") or {})
    area_aliases: dict[str, str] = dict(aliases.get("focus_areas") or {})
    scenarios = {
        sid: Scenario(
            id=sid,
            label=text(s["label"]),
            description=text(s.get("description", "")),
            template=s["template"],
            subject=text(s["subject"]),
            default_areas=tuple(s.get("default_areas") or ()),
            cooling_off_hours=s.get("cooling_off_hours"),
            thank_you_only=bool(s.get("thank_you_only", False)),
            team=text(s.get("team", "")),
            personal=bool(s.get("personal", False)),
        )
        for sid, s in data["scenarios"].items()
    }
    areas = {
        aid: FocusArea(
            id=aid,
            label=text(a["label"]),
            question=text(a["question"]),
            scenarios=tuple(a["scenarios"]),
            keywords=tuple(a.get("keywords") or ()),
        )
        for aid, a in data["focus_areas"].items()
    }
    # A config written for an old id changes the scenario or area that replaced it.
    config_scenarios = [replace(so, id=scenario_aliases.get(so.id, so.id))
                        for so in config.scenarios]
    config_areas = [replace(
        ao, id=area_aliases.get(ao.id, ao.id) if ao.id not in areas else ao.id,
        scenarios=None if ao.scenarios is None else tuple(
            scenario_aliases.get(s, s) for s in ao.scenarios))
        for ao in config.focus_areas]
    for so in config_scenarios:
        if so.default_areas is not None:
            so = replace(so, default_areas=tuple(
                a if a in areas else area_aliases.get(a, a) for a in so.default_areas))
        if so.id not in scenarios:
            _require(so, ("label", "template", "subject"), "a new scenario")
        base = scenarios.get(so.id) or Scenario(so.id, so.id, "", "", "")
        scenarios[so.id] = _merged(base, so, SCENARIO_FIELDS)
    for ao in config_areas:
        if ao.id not in areas:
            _require(ao, ("label", "question", "scenarios"), "a new focus area")
        area_base = areas.get(ao.id) or FocusArea(ao.id, ao.id, "", ())
        areas[ao.id] = _merged(area_base, ao, AREA_FIELDS)
    for ao in config_areas:
        unknown = [s for s in areas[ao.id].scenarios if s not in scenarios]
        if unknown:
            raise BadInput(f"{ao.where}.scenarios: unknown scenario {unknown[0]!r}; choose from "
                           + ", ".join(sorted(scenarios)))
    for scenario in scenarios.values():
        for area_id in scenario.default_areas:
            if area_id not in areas or scenario.id not in areas[area_id].scenarios:
                where = next((so.where for so in config.scenarios if so.id == scenario.id),
                             str(builtin_dir() / CATALOG_FILE))
                raise BadInput(f"{where}: default area {area_id!r} is not a focus area of "
                               f"scenario {scenario.id!r}")
    if scenario_aliases.get(config.defaults.scenario, config.defaults.scenario) not in scenarios:
        # Named here, so the error points at the config rather than at a --scenario not given.
        raise BadInput(f"{config.source}: defaults.scenario: unknown scenario "
                       f"{config.defaults.scenario!r}; choose one of "
                       + ", ".join(sorted(scenarios)))
    automated = data.get("automated_senders") or {}
    return Catalog(
        scenarios=scenarios,
        areas=areas,
        reflection=tuple(Reflection(r["id"], text(r["question"]))
                         for r in data.get("reflection", [])),
        automated=AutomatedSenders(
            domains=tuple(automated.get("domains") or ()),
            local_parts=tuple(automated.get("local_parts") or ()),
            phrases=tuple(automated.get("phrases") or ()),
        ),
        scenario_aliases=scenario_aliases,
        area_aliases=area_aliases,
    )
