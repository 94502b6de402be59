"""Catalogue import throughput on the real catalogues, against raw encoding of the same text.

    .venv/bin/python bench/catalogue.py          # imports into a scratch copy of $SKILLPATH_HOME

Reports records/s and statements/s for parse + map-to-ESCO + upsert, and the ratio of the
import time to the time the encoder alone needs for the same statements (the floor any
importer that maps every statement must pay).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from skillpath.engine.catalogue.csv_import import load_mapping, read_csv_catalogue
from skillpath.engine.catalogue.importer import mapping_statements
from skillpath.engine.catalogue.records import MicroCredential
from skillpath.engine.config import Settings
from skillpath.engine.service import Skillpath

FILES = {
    "coursera-courses.csv": "coursera",
    "coursera-descriptions.csv": "coursera-descriptions",
    "edx-courses.csv": "edx",
    "eu-university-modules.csv": "eu-modules",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", nargs="+", choices=sorted(FILES), help="a subset of the files")
    args = parser.parse_args()
    settings = Settings()
    scratch = Path(tempfile.mkdtemp(prefix="skillpath-bench-cat-"))
    shutil.copy(settings.db_path, scratch / settings.db_path.name)
    shutil.copytree(settings.index_dir, scratch / "index")
    scratch_settings = settings.model_copy(
        update={"home": scratch, "cache_dir": settings.embedding_cache_path.parent}
    )
    sp = Skillpath(scratch_settings)
    sp.matching.skill_matcher  # load indexes before timing  # noqa: B018
    rows = []
    for name, mapping in FILES.items():
        if args.only and name not in args.only:
            continue
        path = settings.shared_dir / "catalogue" / name
        records = [
            i
            for i in read_csv_catalogue(path, load_mapping(mapping))
            if isinstance(i, MicroCredential)
        ]
        statements = [s for r in records for s in mapping_statements(r)]
        t0 = time.perf_counter()
        summary = sp.catalogue.import_stream(iter(records), mapping)
        import_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        sp.encoder.encode_queries(statements)
        raw_s = time.perf_counter() - t0
        rows.append(
            {
                "file": name,
                "records": summary.records,
                "statements": len(statements),
                "import_s": round(import_s, 1),
                "records_per_s": round(summary.records / import_s, 1),
                "statements_per_s": round(len(statements) / import_s, 1),
                "raw_encode_s": round(raw_s, 1),
                "import_over_raw_encode": round(import_s / raw_s, 2),
            }
        )
    out = {
        "files": rows,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    keys = list(rows[0])
    print(" | ".join(keys))
    for r in rows:
        print(" | ".join(str(r[k]) for k in keys))
    print(f"peak RSS {out['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
