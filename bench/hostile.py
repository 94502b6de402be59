"""Statement splitting on hostile input: CPU seconds per size, to show it grows linearly.

    python bench/hostile.py            # 64 KiB, 256 KiB and 1 MiB of each pattern

The patterns are the ones issue #13 named (``"a@b.eu ; "`` was quadratic: 1.0 s at 36 kB)
plus sentence ends, URLs and list markers. Linear growth is 4x per row; quadratic was 16x.
"""

from __future__ import annotations

import argparse
import time

from skillpath.engine.statements import split_statements

PATTERNS = ["a@b.eu ; ", "see www.x.eu. A b. ", "(a) b; ", "Go. Now. ", "dataPerform "]


def cpu_seconds(text: str) -> float:
    started = time.process_time()
    split_statements(text)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1 << 16, 1 << 18, 1 << 20])
    args = parser.parse_args()
    print(f"{'pattern':24} " + " ".join(f"{s // 1024:>7} KiB" for s in args.sizes))
    for pattern in PATTERNS:
        times = []
        for size in args.sizes:
            text = (pattern * (size // len(pattern) + 1))[:size]
            times.append(min(cpu_seconds(text) for _ in range(2)))
        print(f"{pattern!r:24} " + " ".join(f"{t:9.3f} s" for t in times))


if __name__ == "__main__":
    main()
