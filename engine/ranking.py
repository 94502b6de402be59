"""Rank candidate micro-credentials by the share of the learner's gap they add.

Pure functions: the caller retrieves the candidates (index search, catalogue) and the skill
neighbours (embeddings / ESCO relations); nothing here touches a store or a model.

Coverage
    ``cov(c, g)`` — how well credential ``c`` teaches gap skill ``g`` — is the best of the exact
    link's strength and, for each neighbour skill ``s`` of ``g`` (``neighbours[g]`` lists
    ``(s, similarity)``), ``strength(c, s) * similarity``. It lies in [0, 1].

Objective (monotone submodular: a weighted facility-location / max-coverage function)
    ``f(S) = sum_g r_g * max_{c in S} cov(c, g)`` with ``r_g`` the gap skill's remaining weight
    (:mod:`skillpath.engine.gap`). ``coverage(S) = f(S) / sum_g r_g`` is in [0, 1].

Score (greedy; each step takes the credential with the best score given those above it)
    ``coverage_gain = (f(S + c) - f(S)) / sum_g r_g``  — the gap share it *adds*;
    ``score = coverage_gain * (1 + w_workload * workload_fit + w_level * level_fit)``
    with ``w_workload = w_level = 0.1`` (:class:`RankWeights`). The fit terms are in [0, 1] and
    *multiply* the gain, so they reorder credentials of similar gain (at most +20 %) but a
    credential that adds nothing scores 0, and one that covers no gap skill is never ranked.
    ``redundancy_discount = standalone_coverage - coverage_gain``: what better-ranked
    credentials already cover. Because marginal gains only shrink as S grows (submodularity),
    the scores along the ranking never increase. Once nothing adds coverage, the remaining
    relevant credentials (score 0) fill the top-k by standalone coverage, flagged
    ``redundant`` — alternatives, never irrelevant ones.

    * ``workload_fit = ref / (ref + workload)``: 1 for no workload, 0.5 at ``ref`` (the ECTS
      budget, else the hours budget, else 5 ECTS); 0.5 when the workload is unknown.
    * ``level_fit = max(0, 1 - |eqf - target| / 4)`` with target ``eqf_target``, else the middle
      of ``[eqf_min, eqf_max]``, else the bound given; 0.5 when unknown or no target.

Hard constraints (:func:`filter_candidates`) come first; every exclusion carries its reasons and
is counted per constraint. In a ranking each credential must fit the workload budget on its
own; :mod:`skillpath.engine.pathway` enforces it on the sum. A field the credential does not state
(language, mode, price, EQF level, workload, country of an on-site course) is *not* a
violation: the credential is kept and flagged ``"unknown <field>"``; ``Constraints.strict``
drops it instead.

Workload conversion (ECTS users' guide: 1 ECTS = 25-30 h of learning) is conservative: an
hours-only credential counts ``hours / 25`` ECTS against an ECTS budget, an ECTS-only one
``ects * 30`` hours against an hours budget.

Contradictory constraints (budget <= 0, eqf_min > eqf_max, an empty language or mode list,
negative price) give an empty :class:`Ranking` whose ``reason_if_empty`` says why.

API::

    constraint_conflicts(constraints) -> list[str]
    filter_candidates(candidates, constraints, require_workload=False) -> Filtered
    coverage(candidate, gap, neighbours=None, reverse=None) -> dict[gap_uri, Coverage]
    reverse_neighbours(gap, neighbours) -> the neighbours by linked skill (built once per gap)
    rank_credentials(gap, candidates, constraints=None, neighbours=None, k=10,
                     weights=RankWeights()) -> Ranking
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from skillpath.engine.catalogue.records import SkillLink
from skillpath.engine.gap import Gap, Relation

__all__ = [
    "HOURS_PER_ECTS_MAX",
    "HOURS_PER_ECTS_MIN",
    "Candidate",
    "Constraints",
    "CoveredSkill",
    "Coverage",
    "Excluded",
    "Filtered",
    "Mode",
    "RankWeights",
    "RankedCredential",
    "RelevanceParts",
    "Ranking",
    "ScoreParts",
    "SkillLink",
    "constraint_conflicts",
    "coverage",
    "coverage_value",
    "reverse_neighbours",
    "ects_estimate",
    "filter_candidates",
    "hours_estimate",
    "covered_skills",
    "level_fit",
    "marginal_gain",
    "rank_credentials",
    "relevant_candidates",
    "screen_candidates",
    "workload_fit",
]

Mode = Literal["online", "onsite", "blended"]
Neighbours = Mapping[str, Sequence[tuple[str, float]]]

HOURS_PER_ECTS_MIN = 25.0
HOURS_PER_ECTS_MAX = 30.0
_TOL = 1e-9  # float slack when comparing a workload or price with a limit
# Coverage this small is float noise, not teaching: it would vanish in the weighted sums
# (5e-324 × a weight is 0.0), so a credential "covering" only that must not rank.
_MIN_AMOUNT = 1e-9


class Candidate(BaseModel):
    """A credential as the ranker sees it; ``None`` / empty list means "not stated".

    ``links`` is keyed by skill URI (a list of links is accepted; the strongest per URI wins).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    links: dict[str, SkillLink] = Field(default_factory=dict)
    ects: float | None = Field(None, ge=0)
    hours: float | None = Field(None, ge=0)
    eqf_level: int | None = Field(None, ge=1, le=8)
    mode: Mode | None = None
    languages: list[str] = Field(default_factory=list)
    country: str | None = None
    price: float | None = Field(None, ge=0)
    provider: str | None = None
    level_text: str | None = None
    url: str | None = None

    @field_validator("links", mode="before")
    @classmethod
    def _links_by_uri(cls, v: object) -> object:
        if isinstance(v, Mapping):
            return v
        merged: dict[str, SkillLink] = {}
        for item in v or ():  # type: ignore[union-attr]
            link = item if isinstance(item, SkillLink) else SkillLink.model_validate(item)
            prev = merged.get(link.uri)
            if prev is None or link.strength > prev.strength:
                merged[link.uri] = link
        return merged

    @field_validator("languages")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return sorted({code.strip().lower() for code in v if code.strip()})


