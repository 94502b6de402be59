"""Catalogue import time: ``skillpath catalogue import FILE`` locally vs ``--engine ray``.

    HF_HUB_OFFLINE=1 nice -n 10 .venv/bin/python bench/ray_import.py \\
        --home var --file /work/shared/catalogue/edx-courses.csv --workers 2

Copies HOME (ESCO store, indexes, embedding cache; never written) to a temporary folder and
removes FILE's source from the copy's catalogue, so both runs import every row anew. Then,
for each engine, a fresh copy of that home and one ``skillpath catalogue import FILE --json``
process: wall time (process start, model and actor loading, the import, the refresh of the
credential vectors and search structures) and the importer's own seconds (mapping and
writes). Finally it checks that both homes store the same credentials, links and scores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "SKILLPATH_HOME": str(home), "HF_HUB_OFFLINE": "1"}


def _prepare(home: Path, file: Path, work: Path) -> tuple[Path, str]:
    """A copy of ``home`` without the credentials of ``file``'s source."""
    from skillpath.engine.catalogue.sources import read_catalogue
    from skillpath.engine.config import Settings
    from skillpath.engine.service import Skillpath

    prep = work / "prep"
    shutil.copytree(home, prep)
    source, _ = read_catalogue(file, "csv", None)
    sp = Skillpath(Settings(home=prep))
    ids = [c.record.id for c in sp.catalogue.store.iter_all() if c.record.source == source]
    for ident in ids:
        sp.catalogue.store.delete(ident)
    print(json.dumps({"removed_from_copy": len(ids), "source": source}), flush=True)
    return prep, source


def _stored(home: Path, source: str) -> dict:
    from skillpath.engine.config import Settings
    from skillpath.engine.service import Skillpath

    sp = Skillpath(Settings(home=home))
    return {
        c.record.id: (c.content_hash, c.mapped_with, c.links)
        for c in sp.catalogue.store.iter_all()
        if c.record.source == source
    }


def _load() -> str:
    out = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    return out.strip().split("load average:")[-1].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=REPO / "var")
    parser.add_argument("--file", type=Path, default=Path("/work/shared/catalogue/edx-courses.csv"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engines", default="local,ray")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="skillpath-import-bench-"))
    prep, source = _prepare(args.home, args.file, work)
    results = {}
    for engine in args.engines.split(","):
        home = work / engine
        shutil.copytree(prep, home)
        cmd = [str(REPO / ".venv/bin/skillpath"), "catalogue", "import", str(args.file), "--json"]
        if engine != "local":
            cmd += ["--engine", engine, "--workers", str(args.workers)]
        load_before = _load()
        start = time.perf_counter()
        done = subprocess.run(cmd, env=_env(home), capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        (summary,) = json.loads(done.stdout[done.stdout.index("[") :])
        results[engine] = {
            "engine": engine,
            "workers": args.workers if engine != "local" else 1,
            "wall_s": round(wall, 1),
            "import_s": round(summary["seconds"], 1),
            "read": summary["read"],
            "imported": summary["imported"],
            "statements": summary["statements_mapped"],
            "inferred_links": summary["inferred_links"],
            "load_before": load_before,
            "load_after": _load(),
        }
        print(json.dumps(results[engine]), flush=True)
    names = list(results)
    report: dict = {"file": str(args.file), "work": str(work)}
    if len(names) == 2:
        a, b = (results[n] for n in names)
        report["import_speedup"] = round(a["import_s"] / b["import_s"], 2)
        report["wall_speedup"] = round(a["wall_s"] / b["wall_s"], 2)
        report["same_links_and_scores"] = _stored(work / names[0], source) == _stored(
            work / names[1], source
        )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
