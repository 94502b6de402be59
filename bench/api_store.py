"""The API over PostgreSQL vs SQLite: p50/p95 of ``POST /v1/recommendations`` on loopback.

A benchmark script, not a test. From one built home (``--home``: the SQLite store, the FAISS
indexes and the embedding cache, e.g. what ``make demo`` leaves in ``var/``):

1. SQLite: ``uvicorn --workers 2`` over the home as it is;
2. PostgreSQL: a real server started in a temporary folder (tests/pg.py), the home's store
   copied into it with its ids (``copy_store``), and ``uvicorn --workers 2`` over a copy of
   the home's indexes with ``SKILLPATH_DATABASE_URL`` set; the server is stopped at the end.

Each run warms up (``--warmup-s`` of load, not counted: both workers load their engine and
caches), then N concurrent clients (bench/load.py's request rotation) send requests for
``--duration`` seconds. Only 127.0.0.1 is ever targeted.

    .venv/bin/python bench/api_store.py --home /tmp/pghome --clients 4 --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "bench"), str(REPO / "tests")]

import load  # noqa: E402 - bench/load.py: the load loop, the server start
from pg import start_server as start_postgres  # noqa: E402 - tests/pg.py

from skillpath.engine.catalogue.store import copy_store  # noqa: E402
from skillpath.esco.store import Store  # noqa: E402


def measure(env: dict[str, str], args: argparse.Namespace) -> dict:
    """One ``uvicorn --workers N`` run under ``env``: warm-up, then the measured load."""
    saved = os.environ.copy()
    os.environ.update(env)
    os.environ.pop("SKILLPATH_DATABASE_URL", None) if "SKILLPATH_DATABASE_URL" not in env else None
    port = load.free_port()
    url = f"http://127.0.0.1:{port}"
    process = load.start_server(port, args.workers)
    try:
        started = time.monotonic()
        load.wait_ready(url, process)
        ready_s = time.monotonic() - started
        asyncio.run(load.run(url, args.clients, args.warmup_s, 100_000, warmup=len(load.REQUESTS)))
        report = asyncio.run(load.run(url, args.clients, args.duration, 100_000, warmup=0))
        report["ready_s"] = round(ready_s, 1)
        return report
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except Exception:  # noqa: BLE001 - a stuck server is killed
            process.kill()
        os.environ.clear()
        os.environ.update(saved)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("SKILLPATH_HOME", "var")))
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--duration", type=float, default=60.0, help="Measured seconds per run.")
    parser.add_argument("--warmup-s", type=float, default=10.0, help="Unmeasured seconds first.")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per run.")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="Run one backend.")
    args = parser.parse_args(argv)
    home = args.home.resolve()
    if not (home / "skillpath.sqlite").exists() or not (home / "index").is_dir():
        parser.error(f"{home} holds no built home (skillpath.sqlite and index/)")
    if not 1 <= args.clients <= 64 or not 0 < args.duration <= 600:
        parser.error("--clients must be 1..64 and --duration 0..600 s")
    cache = os.environ.get("SKILLPATH_CACHE_DIR", str(home / "cache"))
    common = {"SKILLPATH_CACHE_DIR": cache, "HF_HUB_OFFLINE": "1"}
    reports: dict[str, dict] = {}

    if args.only != "postgresql":
        reports["sqlite"] = measure({**common, "SKILLPATH_HOME": str(home)}, args)
        print("sqlite:", json.dumps(reports["sqlite"]), flush=True)

    if args.only != "sqlite":
        server = start_postgres()
        work = Path(tempfile.mkdtemp(prefix="skillpath-bench-pg-"))
        try:
            url = server.create_database("skillpath_bench")
            started = time.monotonic()
            copied = copy_store(Store(home / "skillpath.sqlite"), Store(url))
            print(
                f"copied the store into PostgreSQL in {time.monotonic() - started:.1f} s:",
                json.dumps(copied),
                flush=True,
            )
            shutil.copytree(home / "index", work / "index")
            env = {**common, "SKILLPATH_HOME": str(work), "SKILLPATH_DATABASE_URL": url}
            reports["postgresql"] = measure(env, args)
            print("postgresql:", json.dumps(reports["postgresql"]), flush=True)
        finally:
            server.stop()
            shutil.rmtree(work, ignore_errors=True)

    print(
        f"\nPOST /v1/recommendations, {args.workers} uvicorn workers, {args.clients} clients, "
        f"{args.duration:.0f} s after {args.warmup_s:.0f} s warm-up, home {home}"
    )
    print(f"{'store':<11} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6}")
    for name, r in reports.items():
        print(
            f"{name:<11} {r['requests']:>8} {r['requests_per_s']:>7} {r['p50_ms']:>8} "
            f"{r['p95_ms']:>8} {r['errors']:>6}"
        )


if __name__ == "__main__":
    main()
