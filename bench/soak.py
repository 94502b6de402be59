"""Soak test: mixed reads, recommendations and writes from several clients, loopback only.

    cp -r /work/main/var /tmp/soakhome   # a built home it may write to
    SKILLPATH_HOME=/tmp/soakhome SKILLPATH_SHARED_DIR=/work/shared HF_HUB_OFFLINE=1 \\
        python bench/soak.py --seconds 600 --clients 8

A real uvicorn server on 127.0.0.1 (never another interface) serves the engine of
``SKILLPATH_HOME``; each client loops over a weighted mix (catalogue pages, skill search,
recommendations, a PUT of a new credential and, now and then, a DELETE of one of its own).
At the end every acknowledged write is read back (0 lost writes: a PUT answered 200/201 is
readable, a DELETE answered 204 is gone), and the server's resident memory after the run is
compared with the one after a warm-up minute; it is also sampled every ``--rss-every``
seconds with the writes acknowledged so far, to see whether growth levels off. It prints one
line per measure and exits 1 if there was an error, a lost write, or memory grew by 10% or
more.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sys
import threading
import time
from dataclasses import dataclass, field

import httpx

KEY = "soak-write-key-0123456789abcdef"
TARGETS = ["data analyst", "warehouse manager", "software developer", "nurse", "accountant"]
SKILLS = [
    "http://data.europa.eu/esco/skill/598de5b0-5b58-4ea7-8058-a4bc4d18c742",  # SQL
]


@dataclass
class Tally:
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    written: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.requests += 1
            self.latencies.setdefault(kind, []).append(seconds)


def _rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client(base: str, n: int, deadline: float, tally: Tally) -> None:
    rng = random.Random(n)
    mine: list[str] = []
    headers = {"X-API-Key": KEY}
    with httpx.Client(base_url=base, timeout=120) as http:
        i = 0
        while time.monotonic() < deadline:
            i += 1
            roll = rng.random()
            started = time.perf_counter()
            try:
                if roll < 0.35:
                    kind = "page"
                    r = http.get("/v1/credentials", params={"offset": rng.randint(0, 500)})
                    ok = r.status_code == 200
                elif roll < 0.55:
                    kind = "search"
                    r = http.get("/v1/skills/search", params={"q": rng.choice(TARGETS), "k": 5})
                    ok = r.status_code == 200
                elif roll < 0.85:
                    kind = "recommend"
                    body = {"target": rng.choice(TARGETS), "profile": {"skills": SKILLS}, "k": 5}
                    r = http.post("/v1/recommendations", json=body)
                    ok = r.status_code == 200
                elif roll < 0.97 or not mine:
                    kind = "put"
                    cid = f"soak:c{n}-{i}"
                    record = {
                        "source": "soak",
                        "external_id": f"c{n}-{i}",
                        "title": f"Soak course {n}-{i}: stock control with spreadsheets",
                        "learning_outcomes": ["Manage stock levels in a warehouse"],
                        "languages": ["en"],
                    }
                    r = http.put(f"/v1/credentials/{cid}", json=record, headers=headers)
                    ok = r.status_code in (200, 201)
                    if ok:
                        mine.append(cid)
                        with tally.lock:
                            tally.written.add(cid)
                else:
                    kind = "delete"
                    cid = mine.pop(rng.randrange(len(mine)))
                    r = http.delete(f"/v1/credentials/{cid}", headers=headers)
                    ok = r.status_code == 204
                    if ok:
                        with tally.lock:
                            tally.deleted.add(cid)
                if not ok:
                    with tally.lock:
                        tally.errors.append(f"{kind}: {r.status_code} {r.text[:200]}")
            except httpx.HTTPError as exc:
                kind, ok = "transport", False
                with tally.lock:
                    tally.errors.append(f"{type(exc).__name__}: {exc}")
            tally.note(kind, time.perf_counter() - started)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=60)
    parser.add_argument("--rss-every", type=float, default=60, help="RSS sample period (s)")
    args = parser.parse_args()

    import uvicorn

    from skillpath.api.app import create_app
    from skillpath.engine.config import Settings

    settings = Settings().model_copy(update={"api_keys": [KEY]})
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings=settings), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            print("server did not start", file=sys.stderr)
            return 1
        time.sleep(0.1)
    base = f"http://127.0.0.1:{port}"

    def run(seconds: float, tally: Tally) -> None:
        deadline = time.monotonic() + seconds
        clients = [
            threading.Thread(target=_client, args=(base, n, deadline, tally))
            for n in range(args.clients)
        ]
        for c in clients:
            c.start()
        for c in clients:
            c.join()

    run(args.warmup, Tally())  # caches, allocator and snapshot reach their steady size
    rss_start = _rss_bytes()
    tally = Tally()
    samples: list[tuple[float, int, int]] = []  # (seconds, writes acknowledged, rss)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(args.rss_every):
            with tally.lock:
                writes = len(tally.written) + len(tally.deleted)
            samples.append((time.monotonic() - started, writes, _rss_bytes()))

    started = time.monotonic()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    run(args.seconds, tally)
    elapsed = time.monotonic() - started
    stop.set()
    rss_end = _rss_bytes()

    lost = []
    with httpx.Client(base_url=base, timeout=120) as http:
        for cid in sorted(tally.written - tally.deleted):
            if http.get(f"/v1/credentials/{cid}").status_code != 200:
                lost.append(cid)
        for cid in sorted(tally.deleted):
            if http.get(f"/v1/credentials/{cid}").status_code != 404:
                lost.append(f"{cid} (deleted, still there)")
    server.should_exit = True
    thread.join(timeout=60)

    growth = (rss_end - rss_start) / rss_start
    print(f"clients {args.clients}, {elapsed:.0f} s, {tally.requests} requests")
    print(f"throughput {tally.requests / elapsed:.1f} requests/s")
    for kind, values in sorted(tally.latencies.items()):
        print(f"  {kind:10} n={len(values):6}  p95 {_p95(values) * 1000:8.1f} ms")
    print(f"errors {len(tally.errors)}")
    for line in tally.errors[:10]:
        print(f"  {line}")
    acked, deleted = len(tally.written), len(tally.deleted)
    print(f"writes acknowledged {acked}, deleted {deleted}, lost {len(lost)}")
    print(f"rss {rss_start / 2**20:.0f} MiB -> {rss_end / 2**20:.0f} MiB ({growth:+.1%})")
    for seconds, writes, rss in samples:
        print(f"  rss at {seconds:4.0f} s, {writes:4} writes: {rss / 2**20:.0f} MiB")
    return 1 if tally.errors or lost or growth >= 0.10 else 0


if __name__ == "__main__":
    sys.exit(main())
