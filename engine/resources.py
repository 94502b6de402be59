"""What every part of the facade shares: settings, the store, the encoder, the caches.

The facade is split into sub-facades (:mod:`.taxonomy_service`, :mod:`.matching_service`,
:mod:`.catalogue_service`, :mod:`.recommend_service`); each reads the long-lived objects from
one :class:`Resources`, so there is one store connection, one encoder and one
:class:`~skillpath.engine.caches.Caches` per engine, whichever door a call came in by. Each
object is loaded lazily, once.
"""

from __future__ import annotations

import threading
from functools import cached_property

from skillpath.engine.caches import Caches
from skillpath.engine.catalogue.store import CatalogueStore
from skillpath.engine.config import Settings, Tuning
from skillpath.engine.embeddings import EmbeddingCache
from skillpath.esco.store import Store
from skillpath.models.encoder import Encoder, load_encoder


class Resources:
    """The long-lived objects of one engine (one encoder over one home)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.lock = threading.RLock()  # serialises cache builds (writes: caches.writing())
        self.caches = Caches(self.lock)  # derived values, dropped by name

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.store_location)

    @cached_property
    def encoder(self) -> Encoder:
        return load_encoder(
            self.settings.encoder, self.settings.encoder_backend, self.settings.model_cache_dir
        )

    @cached_property
    def embedding_cache(self) -> EmbeddingCache:
        return EmbeddingCache(self.settings.embedding_cache_path)

    @cached_property
    def catalogue(self) -> CatalogueStore:
        return CatalogueStore(self.store)

    @property
    def tuning(self) -> Tuning:
        """Every weight and threshold (``settings.tuning``, env ``SKILLPATH_TUNING__*``)."""
        return self.settings.tuning

    def derive(self, **update: object) -> Resources:
        """Fresh resources over the same home with some settings changed (another encoder)."""
        return Resources(self.settings.model_copy(update=update))
