"""Train the shipped skill-matcher artefact: query adapter + fusion model + threshold.

Learns on SkillSkape **train** only (the README: dev and validation splits are for choosing,
never for training):

1. A residual linear query adapter (:func:`skillpath.models.adapter.train_adapter`) maps sentence
   vectors towards the preferred-label vectors of the skills they mention.
2. A logistic fusion model over per-(sentence, skill) features. Its rows must not see an
   adapter trained on the same sentences (the adapted cosines would look too good and get
   too much weight), so the adapted features of the training rows are *out of fold*: two
   adapters, each trained on one half and applied to the other.
3. The "mentioned" rule (threshold and per-statement cap) that maximises micro-F1 on the
   training sentences.

Run: ``python -m skillpath.evaluation.train_matcher`` (a few minutes on two cores; query vectors go
through the embedding cache, so a rerun re-encodes nothing). Writes
``skills-<encoder>.npz`` into ``--out`` or ``$SKILLPATH_HOME/artifacts`` (never into the
installed package); the engine reads artefacts there before the shipped ones in
``models/artifacts/`` (copy one there to ship it).

``--partner e5`` trains an *ensemble* fusion instead: the features above from the main
encoder plus the adapted features of the partner encoder (read as ``"e5:<feature>"``, its
own adapter, out of fold as well), written to ``skills-<encoder>+<partner>.npz``. The
partner's own artefact must exist first (``SKILLPATH_ENCODER=e5 python -m
evaluation.train_matcher``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from skillpath.engine.matching import SkillMatcher
from skillpath.engine.service import Skillpath
from skillpath.evaluation.benchmarks import (
    SKILLSKAPE_TRAIN,
    default_shared_dir,
    load_skill_benchmark,
)
from skillpath.evaluation.metrics import best_threshold
from skillpath.models.adapter import FusionModel, MatcherArtifact, artifact_path, train_adapter

FEATURES: tuple[str, ...] = (
    "preferred_adapted",
    "label_adapted",
    "description_adapted",
    "lexical",
    "prior",
)
PARTNER_FEATURES: tuple[str, ...] = (
    "preferred_adapted",
    "label_adapted",
    "description_adapted",
)
ADAPTER = {"epochs": 10, "lr": 1e-3, "weight_decay": 1e-2, "temperature": 0.05}
CANDIDATES = 100  # rows per sentence for the fusion model: its top candidates + its gold
CAPS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Member:
    """One encoder's part of the training rows: its matcher, vectors and features."""

    prefix: str  # "" for the main encoder, "e5:" for a partner
    matcher: SkillMatcher
    vectors: np.ndarray
    adapted: np.ndarray  # out-of-fold adapted vectors
    features: tuple[str, ...]


def feature_rows(
    members: Sequence[Member], texts: Sequence[str], gold: Sequence[Sequence[int]]
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], tuple[str, ...]]:
    """Feature rows (candidates + gold of every sentence), labels, candidate ids per sentence
    and the feature names, in column order."""
    names = tuple(m.prefix + f for m in members for f in m.features)
    xs, ys, cands = [], [], []
    for start in range(0, len(texts), 256):
        part = slice(start, start + 256)
        feats: dict[str, np.ndarray] = {}
        for m in members:
            got = m.matcher.features(m.vectors[part], texts[part], m.features, m.adapted[part])
            feats.update({m.prefix + f: v for f, v in got.items()})
        # Candidates: the top of the adapted dense scores (+ lexical), summed over members.
        base = sum(
            feats[m.prefix + f]
            for m in members
            for f in ("preferred_adapted", "label_adapted", "lexical")
            if f in m.features
        )
        for j in range(base.shape[0]):
            positives = np.asarray(gold[start + j], dtype=np.int64)
            cand = np.union1d(np.argpartition(-base[j], CANDIDATES)[:CANDIDATES], positives)
            xs.append(np.stack([feats[f][j, cand] for f in names], axis=1))
            ys.append(np.isin(cand, positives))
            cands.append(cand)
    return np.concatenate(xs), np.concatenate(ys), cands, names


def out_of_fold(
    vectors: np.ndarray,
    gold: Sequence[Sequence[int]],
    targets: np.ndarray,
    folds: np.ndarray,
    seed: int,
) -> np.ndarray:
    """Adapted vectors where each half comes from an adapter trained on the other half."""
    adapted = np.empty_like(vectors)
    for k in (0, 1):
        inside = np.flatnonzero(folds != k)
        fold_adapter = train_adapter(
            vectors[inside], [gold[i] for i in inside], targets, seed=seed, **ADAPTER
        )
        adapted[folds == k] = fold_adapter.apply(vectors[folds == k])
    return adapted


