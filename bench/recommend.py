"""Recommendation latency on the real catalogue and on catalogues scaled to 100k and 1M.

    SKILLPATH_HOME=var .venv/bin/python bench/recommend.py            # needs `make demo` first
    SKILLPATH_HOME=var .venv/bin/python bench/recommend.py --scales 1 10 100 --requests 30

Scaled catalogues replicate the real records in memory (new ids, same skills and fields) —
for this benchmark only; nothing is written to the store. "excluding encoding" times the
ranking from a gap given as ESCO URIs; "including encoding" adds skill extraction from a
short CV text and target normalisation from a free job title.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import resource
import statistics
import time

from skillpath.engine.ranking import Constraints
from skillpath.engine.recommendation import CatalogueSnapshot, LearnerProfile, recommend_from_gap
from skillpath.engine.service import Skillpath

TITLES = [
    "data analyst",
    "software developer",
    "nurse",
    "accountant",
    "web designer",
    "logistics manager",
    "electrician",
    "marketing manager",
    "teacher",
    "chef",
]
CV = "I keep stock records in Excel, write short reports and supervise two colleagues."


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def scaled(snapshot: CatalogueSnapshot, factor: int) -> CatalogueSnapshot:
    entries = list(snapshot.entries.values())
    copies = (
        dataclasses.replace(e, id=f"{e.id}#{i}") if i else e for i in range(factor) for e in entries
    )
    return CatalogueSnapshot.build(snapshot.revision, copies, snapshot.labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 11, 107])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    sp = Skillpath()
    base = sp.catalogue.snapshot()
    if not base.entries:
        raise SystemExit("the catalogue is empty: run `make demo` (or skillpath catalogue import)")
    rng = random.Random(7)
    occupations = [o.uri for o in sp.taxonomy.occupations]
    targets = [rng.choice(occupations) for _ in range(args.requests)]
    gaps = [sp.compute_gap(uri).gap for uri in targets]  # warm-up and fixed inputs
    results = []
    for factor in args.scales:
        t0 = time.perf_counter()
        snapshot = scaled(base, factor)
        build_s = time.perf_counter() - t0
        times = []
        for gap in gaps:
            t0 = time.perf_counter()
            neighbours = sp.recommender.neighbours_for(gap, snapshot)
            recommend_from_gap(gap, snapshot, Constraints(), neighbours, k=10)
            times.append(time.perf_counter() - t0)
        results.append(
            {
                "credentials": len(snapshot.entries),
                "snapshot_build_s": round(build_s, 2),
                "p50_ms": round(1000 * statistics.median(times), 1),
                "p95_ms": round(1000 * percentile(times, 0.95), 1),
                "mean_ms": round(1000 * statistics.fmean(times), 1),
            }
        )
        del snapshot
    # Including encoding: free-text target + CV text through the real service.
    from skillpath.engine.recommendation import RecommendationRequest

    full = []
    for i in range(min(args.requests, 20)):
        request = RecommendationRequest(
            target=TITLES[i % len(TITLES)], profile=LearnerProfile(text=CV), k=10
        )
        t0 = time.perf_counter()
        sp.recommend(request)
        full.append(time.perf_counter() - t0)
    out = {
        "excluding_encoding": results,
        "including_encoding_real_catalogue": {
            "p50_ms": round(1000 * statistics.median(full), 1),
            "p95_ms": round(1000 * percentile(full, 0.95), 1),
        },
        "ratio_largest_over_smallest_p50": round(results[-1]["p50_ms"] / results[0]["p50_ms"], 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{'credentials':>12} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'build s':>8}")
    for r in results:
        print(
            f"{r['credentials']:>12,} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['mean_ms']:>8} "
            f"{r['snapshot_build_s']:>8}"
        )
    inc = out["including_encoding_real_catalogue"]
    print(f"including encoding (real catalogue): p50 {inc['p50_ms']} ms, p95 {inc['p95_ms']} ms")
    print(
        f"p50 at largest / smallest: {out['ratio_largest_over_smallest_p50']}x; "
        f"peak RSS {out['peak_rss_mb']} MB"
    )


if __name__ == "__main__":
    main()