class Constraints(BaseModel):
    """The learner's hard constraints; ``None`` means "no constraint".

    ``languages``/``modes`` set to an empty list is a contradiction (nothing can match), not
    "anything goes". ``country`` (compared case-insensitively with the credential's, so use
    the same codes, e.g. ISO 3166-1 alpha-2) applies to onsite/blended courses only: online is
    anywhere, and an unstated mode with another country is flagged ``unknown mode``.
    ``exclude_providers`` match the provider name case-insensitively.
    ``eqf_target`` (optional) is the preferred level used by the level fit.
    """

    model_config = ConfigDict(frozen=True)

    languages: list[str] | None = None
    budget_ects: float | None = None
    budget_hours: float | None = None
    eqf_min: int | None = None
    eqf_max: int | None = None
    eqf_target: float | None = None
    modes: list[Mode] | None = None
    country: str | None = None
    max_price: float | None = None
    exclude_providers: list[str] = Field(default_factory=list)
    strict: bool = False

    @property
    def has_budget(self) -> bool:
        return self.budget_ects is not None or self.budget_hours is not None


class RankWeights(BaseModel):
    """Small multiplicative bonuses on the coverage gain (see the module docstring)."""

    model_config = ConfigDict(frozen=True)

    workload: float = Field(0.1, ge=0.0, le=1.0)
    level: float = Field(0.1, ge=0.0, le=1.0)
    reference_ects: float = Field(5.0, gt=0.0)


class Excluded(BaseModel):
    """A credential the hard constraints removed, with one reason per violated constraint."""

    model_config = ConfigDict(frozen=True)

    id: str
    reasons: list[str]


@dataclass(frozen=True)
class Filtered:
    """Result of :func:`filter_candidates`: kept credentials (sorted by id) and their flags."""

    kept: list[Candidate]
    flags: dict[str, list[str]]
    excluded: list[Excluded]
    excluded_counts: dict[str, int]


@dataclass(frozen=True)
class Coverage:
    """How one credential covers one gap skill: directly (``via_skill`` None) or via a neighbour."""

    amount: float
    link: SkillLink
    via_skill: str | None = None
    similarity: float | None = None


