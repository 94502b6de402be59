"""Where one ``recommend`` request's time goes: cProfile of warm requests, grouped by stage.

    SKILLPATH_HOME=var .venv/bin/python bench/profile_recommend.py [--requests 10] [--top 25]

The engine is warmed first (indexes, catalogue snapshot and encoder loaded, one request
answered), so what is profiled is the steady state a server sees: a job title to resolve, a
short CV to read (query encoding + skill matching), the gap, candidates, ranking, pathway and
explanations. Prints wall time per request, the share of a few named stages (cumulative time
of the functions that implement them) and the top functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from skillpath.engine.recommendation import LearnerProfile, RecommendationRequest
from skillpath.engine.service import Skillpath

TITLES = ["data analyst", "software developer", "nurse", "accountant", "web designer"]
CV = "I keep stock records in Excel, write short reports and supervise two colleagues."
# (label, function-name fragment matched against "file:line(function)")
STAGES = [
    ("query encoding (encoder)", "models/encoder.py:50(encode_queries)"),
    ("onnx session run", "onnxruntime_inference_collection.py"),
    ("torch forward", "sentence_transformers"),
    ("gap (compute_gap)", "(compute_gap)"),
    ("relevance inputs", "(relevance_inputs)"),
    ("neighbours_for", "(neighbours_for)"),
    ("recommend_from_gap", "(recommend_from_gap)"),
    ("faiss search", "(search)"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    sp = Skillpath()
    requests = [
        RecommendationRequest(target=TITLES[i % len(TITLES)], profile=LearnerProfile(text=CV), k=10)
        for i in range(args.requests)
    ]
    started = time.perf_counter()
    sp.recommend(requests[0])
    print(
        f"cold first request (loads indexes, encoder, catalogue): "
        f"{time.perf_counter() - started:.2f} s"
    )
    profiler = cProfile.Profile()
    walls = []
    for request in requests:
        t0 = time.perf_counter()
        profiler.enable()
        sp.recommend(request)
        profiler.disable()
        walls.append(time.perf_counter() - t0)
    walls.sort()
    total = sum(walls)
    print(
        f"{len(walls)} warm requests, encoder {sp.encoder.fingerprint} ({sp.encoder.backend}): "
        f"median {walls[len(walls) // 2] * 1000:.0f} ms, max {walls[-1] * 1000:.0f} ms"
    )
    stats = pstats.Stats(profiler)
    cumulative: dict[str, float] = {}
    for (path, line, func), (_, _, _, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{path}:{line}({func})"
        for label, fragment in STAGES:
            if fragment in where:
                cumulative[label] = max(cumulative.get(label, 0.0), ct)
    print("stage (max cumulative over matching functions)      ms/request   share")
    for label, _ in STAGES:
        if label in cumulative:
            seconds = cumulative[label]
            print(f"  {label:48s} {seconds / len(walls) * 1000:9.1f}   {seconds / total:6.1%}")
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
