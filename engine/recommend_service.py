"""Gap and recommendations for the facade: target, learner, gap, candidates, ranking.

This is the path of one recommendation request (docs/architecture.md): resolve the target,
read what the learner holds, compute the gap, gather candidates (and relevance features)
from the catalogue, then rank, build the pathway and explain. The steps themselves are pure
modules; this class only fetches their inputs from the other sub-facades.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from skillpath.engine.candidates import (
    RelevanceInputs,
    RelevanceTexts,
    TargetPool,
    gather_inputs,
    target_pool,
)
from skillpath.engine.catalogue_service import Catalogue
from skillpath.engine.config import Settings, Tuning
from skillpath.engine.explanations import Explanation, PathwayExplanation
from skillpath.engine.gap import Gap, HeldSkill, TargetSkill, compute_gap
from skillpath.engine.learner import (
    CompletedCredential,
    PastOccupation,
    TextSkill,
    held_skills,
    similar_held,
)
from skillpath.engine.matching_service import Matching
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
from skillpath.engine.request_log import record_recommendation
from skillpath.engine.resources import Resources
from skillpath.engine.snapshot import taught_skills
from skillpath.engine.targets import resolve_target
from skillpath.engine.taxonomy_service import Taxonomy
from skillpath.esco.records import Occupation, Skill
from skillpath.esco.store import Store

TARGET_POOLS = 256  # distinct (revision, target) pools kept: each ~40 query vectors, ~900 ids


class Recommender:
    """``Skillpath.recommender``: gaps and recommendations (``Skillpath.recommend`` and
    ``Skillpath.compute_gap`` are the same methods, at the top)."""

    def __init__(
        self, resources: Resources, taxonomy: Taxonomy, matching: Matching, catalogue: Catalogue
    ) -> None:
        self.resources = resources
        self.taxonomy = taxonomy
        self.matching = matching
        self.catalogue = catalogue
        # learners aiming at the same job share its pool (see target_pool); bounded
        self._pool_for = functools.lru_cache(maxsize=TARGET_POOLS)(self._build_target_pool)

    @property
    def settings(self) -> Settings:
        return self.resources.settings

    @property
    def tuning(self) -> Tuning:
        return self.resources.tuning

    @property
    def store(self) -> Store:
        return self.resources.store

    def resolve_target(self, target: str) -> TargetResolution:
        """An occupation URI, an exact label, or a free title (any EU language) normalised by
        the matcher; ambiguous titles say so and list alternatives
        (:func:`skillpath.engine.targets.resolve_target`)."""
        return resolve_target(
            self.matching.occupation_matcher,
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
        declared = [(s.uri, s.preferred_label) for s in map(self.taxonomy.skill, profile.skills)]
        occupations = []
        for ref in profile.occupations:
            resolution = self.resolve_target(ref)
            if resolution.note:
                notes.append(f"past occupation: {resolution.note}")
            uris = self.store.essential_skills(resolution.occupation_uri)
            names = self.taxonomy.skill_labels(uris)
            occupations.append(PastOccupation(resolution.occupation_label, names))
        credentials = [
            CompletedCredential(c.record.title, [(x.skill_uri, x.score) for x in c.links])
            for c in map(self.catalogue.get, profile.completed_credentials)
        ]
        text_skills = None
        if profile.text and profile.text.strip():
            labels = self.taxonomy.all_skill_labels
            text_skills = [
                TextSkill(s.uri, s.score, labels.get(s.uri))
                for s in self.matching.extract_skills(profile.text).skills
            ]
        held, more = held_skills(
            declared, occupations, credentials, text_skills, self.tuning.occupation_confidence
        )
        return held, notes + more

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
            self.taxonomy.skill_position,
            self.matching.skill_vectors,
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

    def neighbours_for(self, gap: Gap, snapshot: CatalogueSnapshot) -> dict:
        """Taught ESCO skills close to each gap skill (the snapshot caches what is taught)."""
        positions, uris = taught_skills(snapshot, self.taxonomy.skill_position)
        return skill_neighbours(
            [s.uri for s in gap.skills],
            self.taxonomy.skill_position,
            self.matching.skill_vectors,
            positions,
            uris,
            min_similarity=self.tuning.neighbour_similarity,
            per_skill=self.tuning.neighbours_per_skill,
        )

    def relevance_inputs(
        self, request: RecommendationRequest, gap_response: GapResponse | None = None
    ) -> RelevanceInputs:
        """Candidates and relevance features for a request (:mod:`skillpath.engine.candidates`)."""
        gap_response = gap_response or self.compute_gap(
            request.target, request.profile, request.optional_weight
        )
        gap, weights = gap_response.gap, self.settings.tuning.relevance
        snapshot = self.catalogue.snapshot()
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
                current = self.taxonomy.resolve_occupation(ref)
            except LookupError:
                hits = self.matching.normalize_occupation(ref, k=1)
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
            self.target_pool(texts, snapshot.revision),
            self.matching.encode_queries([texts.current], cache=True)[0] if texts.current else None,
            self.catalogue.score_bm25,
            self.catalogue.credential_vectors(),
            neighbours,
            retrieve_candidates(
                snapshot, gap, neighbours, self.settings.tuning.candidates_per_skill
            ),
            weights,
            learner_language=languages[0] if languages else "en",
            exclude=request.profile.completed_credentials,
        )

    def target_pool(self, texts: RelevanceTexts, revision: int) -> TargetPool:
        """The target's query vectors and pooled hits (:class:`~.candidates.TargetPool`),
        kept per (catalogue revision, encoder, title, occupation and skill texts): learners
        aiming at the same job share them, and a write moves the revision on, so a pool of
        an older catalogue is never used (it ages out of the bounded memo)."""
        fingerprint = self.resources.encoder.fingerprint
        return self._pool_for(revision, fingerprint, texts.title, texts.occupation, texts.skills)

    def forget_pools(self) -> None:
        """Drop every kept target pool (after an index build or ingest)."""
        self._pool_for.cache_clear()

    def _build_target_pool(
        self,
        revision: int,
        encoder: str,
        title: str,
        occupation: str | None,
        skills: tuple[str, ...],
    ) -> TargetPool:
        del revision, encoder  # the memo's key only: the catalogue and encoder are current

        def encode(rows: list[str]) -> np.ndarray:
            # The typed title is user text: the in-memory query memo only, never the on-disk
            # embedding cache; the occupation and skill texts are ESCO's.
            vectors = self.matching.encode_queries(rows[:1])
            if len(rows) > 1:
                vectors = np.vstack([vectors, self.matching.encode_queries(rows[1:], cache=True)])
            return vectors

        return target_pool(
            RelevanceTexts(title=title, occupation=occupation, skills=skills),
            encode,
            self.catalogue.search_vectors,
            self.catalogue.search_bm25,
            self.catalogue.score_bm25,
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
        snapshot = snapshot or self.catalogue.snapshot()
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

    def recommend(
        self, request: RecommendationRequest, request_id: str | None = None, log: bool = True
    ) -> RecommendationResponse:
        """The answer, stamped with its provenance and logged for replay (unless ``log`` is
        False; :mod:`skillpath.engine.request_log`)."""
        gap_response = self.compute_gap(request.target, request.profile, request.optional_weight)
        snapshot = self.catalogue.snapshot()
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
        response = RecommendationResponse(
            **{**gap_response.model_dump(), "notes": notes},
            ranking=ranking,
            explanations=explanations,
            pathway=pathway,
            pathway_explanation=pathway_text,
            candidates_considered=considered,
        )
        return record_recommendation(
            request,
            response,
            settings=self.settings,
            esco_version=self.resources.store.esco_version,
            matcher=self.matching,
            catalogue_revision=snapshot.revision,
            request_id=request_id,
            log_it=log,
        )


def _occupation_text(occupation: Occupation) -> str:
    """What the occupation query vector encodes: label, then description (capped)."""
    return f"{occupation.preferred_label}. {occupation.description or ''}".strip()[:1000]


def _skill_text(skill: Skill) -> str:
    return f"{skill.preferred_label}. {skill.description or ''}".strip()[:500]
