"""A lexical retriever to fuse with the dense one.

Dense sentence vectors blur rare, exact terms ("Kubernetes", "IFRS", "TIG welding") that an
ESCO label states verbatim; a sparse TF-IDF match over the same label variants catches them.
TF-IDF (scikit-learn) is used rather than BM25 because label variants are 2-6 words long, so
BM25's length normalisation has nothing to work on, and sklearn's sparse cosine gives scores
in [0, 1] that fuse linearly with cosine similarities.

Word n-grams carry exact terms; character n-grams within words (``char_wb``) tolerate
inflection ("managing" ~ "manage") without a stemmer. Both are fitted on the documents only.
Like the dense index, several texts may belong to one owner (a skill's label variants) and a
query scores each owner by its best text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer


@dataclass(frozen=True)
class LexicalConfig:
    analyzer: str = "word"  # "word" or "char_wb"
    ngram_min: int = 1
    ngram_max: int = 1
    stop_words: str | None = None  # "english" drops function words (fewer, sharper matches)
    min_df: int = 1
    sublinear_tf: bool = True


class LexicalIndex:
    """TF-IDF cosine between queries and owner texts, folded to the best text per owner."""

    def __init__(
        self,
        texts: Sequence[str],
        owners: np.ndarray,
        n_owners: int,
        config: LexicalConfig | None = None,
    ) -> None:
        self.config = config or LexicalConfig()
        c = self.config
        self._vectorizer = TfidfVectorizer(
            analyzer=c.analyzer,
            ngram_range=(c.ngram_min, c.ngram_max),
            min_df=c.min_df,
            sublinear_tf=c.sublinear_tf,
            stop_words=c.stop_words,
            lowercase=True,
            strip_accents="unicode",
            dtype=np.float32,
        )
        self._docs = self._vectorizer.fit_transform(list(texts)).T.tocsr()  # (terms, texts)
        self._owners = np.asarray(owners, dtype=np.int64)
        self.n_owners = n_owners

    def transform(self, queries: Sequence[str]) -> sparse.csr_matrix:
        return self._vectorizer.transform(list(queries))

    def score(self, queries: Sequence[str], chunk: int = 512) -> np.ndarray:
        """Best cosine per owner for every query: shape (queries, n_owners), in [0, 1].

        Only the non-zero similarities are folded (a query shares words with a few thousand
        label variants, not 99k), so the cost follows the overlap, not the index size.
        """
        q = self.transform(queries)
        out = np.zeros((q.shape[0], self.n_owners), dtype=np.float32)
        for start in range(0, q.shape[0], chunk):
            sims = (q[start : start + chunk] @ self._docs).tocoo()
            rows = sims.row.astype(np.int64) + start
            np.maximum.at(out, (rows, self._owners[sims.col]), sims.data)
        return out
