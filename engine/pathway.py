"""A learning pathway: a few credentials that cover as much of the gap as the budget allows.

Objective: the weighted coverage ``f(S) = sum_g r_g * max_{c in S} cov(c, g)`` of
:mod:`skillpath.engine.ranking`, normalised by the gap's remaining weight.

Selection (budgeted maximum coverage; Khuller, Moss & Naor 1999)
    1. *Ratio greedy*: repeatedly add the credential with the largest marginal gain per unit of
       cost that still fits the remaining budget (skipping those that do not fit), until nothing
       adds coverage or ``max_items`` is reached.
    2. *Best single*: the affordable credential with the largest coverage, then extended by the
       same greedy (the extension can only help).
    3. *Gain greedy*: with a budget, the same greedy by marginal gain alone (the rule that is
       right when ``max_items`` binds before the budget: six one-hour projects otherwise beat
       one substantial course on gain per cost and leave most of the budget unspent).
    The best of these is returned (ties: the cheaper, then fewer credentials, then this
    order). Guarantee: at least
    ``(1 - 1/e) / 2 ≈ 0.32`` of the optimum within the budget. The ``1 - 1/e`` variant needs
    partial enumeration of all *triples* as seeds (O(n^3) greedy runs): too slow for ~200
    candidates in pure Python, not implemented. Without a budget, only ``max_items`` binds and
    the plain greedy is a ``1 - 1/e`` approximation (Nemhauser, Wolsey & Fisher 1978). With a
    budget *and* a binding ``max_items``, or with both an ECTS and an hours budget (cost = the
    larger budget share, a heuristic for a two-dimensional knapsack), no bound is claimed; the
    result's ``guarantee`` says which case applied.

Relevance: with ``relevance`` (credential id -> weight in [0, 1], the relevance ranking's score
over the pool's best) a credential's coverage counts in proportion to it when choosing, so the
pathway spends the budget on the courses most relevant to the target job rather than on any
course whose skill links touch the gap; the reported coverage is the plain one. The objective
stays a weighted maximum coverage (submodular), so the guarantees below still hold for it.

Cost: the credential's share of the budget (ECTS and/or hours, using the conservative
conversions of :mod:`skillpath.engine.ranking`). A free-of-workload
credential (0 ECTS) has a tiny cost.

Unknown workload: with a budget set, credentials whose workload is unknown are *excluded* from
the pathway (the budget could not be guaranteed), and reported in ``excluded`` with the reason
``"unknown workload: budget not checkable"``. Without a budget they may be chosen; the totals
then count only stated workloads and ``unknown_workload`` lists the others.

Order of the steps: EQF level ascending (unknown after known), then provider level text
(Beginner < Intermediate < Advanced; unknown or other text sits with Intermediate), then
standalone coverage descending, then id. Each step reports its gain given the steps before it
and the cumulative coverage (weighted, and essential-only).

API::

    build_pathway(gap, candidates, constraints=None, neighbours=None, max_items=6,
                  relevance=None) -> Pathway
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from skillpath.engine.gap import Gap, GapSkill
from skillpath.engine.ranking import (
    Candidate,
    Constraints,
    Coverage,
    CoveredSkill,
    Excluded,
    constraint_conflicts,
    coverage_value,
    covered_skills,
    ects_estimate,
    filter_candidates,
    hours_estimate,
    marginal_gain,
    relevant_candidates,
)

__all__ = ["Pathway", "PathwayStep", "build_pathway", "level_text_rank"]

Neighbours = Mapping[str, Sequence[tuple[str, float]]]

_TOL = 1e-9
_MIN_COST = 1e-9  # a 0-ECTS credential is nearly free, not infinitely good

GUARANTEE_BUDGET = (
    "budgeted greedy (gain per cost) vs best single credential: at least (1-1/e)/2 ≈ 0.32 of "
    "the best coverage within the budget (Khuller, Moss & Naor 1999); the 1-1/e variant "
    "(partial enumeration of triples) is not implemented"
)
GUARANTEE_CARDINALITY = (
    "no budget: greedy under max_items, at least 1-1/e ≈ 0.63 of the best coverage with that "
    "many credentials (Nemhauser, Wolsey & Fisher 1978)"
)
GUARANTEE_NONE = (
    "heuristic: budgeted greedy vs best single credential; no bound is claimed because {why}"
)


def level_text_rank(text: str | None) -> int:
    """Beginner 0 < Intermediate 1 < Advanced 2; unknown or other wording counts as 1."""
    t = (text or "").casefold()
    if any(w in t for w in ("beginner", "introductory", "foundation", "basic")):
        return 0
    if any(w in t for w in ("advanced", "expert")):
        return 2
    return 1


class PathwayStep(BaseModel):
    """One credential of the pathway, in learning order, with the coverage reached after it."""

    model_config = ConfigDict(frozen=True)

    position: int
    id: str
    title: str
    url: str | None = None
    ects: float | None = None
    hours: float | None = None
    ects_estimate: float | None = None
    hours_estimate: float | None = None
    eqf_level: int | None = None
    level_text: str | None = None
    gain: float
    cumulative_coverage: float
    cumulative_essential_coverage: float
    covered: list[CoveredSkill]
    flags: list[str] = Field(default_factory=list)


class Pathway(BaseModel):
    """The chosen credentials in order, totals, reached coverage and what stays uncovered.

    ``total_ects``/``total_hours`` add the stated workloads, or the conservative estimate from
    the other unit when only one is stated; credentials with no workload at all are listed in
    ``unknown_workload`` instead. ``skill_coverage`` is the best coverage per gap skill;
    ``uncovered`` the gap skills no step covers at all.
    """

    model_config = ConfigDict(frozen=True)

    occupation_uri: str
    occupation_label: str
    steps: list[PathwayStep]
    coverage: float = 0.0
    essential_coverage: float = 0.0
    total_ects: float = 0.0
    total_hours: float = 0.0
    unknown_workload: list[str] = Field(default_factory=list)
    skill_coverage: dict[str, float] = Field(default_factory=dict)
    uncovered: list[GapSkill] = Field(default_factory=list)
    excluded: list[Excluded] = Field(default_factory=list)
    excluded_counts: dict[str, int] = Field(default_factory=dict)
    method: Literal["greedy", "best_single", "gain_greedy", "none"] = "none"
    guarantee: str = ""
    reason_if_empty: str | None = None


class _Item:
    """A relevant candidate with its coverage and cost (internal)."""

    __slots__ = ("c", "cov", "sel", "cost", "ects", "hours", "standalone")

    def __init__(
        self, c: Candidate, cov: dict[str, Coverage], k: Constraints, weight: float, gap: Gap
    ) -> None:
        self.c, self.cov = c, cov
        # what the selection counts: coverage in proportion to relevance (1: all of it)
        self.sel = (
            cov
            if weight >= 1.0
            else {u: dataclasses.replace(e, amount=e.amount * weight) for u, e in cov.items()}
        )
        self.standalone = marginal_gain(self.sel, {}, gap)
        self.ects, self.hours = ects_estimate(c), hours_estimate(c)
        shares = []
        if k.budget_ects is not None and self.ects is not None:
            shares.append(self.ects / k.budget_ects)
        if k.budget_hours is not None and self.hours is not None:
            shares.append(self.hours / k.budget_hours)
        self.cost = max(max(shares, default=0.0), _MIN_COST)


def _fits(item: _Item, used_ects: float, used_hours: float, k: Constraints) -> bool:
    if k.budget_ects is not None and used_ects + (item.ects or 0.0) > k.budget_ects + _TOL:
        return False
    return not (
        k.budget_hours is not None and used_hours + (item.hours or 0.0) > k.budget_hours + _TOL
    )


def _greedy(
    items: list[_Item],
    seed: list[_Item],
    gap: Gap,
    k: Constraints,
    max_items: int,
    by_ratio: bool = True,
) -> tuple[list[_Item], bool]:
    """Greedy from ``seed`` by gain per cost (or gain alone); returns (chosen, whether
    max_items cut it short)."""
    chosen = list(seed)
    best: dict[str, float] = {}
    for it in chosen:
        for uri, e in it.sel.items():
            best[uri] = max(best.get(uri, 0.0), e.amount)
    used_e = sum(it.ects or 0.0 for it in chosen)
    used_h = sum(it.hours or 0.0 for it in chosen)
    taken = {it.c.id for it in chosen}
    while True:
        pick, pick_key = None, None
        for it in items:  # sorted by id: the first of equal keys wins
            if it.c.id in taken or not _fits(it, used_e, used_h, k):
                continue
            gain = marginal_gain(it.sel, best, gap)
            if gain <= 0.0:
                continue
            key = (gain / it.cost, gain) if by_ratio else (gain, -it.cost)
            if pick_key is None or key > pick_key:
                pick, pick_key = it, key
        if pick is None:
            return chosen, False
        if len(chosen) >= max_items:
            return chosen, True
        chosen.append(pick)
        taken.add(pick.c.id)
        used_e += pick.ects or 0.0
        used_h += pick.hours or 0.0
        for uri, e in pick.sel.items():
            best[uri] = max(best.get(uri, 0.0), e.amount)


def _value(chosen: Sequence[_Item], gap: Gap) -> float:
    best: dict[str, float] = {}
    for it in chosen:
        for uri, e in it.sel.items():
            best[uri] = max(best.get(uri, 0.0), e.amount)
    return _marginal_total(best, gap)


def _marginal_total(best: Mapping[str, float], gap: Gap) -> float:
    return sum(g.remaining_weight * best.get(g.uri, 0.0) for g in gap.skills)


def _order_key(it: _Item) -> tuple[float, int, float, str]:
    eqf = it.c.eqf_level if it.c.eqf_level is not None else math.inf
    return (eqf, level_text_rank(it.c.level_text), -it.standalone, it.c.id)


def build_pathway(
    gap: Gap,
    candidates: Iterable[Candidate],
    constraints: Constraints | None = None,
    neighbours: Neighbours | None = None,
    max_items: int = 6,
    relevance: Mapping[str, float] | None = None,
) -> Pathway:
    """Choose and order credentials within the budget; see the module docstring."""
    k = constraints or Constraints()
    candidates = list(candidates)
    base = {"occupation_uri": gap.occupation_uri, "occupation_label": gap.occupation_label}

    def empty(reason: str, **extra: object) -> Pathway:
        return Pathway(
            **base,
            steps=[],
            uncovered=list(gap.skills),
            skill_coverage={g.uri: 0.0 for g in gap.skills},
            reason_if_empty=reason,
            **extra,  # type: ignore[arg-type]
        )

    conflicts = constraint_conflicts(k)
    if max_items < 1:
        conflicts.append(f"max_items is {max_items}: no credential may be chosen")
    if conflicts:
        return empty("contradictory constraints: " + "; ".join(conflicts))
    filtered = filter_candidates(candidates, k, require_workload=True)
    extra: dict[str, object] = {
        "excluded": filtered.excluded,
        "excluded_counts": filtered.excluded_counts,
    }
    if not gap.skills:
        return empty(gap.reason_if_empty or "the gap is empty", **extra)
    if not candidates:
        return empty("no candidate credentials were given", **extra)
    if not filtered.kept:
        counts = ", ".join(f"{key}: {n}" for key, n in sorted(filtered.excluded_counts.items()))
        return empty(f"all {len(candidates)} candidates were filtered out ({counts})", **extra)
    relevant, irrelevant = relevant_candidates(gap, filtered.kept, neighbours)
    if irrelevant:
        extra["excluded"] = sorted(filtered.excluded + irrelevant, key=lambda e: e.id)
        extra["excluded_counts"] = {**filtered.excluded_counts, "no gap coverage": len(irrelevant)}
    if not relevant:
        return empty(
            f"none of the {len(filtered.kept)} remaining credentials teaches a gap skill", **extra
        )

    def weight(cid: str) -> float:
        if relevance is None:
            return 1.0
        return min(max(float(relevance.get(cid, 0.0)), 0.0), 1.0)

    total = gap.remaining_weight
    items = [_Item(c, cov, k, weight(c.id), gap) for c, cov in relevant]
    items = [it for it in items if it.standalone > 0.0]  # weight 0: not relevant at all
    if not items:
        return empty("none of the remaining credentials is relevant to the target", **extra)
    # Every kept credential fits the budget on its own (the filter checked it).
    single = max(items, key=lambda it: it.standalone)  # first (smallest id) on ties
    from_empty, cut_a = _greedy(items, [], gap, k, max_items)
    from_single, cut_b = _greedy(items, [single], gap, k, max_items)
    options = [
        (_value(from_empty, gap), "greedy", from_empty, cut_a),
        (_value(from_single, gap), "best_single", from_single, cut_b),
    ]
    if k.has_budget:
        by_gain, cut_c = _greedy(items, [], gap, k, max_items, by_ratio=False)
        options.append((_value(by_gain, gap), "gain_greedy", by_gain, cut_c))
    # Best value, then the cheaper, then fewer credentials; min() keeps the first on a full tie.
    value, method, chosen, cut = min(
        options, key=lambda o: (-round(o[0], 9), round(sum(it.cost for it in o[2]), 9), len(o[2]))
    )

    has_budget = k.has_budget
    if not has_budget:
        guarantee = GUARANTEE_CARDINALITY
    elif k.budget_ects is not None and k.budget_hours is not None:
        guarantee = GUARANTEE_NONE.format(why="both an ECTS and an hours budget are set")
    elif cut:
        guarantee = GUARANTEE_NONE.format(why=f"max_items={max_items} also limited the choice")
    else:
        guarantee = GUARANTEE_BUDGET

    steps: list[PathwayStep] = []
    best: dict[str, float] = {}
    flags = filtered.flags
    for position, it in enumerate(sorted(chosen, key=_order_key), start=1):
        gain = marginal_gain(it.cov, best, gap) / total
        covered = covered_skills(it.cov, best, gap)
        for uri, e in it.cov.items():
            best[uri] = max(best.get(uri, 0.0), e.amount)
        steps.append(
            PathwayStep(
                position=position,
                id=it.c.id,
                title=it.c.title,
                url=it.c.url,
                ects=it.c.ects,
                hours=it.c.hours,
                ects_estimate=it.ects,
                hours_estimate=it.hours,
                eqf_level=it.c.eqf_level,
                level_text=it.c.level_text,
                gain=gain,
                cumulative_coverage=coverage_value(best, gap),
                cumulative_essential_coverage=coverage_value(best, gap, "essential"),
                covered=covered,
                flags=list(flags.get(it.c.id, [])),
            )
        )
    return Pathway(
        **base,
        steps=steps,
        coverage=coverage_value(best, gap),
        essential_coverage=coverage_value(best, gap, "essential"),
        total_ects=sum(it.ects for it in chosen if it.ects is not None),
        total_hours=sum(it.hours for it in chosen if it.hours is not None),
        unknown_workload=sorted(it.c.id for it in chosen if it.ects is None),
        skill_coverage={g.uri: best.get(g.uri, 0.0) for g in gap.skills},
        uncovered=[g for g in gap.skills if best.get(g.uri, 0.0) <= 0.0],
        method=method,
        guarantee=guarantee,
        **extra,  # type: ignore[arg-type]
    )
