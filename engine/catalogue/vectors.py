"""The catalogue's FAISS side: one vector per credential, derived from the store.

The bundle's manifest records the store's ``catalogue_revision``; when the two differ (an
import was interrupted, or another process wrote) the bundle is rebuilt from the store, with
vectors from the embedding cache, so the index can never hold orphan or missing vectors for
long. FAISS ids are the credentials' SQLite rowids.
"""

from __future__ import annotations

import numpy as np

from skillpath.engine.catalogue.records import MicroCredential
from skillpath.engine.catalogue.store import CatalogueStore
from skillpath.engine.embeddings import EmbeddingCache, ProgressFactory
from skillpath.engine.index import IndexBundle, VectorIndex
from skillpath.models.encoder import Encoder

CATALOGUE_BUNDLE = "catalogue"


def credential_text(record: MicroCredential, max_chars: int = 1500) -> str:
    """What a credential's vector encodes: title, outcomes, then description, capped."""
    parts = [record.title, *record.learning_outcomes]
    if record.description:
        parts.append(record.description)
    return " ".join(parts)[:max_chars]


def build_catalogue_bundle(
    catalogue: CatalogueStore,
    encoder: Encoder,
    cache: EmbeddingCache,
    batch_size: int = 32,
    progress: ProgressFactory | None = None,
) -> tuple[IndexBundle, int]:
    """Encode every stored credential; returns the bundle and the revision it reflects."""
    revision = catalogue.revision
    rowids, texts = [], []
    for stored in catalogue.iter_all():
        rowids.append(stored.rowid)
        texts.append(credential_text(stored.record))
    vectors = cache.encode(encoder, texts, "document", batch_size, progress, "credentials")
    vindex = VectorIndex.from_vectors(vectors, np.asarray(rowids, dtype=np.int64))
    return IndexBundle(name=CATALOGUE_BUNDLE, indexes={"credentials": vindex}), revision
