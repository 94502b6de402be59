"""Encoder throughput: ESCO labels and "label: description" texts per second, per encoder.

The index build encodes ~113k short labels and ~14k descriptions per encoder; this times
both kinds on the same skills for every installed encoder, in one process, after a warm-up.

Run: ``python bench/encoders.py [--skills 800] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skillpath.engine.service import Skillpath  # noqa: E402
from skillpath.engine.taxonomy_index import skill_description_text  # noqa: E402
from skillpath.models.encoder import ENCODERS, load_encoder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=int, default=800, help="skills to encode")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    skills = Skillpath().store.all_skills()[: args.skills]
    kinds = {
        "labels": [s.preferred_label for s in skills],
        "descriptions": [skill_description_text(s) for s in skills],
    }
    result: dict[str, dict[str, float]] = {}
    for name in sorted(ENCODERS):
        encoder = load_encoder(name)
        encoder.encode_documents(kinds["labels"][:50])  # warm-up
        result[name] = {}
        for kind, texts in kinds.items():
            started = time.perf_counter()
            encoder.encode_documents(texts)
            result[name][f"{kind}_per_s"] = round(len(texts) / (time.perf_counter() - started), 1)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name, rates in result.items():
        print(f"{name:8s} " + "  ".join(f"{k} {v:8.1f}" for k, v in rates.items()))


if __name__ == "__main__":
    main()
