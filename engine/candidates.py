"""Candidate retrieval and relevance features for one recommendation request.

The coverage ranking retrieved only credentials linked to a gap skill's URI. Most courses an
advisor would give are linked to none (a course carries ~3 inferred skills), so candidates
come from several searches, pooled:

* FAISS search of the credential vectors with the typed job title, with the occupation's
  label + description, and with each essential skill (``per_skill`` hits each);
* BM25 over the course text with the typed title;
* the skill postings of the coverage ranking (credentials linked to a gap skill).

Everything here is a pure function of arrays and callables the facade supplies (an encoder's
output, a search function over the FAISS index, BM25 scores), so it never touches a store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from skillpath.engine.gap import Gap
from skillpath.engine.ranking import Candidate, coverage, marginal_gain, reverse_neighbours
from skillpath.engine.relevance import RelevanceFeatures, RelevanceWeights

__all__ = [
    "CredentialVectors",
    "QueryVectors",
    "RelevanceInputs",
    "RelevanceTexts",
    "Search",
    "TargetPool",
    "features_for",
    "gather_inputs",
    "pool_candidates",
    "target_pool",
]

Search = Callable[[np.ndarray, int], list[list[tuple[str, float]]]]
"""Credential search: (query vectors, k) → per query [(credential id, cosine)], best first."""


@dataclass(frozen=True)
class CredentialVectors:
    """The unit vector of every credential, by id (a view of the FAISS bundle's matrix)."""

    ids: tuple[str, ...]
    matrix: np.ndarray  # (len(ids), dim) float32, rows L2-normalised
    position: Mapping[str, int]

    @classmethod
    def build(cls, ids: Sequence[str], matrix: np.ndarray) -> CredentialVectors:
        if len(ids) != len(matrix):
            raise ValueError(f"{len(ids)} ids but {len(matrix)} vectors")
        return cls(tuple(ids), np.asarray(matrix, np.float32), {c: i for i, c in enumerate(ids)})

    def rows(self, ids: Sequence[str]) -> np.ndarray:
        """The vectors of ``ids`` (zeros for an id without one)."""
        out = np.zeros((len(ids), self.matrix.shape[1]), dtype=np.float32)
        for i, cid in enumerate(ids):
            j = self.position.get(cid)
            if j is not None:
                out[i] = self.matrix[j]
        return out


@dataclass(frozen=True)
class QueryVectors:
    """The request's query vectors (unit length): what a relevant course should be close to."""

    title: np.ndarray  # the job title as typed
    occupation: np.ndarray | None = None  # resolved occupation: label + description
    skills: np.ndarray | None = None  # (n, dim) the occupation's essential skills
    current: np.ndarray | None = None  # the learner's current occupation (label + description)


def pool_candidates(
    search: Search,
    queries: QueryVectors,
    bm25_ids: Iterable[str] = (),
    posting_ids: Iterable[str] = (),
    per_query: int = 100,
    per_skill: int = 10,
) -> list[str]:
    """The union of every retrieval's hits, sorted by id (order never depends on the search)."""
    rows = [queries.title]
    ks = [per_query]
    if queries.occupation is not None:
        rows.append(queries.occupation)
        ks.append(per_query)
    pooled: dict[str, None] = {}
    for hits, k in zip(search(np.stack(rows), per_query), ks, strict=True):
        for cid, _ in hits[:k]:
            pooled.setdefault(cid, None)
    if queries.skills is not None and len(queries.skills) and per_skill > 0:
        for hits in search(queries.skills, per_skill):
            for cid, _ in hits:
                pooled.setdefault(cid, None)
    for cid in [*bm25_ids, *posting_ids]:
        pooled.setdefault(cid, None)
    return sorted(pooled)


def features_for(
    ids: Sequence[str],
    vectors: CredentialVectors,
    queries: QueryVectors,
    bm25: Mapping[str, float],
    coverage: Mapping[str, float],
    languages: Mapping[str, Sequence[str]],
    empty: Mapping[str, bool],
    learner_language: str | None = "en",
    skills_top: int = 3,
) -> dict[str, RelevanceFeatures]:
    """The :class:`RelevanceFeatures` of each credential (see :mod:`skillpath.engine.relevance`).

    ``bm25`` is divided by its largest value among ``ids`` (the pool holds BM25's own top
    hits, so that is the catalogue's best); ``coverage`` is the gap share each credential
    covers; ``languages`` what each states (empty = unknown: not penalised).
    """
    if not ids:
        return {}
    m = vectors.rows(ids)
    title = m @ queries.title
    occupation = m @ queries.occupation if queries.occupation is not None else np.zeros(len(ids))
    if queries.skills is not None and len(queries.skills):
        sims = m @ queries.skills.T  # (ids, skills)
        top = min(skills_top, sims.shape[1])
        skills = -np.sort(-sims, axis=1)[:, :top].mean(axis=1)
    else:
        skills = np.zeros(len(ids))
    current = (
        np.maximum(0.0, m @ queries.current - occupation)
        if queries.current is not None
        else np.zeros(len(ids))
    )
    top_bm25 = max((bm25.get(c, 0.0) for c in ids), default=0.0)
    lang = (learner_language or "").lower()
    out: dict[str, RelevanceFeatures] = {}
    for i, cid in enumerate(ids):
        stated = [code.lower() for code in languages.get(cid, ())]
        out[cid] = RelevanceFeatures(
            title=_unit(title[i]),
            occupation=_unit(occupation[i]),
            skills=_unit(skills[i]),
            bm25=_unit(bm25.get(cid, 0.0) / top_bm25) if top_bm25 > 0 else 0.0,
            coverage=_unit(coverage.get(cid, 0.0)),
            current=_unit(current[i]),
            foreign=1.0 if lang and stated and lang not in stated else 0.0,
            empty=1.0 if empty.get(cid, False) else 0.0,
        )
    return out


def _unit(x: float) -> float:
    return round(min(1.0, max(0.0, float(x))), 6)


@dataclass(frozen=True)
class RelevanceTexts:
    """What the request's query vectors encode (all free text, so explanations can quote it)."""

    title: str
    occupation: str | None = None
    skills: tuple[str, ...] = ()
    skill_labels: tuple[str, ...] = ()
    current: str | None = None


@dataclass(frozen=True)
class RelevanceInputs:
    """Everything the relevance ranking needs for one request, gathered by the facade."""

    candidates: Mapping[str, Candidate]
    features: Mapping[str, RelevanceFeatures]
    vectors: Mapping[str, np.ndarray]
    matched: Mapping[str, list[str]]  # id -> the essential skills its vector is closest to
    neighbours: Mapping[str, Sequence[tuple[str, float]]]


@dataclass(frozen=True)
class TargetPool:
    """What a request's candidates owe to its target alone: the query vectors of the typed
    title, the occupation and its essential skills, the pooled hits of their searches and of
    BM25, and each pooled credential's BM25 score.

    It is the same for every learner aiming at the same job over the same catalogue revision
    (most of a request's retrieval cost), so the facade keeps it per (revision, title,
    occupation); what depends on the learner (the gap's postings, coverage, the current
    occupation) is added per request by :func:`gather_inputs`.
    """

    queries: QueryVectors  # ``current`` is always None here: it is the learner's
    ids: tuple[str, ...]  # the searches' and BM25's hits, sorted by id
    bm25: Mapping[str, float]  # raw BM25 score of the typed title, for each of ``ids``


def target_pool(
    texts: RelevanceTexts,
    encode: Callable[[list[str]], np.ndarray],
    search: Search,
    bm25_search: Callable[[str, int], list[tuple[str, float]]],
    bm25_scores: Callable[[str, Sequence[str]], Mapping[str, float]],
    per_query: int = 100,
    per_skill: int = 10,
) -> TargetPool:
    """Encode the target's texts and pool the credentials its searches find."""
    rows = [texts.title, texts.occupation or "", *texts.skills]
    encoded = encode(rows)
    queries = QueryVectors(
        title=encoded[0],
        occupation=encoded[1] if texts.occupation else None,
        skills=encoded[2:] if texts.skills else None,
    )
    bm25_ids = [cid for cid, _ in bm25_search(texts.title, per_query)]
    ids = tuple(pool_candidates(search, queries, bm25_ids, (), per_query, per_skill))
    return TargetPool(queries, ids, dict(bm25_scores(texts.title, ids)))


def gather_inputs(
    gap: Gap,
    snapshot: Any,  # CatalogueSnapshot (engine/recommendation.py; not imported: layer above)
    texts: RelevanceTexts,
    pool: TargetPool,
    current: np.ndarray | None,
    bm25_scores: Callable[[str, Sequence[str]], Mapping[str, float]],
    vectors: CredentialVectors,
    neighbours: Mapping[str, Sequence[tuple[str, float]]],
    posting_ids: Sequence[str],
    weights: RelevanceWeights,
    learner_language: str | None = "en",
    exclude: Iterable[str] = (),
) -> RelevanceInputs:
    """A target's pool plus the gap's postings, and every candidate's features.

    ``current`` is the unit vector of the learner's current occupation (None: not given).
    """
    queries = QueryVectors(
        title=pool.queries.title,
        occupation=pool.queries.occupation,
        skills=pool.queries.skills,
        current=current,
    )
    excluded = set(exclude)
    pooled = set(pool.ids)
    extra = [cid for cid in posting_ids if cid not in pooled]
    bm25 = dict(pool.bm25)
    if extra:
        bm25.update(bm25_scores(texts.title, extra))
    ids = [
        cid
        for cid in sorted(pooled.union(extra))
        if cid not in excluded and cid in snapshot.entries
    ]
    candidates = {cid: snapshot.candidate(cid) for cid in ids}
    total = gap.remaining_weight
    reverse = reverse_neighbours(gap, neighbours)
    covered = {
        cid: marginal_gain(coverage(c, gap, reverse=reverse), {}, gap, reverse) / total
        if total > 0
        else 0.0
        for cid, c in candidates.items()
    }
    entries = snapshot.entries
    features = features_for(
        ids,
        vectors,
        queries,
        {cid: bm25.get(cid, 0.0) for cid in ids},
        covered,
        {cid: entries[cid].languages for cid in ids},
        {cid: getattr(entries[cid], "text_chars", 1) == 0 for cid in ids},
        learner_language,
        weights.skills_top,
    )
    m = vectors.rows(ids)
    matched: dict[str, list[str]] = {}
    if queries.skills is not None and ids:
        # one row-wise sort for the whole pool (a sort per credential cost ~20 ms a request)
        nearest = np.argsort(-(m @ queries.skills.T), axis=1, kind="stable")[:, :2].tolist()
        for cid, order in zip(ids, nearest, strict=True):
            matched[cid] = [texts.skill_labels[j] for j in order if j < len(texts.skill_labels)]
    return RelevanceInputs(
        candidates=candidates,
        features=features,
        vectors={cid: m[i] for i, cid in enumerate(ids)},
        matched=matched,
        neighbours=neighbours,
    )
