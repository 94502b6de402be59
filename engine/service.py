"""The one facade that the CLI, the API and the evaluation scripts call.

It owns the long-lived objects (store, encoder, indexes, matchers) and loads each lazily,
once. Everything it returns is a record from the layers below, so the CLI renders tables,
the API serialises JSON and the evaluation scripts compute metrics over the same values.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from engine.config import Settings
from engine.embeddings import EmbeddingCache, ProgressFactory
from engine.index import IndexBundle, load_bundle, save_bundle
from engine.matching import OccupationHit, OccupationMatcher, SkillHit, SkillMatcher, clean_query
from engine.taxonomy_index import (
    OCCUPATION_BUNDLE,
    SKILL_BUNDLE,
    build_occupation_bundle,
    build_skill_bundle,
    esco_expectation,
)
from esco.loader import load_esco
from esco.records import IngestSummary, Occupation, Skill
from esco.store import NotFound, Store
from models.encoder import Encoder, load_encoder


@dataclass(frozen=True)
class OccupationDetail:
    occupation: Occupation
    essential: list[Skill]
    optional: list[Skill]
    isco_label: str | None


class Skillpath:
    """Entry point to the engine. ``Skillpath()`` reads :class:`Settings` from the environment."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._lock = threading.RLock()

    # -- owned resources -----------------------------------------------------------------
    @cached_property
    def store(self) -> Store:
        return Store(self.settings.db_path)

    @cached_property
    def encoder(self) -> Encoder:
        return load_encoder(self.settings.encoder)

    @cached_property
    def embedding_cache(self) -> EmbeddingCache:
        return EmbeddingCache(self.settings.embedding_cache_path)

    # -- ESCO ----------------------------------------------------------------------------
    def ingest_esco(self, paths: list[Path] | None = None, force: bool = False) -> IngestSummary:
        taxonomy = load_esco(paths or self.settings.resolved_esco_paths)
        summary = self.store.ingest(taxonomy, force=force)
        self._reset_esco()
        return summary

    def build_indexes(self, progress: ProgressFactory | None = None) -> dict[str, dict]:
        """Build (or refresh) the ESCO skill and occupation indexes; returns their manifests."""
        expect = esco_expectation(self.store, self.encoder)
        meta = {**expect, "encoder_name": self.encoder.name, "dimension": self.encoder.dimension}
        batch = self.settings.batch_size
        skills = build_skill_bundle(
            self.store.all_skills(), self.encoder, self.embedding_cache, batch, progress
        )
        save_bundle(self.settings.index_dir, skills, meta)
        occupations = build_occupation_bundle(
            self.store.all_occupations(), self.encoder, self.embedding_cache, batch, progress
        )
        save_bundle(self.settings.index_dir, occupations, meta)
        self._reset_esco()
        return {SKILL_BUNDLE: skills.manifest, OCCUPATION_BUNDLE: occupations.manifest}

    def _reset_esco(self) -> None:
        for name in ("skills", "occupations", "skill_matcher", "occupation_matcher"):
            self.__dict__.pop(name, None)

    def _bundle(self, name: str) -> IndexBundle:
        return load_bundle(
            self.settings.index_dir, name, esco_expectation(self.store, self.encoder)
        )

    @cached_property
    def skills(self) -> list[Skill]:
        return self.store.all_skills()

    @cached_property
    def occupations(self) -> list[Occupation]:
        return self.store.all_occupations()

    @cached_property
    def skill_matcher(self) -> SkillMatcher:
        return SkillMatcher(self.skills, self._bundle(SKILL_BUNDLE), self.encoder)

    @cached_property
    def occupation_matcher(self) -> OccupationMatcher:
        return OccupationMatcher(self.occupations, self._bundle(OCCUPATION_BUNDLE), self.encoder)

    # -- queries -------------------------------------------------------------------------
    def search_skills(self, text: str, k: int = 10) -> list[SkillHit]:
        return self.skill_matcher.search(text, k)

    def search_occupations(self, title: str, k: int = 10) -> list[OccupationHit]:
        return self.occupation_matcher.normalize(title, k)

    def skill(self, uri_or_label: str) -> Skill:
        ref = clean_query(uri_or_label, "skill")
        if ref.startswith("http"):
            return self.store.skill(ref)
        found = self.store.skills_by_label(ref)
        if not found:
            raise NotFound(f"no ESCO skill with URI or label {ref!r}")
        return found[0]

    def resolve_occupation(self, uri_or_label: str) -> Occupation:
        """An occupation by URI, or by exact preferred/alternative label."""
        ref = clean_query(uri_or_label, "occupation")
        if ref.startswith("http"):
            return self.store.occupation(ref)
        found = self.store.occupations_by_label(ref)
        if not found:
            raise NotFound(
                f"no ESCO occupation with URI or label {ref!r}; "
                "try `skillpath occupations search` to find one"
            )
        return found[0]

    def occupation_detail(self, uri_or_label: str) -> OccupationDetail:
        occupation = self.resolve_occupation(uri_or_label)
        relations = self.store.occupation_skills(occupation.uri)
        skills = self.store.skills(uri for uri, _ in relations)
        isco = self.store.isco_group(occupation.isco_group) if occupation.isco_group else None
        return OccupationDetail(
            occupation=occupation,
            essential=[skills[u] for u, rel in relations if rel == "essential"],
            optional=[skills[u] for u, rel in relations if rel == "optional"],
            isco_label=isco[1] if isco else None,
        )
