"""Speed of the matcher: ``extract_skills_batch`` vs the raw encoder on the same statements.

The catalogue importer maps thousands of learning-outcome statements, so extraction must
stay close to the cost of encoding them (goal: at least half the raw encode speed). Both
are timed in one run, on the same statements, after a warm-up (model load, lexical index
fit and first-call allocations are excluded from both). Peak resident memory of the process
is reported too (it includes the model and the indexes, which is what a deployment pays).

Run: ``python bench/matching.py [--n 1000] [--repeat 2] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skillpath.engine.service import Skillpath  # noqa: E402
from skillpath.evaluation.benchmarks import default_skill_splits, load_skill_benchmark  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def statements(service: Skillpath, n: int) -> list[str]:
    path = default_skill_splits(service.settings.shared_dir)["skillskape_dev"]
    bench = load_skill_benchmark(path, [s.preferred_label for s in service.taxonomy.skills])
    texts = [q.text for q in bench.queries]
    while len(texts) < n:
        texts = texts + texts
    return texts[:n]


def interleaved_best(repeat: int, *fns) -> list[float]:
    """Best time of each function over ``repeat`` rounds, run alternately: on a shared
    machine the load drifts, and alternating exposes both variants to the same drift."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            started = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="statements to time")
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant (best kept)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    service = Skillpath()
    texts = statements(service, args.n)
    rss_start = peak_rss_mb()
    matcher = service.matching.skill_matcher
    matcher.lexical  # noqa: B018 - fit the lexical index outside the timing
    service.matching.extract_skills_batch(texts[:32])  # warm-up: model, BLAS, allocations
    rss_loaded = peak_rss_mb()

    # With an ensemble (SKILLPATH_PARTNER_ENCODER) the partner's raw encode is timed too:
    # extraction then pays for both encoders.
    encoders = [service.encoder] + (
        [service.matching.partner.encoder] if service.matching.partner else []
    )
    *encode_times, extract = interleaved_best(
        args.repeat,
        *[lambda e=e: e.encode_queries(texts) for e in encoders],
        lambda: service.matching.extract_skills_batch(texts),
    )
    encode = encode_times[0]
    result = {
        "statements": len(texts),
        "encoder": service.matching.matcher_name,
        "encode_per_s": round(len(texts) / encode, 1),
        "extract_per_s": round(len(texts) / extract, 1),
        "ratio": round(encode / extract, 3),
        **(
            {
                "partner_encode_per_s": round(len(texts) / encode_times[1], 1),
                "ratio_to_both_encoders": round(sum(encode_times) / extract, 3),
            }
            if len(encode_times) > 1
            else {}
        ),
        "peak_rss_mb": round(peak_rss_mb(), 0),
        "rss_before_matcher_mb": round(rss_start, 0),
        "rss_after_load_mb": round(rss_loaded, 0),
        "features": list(matcher.fusion.features),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{len(texts)} statements, encoder {result['encoder']}")
    print(f"  raw encode        {result['encode_per_s']:8.1f} statements/s")
    print(f"  extract_skills    {result['extract_per_s']:8.1f} statements/s")
    print(f"  ratio             {result['ratio']:8.3f} (goal >= 0.5)")
    if "partner_encode_per_s" in result:
        print(f"  partner encode    {result['partner_encode_per_s']:8.1f} statements/s")
        print(f"  ratio, both       {result['ratio_to_both_encoders']:8.3f}")
    print(f"  peak RSS          {result['peak_rss_mb']:8.0f} MB")


if __name__ == "__main__":
    main()
