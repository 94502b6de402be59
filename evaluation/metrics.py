"""Pure evaluation metrics: rankings and gold in, numbers out.

Three families live here, each matching how a part of skillpath is judged:

* skill extraction / title normalisation (a ranking of all ESCO skills or occupations per
  query, WorkRB protocol: RP@k, MRR, recall@k);
* "mentioned" decisions (a thresholded set per query: micro precision/recall/F1 and the
  threshold that maximises F1 on dev data);
* recommendation (credentials ranked for a learner's weighted skill gap: gap coverage,
  workload to close the gap, employability, catalogue coverage, diversity, graded IR metrics,
  latency).

Standard IR metrics (MRR, MAP, recall/precision/nDCG@k, R-precision) follow ranx's
definitions and names, and the tests check them against ranx and trec_eval. They are computed
here rather than by calling ranx because ranx spends 20-140 s building numba typed dicts and
recompiling for rankings over all ~14k ESCO skills, and because toolkits handle a query with
no run differently (ranx asserts or pads, trec_eval skips it): here every judged query counts,
a missing run scoring 0.

Conventions: a ranking is a sequence of ids, best first, each id at most once (a duplicate
means a bug upstream, so it is an error rather than silently deduplicated). A ranking may
also be given as ``{id: score}``; it is then ordered by score descending, ties by id
ascending. Bad input (k <= 0, empty gold where the metric is undefined, ...) raises
ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

RankingInput = Sequence[str] | Mapping[str, float]
"""A ranking: ids best first, or scores per id (higher is better)."""

# --------------------------------------------------------------------------- validation


def _check_k(k: int, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k <= 0:
        raise ValueError(f"{name} must be a positive integer, got {k!r}")
    return int(k)


def _check_ks(ks: Iterable[int]) -> tuple[int, ...]:
    checked = tuple(_check_k(k, "every k in ks") for k in ks)
    if not checked:
        raise ValueError("ks is empty: give at least one cutoff")
    return tuple(dict.fromkeys(checked))


def _check_gold(gold: Collection[str], what: str = "gold") -> frozenset[str]:
    if isinstance(gold, str):
        raise ValueError(f"{what} must be a collection of ids, not one string: {gold!r}")
    gold_set = frozenset(gold)
    if not gold_set:
        raise ValueError(f"{what} is empty: the metric is undefined without a gold item")
    return gold_set


def as_ranking(ranked: RankingInput) -> list[str]:
    """The ranking as a list of distinct ids, best first.

    A ``{id: score}`` mapping is sorted by score descending, ties broken by id ascending so
    the result never depends on dict order. NaN scores and duplicate ids raise.
    """
    if isinstance(ranked, str):
        raise ValueError(f"a ranking must be a sequence of ids, not one string: {ranked!r}")
    if isinstance(ranked, Mapping):
        for item, score in ranked.items():
            if score is None or math.isnan(float(score)):
                raise ValueError(f"score of {item!r} is {score!r}; rankings need real scores")
        return [item for item, _ in sorted(ranked.items(), key=lambda kv: (-kv[1], kv[0]))]
    ranking = list(ranked)
    if len(set(ranking)) != len(ranking):
        seen: set[str] = set()
        for item in ranking:
            if item in seen:
                raise ValueError(f"ranking lists an id more than once (e.g. {item!r})")
            seen.add(item)
    return ranking


# --------------------------------------------------------------------------- per-query ranking


def rp_at_k(ranked: RankingInput, gold: Collection[str], k: int) -> float:
    """R-precision at k: ``|top-k ∩ gold| / min(k, |gold|)`` (WorkRB).

    Dividing by ``min(k, |gold|)`` rather than k means a query with 2 gold skills can still
    score 1.0 at k=5; it equals precision@k when ``k <= |gold|`` and recall@k otherwise.
    """
    return _rp(as_ranking(ranked), _check_gold(gold), _check_k(k))


def _rp(ranking: list[str], gold: frozenset[str], k: int) -> float:
    return len(gold.intersection(ranking[:k])) / min(k, len(gold))


def reciprocal_rank(ranked: RankingInput, gold: Collection[str]) -> float:
    """1 / rank of the first gold item in the full ranking; 0 if no gold item is ranked."""
    gold_set = _check_gold(gold)
    for rank, item in enumerate(as_ranking(ranked), start=1):
        if item in gold_set:
            return 1.0 / rank
    return 0.0


# --------------------------------------------------------------------------- IR metrics core

METRIC_NAMES = ("mrr", "map", "r-precision", "recall@k", "precision@k", "ndcg@k")
"""Metric names understood by :func:`query_metrics`, spelled as in ranx."""


def _normalise_qrels(qrels: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Qrels as ``{qid: {item: grade}}``; a plain collection means grade 1 for each.

    Grades are non-negative and finite; grade > 0 means relevant. Fractional grades are
    fine here (nDCG uses them as gains); ranx and trec_eval would floor them to integers, so
    the equality with those tools holds for integer grades. Every query needs at least one
    relevant item or recall and nDCG are undefined.
    """
    if not qrels:
        raise ValueError("qrels is empty: nothing to evaluate")
    out: dict[str, dict[str, float]] = {}
    for qid, judged in qrels.items():
        if isinstance(judged, Mapping):
            grades: dict[str, float] = {}
            for item, grade in judged.items():
                value = float(grade)
                if not math.isfinite(value) or value < 0:
                    raise ValueError(
                        f"query {qid!r}: grade of {item!r} is {grade!r}; grades must be "
                        "finite and >= 0"
                    )
                grades[item] = value
        else:
            grades = dict.fromkeys(_check_gold(judged, f"gold of query {qid!r}"), 1.0)
        if not any(grade > 0 for grade in grades.values()):
            raise ValueError(f"query {qid!r} has no relevant item; the metric is undefined")
        out[qid] = grades
    return out


