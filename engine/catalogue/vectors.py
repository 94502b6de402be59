"""The catalogue's FAISS side: one vector per credential, derived from the store.

The bundle's manifest records the store's ``catalogue_revision``; when the two differ (an
import was interrupted, or another process wrote) the bundle is refreshed from the store, so
the index can never hold orphan or missing vectors for long. FAISS ids are positions; the
``owners`` array maps them to the credentials' SQLite rowids.

A refresh is incremental: the bundle keeps each credential's content hash, so only new or
changed credentials are encoded; the vectors of the others are read back from the previous
bundle (deleted ones dropped). The FAISS structure is then rebuilt from those vectors (exact
below :data:`~skillpath.engine.index.EXACT_MAX`, IVF above) and saved atomically: a crash
mid-write leaves the previous bundle in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from skillpath.engine.catalogue.records import MicroCredential
from skillpath.engine.catalogue.store import CatalogueStore
from skillpath.engine.embeddings import EmbeddingCache, ProgressFactory
from skillpath.engine.index import IndexBundle, VectorIndex
from skillpath.models.encoder import Encoder

CATALOGUE_BUNDLE = "catalogue"
TEXT_VERSION = 1
"""Bump when :func:`credential_text` changes: every credential is then re-encoded."""


def credential_text(record: MicroCredential, max_chars: int = 1500) -> str:
    """What a credential's vector encodes: title, outcomes, then description, capped."""
    parts = [record.title, *record.learning_outcomes]
    if record.description:
        parts.append(record.description)
    return " ".join(parts)[:max_chars]


@dataclass(frozen=True)
class RefreshStats:
    """What a refresh did: credentials encoded, reused from the previous bundle, dropped."""

    encoded: int
    reused: int
    dropped: int


def build_catalogue_bundle(
    catalogue: CatalogueStore,
    encoder: Encoder,
    cache: EmbeddingCache,
    batch_size: int = 32,
    progress: ProgressFactory | None = None,
    previous: IndexBundle | None = None,
    kind: str = "auto",
) -> tuple[IndexBundle, int, RefreshStats]:
    """The credential bundle for the store as it is now, and the revision it reflects.

    ``previous`` (the bundle on disk, if it was built with this encoder and text version)
    supplies the vectors of unchanged credentials, so only changed ones are encoded.
    """
    revision = catalogue.revision
    current = catalogue.content_index()  # rowid -> (id, content hash)
    old: dict[int, tuple[str, np.ndarray]] = {}
    if previous is not None and "content_hashes" in previous.arrays:
        vindex = previous["credentials"]
        matrix = vindex.vectors()
        hashes = previous.arrays["content_hashes"]
        for row, (owner, digest) in enumerate(zip(vindex.owners.tolist(), hashes, strict=True)):
            old[int(owner)] = (str(digest), matrix[row])
    rowids = sorted(current)
    changed = [r for r in rowids if r not in old or old[r][0] != current[r][1]]
    fresh: dict[int, np.ndarray] = {}
    if changed:
        stored = catalogue.get_many(changed)
        texts = [credential_text(s.record) for s in stored]
        vectors = cache.encode(encoder, texts, "document", batch_size, progress, "credentials")
        fresh = {s.rowid: v for s, v in zip(stored, vectors, strict=True)}
    keep = [r for r in rowids if r in fresh or r not in changed]
    dim = encoder.dimension
    matrix = (
        np.stack([fresh[r] if r in fresh else old[r][1] for r in keep]).astype(np.float32)
        if keep
        else np.zeros((0, dim), dtype=np.float32)
    )
    vindex = VectorIndex.from_vectors(matrix, np.asarray(keep, dtype=np.int64), kind=kind)
    hashes = np.asarray([current[r][1] for r in keep], dtype=str)
    bundle = IndexBundle(
        name=CATALOGUE_BUNDLE,
        indexes={"credentials": vindex},
        arrays={"content_hashes": hashes},
    )
    stats = RefreshStats(
        encoded=len(fresh), reused=len(keep) - len(fresh), dropped=len(set(old) - set(current))
    )
    return bundle, revision, stats


class CredentialSearch:
    """Query-time search of the credential vectors: (credential id, cosine), best first.

    Duplicates (``canonical`` maps an id to the id of its group) come back once, under the
    canonical id, with the best cosine of any copy.
    """

    def __init__(
        self,
        bundle: IndexBundle,
        rowid_to_id: Mapping[int, str],
        canonical: Mapping[str, str] | None = None,
    ) -> None:
        self.index = bundle["credentials"]
        self.ids = rowid_to_id
        self.canonical = canonical or {}

    def search(self, vectors: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        queries = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if self.index.size == 0 or k <= 0:
            return [[] for _ in queries]
        out: list[list[tuple[str, float]] | None] = [None] * len(queries)
        fetch = min(self.index.size, k + 16)
        pending = list(range(len(queries)))
        while pending:
            scores, owners = self.index.search(queries[pending], fetch)
            still = []
            for q, q_scores, q_owners in zip(pending, scores, owners, strict=True):
                hits = self._fold(q_scores, q_owners, k)
                if len(hits) >= k or fetch >= self.index.size:
                    out[q] = hits
                else:
                    still.append(q)
            pending, fetch = still, min(self.index.size, fetch * 4)
        return [hits or [] for hits in out]

    def _fold(self, scores: np.ndarray, owners: np.ndarray, k: int) -> list[tuple[str, float]]:
        seen: dict[str, float] = {}
        for score, owner in zip(scores.tolist(), owners.tolist(), strict=True):
            cid = self.ids.get(int(owner)) if owner >= 0 else None
            if cid is None:
                continue
            key = self.canonical.get(cid, cid)
            if key not in seen:
                seen[key] = float(score)
                if len(seen) == k:
                    break
        return list(seen.items())
