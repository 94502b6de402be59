"""Metrics on hand-computed cases (arithmetic in the comments), edge cases and properties.

The IR metrics are implemented in :mod:`skillpath.evaluation.metrics`
with ranx's definitions; they are
checked here against trec_eval (via ir_measures, fast) always, and against ranx itself when
``SKILLPATH_RANX_CHECK=1`` (ranx JIT-compiles for 5-40 s, too slow for every run).
"""

from __future__ import annotations

import math
import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillpath.evaluation.metrics import (
    as_ranking,
    best_threshold,
    catalogue_coverage,
    employability_gain,
    evaluate_rankings,
    evaluate_title_rankings,
    gap_coverage_at_k,
    graded_metrics,
    intra_list_diversity,
    latency_summary,
    map,
    mean_average_precision,
    micro_prf,
    mrr,
    ndcg_at_k,
    per_query_metrics,
    query_metrics,
    recall_at_k,
    reciprocal_rank,
    rp_at_k,
    workload_to_reach,
)

approx = pytest.approx

# --------------------------------------------------------------------------- RP@k, RR


def test_rp_at_k_hand_computed():
    ranked = ["a", "x", "b", "y", "c", "z"]
    # gold {a,b,c,d}; top-5 = a x b y c -> 3 hits; min(5, 4) = 4 -> 3/4
    assert rp_at_k(ranked, {"a", "b", "c", "d"}, 5) == 0.75
    # top-2 = a x -> 1 hit; min(2, 4) = 2 -> 1/2 (precision@2 here)
    assert rp_at_k(ranked, {"a", "b", "c", "d"}, 2) == 0.5
    # gold {b}: top-5 holds b -> 1 / min(5, 1) = 1 (recall@5 here)
    assert rp_at_k(ranked, {"b"}, 5) == 1.0
    # gold {b, q}: top-5 holds b only -> 1 / min(5, 2) = 0.5
    assert rp_at_k(ranked, {"b", "q"}, 5) == 0.5


def test_rp_at_k_edges():
    assert rp_at_k([], {"a"}, 5) == 0.0  # nothing retrieved
    assert rp_at_k(["x", "a"], {"a"}, 10) == 1.0  # k beyond the list: 1 hit / min(10, 1)
    assert rp_at_k({"a": 0.5, "b": 0.5, "c": 0.9}, {"a"}, 2) == 1.0  # c, then tie a<b by id
    assert rp_at_k({"a": 0.5, "b": 0.5, "c": 0.9}, {"b"}, 2) == 0.0
    with pytest.raises(ValueError, match="positive"):
        rp_at_k(["a"], {"a"}, 0)
    with pytest.raises(ValueError, match="positive"):
        rp_at_k(["a"], {"a"}, True)
    with pytest.raises(ValueError, match="empty"):
        rp_at_k(["a"], set(), 5)
    with pytest.raises(ValueError, match="more than once"):
        rp_at_k(["a", "b", "a"], {"a"}, 5)
    with pytest.raises(ValueError, match="one string"):
        rp_at_k("abc", {"a"}, 5)


def test_reciprocal_rank_hand_computed():
    # first gold item at rank 3 -> 1/3
    assert reciprocal_rank(["x", "y", "b", "a"], {"a", "b"}) == approx(1 / 3)
    assert reciprocal_rank(["a"], {"a"}) == 1.0
    assert reciprocal_rank(["x", "y"], {"a"}) == 0.0  # no gold retrieved
    assert reciprocal_rank([], {"a"}) == 0.0
    with pytest.raises(ValueError, match="empty"):
        reciprocal_rank(["a"], [])


def test_as_ranking_orders_scores_and_rejects_nan():
    assert as_ranking({"b": 1.0, "a": 1.0, "c": 2.0}) == ["c", "a", "b"]
    with pytest.raises(ValueError, match="real scores"):
        as_ranking({"a": float("nan")})


# --------------------------------------------------------------------------- IR metrics