def _parse_metric(metric: str) -> tuple[str, int | None]:
    name, _, cutoff = metric.partition("@")
    if f"{name}@k" in METRIC_NAMES and cutoff:
        if not cutoff.isdigit() or int(cutoff) <= 0:
            raise ValueError(f"metric {metric!r}: the cutoff must be a positive integer")
        return name, int(cutoff)
    if name in METRIC_NAMES and not cutoff:
        return name, None
    raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRIC_NAMES)}")


def _relevant_ranks(ranking: list[str], relevant: Mapping[str, float]) -> list[tuple[int, float]]:
    """(0-based rank, grade) of each relevant item present in the ranking, by rank."""
    if len(relevant) > 16:
        position = {item: i for i, item in enumerate(ranking)}
        found = [(position[item], g) for item, g in relevant.items() if item in position]
    else:
        found = []
        for item, grade in relevant.items():
            try:
                found.append((ranking.index(item), grade))
            except ValueError:
                continue
    return sorted(found)


def _metrics_for(
    ranking: list[str], grades: Mapping[str, float], parsed: Sequence[tuple[str, str, int | None]]
) -> dict[str, float]:
    relevant = {item: grade for item, grade in grades.items() if grade > 0}
    hits = _relevant_ranks(ranking, relevant)
    n_rel = len(relevant)
    out: dict[str, float] = {}
    for metric, name, k in parsed:
        if name == "mrr":
            value = 1.0 / (hits[0][0] + 1) if hits else 0.0
        elif name == "map":
            value = sum((j + 1) / (rank + 1) for j, (rank, _) in enumerate(hits)) / n_rel
        elif name == "r-precision":
            value = sum(1 for rank, _ in hits if rank < n_rel) / n_rel
        elif name == "recall":
            assert k is not None
            value = sum(1 for rank, _ in hits if rank < k) / n_rel
        elif name == "precision":
            assert k is not None
            value = sum(1 for rank, _ in hits if rank < k) / k
        else:  # ndcg: linear gain, log2(rank + 1) discount (ranx "ndcg", trec_eval)
            assert k is not None
            dcg = sum(g / math.log2(rank + 2) for rank, g in hits if rank < k)
            ideal = sorted(relevant.values(), reverse=True)[:k]
            value = dcg / sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        out[metric] = value
    return out