class CoveredSkill(BaseModel):
    """One gap skill a ranked credential covers, with the evidence and what it adds.

    ``before`` is the coverage already reached by better-ranked credentials; ``gain`` is the
    weighted amount this credential adds, ``remaining_weight * max(0, amount - before)``.
    """

    model_config = ConfigDict(frozen=True)

    uri: str
    label: str
    relation: Relation
    remaining_weight: float
    amount: float
    before: float
    gain: float
    strength: float
    evidence: str | None
    source: Literal["declared", "inferred"]
    via_skill: str | None = None
    via_label: str | None = None
    similarity: float | None = None


class ScoreParts(BaseModel):
    """The score and its parts: ``score = coverage_gain * multiplier``."""

    model_config = ConfigDict(frozen=True)

    coverage_gain: float
    standalone_coverage: float
    redundancy_discount: float
    workload_fit: float
    level_fit: float
    multiplier: float
    score: float


class RelevanceParts(BaseModel):
    """How the relevance ranking (:mod:`skillpath.engine.relevance`) scored a credential:
    each feature's value and its weighted contribution, so an advisor can check the score."""

    model_config = ConfigDict(frozen=True)

    features: dict[str, float]
    contributions: dict[str, float]
    base: float
    redundancy: float = 0.0
    """Cosine to the most similar credential ranked above (what diversity discounted)."""
    score: float
    matched: list[str] = Field(default_factory=list)
    """The target's essential skills this credential's text is closest to."""


class RankedCredential(BaseModel):
    model_config = ConfigDict(frozen=True)

    rank: int
    id: str
    title: str
    score: float
    parts: ScoreParts
    covered: list[CoveredSkill]
    flags: list[str] = Field(default_factory=list)
    url: str | None = None
    also_as: list[str] = Field(
        default_factory=list,
        description="Other ids of the same course (another source or language), merged here.",
    )
    relevance: RelevanceParts | None = None


class Ranking(BaseModel):
    """Top-k credentials, what was filtered out and why, and the coverage the top-k reaches."""

    model_config = ConfigDict(frozen=True)

    occupation_uri: str
    items: list[RankedCredential]
    excluded: list[Excluded] = Field(default_factory=list)
    excluded_counts: dict[str, int] = Field(default_factory=dict)
    flagged_counts: dict[str, int] = Field(default_factory=dict)
    considered: int = 0
    relevant: int = 0
    coverage: float = 0.0
    essential_coverage: float = 0.0
    reason_if_empty: str | None = None
    weights: RankWeights = Field(default_factory=RankWeights)


# --- workload and fits --------------------------------------------------------------------


def ects_estimate(c: Candidate) -> float | None:
    """ECTS as stated, else a conservative (upper) estimate from hours, else None."""
    if c.ects is not None:
        return c.ects
    return None if c.hours is None else c.hours / HOURS_PER_ECTS_MIN


def hours_estimate(c: Candidate) -> float | None:
    """Hours as stated, else a conservative (upper) estimate from ECTS, else None."""
    if c.hours is not None:
        return c.hours
    return None if c.ects is None else c.ects * HOURS_PER_ECTS_MAX


def workload_fit(c: Candidate, constraints: Constraints, weights: RankWeights) -> float:
    """``ref / (ref + workload)`` in ECTS (or hours when only an hours budget is set)."""
    if constraints.budget_ects is None and constraints.budget_hours is not None:
        ref, load = constraints.budget_hours, hours_estimate(c)
    else:
        ref, load = constraints.budget_ects or weights.reference_ects, ects_estimate(c)
    if load is None or ref <= 0:
        return 0.5
    return ref / (ref + load)


def level_fit(c: Candidate, constraints: Constraints) -> float:
    """``1 - |eqf - target| / 4`` (floored at 0); 0.5 when the level or the target is unknown."""
    target = constraints.eqf_target
    if target is None:
        lo, hi = constraints.eqf_min, constraints.eqf_max
        if lo is not None and hi is not None:
            target = (lo + hi) / 2
        else:
            target = lo if lo is not None else hi
    if target is None or c.eqf_level is None:
        return 0.5
    return max(0.0, 1.0 - abs(c.eqf_level - target) / 4.0)


# --- constraints --------------------------------------------------------------------------


