"""The one facade that the CLI, the API and the evaluation scripts call.

It owns the long-lived objects (store, encoder, indexes, matchers) and loads each lazily,
once. Everything it returns is a record from the layers below, so the CLI renders tables,
the API serialises JSON and the evaluation scripts compute metrics over the same values.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import numpy as np

from skillpath.engine.caches import Caches, cached
from skillpath.engine.candidates import (
    CredentialVectors,
    RelevanceInputs,
    RelevanceTexts,
    gather_inputs,
)
from skillpath.engine.catalogue.bm25 import CredentialBM25, bm25_text
from skillpath.engine.catalogue.importer import ImportSummary, import_items
from skillpath.engine.catalogue.mapper import MatcherMapper
from skillpath.engine.catalogue.records import ImportItem
from skillpath.engine.catalogue.sources import count_hint, export_record, read_catalogue
from skillpath.engine.catalogue.store import CatalogueStore, StoredCredential
from skillpath.engine.catalogue.vectors import (
    CATALOGUE_BUNDLE,
    TEXT_VERSION,
    CredentialSearch,
    build_catalogue_bundle,
)
from skillpath.engine.config import Settings, Tuning
from skillpath.engine.embeddings import EmbeddingCache, ProgressFactory
from skillpath.engine.explanations import Explanation, PathwayExplanation
from skillpath.engine.gap import Gap, HeldSkill, TargetSkill, compute_gap
from skillpath.engine.index import (
    IndexBundle,
    IndexMismatch,
    IndexMissing,
    check_manifest,
    load_bundle,
    read_manifest,
    save_bundle,
)
from skillpath.engine.learner import (
    CompletedCredential,
    PastOccupation,
    TextSkill,
    held_skills,
    similar_held,
)
from skillpath.engine.matching import (
    Extraction,
    OccupationHit,
    OccupationMatcher,
    OccupationRanking,
    SkillHit,
    SkillMatcher,
    SkillRanking,
    clean_query,
)
from skillpath.engine.pathway import Pathway
from skillpath.engine.ranking import Constraints, Ranking
from skillpath.engine.recommendation import (
    LINK_SOURCES,
    CatalogueSnapshot,
    GapResponse,
    LearnerProfile,
    RecommendationRequest,
    RecommendationResponse,
    TargetResolution,
    recommend_from_gap,
    retrieve_candidates,
    skill_neighbours,
)
from skillpath.engine.relevance import hierarchy_neighbours, merge_neighbours
from skillpath.engine.snapshot import build_snapshot, restrict_snapshot, taught_skills
from skillpath.engine.targets import TITLE_PARTNER, load_title_model, resolve_target
from skillpath.engine.taxonomy_index import (
    OCCUPATION_BUNDLE,
    SKILL_BUNDLE,
    build_occupation_bundle,
    build_skill_bundle,
    esco_expectation,
)
from skillpath.esco.loader import load_esco
from skillpath.esco.records import IngestSummary, Occupation, Skill
from skillpath.esco.store import NotFound, Store
from skillpath.models.adapter import artifact_path, load_artifact
from skillpath.models.encoder import Encoder, load_encoder

T = TypeVar("T")

ESCO_DERIVED = (
    "skills",
    "occupations",
    "skill_matcher",
    "occupation_matcher",
    "title_partner_matcher",
    "skill_vectors",
    "skill_position",
    "all_skill_labels",
)
"""Values built from the ESCO store and indexes: dropped after an ingest or index build."""
CATALOGUE_DERIVED = ("catalogue_bundle", "_credential_search", "_credential_bm25")
"""Values built from the credential vectors: dropped when the bundle is rebuilt."""


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
        self.caches = Caches(self._lock)  # derived values, dropped by name (reset_caches)

    # -- owned resources -----------------------------------------------------------------
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
        built = {SKILL_BUNDLE: skills.manifest, OCCUPATION_BUNDLE: occupations.manifest}
        if self.partner is not None:
            partner = self.partner.build_indexes(progress)
            built.update({f"{self.partner.encoder.name}:{k}": v for k, v in partner.items()})
        title = self.title_engine
        if title is not None and title is not self.partner:
            # Job titles in any EU language: the multilingual encoder's occupation labels
            # only (33k short texts, a few minutes), not its skill index.
            built[f"{TITLE_PARTNER}:{OCCUPATION_BUNDLE}"] = title.build_occupation_index(progress)
            self._reset_esco()
        return built

    def build_occupation_index(self, progress: ProgressFactory | None = None) -> dict:
        """Build (or refresh) this encoder's ESCO occupation index alone; its manifest."""
        expect = esco_expectation(self.store, self.encoder)
        meta = {**expect, "encoder_name": self.encoder.name, "dimension": self.encoder.dimension}
        bundle = build_occupation_bundle(
            self.store.all_occupations(),
            self.encoder,
            self.embedding_cache,
            self.settings.batch_size,
            progress,
        )
        save_bundle(self.settings.index_dir, bundle, meta)
        self._reset_esco()
        return bundle.manifest

    @cached_property
    def partner(self) -> Skillpath | None:
        """The engine over ``settings.partner_encoder`` (same home, store and cache), if any."""
        name = self.settings.partner_encoder
        if not name or name == self.settings.encoder:
            return None
        return self.with_encoder(name)

    def with_encoder(self, encoder: str) -> Skillpath:
        """This engine with one other encoder and no partner (same home, store and cache)."""
        return Skillpath(
            self.settings.model_copy(update={"encoder": encoder, "partner_encoder": None})
        )

    def reset_caches(self, *names: str) -> None:
        """Drop derived values so the next use rebuilds them: the named ones, or with no
        names everything derived from ESCO and its indexes (after an ingest or index build);
        the partner engine's too."""
        self.caches.drop(*(names or ESCO_DERIVED))
        if self.partner is not None:
            self.partner.reset_caches(*names)

    def _reset_esco(self) -> None:
        self.reset_caches()

    def _bundle(self, name: str) -> IndexBundle:
        return load_bundle(
            self.settings.index_dir, name, esco_expectation(self.store, self.encoder)
        )

    @cached
    def skills(self) -> list[Skill]:
        return self.store.all_skills()

    @cached
    def occupations(self) -> list[Occupation]:
        return self.store.all_occupations()

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

    def with_partner(self, partner: str) -> Skillpath:
        """This engine with the ensemble matcher over ``partner`` as well (same home, store
        and cache): a slower, more accurate reader of text."""
        return Skillpath(self.settings.model_copy(update={"partner_encoder": partner}))

    def indexes_ready(self) -> bool:
        """Whether the ESCO indexes (and the partner's) were built for this encoder and ESCO
        release: a manifest check, so it costs no index load."""
        expect = esco_expectation(self.store, self.encoder)
        try:
            for name in (SKILL_BUNDLE, OCCUPATION_BUNDLE):
                check_manifest(self.settings.index_dir, name, expect)
        except (IndexMissing, IndexMismatch):
            return False
        return self.partner is None or self.partner.indexes_ready()

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
            self.skills,
            self._bundle(SKILL_BUNDLE),
            self.encoder,
            artifact=artifact,
            occupation_counts=self.store.skill_occupation_counts(),
            partners=partners,
        )

    @cached
    def occupation_matcher(self) -> OccupationMatcher:
        artifact = load_artifact("occupations", self.encoder.name, self.artifact_dirs)
        partner = self.title_partner_matcher
        return OccupationMatcher(
            self.occupations,
            self._bundle(OCCUPATION_BUNDLE),
            self.encoder,
            fusion=artifact.fusion if artifact else None,
            adapter=artifact.adapter if artifact else None,
            partner=partner,
            model=load_title_model(f"{self.encoder.name}+{TITLE_PARTNER}") if partner else None,
        )

    @property
    def title_engine(self) -> Skillpath | None:
        """The engine over the multilingual encoder that backs job titles (None if this is it)."""
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
        return OccupationMatcher(other.occupations, bundle, other.encoder)

    # -- queries -------------------------------------------------------------------------
    def search_skills(self, text: str, k: int = 10) -> list[SkillHit]:
        return self.skill_matcher.search(text, k)

    def search_occupations(self, title: str, k: int = 10) -> list[OccupationHit]:
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

    def encode_queries(self, texts: Sequence[str], cache: bool = False) -> np.ndarray:
        """Query vectors for ``texts``; ``cache=True`` keeps them in the embedding cache
        (benchmark texts, never user text)."""
        if cache:
            return self.embedding_cache.encode(self.encoder, list(texts), "query")
        return self.encoder.encode_queries(list(texts))

    def normalize_occupation(self, title: str, k: int = 10) -> list[OccupationHit]:
        """ESCO occupations for a job title, best first, scores in [0, 1]."""
        return self.occupation_matcher.normalize(title, k)

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

    def encode_title_queries(self, texts: Sequence[str], cache: bool = False) -> np.ndarray | None:
        """The multilingual title encoder's query vectors for ``texts`` (None without it)."""
        if self.occupation_matcher.partner is None or self.title_engine is None:
            return None
        return self.title_engine.encode_queries(texts, cache)

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

    # -- catalogue -----------------------------------------------------------------------
    @cached_property
    def catalogue(self) -> CatalogueStore:
        return CatalogueStore(self.store)

    def import_catalogue(
        self,
        path: Path | str,
        fmt: str = "csv",
        mapping: str | None = None,
        progress: ProgressFactory | None = None,
    ) -> ImportSummary:
        """Import a catalogue file: parse, map outcomes to ESCO, upsert; then refresh vectors."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file")
        source, items = read_catalogue(path, fmt, mapping)
        return self.import_stream(items, source, progress, total=count_hint(path, fmt))

    def import_stream(
        self,
        items: Iterable[ImportItem],
        source: str,
        progress: ProgressFactory | None = None,
        total: int | None = None,
    ) -> ImportSummary:
        with self._lock:
            known = {s.uri for s in self.skills}
            advance = progress(f"importing {source}", total or 0) if progress else None
            summary = import_items(
                items,
                source,
                self.catalogue,
                MatcherMapper(self.skill_matcher),
                known.__contains__,
                progress=advance,
            )
            self.refresh_catalogue_index(progress)
            return summary

    def remove_credential(self, credential_id: str) -> None:
        with self._lock:
            self.catalogue.delete(credential_id)
            self.refresh_catalogue_index()

    def credential(self, credential_id: str) -> StoredCredential:
        return self.catalogue.get(credential_id)

    def list_credentials(
        self,
        offset: int = 0,
        limit: int = 20,
        source: str | None = None,
        query: str | None = None,
    ) -> list[StoredCredential]:
        """A page of stored credentials, optionally of one source / with a title match."""
        return self.catalogue.list(offset, limit, source, query)

    def count_credentials(self, source: str | None = None, query: str | None = None) -> int:
        return self.catalogue.count(source, query)

    def catalogue_stats(self) -> dict:
        """Credentials and declared / inferred / tag links, overall and per source."""
        return self.catalogue.stats()

    @property
    def catalogue_revision(self) -> int:
        """Moves on with every catalogue write (snapshots and vectors are keyed by it)."""
        return self.catalogue.revision

    def credentials(self) -> Iterator[StoredCredential]:
        """Every stored credential with its links, in id order (a streaming read)."""
        return self.catalogue.iter_all()

    def export_credential(self, credential_id: str, fmt: str = "json") -> dict:
        """A credential, ESCO-enriched, as ``json``, ``elm`` (JSON-LD) or ``ob3``."""
        stored = self.catalogue.get(credential_id)
        return export_record(stored, self.skill_labels(s.skill_uri for s in stored.links), fmt)

    def skill_labels(self, uris: Iterable[str]) -> dict[str, str]:
        """Preferred labels of the given ESCO skill URIs (unknown ones left out)."""
        return {uri: skill.preferred_label for uri, skill in self.store.skills(uris).items()}

    @property
    def _catalogue_expect(self) -> dict:
        return {"encoder": self.encoder.fingerprint, "text_version": TEXT_VERSION}

    def refresh_catalogue_index(self, progress: ProgressFactory | None = None) -> dict:
        """Bring the credential vectors up to the store's revision, encoding only the
        credentials that are new or changed since the bundle on disk (the manifest's
        ``refresh`` says how many were encoded, reused and dropped)."""
        expect = self._catalogue_expect
        manifest = read_manifest(self.settings.index_dir, CATALOGUE_BUNDLE)
        same_build = manifest is not None and all(manifest.get(k) == v for k, v in expect.items())
        if same_build and manifest.get("catalogue_revision") == self.catalogue.revision:
            return manifest
        previous = None
        if same_build:
            try:
                previous = load_bundle(self.settings.index_dir, CATALOGUE_BUNDLE, expect)
            except (IndexMissing, IndexMismatch):
                previous = None  # unreadable: rebuild from the embedding cache
        bundle, revision, stats = build_catalogue_bundle(
            self.catalogue,
            self.encoder,
            self.embedding_cache,
            progress=progress,
            previous=previous,
        )
        save_bundle(
            self.settings.index_dir,
            bundle,
            {**expect, "catalogue_revision": revision, "refresh": dataclasses.asdict(stats)},
        )
        self.caches.drop(*CATALOGUE_DERIVED)
        return bundle.manifest

    @property
    def catalogue_bundle(self) -> IndexBundle:
        """The credential vectors at the store's current revision. Kept per revision (re-read
        from the store on each use), so a write made by another process on a shared
        PostgreSQL store is picked up on this process's next request."""
        return self._current("catalogue_bundle", self._load_catalogue_bundle)

    def _load_catalogue_bundle(self) -> IndexBundle:
        expect = self._catalogue_expect
        try:
            bundle = load_bundle(self.settings.index_dir, CATALOGUE_BUNDLE, expect)
        except (IndexMissing, IndexMismatch):
            self.refresh_catalogue_index()
            bundle = load_bundle(self.settings.index_dir, CATALOGUE_BUNDLE, expect)
        if bundle.manifest.get("catalogue_revision") != self.catalogue.revision:
            self.refresh_catalogue_index()
            bundle = load_bundle(self.settings.index_dir, CATALOGUE_BUNDLE, expect)
        return bundle

    def _current(self, name: str, build: Callable[[], T]) -> T:
        """A per-revision object (search structures): rebuilt when the catalogue moved on."""
        return self.caches.current(name, self.catalogue.revision, build)

    def credential_canonical_ids(self) -> dict[str, str]:
        """credential id → the id of the entry it is merged into, for every duplicate
        (same course from two sources or in two languages); ids not listed stand alone."""
        return dict(self.catalogue_snapshot().canonical)

    def search_credentials(self, query: str | np.ndarray, k: int = 10) -> list[tuple[str, float]]:
        """Credentials nearest to a text (encoded as a query) or a query vector, by cosine
        over the FAISS credential index (exact up to 50k credentials, IVF above): [(id,
        cosine)], best first, each duplicate group once under its canonical id."""
        if isinstance(query, str):
            vector = self.encoder.encode_queries([clean_query(query, "query")])
        else:
            vector = np.asarray(query, dtype=np.float32).reshape(1, -1)
            if vector.shape[1] != self.encoder.dimension:
                raise ValueError(
                    f"query vector has {vector.shape[1]} dimensions; the "
                    f"{self.encoder.name} index has {self.encoder.dimension}"
                )
        search = self._current("_credential_search", self._build_credential_search)
        return search.search(vector, k)[0]

    def _build_credential_search(self) -> CredentialSearch:
        bundle = self.catalogue_bundle
        ids = {rowid: cid for rowid, (cid, _) in self.catalogue.content_index().items()}
        return CredentialSearch(bundle, ids, self.catalogue_snapshot().canonical)

    @property
    def credential_bm25(self) -> CredentialBM25:
        """The BM25 index of the catalogue's text (title, outcomes, description), rebuilt
        when the catalogue changes; ``score_ids`` scores a candidate set for ranking."""
        return self._current("_credential_bm25", self._build_bm25)

    def _build_bm25(self) -> CredentialBM25:
        ids, texts = [], []
        for stored in self.catalogue.iter_all():
            r = stored.record
            ids.append(r.id)
            texts.append(bm25_text(r.title, r.learning_outcomes, r.description))
        return CredentialBM25(ids, texts)

    def search_credentials_bm25(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """BM25 over the credentials' text: [(id, score)], best first, duplicates once."""
        text = clean_query(query, "query")
        return self.credential_bm25.search(text, k, self.catalogue_snapshot().canonical)

    # -- gap and recommendations ---------------------------------------------------------
    @property
    def tuning(self) -> Tuning:
        """Every weight and threshold (``settings.tuning``, env ``SKILLPATH_TUNING__*``)."""
        return self.settings.tuning

    @cached
    def skill_vectors(self) -> np.ndarray:
        """One L2-normalised vector per ESCO skill (label + description), in ``skills`` order."""
        return self.skill_matcher.bundle["descriptions"].vectors()

    @cached
    def skill_position(self) -> dict[str, int]:
        return {s.uri: i for i, s in enumerate(self.skills)}

    def resolve_target(self, target: str) -> TargetResolution:
        """An occupation URI, an exact label, or a free title (any EU language) normalised by
        the matcher; ambiguous titles say so and list alternatives
        (:func:`skillpath.engine.targets.resolve_target`)."""
        return resolve_target(
            self.occupation_matcher,
            target,
            self.store.occupation,
            self.store.occupations_by_label,
            self.tuning.min_target_score,
        )

    def learner_skills(self, profile: LearnerProfile) -> tuple[list[HeldSkill], list[str]]:
        """What the learner holds, from every part of the profile (:mod:`.learner` merges).

        Skills are URIs or exact labels (unknown ones raise NotFound); occupations are URIs,
        exact labels or free job titles, resolved as the target is (an unconfident match
        adds a note); completed credentials are catalogue ids.
        """
        notes: list[str] = []
        declared = [(s.uri, s.preferred_label) for s in map(self.skill, profile.skills)]
        occupations = []
        for ref in profile.occupations:
            resolution = self.resolve_target(ref)
            if resolution.note:
                notes.append(f"past occupation: {resolution.note}")
            uris = self.store.essential_skills(resolution.occupation_uri)
            occupations.append(PastOccupation(resolution.occupation_label, self.skill_labels(uris)))
        credentials = [
            CompletedCredential(c.record.title, [(x.skill_uri, x.score) for x in c.links])
            for c in map(self.catalogue.get, profile.completed_credentials)
        ]
        text_skills = None
        if profile.text and profile.text.strip():
            labels = self.all_skill_labels
            text_skills = [
                TextSkill(s.uri, s.score, labels.get(s.uri))
                for s in self.extract_skills(profile.text).skills
            ]
        held, more = held_skills(
            declared, occupations, credentials, text_skills, self.tuning.occupation_confidence
        )
        return held, notes + more

    @cached
    def all_skill_labels(self) -> dict[str, str]:
        return {s.uri: s.preferred_label for s in self.skills}

    def compute_gap(
        self,
        target: str,
        profile: LearnerProfile | None = None,
        optional_weight: float | None = None,
    ) -> GapResponse:
        """The learner's held skills against the target's; ``optional_weight`` overrides
        the tuning's."""
        profile = profile or LearnerProfile()
        resolution = self.resolve_target(target)
        held, notes = self.learner_skills(profile)
        relations = self.store.occupation_skills(resolution.occupation_uri)
        labels = self.store.skills(uri for uri, _ in relations)
        target_skills = [
            TargetSkill(uri=uri, label=labels[uri].preferred_label, relation=relation)
            for uri, relation in relations
        ]
        similar = similar_held(
            [t.uri for t in target_skills],
            held,
            self.skill_position,
            self.skill_vectors,
            self.tuning.similar_held,
        )
        options = self.tuning.gap_options()
        if optional_weight is not None:
            options["optional_weight"] = optional_weight
        gap = compute_gap(
            resolution.occupation_uri,
            resolution.occupation_label,
            target_skills,
            held,
            similar,
            **options,
        )
        if resolution.note:
            notes.insert(0, resolution.note)
        return GapResponse(target=resolution, held=held, gap=gap, notes=notes)

    def catalogue_snapshot(self) -> CatalogueSnapshot:
        """The ranking view of the catalogue, rebuilt only when the catalogue changed."""
        return self._current(
            "catalogue_snapshot",
            lambda: build_snapshot(
                self.catalogue.revision, self.catalogue.iter_all(), self.all_skill_labels
            ),
        )

    def pool_snapshot(
        self, ids: Iterable[str], sources: Sequence[str] = LINK_SOURCES
    ) -> CatalogueSnapshot:
        """A snapshot of only the credentials ``ids`` with only links from ``sources`` (the
        evaluation ranks a pool without seeing the hidden links)."""
        return restrict_snapshot(self.catalogue_snapshot(), ids, sources)

    def neighbours_for(self, gap: Gap, snapshot: CatalogueSnapshot) -> dict:
        """Taught ESCO skills close to each gap skill (the snapshot caches what is taught)."""
        positions, uris = taught_skills(snapshot, self.skill_position)
        return skill_neighbours(
            [s.uri for s in gap.skills],
            self.skill_position,
            self.skill_vectors,
            positions,
            uris,
            min_similarity=self.tuning.neighbour_similarity,
            per_skill=self.tuning.neighbours_per_skill,
        )

    def credential_vectors(self) -> CredentialVectors:
        """Every credential's unit vector by id (the FAISS bundle's matrix), per revision."""

        def build() -> CredentialVectors:
            index = self.catalogue_bundle["credentials"]
            ids = {rowid: cid for rowid, (cid, _) in self.catalogue.content_index().items()}
            owners = index.owners.tolist()
            return CredentialVectors.build([ids.get(o, "") for o in owners], index.vectors())

        return self._current("_credential_vectors", build)

    def relevance_inputs(
        self, request: RecommendationRequest, gap_response: GapResponse | None = None
    ) -> RelevanceInputs:
        """Candidates and relevance features for a request (:mod:`skillpath.engine.candidates`)."""
        gap_response = gap_response or self.compute_gap(
            request.target, request.profile, request.optional_weight
        )
        gap, weights = gap_response.gap, self.settings.tuning.relevance
        snapshot = self.catalogue_snapshot()
        narrower = {
            g.uri: self.store.narrower_closure(g.uri, weights.hierarchy_depth) for g in gap.skills
        }
        neighbours = merge_neighbours(
            self.neighbours_for(gap, snapshot),
            hierarchy_neighbours(
                list(narrower), narrower, snapshot.postings, weights.hierarchy_decay
            ),
        )
        occupation = self.store.occupation(gap_response.target.occupation_uri)
        essential = self.store.skills(self.store.essential_skills(occupation.uri))
        current = None
        for ref in request.profile.occupations[:1]:
            try:
                current = self.resolve_occupation(ref)
            except LookupError:
                hits = self.normalize_occupation(ref, k=1)
                current = self.store.occupation(hits[0].uri) if hits else None
        texts = RelevanceTexts(
            title=request.target
            if not request.target.startswith("http")
            else occupation.preferred_label,
            occupation=_occupation_text(occupation),
            skills=tuple(_skill_text(s) for s in essential.values()),
            skill_labels=tuple(s.preferred_label for s in essential.values()),
            current=_occupation_text(current) if current else None,
        )
        languages = request.constraints.languages
        return gather_inputs(
            gap,
            snapshot,
            texts,
            lambda rows: self.encode_queries(rows, cache=True),
            lambda vectors, k: [self.search_credentials(v, k) for v in vectors],
            self.search_credentials_bm25,
            lambda query, ids: self.credential_bm25.score_ids(query, ids),
            self.credential_vectors(),
            neighbours,
            retrieve_candidates(
                snapshot, gap, neighbours, self.settings.tuning.candidates_per_skill
            ),
            weights,
            learner_language=languages[0] if languages else "en",
            exclude=request.profile.completed_credentials,
        )

    def recommend_for_gap(
        self,
        gap: Gap,
        snapshot: CatalogueSnapshot | None = None,
        constraints: Constraints | None = None,
        k: int = 10,
        max_pathway_items: int = 6,
        sources: Sequence[str] = LINK_SOURCES,
    ) -> tuple[Ranking, list[Explanation], Pathway, PathwayExplanation, int]:
        """Coverage ranking, pathway and explanations for a computed gap over a snapshot
        (default: the whole catalogue; :meth:`pool_snapshot` for an evaluation pool);
        returns (ranking, explanations, pathway, pathway explanation, candidates)."""
        snapshot = snapshot or self.catalogue_snapshot()
        return recommend_from_gap(
            gap,
            snapshot,
            constraints or Constraints(),
            self.neighbours_for(gap, snapshot),
            k=k,
            max_pathway_items=max_pathway_items,
            sources=sources,
            per_skill=self.tuning.candidates_per_skill,
        )

    def recommend(self, request: RecommendationRequest) -> RecommendationResponse:
        gap_response = self.compute_gap(request.target, request.profile, request.optional_weight)
        snapshot = self.catalogue_snapshot()
        relevance = None
        if request.ranking == "relevance" and snapshot.entries:
            relevance = self.relevance_inputs(request, gap_response)
        neighbours = (
            relevance.neighbours if relevance else self.neighbours_for(gap_response.gap, snapshot)
        )
        ranking, explanations, pathway, pathway_text, considered = recommend_from_gap(
            gap_response.gap,
            snapshot,
            request.constraints,
            neighbours,
            k=request.k,
            max_pathway_items=request.max_pathway_items,
            exclude_ids=request.profile.completed_credentials,
            relevance=relevance,
            weights=self.settings.tuning.relevance,
            target_title=request.target,
        )
        if snapshot.aliases:
            ranking = ranking.model_copy(
                update={
                    "items": [
                        item.model_copy(update={"also_as": snapshot.also_as(item.id)})
                        for item in ranking.items
                    ]
                }
            )
        notes = list(gap_response.notes)
        if not snapshot.entries:
            notes.append("the catalogue is empty: run `skillpath catalogue import` first")
        return RecommendationResponse(
            **{**gap_response.model_dump(), "notes": notes},
            ranking=ranking,
            explanations=explanations,
            pathway=pathway,
            pathway_explanation=pathway_text,
            candidates_considered=considered,
        )


def _occupation_text(occupation: Occupation) -> str:
    """What the occupation query vector encodes: label, then description (capped)."""
    return f"{occupation.preferred_label}. {occupation.description or ''}".strip()[:1000]


def _skill_text(skill: Skill) -> str:
    return f"{skill.preferred_label}. {skill.description or ''}".strip()[:500]