def test_query_metrics_hand_computed_binary():
    ranked = ["a", "x", "b", "y"]
    gold = {"a", "b", "c"}
    m = query_metrics(
        ranked, gold, ["mrr", "map", "r-precision", "recall@2", "precision@5", "ndcg@3"]
    )
    assert m["mrr"] == 1.0  # a at rank 1
    # AP: hits at ranks 1 and 3 -> (1/1 + 2/3) / 3 relevant = 5/9
    assert m["map"] == approx(5 / 9)
    # R = 3: top-3 = a x b -> 2/3
    assert m["r-precision"] == approx(2 / 3)
    assert m["recall@2"] == approx(1 / 3)  # top-2 holds a
    assert m["precision@5"] == approx(2 / 5)  # divided by k even though only 4 ranked
    # DCG@3 = 1/log2(2) + 1/log2(4) = 1.5; IDCG@3 = 1 + 1/log2(3) + 1/2 = 2.1309
    assert m["ndcg@3"] == approx(1.5 / (1 + 1 / math.log2(3) + 0.5))


def test_query_metrics_graded_ndcg():
    # grades a=2, b=1; ranking b, a: DCG = 1/log2(2) + 2/log2(3) = 2.26186
    # ideal a, b: IDCG = 2/1 + 1/log2(3) = 2.63093 -> nDCG = 0.85972
    value = query_metrics(["b", "a"], {"a": 2, "b": 1}, ["ndcg@2"])["ndcg@2"]
    assert value == approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    assert value == approx(0.859719, abs=1e-6)
    # fractional grades are gains too: a=.5, b=.25, ranking b, a
    # DCG = .25/1 + .5/log2(3); IDCG = .5/1 + .25/log2(3)
    value = query_metrics(["b", "a"], {"a": 0.5, "b": 0.25}, ["ndcg@2"])["ndcg@2"]
    assert value == approx((0.25 + 0.5 / math.log2(3)) / (0.5 + 0.25 / math.log2(3)))
    # grade 0 is judged but not relevant: only b counts -> RR = 1/2
    assert query_metrics(["a", "b"], {"a": 0, "b": 1}, ["mrr"])["mrr"] == 0.5


def test_query_metrics_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown metric"):
        query_metrics(["a"], {"a"}, ["ndcg"])
    with pytest.raises(ValueError, match="cutoff"):
        query_metrics(["a"], {"a"}, ["recall@0"])
    with pytest.raises(ValueError, match="finite and >= 0"):
        query_metrics(["a"], {"a": -1}, ["mrr"])
    with pytest.raises(ValueError, match="finite and >= 0"):
        query_metrics(["a"], {"a": float("nan")}, ["mrr"])
    with pytest.raises(ValueError, match="no relevant"):
        query_metrics(["a"], {"a": 0}, ["mrr"])
    with pytest.raises(ValueError, match="empty"):
        per_query_metrics({}, {"q": {"a"}}, [])


def test_evaluate_rankings_averages_over_all_qrels_queries():
    qrels = {"q1": {"a", "b"}, "q2": {"c"}, "q3": {"d"}}
    runs = {
        "q1": ["a", "x", "y", "z", "w", "b"],  # RP@5 = 1/min(5,2) = .5; RP@10 = 2/2 = 1; RR 1
        "q2": ["x", "c"],  # RP@5 = RP@10 = 1/1; RR = 1/2
        # q3 missing: counts as an empty ranking -> 0 everywhere
        "q9": ["d"],  # not judged: ignored, counted
    }
    res = evaluate_rankings(runs, qrels, per_query=True, extra=["map"])
    assert res["RP@5"] == approx((0.5 + 1 + 0) / 3)
    assert res["RP@10"] == approx((1 + 1 + 0) / 3)
    assert res["MRR"] == approx((1 + 0.5 + 0) / 3)
    # AP q1 = (1/1 + 2/6) / 2 = 2/3; q2 = (1/2) / 1
    assert res["map"] == approx((2 / 3 + 0.5 + 0) / 3)
    assert (res["n_queries"], res["n_without_run"], res["n_runs_ignored"]) == (3, 1, 1)
    assert res["per_query"]["q3"] == {"RP@5": 0.0, "RP@10": 0.0, "MRR": 0.0, "map": 0.0}
    assert "per_query" not in evaluate_rankings(runs, qrels)


