"""From a learner and a target to ranked credentials, a pathway and explanations.

This module assembles the pure pieces (gap → ranking → pathway → explanations) around two
retrieval steps that must scale to a large catalogue:

* an inverted index from ESCO skill to the credentials that teach it, each posting list
  sorted by link strength, so a gap skill contributes at most ``per_skill`` candidates
  whatever the catalogue size;
* semantic neighbours: for a gap skill that no credential names exactly, the closest ESCO
  skills (by embedding) that credentials do teach.

The request and response records here are what the CLI prints and the HTTP API serialises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from skillpath.engine.candidates import RelevanceInputs
from skillpath.engine.catalogue.records import StoredLink
from skillpath.engine.explanations import (
    Explanation,
    PathwayExplanation,
    explain_pathway,
    explain_ranking,
)
from skillpath.engine.gap import Gap, HeldSkill
from skillpath.engine.pathway import Pathway, build_pathway
from skillpath.engine.provenance import Provenance
from skillpath.engine.ranking import Candidate, Constraints, Ranking, SkillLink, rank_credentials
from skillpath.engine.relevance import RelevanceWeights, rank_by_relevance

LINK_SOURCES = ("declared", "inferred", "tag")


# Caps on a profile's lists (each entry is a lookup, an alt-label occupation a table scan):
# far above a real learner, low enough that one request cannot keep a worker busy.
MAX_PROFILE_SKILLS = 500
MAX_PROFILE_OCCUPATIONS = 20
MAX_PROFILE_CREDENTIALS = 200
_Ref = Annotated[str, StringConstraints(max_length=500)]  # a URI, label or credential id


class LearnerProfile(BaseModel):
    """What the learner brings. Every part is optional: an empty profile is a valid learner."""

    model_config = ConfigDict(extra="forbid")

    skills: list[_Ref] = Field(
        default_factory=list,
        max_length=MAX_PROFILE_SKILLS,
        description=f"ESCO skill URIs (or exact ESCO labels) held; at most {MAX_PROFILE_SKILLS}.",
    )
    text: str | None = Field(
        None, description="Free text: CV lines or a pasted CV; skills are extracted from it."
    )
    occupations: list[_Ref] = Field(
        default_factory=list,
        max_length=MAX_PROFILE_OCCUPATIONS,
        description="ESCO occupation URIs held now or before; their essential skills count "
        f"as held with lower confidence; at most {MAX_PROFILE_OCCUPATIONS}.",
    )
    completed_credentials: list[_Ref] = Field(
        default_factory=list,
        max_length=MAX_PROFILE_CREDENTIALS,
        description="Ids of catalogue credentials already completed; at most "
        f"{MAX_PROFILE_CREDENTIALS}.",
    )


OptionalWeight = Annotated[
    float | None,
    Field(
        ge=0,
        le=1,
        description="Weight of optional skills; default: the deployment's tuning (0.3 unless "
        "SKILLPATH_TUNING__OPTIONAL_WEIGHT says otherwise).",
    ),
]
"""A request's optional-skill weight: unset (None) leaves it to the one Tuning object."""


class RecommendationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str = Field(..., description="ESCO occupation URI or a job title in free text.")
    profile: LearnerProfile = Field(default_factory=LearnerProfile)
    constraints: Constraints = Field(default_factory=Constraints)
    k: int = Field(10, ge=1, le=100, description="How many credentials to rank.")
    optional_weight: OptionalWeight = None
    max_pathway_items: int = Field(6, ge=1, le=20)
    ranking: Literal["relevance", "coverage"] = Field(
        "relevance",
        description="relevance: what the course is about, for the target job, then the gap it "
        "covers (engine/relevance.py); coverage: the older ranking by ESCO skill-URI overlap "
        "with the gap only (kept for comparison).",
    )


class OccupationChoice(BaseModel):
    uri: str
    label: str
    score: float


