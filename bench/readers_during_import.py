"""Recommendation latency while a long import runs in the same process, loopback only.

    cp -r <built home> /tmp/rdhome   # a home with ESCO indexes it may write to
    SKILLPATH_HOME=/tmp/rdhome SKILLPATH_SHARED_DIR=/work/shared HF_HUB_OFFLINE=1 \\
        python bench/readers_during_import.py --rows 800 --clients 2

A real uvicorn server on 127.0.0.1 serves the engine of ``SKILLPATH_HOME``. The script
imports a first slice of the Coursera catalogue (rows 1-150) so there is a snapshot, times
``--idle`` recommendations with nothing else running, then posts an import of the next
``--rows`` rows through ``POST /v1/credentials/import`` while ``--clients`` threads post
recommendations until it answers. It prints p50/p95 idle and during the import, how many
answers came while the import had committed batches, which catalogue revisions the answers
ranked (their provenance), and how many times the ranking snapshot was rebuilt for the import.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from skillpath.api.app import create_app
from skillpath.engine.config import Settings
from skillpath.engine.service import Skillpath

KEY = "bench-write-key-0123456789abcdef"
SQL = "http://data.europa.eu/esco/skill/598de5b0-5b58-4ea7-8058-a4bc4d18c742"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(q * len(ordered))) - 1)] if ordered else float("nan")


def _rows(settings: Settings, start: int, stop: int) -> bytes:
    path = settings.shared_dir / "catalogue" / "coursera-courses.csv"
    lines = path.read_text(encoding="utf-8").splitlines(True)
    return "".join([lines[0], *lines[start:stop]]).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=800, help="rows in the long import")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--idle", type=int, default=20, help="recommendations timed idle")
    args = parser.parse_args()
    settings = Settings()
    settings = settings.model_copy(update={"api_keys": [KEY], "request_log": False})
    engine = Skillpath(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(service=engine), host="127.0.0.1", port=port, log_level="error")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.1)
    url = f"http://127.0.0.1:{port}"
    write = {"X-API-Key": KEY, "Content-Type": "text/csv"}
    imp = "/v1/credentials/import?format=csv&mapping=coursera"
    with httpx.Client(base_url=url, timeout=3600) as client:
        client.post(imp, content=_rows(settings, 1, 150), headers=write).raise_for_status()
        target = engine.resolve_target("data analyst").occupation_uri
        body = {"target": target, "profile": {"skills": [SQL]}, "k": 5}
        client.post("/v1/recommendations", json=body).raise_for_status()
        idle = []
        for _ in range(args.idle):
            began = time.perf_counter()
            client.post("/v1/recommendations", json=body).raise_for_status()
            idle.append(time.perf_counter() - began)
        revision = engine.catalogue.revision
        builds = engine.caches.builds["catalogue_snapshot"]
        summary: dict = {}

        def importer() -> None:
            r = client.post(imp, content=_rows(settings, 150, 150 + args.rows), headers=write)
            summary.update(status=r.status_code, body=r.json())

        writer = threading.Thread(target=importer)
        samples: list[tuple[float, int, int]] = []
        lock = threading.Lock()

        def reader() -> None:
            with httpx.Client(base_url=url, timeout=600) as own:
                while writer.is_alive():
                    began = time.perf_counter()
                    r = own.post("/v1/recommendations", json=body)
                    took = time.perf_counter() - began
                    r.raise_for_status()
                    answered = r.json()["provenance"]["catalogue_revision"]
                    with lock:
                        samples.append((took, answered, engine.catalogue.revision))

        began = time.perf_counter()
        writer.start()
        readers = [threading.Thread(target=reader) for _ in range(args.clients)]
        for r in readers:
            r.start()
        writer.join()
        import_seconds = time.perf_counter() - began
        for r in readers:
            r.join()
    server.should_exit = True
    during = [s for s in samples if s[2] > revision]
    took = [s[0] for s in samples]
    print(f"home: {Path(settings.home).resolve()}")
    print(f"import: {summary.get('body', {}).get('imported')} imported in {import_seconds:.1f} s")
    print(
        f"idle: {len(idle)} recommendations, p50 {_pct(idle, 0.5):.3f} s, "
        f"p95 {_pct(idle, 0.95):.3f} s"
    )
    print(
        f"during the import: {len(took)} recommendations ({len(during)} after its first "
        f"batch committed), p50 {_pct(took, 0.5):.3f} s, p95 {_pct(took, 0.95):.3f} s, "
        f"max {max(took):.3f} s"
    )
    print(f"revisions answered: {sorted({s[1] for s in samples})} (before: {revision})")
    print(
        f"snapshot rebuilds for the import: {engine.caches.builds['catalogue_snapshot'] - builds}"
    )


if __name__ == "__main__":
    main()
