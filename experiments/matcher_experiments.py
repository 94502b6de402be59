"""Matcher experiments that did not ship, kept runnable so their numbers can be reproduced.

    python experiments/matcher_experiments.py rerank      # gradient-boosted re-ranker
    python experiments/matcher_experiments.py desc-pairs  # adapter + ESCO desc pairs
    python experiments/matcher_experiments.py titles      # job titles: MiniLM, e5, blends

Both learn on SkillSkape train only and score the three development splits with the WorkRB
protocol (RP@5 / RP@10 / MRR), the shipped method in the same run as the reference.

``rerank``: a gradient-boosted classifier (scikit-learn ``HistGradientBoostingClassifier``)
over the shipped fusion's five features re-orders the top 100 candidates of the shipped
logistic fusion; it can model interactions (e.g. lexical overlap matters more when the
dense score is middling) that a linear fusion cannot.

``desc-pairs``: the query adapter trained on SkillSkape train plus one (ESCO description ->
its skill) pair per skill, i.e. ESCO's own texts as extra supervision (the issue's
suggestion). Scored as adapter + preferred-label cosine (the adapter's own effect) against
the adapter trained on SkillSkape alone.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from skillpath.engine.service import Skillpath
from skillpath.evaluation.benchmarks import (
    default_skill_splits,
    gold_uris,
    load_skill_benchmark,
)
from skillpath.evaluation.metrics import evaluate_rankings
from skillpath.evaluation.train_matcher import (
    ADAPTER,
    FEATURES,
    Member,
    feature_rows,
    out_of_fold,
    training_set,
)
from skillpath.models.adapter import train_adapter

RERANK_DEPTH = 100


def _split(service: Skillpath, path, name):
    skills = service.taxonomy.skills
    bench = load_skill_benchmark(path, [s.preferred_label for s in skills], name)
    label_to_uri = {s.preferred_label: s.uri for s in skills}
    gold = gold_uris(bench, label_to_uri)
    texts = [q.text for q in bench.queries]
    vectors = service.embedding_cache.encode(service.encoder, texts, "query")
    return bench, texts, vectors, gold


def _score(scores: np.ndarray, qids, uris, gold) -> dict[str, float]:
    runs = {}
    for qid, row in zip(qids, scores, strict=True):
        order = np.lexsort((np.arange(len(row)), -row))
        runs[qid] = [uris[i] for i in order[:100]]
    got = evaluate_rankings(runs, gold, ks=(5, 10))
    return {k: round(100 * float(got[k]), 1) for k in ("RP@5", "RP@10", "MRR")}


def _print(rows: dict[str, dict[str, dict[str, float]]]) -> None:
    splits = list(next(iter(rows.values())))
    print("| method | " + " | ".join(splits) + " |")
    print("|---|" + "---|" * len(splits))
    for method, per_split in rows.items():
        cells = [
            " / ".join(f"{per_split[s][m]:.1f}" for m in ("RP@5", "RP@10", "MRR")) for s in splits
        ]
        print(f"| {method} | " + " | ".join(cells) + " |")


def rerank(service: Skillpath, seed: int = 0) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    shipped = service.matching.skill_matcher
    plain = replace(shipped, config=replace(shipped.config, use_artifact=False))
    texts, gold, vectors = training_set(service)
    folds = np.random.default_rng(seed).integers(0, 2, len(texts))
    adapted = out_of_fold(vectors, gold, plain.preferred_vectors, folds, seed)
    x, y, _, names = feature_rows([Member("", plain, vectors, adapted, FEATURES)], texts, gold)
    linear = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    boosted = HistGradientBoostingClassifier(
        max_iter=300, learning_rate=0.05, max_leaf_nodes=31, random_state=seed
    ).fit(x, y)
    print(f"trained on {len(x):,} rows ({time.perf_counter() - started:.0f}s)")

    uris = [s.uri for s in service.taxonomy.skills]
    rows: dict[str, dict[str, dict[str, float]]] = {"shipped logistic fusion": {}}
    rows["logistic refit (same rows)"] = {}
    rows[f"gradient boosting re-ranks top {RERANK_DEPTH}"] = {}
    for name, path in default_skill_splits(service.settings.shared_dir).items():
        bench, q_texts, q_vectors, gold_sets = _split(service, path, name)
        qids = [q.qid for q in bench.queries]
        feats = shipped.features(q_vectors, q_texts, names)
        stacked = np.stack([feats[f] for f in names], axis=2)  # queries x skills x features
        shipped_scores = shipped.fusion.logit(feats)
        refit = stacked @ linear.coef_[0] + linear.intercept_[0]
        reranked = shipped_scores.copy()
        for i in range(len(qids)):
            top = np.argpartition(-shipped_scores[i], RERANK_DEPTH)[:RERANK_DEPTH]
            proba = boosted.predict_proba(stacked[i, top])[:, 1]
            reranked[i, top] = 1000.0 + proba  # the re-ranked head stays above the rest
        rows["shipped logistic fusion"][name] = _score(shipped_scores, qids, uris, gold_sets)
        rows["logistic refit (same rows)"][name] = _score(refit, qids, uris, gold_sets)
        rows[f"gradient boosting re-ranks top {RERANK_DEPTH}"][name] = _score(
            reranked, qids, uris, gold_sets
        )
    _print(rows)
    print(f"({time.perf_counter() - started:.0f}s)")


def desc_pairs(service: Skillpath, seed: int = 0) -> None:
    from skillpath.engine.taxonomy_index import skill_description_text

    started = time.perf_counter()
    matcher = service.matching.skill_matcher
    targets = matcher.preferred_vectors
    texts, gold, vectors = training_set(service)
    skills = service.taxonomy.skills
    with_desc = [i for i, s in enumerate(skills) if s.description]
    desc_texts = [skill_description_text(skills[i]) for i in with_desc]
    desc_vectors = service.embedding_cache.encode(service.encoder, desc_texts, "query")
    print(f"{len(texts):,} SkillSkape sentences + {len(with_desc):,} ESCO description pairs")
    base = train_adapter(vectors, gold, targets, seed=seed, **ADAPTER)
    mixed = train_adapter(
        np.vstack([vectors, desc_vectors]),
        [*gold, *[[i] for i in with_desc]],
        targets,
        seed=seed,
        **ADAPTER,
    )
    print(f"adapters trained ({time.perf_counter() - started:.0f}s)")
    uris = [s.uri for s in skills]
    rows: dict[str, dict[str, dict[str, float]]] = {
        "adapter (SkillSkape train), preferred cosine": {},
        "adapter (train + ESCO descriptions), preferred cosine": {},
    }
    for name, path in default_skill_splits(service.settings.shared_dir).items():
        bench, _, q_vectors, gold_sets = _split(service, path, name)
        qids = [q.qid for q in bench.queries]
        for label, adapter in zip(rows, (base, mixed), strict=True):
            rows[label][name] = _score(adapter.apply(q_vectors) @ targets.T, qids, uris, gold_sets)
    _print(rows)
    print(f"({time.perf_counter() - started:.0f}s)")


def titles(service: Skillpath, seed: int = 0) -> None:
    """Job titles: MiniLM's shipped scorer, e5's, and their average with a few weights."""
    from skillpath.evaluation.benchmarks import default_title_split, load_title_benchmark
    from skillpath.evaluation.metrics import evaluate_title_rankings

    started = time.perf_counter()
    e5 = service.with_encoder("e5")
    path = default_title_split(service.settings.shared_dir)
    bench = load_title_benchmark(path, [o.uri for o in service.taxonomy.occupations])
    queries = list(bench.queries)
    titles_ = [q.title for q in queries]
    scores = {}
    for name, sp in (("minilm", service), ("e5", e5)):
        vectors = sp.matching.encode_queries(titles_, cache=True)
        scores[name] = sp.matching.occupation_matcher.score_titles(titles_, "final", vectors)
    uris = [o.uri for o in service.taxonomy.occupations]
    gold = {q.qid: q.occupation_uri for q in queries}
    print("| MiniLM weight (e5 = 1 - w) | MRR | R@1 | R@5 | R@10 |\n|---|---|---|---|---|")
    for w in (1.0, 0.7, 0.6, 0.5, 0.4, 0.3, 0.0):
        blended = w * scores["minilm"] + (1 - w) * scores["e5"]
        runs = {}
        for q, row in zip(queries, blended, strict=True):
            runs[q.qid] = [uris[i] for i in np.lexsort((np.arange(len(row)), -row))[:100]]
        got = evaluate_title_rankings(runs, gold, ks=(1, 5, 10))
        print(
            f"| {w:.1f} | {got['MRR']:.3f} | "
            + " | ".join(f"{100 * got[f'R@{k}']:.1f}" for k in (1, 5, 10))
            + " |"
        )
    print(f"({time.perf_counter() - started:.0f}s)")


def main() -> None:  # pragma: no cover - script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=("rerank", "desc-pairs", "titles"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    service = Skillpath()
    run = {"rerank": rerank, "desc-pairs": desc_pairs, "titles": titles}[args.experiment]
    run(service, args.seed)


if __name__ == "__main__":  # pragma: no cover
    main()