class TargetResolution(BaseModel):
    """Which occupation the target resolved to, how, and the next best alternatives."""

    occupation_uri: str
    occupation_label: str
    matched_by: str  # uri | label | search
    score: float
    confident: bool
    alternatives: list[OccupationChoice] = Field(default_factory=list)
    note: str | None = None
    ambiguous: bool = False
    """True when the title fits several occupations about equally (or is a label of several):
    the chosen one is a guess and ``alternatives`` should be shown."""
    language: str | None = None  # detected language of a typed title (ISO 639-1)
    probability: float | None = None  # calibrated probability that the choice is right


class GapResponse(BaseModel):
    target: TargetResolution
    held: list[HeldSkill]
    gap: Gap
    notes: list[str] = Field(default_factory=list)


class RecommendationResponse(GapResponse):
    ranking: Ranking
    explanations: list[Explanation]
    pathway: Pathway
    pathway_explanation: PathwayExplanation
    candidates_considered: int = 0
    provenance: Provenance | None = Field(
        None,
        description="What shaped this answer (ESCO version, catalogue revision, matcher and "
        "tuning fingerprints, encoder, settings) and its request id: `skillpath replay "
        "<request id>` re-runs a logged request and says whether the answer is the same.",
    )


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """The fields of a stored credential that ranking needs, kept compact in memory."""

    id: str
    title: str
    links: tuple[StoredLink, ...]
    ects: float | None
    hours: float | None
    eqf_level: int | None
    mode: str | None
    languages: tuple[str, ...]
    country: str | None
    price: float | None
    provider: str | None
    level_text: str | None
    url: str | None
    text_chars: int = 1  # characters of description + outcomes; 0 = nothing to judge it by

    def candidate(
        self, sources: Sequence[str] = LINK_SOURCES, labels: Mapping[str, str] | None = None
    ) -> Candidate:
        labels = labels or {}
        links = [
            SkillLink(
                uri=uri,
                label=labels.get(uri),
                strength=min(1.0, max(0.0, strength)),
                evidence=evidence if source != "tag" else f"provider skill tag: {evidence}",
                source="declared" if source == "declared" else "inferred",
            )
            for uri, strength, evidence, source, _, _ in self.links
            if source in sources
        ]
        return Candidate(
            id=self.id,
            title=self.title,
            links=links,
            ects=self.ects,
            hours=self.hours,
            eqf_level=self.eqf_level,
            mode=self.mode,
            languages=list(self.languages),
            country=self.country,
            price=self.price,
            provider=self.provider,
            level_text=self.level_text,
            url=self.url,
        )


@dataclass
class CatalogueSnapshot:
    """An immutable view of the catalogue for ranking; swapped whole when the catalogue changes."""

    revision: int
    entries: dict[str, CatalogueEntry]
    postings: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    # Ranking records built on first use; a snapshot never changes, so they never go stale.
    _candidates: dict[tuple[str, tuple[str, ...]], Candidate] = field(default_factory=dict)
    # ESCO skill labels, so explanations can name a neighbour skill a credential teaches.
    labels: Mapping[str, str] = field(default_factory=dict)
    # (positions, uris) of the ESCO skills some credential teaches, for neighbour search.
    taught: tuple[np.ndarray, list[str]] | None = None  # filled by the service on first use
    # Duplicates (engine/catalogue/duplicates.py): canonical id -> every id of its group, and
    # id -> canonical id. Only canonical entries are in ``postings`` (with the links of all
    # their copies), so a course is ranked once; every id stays in ``entries``.
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    canonical: Mapping[str, str] = field(default_factory=dict)

    def also_as(self, credential_id: str) -> list[str]:
        """The other ids of the same course (empty when it has no duplicate)."""
        key = self.canonical.get(credential_id, credential_id)
        return [i for i in self.aliases.get(key, ()) if i != credential_id]

    def candidate(self, credential_id: str, sources: Sequence[str] = LINK_SOURCES) -> Candidate:
        key = (credential_id, tuple(sources))
        found = self._candidates.get(key)
        if found is None:
            entry = self.entries[credential_id]
            found = self._candidates[key] = entry.candidate(sources, self.labels)
        return found

    @classmethod
    def build(
        cls,
        revision: int,
        entries: Iterable[CatalogueEntry],
        labels: Mapping[str, str] | None = None,
        groups: Mapping[str, tuple[str, ...]] | None = None,
    ) -> CatalogueSnapshot:
        by_id: dict[str, CatalogueEntry] = {entry.id: entry for entry in entries}
        groups = {c: ids for c, ids in (groups or {}).items() if c in by_id}
        canonical = {m: c for c, ids in groups.items() for m in ids if m in by_id}
        for key, ids in groups.items():  # the merged entry teaches what any copy teaches
            merged = {}
            for member in ids:
                for link in by_id[member].links if member in by_id else ():
                    merged.setdefault((link.skill_uri, link.source), link)
            copies = [by_id[m] for m in ids if m in by_id and m != key]
            entry = replace(by_id[key], links=tuple(merged.values()))
            by_id[key] = _fill_from_copies(entry, copies)
        postings: dict[str, list[tuple[float, str]]] = {}
        for entry in by_id.values():
            if canonical.get(entry.id, entry.id) != entry.id:
                continue
            best: dict[str, float] = {}
            for uri, strength, *_ in entry.links:
                best[uri] = max(strength, best.get(uri, 0.0))
            for uri, strength in best.items():
                postings.setdefault(uri, []).append((strength, entry.id))
        for plist in postings.values():
            plist.sort(key=lambda p: (-p[0], p[1]))
        return cls(
            revision=revision,
            entries=by_id,
            postings=postings,
            labels=labels or {},
            aliases=groups,
            canonical=canonical,
        )