def query_metrics(
    ranked: RankingInput, relevance: Mapping[str, float] | Collection[str], metrics: Sequence[str]
) -> dict[str, float]:
    """Standard IR metrics of one ranking, named and defined as in ranx.

    ``mrr``; ``map`` (average precision over the full ranking, divided by all relevant
    items); ``r-precision``; ``recall@k``; ``precision@k`` (divided by k even if the ranking
    is shorter); ``ndcg@k`` (linear gain). Items with grade 0 are not relevant.
    """
    grades = _normalise_qrels({"q": relevance})["q"]
    parsed = [(m, *_parse_metric(m)) for m in metrics]
    return _metrics_for(as_ranking(ranked), grades, parsed)


def per_query_metrics(
    runs: Mapping[str, RankingInput],
    qrels: Mapping[str, Mapping[str, float] | Collection[str]],
    metrics: Sequence[str],
) -> dict[str, dict[str, float]]:
    """``{qid: {metric: value}}`` for EVERY qrels query; a query without a run scores 0.

    This is the fix for the usual pitfall of IR toolkits (ranx asserts or, with
    ``make_comparable``, pads; trec_eval skips): a query the system returned nothing for
    must pull the average down, not disappear from it. Runs for unjudged qids are ignored.

    Implemented here rather than by calling ranx because ranx needs 20-140 s to build
    typed dicts and recompile for rankings over all ~14k ESCO skills; the definitions are
    ranx's and ``tests/test_metrics.py`` checks them against ranx and trec_eval.
    """
    if not metrics:
        raise ValueError("metrics is empty: name at least one metric")
    parsed = [(m, *_parse_metric(m)) for m in metrics]
    graded = _normalise_qrels(qrels)
    return {
        qid: _metrics_for(as_ranking(runs[qid]) if qid in runs else [], grades, parsed)
        for qid, grades in graded.items()
    }


def _mean_over(per: Mapping[str, Mapping[str, float]], metric: str) -> float:
    return float(np.mean([row[metric] for row in per.values()]))


def _summarise(
    scores: dict[str, dict[str, float]],
    runs: Mapping[str, Any],
    gold: Mapping[str, Any],
    per_query: bool,
) -> dict[str, Any]:
    names = next(iter(scores.values())).keys()
    result: dict[str, Any] = {name: _mean_over(scores, name) for name in names}
    result["n_queries"] = len(gold)
    result["n_without_run"] = sum(1 for qid in gold if qid not in runs)
    result["n_runs_ignored"] = sum(1 for qid in runs if qid not in gold)
    if per_query:
        result["per_query"] = scores
    return result


# --------------------------------------------------------------------------- skill benchmark


def evaluate_rankings(
    runs: Mapping[str, RankingInput],
    qrels: Mapping[str, Collection[str]],
    ks: Iterable[int] = (5, 10),
    per_query: bool = False,
    extra: Sequence[str] = (),
) -> dict[str, Any]:
    """WorkRB skill-benchmark scores: ``RP@k`` for each k and ``MRR`` over the full ranking,
    averaged over ALL qrels queries (a query missing from ``runs`` scores 0).

    Returns ``{"RP@5": float, "RP@10": float, "MRR": float, "n_queries": int,
    "n_without_run": int, "n_runs_ignored": int}``, plus any ``extra`` metrics in
    :func:`query_metrics` naming (e.g. ``"ndcg@10"``), plus ``"per_query": {qid: {metric:
    float}}`` when asked. Runs for qids absent from qrels are ignored and counted.
    """
    ks = _check_ks(ks)
    parsed = [(m, *_parse_metric(m)) for m in dict.fromkeys(("mrr", *extra))]
    scores: dict[str, dict[str, float]] = {}
    for qid, grades in _normalise_qrels(qrels).items():
        ranking = as_ranking(runs[qid]) if qid in runs else []
        gold_set = frozenset(g for g, grade in grades.items() if grade > 0)
        row = {f"RP@{k}": _rp(ranking, gold_set, k) for k in ks}
        ir = _metrics_for(ranking, grades, parsed)
        row["MRR"] = ir.pop("mrr")
        row.update(ir)
        scores[qid] = row
    return _summarise(scores, runs, qrels, per_query)


