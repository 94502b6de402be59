"""Skill gap: held skills leave it, similar skills give capped partial credit, more skills never
grow it."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillpath.engine.gap import HeldSkill, TargetSkill, compute_gap

URIS = [f"s:{i}" for i in range(12)]

targets_st = st.lists(
    st.builds(
        TargetSkill,
        uri=st.sampled_from(URIS),
        label=st.sampled_from(["alpha", "beta", "gamma"]),
        relation=st.sampled_from(["essential", "optional"]),
    ),
    max_size=10,
)
held_st = st.lists(
    st.builds(
        HeldSkill,
        uri=st.sampled_from(URIS),
        confidence=st.floats(0.0, 1.0),
        source=st.sampled_from(["declared", "cv", "occupation"]),
    ),
    max_size=8,
)
similar_st = st.dictionaries(
    st.sampled_from(URIS),
    st.lists(st.tuples(st.sampled_from(URIS), st.floats(0.0, 1.0)), max_size=4),
    max_size=8,
)


def data_analyst(held=(), similar=None, **kw):
    targets = [
        TargetSkill(uri="s:sql", label="SQL", relation="essential"),
        TargetSkill(uri="s:python", label="Python", relation="essential"),
        TargetSkill(uri="s:postgres", label="PostgreSQL", relation="optional"),
        TargetSkill(uri="s:viz", label="data visualisation", relation="optional"),
    ]
    return compute_gap("o:da", "data analyst", targets, held, similar, **kw)


def test_empty_profile_gap_is_whole_occupation():
    gap = data_analyst()
    assert [s.uri for s in gap.skills] == ["s:python", "s:sql", "s:postgres", "s:viz"]
    assert gap.essential_count == 2 and gap.optional_count == 2 and gap.held_count == 0
    assert gap.remaining_weight == pytest.approx(2.6) == gap.total_weight
    assert gap.skill("s:sql").reason == "essential for data analyst; not held"
    assert gap.skill("s:viz").weight == pytest.approx(0.3)
    assert gap.reason_if_empty is None


def test_held_skill_leaves_gap_and_low_confidence_gives_partial_credit():
    gap = data_analyst(
        [
            HeldSkill(uri="s:sql", confidence=0.9, source="cv"),
            HeldSkill(uri="s:python", confidence=0.3, source="cv"),
        ]
    )
    assert gap.skill("s:sql") is None
    assert [h.uri for h in gap.held] == ["s:sql"]
    python = gap.skill("s:python")
    assert python.held_credit == pytest.approx(0.3)
    assert python.remaining_weight == pytest.approx(0.7)
    assert "low confidence 0.30" in python.reason


def test_partial_credit_via_similar_held_skill():
    gap = data_analyst(
        [HeldSkill(uri="s:mysql", label="MySQL")],
        {"s:postgres": [("s:mysql", 0.82), ("s:unheld", 0.99)], "s:viz": [("s:mysql", 0.5)]},
    )
    pg = gap.skill("s:postgres")
    # credit = similar_credit (0.5) * similarity; the unheld neighbour is ignored
    assert pg.held_credit == pytest.approx(0.41)
    assert pg.remaining_weight == pytest.approx(0.3 * 0.59)
    assert pg.similar_held == "s:mysql" and pg.similarity == pytest.approx(0.82)
    assert pg.reason == "optional for data analyst; you hold 'MySQL' (similarity 0.82), 41% credit"
    # below partial_threshold: no credit
    assert gap.skill("s:viz").held_credit == 0.0
    assert gap.partial_count == 1


def test_duplicate_targets_essential_wins_and_optional_weight_parameter():
    targets = [
        TargetSkill(uri="s:a", label="a", relation="optional"),
        TargetSkill(uri="s:a", label="a", relation="essential"),
        TargetSkill(uri="s:b", label="b", relation="optional"),
    ]
    gap = compute_gap("o", "job", targets, optional_weight=0.5)
    assert [(s.uri, s.relation, s.weight) for s in gap.skills] == [
        ("s:a", "essential", 1.0),
        ("s:b", "optional", 0.5),
    ]
    assert [s.uri for s in compute_gap("o", "job", targets, optional_weight=0.0).skills] == ["s:a"]


def test_everything_held_and_empty_occupation_have_reasons():
    full = data_analyst([HeldSkill(uri=u) for u in ("s:sql", "s:python", "s:postgres", "s:viz")])
    assert full.skills == [] and "already hold every skill" in full.reason_if_empty
    empty = compute_gap("o", "job", [])
    assert empty.skills == [] and "no skills" in empty.reason_if_empty


def test_bad_parameter_raises():
    with pytest.raises(ValueError):
        data_analyst(optional_weight=1.5)


@settings(max_examples=100, deadline=None)
@given(targets=targets_st, held=held_st, similar=similar_st)
def test_confidently_held_exact_skill_never_in_gap(targets, held, similar):
    gap = compute_gap("o", "job", targets, held, similar)
    confident = {h.uri for h in held if h.confidence >= 0.5}
    assert not confident & {s.uri for s in gap.skills}
    for s in gap.skills:
        assert 0.0 < s.remaining_weight <= s.weight
        assert 0.0 <= s.held_credit < 1.0


@settings(max_examples=100, deadline=None)
@given(targets=targets_st, held=held_st, similar=similar_st, extra=held_st)
def test_adding_held_skills_never_grows_gap(targets, held, similar, extra):
    before = compute_gap("o", "job", targets, held, similar)
    after = compute_gap("o", "job", targets, held + extra, similar)
    assert {s.uri for s in after.skills} <= {s.uri for s in before.skills}
    assert after.remaining_weight <= before.remaining_weight + 1e-12
    for s in after.skills:
        assert s.remaining_weight <= before.skill(s.uri).remaining_weight + 1e-12


@settings(max_examples=100, deadline=None)
@given(targets=targets_st, held=held_st, similar=similar_st, seed=st.integers(0, 10**6))
def test_gap_is_deterministic_under_shuffling(targets, held, similar, seed):
    rng = random.Random(seed)
    shuffled_targets, shuffled_held = targets[:], held[:]
    rng.shuffle(shuffled_targets)
    rng.shuffle(shuffled_held)
    a = compute_gap("o", "job", targets, held, similar)
    b = compute_gap("o", "job", shuffled_targets, shuffled_held, similar)
    assert a == b