_FILLED_FIELDS = ("eqf_level", "mode", "country", "price", "provider", "level_text", "url")


def _fill_from_copies(entry: CatalogueEntry, copies: Sequence[CatalogueEntry]) -> CatalogueEntry:
    """The entry shown for a duplicate group, with what its copies state and it does not.

    The copy with the best text represents the group, but another listing of the same course
    often states the workload (Coursera's course table has hours, its descriptions file not):
    without it a budgeted pathway would have to leave the course out. The workload is taken as
    one pair from the first copy (in preference order) that states one; other fields one by one.
    """
    changes: dict[str, object] = {}
    if entry.ects is None and entry.hours is None:
        stated = next((c for c in copies if c.ects is not None or c.hours is not None), None)
        if stated is not None:
            changes.update(ects=stated.ects, hours=stated.hours)
    for name in _FILLED_FIELDS:
        if getattr(entry, name) is None:
            value = next((getattr(c, name) for c in copies if getattr(c, name) is not None), None)
            if value is not None:
                changes[name] = value
    return replace(entry, **changes) if changes else entry


def skill_neighbours(
    gap_uris: Sequence[str],
    skill_position: Mapping[str, int],
    skill_vectors: np.ndarray,
    taught_positions: np.ndarray,
    taught_uris: Sequence[str],
    min_similarity: float = 0.8,
    per_skill: int = 5,
) -> dict[str, list[tuple[str, float]]]:
    """For each gap skill, the closest *taught* ESCO skills (other than itself) by cosine."""
    rows = [skill_position[u] for u in gap_uris if u in skill_position]
    if not rows or not len(taught_positions):
        return {}
    sims = skill_vectors[rows] @ skill_vectors[taught_positions].T
    out: dict[str, list[tuple[str, float]]] = {}
    uris = [u for u in gap_uris if u in skill_position]
    for i, uri in enumerate(uris):
        order = np.argsort(-sims[i], kind="stable")[: per_skill + 1]
        found = [
            (taught_uris[j], round(float(sims[i, j]), 4))
            for j in order
            if taught_uris[j] != uri and sims[i, j] >= min_similarity
        ][:per_skill]
        if found:
            out[uri] = found
    return out


def retrieve_candidates(
    snapshot: CatalogueSnapshot,
    gap: Gap,
    neighbours: Mapping[str, Sequence[tuple[str, float]]],
    per_skill: int = 30,
) -> list[str]:
    """Credential ids teaching a gap skill or one of its neighbours, capped per skill."""
    ids: dict[str, None] = {}
    for skill in gap.skills:
        for uri in [skill.uri, *(n for n, _ in neighbours.get(skill.uri, ()))]:
            for _, credential_id in snapshot.postings.get(uri, ())[:per_skill]:
                ids.setdefault(credential_id, None)
    return sorted(ids)