# --------------------------------------------------------------------------- job titles


def evaluate_title_rankings(
    runs: Mapping[str, RankingInput],
    gold: Mapping[str, str],
    ks: Iterable[int] = (1, 5, 10),
    per_query: bool = False,
) -> dict[str, Any]:
    """Title-normalisation scores: ``MRR`` and ``R@k`` (the labelled occupation in the top k)
    over ranked occupation URIs, averaged over all gold queries (a missing run scores 0).

    Same result shape as :func:`evaluate_rankings`.
    """
    ks = _check_ks(ks)
    for qid, uri in gold.items():
        if not isinstance(uri, str) or not uri:
            raise ValueError(f"query {qid!r}: gold must be one occupation URI, got {uri!r}")
    metrics = ["mrr", *(f"recall@{k}" for k in ks)]
    per = per_query_metrics(runs, {qid: {uri: 1} for qid, uri in gold.items()}, metrics)
    names = {"mrr": "MRR", **{f"recall@{k}": f"R@{k}" for k in ks}}
    scores = {qid: {names[m]: row[m] for m in metrics} for qid, row in per.items()}
    return _summarise(scores, runs, gold, per_query)


# --------------------------------------------------------------------------- graded IR (recsys)


def graded_metrics(
    runs: Mapping[str, RankingInput],
    qrels: Mapping[str, Mapping[str, float] | Collection[str]],
    ks: Iterable[int] = (5, 10),
) -> dict[str, float]:
    """``nDCG@k`` and ``recall@k`` for each k, ``MAP`` and ``MRR``, averaged over all qrels
    queries (a missing run scores 0). Grades are >= 0; 0 = judged but not relevant.
    """
    ks = _check_ks(ks)
    names = {"map": "MAP", "mrr": "MRR"}
    for k in ks:
        names[f"ndcg@{k}"] = f"nDCG@{k}"
        names[f"recall@{k}"] = f"recall@{k}"
    per = per_query_metrics(runs, qrels, list(names))
    return {label: _mean_over(per, metric) for metric, label in names.items()}


def _one(runs: Mapping[str, RankingInput], qrels: Mapping[str, Any], metric: str) -> float:
    return _mean_over(per_query_metrics(runs, qrels, [metric]), metric)


def ndcg_at_k(
    runs: Mapping[str, RankingInput], qrels: Mapping[str, Mapping[str, float]], k: int
) -> float:
    """Mean nDCG@k (linear gain, as ranx ``ndcg``) over all qrels queries."""
    return _one(runs, qrels, f"ndcg@{_check_k(k)}")


def recall_at_k(
    runs: Mapping[str, RankingInput], qrels: Mapping[str, Mapping[str, float]], k: int
) -> float:
    """Mean recall@k (grade > 0 counts as relevant) over all qrels queries."""
    return _one(runs, qrels, f"recall@{_check_k(k)}")


def mean_average_precision(
    runs: Mapping[str, RankingInput], qrels: Mapping[str, Mapping[str, float]]
) -> float:
    """Mean average precision over the full rankings, over all qrels queries."""
    return _one(runs, qrels, "map")


map = mean_average_precision  # the name runners use; this module never calls builtin map


def mrr(runs: Mapping[str, RankingInput], qrels: Mapping[str, Mapping[str, float]]) -> float:
    """Mean reciprocal rank of the first relevant item over all qrels queries."""
    return _one(runs, qrels, "mrr")


# --------------------------------------------------------------------------- set prediction


def _check_predicted(
    predicted: Mapping[str, Any], gold: Mapping[str, Collection[str]], what: str
) -> None:
    extra = [qid for qid in predicted if qid not in gold]
    if extra:
        raise ValueError(
            f"{what} has {len(extra)} qid(s) without gold (e.g. {extra[0]!r}); "
            "evaluate over the gold queries only"
        )