def test_evaluate_rankings_accepts_score_dicts_and_rejects_bad_input():
    res = evaluate_rankings({"q": {"a": 0.1, "b": 0.9}}, {"q": {"a"}}, ks=(1,))
    assert (res["RP@1"], res["MRR"]) == (0.0, 0.5)  # ranking b, a
    with pytest.raises(ValueError, match="empty"):
        evaluate_rankings({}, {"q": set()})
    with pytest.raises(ValueError, match="empty"):
        evaluate_rankings({}, {})
    with pytest.raises(ValueError, match="positive"):
        evaluate_rankings({}, {"q": {"a"}}, ks=(5, 0))
    with pytest.raises(ValueError, match="ks is empty"):
        evaluate_rankings({}, {"q": {"a"}}, ks=())


def test_title_metrics_hand_computed():
    gold = {"t1": "o1", "t2": "o2", "t3": "o3"}
    runs = {
        "t1": ["o1", "o2"],  # rank 1
        "t2": ["o1", "o3", "o4", "o5", "o6", "o2"],  # rank 6: RR 1/6, only in top-10
        "t3": ["o1"],  # never ranked
    }
    res = evaluate_title_rankings(runs, gold)
    assert res["MRR"] == approx((1 + 1 / 6 + 0) / 3)
    assert res["R@1"] == approx(1 / 3)
    assert res["R@5"] == approx(1 / 3)
    assert res["R@10"] == approx(2 / 3)
    with pytest.raises(ValueError, match="one occupation URI"):
        evaluate_title_rankings(runs, {"t1": ["o1"]})  # type: ignore[dict-item]


def test_graded_recsys_metrics_hand_computed():
    qrels = {"u1": {"c1": 2, "c2": 1, "c3": 0}, "u2": {"c4": 1}}
    runs = {"u1": ["c2", "c3", "c1"]}  # u2 has no run -> 0
    # u1: relevant c1 (2), c2 (1). RR = 1. AP = (1/1 + 2/3) / 2 = 5/6.
    # recall@2 = 1/2. nDCG@2: DCG = 1/log2(2) = 1; IDCG = 2 + 1/log2(3) = 2.6309
    ndcg2_u1 = 1 / (2 + 1 / math.log2(3))
    assert mrr(runs, qrels) == approx(0.5)
    assert mean_average_precision(runs, qrels) == approx(5 / 12)
    assert map is mean_average_precision
    assert recall_at_k(runs, qrels, 2) == approx(0.25)
    assert ndcg_at_k(runs, qrels, 2) == approx(ndcg2_u1 / 2)
    all_ = graded_metrics(runs, qrels, ks=(2,))
    assert all_ == approx({"nDCG@2": ndcg2_u1 / 2, "recall@2": 0.25, "MAP": 5 / 12, "MRR": 0.5})
    with pytest.raises(ValueError, match="positive"):
        ndcg_at_k(runs, qrels, -1)


# A few random ranking problems shared by the oracle comparisons.
def _random_problems(seed: int, n: int = 25) -> tuple[dict, dict]:
    rng = random.Random(seed)
    items = [f"d{i:02d}" for i in range(40)]
    runs, qrels = {}, {}
    for q in range(n):
        qid = f"q{q:02d}"
        qrels[qid] = {d: rng.choice([0, 1, 1, 2, 3]) for d in rng.sample(items, rng.randint(1, 6))}
        if not any(qrels[qid].values()):
            qrels[qid][items[0]] = 1
        if q % 7 != 3:  # some queries get no run at all
            runs[qid] = rng.sample(items, rng.randint(0, 30))
    return runs, qrels


ORACLE_METRICS = ["mrr", "map", "recall@5", "precision@5", "ndcg@5", "ndcg@10", "r-precision"]


