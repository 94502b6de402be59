"""BM25 over the credentials' own text: the lexical relevance of a course to a query.

Shared by query-time ranking (a credential's text relevance to the typed target job) and by
the judged evaluation's ``bm25`` baseline, so both score exactly the same way: bm25s (Lucene
variant, k1=1.5, b=0.75) over title + learning outcomes + description, English stop words
dropped, no stemming.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np


def bm25_text(title: str, outcomes: Sequence[str], description: str | None) -> str:
    """The text BM25 indexes for one credential (uncapped, unlike the vector text)."""
    return " ".join([title, *outcomes, description or ""]).strip()


class CredentialBM25:
    """A BM25 index over a fixed set of credentials (build a new one when the catalogue
    changes: ~2 s for 10k credentials)."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        import bm25s

        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids but {len(texts)} texts")
        self._bm25s = bm25s
        self.ids = list(ids)
        self.position = {cid: i for i, cid in enumerate(self.ids)}
        self.retriever = bm25s.BM25()
        if self.ids:
            corpus = bm25s.tokenize(
                list(texts), stopwords="en", return_ids=False, show_progress=False
            )
            self.retriever.index(corpus, show_progress=False)

    def _tokens(self, query: str) -> list[str]:
        return self._bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)[
            0
        ]

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every credential (``ids`` order); zeros for an empty query."""
        tokens = self._tokens(query) if self.ids else []
        if not tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)

    def score_ids(self, query: str, ids: Iterable[str]) -> dict[str, float]:
        """BM25 scores of the given credentials only (unknown ids score 0)."""
        scores = self.scores(query)
        return {
            cid: float(scores[self.position[cid]]) if cid in self.position else 0.0 for cid in ids
        }

    def search(
        self, query: str, k: int, canonical: Mapping[str, str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` best (credential id, score) with a positive score; ties by id; each
        duplicate group once, under its canonical id, with its best score."""
        scores = self.scores(query)
        canonical = canonical or {}
        positive = np.flatnonzero(scores > 0)
        order = sorted(positive.tolist(), key=lambda i: (-float(scores[i]), self.ids[i]))
        seen: dict[str, float] = {}
        for i in order:
            key = canonical.get(self.ids[i], self.ids[i])
            if key not in seen:
                seen[key] = float(scores[i])
                if len(seen) == k:
                    break
        return list(seen.items())