def _gold_pairs(gold: Mapping[str, Collection[str]]) -> int:
    if not gold:
        raise ValueError("gold is empty: nothing to evaluate")
    total = sum(len(set(items)) for items in gold.values())
    if total == 0:
        raise ValueError("gold holds no (query, item) pair: recall is undefined")
    return total


def _prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def micro_prf(
    predicted: Mapping[str, Collection[str]], gold: Mapping[str, Collection[str]]
) -> tuple[float, float, float]:
    """Micro precision, recall and F1 over (query, item) pairs.

    Queries in ``gold`` without a prediction count as predicting nothing. Precision with no
    prediction at all is 0 (not undefined), so an empty system scores F1 = 0.
    """
    n_gold = _gold_pairs(gold)
    _check_predicted(predicted, gold, "predicted")
    n_pred = sum(len(set(items)) for items in predicted.values())
    tp = sum(len(set(items) & set(gold[qid])) for qid, items in predicted.items())
    return _prf(tp, n_pred, n_gold)


@dataclass(frozen=True)
class ThresholdChoice:
    """The threshold maximising micro-F1, and the scores it reaches (predict score >= t)."""

    threshold: float
    precision: float
    recall: float
    f1: float


def best_threshold(
    scored: Mapping[str, Sequence[tuple[str, float]]],
    gold: Mapping[str, Collection[str]],
    grid: Iterable[float] | None = None,
) -> ThresholdChoice:
    """Pick the "mentioned" threshold that maximises micro-F1 (predict ``score >= t``).

    Without a grid every distinct score is tried, which finds the exact optimum. Ties in F1
    go to the highest threshold: fewer predictions for the same F1. Gold pairs that were
    never scored count as misses at every threshold.
    """
    n_gold = _gold_pairs(gold)
    _check_predicted(scored, gold, "scored")
    scores: list[float] = []
    hits: list[bool] = []
    for qid, pairs in scored.items():
        gold_set = set(gold[qid])
        seen: set[str] = set()
        for item, score in pairs:
            if item in seen:
                raise ValueError(f"query {qid!r}: item {item!r} is scored twice")
            seen.add(item)
            if score is None or math.isnan(float(score)):
                raise ValueError(f"query {qid!r}: score of {item!r} is {score!r}")
            scores.append(float(score))
            hits.append(item in gold_set)
    if not scores:
        raise ValueError("scored holds no (item, score) pair: no threshold to choose")
    values = np.asarray(scores)
    ascending = np.sort(values)
    # cum_tp[n] = gold hits among the n highest scores
    cum_tp = np.concatenate([[0], np.cumsum(np.asarray(hits)[np.argsort(-values, kind="stable")])])
    if grid is None:
        candidates = np.unique(values)
    else:
        candidates = np.unique(np.asarray(list(grid), dtype=float))
        if candidates.size == 0 or np.isnan(candidates).any():
            raise ValueError("grid must hold at least one threshold and no NaN")
    candidates = candidates[::-1]  # highest first, so argmax breaks F1 ties upwards
    n_pred = values.size - np.searchsorted(ascending, candidates, side="left")
    tp = cum_tp[n_pred]
    precision = np.divide(tp, n_pred, out=np.zeros(len(n_pred)), where=n_pred > 0)
    recall = tp / n_gold
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros(len(total)), where=total > 0)
    best = int(np.argmax(f1))
    p, r, f = _prf(int(tp[best]), int(n_pred[best]), n_gold)
    return ThresholdChoice(threshold=float(candidates[best]), precision=p, recall=r, f1=f)


# --------------------------------------------------------------------------- recommendation


def _check_weights(gap_weights: Mapping[str, float]) -> float:
    total = 0.0
    for skill, weight in gap_weights.items():
        if weight is None or math.isnan(float(weight)) or weight < 0:
            raise ValueError(f"gap weight of {skill!r} is {weight!r}; weights must be >= 0")
        total += float(weight)
    if total <= 0:
        raise ValueError("the gap is empty (no positive weight): coverage is undefined")
    return total


