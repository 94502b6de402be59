"""Skill-extraction benchmark runner: the WorkRB protocol over the skill matcher.

Rankings come from the facade (``sp.matching.rank_skills_batch``), so the numbers measure
exactly what the engine serves. Every run scores the shipped method and the zero-shot baseline
(MiniLM, best label variant, nothing learned) side by side, so a number is never read without
its reference. The set predictor (``sp.matching.extract_skills_batch`` with its shipped
threshold) is scored too: micro precision/recall/F1 over (sentence, skill) pairs.

Protocol (``bench/README.md``): queries grouped by raw sentence, labels kept only if they are
ESCO preferred labels, every query ranks all ESCO skills; RP@5, RP@10, MRR.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from skillpath.engine.service import Skillpath
from skillpath.evaluation.benchmarks import (
    default_shared_dir,
    default_skill_splits,
    gold_uris,
    load_skill_benchmark,
)
from skillpath.evaluation.metrics import evaluate_rankings, micro_prf

METHODS: tuple[str, ...] = ("zero-shot", "final")


@dataclass(frozen=True)
class Extraction:
    precision: float
    recall: float
    f1: float
    threshold: float
    top_k: int
    predicted_pairs: int


@dataclass
class SkillSplitResult:
    """Scores of each method on one benchmark file, with the protocol's counts."""

    name: str
    path: str
    queries: int
    gold_pairs: int
    labels_dropped: int
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    """method -> {"RP@5", "RP@10", "MRR"} (fractions in [0, 1])."""
    extraction: Extraction | None = None
    seconds: float = 0.0


def evaluate_skill_file(
    service: Skillpath,
    path: Path,
    name: str | None = None,
    methods: Sequence[str] = METHODS,
    extraction: bool = True,
    limit: int | None = None,
) -> SkillSplitResult:
    """Score ``methods`` (and the set predictor) on one file in either benchmark format."""
    started = time.perf_counter()
    skills = service.taxonomy.skills
    bench = load_skill_benchmark(Path(path), [s.preferred_label for s in skills], name)
    queries = bench.queries[:limit] if limit else bench.queries
    label_to_uri = {s.preferred_label: s.uri for s in skills}
    gold = {q: g for q, g in gold_uris(bench, label_to_uri).items()}
    gold = {q.qid: gold[q.qid] for q in queries}
    texts = [q.text for q in queries]
    result = SkillSplitResult(
        name=bench.name,
        path=str(path),
        queries=len(queries),
        gold_pairs=sum(len(g) for g in gold.values()),
        labels_dropped=bench.labels_dropped,
    )
    # Encoded once for every method; benchmark texts may live in the embedding cache.
    vectors = service.matching.encode_queries(texts, cache=True)
    for method in methods:
        runs: dict[str, list[str]] = {}
        for start in range(0, len(texts), 512):  # bounded memory: 512 full rankings at once
            rankings = service.matching.rank_skills_batch(
                texts[start : start + 512], method, vectors[start : start + 512]
            )
            for query, ranking in zip(queries[start : start + 512], rankings, strict=True):
                runs[query.qid] = ranking.uris()
        scores = evaluate_rankings(runs, gold, ks=(5, 10))
        result.scores[method] = {k: float(scores[k]) for k in ("RP@5", "RP@10", "MRR")}
    if extraction:
        found = service.matching.extract_skills_batch(texts)
        predicted = {q.qid: set(e.uris) for q, e in zip(queries, found, strict=True)}
        p, r, f = micro_prf(predicted, gold)
        matcher = service.matching.skill_matcher
        result.extraction = Extraction(
            precision=p,
            recall=r,
            f1=f,
            threshold=matcher.threshold,
            top_k=matcher.config.top_k or matcher.fusion.top_k,
            predicted_pairs=sum(len(v) for v in predicted.values()),
        )
    result.seconds = time.perf_counter() - started
    return result


def default_files(shared_dir: Path | None = None) -> dict[str, Path]:
    """The three development splits: TECH and HOUSE validation, SkillSkape dev."""
    return default_skill_splits(shared_dir or default_shared_dir())


def macro_average(results: Sequence[SkillSplitResult]) -> dict[str, dict[str, float]]:
    """Per method, the unweighted mean over files of RP@5, RP@10 and MRR: each split weighs
    the same, so a big file (SkillSkape dev) does not drown a small one (TECH val)."""
    if not results:
        return {}
    methods = [m for m in results[0].scores if all(m in r.scores for r in results)]
    return {
        m: {
            k: sum(r.scores[m][k] for r in results) / len(results) for k in ("RP@5", "RP@10", "MRR")
        }
        for m in methods
    }
