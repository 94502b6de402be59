"""Rank credentials by what an advisor sees: relevance to the target job, then the gap.

The coverage ranking (:mod:`skillpath.engine.ranking`) scores a course only by the ESCO skill
URIs it is linked to; those links are few and concrete ("SQL") while an occupation's skills are
abstract ("query languages"), so on judged career moves it ranked below plain search. Here a
course is scored by a weighted sum of a few features, each in [0, 1]:

``title``       cosine of the course vector to the job title as the learner typed it;
``occupation``  cosine to the resolved ESCO occupation's label + description;
``skills``      mean of the ``skills_top`` best cosines to the occupation's essential skills;
``bm25``        BM25 of the course text for the typed title, divided by the best in the catalogue;
``coverage``    the gap share the course covers, with partial credit through ESCO's hierarchy
                (a course linked to "SQL" covers part of the gap skill "query languages") and
                skill-skill similarity (:func:`hierarchy_neighbours`, :func:`merge_neighbours`);
``current``     how much more the course is about the learner's *current* job than the target
                (``max(0, cos(current) - cos(occupation))``): weighted negatively;
``foreign``     1 if the course states languages and none is the learner's: negative;
``empty``       1 if the course has no description or outcomes (nothing to judge): negative.

``base = sum_f w_f * feature_f`` (weights in :class:`RelevanceWeights`, which the one
``Tuning`` object carries; chosen by cross-validation over development cases, see
experiments/recommend_tuning.py and docs/benchmarks.md). Diversity is a greedy maximal
marginal relevance pass: ``score = base - diversity * max cos(course, courses above)``, and a
course whose vector or normalised title is a near duplicate of one above (the same course from
two sources) is dropped. Every step is deterministic: ties go to the smaller id.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from skillpath.engine.gap import Gap
from skillpath.engine.ranking import (
    Candidate,
    Constraints,
    Neighbours,
    RankedCredential,
    Ranking,
    RankWeights,
    RelevanceParts,
    ScoreParts,
    coverage,
    coverage_value,
    covered_skills,
    level_fit,
    marginal_gain,
    reverse_neighbours,
    screen_candidates,
    workload_fit,
)

__all__ = [
    "FEATURES",
    "RelevanceFeatures",
    "RelevanceWeights",
    "diversify",
    "hierarchy_neighbours",
    "merge_neighbours",
    "normalised_title",
    "rank_by_relevance",
    "relevance_score",
]

FEATURES = ("title", "occupation", "skills", "bm25", "coverage", "current", "foreign", "empty")


class RelevanceWeights(BaseModel):
    """The weights of the relevance score and the diversity pass (module docstring).

    Defaults: the mean over 5 cross-validation folds of the weights coordinate ascent chose on
    the training folds of the 30 development cases (title fixed at 1 as the scale), rounded to
    the search grid; experiments/recommend_tuning.py prints them and their spread. The MMR
    weight is 0: on the judged dev cases any penalty (0.02-0.1) lowered nDCG@10 (graders judge
    each course alone), so by default diversity only drops near duplicates (same normalised
    title or cosine >= ``duplicate_cosine``); raise ``diversity`` for more varied lists.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: float = Field(1.0, description="Cosine to the typed job title.")
    occupation: float = Field(0.25, description="Cosine to the occupation label + description.")
    skills: float = Field(0.25, description="Mean best cosines to the essential skills.")
    bm25: float = Field(0.05, description="BM25 for the typed title, normalised per query.")
    coverage: float = Field(0.4, description="Gap share covered (hierarchy partial credit).")
    current: float = Field(-0.85, description="More about the current job than the target.")
    foreign: float = Field(-0.05, description="Not in the learner's language.")
    empty: float = Field(-0.3, description="No description or learning outcomes.")
    diversity: float = Field(0.0, ge=0, description="MMR penalty per unit of cosine above.")
    duplicate_cosine: float = Field(
        0.97, ge=0, le=1, description="Vectors this close are the same course: shown once."
    )
    skills_top: int = Field(3, ge=1, description="Essential skills averaged in ``skills``.")
    hierarchy_decay: float = Field(
        0.5, ge=0, le=1, description="Credit a narrower skill gives its broader gap skill."
    )
    hierarchy_depth: int = Field(2, ge=0, description="Levels down ESCO's hierarchy credited.")
    pathway_pool: int = Field(30, ge=1, description="Most relevant courses a pathway picks from.")
    pathway_relevance_floor: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Share of its coverage the pool's least relevant course counts with when "
        "the pathway chooses (the most relevant counts fully; linear in between).",
    )

    def vector(self) -> np.ndarray:
        return np.asarray([getattr(self, f) for f in FEATURES], dtype=np.float64)


