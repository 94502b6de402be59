"""Research for the relevance ranking: candidate pools, features, a tiny model, CV over cases.

Not packaged. Run (a built home with the four catalogues imported)::

    SKILLPATH_HOME=/tmp/rankhome SKILLPATH_SHARED_DIR=/work/shared HF_HUB_OFFLINE=1 \\
        .venv/bin/python experiments/recommend_tuning.py [--refresh] [--folds 5]

For each development case it builds the candidate pool and the features of every pooled
credential exactly as the engine does (:mod:`skillpath.engine.candidates`, through the
facade's ``relevance_inputs``), caches them, then compares on nDCG@10/@5, P@5 and
unjudged@10:

* dense (typed title) and BM25, the baselines of the bench README;
* single features and a hand-set weighted sum (no tuning: the engine's defaults);
* the weighted sum tuned by coordinate ascent on nDCG@10, cross-validated over cases
  (k-fold, weights learnt on the training folds only), with the fold spread;
* pointwise logistic regression (grade >= 2) and ridge on the gain, cross-validated likewise;
* each with and without the MMR diversity pass.

Unjudged items count 0 (they bias against methods that find new courses); ``--unjudged FILE``
writes the best method's unjudged top-10 items as {case: [credential, ...]} for blind grading.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import numpy as np

from skillpath.engine.relevance import FEATURES, RelevanceWeights, diversify
from skillpath.evaluation.judged import (
    case_metrics,
    fold_grades,
    load_cases,
    load_judgments,
    merge_judgments,
)

BENCH = Path("/work/shared/bench/recommendations")
CACHE = Path("/tmp/rank_features.pkl")
METRICS = ("nDCG@10", "nDCG@5", "P@5", "unjudged@10")
# coordinate ascent's values per weight; title is fixed at 1 (the scale)
GRID: dict[str, list[float]] = {
    "title": [1.0],
    "occupation": [0.0, 0.25, 0.5, 0.75, 1.0],
    "skills": [0.0, 0.25, 0.5, 1.0],
    "bm25": [0.0, 0.05, 0.1, 0.2, 0.3],
    "coverage": [0.0, 0.05, 0.1, 0.2, 0.4],
    "current": [0.0, -0.25, -0.5, -1.0],
    "foreign": [0.0, -0.05, -0.1, -0.2],
    "empty": [0.0, -0.1, -0.3],
}


def gather(service, cases) -> dict:  # noqa: ANN001 - the facade
    """Per case: pool ids, feature matrix, vectors, titles, and the two baselines' lists."""
    from skillpath.engine.recommendation import LearnerProfile, RecommendationRequest
    from skillpath.evaluation.judged import _profile_occupations

    out = {}
    for case in cases:
        request = RecommendationRequest(
            target=case.target,
            profile=LearnerProfile(
                occupations=_profile_occupations(service, case), text=case.text or None
            ),
            k=10,
        )
        inputs = service.recommender.relevance_inputs(request)
        ids = sorted(inputs.features)
        out[case.id] = {
            "ids": ids,
            "X": np.stack([inputs.features[i].vector() for i in ids]),
            "vectors": {i: inputs.vectors[i] for i in ids},
            "titles": {i: inputs.candidates[i].title for i in ids},
            "dense": [c for c, _ in service.catalogue.search(case.target, 10)],
            "bm25": [c for c, _ in service.catalogue.search_bm25(case.target, 10)],
            "coverage": [
                item.id
                for item in service.recommend(
                    request.model_copy(update={"ranking": "coverage"})
                ).ranking.items
            ],
        }
        print(f"  {case.id}: {len(ids)} candidates", file=sys.stderr)
    return out


def rank(data: dict, w: np.ndarray, diversity: float = 0.0, dup: float = 0.97) -> list[str]:
    scores = data["X"] @ w
    scored = [(cid, round(float(s), 9)) for cid, s in zip(data["ids"], scores, strict=True)]
    if diversity <= 0:  # tuning runs: a plain sort (the duplicate check changes little)
        return [c for c, _ in sorted(scored, key=lambda p: (-p[1], p[0]))[:10]]
    return [c for c, _, _ in diversify(scored, data["vectors"], data["titles"], 10, diversity, dup)]


def evaluate(runs: dict, grades: dict, canonical: dict, ids) -> dict:  # noqa: ANN001
    rows = [case_metrics(runs[c], grades.get(c, {}), canonical) for c in ids]
    return {m: float(np.mean([r[m] for r in rows])) for m in METRICS} | {
        "per_case": [r["nDCG@10"] for r in rows]
    }


def mean_ndcg(w, data, grades, canonical, ids, diversity=0.0):  # noqa: ANN001, ANN201
    return float(
        np.mean(
            [
                case_metrics(rank(data[c], w, diversity), grades.get(c, {}), canonical)["nDCG@10"]
                for c in ids
            ]
        )
    )


def coordinate_ascent(data, grades, canonical, ids, start, rounds=2):  # noqa: ANN001, ANN201
    """Weights on a coarse grid, one at a time; title fixed at 1 (the scale)."""
    w = start.copy()
    best = mean_ndcg(w, data, grades, canonical, ids)
    for _ in range(rounds):
        for j, name in enumerate(FEATURES):
            for value in GRID[name]:
                trial = w.copy()
                trial[j] = value
                score = mean_ndcg(trial, data, grades, canonical, ids)
                if score > best + 1e-6:
                    best, w = score, trial
    return w


