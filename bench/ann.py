"""Approximate credential search at scale: recall@100 vs exact, and query latency.

The credential index (engine/index.py ``build_faiss``) is exact up to ``EXACT_MAX`` vectors and
IVF above. This builds it over synthetic catalogues of 100k and 1M credentials and compares
its top 100 with exact search, for real job-title queries.

Synthetic credentials are *perturbed real vectors*: each is a real credential vector (or an
ESCO skill description vector, when the home has no catalogue), plus a random share of a
second real vector, plus Gaussian noise, renormalised. So they cluster like real course
vectors do (random unit vectors in 384 dimensions are all nearly orthogonal: far too easy
for an IVF, and nothing like a catalogue). Queries are job titles encoded as queries: the
dev cases' targets and ESCO occupation labels, like the typed targets search receives.

Run: ``python bench/ann.py [--sizes 100000 1000000] [--queries 200] [--json]``
(SKILLPATH_HOME pointing at a home with the catalogue imported; read only).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skillpath.engine.index import EXACT_MAX, build_faiss, ivf_params  # noqa: E402


def perturbed_vectors(base: np.ndarray, n: int, seed: int = 0, noise: float = 0.35) -> np.ndarray:
    """``n`` unit vectors near the real ``base`` ones: base_i + u·base_j + noise, u ~ U(0, 0.5),
    noise of expected norm ``noise``; built in slices to bound memory."""
    rng = np.random.default_rng(seed)
    n_base, dim = base.shape
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        i, j = rng.integers(0, n_base, m), rng.integers(0, n_base, m)
        mix = rng.uniform(0.0, 0.5, (m, 1)).astype(np.float32)
        g = rng.standard_normal((m, dim), dtype=np.float32) * (noise / np.sqrt(dim))
        x = base[i] + mix * base[j] + g
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-``k`` rows by inner product (chunked matmul: no second copy of the data)."""
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(vectors), 200_000):
        sims = queries @ vectors[start : start + 200_000].T
        kk = min(k, sims.shape[1])
        part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        scores = np.take_along_axis(sims, part, axis=1)
        all_s = np.concatenate([best_s, scores], axis=1)
        all_i = np.concatenate([best_i, part + start], axis=1)
        order = np.argsort(-all_s, axis=1)[:, :k]
        best_s, best_i = (np.take_along_axis(a, order, axis=1) for a in (all_s, all_i))
    return best_i


def recall_at(approx: np.ndarray, exact: np.ndarray) -> float:
    """Mean over queries of |approx top-k ∩ exact top-k| / k."""
    k = exact.shape[1]
    return float(np.mean([len(set(a) & set(e)) / k for a, e in zip(approx, exact, strict=True)]))


def latency_ms(index: faiss.Index, queries: np.ndarray, k: int) -> dict[str, float]:
    """p50/p95 of one query at a time (what an API request does), in milliseconds."""
    times = []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q[None, :], k)
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95))}


def measure(
    base: np.ndarray, queries: np.ndarray, n: int, k: int = 100, nprobes: tuple[int, ...] = ()
) -> dict[str, object]:
    vectors = perturbed_vectors(base, n)
    exact = exact_top(vectors, queries, k)
    t0 = time.perf_counter()
    index = build_faiss(vectors, "ivf")
    build_s = time.perf_counter() - t0
    nlist, default_nprobe = ivf_params(n)
    row: dict[str, object] = {
        "n": n,
        "index": f"IVF{nlist},Flat",
        "build_s": round(build_s, 1),
        "default_nprobe": default_nprobe,
    }
    sweep = {}
    for nprobe in sorted({default_nprobe, *nprobes}):
        index.nprobe = nprobe
        _, approx = index.search(queries, k)
        sweep[nprobe] = {
            "recall@100": round(recall_at(approx, exact), 4),
            **latency_ms(index, queries, k),
        }
    row["nprobe"] = sweep
    row["recall@100"] = sweep[default_nprobe]["recall@100"]
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    row["exact"] = latency_ms(flat, queries[:50], k)
    return row


def load_inputs(n_queries: int, kind: str = "credentials") -> tuple[np.ndarray, np.ndarray, str]:
    """(real base vectors, real query vectors, what the base is) through the facade."""
    from skillpath.engine.service import Skillpath

    sp = Skillpath()
    what = "credential vectors"
    base = np.zeros((0, sp.encoder.dimension), dtype=np.float32)
    if kind == "credentials":
        # no catalogue in this home: fall back to the ESCO skill vectors below
        with contextlib.suppress(Exception):
            base = sp.catalogue.bundle["credentials"].vectors()
    if len(base) < 1000:
        base, what = sp.matching.skill_vectors, "ESCO skill description vectors"
    shared = sp.settings.shared_dir / "bench" / "recommendations" / "cases.json"
    titles = [c["target"] for c in json.loads(shared.read_text())] if shared.exists() else []
    rng = np.random.default_rng(1)
    occupations = sp.taxonomy.occupations
    for i in rng.permutation(len(occupations))[: max(0, n_queries - len(titles))]:
        titles.append(occupations[int(i)].preferred_label)
    queries = sp.matching.encode_queries(titles[:n_queries], cache=True)
    return np.ascontiguousarray(base, dtype=np.float32), queries.astype(np.float32), what


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--nprobe", type=int, nargs="*", default=[8, 16, 64])
    parser.add_argument("--threads", type=int, default=1, help="FAISS threads (latency: 1)")
    parser.add_argument(
        "--base",
        choices=["credentials", "skills"],
        default="credentials",
        help="real vectors to perturb: the home's credential vectors (falls back to ESCO skill "
        "description vectors when the catalogue has < 1,000) or the ESCO skill vectors",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    faiss.omp_set_num_threads(args.threads)
    base, queries, what = load_inputs(args.queries, args.base)
    rows = [measure(base, queries, n, nprobes=tuple(args.nprobe)) for n in args.sizes]
    result = {
        "base": f"{len(base):,} {what}",
        "queries": len(queries),
        "exact_max": EXACT_MAX,
        "threads": args.threads,
        "sizes": rows,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"base: {result['base']}; {len(queries)} job-title queries; FAISS threads {args.threads}")
    for row in rows:
        ex = row["exact"]
        print(
            f"{row['n']:>9,}  {row['index']:<15} build {row['build_s']:>6.1f} s  "
            f"exact p50 {ex['p50_ms']:.2f} ms p95 {ex['p95_ms']:.2f} ms"
        )
        for nprobe, s in row["nprobe"].items():
            mark = " (default)" if nprobe == row["default_nprobe"] else ""
            print(
                f"           nprobe {nprobe:>4}: recall@100 {s['recall@100']:.4f}  "
                f"p50 {s['p50_ms']:.2f} ms  p95 {s['p95_ms']:.2f} ms{mark}"
            )


if __name__ == "__main__":
    main()