class RelevanceFeatures(BaseModel):
    """The feature values of one credential for one request (module docstring)."""

    model_config = ConfigDict(frozen=True)

    title: float = 0.0
    occupation: float = 0.0
    skills: float = 0.0
    bm25: float = 0.0
    coverage: float = 0.0
    current: float = 0.0
    foreign: float = 0.0
    empty: float = 0.0

    def vector(self) -> np.ndarray:
        return np.asarray([getattr(self, f) for f in FEATURES], dtype=np.float64)


def relevance_score(features: RelevanceFeatures, weights: RelevanceWeights) -> float:
    """``sum_f w_f * feature_f`` (rounded to 1e-9 so float noise never decides an order)."""
    return round(float(features.vector() @ weights.vector()), 9)


# --- partial coverage through ESCO's hierarchy ----------------------------------------------


def hierarchy_neighbours(
    gap_uris: Iterable[str],
    narrower: Mapping[str, Sequence[tuple[str, int]]],
    taught: Iterable[str],
    decay: float = 0.5,
) -> dict[str, list[tuple[str, float]]]:
    """For each gap skill, the taught skills below it in ESCO's hierarchy with ``decay**depth``.

    ``narrower[g]`` lists ``(skill, depth)`` under ``g`` (depth 1 = direct child). A course
    teaching "SQL" (child of "query languages") thus covers ``decay`` of "query languages":
    part of it, not all, since SQL is one query language among several.
    """
    taught_set = set(taught)
    out: dict[str, list[tuple[str, float]]] = {}
    for g in gap_uris:
        found = sorted(
            (s, round(decay**depth, 6))
            for s, depth in narrower.get(g, ())
            if s in taught_set and s != g and depth >= 1
        )
        if found:
            out[g] = found
    return out


def merge_neighbours(*sources: Neighbours) -> dict[str, list[tuple[str, float]]]:
    """Union of neighbour maps, the highest similarity per (gap skill, skill), sorted by skill."""
    best: dict[str, dict[str, float]] = {}
    for source in sources:
        for g, pairs in source.items():
            row = best.setdefault(g, {})
            for s, sim in pairs:
                row[s] = max(float(sim), row.get(s, 0.0))
    return {g: sorted(row.items()) for g, row in best.items()}


# --- diversity ------------------------------------------------------------------------------

_SPACES = re.compile(r"[^a-z0-9]+")