def training_set(service: Skillpath) -> tuple[list[str], list[list[int]], np.ndarray]:
    """SkillSkape train: sentences, gold skill positions, query vectors (via the cache)."""
    path = service.settings.shared_dir / SKILLSKAPE_TRAIN
    if not path.exists():
        path = default_shared_dir() / SKILLSKAPE_TRAIN
    position = {s.preferred_label: i for i, s in enumerate(service.taxonomy.skills)}
    bench = load_skill_benchmark(path, list(position), "skillskape_train")
    texts = [q.text for q in bench.queries]
    gold = [[position[g] for g in q.gold] for q in bench.queries]
    return texts, gold, service.embedding_cache.encode(service.encoder, texts, "query")


def train(
    service: Skillpath,
    seed: int = 0,
    log=print,
    features: Sequence[str] = FEATURES,
    partner: Skillpath | None = None,
    partner_features: Sequence[str] = PARTNER_FEATURES,
) -> MatcherArtifact:
    """Train the artefact of ``service``'s encoder, or of the ensemble with ``partner``."""
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    base = service.matching.skill_matcher
    matcher = replace(base, config=replace(base.config, use_artifact=False))
    texts, gold, vectors = training_set(service)
    log(f"{len(texts)} training sentences, {sum(map(len, gold))} pairs")

    targets = matcher.preferred_vectors
    folds = np.random.default_rng(seed).integers(0, 2, len(texts))
    adapted = out_of_fold(vectors, gold, targets, folds, seed)
    log(f"fold adapters trained ({time.perf_counter() - started:.0f}s)")
    adapter = train_adapter(vectors, gold, targets, seed=seed, **ADAPTER)
    log(f"full adapter trained ({time.perf_counter() - started:.0f}s)")
    members = [Member("", matcher, vectors, adapted, tuple(features))]
    name = service.encoder.name
    if partner is not None:
        other = partner.matching.skill_matcher
        if other.adapter is None:
            raise SystemExit(
                f"the {partner.encoder.name} artefact is missing: train it first "
                f"(SKILLPATH_ENCODER={partner.encoder.name} "
                "python -m skillpath.evaluation.train_matcher)"
            )
        other_vectors = partner.embedding_cache.encode(partner.encoder, texts, "query")
        other_adapted = out_of_fold(other_vectors, gold, other.preferred_vectors, folds, seed)
        log(f"{partner.encoder.name} fold adapters trained ({time.perf_counter() - started:.0f}s)")
        prefix = f"{partner.encoder.name}:"
        members.append(Member(prefix, other, other_vectors, other_adapted, tuple(partner_features)))
        name = f"{name}+{partner.encoder.name}"

    x, y, cands, names = feature_rows(members, texts, gold)
    model = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    weights = tuple(float(w) for w in model.coef_[0])
    bias = float(model.intercept_[0])
    log("fusion weights: " + ", ".join(f"{f}={w:.2f}" for f, w in zip(names, weights, strict=True)))

    # The set predictor: per sentence the top `cap` candidates, kept if p >= threshold.
    probs = 1.0 / (1.0 + np.exp(-(x @ model.coef_[0] + bias)))
    gold_sets = {str(i): {int(g) for g in gold[i]} for i in range(len(texts))}
    best = None
    offset = 0
    per_query: list[tuple[np.ndarray, np.ndarray]] = []
    for cand in cands:
        per_query.append((cand, probs[offset : offset + len(cand)]))
        offset += len(cand)
    for cap in CAPS:
        scored = {}
        for i, (cand, p) in enumerate(per_query):
            top = np.argsort(-p, kind="stable")[:cap]
            scored[str(i)] = [(int(cand[t]), float(p[t])) for t in top]
        choice = best_threshold(scored, gold_sets)
        log(f"cap {cap}: threshold {choice.threshold:.3f} F1 {choice.f1:.3f}")
        if best is None or choice.f1 > best[1].f1 + 1e-9:
            best = (cap, choice)
    assert best is not None
    cap, choice = best
    fusion = FusionModel(names, weights, bias, threshold=choice.threshold, top_k=cap)
    info = {
        "trained_on": "SkillSkape train (WorkRB protocol)",
        "sentences": len(texts),
        "adapter": ADAPTER,
        "candidates": CANDIDATES,
        "train_f1": round(choice.f1, 4),
        "seed": seed,
    }
    return MatcherArtifact(name, fusion, adapter, info)


def main() -> None:  # pragma: no cover - script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--features",
        default=",".join(FEATURES),
        help="comma-separated features of the main encoder (e.g. drop 'lexical' for e5)",
    )
    parser.add_argument("--partner", help="train the ensemble with this second encoder (e5)")
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for the artefact (default: $SKILLPATH_HOME/artifacts, read before the "
        "shipped ones; copy it into models/artifacts/ to ship it)",
    )
    args = parser.parse_args()
    service = Skillpath()
    partner = service.with_encoder(args.partner) if args.partner else None
    features = tuple(f.strip() for f in args.features.split(",") if f.strip())
    artifact = train(service, args.seed, features=features, partner=partner)
    out = args.out or service.settings.artifacts_dir
    path = artifact.save(out / artifact_path("skills", artifact.encoder).name)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":  # pragma: no cover
    main()