def constraint_conflicts(constraints: Constraints) -> list[str]:
    """Why these constraints can never be met (empty list: they can)."""
    c = constraints
    out: list[str] = []
    if c.budget_ects is not None and c.budget_ects <= 0:
        out.append(f"the ECTS budget is {c.budget_ects:g}: no credential fits")
    if c.budget_hours is not None and c.budget_hours <= 0:
        out.append(f"the hours budget is {c.budget_hours:g}: no credential fits")
    if c.eqf_min is not None and c.eqf_max is not None and c.eqf_min > c.eqf_max:
        out.append(f"minimum EQF level {c.eqf_min} is above maximum {c.eqf_max}")
    if c.eqf_min is not None and c.eqf_min > 8:
        out.append(f"minimum EQF level {c.eqf_min} is above 8, the highest level")
    if c.eqf_max is not None and c.eqf_max < 1:
        out.append(f"maximum EQF level {c.eqf_max} is below 1, the lowest level")
    if c.languages is not None and not c.languages:
        out.append("the language list is empty: no language accepted")
    if c.modes is not None and not c.modes:
        out.append("the list of forms of participation is empty")
    if c.max_price is not None and c.max_price < 0:
        out.append(f"maximum price {c.max_price:g} is negative")
    return out


def _check(c: Candidate, k: Constraints) -> tuple[list[tuple[str, str]], list[str]]:
    """(violations as (key, reason), unknown-field flags) of one credential."""
    bad: list[tuple[str, str]] = []
    unknown: list[str] = []
    excluded_providers = {p.strip().casefold() for p in k.exclude_providers if p.strip()}
    if c.provider and c.provider.strip().casefold() in excluded_providers:
        bad.append(("provider", f"provider: {c.provider} is excluded"))
    if k.languages is not None:
        accepted = sorted({lang.strip().lower() for lang in k.languages})
        if not c.languages:
            unknown.append("unknown language")
        elif not set(c.languages) & set(accepted):
            bad.append(
                (
                    "language",
                    f"language: taught in {', '.join(c.languages)}; "
                    f"you accept {', '.join(accepted)}",
                )
            )
    if k.modes is not None:
        if c.mode is None:
            unknown.append("unknown mode")
        elif c.mode not in k.modes:
            bad.append(("mode", f"mode: {c.mode}; you accept {', '.join(sorted(set(k.modes)))}"))
    if k.country is not None and c.mode != "online":
        if c.country is None:
            unknown.append("unknown country")
        elif c.country.strip().casefold() != k.country.strip().casefold():
            if c.mode is None:
                # might be online: not stated, so not a violation
                if "unknown mode" not in unknown:
                    unknown.append("unknown mode")
            else:
                bad.append(("country", f"country: {c.mode} in {c.country}; you are in {k.country}"))
    if k.max_price is not None:
        if c.price is None:
            unknown.append("unknown price")
        elif c.price > k.max_price + _TOL:
            bad.append(("price", f"price: {c.price:g} is above your maximum {k.max_price:g}"))
    if k.eqf_min is not None or k.eqf_max is not None:
        lo, hi = k.eqf_min or 1, k.eqf_max or 8
        if c.eqf_level is None:
            unknown.append("unknown eqf_level")
        elif not lo <= c.eqf_level <= hi:
            bad.append(("eqf_level", f"eqf_level: {c.eqf_level} is outside {lo}-{hi}"))
    workload_unknown = False
    if k.budget_ects is not None:
        ects = ects_estimate(c)
        if ects is None:
            workload_unknown = True
        elif ects > k.budget_ects + _TOL:
            bad.append(("ects", f"ects: {ects:g} is above your budget of {k.budget_ects:g}"))
    if k.budget_hours is not None:
        hours = hours_estimate(c)
        if hours is None:
            workload_unknown = True
        elif hours > k.budget_hours + _TOL:
            bad.append(("hours", f"hours: {hours:g} is above your budget of {k.budget_hours:g}"))
    if workload_unknown:
        unknown.append("unknown workload")
    return bad, unknown