def _skills_of(credential: str, credential_skills: Mapping[str, Collection[str]]) -> set[str]:
    if credential not in credential_skills:
        raise ValueError(f"credential {credential!r} has no entry in credential_skills")
    return set(credential_skills[credential])


def _covered(skills: set[str], gap_weights: Mapping[str, float]) -> float:
    return sum(float(w) for s, w in gap_weights.items() if s in skills)


def gap_coverage_at_k(
    ranked_credentials: Sequence[str],
    credential_skills: Mapping[str, Collection[str]],
    gap_weights: Mapping[str, float],
    k: int,
) -> float:
    """Weighted share of the learner's gap taught by the union of the top-k credentials.

    Union rather than sum: two credentials teaching the same missing skill close it once.
    """
    k = _check_k(k)
    total = _check_weights(gap_weights)
    taught: set[str] = set()
    for credential in as_ranking(ranked_credentials)[:k]:
        taught |= _skills_of(credential, credential_skills)
    return _covered(taught, gap_weights) / total


@dataclass(frozen=True)
class WorkloadResult:
    """Effort to reach the coverage target by taking credentials in ranked order.

    ``workload`` is None when the target is never reached. Credentials with unknown workload
    are counted in ``unknown``; they add ``unknown_counted_as`` hours if that was given,
    else nothing, in which case ``workload`` is a lower bound (see ``is_lower_bound``).
    """

    reached: bool
    workload: float | None
    credentials: int
    """Credentials taken (a prefix of the ranking); the whole list when not reached."""
    unknown: int
    coverage: float
    """Coverage after those credentials."""
    unknown_counted_as: float | None = None

    @property
    def is_lower_bound(self) -> bool:
        return self.unknown > 0 and self.unknown_counted_as is None


def workload_to_reach(
    ranked_credentials: Sequence[str],
    credential_skills: Mapping[str, Collection[str]],
    gap_weights: Mapping[str, float],
    workloads: Mapping[str, float | None],
    target: float = 0.8,
    unknown_workload: float | None = None,
) -> WorkloadResult:
    """Cumulative workload (e.g. hours or ECTS) of following the list until gap coverage
    reaches ``target``.

    Every credential on the way is counted, even one adding no new coverage: a learner
    following the list takes it. Unknown workloads (None, NaN or absent) are not guessed
    unless ``unknown_workload`` is given; either way they are counted, so a ranking that
    looks cheap only because its workloads are unknown can be spotted.
    """
    if not 0 < target <= 1:
        raise ValueError(f"target must be in (0, 1], got {target!r}")
    if unknown_workload is not None and unknown_workload < 0:
        raise ValueError(f"unknown_workload must be >= 0, got {unknown_workload!r}")
    total = _check_weights(gap_weights)
    taught: set[str] = set()
    spent = 0.0
    unknown = 0
    coverage = 0.0
    ranking = as_ranking(ranked_credentials)
    for n, credential in enumerate(ranking, start=1):
        taught |= _skills_of(credential, credential_skills)
        hours = workloads.get(credential)
        if hours is None or math.isnan(float(hours)):
            unknown += 1
            spent += unknown_workload or 0.0
        elif hours < 0:
            raise ValueError(f"workload of {credential!r} is negative ({hours!r})")
        else:
            spent += float(hours)
        coverage = _covered(taught, gap_weights) / total
        if coverage >= target - 1e-12:
            return WorkloadResult(True, spent, n, unknown, coverage, unknown_workload)
    return WorkloadResult(False, None, len(ranking), unknown, coverage, unknown_workload)


@dataclass(frozen=True)
class EmployabilityResult:
    """Occupations of the family the learner qualifies for, before and after learning."""

    before: int
    after: int
    gain: int
    qualified_before: frozenset[str]
    qualified_after: frozenset[str]
    undefined: frozenset[str]
    """Family occupations with no essential skill: qualification is undefined, not counted."""


