"""Load test of ``POST /v1/recommendations`` on loopback (not a test: a benchmark script).

N concurrent clients (httpx, asyncio) send recommendation requests for a fixed time or a
fixed number of requests, whichever comes first, then the script prints requests/s, latency
percentiles and errors. It refuses any host but 127.0.0.1 / localhost / ::1.

By default it starts ``skillpath serve``-equivalent uvicorn itself on a free loopback port
(over ``SKILLPATH_HOME``, which must hold built indexes and an imported catalogue) and stops
it at the end; ``--url`` points it at a server that is already running instead.

    .venv/bin/python bench/load.py --clients 8 --duration 60
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 --clients 4 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
SQL = "http://data.europa.eu/esco/skill/598de5b0-5b58-4ea7-8058-a4bc4d18c742"

# A rotation of realistic requests: URIs, exact labels, free titles, CV lines, constraints.
REQUESTS: list[dict] = [
    {"target": "data analyst", "profile": {"skills": [SQL]}, "k": 5},
    {
        "target": "warehouse manager",
        "profile": {"text": "I manage stock in a warehouse and use Excel."},
        "constraints": {"languages": ["en"]},
    },
    {"target": "software developer", "profile": {"skills": ["Python"]}, "k": 10},
    {"target": "nurse", "constraints": {"budget_hours": 40}},
    {"target": "marketing assistant", "profile": {"occupations": ["sales assistant"]}},
    {"target": "someone who builds web shops", "constraints": {"modes": ["online"]}},
]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0

    def add(self, seconds: float, status: str, ok: bool) -> None:
        self.latencies.append(seconds)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.errors += not ok


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def client_loop(
    http: httpx.AsyncClient, index: int, stop_at: float, budget: list[int], tally: Tally
) -> None:
    i = index
    while time.monotonic() < stop_at and budget[0] > 0:
        budget[0] -= 1
        body = REQUESTS[i % len(REQUESTS)]
        i += 1
        started = time.perf_counter()
        try:
            response = await http.post("/v1/recommendations", json=body)
            ok = response.status_code == 200
            status = str(response.status_code)
        except httpx.HTTPError as exc:
            ok, status = False, type(exc).__name__
        tally.add(time.perf_counter() - started, status, ok)


async def run(url: str, clients: int, duration: float, max_requests: int, warmup: int) -> dict:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        for body in REQUESTS[:warmup]:  # first-time costs (caches) are not the steady state
            (await http.post("/v1/recommendations", json=body)).raise_for_status()
        tally = Tally()
        budget = [max_requests]
        started = time.monotonic()
        await asyncio.gather(
            *(client_loop(http, c, started + duration, budget, tally) for c in range(clients))
        )
        elapsed = time.monotonic() - started
    ms = [x * 1000 for x in tally.latencies]
    return {
        "url": url,
        "clients": clients,
        "duration_s": round(elapsed, 1),
        "requests": len(ms),
        "requests_per_s": round(len(ms) / elapsed, 2) if elapsed else 0.0,
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "mean_ms": round(statistics.fmean(ms), 1) if ms else None,
        "max_ms": round(max(ms), 1) if ms else None,
        "errors": tally.errors,
        "statuses": tally.statuses,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int) -> subprocess.Popen:
    """uvicorn on the app factory, loopback only, like ``skillpath serve``."""
    command = [
        sys.executable, "-m", "uvicorn", "skillpath.api.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, env=os.environ.copy(), stderr=subprocess.DEVNULL)


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            r = httpx.get(f"{url}/readyz", timeout=5)
            if r.status_code == 200:
                return
            if r.status_code == 503:
                raise SystemExit(f"server not ready: {r.json()['checks']}")
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit("server did not become ready in time")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="A running server (loopback only); default: start one.")
    parser.add_argument("--clients", type=int, default=8, help="Concurrent clients.")
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds of load.")
    parser.add_argument("--max-requests", type=int, default=100_000, help="Stop after this many.")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (own server).")
    parser.add_argument("--json", action="store_true", help="Print the report as JSON only.")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 256 or not 0 < args.duration <= 600:
        parser.error("--clients must be 1..256 and --duration 0..600 s")

    process = None
    url = args.url
    if url:
        host = urlsplit(url).hostname
        if host not in LOOPBACK:
            parser.error(f"refusing {host!r}: this load test only targets loopback")
    else:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = start_server(port, args.workers)
    try:
        if process:
            wait_ready(url, process)
        report = asyncio.run(
            run(url, args.clients, args.duration, args.max_requests, warmup=len(REQUESTS))
        )
    finally:
        if process:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    if args.json:
        print(json.dumps(report))
        return
    print(
        f"{report['requests']} requests in {report['duration_s']} s from {report['clients']} "
        f"clients: {report['requests_per_s']} req/s; latency p50 {report['p50_ms']} ms, "
        f"p95 {report['p95_ms']} ms, p99 {report['p99_ms']} ms, max {report['max_ms']} ms; "
        f"errors {report['errors']} (statuses {report['statuses']})"
    )


if __name__ == "__main__":
    main()