def test_matches_trec_eval_via_ir_measures():
    ir_measures = pytest.importorskip("ir_measures")
    from ir_measures import AP, RR, P, R, Rprec, nDCG

    names = {
        "mrr": RR,
        "map": AP,
        "recall@5": R @ 5,
        "precision@5": P @ 5,
        "ndcg@5": nDCG @ 5,
        "ndcg@10": nDCG @ 10,
        "r-precision": Rprec,
    }
    runs, qrels = _random_problems(seed=7)
    ours = per_query_metrics(runs, qrels, ORACLE_METRICS)
    # trec_eval orders ties by docno: give strictly decreasing scores to keep our order.
    run_scores = {q: {d: float(len(r) - i) for i, d in enumerate(r)} for q, r in runs.items()}
    theirs = {
        (m.query_id, str(m.measure)): m.value
        for m in ir_measures.iter_calc(list(names.values()), qrels, run_scores)
    }
    compared = 0
    for qid, row in ours.items():
        for metric, measure in names.items():
            key = (qid, str(measure))
            if key in theirs:  # trec_eval skips queries without a run; we count them as 0
                assert row[metric] == approx(theirs[key]), (qid, metric)
                compared += 1
            else:
                assert row[metric] == 0.0
    assert compared > 100


@pytest.mark.skipif(
    os.environ.get("SKILLPATH_RANX_CHECK") != "1",
    reason="ranx JIT-compiles for 5-40 s; set SKILLPATH_RANX_CHECK=1 to compare against it",
)
def test_matches_ranx():
    ranx = pytest.importorskip("ranx")
    runs, qrels = _random_problems(seed=11)
    run_scores = {q: {d: float(len(r) - i) for i, d in enumerate(r)} for q, r in runs.items()}
    run_scores = {q: s for q, s in run_scores.items() if s}
    ranx_run = ranx.Run(run_scores)
    ranx_qrels = ranx.Qrels(qrels)
    ranx.evaluate(ranx_qrels, ranx_run, ORACLE_METRICS, make_comparable=True)
    ours = per_query_metrics(runs, qrels, ORACLE_METRICS)
    for metric in ORACLE_METRICS:
        for qid in qrels:
            expected = ranx_run.scores[metric].get(qid, 0.0)
            assert ours[qid][metric] == approx(expected), (qid, metric)
    # RP@k coincides with precision@k for k <= |gold| and with recall@k for k >= |gold|.
    for qid, grades in qrels.items():
        gold = {d for d, g in grades.items() if g > 0}
        ranking = runs.get(qid, [])
        for k in (1, 5, 10):
            ours_rp = rp_at_k(ranking, gold, k)
            if k <= len(gold):
                assert ours_rp == approx(
                    query_metrics(ranking, gold, [f"precision@{k}"])[f"precision@{k}"]
                )
            if k >= len(gold):
                assert ours_rp == approx(
                    query_metrics(ranking, gold, [f"recall@{k}"])[f"recall@{k}"]
                )


ids = st.sampled_from([f"i{n}" for n in range(12)])
rankings = st.lists(ids, unique=True, max_size=12)
gold_sets = st.sets(ids, min_size=1, max_size=6)
cutoffs = st.integers(min_value=1, max_value=15)


@settings(max_examples=150, deadline=None)
@given(rankings, gold_sets, cutoffs)
def test_ranking_metrics_are_bounded_and_consistent(ranked, gold, k):
    rp = rp_at_k(ranked, gold, k)
    assert 0.0 <= rp <= 1.0
    assert 0.0 <= reciprocal_rank(ranked, gold) <= 1.0
    m = query_metrics(ranked, gold, [f"recall@{k}", f"precision@{k}", f"ndcg@{k}", "map"])
    assert all(0.0 <= v <= 1.0 + 1e-12 for v in m.values())
    # RP@k is precision@k while k <= |gold| and recall@k once k >= |gold|.
    if k <= len(gold):
        assert rp == approx(m[f"precision@{k}"])
    if k >= len(gold):
        assert rp == approx(m[f"recall@{k}"])


# --------------------------------------------------------------------------- set prediction


