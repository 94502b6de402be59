"""Baselines that skillpath must beat, each ranking the same pool of credentials.

A recommender that only beats "random" has shown little; the useful comparisons are with
what a catalogue site already does (sort by popularity) and with plain retrieval on the
target job (BM25 and dense similarity of the occupation's text to the course text). None of
them looks at the learner's skills: they answer "courses for this job", skillpath answers
"courses for the skills this learner lacks for this job", and the measured difference is the
value of the gap model.

Every baseline returns a list of credential ids, best first, over a fixed pool; ties are
broken by id so every run is reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


def _top(ids: Sequence[str], scores: np.ndarray, k: int) -> list[str]:
    """The ``k`` best ids by score descending, ties by id ascending."""
    order = sorted(range(len(ids)), key=lambda i: (-float(scores[i]), ids[i]))
    return [ids[i] for i in order[:k]]


@dataclass
class RandomBaseline:
    """A uniformly random list per learner, seeded by the learner id (reproducible)."""

    pool: Sequence[str]
    seed: int = 0

    def rank(self, learner_id: str, k: int) -> list[str]:
        rng = random.Random(f"{self.seed}:{learner_id}")
        ids = sorted(self.pool)
        return rng.sample(ids, min(k, len(ids)))


@dataclass
class PopularityBaseline:
    """The same list for everyone: rating x number of reviews, where the catalogue has both.

    Only Coursera states ratings and review counts, so credentials of other catalogues sort
    after all rated ones (by id): that is what "sort by popularity" does on a real site.
    """

    pool: Sequence[str]
    rating: Mapping[str, float | None]
    reviews: Mapping[str, int | None]

    def __post_init__(self) -> None:
        ids = sorted(self.pool)
        scores = np.asarray(
            [(self.rating.get(i) or 0.0) * (self.reviews.get(i) or 0) for i in ids], dtype=float
        )
        self._ranking = _top(ids, scores, len(ids))

    def rank(self, k: int) -> list[str]:
        return self._ranking[:k]


class BM25Baseline:
    """BM25 (bm25s, Lucene variant) of the target occupation's title + description over the
    course text (title, learning outcomes, description)."""

    def __init__(self, pool: Sequence[str], texts: Mapping[str, str]) -> None:
        import bm25s

        self.ids = sorted(pool)
        corpus = bm25s.tokenize(
            [texts[i] for i in self.ids], stopwords="en", return_ids=False, show_progress=False
        )
        self._bm25s = bm25s
        self.retriever = bm25s.BM25()
        self.retriever.index(corpus, show_progress=False)

    def rank(self, query: str, k: int) -> list[str]:
        tokens = self._bm25s.tokenize(
            [query], stopwords="en", return_ids=False, show_progress=False
        )[0]
        if not tokens:
            return []
        scores = self.retriever.get_scores(tokens)
        return _top(self.ids, scores, k)


class DenseBaseline:
    """Cosine of the occupation text (encoded as a query) to the catalogue's credential
    vectors, the same FAISS vectors skillpath builds for its catalogue."""

    def __init__(self, pool: Sequence[str], vectors: Mapping[str, np.ndarray]) -> None:
        self.ids = [i for i in sorted(pool) if i in vectors]
        dim = next(iter(vectors.values())).shape[0] if vectors else 0
        self.matrix = (
            np.stack([vectors[i] for i in self.ids]).astype(np.float32)
            if self.ids
            else np.zeros((0, dim), dtype=np.float32)
        )

    def rank(self, query_vector: np.ndarray, k: int) -> list[str]:
        if not self.ids:
            return []
        scores = self.matrix @ np.asarray(query_vector, dtype=np.float32)
        return _top(self.ids, scores, k)


def oracle_ranking(
    gap_weights: Mapping[str, float], reference: Mapping[str, frozenset[str]], k: int
) -> list[str]:
    """Greedy maximum coverage of the gap with the *reference* skills: an upper bound.

    Not a method: it reads the very labels the metrics are computed from. It shows how much
    of the gap the pool can cover at all within k credentials, so the other numbers can be
    read against a ceiling rather than against 1.0.
    """
    remaining = dict(gap_weights)
    useful = {
        cid: skills & remaining.keys()
        for cid, skills in reference.items()
        if skills & remaining.keys()
    }
    chosen: list[str] = []
    while useful and len(chosen) < k:
        best, best_gain = None, 0.0
        for cid in sorted(useful):
            gain = sum(remaining.get(s, 0.0) for s in useful[cid])
            if gain > best_gain + 1e-12:
                best, best_gain = cid, gain
        if best is None:
            break
        chosen.append(best)
        for s in useful.pop(best):
            remaining.pop(s, None)
    return chosen