def pointwise(data, grades, canonical, ids, kind):  # noqa: ANN001, ANN201
    from sklearn.linear_model import LogisticRegression, Ridge

    X, y = [], []
    for c in ids:
        g = fold_grades(grades.get(c, {}), canonical)
        for i, cid in enumerate(data[c]["ids"]):
            if cid in g:  # unjudged items are unknown, not negatives
                X.append(data[c]["X"][i])
                y.append(g[cid])
    X, y = np.asarray(X), np.asarray(y)
    if kind == "logistic":
        model = LogisticRegression(C=1.0, max_iter=1000).fit(X, (y >= 2).astype(int))
        return model.coef_[0]
    model = Ridge(alpha=1.0).fit(X, 2.0**y - 1)
    return model.coef_


def folds_of(ids, k, seed=0):  # noqa: ANN001, ANN201
    order = np.random.default_rng(seed).permutation(len(ids))
    return [[ids[i] for i in order[f::k]] for f in range(k)]


def cross_validate(data, grades, canonical, ids, fit, k, diversity):  # noqa: ANN001, ANN201
    """Runs of held-out cases only, each ranked with weights fitted on the other folds."""
    runs, fold_scores, weights = {}, [], []
    for test in folds_of(ids, k):
        train = [c for c in ids if c not in test]
        w = fit(train)
        weights.append(w)
        for c in test:
            runs[c] = rank(data[c], w, diversity)
        fold_scores.append(
            float(
                np.mean(
                    [case_metrics(runs[c], grades.get(c, {}), canonical)["nDCG@10"] for c in test]
                )
            )
        )
    return runs, fold_scores, np.asarray(weights)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--refresh", action="store_true", help="recompute the cached features")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--extra", type=Path, default=Path("bench/judgments-extra.json"))
    parser.add_argument("--unjudged", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=CACHE, help="feature cache (pickle)")
    args = parser.parse_args()

    from skillpath.engine.service import Skillpath

    cases = load_cases(BENCH / "cases.json")
    files = [("judgments.json", load_judgments(BENCH / "judgments.json"))]
    if args.extra.exists():
        files.append((args.extra.name, load_judgments(args.extra)))
    grades = merge_judgments(files).grades
    service = Skillpath()
    canonical = service.catalogue.canonical_ids()
    if args.cache.exists() and not args.refresh:
        data = pickle.loads(args.cache.read_bytes())
    else:
        data = gather(service, cases)
        args.cache.write_bytes(pickle.dumps(data))
    ids = [c.id for c in cases]
    table: dict[str, dict] = {}
    spread: dict[str, str] = {}
    for name in ("dense", "bm25", "coverage"):
        table[name] = evaluate({c: data[c][name] for c in ids}, grades, canonical, ids)
    for j, name in enumerate(FEATURES[:5]):
        w = np.zeros(len(FEATURES))
        w[j] = 1.0
        table[f"feature {name}"] = evaluate(
            {c: rank(data[c], w) for c in ids}, grades, canonical, ids
        )
    default = RelevanceWeights()
    for div in (0.0, default.diversity):
        table[f"defaults (untuned) mmr={div}"] = evaluate(
            {c: rank(data[c], default.vector(), div) for c in ids}, grades, canonical, ids
        )
    fits = {
        "coord-ascent": lambda tr: coordinate_ascent(data, grades, canonical, tr, default.vector()),
        "logistic": lambda tr: pointwise(data, grades, canonical, tr, "logistic"),
        "ridge": lambda tr: pointwise(data, grades, canonical, tr, "ridge"),
    }
    learnt = {}
    for name, fit in fits.items():
        for div in (0.0, default.diversity):
            runs, fold_scores, weights = cross_validate(
                data, grades, canonical, ids, fit, args.folds, div
            )
            key = f"{name} CV{args.folds} mmr={div}"
            table[key] = evaluate(runs, grades, canonical, ids)
            spread[key] = f"folds {np.mean(fold_scores):.3f} ± {np.std(fold_scores):.3f}"
            learnt[key] = (weights, runs)
    print(f"{'method':34s} " + " ".join(f"{m:>11s}" for m in METRICS) + "  CV spread")
    for name, row in table.items():
        print(
            f"{name:34s} "
            + " ".join(f"{row[m]:11.3f}" for m in METRICS)
            + f"  {spread.get(name, '')}"
        )
    print("\nlearnt weights per fold (" + ", ".join(FEATURES) + "):")
    for key, (weights, _) in learnt.items():
        norm = weights / np.abs(weights[:, :1]).clip(1e-9)
        mean, sd = np.round(norm.mean(0), 3).tolist(), np.round(norm.std(0), 3).tolist()
        print(f"  {key}: mean {mean}  sd {sd}")
    full = coordinate_ascent(data, grades, canonical, ids, default.vector())
    print(f"\ncoordinate ascent on all {len(ids)} cases: {np.round(full, 3).tolist()}")
    if args.unjudged:
        best = max(table, key=lambda k: table[k]["nDCG@10"] if "CV" in k or "defaults" in k else -1)
        runs = (
            learnt[best][1]
            if best in learnt
            else {c: rank(data[c], default.vector(), default.diversity) for c in ids}
        )
        out = {}
        for c in ids:
            g = fold_grades(grades.get(c, {}), canonical)
            missing = [cid for cid in runs[c][:10] if canonical.get(cid, cid) not in g]
            if missing:
                out[c] = missing
        args.unjudged.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
        print(f"\n{sum(map(len, out.values()))} unjudged items of '{best}' -> {args.unjudged}")


if __name__ == "__main__":
    main()