def test_micro_prf_hand_computed():
    gold = {"q1": {"a", "b"}, "q2": {"c"}, "q3": {"d"}}
    predicted = {"q1": {"a", "x"}, "q2": {"c"}}  # q3 predicts nothing
    # TP = a, c = 2; predicted pairs = 3; gold pairs = 4
    p, r, f = micro_prf(predicted, gold)
    assert (p, r) == approx((2 / 3, 2 / 4))
    assert f == approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))  # 4/7
    assert micro_prf({}, gold) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="without gold"):
        micro_prf({"q9": {"a"}}, gold)
    with pytest.raises(ValueError, match="no \\(query, item\\) pair"):
        micro_prf({}, {"q": set()})


def test_best_threshold_exact_sweep():
    gold = {"q1": {"a", "b"}, "q2": {"c"}}
    scored = {"q1": [("a", 0.9), ("x", 0.8), ("b", 0.4)], "q2": [("c", 0.7), ("y", 0.2)]}
    # t=0.9: P 1, R 1/3, F .5 | t=0.8: P 1/2, R 1/3, F .4 | t=0.7: P 2/3, R 2/3, F 2/3
    # t=0.4: P 3/4, R 1, F 6/7 (best) | t=0.2: P 3/5, R 1, F .75
    best = best_threshold(scored, gold)
    assert best.threshold == 0.4
    assert (best.precision, best.recall, best.f1) == approx((0.75, 1.0, 6 / 7))
    # grid restricted: 0.5 acts like 0.7 (predicts a, x, c) -> F 2/3
    on_grid = best_threshold(scored, gold, grid=[0.95, 0.5])
    assert (on_grid.threshold, on_grid.f1) == approx((0.5, 2 / 3))


def test_best_threshold_ties_prefer_higher_threshold_and_unscored_gold_counts():
    gold = {"q1": {"a"}, "q2": {"b"}}
    scored = {"q1": [("a", 0.6)], "q2": [("z", 0.3)]}  # b never scored
    # t=0.6: P 1, R 1/2, F 2/3 | t=0.3: P 1/2, R 1/2, F 1/2
    best = best_threshold(scored, gold)
    assert (best.threshold, best.f1) == approx((0.6, 2 / 3))
    # grid 0.1 and 0.5 and 0.6 all give the same predictions at 0.5/0.6: F 2/3 -> highest
    assert best_threshold(scored, gold, grid=[0.5, 0.6, 0.1]).threshold == 0.6
    with pytest.raises(ValueError, match="twice"):
        best_threshold({"q1": [("a", 0.1), ("a", 0.2)]}, gold)
    with pytest.raises(ValueError, match="no \\(item, score\\)"):
        best_threshold({"q1": []}, gold)
    with pytest.raises(ValueError, match="at least one threshold"):
        best_threshold(scored, gold, grid=[])


scored_problems = st.dictionaries(
    st.sampled_from(["q1", "q2", "q3"]),
    st.lists(
        st.tuples(ids, st.floats(0, 1, allow_nan=False)), unique_by=lambda t: t[0], max_size=8
    ),
    min_size=1,
)


@settings(max_examples=80, deadline=None)
@given(scored_problems, gold_sets)
def test_best_threshold_is_the_best_on_its_own_candidates(scored, gold_items):
    gold = {"q1": gold_items, "q2": {"i0"}, "q3": set()}
    if not any(pairs for pairs in scored.values()):
        return
    best = best_threshold(scored, gold)
    for t in {s for pairs in scored.values() for _, s in pairs}:
        predicted = {q: {i for i, s in pairs if s >= t} for q, pairs in scored.items()}
        assert micro_prf(predicted, gold)[2] <= best.f1 + 1e-12
    predicted = {q: {i for i, s in pairs if s >= best.threshold} for q, pairs in scored.items()}
    assert micro_prf(predicted, gold) == approx((best.precision, best.recall, best.f1))


# --------------------------------------------------------------------------- recommendation

