"""ESCO lookups for the facade: skills and occupations by URI or label, their details.

Separate from matching because these are exact reads of the store (no encoder, no index):
an integrator who only browses ESCO never loads a model. The lists kept here (every skill,
every occupation, labels, positions) are ESCO-derived caches, dropped after an ingest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from skillpath.engine.caches import cached
from skillpath.engine.matching import clean_query
from skillpath.engine.resources import Resources
from skillpath.esco.records import Occupation, Skill
from skillpath.esco.store import NotFound, Store


@dataclass(frozen=True)
class OccupationDetail:
    occupation: Occupation
    essential: list[Skill]
    optional: list[Skill]
    isco_label: str | None


class Taxonomy:
    """``Skillpath.taxonomy``: the ESCO skills and occupations of the store."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.caches = resources.caches

    @property
    def store(self) -> Store:
        return self.resources.store

    @cached
    def skills(self) -> list[Skill]:
        return self.store.all_skills()

    @cached
    def occupations(self) -> list[Occupation]:
        return self.store.all_occupations()

    @cached
    def all_skill_labels(self) -> dict[str, str]:
        return {s.uri: s.preferred_label for s in self.skills}

    @cached
    def skill_position(self) -> dict[str, int]:
        return {s.uri: i for i, s in enumerate(self.skills)}

    def skill(self, uri_or_label: str) -> Skill:
        ref = clean_query(uri_or_label, "skill")
        if ref.startswith("http"):
            return self.store.skill(ref)
        found = self.store.skills_by_label(ref)
        if not found:
            raise NotFound(f"no ESCO skill with URI or label {ref!r}")
        return found[0]

    def resolve_occupation(self, uri_or_label: str) -> Occupation:
        """An occupation by URI, or by exact preferred/alternative label."""
        ref = clean_query(uri_or_label, "occupation")
        if ref.startswith("http"):
            return self.store.occupation(ref)
        found = self.store.occupations_by_label(ref)
        if not found:
            raise NotFound(
                f"no ESCO occupation with URI or label {ref!r}; "
                "try `skillpath occupations search` to find one"
            )
        return found[0]

    def occupation_detail(self, uri_or_label: str) -> OccupationDetail:
        occupation = self.resolve_occupation(uri_or_label)
        relations = self.store.occupation_skills(occupation.uri)
        skills = self.store.skills(uri for uri, _ in relations)
        isco = self.store.isco_group(occupation.isco_group) if occupation.isco_group else None
        return OccupationDetail(
            occupation=occupation,
            essential=[skills[u] for u, rel in relations if rel == "essential"],
            optional=[skills[u] for u, rel in relations if rel == "optional"],
            isco_label=isco[1] if isco else None,
        )

    def skill_labels(self, uris: Iterable[str]) -> dict[str, str]:
        """Preferred labels of the given ESCO skill URIs (unknown ones left out)."""
        return {uri: skill.preferred_label for uri, skill in self.store.skills(uris).items()}