def filter_candidates(
    candidates: Iterable[Candidate],
    constraints: Constraints,
    *,
    require_workload: bool = False,
) -> Filtered:
    """Apply the hard constraints; unknown fields are flags unless ``strict``.

    ``require_workload`` (used by budgeted pathways) excludes credentials whose workload is
    unknown while a budget is set, whatever ``strict`` says. Duplicate ids raise ``ValueError``.
    """
    ordered = sorted(candidates, key=lambda c: c.id)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.id == b.id:
            raise ValueError(f"duplicate candidate id {a.id!r}")
    kept: list[Candidate] = []
    flags: dict[str, list[str]] = {}
    excluded: list[Excluded] = []
    counts: Counter[str] = Counter()
    for c in ordered:
        bad, unknown = _check(c, constraints)
        for flag in unknown:
            if constraints.strict or (require_workload and flag == "unknown workload"):
                bad.append((flag, flag if constraints.strict else f"{flag}: budget not checkable"))
        if bad:
            excluded.append(Excluded(id=c.id, reasons=[reason for _, reason in bad]))
            counts.update(key for key, _ in bad)
        else:
            kept.append(c)
            flags[c.id] = unknown
    return Filtered(kept=kept, flags=flags, excluded=excluded, excluded_counts=dict(counts))


# --- coverage -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReverseNeighbours:
    """One gap's lookups, built once per request by :func:`reverse_neighbours`.

    ``by_skill``: skill URI → [(gap skill URI, clamped similarity)], the gap skills a link to
    it may cover (the neighbours turned around); ``position``: gap skill URI → its place in
    the gap (coverage is returned in gap order); ``weight``: gap skill URI → remaining weight.
    """

    by_skill: Mapping[str, Sequence[tuple[str, float]]]
    position: Mapping[str, int]
    weight: Mapping[str, float]


def reverse_neighbours(gap: Gap, neighbours: Neighbours | None) -> ReverseNeighbours:
    """:func:`coverage`'s lookups for one gap: a credential has a handful of links while a gap
    has dozens of skills with a dozen neighbours each, so looking up each link is far cheaper
    than scanning every gap skill and neighbour for each of ~900 candidates."""
    out: dict[str, list[tuple[str, float]]] = {}
    for g in gap.skills:
        for skill_uri, similarity in (neighbours or {}).get(g.uri, ()):
            if skill_uri != g.uri:
                out.setdefault(skill_uri, []).append((g.uri, min(max(float(similarity), 0.0), 1.0)))
    position: dict[str, int] = {}
    for i, g in enumerate(gap.skills):
        position.setdefault(g.uri, i)
    return ReverseNeighbours(out, position, {g.uri: g.remaining_weight for g in gap.skills})


def coverage(
    candidate: Candidate,
    gap: Gap,
    neighbours: Neighbours | None = None,
    reverse: ReverseNeighbours | None = None,
) -> dict[str, Coverage]:
    """Per gap skill (in gap order), the best way this credential covers it; absent = not at all.

    Ties: an exact link beats a neighbour of equal amount; among neighbours the smaller URI wins.
    ``reverse`` (:func:`reverse_neighbours` of the same gap and neighbours) saves rebuilding it
    when many credentials are scored against one gap.
    """
    if reverse is None:
        reverse = reverse_neighbours(gap, neighbours)
    position = reverse.position
    best: dict[str, Coverage] = {}
    # One pass over the credential's few links; the tie rules make the result independent
    # of the order links come in (tests/test_ranking.py checks it against a full scan).
    for skill_uri, link in candidate.links.items():
        strength = link.strength
        if skill_uri in position and strength > _MIN_AMOUNT:
            current = best.get(skill_uri)
            if (
                current is None
                or strength > current.amount
                or (strength == current.amount and current.via_skill is not None)
            ):
                best[skill_uri] = Coverage(amount=strength, link=link)
        for gap_uri, similarity in reverse.by_skill.get(skill_uri, ()):
            amount = strength * similarity
            if amount <= _MIN_AMOUNT:
                continue
            current = best.get(gap_uri)
            if (
                current is None
                or amount > current.amount
                or (
                    amount == current.amount
                    and current.via_skill is not None
                    and skill_uri < current.via_skill
                )
            ):
                best[gap_uri] = Coverage(amount, link, via_skill=skill_uri, similarity=similarity)
    if len(best) > 1:
        return dict(sorted(best.items(), key=lambda item: position[item[0]]))
    return best