def employability_gain(
    held_skills: Collection[str],
    acquired_skills: Collection[str],
    occupations_essential: Mapping[str, Collection[str]],
    family: Collection[str],
    threshold: float = 0.8,
) -> EmployabilityResult:
    """Employability in the sense of Frej et al. (SIGIR 2024, "Course Recommender Systems
    Need to Consider the Job Market"): the number of jobs the learner is qualified for.

    Qualified = holds at least ``threshold`` of the occupation's essential skills
    (``threshold=1.0`` is the strict all-essential-skills reading). The gain is what the
    acquired skills add; since skills are only added, ``after >= before`` always. Unlike
    Frej et al.'s matching, this counts skill presence only (no proficiency levels).
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    if isinstance(family, str):
        raise ValueError("family must be a collection of occupation URIs, not one string")
    held = set(held_skills)
    after_skills = held | set(acquired_skills)
    before: set[str] = set()
    after: set[str] = set()
    undefined: set[str] = set()
    for occupation in set(family):
        if occupation not in occupations_essential:
            raise ValueError(f"occupation {occupation!r} has no entry in occupations_essential")
        essential = set(occupations_essential[occupation])
        if not essential:
            undefined.add(occupation)
            continue
        need = threshold * len(essential) - 1e-9
        if len(essential & held) >= need:
            before.add(occupation)
        if len(essential & after_skills) >= need:
            after.add(occupation)
    return EmployabilityResult(
        before=len(before),
        after=len(after),
        gain=len(after) - len(before),
        qualified_before=frozenset(before),
        qualified_after=frozenset(after),
        undefined=frozenset(undefined),
    )


def catalogue_coverage(
    rankings: Iterable[Sequence[str]], catalogue_size: int, k: int | None = None
) -> float:
    """Share of the catalogue recommended to anyone (top k of each list if k is given).

    Low coverage means a few popular credentials crowd out the rest of the catalogue.
    """
    catalogue_size = _check_k(catalogue_size, "catalogue_size")
    if k is not None:
        k = _check_k(k)
    distinct: set[str] = set()
    for ranking in rankings:
        distinct.update(as_ranking(ranking)[:k])
    if len(distinct) > catalogue_size:
        raise ValueError(
            f"{len(distinct)} distinct items recommended but catalogue_size is {catalogue_size}"
        )
    return len(distinct) / catalogue_size


def _jaccard_distance(a: set[str], b: set[str]) -> float:
    union = a | b
    return 1.0 - len(a & b) / len(union) if union else 0.0


def intra_list_diversity(
    ranked: Sequence[str], item_skills: Mapping[str, Collection[str]], k: int
) -> float:
    """Mean pairwise Jaccard distance between the skill sets of the top-k items.

    0 = every item teaches the same skills; 1 = no two share a skill. A list with fewer
    than two items has no pair and scores 0; two items with no skills count as identical.
    """
    k = _check_k(k)
    top = as_ranking(ranked)[:k]
    sets = []
    for item in top:
        if item not in item_skills:
            raise ValueError(f"item {item!r} has no entry in item_skills")
        sets.append(set(item_skills[item]))
    pairs = [
        _jaccard_distance(sets[i], sets[j])
        for i in range(len(sets))
        for j in range(i + 1, len(sets))
    ]
    return float(np.mean(pairs)) if pairs else 0.0


@dataclass(frozen=True)
class LatencySummary:
    """Latency percentiles in seconds (linear interpolation between samples)."""

    n: int
    mean: float
    p50: float
    p95: float
    p99: float
    max: float

    def as_dict(self) -> dict[str, float]:
        return {
            "n": self.n,
            "mean": self.mean,
            "p50": self.p50,
            "p95": self.p95,
            "p99": self.p99,
            "max": self.max,
        }


def latency_summary(seconds: Sequence[float]) -> LatencySummary:
    """p50/p95/p99/mean/max of request latencies; tail percentiles are what users feel."""
    values = np.asarray(list(seconds), dtype=float)
    if values.size == 0:
        raise ValueError("no latency sample given")
    if np.isnan(values).any() or (values < 0).any():
        raise ValueError("latencies must be non-negative numbers")
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return LatencySummary(
        n=int(values.size),
        mean=float(values.mean()),
        p50=float(p50),
        p95=float(p95),
        p99=float(p99),
        max=float(values.max()),
    )
