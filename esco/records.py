"""Records of the ESCO taxonomy, as parsed from the CSV download and as stored.

Plain frozen dataclasses: they cross every layer (store, indexes, matcher, API), so they carry
no behaviour beyond what the data itself means.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def label_variants(preferred: str, alternatives: list[str]) -> list[str]:
    """Preferred label first, then the alternative labels that differ from it (any case):
    each variant gets its own vector, so duplicates would only cost encoding time."""
    seen = {preferred.casefold()}
    variants = [preferred]
    for label in alternatives:
        if label.casefold() not in seen:
            seen.add(label.casefold())
            variants.append(label)
    return variants


@dataclass(frozen=True)
class Skill:
    uri: str
    preferred_label: str
    alt_labels: list[str] = field(default_factory=list)
    hidden_labels: list[str] = field(default_factory=list)
    description: str | None = None
    skill_type: str | None = None  # "skill/competence" | "knowledge"
    reuse_level: str | None = (
        None  # transversal | cross-sector | sector-specific | occupation-specific
    )
    status: str | None = None

    @property
    def label_variants(self) -> list[str]:
        return label_variants(self.preferred_label, self.alt_labels)


@dataclass(frozen=True)
class Occupation:
    uri: str
    preferred_label: str
    alt_labels: list[str] = field(default_factory=list)
    hidden_labels: list[str] = field(default_factory=list)
    isco_group: str | None = None  # 4-digit ISCO-08 unit group code, e.g. "2511"
    code: str | None = None  # ESCO code, e.g. "2511.1"
    description: str | None = None

    @property
    def label_variants(self) -> list[str]:
        return label_variants(self.preferred_label, self.alt_labels)


@dataclass(frozen=True)
class OccupationSkill:
    occupation_uri: str
    skill_uri: str
    relation: str  # essential | optional
    line: int | None = None


@dataclass(frozen=True)
class SkillSkillRelation:
    original_uri: str
    related_uri: str
    relation: str  # essential | optional
    line: int | None = None


@dataclass(frozen=True)
class IscoGroup:
    uri: str
    code: str
    preferred_label: str
    description: str | None = None


@dataclass(frozen=True)
class SkillGroup:
    uri: str
    preferred_label: str
    code: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class BroaderRelation:
    concept_uri: str
    concept_type: str
    broader_uri: str
    broader_type: str
    pillar: str  # skill | occupation
    line: int | None = None


@dataclass(frozen=True)
class Collection:
    name: str  # digitalSkills, greenSkills, transversalSkills, languageSkills, ...
    member_uris: list[str]


@dataclass
class EscoTaxonomy:
    """Everything one ESCO download holds, parsed but not yet stored."""

    version: str
    language: str
    content_hash: str
    skills: list[Skill]
    occupations: list[Occupation]
    occupation_skills: list[OccupationSkill]
    skill_relations: list[SkillSkillRelation]
    isco_groups: list[IscoGroup]
    skill_groups: list[SkillGroup]
    broader: list[BroaderRelation]
    collections: list[Collection]


@dataclass
class IngestSummary:
    """What an ingest stored and what it had to leave out, with reasons."""

    version: str
    language: str
    skills: int = 0
    occupations: int = 0
    occupation_skills: int = 0
    essential: int = 0
    optional: int = 0
    skill_relations: int = 0
    broader: int = 0
    isco_groups: int = 0
    skill_groups: int = 0
    collections: dict[str, int] = field(default_factory=dict)
    unknown_references: dict[str, int] = field(default_factory=dict)
    unknown_examples: list[str] = field(default_factory=list)
    unchanged: bool = False