def recommend_from_gap(
    gap: Gap,
    snapshot: CatalogueSnapshot,
    constraints: Constraints,
    neighbours: Mapping[str, Sequence[tuple[str, float]]],
    k: int = 10,
    max_pathway_items: int = 6,
    sources: Sequence[str] = LINK_SOURCES,
    per_skill: int = 30,
    exclude_ids: Iterable[str] = (),
    relevance: RelevanceInputs | None = None,
    weights: RelevanceWeights | None = None,
    target_title: str | None = None,
) -> tuple[Ranking, list[Explanation], Pathway, PathwayExplanation, int]:
    """Rank, build the pathway and explain, for one gap over one catalogue snapshot.

    With ``relevance`` (the facade's :func:`~skillpath.engine.candidates.gather_inputs`) the
    ranking is by relevance (:func:`~skillpath.engine.relevance.rank_by_relevance`) and the
    pathway chooses among the most relevant credentials only; without it, the coverage
    ranking over the skill postings (the older method)."""
    excluded = set(exclude_ids)
    if relevance is not None:
        return _recommend_relevance(
            gap, relevance, constraints, k, max_pathway_items, excluded, weights, target_title
        )
    ids = [
        i for i in retrieve_candidates(snapshot, gap, neighbours, per_skill) if i not in excluded
    ]
    candidates = [snapshot.candidate(i, sources) for i in ids]
    ranking = rank_credentials(gap, candidates, constraints, neighbours, k=k)
    by_id = {c.id: c for c in candidates}
    explanations = explain_ranking(ranking, gap, [by_id[item.id] for item in ranking.items])
    pathway = build_pathway(gap, candidates, constraints, neighbours, max_items=max_pathway_items)
    return ranking, explanations, pathway, explain_pathway(pathway), len(candidates)


def _recommend_relevance(
    gap: Gap,
    inputs: RelevanceInputs,
    constraints: Constraints,
    k: int,
    max_pathway_items: int,
    excluded: set[str],
    weights: RelevanceWeights | None,
    target_title: str | None,
) -> tuple[Ranking, list[Explanation], Pathway, PathwayExplanation, int]:
    weights = weights or RelevanceWeights()
    candidates = [c for cid, c in inputs.candidates.items() if cid not in excluded]
    ranking = rank_by_relevance(
        gap,
        candidates,
        inputs.features,
        inputs.vectors,
        constraints,
        inputs.neighbours,
        k=k,
        weights=weights,
        matched=inputs.matched,
    )
    by_id = {c.id: c for c in candidates}
    explanations = explain_ranking(
        ranking, gap, [by_id[item.id] for item in ranking.items], target_title=target_title
    )
    # The pathway picks among the most relevant courses (diversity off: a pathway may need
    # two courses on one subject), so it never fills the budget with off-topic short items.
    wide = rank_by_relevance(
        gap,
        candidates,
        inputs.features,
        inputs.vectors,
        constraints,
        inputs.neighbours,
        k=max(3 * k, weights.pathway_pool),
        weights=weights.model_copy(update={"diversity": 0.0}),
    )
    pool = [by_id[item.id] for item in wide.items]
    # Coverage counts in proportion to relevance, so the budget goes to the courses most
    # relevant to the target, not to any course whose links touch the gap: the pool's scores
    # spread over [floor, 1] (the pool is all fairly relevant; its order is what tells).
    scores = {i.id: i.relevance.score for i in wide.items if i.relevance is not None}
    relevance = _spread(scores, weights.pathway_relevance_floor)
    pathway = build_pathway(
        gap, pool, constraints, inputs.neighbours, max_items=max_pathway_items, relevance=relevance
    )
    return ranking, explanations, pathway, explain_pathway(pathway), len(candidates)


def _spread(scores: Mapping[str, float], floor: float) -> dict[str, float] | None:
    """Scores mapped linearly onto [floor, 1] (best 1, worst ``floor``); None if none."""
    if not scores:
        return None
    low, high = min(scores.values()), max(scores.values())
    if high - low <= 1e-12:
        return {cid: 1.0 for cid in scores}
    return {cid: floor + (1 - floor) * (s - low) / (high - low) for cid, s in scores.items()}