def normalised_title(title: str) -> str:
    """Lower case, accents and punctuation removed: "Data Analysis (IBM)" ~ "data analysis ibm"."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return _SPACES.sub(" ", text).strip()


def diversify(
    scored: Sequence[tuple[str, float]],
    vectors: Mapping[str, np.ndarray],
    titles: Mapping[str, str],
    k: int,
    weight: float,
    duplicate_cosine: float,
) -> list[tuple[str, float, float]]:
    """Greedy MMR: (id, score, redundancy) for the top ``k``, best first.

    ``score = base - weight * redundancy`` with ``redundancy`` the cosine to the closest
    credential already chosen; near duplicates (cosine >= ``duplicate_cosine`` or the same
    normalised title) of a chosen credential are skipped. Ties: smaller id first.
    """
    order = sorted(scored, key=lambda p: (-p[1], p[0]))
    order = order[: max(8 * k, 50)]  # far below these, no penalty on others lets one in
    if not order or k <= 0:
        return []
    ids = [cid for cid, _ in order]
    base = np.asarray([score for _, score in order], dtype=np.float64)
    dim = len(next(iter(vectors.values()))) if vectors else 1
    has = np.asarray([cid in vectors for cid in ids])
    matrix = np.stack([vectors.get(cid, np.zeros(dim, dtype=np.float32)) for cid in ids])
    names = [normalised_title(titles.get(cid, cid)) for cid in ids]
    redundancy = np.zeros(len(ids))
    alive = np.ones(len(ids), dtype=bool)
    chosen: list[tuple[str, float, float]] = []
    while alive.any() and len(chosen) < k:
        adjusted = np.round(base - weight * redundancy, 9)
        pick = max(np.flatnonzero(alive), key=lambda i: (adjusted[i], _neg(ids[i])))
        chosen.append((ids[pick], float(adjusted[pick]), float(redundancy[pick])))
        alive[pick] = False
        if has[pick]:
            sims = np.where(has, matrix @ matrix[pick], 0.0)
            redundancy = np.maximum(redundancy, sims)
            alive &= ~(has & (sims >= duplicate_cosine))
        alive &= np.asarray([name != names[pick] for name in names])
    return chosen


class _Neg(str):
    """A string that sorts in reverse, so ``max`` over (score, _Neg(id)) prefers smaller ids."""

    def __lt__(self, other: object) -> bool:
        return str.__gt__(self, other)  # type: ignore[operator]

    def __gt__(self, other: object) -> bool:
        return str.__lt__(self, other)  # type: ignore[operator]


def _neg(text: str) -> _Neg:
    return _Neg(text)


# --- the ranking ----------------------------------------------------------------------------


def rank_by_relevance(
    gap: Gap,
    candidates: Iterable[Candidate],
    features: Mapping[str, RelevanceFeatures],
    vectors: Mapping[str, np.ndarray],
    constraints: Constraints | None = None,
    neighbours: Neighbours | None = None,
    k: int = 10,
    weights: RelevanceWeights | None = None,
    rank_weights: RankWeights | None = None,
    matched: Mapping[str, Sequence[str]] | None = None,
) -> Ranking:
    """Top ``k`` credentials by relevance with diversity, each with the gap skills it covers.

    ``features`` must hold every candidate (:mod:`skillpath.engine.candidates` computes them);
    ``vectors`` are the credentials' unit vectors for the diversity pass. Hard constraints are
    applied first, exactly as in the coverage ranking. Unlike it, a course that covers no gap
    skill by URI can rank (most relevant courses are linked to no gap skill at all); its
    explanation then says so. ``matched`` names, per credential, the essential skills its
    vector is closest to (quoted by the explanation).
    """
    matched = matched or {}
    constraints = constraints or Constraints()
    weights = weights or RelevanceWeights()
    rank_weights = rank_weights or RankWeights()
    screened = screen_candidates(
        gap, list(candidates), constraints, k, rank_weights, need_gap=False
    )
    if isinstance(screened, Ranking):
        return screened
    filtered, extra = screened
    missing = [c.id for c in filtered.kept if c.id not in features]
    if missing:
        raise ValueError(f"no relevance features for {len(missing)} candidates, e.g. {missing[0]}")

    kept = {c.id: c for c in filtered.kept}
    base = {cid: relevance_score(features[cid], weights) for cid in kept}
    titles = {cid: c.title for cid, c in kept.items()}
    picked = diversify(
        list(base.items()), vectors, titles, k, weights.diversity, weights.duplicate_cosine
    )
    total = gap.remaining_weight
    best: dict[str, float] = {}
    items: list[RankedCredential] = []
    w = weights.vector()
    reverse = reverse_neighbours(gap, neighbours)
    for cid, score, redundancy in picked:
        c = kept[cid]
        cov = coverage(c, gap, reverse=reverse) if gap.skills else {}
        standalone = marginal_gain(cov, {}, gap, reverse) / total if total > 0 else 0.0
        gain = marginal_gain(cov, best, gap, reverse) / total if total > 0 else 0.0
        f = features[cid]
        contributions = {
            name: round(float(v * wt), 6)
            for name, v, wt in zip(FEATURES, f.vector(), w, strict=True)
        }
        flags = list(filtered.flags.get(cid, []))
        if not cov:
            flags.append("no gap skill linked")
        items.append(
            RankedCredential(
                rank=len(items) + 1,
                id=cid,
                title=c.title,
                score=score,
                parts=ScoreParts(
                    coverage_gain=gain,
                    standalone_coverage=standalone,
                    redundancy_discount=max(0.0, standalone - gain),
                    workload_fit=workload_fit(c, constraints, rank_weights),
                    level_fit=level_fit(c, constraints),
                    multiplier=1.0,
                    score=score,
                ),
                covered=covered_skills(cov, best, gap),
                flags=flags,
                url=c.url,
                relevance=RelevanceParts(
                    features={n: round(float(v), 6) for n, v in f.model_dump().items()},
                    contributions=contributions,
                    base=base[cid],
                    redundancy=round(redundancy, 6),
                    score=score,
                    matched=list(matched.get(cid, ())),
                ),
            )
        )
        for uri, entry in cov.items():
            best[uri] = max(best.get(uri, 0.0), entry.amount)
    flagged: dict[str, int] = {}
    for cid in kept:
        for flag in filtered.flags.get(cid, []):
            flagged[flag] = flagged.get(flag, 0) + 1
    return Ranking(
        occupation_uri=gap.occupation_uri,
        items=items,
        flagged_counts=flagged,
        relevant=len(kept),
        coverage=coverage_value(best, gap),
        essential_coverage=coverage_value(best, gap, "essential"),
        weights=rank_weights,
        **extra,  # type: ignore[arg-type]
    )