CRED_SKILLS = {"c1": {"s1", "s2"}, "c2": {"s2", "s3"}, "c3": {"s4"}, "c4": set()}
GAP = {"s1": 0.5, "s2": 0.25, "s3": 0.15, "s4": 0.1}  # total 1.0


def test_gap_coverage_hand_computed():
    # top-1 c1: s1 + s2 = .75 | top-2 adds s3 (s2 counted once): .9 | top-3 adds s4: 1.0
    ranked = ["c1", "c2", "c3"]
    assert gap_coverage_at_k(ranked, CRED_SKILLS, GAP, 1) == approx(0.75)
    assert gap_coverage_at_k(ranked, CRED_SKILLS, GAP, 2) == approx(0.9)
    assert gap_coverage_at_k(ranked, CRED_SKILLS, GAP, 10) == approx(1.0)  # k > list
    # unnormalised weights: {s1: 2, s9: 2} -> c1 covers 2 of 4
    assert gap_coverage_at_k(["c1"], CRED_SKILLS, {"s1": 2, "s9": 2}, 1) == 0.5
    assert gap_coverage_at_k([], CRED_SKILLS, GAP, 3) == 0.0
    with pytest.raises(ValueError, match="empty"):
        gap_coverage_at_k(ranked, CRED_SKILLS, {"s1": 0.0}, 1)
    with pytest.raises(ValueError, match=">= 0"):
        gap_coverage_at_k(ranked, CRED_SKILLS, {"s1": -1.0}, 1)
    with pytest.raises(ValueError, match="no entry"):
        gap_coverage_at_k(["c9"], CRED_SKILLS, GAP, 1)
    with pytest.raises(ValueError, match="more than once"):
        gap_coverage_at_k(["c1", "c1"], CRED_SKILLS, GAP, 1)


def test_workload_to_reach_hand_computed():
    hours = {"c1": 10.0, "c2": 5.0, "c3": 2.0, "c4": 1.0}
    # c1 -> .75 (< .8), c2 -> .9: 10 + 5 = 15 hours, 2 credentials
    res = workload_to_reach(["c1", "c2", "c3"], CRED_SKILLS, GAP, hours, target=0.8)
    assert (res.reached, res.workload, res.credentials, res.unknown) == (True, 15.0, 2, 0)
    assert res.coverage == approx(0.9)
    # a useless credential on the way is still taken: c4 (1 h) + c1 (10 h)
    res = workload_to_reach(["c4", "c1"], CRED_SKILLS, GAP, hours, target=0.75)
    assert (res.workload, res.credentials) == (11.0, 2)
    # never reached: workload None, coverage reported
    res = workload_to_reach(["c3"], CRED_SKILLS, GAP, hours, target=0.8)
    assert (res.reached, res.workload, res.coverage) == (False, None, approx(0.1))


def test_workload_unknowns_are_counted_not_guessed():
    hours = {"c1": None, "c2": 5.0}  # c1 unknown
    res = workload_to_reach(["c1", "c2"], CRED_SKILLS, GAP, hours, target=0.9)
    assert (res.workload, res.unknown, res.is_lower_bound) == (5.0, 1, True)
    res = workload_to_reach(["c1", "c2"], CRED_SKILLS, GAP, {}, 0.9, unknown_workload=20.0)
    # both unknown, each counted as 20 h
    assert (res.workload, res.unknown, res.is_lower_bound) == (40.0, 2, False)
    with pytest.raises(ValueError, match="target"):
        workload_to_reach(["c1"], CRED_SKILLS, GAP, hours, target=0.0)
    with pytest.raises(ValueError, match="negative"):
        workload_to_reach(["c1"], CRED_SKILLS, GAP, {"c1": -1.0})


ESSENTIAL = {
    "o1": {"s1", "s2", "s3", "s4", "s5"},
    "o2": {"s1", "s2"},
    "o3": {"s6"},
    "o4": set(),
}


