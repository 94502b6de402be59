"""Ranking: hard filters with reasons, unknown-field flags, neighbour coverage, submodular greedy
with redundancy discount, determinism."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillpath.engine.gap import Gap, HeldSkill, TargetSkill, compute_gap
from skillpath.engine.ranking import (
    Candidate,
    Constraints,
    RankWeights,
    SkillLink,
    coverage,
    coverage_value,
    ects_estimate,
    filter_candidates,
    hours_estimate,
    marginal_gain,
    rank_credentials,
)

URIS = [f"s:{i}" for i in range(10)]


def da_gap(held=()) -> Gap:
    targets = [
        TargetSkill(uri="s:sql", label="SQL"),
        TargetSkill(uri="s:python", label="Python"),
        TargetSkill(uri="s:stats", label="statistics"),
        TargetSkill(uri="s:viz", label="data visualisation", relation="optional"),
    ]
    return compute_gap("o:da", "data analyst", targets, held)


def cred(cid, skills, **kw) -> Candidate:
    links = [
        SkillLink(uri=u, strength=s, evidence=f"Use {u}", source="declared")
        for u, s in skills.items()
    ]
    return Candidate(id=cid, title=f"Course {cid}", links=links, **kw)


# --- hand-built cases ---------------------------------------------------------------------


def test_redundancy_discount_second_duplicate_drops_below_new_skills():
    gap = da_gap()
    a = cred("a", {"s:sql": 1.0, "s:python": 1.0}, ects=5)
    b = cred("b", {"s:sql": 0.9, "s:python": 0.9}, ects=5)
    c = cred("c", {"s:viz": 0.8}, ects=5)
    ranking = rank_credentials(gap, [b, c, a])
    assert [i.id for i in ranking.items] == ["a", "c", "b"]
    # c alone is worth less than b alone, but b adds nothing once a is in
    assert ranking.items[2].parts.standalone_coverage > ranking.items[1].parts.standalone_coverage
    assert ranking.items[2].score == 0.0 and "redundant" in ranking.items[2].flags
    assert ranking.items[2].parts.redundancy_discount == pytest.approx(1.8 / 3.3)
    assert ranking.items[2].covered[0].before == 1.0
    assert ranking.items[0].parts.coverage_gain == pytest.approx(2 / 3.3)
    assert ranking.coverage == pytest.approx((2 + 0.3 * 0.8) / 3.3)
    assert ranking.essential_coverage == pytest.approx(2 / 3)


def test_partial_overlap_gets_partial_discount():
    gap = da_gap()
    a = cred("a", {"s:sql": 1.0, "s:python": 1.0})
    b = cred("b", {"s:python": 1.0, "s:stats": 1.0})
    ranking = rank_credentials(gap, [a, b], weights=RankWeights(workload=0, level=0))
    second = ranking.items[1]
    assert second.parts.coverage_gain == pytest.approx(1 / 3.3)
    assert second.parts.redundancy_discount == pytest.approx(1 / 3.3)
    assert [(s.uri, s.gain) for s in second.covered] == [("s:python", 0.0), ("s:stats", 1.0)]


def test_neighbour_skill_coverage():
    gap = da_gap()
    c = cred("c", {"s:mysql": 0.9})
    cov = coverage(c, gap, {"s:sql": [("s:mysql", 0.8), ("s:other", 1.0)]})
    assert list(cov) == ["s:sql"]
    assert cov["s:sql"].amount == pytest.approx(0.72)
    assert cov["s:sql"].via_skill == "s:mysql" and cov["s:sql"].similarity == 0.8
    # without neighbours it covers nothing and is never ranked in
    ranking = rank_credentials(gap, [c])
    assert ranking.items == [] and "teaches a gap skill" in ranking.reason_if_empty
    assert ranking.excluded_counts == {"no gap coverage": 1}
    ranked = rank_credentials(gap, [c], neighbours={"s:sql": [("s:mysql", 0.8)]}).items[0]
    assert ranked.covered[0].via_skill == "s:mysql" and ranked.covered[0].amount == pytest.approx(
        0.72
    )


def test_exact_link_beats_equal_neighbour():
    gap = da_gap()
    c = cred("c", {"s:sql": 0.5, "s:mysql": 0.5})
    cov = coverage(c, gap, {"s:sql": [("s:mysql", 1.0)]})
    assert cov["s:sql"].via_skill is None


def test_held_credit_lowers_weight_in_ranking():
    gap = da_gap([HeldSkill(uri="s:sql", confidence=0.25, source="cv")])
    ranking = rank_credentials(
        gap, [cred("a", {"s:sql": 1.0})], weights=RankWeights(workload=0, level=0)
    )
    assert ranking.items[0].covered[0].remaining_weight == pytest.approx(0.75)


def test_budget_zero_and_eqf_inverted_give_empty_with_reason():
    gap = da_gap()
    cands = [cred("a", {"s:sql": 1.0}, ects=1)]
    r = rank_credentials(gap, cands, Constraints(budget_ects=0))
    assert r.items == [] and "ECTS budget is 0" in r.reason_if_empty
    r = rank_credentials(gap, cands, Constraints(eqf_min=6, eqf_max=4))
    assert r.items == [] and "minimum EQF level 6 is above maximum 4" in r.reason_if_empty
    r = rank_credentials(gap, cands, Constraints(languages=[]))
    assert r.items == [] and "language list is empty" in r.reason_if_empty


def test_unknown_language_flagged_and_strict_drops_it():
    gap = da_gap()
    cands = [
        cred("known", {"s:sql": 1.0}, languages=["en"]),
        cred("unknown", {"s:python": 1.0}),
        cred("german", {"s:stats": 1.0}, languages=["de"]),
    ]
    r = rank_credentials(gap, cands, Constraints(languages=["en", "fr"]))
    assert {i.id: i.flags for i in r.items} == {"known": [], "unknown": ["unknown language"]}
    assert r.excluded[0].id == "german" and r.excluded[0].reasons == [
        "language: taught in de; you accept en, fr"
    ]
    assert r.flagged_counts == {"unknown language": 1}
    strict = rank_credentials(gap, cands, Constraints(languages=["en"], strict=True))
    assert [i.id for i in strict.items] == ["known"]
    assert strict.excluded_counts == {"language": 1, "unknown language": 1}


def test_every_violation_is_reported_and_counted():
    gap = da_gap()
    bad = cred(
        "bad",
        {"s:sql": 1.0},
        ects=10,
        eqf_level=7,
        mode="onsite",
        country="DE",
        price=500,
        provider="Acme",
        languages=["de"],
    )
    k = Constraints(
        languages=["en"],
        budget_ects=6,
        eqf_min=4,
        eqf_max=6,
        modes=["onsite", "blended"],
        country="FR",
        max_price=100,
        exclude_providers=["acme"],
    )
    r = rank_credentials(gap, [bad], k)
    assert r.items == [] and "filtered out" in r.reason_if_empty
    assert r.excluded_counts == {
        "provider": 1,
        "language": 1,
        "country": 1,
        "price": 1,
        "eqf_level": 1,
        "ects": 1,
    }
    assert len(r.excluded[0].reasons) == 6


def test_country_applies_to_onsite_only_and_unknown_mode_is_not_a_violation():
    k = Constraints(country="FR")
    online = cred("online", {"s:sql": 1}, mode="online", country="DE")
    onsite = cred("onsite", {"s:sql": 1}, mode="onsite", country="DE")
    unknown = cred("unknown", {"s:sql": 1}, country="DE")
    f = filter_candidates([online, onsite, unknown], k)
    assert [c.id for c in f.kept] == ["online", "unknown"]
    assert f.flags == {"online": [], "unknown": ["unknown mode"]}


def test_workload_estimates_are_conservative():
    hours_only = cred("h", {"s:sql": 1}, hours=100)
    ects_only = cred("e", {"s:sql": 1}, ects=2)
    assert ects_estimate(hours_only) == 4.0 and hours_estimate(ects_only) == 60.0
    f = filter_candidates([hours_only, ects_only], Constraints(budget_ects=3, budget_hours=50))
    assert f.kept == []
    assert f.excluded_counts == {"ects": 1, "hours": 2}


def test_fit_terms_break_equal_gain_but_never_rank_irrelevant():
    gap = da_gap()
    heavy = cred("a-heavy", {"s:sql": 1.0}, ects=20)
    light = cred("b-light", {"s:sql": 1.0}, ects=1)
    tiny = cred("c-tiny", {"s:viz": 0.01}, ects=0)
    none = cred("d-none", {"s:cooking": 1.0}, ects=0)
    r = rank_credentials(gap, [heavy, light, tiny, none], k=10)
    assert [i.id for i in r.items] == ["b-light", "c-tiny", "a-heavy"]
    assert r.items[0].parts.workload_fit == pytest.approx(5 / 6)
    assert r.items[0].score == pytest.approx(
        r.items[0].parts.coverage_gain * (1 + 0.1 * 5 / 6 + 0.05)
    )


def test_k_and_empty_gap_and_duplicates():
    gap = da_gap()
    cands = [cred(str(i), {"s:sql": 1.0}) for i in range(5)]
    assert len(rank_credentials(gap, cands, k=2).items) == 2
    assert rank_credentials(gap, cands, k=0).reason_if_empty
    full = da_gap([HeldSkill(uri=u) for u in ("s:sql", "s:python", "s:stats", "s:viz")])
    assert "already hold" in rank_credentials(full, cands).reason_if_empty
    with pytest.raises(ValueError):
        rank_credentials(gap, cands + [cands[0]])


# --- properties ---------------------------------------------------------------------------

link_st = st.builds(
    SkillLink,
    uri=st.sampled_from(URIS),
    strength=st.floats(0.0, 1.0),
    source=st.sampled_from(["declared", "inferred"]),
)
maybe = st.none().__or__


# Strategies built once: building them inside the draw loop dominated the run time.
_FIELDS = {
    "links": st.lists(link_st, max_size=4),
    "ects": maybe(st.sampled_from([0.0, 1.0, 2.5, 5.0, 10.0])),
    "hours": maybe(st.sampled_from([10.0, 40.0, 120.0])),
    "eqf_level": maybe(st.integers(1, 8)),
    "mode": maybe(st.sampled_from(["online", "onsite", "blended"])),
    "languages": st.lists(st.sampled_from(["en", "fr", "de"]), max_size=2),
    "country": maybe(st.sampled_from(["FR", "DE"])),
    "price": maybe(st.sampled_from([0.0, 50.0, 300.0])),
    "provider": maybe(st.sampled_from(["Acme", "Uni"])),
    "level_text": maybe(st.sampled_from(["Beginner", "Intermediate", "Advanced"])),
}


@st.composite
def candidates_st(draw, max_size=12):
    n = draw(st.integers(0, max_size))
    return [
        Candidate(
            id=f"c{i:02d}",
            title=f"Course {i}",
            **{name: draw(strategy) for name, strategy in _FIELDS.items()},
        )
        for i in range(n)
    ]


@st.composite
def gap_st(draw):
    targets = draw(
        st.lists(
            st.builds(
                TargetSkill,
                uri=st.sampled_from(URIS),
                label=st.just("x"),
                relation=st.sampled_from(["essential", "optional"]),
            ),
            max_size=8,
        )
    )
    held = draw(
        st.lists(
            st.builds(HeldSkill, uri=st.sampled_from(URIS), confidence=st.floats(0, 1)),
            max_size=4,
        )
    )
    return compute_gap("o", "job", targets, held)


constraints_st = st.builds(
    Constraints,
    languages=maybe(st.lists(st.sampled_from(["en", "fr", "de"]), min_size=1, max_size=2)),
    budget_ects=maybe(st.sampled_from([2.0, 5.0, 12.0])),
    budget_hours=maybe(st.sampled_from([30.0, 100.0])),
    eqf_min=maybe(st.integers(1, 5)),
    eqf_max=maybe(st.integers(4, 8)),
    modes=maybe(st.lists(st.sampled_from(["online", "onsite", "blended"]), min_size=1)),
    country=maybe(st.sampled_from(["FR", "DE"])),
    max_price=maybe(st.sampled_from([0.0, 100.0])),
    exclude_providers=st.lists(st.sampled_from(["Acme", "acme ", "Other"]), max_size=1),
    strict=st.booleans(),
)
neighbours_st = st.dictionaries(
    st.sampled_from(URIS),
    st.lists(st.tuples(st.sampled_from(URIS), st.floats(0.0, 1.0)), max_size=3),
    max_size=5,
)


def satisfies(c: Candidate, k: Constraints, flags: list[str]) -> bool:
    """Independent restatement of the hard constraints (known fields must comply)."""
    if k.strict and flags:
        return False
    if c.provider and c.provider.casefold() in {p.strip().casefold() for p in k.exclude_providers}:
        return False
    if k.languages is not None and c.languages and not set(c.languages) & set(k.languages):
        return False
    if k.modes is not None and c.mode is not None and c.mode not in k.modes:
        return False
    if k.country and c.mode in ("onsite", "blended") and c.country and c.country != k.country:
        return False
    if k.max_price is not None and c.price is not None and c.price > k.max_price:
        return False
    lo, hi = k.eqf_min or 1, k.eqf_max or 8
    if c.eqf_level is not None and not lo <= c.eqf_level <= hi:
        return False
    if k.budget_ects is not None and (ects_estimate(c) or 0) > k.budget_ects:
        return False
    return not (k.budget_hours is not None and (hours_estimate(c) or 0) > k.budget_hours)


@settings(max_examples=60, deadline=None)
@given(gap=gap_st(), cands=candidates_st(), k=constraints_st, neighbours=neighbours_st)
def test_ranking_properties(gap, cands, k, neighbours):
    ranking = rank_credentials(gap, cands, k, neighbours, k=5)
    by_id = {c.id: c for c in cands}
    assert len(ranking.items) <= 5
    assert bool(ranking.items) != bool(ranking.reason_if_empty)
    assert 0.0 <= ranking.coverage <= 1.0 and 0.0 <= ranking.essential_coverage <= 1.0
    ids = [i.id for i in ranking.items]
    assert len(set(ids)) == len(ids)
    assert not set(ids) & {e.id for e in ranking.excluded}
    scores = [i.score for i in ranking.items]
    assert scores == sorted(scores, reverse=True)  # greedy marginal scores never increase
    best: dict[str, float] = {}
    for item in ranking.items:
        c = by_id[item.id]
        # every recommended credential covers a gap skill and satisfies the constraints
        assert item.covered and item.parts.standalone_coverage > 0.0
        assert satisfies(c, k, [f for f in item.flags if f != "redundant"])
        cov = coverage(c, gap, neighbours)
        assert all(0.0 <= e.amount <= 1.0 for e in cov.values())
        before = coverage_value(best, gap)
        for uri, e in cov.items():
            best[uri] = max(best.get(uri, 0.0), e.amount)
        # the reported gain is the true marginal gain of f
        assert item.parts.coverage_gain == pytest.approx(coverage_value(best, gap) - before)
        assert item.parts.redundancy_discount >= 0.0
        assert item.score <= item.parts.coverage_gain * 1.2 + 1e-12
    assert ranking.coverage == pytest.approx(coverage_value(best, gap))


@settings(max_examples=50, deadline=None)
@given(gap=gap_st(), cands=candidates_st(), neighbours=neighbours_st)
def test_gains_non_increasing_without_fit_terms(gap, cands, neighbours):
    ranking = rank_credentials(
        gap, cands, None, neighbours, k=12, weights=RankWeights(workload=0, level=0)
    )
    gains = [i.parts.coverage_gain for i in ranking.items]
    assert gains == sorted(gains, reverse=True)
    # the greedy pick is the best available marginal gain at each step
    if ranking.items:
        best_single = max(
            coverage_value({u: e.amount for u, e in coverage(c, gap, neighbours).items()}, gap)
            for c in cands
        )
        assert gains[0] == pytest.approx(best_single)


@settings(max_examples=50, deadline=None)
@given(
    gap=gap_st(),
    cands=candidates_st(),
    k=constraints_st,
    neighbours=neighbours_st,
    seed=st.integers(0, 10**6),
)
def test_ranking_deterministic_under_shuffling(gap, cands, k, neighbours, seed):
    shuffled = cands[:]
    random.Random(seed).shuffle(shuffled)
    shuffled_neighbours = {}
    for key in random.Random(seed).sample(sorted(neighbours), len(neighbours)):
        shuffled_neighbours[key] = list(reversed(neighbours[key]))
    a = rank_credentials(gap, cands, k, neighbours, k=5)
    b = rank_credentials(gap, shuffled, k, shuffled_neighbours, k=5)
    assert a == b
    assert a == rank_credentials(gap, cands, k, neighbours, k=5)


# --- explanations -------------------------------------------------------------------------


def test_explanation_names_skills_evidence_neighbours_and_score_parts():
    from skillpath.engine.explanations import explain_ranking

    gap = da_gap()
    a = cred("a", {"s:sql": 1.0, "s:python": 0.8}, ects=5, eqf_level=5, provider="Uni")
    b = Candidate(
        id="b",
        title="Course b",
        links=[
            SkillLink(uri="s:python", strength=0.5, evidence="Script in Python"),
            SkillLink(uri="s:tableau", strength=0.9, evidence="Build dashboards", label="Tableau"),
        ],
    )
    neighbours = {"s:viz": [("s:tableau", 0.8)]}
    ranking = rank_credentials(gap, [a, b], Constraints(languages=["en"]), neighbours)
    first, second = explain_ranking(ranking, gap, [a, b])
    assert first.sentence == (
        "Covers 2 essential skills of data analyst not yet held: SQL and Python."
    )
    assert [e.label for e in first.essential] == ["SQL", "Python"] and first.optional == []
    assert first.essential[0].evidence == "Use s:sql" and first.essential[0].strength == 1.0
    assert first.essential[0].gap_reason == "essential for data analyst; not held"
    assert first.details[0] == "5 ECTS, EQF 5, by Uni"
    assert "Not stated by the provider: language" in first.details
    assert second.sentence == (
        "Covers 1 optional skill of data analyst not yet held: data visualisation; "
        "Python already covered by higher-ranked credentials."
    )
    viz = second.optional[0]
    assert viz.via_skill == "s:tableau" and viz.via_label == "Tableau"
    assert viz.similarity == 0.8 and viz.evidence == "Build dashboards"
    assert "via related skill 'Tableau' (similarity 0.80)" in viz.text
    assert second.essential[0].already_covered == 0.8
    p = second.parts
    assert p.score == pytest.approx(p.coverage_gain * p.multiplier)
    assert p.standalone_coverage - p.redundancy_discount == pytest.approx(p.coverage_gain)
    assert second.score_text.startswith(f"score {p.score:.3f} = coverage gain")


@settings(max_examples=30, deadline=None)
@given(gap=gap_st(), cands=candidates_st(), neighbours=neighbours_st)
def test_explanations_cover_exactly_the_covered_skills(gap, cands, neighbours):
    from skillpath.engine.explanations import explain_ranking

    ranking = rank_credentials(gap, cands, None, neighbours, k=5)
    explanations = explain_ranking(ranking, gap, cands)
    assert explanations == explain_ranking(ranking, gap, reversed(cands))
    for item, ex in zip(ranking.items, explanations, strict=True):
        assert ex.id == item.id and ex.sentence.startswith("Covers ")
        assert {e.uri for e in ex.essential + ex.optional} == {s.uri for s in item.covered}
        assert all(e.relation == "essential" for e in ex.essential)
        gap_uris = {g.uri for g in gap.skills}
        assert {e.uri for e in ex.essential + ex.optional} <= gap_uris


def _coverage_scanning_neighbours(candidate, gap, neighbours):
    """The previous implementation, kept as the reference: per gap skill, its neighbours in
    URI order, the first strictly better one wins (so an exact link wins a tie)."""
    out = {}
    for g in gap.skills:
        best = None
        link = candidate.links.get(g.uri)
        if link is not None and link.strength > 1e-9:
            best = (link.strength, link.uri, None, None)
        for skill_uri, similarity in sorted(neighbours.get(g.uri, ()), key=lambda n: n[0]):
            link = candidate.links.get(skill_uri)
            if link is None or skill_uri == g.uri:
                continue
            similarity = min(max(float(similarity), 0.0), 1.0)
            amount = link.strength * similarity
            if amount > 1e-9 and (best is None or amount > best[0]):
                best = (amount, link.uri, skill_uri, similarity)
        if best is not None:
            out[g.uri] = best
    return out


@settings(max_examples=300, deadline=None)
@given(
    gap=gap_st(),
    n=st.integers(0, 6),
    neighbours=st.dictionaries(
        st.sampled_from(URIS),
        st.lists(
            st.tuples(st.sampled_from(URIS), st.sampled_from([0.0, 0.5, 1.0, 1.5])), max_size=4
        ),
        max_size=6,
    ),
    strengths=st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=10, max_size=10),
)
def test_coverage_by_linked_skill_equals_scanning_every_neighbour(gap, n, neighbours, strengths):
    from skillpath.engine.ranking import reverse_neighbours

    reverse = reverse_neighbours(gap, neighbours)
    # coarse strengths and similarities make ties common: the tie rules are what is tested
    cands = [
        Candidate(
            id=f"c{j}",
            title="t",
            links=[
                SkillLink(uri=u, strength=strengths[i], evidence="e", source="declared")
                for i, u in enumerate(URIS)
                if (i + j) % 3
            ],
        )
        for j in range(n)
    ]
    for c in cands:
        got = coverage(c, gap, reverse=reverse)
        assert got == coverage(c, gap, neighbours)
        best = {u: 0.5 for u in URIS[::2]}
        for held in ({}, best):  # the gain summed over the lookups is the same float
            assert marginal_gain(got, held, gap, reverse) == marginal_gain(got, held, gap)
        assert list(got) == [g.uri for g in gap.skills if g.uri in got]  # gap order
        expected = _coverage_scanning_neighbours(c, gap, neighbours)
        assert {
            u: (v.amount, v.link.uri, v.via_skill, v.similarity) for u, v in got.items()
        } == expected