def coverage_value(
    amounts: Mapping[str, float], gap: Gap, relation: Relation | None = None
) -> float:
    """``f(S) / sum r_g`` for per-skill best amounts; ``relation`` restricts to one kind."""
    skills = [g for g in gap.skills if relation is None or g.relation == relation]
    total = sum(g.remaining_weight for g in skills)
    if total <= 0.0:
        return 0.0
    reached = sum(g.remaining_weight * amounts.get(g.uri, 0.0) for g in skills)
    return min(1.0, reached / total)


def marginal_gain(
    cov: Mapping[str, Coverage],
    best: Mapping[str, float],
    gap: Gap,
    reverse: ReverseNeighbours | None = None,
) -> float:
    """``f(S + c) - f(S)`` (unnormalised), ``best`` being the per-skill coverage of ``S``.

    With ``reverse`` (the gap's lookups) ``cov`` must come from :func:`coverage` (in gap
    order): only its entries are visited, in the same order, so the sum is the same float."""
    # Summed in gap order so the float result is the same whatever order candidates came in.
    total = 0.0
    if reverse is not None:
        weight = reverse.weight
        for uri, entry in cov.items():
            total += weight[uri] * max(0.0, entry.amount - best.get(uri, 0.0))
        return total
    for g in gap.skills:
        entry = cov.get(g.uri)
        if entry is not None:
            total += g.remaining_weight * max(0.0, entry.amount - best.get(g.uri, 0.0))
    return total


def covered_skills(
    cov: Mapping[str, Coverage], best: Mapping[str, float], gap: Gap
) -> list[CoveredSkill]:
    """The gap skills a credential covers, with what it adds on top of ``best``."""
    out: list[CoveredSkill] = []
    for g in gap.skills:
        entry = cov.get(g.uri)
        if entry is None:
            continue
        before = best.get(g.uri, 0.0)
        out.append(
            CoveredSkill(
                uri=g.uri,
                label=g.label,
                relation=g.relation,
                remaining_weight=g.remaining_weight,
                amount=entry.amount,
                before=before,
                gain=g.remaining_weight * max(0.0, entry.amount - before),
                strength=entry.link.strength,
                evidence=entry.link.evidence,
                source=entry.link.source,
                via_skill=entry.via_skill,
                via_label=entry.link.label if entry.via_skill else None,
                similarity=entry.similarity,
            )
        )
    return out


def _empty(gap: Gap, reason: str, weights: RankWeights, **extra: object) -> Ranking:
    return Ranking(
        occupation_uri=gap.occupation_uri,
        items=[],
        reason_if_empty=reason,
        weights=weights,
        **extra,  # type: ignore[arg-type]
    )


def screen_candidates(
    gap: Gap,
    candidates: list[Candidate],
    constraints: Constraints,
    k: int,
    weights: RankWeights,
    need_gap: bool,
) -> Ranking | tuple[Filtered, dict[str, object]]:
    """What every ranking does first: contradictions, hard constraints, nothing to rank.

    Returns the empty :class:`Ranking` that says why nothing can be ranked, or the filtered
    candidates with the exclusion fields every ranking reports. ``need_gap``: an empty gap
    leaves nothing to rank (the coverage ranking; relevance can still rank without one).
    """
    conflicts = constraint_conflicts(constraints)
    if conflicts:
        return _empty(gap, "contradictory constraints: " + "; ".join(conflicts), weights)
    filtered = filter_candidates(candidates, constraints)
    extra: dict[str, object] = {
        "excluded": filtered.excluded,
        "excluded_counts": filtered.excluded_counts,
        "considered": len(candidates),
    }
    if k <= 0:
        return _empty(gap, f"k is {k}: no credentials were asked for", weights)
    if need_gap and not gap.skills:
        return _empty(gap, gap.reason_if_empty or "the gap is empty", weights, **extra)
    if not candidates:
        return _empty(gap, "no candidate credentials were given", weights, **extra)
    if not filtered.kept:
        reason = (
            f"all {len(candidates)} candidates were filtered out by your constraints "
            f"({_summary(filtered.excluded_counts)})"
        )
        return _empty(gap, reason, weights, **extra)
    return filtered, extra


