"""The one facade that the CLI, the API and the evaluation scripts call.

``Skillpath`` owns the long-lived objects (:class:`~skillpath.engine.resources.Resources`:
settings, store, encoder, caches) and groups the engine's methods into four sub-facades, so
an integrator finds a method by what it is about:

* ``sp.taxonomy`` (:class:`~skillpath.engine.taxonomy_service.Taxonomy`): ESCO skills and
  occupations by URI or label;
* ``sp.matching`` (:class:`~skillpath.engine.matching_service.Matching`): the ESCO indexes,
  text → skills, title → occupations;
* ``sp.catalogue`` (:class:`~skillpath.engine.catalogue_service.Catalogue`): import, read,
  export and search micro-credentials;
* ``sp.recommender`` (:class:`~skillpath.engine.recommend_service.Recommender`): gaps and
  recommendations.

The everyday entry points stay at the top (``recommend``, ``compute_gap``,
``resolve_target``, ``ingest_esco``, ``reset_caches``). Everything returned is a record from
the layers below, so the CLI renders tables, the API serialises JSON and the evaluation
scripts compute metrics over the same values.
"""

from __future__ import annotations

from pathlib import Path

from skillpath.engine.caches import Caches
from skillpath.engine.catalogue_service import Catalogue
from skillpath.engine.config import Settings, Tuning
from skillpath.engine.embeddings import EmbeddingCache
from skillpath.engine.matching_service import Matching
from skillpath.engine.recommend_service import Recommender
from skillpath.engine.recommendation import (
    GapResponse,
    LearnerProfile,
    RecommendationRequest,
    RecommendationResponse,
    TargetResolution,
)
from skillpath.engine.resources import Resources
from skillpath.engine.taxonomy_service import OccupationDetail, Taxonomy
from skillpath.esco.loader import load_esco
from skillpath.esco.records import IngestSummary
from skillpath.esco.store import Store
from skillpath.models.encoder import Encoder

__all__ = ["OccupationDetail", "Skillpath"]


class Skillpath:
    """Entry point to the engine. ``Skillpath()`` reads :class:`Settings` from the environment."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.resources = Resources(settings)
        self.taxonomy = Taxonomy(self.resources)
        self.matching = Matching(self.resources, self.taxonomy)
        self.catalogue = Catalogue(self.resources, self.taxonomy, self.matching)
        self.recommender = Recommender(self.resources, self.taxonomy, self.matching, self.catalogue)

    # -- owned resources -----------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self.resources.settings

    @property
    def tuning(self) -> Tuning:
        """Every weight and threshold (``settings.tuning``, env ``SKILLPATH_TUNING__*``)."""
        return self.resources.tuning

    @property
    def caches(self) -> Caches:
        return self.resources.caches

    @property
    def store(self) -> Store:
        return self.resources.store

    @property
    def encoder(self) -> Encoder:
        return self.resources.encoder

    @property
    def embedding_cache(self) -> EmbeddingCache:
        return self.resources.embedding_cache

    def with_encoder(self, encoder: str) -> Skillpath:
        """This engine with one other encoder and no partner (same home, store and cache)."""
        return Skillpath(
            self.settings.model_copy(update={"encoder": encoder, "partner_encoder": None})
        )

    def with_partner(self, partner: str) -> Skillpath:
        """This engine with the ensemble matcher over ``partner`` as well (same home, store
        and cache): a slower, more accurate reader of text."""
        return Skillpath(self.settings.model_copy(update={"partner_encoder": partner}))

    # -- lifecycle -----------------------------------------------------------------------
    def ingest_esco(self, paths: list[Path] | None = None, force: bool = False) -> IngestSummary:
        taxonomy = load_esco(paths or self.settings.resolved_esco_paths)
        summary = self.store.ingest(taxonomy, force=force)
        self.reset_caches()
        return summary

    def reset_caches(self, *names: str) -> None:
        """Drop derived values so the next use rebuilds them: the named ones, or with no
        names everything derived from ESCO and its indexes (after an ingest or index build);
        the partner engine's too."""
        self.matching.reset_caches(*names)
        self.recommender.forget_pools()

    # -- the everyday entry points -------------------------------------------------------
    def resolve_target(self, target: str) -> TargetResolution:
        """An occupation URI, exact label or free title (:meth:`Recommender.resolve_target`)."""
        return self.recommender.resolve_target(target)

    def compute_gap(
        self,
        target: str,
        profile: LearnerProfile | None = None,
        optional_weight: float | None = None,
    ) -> GapResponse:
        """The learner's held skills against the target's (:meth:`Recommender.compute_gap`)."""
        return self.recommender.compute_gap(target, profile, optional_weight)

    def recommend(
        self, request: RecommendationRequest, request_id: str | None = None, log: bool = True
    ) -> RecommendationResponse:
        """Gap, ranked credentials, pathway and explanations, with their provenance, logged
        for ``skillpath replay`` unless ``log`` is False (:meth:`Recommender.recommend`)."""
        return self.recommender.recommend(request, request_id, log)
