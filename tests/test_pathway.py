"""Pathway: budgeted greedy + best single, budget always respected, ordering by level."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillpath.engine.gap import Gap, TargetSkill, compute_gap
from skillpath.engine.pathway import build_pathway, level_text_rank
from skillpath.engine.ranking import (
    Candidate,
    Constraints,
    SkillLink,
    coverage,
    coverage_value,
    ects_estimate,
    filter_candidates,
    hours_estimate,
)

URIS = [f"s:{i}" for i in range(8)]


def gap_of(*uris: str, optional: tuple[str, ...] = ()) -> Gap:
    targets = [TargetSkill(uri=u, label=u.upper()) for u in uris]
    targets += [TargetSkill(uri=u, label=u.upper(), relation="optional") for u in optional]
    return compute_gap("o:job", "analyst", targets)


def cred(cid, skills, **kw) -> Candidate:
    links = [SkillLink(uri=u, strength=s, evidence=f"Can {u}") for u, s in skills.items()]
    return Candidate(id=cid, title=cid.title(), links=links, **kw)


def test_best_single_beats_ratio_greedy_trap():
    gap = gap_of("s:a", "s:b", "s:c", "s:d")
    cheap = cred("cheap", {"s:a": 0.1}, ects=0.1)  # great ratio, tiny gain
    big = cred("big", {"s:a": 1, "s:b": 1, "s:c": 1, "s:d": 1}, ects=10)  # eats the whole budget
    p = build_pathway(gap, [cheap, big], Constraints(budget_ects=10))
    assert p.method == "best_single"
    assert [s.id for s in p.steps] == ["big"]
    assert p.coverage == pytest.approx(1.0) and p.uncovered == []
    assert "Khuller" in p.guarantee


def test_greedy_fills_budget_and_reports_totals_and_uncovered():
    gap = gap_of("s:a", "s:b", "s:c", optional=("s:d",))
    cands = [
        cred("ab", {"s:a": 1, "s:b": 1}, ects=4),
        cred("b", {"s:b": 1}, ects=1),
        cred("c", {"s:c": 0.5}, hours=50),  # 2 ECTS by the conservative 25 h/ECTS
        cred("bc", {"s:b": 1, "s:c": 1}, ects=6),
    ]
    p = build_pathway(gap, cands, Constraints(budget_ects=6))
    # plain ratio greedy takes "b" (best ratio) then "ab": 2.0; extending the best single
    # credential "ab" with "c" reaches 2.5
    assert p.method == "best_single"
    assert {s.id for s in p.steps} == {"ab", "c"}
    assert p.total_ects == pytest.approx(6.0)
    assert p.total_hours == pytest.approx(4 * 30 + 50)
    assert p.essential_coverage == pytest.approx(2.5 / 3)
    assert p.coverage == pytest.approx(2.5 / 3.3)
    assert [g.uri for g in p.uncovered] == ["s:d"]
    assert p.skill_coverage["s:c"] == 0.5
    cumulative = [s.cumulative_coverage for s in p.steps]
    assert cumulative == sorted(cumulative) and cumulative[-1] == p.coverage


def test_ordering_by_eqf_then_level_text():
    gap = gap_of("s:a", "s:b", "s:c", "s:d", "s:e")
    cands = [
        cred("adv", {"s:a": 1}, eqf_level=6, level_text="Advanced"),
        cred("intro", {"s:b": 1}, eqf_level=4),
        cred("mid", {"s:c": 1}, eqf_level=5),
        cred("unknown-beginner", {"s:d": 1}, level_text="Beginner"),
        cred("unknown-advanced", {"s:e": 1}, level_text="advanced level"),
    ]
    p = build_pathway(gap, cands, max_items=5)
    assert [s.id for s in p.steps] == [
        "intro",
        "mid",
        "adv",
        "unknown-beginner",
        "unknown-advanced",
    ]
    assert [s.position for s in p.steps] == [1, 2, 3, 4, 5]
    assert "Nemhauser" in p.guarantee
    assert p.unknown_workload == sorted(s.id for s in p.steps)  # no workload stated anywhere
    assert level_text_rank("Beginner") < level_text_rank(None) < level_text_rank("Advanced")


def test_step_gain_is_given_previous_steps():
    gap = gap_of("s:a", "s:b")
    cands = [cred("first", {"s:a": 1}, eqf_level=3), cred("second", {"s:a": 1, "s:b": 1})]
    p = build_pathway(gap, cands, max_items=2)
    # "second" alone covers everything: "first" adds nothing, so only one credential is chosen
    assert [s.id for s in p.steps] == ["second"]
    p = build_pathway(gap, [cred("x", {"s:a": 1}, eqf_level=5), cred("y", {"s:b": 1}, eqf_level=3)])
    assert [(s.id, s.gain) for s in p.steps] == [("y", 0.5), ("x", 0.5)]


def test_contradictions_give_empty_with_reason():
    gap = gap_of("s:a")
    cands = [cred("a", {"s:a": 1}, ects=1)]
    p = build_pathway(gap, cands, Constraints(budget_ects=0))
    assert p.steps == [] and "ECTS budget is 0" in p.reason_if_empty
    assert [g.uri for g in p.uncovered] == ["s:a"]
    p = build_pathway(gap, cands, Constraints(eqf_min=5, eqf_max=3))
    assert p.steps == [] and "above maximum" in p.reason_if_empty
    p = build_pathway(gap, cands, Constraints(budget_hours=-1))
    assert p.steps == [] and "hours budget" in p.reason_if_empty
    assert "max_items" in build_pathway(gap, cands, max_items=0).reason_if_empty
    assert build_pathway(gap, []).reason_if_empty == "no candidate credentials were given"


def test_unknown_workload_excluded_only_when_budgeted():
    gap = gap_of("s:a", "s:b")
    cands = [cred("known", {"s:a": 1}, ects=2), cred("unknown", {"s:b": 1})]
    p = build_pathway(gap, cands, Constraints(budget_ects=5))
    assert [s.id for s in p.steps] == ["known"]
    assert p.excluded[0].reasons == ["unknown workload: budget not checkable"]
    assert p.excluded_counts == {"unknown workload": 1}
    free = build_pathway(gap, cands)
    assert {s.id for s in free.steps} == {"known", "unknown"}
    assert free.unknown_workload == ["unknown"] and free.total_ects == 2.0


def test_max_items_caps_and_no_bound_claimed_when_it_binds():
    gap = gap_of("s:a", "s:b", "s:c")
    cands = [cred(u, {u: 1}, ects=1) for u in ("s:a", "s:b", "s:c")]
    p = build_pathway(gap, cands, Constraints(budget_ects=10), max_items=2)
    assert len(p.steps) == 2 and "no bound is claimed" in p.guarantee


# --- properties ---------------------------------------------------------------------------

maybe = st.none().__or__


# Strategies built once: building them inside the draw loop dominated the run time.
_FIELDS = {
    "links": st.lists(
        st.builds(SkillLink, uri=st.sampled_from(URIS), strength=st.floats(0, 1)), max_size=3
    ),
    "ects": maybe(st.sampled_from([0.0, 1.0, 3.0, 5.0, 8.0])),
    "hours": maybe(st.sampled_from([20.0, 60.0, 150.0])),
    "eqf_level": maybe(st.integers(3, 7)),
    "level_text": maybe(st.sampled_from(["Beginner", "Advanced"])),
    "languages": st.lists(st.sampled_from(["en", "de"]), max_size=1),
    "mode": maybe(st.sampled_from(["online", "onsite"])),
    "price": maybe(st.sampled_from([0.0, 200.0])),
}


@st.composite
def candidates_st(draw, max_size=8):
    n = draw(st.integers(0, max_size))
    return [
        Candidate(id=f"c{i}", title=f"C{i}", **{k: draw(v) for k, v in _FIELDS.items()})
        for i in range(n)
    ]


@st.composite
def gap_st(draw):
    essential = draw(st.lists(st.sampled_from(URIS), max_size=6, unique=True))
    optional = draw(st.lists(st.sampled_from(URIS), max_size=3, unique=True))
    return gap_of(*essential, optional=tuple(u for u in optional if u not in essential))


constraints_st = st.builds(
    Constraints,
    budget_ects=maybe(st.sampled_from([1.0, 4.0, 9.0])),
    budget_hours=maybe(st.sampled_from([50.0, 200.0])),
    languages=maybe(st.just(["en"])),
    eqf_min=maybe(st.integers(3, 5)),
    max_price=maybe(st.just(100.0)),
    strict=st.booleans(),
)
neighbours_st = st.dictionaries(
    st.sampled_from(URIS),
    st.lists(st.tuples(st.sampled_from(URIS), st.floats(0, 1)), max_size=2),
    max_size=4,
)


def single_value(c: Candidate, gap: Gap, neighbours) -> float:
    return coverage_value({u: e.amount for u, e in coverage(c, gap, neighbours).items()}, gap)


def set_value(cs, gap: Gap, neighbours) -> float:
    best: dict[str, float] = {}
    for c in cs:
        for u, e in coverage(c, gap, neighbours).items():
            best[u] = max(best.get(u, 0.0), e.amount)
    return coverage_value(best, gap)


@settings(max_examples=60, deadline=None)
@given(gap=gap_st(), cands=candidates_st(), k=constraints_st, neighbours=neighbours_st)
def test_pathway_properties(gap, cands, k, neighbours):
    p = build_pathway(gap, cands, k, neighbours, max_items=4)
    by_id = {c.id: c for c in cands}
    chosen = [by_id[s.id] for s in p.steps]
    assert len(chosen) <= 4 and len({c.id for c in chosen}) == len(chosen)
    assert bool(p.steps) != bool(p.reason_if_empty)
    # the budget holds, on the conservative estimates, and nothing unknown slips in
    if k.budget_ects is not None:
        assert all(ects_estimate(c) is not None for c in chosen)
        assert sum(ects_estimate(c) for c in chosen) <= k.budget_ects + 1e-9
    if k.budget_hours is not None:
        assert all(hours_estimate(c) is not None for c in chosen)
        assert sum(hours_estimate(c) for c in chosen) <= k.budget_hours + 1e-9
    kept = {c.id for c in filter_candidates(cands, k, require_workload=True).kept}
    assert {c.id for c in chosen} <= kept
    for c in chosen:
        assert c.languages == [] or k.languages is None or "en" in c.languages
        assert c.eqf_level is None or k.eqf_min is None or c.eqf_level >= k.eqf_min
        assert single_value(c, gap, neighbours) > 0.0
    # at least as good as any single affordable credential
    assert 0.0 <= p.coverage <= 1.0 + 1e-12
    assert p.coverage == pytest.approx(set_value(chosen, gap, neighbours))
    for cid in kept:
        assert p.coverage >= single_value(by_id[cid], gap, neighbours) - 1e-12
    # steps ordered by level; cumulative coverage only grows
    keys = [
        (c.eqf_level if c.eqf_level is not None else math.inf, level_text_rank(c.level_text))
        for c in chosen
    ]
    assert keys == sorted(keys)
    cumulative = [s.cumulative_coverage for s in p.steps]
    assert cumulative == sorted(cumulative)
    for g in p.uncovered:
        assert all(g.uri not in coverage(c, gap, neighbours) for c in chosen)


@settings(max_examples=40, deadline=None)
@given(gap=gap_st(), cands=candidates_st(max_size=7), budget=st.sampled_from([3.0, 6.0, 10.0]))
def test_pathway_within_khuller_moss_naor_bound_of_optimum(gap, cands, budget):
    k = Constraints(budget_ects=budget)
    p = build_pathway(gap, cands, k, max_items=len(cands) or 1)
    kept = filter_candidates(cands, k, require_workload=True).kept
    optimum = 0.0
    for r in range(1, len(kept) + 1):
        for subset in itertools.combinations(kept, r):
            if sum(ects_estimate(c) for c in subset) <= budget + 1e-9:
                optimum = max(optimum, set_value(subset, gap, None))
    assert p.coverage >= (1 - 1 / math.e) / 2 * optimum - 1e-12


@settings(max_examples=40, deadline=None)
@given(
    gap=gap_st(),
    cands=candidates_st(),
    k=constraints_st,
    neighbours=neighbours_st,
    seed=st.integers(0, 10**6),
)
def test_pathway_deterministic_under_shuffling(gap, cands, k, neighbours, seed):
    shuffled = cands[:]
    random.Random(seed).shuffle(shuffled)
    a = build_pathway(gap, cands, k, neighbours)
    assert a == build_pathway(gap, shuffled, k, neighbours)
    assert a == build_pathway(gap, cands, k, neighbours)


def test_explain_pathway_lines():
    from skillpath.engine.explanations import explain_pathway

    gap = gap_of("s:a", "s:b", optional=("s:c",))
    cands = [cred("x", {"s:a": 1}, ects=2, eqf_level=5), cred("y", {"s:b": 1}, ects=3, eqf_level=4)]
    p = build_pathway(gap, cands, Constraints(budget_ects=5))
    ex = explain_pathway(p)
    assert ex.sentence == (
        "2 credentials (5 ECTS / about 150 h) cover 87% of the gap for analyst "
        "(100% of essential skills); not covered: S:C."
    )
    assert ex.steps == [
        "1. Y (EQF 4): adds 43% (S:B), 43% covered after it",
        "2. X (EQF 5): adds 43% (S:A), 87% covered after it",
    ]
    empty = explain_pathway(build_pathway(gap, cands, Constraints(budget_ects=0)))
    assert empty.sentence.startswith("No pathway: contradictory constraints")


def test_gain_greedy_spends_the_budget_when_max_items_binds_first():
    """Six one-skill quick projects have the best gain per cost; with room for two steps the
    two substantial courses are the better pathway, and the budget is what they cost."""
    gap = gap_of(*(f"s:{c}" for c in "abcdef"))
    big1 = cred("big1", {"s:a": 1, "s:b": 1, "s:c": 1}, ects=8)
    big2 = cred("big2", {"s:d": 1, "s:e": 1, "s:f": 1}, ects=8)
    tiny = [cred(f"tiny-{c}", {f"s:{c}": 1}, ects=0.1) for c in "abcdef"]
    p = build_pathway(gap, [*tiny, big1, big2], Constraints(budget_ects=20), max_items=2)
    assert p.method == "gain_greedy"
    assert {s.id for s in p.steps} == {"big1", "big2"}
    assert p.coverage == pytest.approx(1.0) and p.total_ects == pytest.approx(16)
    # without the cap the ratio rule is right again: all six quick projects, 0.6 ECTS
    q = build_pathway(gap, [*tiny, big1, big2], Constraints(budget_ects=20), max_items=6)
    assert q.coverage == pytest.approx(1.0) and q.total_ects == pytest.approx(0.6)


def test_relevance_weights_the_choice_but_not_the_reported_coverage():
    gap = gap_of("s:a", "s:b")
    off_topic = cred("a-off-topic", {"s:a": 1, "s:b": 1}, ects=2)  # links touch the gap
    on_topic = cred("b-on-topic", {"s:a": 0.8, "s:b": 0.8}, ects=2)
    plain = build_pathway(gap, [off_topic, on_topic], Constraints(budget_ects=2))
    assert [s.id for s in plain.steps] == ["a-off-topic"]
    weighted = build_pathway(
        gap,
        [off_topic, on_topic],
        Constraints(budget_ects=2),
        relevance={"a-off-topic": 0.3, "b-on-topic": 1.0},
    )
    assert [s.id for s in weighted.steps] == ["b-on-topic"]
    assert weighted.coverage == pytest.approx(0.8)  # the plain coverage, not 0.8 * weight
    # a credential the ranking gives no relevance at all never enters the pathway
    none = build_pathway(gap, [off_topic], Constraints(budget_ects=2), relevance={})
    assert none.steps == [] and "relevant" in (none.reason_if_empty or "")


def test_a_duplicate_group_states_what_any_copy_states_so_a_budget_can_take_it():
    """The descriptions listing of a course represents its group (better text) but has no
    workload; the course-table copy states 25 h. The group entry carries the 25 h, so a
    budgeted pathway can choose it instead of leaving it out as of unknown workload."""
    from skillpath.engine.catalogue.records import StoredLink
    from skillpath.engine.recommendation import CatalogueEntry, CatalogueSnapshot

    def entry(cid, **kw):
        fields = dict(
            ects=None, hours=None, eqf_level=None, mode=None, languages=("en",), country=None,
            price=None, provider="Google", level_text=None, url=None,
        )  # fmt: skip
        fields.update(kw)
        link = StoredLink("s:a", 0.9, "analyse data", "inferred")
        return CatalogueEntry(id=cid, title="Foundations: Data", links=(link,), **fields)

    described = entry("desc:foundations", level_text="Beginner")
    listed = entry("table:foundations", hours=25.0, level_text="Advanced", price=0.0)
    snap = CatalogueSnapshot.build(1, [described, listed], groups={described.id: (
        described.id, listed.id)})  # fmt: skip
    merged = snap.entries[described.id]
    assert (merged.hours, merged.ects) == (25.0, None)
    assert merged.level_text == "Beginner"  # what the representative states is kept
    assert merged.price == 0.0
    gap = gap_of("s:a")
    candidate = merged.candidate()
    p = build_pathway(gap, [candidate], Constraints(budget_ects=2))
    assert [s.id for s in p.steps] == [described.id]
    # without the copy's workload the same course is excluded under a budget
    alone = CatalogueSnapshot.build(1, [described]).entries[described.id].candidate()
    q = build_pathway(gap, [alone], Constraints(budget_ects=2))
    assert q.steps == [] and "unknown workload" in str(q.excluded_counts)
