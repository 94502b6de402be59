"""Batch throughput: local vs Ray with 1 and 2 workers on the same synthetic learners.

    SKILLPATH_HOME=/tmp/batchhome HF_HUB_OFFLINE=1 nice -n 10 \\
        .venv/bin/python bench/batch.py --learners 120

Prints, per engine: wall time (engine / actor start-up included), steady throughput
(learners/s from the first written batch to the last, so model loading is excluded), the
2-worker / 1-worker ratio, the per-worker overhead of Ray against ``local``, and the peak
RSS of each worker process. ``local`` is pinned to one torch thread so that it compares with
one Ray worker (Ray sets ``OMP_NUM_THREADS=1`` for a 1-CPU actor).

A warm-up pass (not timed) first answers every learner once, so each timed engine sees the
same warm embedding cache (the target occupations' texts, cached by the engine as a nightly
run's cache would be after the first night); without it the first engine timed pays for the
cache and the comparison is meaningless.
"""

from __future__ import annotations

import os

# One OpenMP / BLAS thread in this process too (before torch and faiss load): a 1-CPU Ray
# actor gets OMP_NUM_THREADS=1, and on a loaded 2-core machine OpenMP threads spinning for a
# core made ``local`` 2x slower than one Ray worker, which measured the threads, not Ray.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json
import tempfile
import time
from pathlib import Path

from skillpath.batch.io import read_output, write_jsonl
from skillpath.batch.run import run_batch
from skillpath.batch.synthetic import learners, occupation_pool
from skillpath.batch.worker import worker_env
from skillpath.engine.service import Skillpath


def timed(input_path: Path, out: Path, engine: str, **kw) -> dict:
    stamps: list[tuple[float, int]] = []
    start = time.perf_counter()
    summary = run_batch(
        input_path,
        out,
        engine,
        on_batch=lambda records, pids: stamps.append((time.perf_counter(), len(records))),
        **kw,
    )
    wall = time.perf_counter() - start
    rows = read_output(out)
    ids = [r["id"] for r in rows]
    steady_rows = sum(n for _, n in stamps[1:])
    steady_s = stamps[-1][0] - stamps[0][0] if len(stamps) > 1 else float("nan")
    return {
        "engine": engine,
        "workers": kw.get("workers", 1),
        "wall_s": round(wall, 1),
        "learners_per_s_wall": round(len(rows) / wall, 3),
        "learners_per_s_steady": round(steady_rows / steady_s, 3) if steady_s else None,
        "output_rows": len(rows),
        "unique_ids": len(set(ids)),
        "errors": summary.errors,
        "peak_rss_mb_per_worker": summary.as_dict()["peak_rss_mb_per_worker"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=120)
    parser.add_argument("--seed", type=int, default=20241129)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--engines", default="local,ray1,ray2")
    parser.add_argument("--no-warmup", action="store_true")
    args = parser.parse_args()

    import ray
    import torch

    engine = Skillpath()
    work = Path(tempfile.mkdtemp(prefix="skillpath-batch-bench-"))
    src = work / "in.jsonl"
    write_jsonl(src, learners(occupation_pool(engine), args.learners, args.seed))
    torch.set_num_threads(1)
    if not args.no_warmup:
        warm = timed(src, work / "out-warmup.jsonl", "local", service=engine)
        print(json.dumps({"warmup": warm}), flush=True)
    results = []
    for name in args.engines.split(","):
        out = work / f"out-{name}.jsonl"
        if name == "local":
            results.append(timed(src, out, "local", service=engine, batch_size=args.batch_size))
        else:
            n = int(name.removeprefix("ray"))
            if not ray.is_initialized():
                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            results.append(
                timed(src, out, "ray", workers=n, batch_size=args.batch_size, env=worker_env())
            )
        print(json.dumps(results[-1]), flush=True)
    by = {(r["engine"], r["workers"]): r for r in results}
    report: dict = {"learners": args.learners, "batch_size": args.batch_size}
    one, two, local = by.get(("ray", 1)), by.get(("ray", 2)), by.get(("local", 1))
    if one and two:
        report["ratio_2_vs_1_steady"] = round(
            two["learners_per_s_steady"] / one["learners_per_s_steady"], 2
        )
        report["ratio_2_vs_1_wall"] = round(one["wall_s"] / two["wall_s"], 2)
    if one and local:
        report["ray1_overhead_vs_local_steady"] = round(
            local["learners_per_s_steady"] / one["learners_per_s_steady"] - 1, 3
        )
        report["ray1_overhead_vs_local_wall_s"] = round(one["wall_s"] - local["wall_s"], 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
