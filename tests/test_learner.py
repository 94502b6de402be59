"""Held skills from a learner profile: the pure merge (engine/learner.py) and, through the
facade on the real ESCO index, past occupations given as free job titles."""

from __future__ import annotations

import numpy as np
import pytest

from skillpath.engine.learner import (
    NO_TEXT_SKILLS,
    CompletedCredential,
    PastOccupation,
    TextSkill,
    held_skills,
    similar_held,
)

A, B, C = "http://esco/a", "http://esco/b", "http://esco/c"


def test_a_skill_held_several_ways_keeps_its_best_confidence():
    held, notes = held_skills(
        declared=[(A, "alpha")],
        occupations=[PastOccupation("cashier", {A: "alpha", B: "beta"})],
        credentials=[CompletedCredential("SQL 101", [(B, 0.9), (C, 1.7)])],
        text_skills=[TextSkill(C, 0.55555, "gamma")],
        occupation_confidence=0.6,
    )
    by_uri = {h.uri: h for h in held}
    assert [h.uri for h in held] == sorted(by_uri)  # sorted by URI
    assert by_uri[A].confidence == 1.0 and by_uri[A].source == "declared"
    assert by_uri[B].confidence == 0.9 and by_uri[B].source == "credential: SQL 101"
    assert by_uri[C].confidence == 1.0  # a link strength above 1 is capped
    assert notes == []


def test_past_occupation_skills_count_at_the_occupation_confidence():
    held, _ = held_skills(
        occupations=[PastOccupation("cashier", {A: "alpha"})], occupation_confidence=0.4
    )
    assert [(h.uri, h.confidence, h.source, h.label) for h in held] == [
        (A, 0.4, "occupation: cashier", "alpha")
    ]


def test_text_with_no_recognised_skill_is_noted_but_no_text_is_not():
    assert held_skills(text_skills=[])[1] == [NO_TEXT_SKILLS]
    assert held_skills(text_skills=None)[1] == []
    held, _ = held_skills(text_skills=[TextSkill(A, 0.123456, "alpha")])
    assert held[0].confidence == 0.1235 and held[0].source == "text"


def test_similar_held_ranks_held_skills_by_cosine_and_skips_the_skill_itself():
    vectors = np.asarray([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], dtype=np.float32)
    position = {A: 0, B: 1, C: 2}
    held, _ = held_skills(declared=[(B, "b"), (C, "c"), (A, "a")])
    out = similar_held([A], held, position, vectors, k=3)
    assert [u for u, _ in out[A]] == [B, C]  # A itself left out, B (0.8) before C (0.0)
    assert out[A][0][1] == pytest.approx(0.8)
    assert similar_held([A], [], position, vectors) == {}


def test_a_free_job_title_as_past_occupation_gives_the_matched_occupations_skills(engine):
    from skillpath.engine.recommendation import LearnerProfile

    resolution = engine.resolve_target("retail cashier")
    assert resolution.matched_by == "search"
    detail = engine.taxonomy.occupation_detail(resolution.occupation_uri)
    expected = {s.uri for s in detail.essential}
    held, _ = engine.recommender.learner_skills(LearnerProfile(occupations=["retail cashier"]))
    assert expected and {h.uri for h in held} == expected
    assert {h.source for h in held} == {f"occupation: {resolution.occupation_label}"}


def test_an_exact_label_still_resolves_and_gibberish_adds_a_note(engine):
    from skillpath.engine.recommendation import LearnerProfile

    held, notes = engine.recommender.learner_skills(
        LearnerProfile(occupations=["warehouse worker"])
    )
    assert held and notes == []
    assert {h.source for h in held} == {"occupation: warehouse worker"}
    _, notes = engine.recommender.learner_skills(
        LearnerProfile(occupations=["qwzx blorptastic frobnik"])
    )
    assert notes and notes[0].startswith("past occupation:")
