"""BM25 over the credentials' own text: the lexical relevance of a course to a query.

Shared by query-time ranking (a credential's text relevance to the typed target job) and by
the judged evaluation's ``bm25`` baseline, so both score exactly the same way: bm25s's
tokenizer and its Lucene variant (k1=1.5, b=0.75) over title + learning outcomes +
description, English stop words dropped, no stemming.

Why not bm25s's own index: it bakes the document frequencies, the document count and the
average length into one precomputed score matrix, so adding or removing one credential
changes every score and means re-tokenising the whole catalogue (~3 s for 9.4k credentials,
once per PUT). Here the index keeps the counts instead (per token: the documents holding it
and their term frequencies; per document: its length) and computes the score at query time
from the counts of *its* catalogue, with bm25s's formula and float rounding step by step, so

* :meth:`CredentialBM25.updated` derives the index of the next revision from this one and
  the changed documents only (copy-on-write: this one keeps serving readers meanwhile), and
* its scores are bit-for-bit those of a from-scratch build of the same documents, and those
  of ``bm25s.BM25().index(...)`` (tests/test_incremental_catalogue.py checks both).

Documents live in slots that never move; a removed document leaves an empty slot (no
postings, length 0), compacted away once a quarter of the slots are empty.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

K1 = 1.5
B = 0.75


def bm25_text(title: str, outcomes: Sequence[str], description: str | None) -> str:
    """The text BM25 indexes for one credential (uncapped, unlike the vector text)."""
    return " ".join([title, *outcomes, description or ""]).strip()


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """bm25s's tokens of each text (lower case, words of 2+ characters, no English stop
    words), the same for indexed documents and queries."""
    import bm25s

    if not texts:
        return []
    return bm25s.tokenize(list(texts), stopwords="en", return_ids=False, show_progress=False)


Postings = tuple[np.ndarray, np.ndarray]  # (slots int64, term frequencies float32)


class CredentialBM25:
    """A BM25 index over a set of credentials, derivable from the previous one."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids but {len(texts)} texts")
        self._fill(list(ids), [_terms(t) for t in tokenize(list(texts))])

    # -- building ------------------------------------------------------------------------
    def _fill(self, ids: list[str], terms: list[Counter[str]]) -> None:
        """Slots 0..n-1 for ``ids`` with their term counts (a from-scratch build)."""
        self.slots: list[str | None] = list(ids)
        self.position = {cid: i for i, cid in enumerate(ids)}
        if len(self.position) != len(ids):
            raise ValueError("duplicate credential ids")
        self.doc_terms: dict[str, tuple[str, ...]] = {}
        lists: dict[str, tuple[list[int], list[int]]] = {}
        lengths = np.zeros(len(ids), dtype=np.int64)
        for slot, (cid, counts) in enumerate(zip(ids, terms, strict=True)):
            self.doc_terms[cid] = tuple(counts)
            lengths[slot] = sum(counts.values())
            for token, tf in counts.items():
                held = lists.setdefault(token, ([], []))
                held[0].append(slot)
                held[1].append(tf)
        self.postings: dict[str, Postings] = {
            token: (np.asarray(s, dtype=np.int64), np.asarray(f, dtype=np.float32))
            for token, (s, f) in lists.items()
        }
        self.lengths = lengths
        self._finish()

    def _finish(self) -> None:
        """What every query reads from the counts: document count, average length and each
        slot's length normalisation (bm25s's ``k1 * ((1 - b) + b * l_d / l_avg)``)."""
        self.n = len(self.position)
        total = int(self.lengths.sum())
        self.avgdl = np.float64(total) / self.n if self.n else np.float64(0.0)
        self._norm = (
            K1 * ((1 - B) + B * self.lengths / self.avgdl)
            if self.n and total
            else np.full(len(self.slots), K1 * (1 - B))
        )

    def updated(self, changed: Mapping[str, str], removed: Iterable[str]) -> CredentialBM25:
        """The index with ``changed`` (id → new text: added or edited) and without
        ``removed``: this one is left as it is (readers may be using it)."""
        new = object.__new__(CredentialBM25)
        gone = {cid for cid in removed if cid in self.position}
        gone |= {cid for cid in changed if cid in self.position}
        terms = dict(zip(changed, map(_terms, tokenize(list(changed.values()))), strict=True))
        new.slots = list(self.slots)
        new.position = dict(self.position)
        new.doc_terms = dict(self.doc_terms)
        new.lengths = self.lengths.copy()
        old_slots: dict[str, list[int]] = {}
        for cid in gone:
            slot = new.position.pop(cid)
            new.slots[slot] = None
            new.lengths[slot] = 0
            for token in new.doc_terms.pop(cid):
                old_slots.setdefault(token, []).append(slot)
        added: dict[str, tuple[list[int], list[int]]] = {}
        extra = []
        for cid, counts in terms.items():
            slot = len(new.slots)
            new.slots.append(cid)
            new.position[cid] = slot
            new.doc_terms[cid] = tuple(counts)
            extra.append(sum(counts.values()))
            for token, tf in counts.items():
                held = added.setdefault(token, ([], []))
                held[0].append(slot)
                held[1].append(tf)
        new.lengths = np.concatenate([new.lengths, np.asarray(extra, dtype=np.int64)])
        new.postings = dict(self.postings)
        for token in old_slots.keys() | added.keys():
            slots, tfs = new.postings.get(token, _EMPTY)
            if token in old_slots:
                keep = ~np.isin(slots, old_slots[token])
                slots, tfs = slots[keep], tfs[keep]
            if token in added:
                s, f = added[token]
                slots = np.concatenate([slots, np.asarray(s, dtype=np.int64)])
                tfs = np.concatenate([tfs, np.asarray(f, dtype=np.float32)])
            if len(slots):
                new.postings[token] = (slots, tfs)
            else:
                new.postings.pop(token, None)
        if len(new.slots) - len(new.position) > max(64, len(new.slots) // 4):
            new._compact()
        new._finish()
        return new

    def _compact(self) -> None:
        """Drop the empty slots (renumbering keeps the documents' order, so it is invisible
        to scores and to the id-ordered ties of :meth:`search`)."""
        keep = [i for i, c in enumerate(self.slots) if c is not None]
        remap = np.full(len(self.slots), -1, dtype=np.int64)
        remap[keep] = np.arange(len(keep), dtype=np.int64)
        self.slots = [self.slots[i] for i in keep]
        self.position = {cid: i for i, cid in enumerate(self.slots)}  # type: ignore[misc]
        self.lengths = self.lengths[keep]
        self.postings = {t: (remap[s], f) for t, (s, f) in self.postings.items()}

    # -- scoring -------------------------------------------------------------------------
    @property
    def ids(self) -> list[str]:
        """The indexed credential ids (slot order)."""
        return [c for c in self.slots if c is not None]

    def __len__(self) -> int:
        return self.n

    def _scores(self, query: str) -> np.ndarray:
        """The score of every slot (empty slots score 0).

        bm25s's arithmetic, step for step: the idf is a float64 rounded to float32, each
        (token, document) score is ``idf * tf / (norm + tf)`` in float64 rounded to float32,
        and a document's score sums those in float32, in query-token order."""
        scores = np.zeros(len(self.slots), dtype=np.float32)
        if not self.n:
            return scores
        for token in tokenize([query])[0]:
            held = self.postings.get(token)
            if held is None:
                continue
            slots, tfs = held
            df = len(slots)
            idf = np.float32(math.log(1 + (self.n - df + 0.5) / (df + 0.5)))
            tf = tfs.astype(np.float64)
            part = (np.float64(idf) * (tf / (self._norm[slots] + tf))).astype(np.float32)
            np.add.at(scores, slots, part)
        return scores

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every credential, in :attr:`ids` order; zeros for a query
        with no indexed word."""
        scores = self._scores(query)
        return scores[[i for i, c in enumerate(self.slots) if c is not None]]

    def score_ids(self, query: str, ids: Iterable[str]) -> dict[str, float]:
        """BM25 scores of the given credentials only (unknown ids score 0)."""
        scores = self._scores(query)
        return {
            cid: float(scores[self.position[cid]]) if cid in self.position else 0.0 for cid in ids
        }

    def search(
        self, query: str, k: int, canonical: Mapping[str, str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` best (credential id, score) with a positive score; ties by id; each
        duplicate group once, under its canonical id, with its best score."""
        scores = self._scores(query)
        canonical = canonical or {}
        positive = np.flatnonzero(scores > 0)
        slots = self.slots
        order = sorted(positive.tolist(), key=lambda i: (-float(scores[i]), slots[i]))
        seen: dict[str, float] = {}
        for i in order:
            cid = slots[i]
            key = canonical.get(cid, cid)
            if key not in seen:
                seen[key] = float(scores[i])
                if len(seen) == k:
                    break
        return list(seen.items())


_EMPTY: Postings = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


def _terms(tokens: list[str]) -> Counter[str]:
    """Term counts of one document (tokens interned: one string per word in memory)."""
    return Counter(sys.intern(t) for t in tokens)
