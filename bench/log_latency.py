"""Latency per endpoint from a skillpath API server's JSON request log (one line per request,
``event: request`` with ``method``, ``path`` and ``duration_ms``): count, p50 and p95.

Used to read a soak or load run that ended without its own summary:

    .venv/bin/python bench/log_latency.py /tmp/h13_soak1.log [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path


def latencies(path: Path) -> dict[str, list[float]]:
    """duration_ms by "METHOD /path" (path templates cut at their first parameter)."""
    out: dict[str, list[float]] = defaultdict(list)
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if not line.startswith("{"):
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line
            if row.get("event") == "request" and "duration_ms" in row:
                out[f"{row['method']} {row['path'].split('/{')[0]}"].append(row["duration_ms"])
    return out


def summary(durations: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(durations, n=20, method="inclusive") if len(durations) > 1 else []
    return {
        "count": len(durations),
        "p50_ms": round(statistics.median(durations), 1),
        "p95_ms": round(cuts[-1] if cuts else durations[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = {name: summary(d) for name, d in sorted(latencies(args.log).items())}
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for name, row in rows.items():
        p50, p95 = row["p50_ms"], row["p95_ms"]
        print(f"{name:32} {row['count']:6} p50 {p50:9,.0f} ms  p95 {p95:9,.0f} ms")


if __name__ == "__main__":
    main()
