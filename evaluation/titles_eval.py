"""Job-title normalisation benchmark runner (JobBERT validation split, MELO dev files).

Each title ranks all ESCO occupations through the facade
(``sp.matching.rank_occupations_batch``); MRR and recall@1/5/10 of the
labelled occupation, for the shipped method and the baselines side by side: MiniLM zero-shot,
e5 zero-shot (when the multilingual title index is built) and ``hand`` (the hand-set MiniLM
fusion shipped before the learned model). The full JobBERT split has 15,463 titles;
``limit`` scores a fixed-seed random sample for quick runs (the same sample every time, so
two quick runs are comparable). :func:`macro_average` averages several files' scores with
equal weight per file (MELO-style suites: one number per language, then their mean).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from skillpath.engine.service import Skillpath
from skillpath.evaluation.benchmarks import (
    default_shared_dir,
    default_title_split,
    load_title_benchmark,
)
from skillpath.evaluation.metrics import evaluate_title_rankings

METHODS: tuple[str, ...] = ("zero-shot", "zero-shot-e5", "hand", "final")
SAMPLE_SEED = 13


@dataclass
class TitleResult:
    path: str
    queries: int
    rows_read: int
    unknown_uri: int
    sampled: bool
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    """method -> {"MRR", "R@1", "R@5", "R@10"}."""
    seconds: float = 0.0


def evaluate_title_file(
    service: Skillpath,
    path: Path | None = None,
    limit: int | None = None,
    methods: Sequence[str] = METHODS,
    chunk: int = 1000,
) -> TitleResult:
    """Score ``methods`` on a JobBERT-format file (all rows, or a fixed sample of ``limit``)."""
    started = time.perf_counter()
    path = Path(path) if path else default_title_split(default_shared_dir())
    occupations = service.taxonomy.occupations
    bench = load_title_benchmark(path, [o.uri for o in occupations])
    queries = list(bench.queries)
    if not queries:
        raise ValueError(f"{path}: no title with a known ESCO occupation URI to evaluate")
    sampled = bool(limit and limit < len(queries))
    if sampled:
        queries = random.Random(SAMPLE_SEED).sample(queries, limit)
    result = TitleResult(
        path=str(path),
        queries=len(queries),
        rows_read=bench.rows_read,
        unknown_uri=len(bench.unknown_uri),
        sampled=sampled,
    )
    titles = [q.title for q in queries]
    vectors = service.matching.encode_queries(titles, cache=True)
    partner_vectors = service.matching.encode_title_queries(titles, cache=True)
    if partner_vectors is None:  # no multilingual title index: its baseline cannot run
        methods = [m for m in methods if m != "zero-shot-e5"]
    for method in methods:
        # Rankings over 3k occupations for 15k titles would hold 45M ids: score in chunks
        # and average the per-query values (exactly the mean over all queries).
        per_query: dict[str, list[float]] = {}
        for start in range(0, len(queries), chunk):
            part = queries[start : start + chunk]
            rankings = service.matching.rank_occupations_batch(
                [q.title for q in part],
                method,
                vectors[start : start + chunk],
                None if partner_vectors is None else partner_vectors[start : start + chunk],
            )
            runs = {q.qid: r.uris() for q, r in zip(part, rankings, strict=True)}
            gold = {q.qid: q.occupation_uri for q in part}
            scores = evaluate_title_rankings(runs, gold, ks=(1, 5, 10), per_query=True)
            for row in scores["per_query"].values():
                for metric, value in row.items():
                    per_query.setdefault(metric, []).append(value)
        result.scores[method] = {m: float(np.mean(v)) for m, v in per_query.items()}
    result.seconds = time.perf_counter() - started
    return result


def macro_average(results: Sequence[TitleResult]) -> dict[str, dict[str, float]]:
    """Per method, the unweighted mean over files of each metric (methods every file has)."""
    if not results:
        return {}
    methods = [m for m in results[0].scores if all(m in r.scores for r in results)]
    return {
        m: {
            metric: float(np.mean([r.scores[m][metric] for r in results]))
            for metric in results[0].scores[m]
        }
        for m in methods
    }