def _summary(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{key}: {n}" for key, n in sorted(counts.items()))


def relevant_candidates(
    gap: Gap, kept: Sequence[Candidate], neighbours: Neighbours | None
) -> tuple[list[tuple[Candidate, dict[str, Coverage]]], list[Excluded]]:
    """Kept credentials that cover at least one gap skill, with their coverage; and the rest."""
    relevant: list[tuple[Candidate, dict[str, Coverage]]] = []
    irrelevant: list[Excluded] = []
    reverse = reverse_neighbours(gap, neighbours)
    for c in kept:
        cov = coverage(c, gap, reverse=reverse)
        if cov:
            relevant.append((c, cov))
        else:
            irrelevant.append(Excluded(id=c.id, reasons=["no gap coverage: teaches no gap skill"]))
    return relevant, irrelevant


def rank_credentials(
    gap: Gap,
    candidates: Iterable[Candidate],
    constraints: Constraints | None = None,
    neighbours: Neighbours | None = None,
    k: int = 10,
    weights: RankWeights | None = None,
) -> Ranking:
    """Greedy top-k by score (see the module docstring); deterministic, ties broken by id.

    Once every coverable gap share is reached, remaining relevant credentials score 0 (fully
    redundant); they still fill the top-k, best standalone coverage first, flagged ``redundant``.
    """
    constraints = constraints or Constraints()
    weights = weights or RankWeights()
    screened = screen_candidates(gap, list(candidates), constraints, k, weights, need_gap=True)
    if isinstance(screened, Ranking):
        return screened
    filtered, extra = screened

    relevant, irrelevant = relevant_candidates(gap, filtered.kept, neighbours)
    counts = dict(filtered.excluded_counts)
    if irrelevant:
        counts["no gap coverage"] = len(irrelevant)
    extra["excluded"] = sorted(filtered.excluded + irrelevant, key=lambda e: e.id)
    extra["excluded_counts"] = counts
    if not relevant:
        reason = f"none of the {len(filtered.kept)} remaining credentials teaches a gap skill"
        return _empty(gap, reason, weights, **extra)

    total = gap.remaining_weight
    multiplier: dict[str, float] = {}
    fits: dict[str, tuple[float, float]] = {}
    standalone: dict[str, float] = {}
    for c, cov in relevant:
        wf, lf = workload_fit(c, constraints, weights), level_fit(c, constraints)
        fits[c.id] = (wf, lf)
        multiplier[c.id] = 1.0 + weights.workload * wf + weights.level * lf
        standalone[c.id] = marginal_gain(cov, {}, gap) / total

    best: dict[str, float] = {}
    remaining = list(relevant)
    items: list[RankedCredential] = []
    while remaining and len(items) < k:
        pick_i, pick_key = -1, None
        for i, (c, cov) in enumerate(remaining):
            gain = marginal_gain(cov, best, gap) / total
            # max score, then max standalone, then smallest id (remaining is sorted by id)
            key = (gain * multiplier[c.id], standalone[c.id])
            if pick_key is None or key > pick_key:
                pick_i, pick_key = i, key
        c, cov = remaining.pop(pick_i)
        gain = marginal_gain(cov, best, gap) / total
        wf, lf = fits[c.id]
        parts = ScoreParts(
            coverage_gain=gain,
            standalone_coverage=standalone[c.id],
            redundancy_discount=max(0.0, standalone[c.id] - gain),
            workload_fit=wf,
            level_fit=lf,
            multiplier=multiplier[c.id],
            score=gain * multiplier[c.id],
        )
        flags = list(filtered.flags.get(c.id, []))
        if gain <= 0.0:
            flags.append("redundant")
        items.append(
            RankedCredential(
                rank=len(items) + 1,
                id=c.id,
                title=c.title,
                score=parts.score,
                parts=parts,
                covered=covered_skills(cov, best, gap),
                flags=flags,
                url=c.url,
            )
        )
        for uri, entry in cov.items():
            best[uri] = max(best.get(uri, 0.0), entry.amount)

    flagged: Counter[str] = Counter()
    for c, _ in relevant:
        flagged.update(filtered.flags.get(c.id, []))
    return Ranking(
        occupation_uri=gap.occupation_uri,
        items=items,
        flagged_counts=dict(flagged),
        relevant=len(relevant),
        coverage=coverage_value(best, gap),
        essential_coverage=coverage_value(best, gap, "essential"),
        weights=weights,
        **extra,  # type: ignore[arg-type]
    )
