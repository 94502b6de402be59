"""Text and titles to ESCO for the facade: the indexes, the matchers, search and extraction.

It owns what needs the encoder and the FAISS indexes: building them, checking they are
ready, and the matchers over them (with the partner encoder of an ensemble, and the
multilingual engine behind job titles). The partner and the title engine are further
:class:`Matching` objects over their own :class:`~skillpath.engine.resources.Resources`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from skillpath.engine.caches import cached
from skillpath.engine.embeddings import ProgressFactory
from skillpath.engine.index import (
    IndexBundle,
    IndexMismatch,
    IndexMissing,
    check_manifest,
    load_bundle,
    save_bundle,
)
from skillpath.engine.matching import (
    Extraction,
    OccupationHit,
    OccupationMatcher,
    OccupationRanking,
    SkillHit,
    SkillMatcher,
    SkillRanking,
)
from skillpath.engine.resources import Resources
from skillpath.engine.targets import TITLE_PARTNER, load_title_model, title_model_path
from skillpath.engine.taxonomy_index import (
    OCCUPATION_BUNDLE,
    SKILL_BUNDLE,
    build_occupation_bundle,
    build_skill_bundle,
    esco_expectation,
)
from skillpath.engine.taxonomy_service import Taxonomy
from skillpath.models.adapter import artifact_path, load_artifact
from skillpath.models.encoder import Encoder

ESCO_DERIVED = (
    "skills",
    "occupations",
    "skill_matcher",
    "occupation_matcher",
    "title_partner_matcher",
    "skill_vectors",
    "skill_position",
    "all_skill_labels",
    "title_fingerprint",
)
"""Values built from the ESCO store and indexes: dropped after an ingest or index build."""


class Matching:
    """``Skillpath.matching``: ESCO indexes and the skill / occupation matchers over them."""

    def __init__(self, resources: Resources, taxonomy: Taxonomy) -> None:
        self.resources = resources
        self.taxonomy = taxonomy
        self.settings = resources.settings
        self.caches = resources.caches

    @property
    def encoder(self) -> Encoder:
        return self.resources.encoder

    def with_encoder(self, encoder: str) -> Matching:
        """Matching over one other encoder and no partner (same home, store and cache)."""
        resources = self.resources.derive(encoder=encoder, partner_encoder=None)
        return Matching(resources, Taxonomy(resources))

    def reset_caches(self, *names: str) -> None:
        """Drop derived values so the next use rebuilds them: the named ones, or with no
        names everything derived from ESCO and its indexes (after an ingest or index build);
        the partner engine's too."""
        self.caches.drop(*(names or ESCO_DERIVED))
        if self.partner is not None:
            self.partner.reset_caches(*names)

    # -- indexes -------------------------------------------------------------------------
    def build_indexes(self, progress: ProgressFactory | None = None) -> dict[str, dict]:
        """Build (or refresh) the ESCO skill and occupation indexes; returns their manifests."""
        store, resources = self.resources.store, self.resources
        store.require_esco()  # before the encoder loads: no model for a "run ingest" error
        expect = esco_expectation(store, self.encoder)
        meta = {**expect, "encoder_name": self.encoder.name, "dimension": self.encoder.dimension}
        batch = self.settings.batch_size
        skills = build_skill_bundle(
            store.all_skills(), self.encoder, resources.embedding_cache, batch, progress
        )
        save_bundle(self.settings.index_dir, skills, meta)
        occupations = build_occupation_bundle(
            store.all_occupations(), self.encoder, resources.embedding_cache, batch, progress
        )
        save_bundle(self.settings.index_dir, occupations, meta)
        self.reset_caches()
        built = {SKILL_BUNDLE: skills.manifest, OCCUPATION_BUNDLE: occupations.manifest}
        if self.partner is not None:
            partner = self.partner.build_indexes(progress)
            built.update({f"{self.partner.encoder.name}:{k}": v for k, v in partner.items()})
        title = self.title_engine
        if title is not None and title is not self.partner:
            # Job titles in any EU language: the multilingual encoder's occupation labels
            # only (33k short texts, a few minutes), not its skill index.
            built[f"{TITLE_PARTNER}:{OCCUPATION_BUNDLE}"] = title.build_occupation_index(progress)
            self.reset_caches()
        return built

    def build_occupation_index(self, progress: ProgressFactory | None = None) -> dict:
        """Build (or refresh) this encoder's ESCO occupation index alone; its manifest."""
        expect = esco_expectation(self.resources.store, self.encoder)
        meta = {**expect, "encoder_name": self.encoder.name, "dimension": self.encoder.dimension}
        bundle = build_occupation_bundle(
            self.resources.store.all_occupations(),
            self.encoder,
            self.resources.embedding_cache,
            self.settings.batch_size,
            progress,
        )
        save_bundle(self.settings.index_dir, bundle, meta)
        self.reset_caches()
        return bundle.manifest

    def indexes_ready(self) -> bool:
        """Whether the ESCO indexes (and the partner's) were built for this encoder and ESCO
        release: a manifest check, so it costs no index load."""
        expect = esco_expectation(self.resources.store, self.encoder)
        try:
            for name in (SKILL_BUNDLE, OCCUPATION_BUNDLE):
                check_manifest(self.settings.index_dir, name, expect)
        except (IndexMissing, IndexMismatch):
            return False
        return self.partner is None or self.partner.indexes_ready()

    def _bundle(self, name: str) -> IndexBundle:
        return load_bundle(
            self.settings.index_dir, name, esco_expectation(self.resources.store, self.encoder)
        )

    # -- the matchers --------------------------------------------------------------------
    @cached_property
    def partner(self) -> Matching | None:
        """Matching over ``settings.partner_encoder`` (same home, store and cache), if any."""
        name = self.settings.partner_encoder
        if not name or name == self.settings.encoder:
            return None
        return self.with_encoder(name)

    @property
    def artifact_dirs(self) -> tuple[Path, ...]:
        """Folders searched for trained artefacts before the shipped ones."""
        return (self.settings.artifacts_dir,)

    @property
    def matcher_name(self) -> str:
        """ "minilm", or "minilm+e5" for an ensemble: the name of its trained artefact."""
        if self.partner is None:
            return self.encoder.name
        return f"{self.encoder.name}+{self.partner.encoder.name}"

    @cached_property
    def matcher_fingerprint(self) -> str:
        """Changes whenever the skill matcher's output could: encoders and trained artefact."""
        parts = [self.encoder.fingerprint]
        if self.partner is not None:
            parts.append(self.partner.encoder.fingerprint)
        path = artifact_path("skills", self.matcher_name, self.artifact_dirs)
        parts.append(hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "-")
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    @cached
    def title_fingerprint(self) -> str:
        """Changes whenever title → occupation matching could (``matcher_fingerprint`` does
        not cover it): the encoders it uses, its trained artefact and learned title model."""
        parts = [self.encoder.fingerprint]
        paths = [artifact_path("occupations", self.encoder.name, self.artifact_dirs)]
        title = self.title_engine
        if self.occupation_matcher.partner is not None and title is not None:
            parts.append(title.encoder.fingerprint)
            paths.append(title_model_path(f"{self.encoder.name}+{TITLE_PARTNER}"))
        parts += [hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "-" for p in paths]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    @cached
    def skill_matcher(self) -> SkillMatcher:
        partners: dict[str, SkillMatcher] = {}
        artifact = load_artifact("skills", self.matcher_name, self.artifact_dirs)
        if self.partner is not None:
            if artifact is None:
                raise FileNotFoundError(
                    f"no trained ensemble artefact for {self.matcher_name}: run "
                    "`python -m skillpath.evaluation.train_matcher --partner "
                    f"{self.partner.encoder.name}`"
                )
            partners[self.partner.encoder.name] = self.partner.skill_matcher
        return SkillMatcher(
            self.taxonomy.skills,
            self._bundle(SKILL_BUNDLE),
            self.encoder,
            artifact=artifact,
            occupation_counts=self.resources.store.skill_occupation_counts(),
            partners=partners,
        )

    @cached
    def occupation_matcher(self) -> OccupationMatcher:
        artifact = load_artifact("occupations", self.encoder.name, self.artifact_dirs)
        partner = self.title_partner_matcher
        return OccupationMatcher(
            self.taxonomy.occupations,
            self._bundle(OCCUPATION_BUNDLE),
            self.encoder,
            fusion=artifact.fusion if artifact else None,
            adapter=artifact.adapter if artifact else None,
            partner=partner,
            model=load_title_model(f"{self.encoder.name}+{TITLE_PARTNER}") if partner else None,
        )

    @property
    def title_engine(self) -> Matching | None:
        """Matching over the multilingual encoder that backs job titles (None if this is it)."""
        if self.encoder.name == TITLE_PARTNER:
            return None
        if self.partner is not None and self.partner.encoder.name == TITLE_PARTNER:
            return self.partner
        return self.caches.once("title_engine", lambda: self.with_encoder(TITLE_PARTNER))

    @cached
    def title_partner_matcher(self) -> OccupationMatcher | None:
        """The multilingual occupation matcher, if its index is built (``index build`` builds
        it by default): without it titles are matched by this encoder alone."""
        other = self.title_engine
        if other is None:
            return None
        try:
            bundle = other._bundle(OCCUPATION_BUNDLE)
        except (IndexMissing, IndexMismatch):
            return None
        return OccupationMatcher(other.taxonomy.occupations, bundle, other.encoder)

    @cached
    def skill_vectors(self) -> np.ndarray:
        """One L2-normalised vector per ESCO skill (label + description), in ``skills`` order."""
        return self.skill_matcher.bundle["descriptions"].vectors()

    # -- queries -------------------------------------------------------------------------
    def search_skills(self, text: str, k: int = 10) -> list[SkillHit]:
        return self.skill_matcher.search(text, k)

    def search_occupations(self, title: str, k: int = 10) -> list[OccupationHit]:
        return self.occupation_matcher.normalize(title, k)

    def normalize_occupation(self, title: str, k: int = 10) -> list[OccupationHit]:
        """ESCO occupations for a job title, best first, scores in [0, 1]."""
        return self.occupation_matcher.normalize(title, k)

    def extract_skills(
        self, text: str, top_k: int | None = None, min_score: float | None = None
    ) -> Extraction:
        """ESCO skills mentioned in ``text`` (learning outcomes, a CV, a job ad), with evidence.

        Empty text gives an empty result; a non-string raises ``InvalidQuery`` (ValueError).
        """
        return self.skill_matcher.extract(text, top_k, min_score)

    def extract_skills_batch(
        self, texts: Sequence[str], top_k: int | None = None, min_score: float | None = None
    ) -> list[Extraction]:
        """:meth:`extract_skills` for many texts, all statements encoded in one go."""
        return self.skill_matcher.extract_batch(texts, top_k, min_score)

    def rank_skills(self, statement: str, method: str = "final") -> SkillRanking:
        """Every ESCO skill ranked for one statement (``method``: "final" | "zero-shot")."""
        return self.skill_matcher.rank_batch([statement], method)[0]

    def rank_skills_batch(
        self, statements: Sequence[str], method: str = "final", vectors: np.ndarray | None = None
    ) -> list[SkillRanking]:
        """:meth:`rank_skills` for many statements; ``vectors`` from :meth:`encode_queries`."""
        return self.skill_matcher.rank_batch(statements, method, vectors)

    def rank_occupations_batch(
        self,
        titles: Sequence[str],
        method: str = "final",
        vectors: np.ndarray | None = None,
        partner_vectors: np.ndarray | None = None,
    ) -> list[OccupationRanking]:
        """Every ESCO occupation ranked for each title (``method``: one of
        :data:`~skillpath.engine.matching.TITLE_METHODS`); ``partner_vectors`` are the titles'
        vectors from :meth:`encode_title_queries`."""
        return self.occupation_matcher.rank_batch(titles, method, vectors, partner_vectors)

    def encode_queries(self, texts: Sequence[str], cache: bool = False) -> np.ndarray:
        """Query vectors for ``texts``; ``cache=True`` keeps them in the embedding cache
        (benchmark texts, never user text)."""
        if cache:
            return self.resources.embedding_cache.encode(self.encoder, list(texts), "query")
        return self.encoder.encode_queries(list(texts))

    def encode_title_queries(self, texts: Sequence[str], cache: bool = False) -> np.ndarray | None:
        """The multilingual title encoder's query vectors for ``texts`` (None without it)."""
        if self.occupation_matcher.partner is None or self.title_engine is None:
            return None
        return self.title_engine.encode_queries(texts, cache)