def test_employability_gain_hand_computed():
    # held s1..s3: o1 3/5 = .6 < .8; o2 2/2 = 1 -> before {o2}
    # + s4: o1 4/5 = .8 >= .8 -> after {o1, o2}; o3 0/1; o4 has no essential skill
    res = employability_gain({"s1", "s2", "s3"}, {"s4"}, ESSENTIAL, ["o1", "o2", "o3", "o4"])
    assert (res.before, res.after, res.gain) == (1, 2, 1)
    assert res.qualified_after == {"o1", "o2"}
    assert res.undefined == {"o4"}
    strict = employability_gain({"s1", "s2", "s3"}, {"s4"}, ESSENTIAL, ["o1", "o2"], 1.0)
    assert (strict.before, strict.after, strict.gain) == (1, 1, 0)
    with pytest.raises(ValueError, match="threshold"):
        employability_gain(set(), set(), ESSENTIAL, ["o1"], threshold=1.5)
    with pytest.raises(ValueError, match="no entry"):
        employability_gain(set(), set(), ESSENTIAL, ["o9"])


def test_catalogue_coverage_and_diversity_hand_computed():
    # distinct c1, c2, c3 of 6 -> .5; top-1 only: c1, c3 -> 2/6
    lists = [["c1", "c2"], ["c3", "c1"]]
    assert catalogue_coverage(lists, 6) == 0.5
    assert catalogue_coverage(lists, 6, k=1) == approx(1 / 3)
    with pytest.raises(ValueError, match="catalogue_size"):
        catalogue_coverage(lists, 2)
    with pytest.raises(ValueError, match="positive"):
        catalogue_coverage(lists, 0)
    # pairs: c1-c2 {s1,s2} vs {s2,s3}: 1 - 1/3 = 2/3; c1-c3: 1; c2-c3: 1 -> mean 8/9
    assert intra_list_diversity(["c1", "c2", "c3"], CRED_SKILLS, 3) == approx(8 / 9)
    assert intra_list_diversity(["c1", "c2", "c3"], CRED_SKILLS, 2) == approx(2 / 3)
    assert intra_list_diversity(["c1"], CRED_SKILLS, 5) == 0.0  # no pair
    assert intra_list_diversity(["c4", "c4b"], {"c4": set(), "c4b": set()}, 2) == 0.0
    with pytest.raises(ValueError, match="no entry"):
        intra_list_diversity(["c1", "c9"], CRED_SKILLS, 2)


def test_latency_summary_hand_computed():
    # 1..100 ms: p50 = 50.5, p95 = 95.05, p99 = 99.01 (linear interpolation), mean 50.5
    summary = latency_summary([n / 1000 for n in range(1, 101)])
    assert summary.n == 100
    assert (summary.p50, summary.p95, summary.p99) == approx((0.0505, 0.09505, 0.09901))
    assert (summary.mean, summary.max) == approx((0.0505, 0.1))
    assert summary.as_dict()["p95"] == approx(0.09505)
    with pytest.raises(ValueError, match="no latency"):
        latency_summary([])
    with pytest.raises(ValueError, match="non-negative"):
        latency_summary([0.1, -0.2])


credential_ids = st.sampled_from(sorted(CRED_SKILLS))


@settings(max_examples=100, deadline=None)
@given(st.lists(credential_ids, unique=True), cutoffs)
def test_gap_coverage_is_bounded_and_monotone_in_k(ranked, k):
    at_k = gap_coverage_at_k(ranked, CRED_SKILLS, GAP, k)
    assert 0.0 <= at_k <= 1.0 + 1e-12
    assert gap_coverage_at_k(ranked, CRED_SKILLS, GAP, k + 1) >= at_k


skill_sets = st.sets(st.sampled_from([f"s{n}" for n in range(1, 8)]))


@settings(max_examples=100, deadline=None)
@given(skill_sets, skill_sets, st.floats(0.05, 1.0))
def test_employability_after_is_at_least_before(held, acquired, threshold):
    res = employability_gain(held, acquired, ESSENTIAL, list(ESSENTIAL), threshold)
    assert res.after >= res.before
    assert res.gain == res.after - res.before >= 0
    assert res.qualified_before <= res.qualified_after
