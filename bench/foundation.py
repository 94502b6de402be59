"""Foundation benchmark: ingest time, encode throughput, index build vs raw encode, size, memory.

    .venv/bin/python bench/foundation.py            # 3,000 skills (+ their occupations' share)
    .venv/bin/python bench/foundation.py --full     # every ESCO skill and occupation

The index build runs against an empty embedding cache, so it pays for every encode; the ratio
(build time / raw ``encode`` time of the same texts) is the overhead of skillpath's own work:
caching, FAISS, manifests, checksums, atomic writes.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from skillpath.engine.embeddings import EmbeddingCache
from skillpath.engine.index import save_bundle
from skillpath.engine.taxonomy_index import (
    build_occupation_bundle,
    build_skill_bundle,
    label_table,
    skill_description_text,
)
from skillpath.esco.loader import load_esco
from skillpath.esco.store import Store
from skillpath.models.encoder import load_encoder


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--full", action="store_true", help="all skills and occupations")
    parser.add_argument("--skills", type=int, default=3000, help="skills to index (not --full)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="skillpath-bench-"))
    t0 = time.perf_counter()
    taxonomy = load_esco([args.shared / "esco"])
    parse_s = time.perf_counter() - t0
    store = Store(work / "s.sqlite")
    t0 = time.perf_counter()
    store.ingest(taxonomy)
    ingest_s = parse_s + time.perf_counter() - t0

    skills = store.all_skills()
    occupations = store.all_occupations()
    if not args.full:
        skills = skills[: args.skills]
        occupations = occupations[
            : max(1, args.skills * len(occupations) // len(store.all_skills()))
        ]
    encoder = load_encoder("minilm")
    texts = (
        label_table(skills).texts
        + [skill_description_text(s) for s in skills]
        + label_table(occupations).texts
    )
    encoder.encode_documents(texts[:64])  # warm-up: first call pays one-off costs

    t0 = time.perf_counter()
    encoder.encode_documents(texts)
    raw_s = time.perf_counter() - t0

    cache = EmbeddingCache(work / "cache.sqlite")
    t0 = time.perf_counter()
    for bundle in (
        build_skill_bundle(skills, encoder, cache),
        build_occupation_bundle(occupations, encoder, cache),
    ):
        save_bundle(work / "index", bundle, {"encoder": encoder.fingerprint})
    build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    build_skill_bundle(skills, encoder, cache)
    build_occupation_bundle(occupations, encoder, cache)
    cached_s = time.perf_counter() - t0

    result = {
        "skills": len(skills),
        "occupations": len(occupations),
        "texts": len(texts),
        "ingest_seconds": round(ingest_s, 2),
        "raw_encode_seconds": round(raw_s, 2),
        "encode_texts_per_second": round(len(texts) / raw_s, 1),
        "index_build_seconds": round(build_s, 2),
        "build_over_raw_encode": round(build_s / raw_s, 3),
        "rebuild_from_cache_seconds": round(cached_s, 2),
        "index_bytes": folder_bytes(work / "index"),
        "cache_bytes": (work / "cache.sqlite").stat().st_size,
        "db_bytes": (work / "s.sqlite").stat().st_size,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
