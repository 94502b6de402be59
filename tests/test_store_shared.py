"""Two API instances over one PostgreSQL store: a write through one is seen by the other.

Two real uvicorn servers (separate processes, separate homes: nothing shared but the
database, as on two hosts) on free loopback ports, over a database on the session's real
PostgreSQL server holding the real ESCO. Each home gets a copy of the session's ESCO indexes
(the credential vectors are left out: each instance builds its own from the store). A
credential PUT through instance A is served, and ranked, by instance B on its next request;
a DELETE through B is gone from A's next answer.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from skillpath.engine.catalogue.vectors import CATALOGUE_BUNDLE
from skillpath.esco.store import Store

KEY = "shared-store-write-key-51"
CREDENTIAL = {
    "source": "pg-test",
    "external_id": "stock-1",
    "title": "Warehouse stock control with spreadsheets",
    "learning_outcomes": [
        "Manage stock levels and inventory in a warehouse",
        "Analyse sales data with spreadsheets",
    ],
    "languages": ["ga"],  # no other credential is in Irish: a filtered ranking shows just it
    "mode": "online",
    "hours": 12,
}
ONLY_IRISH = {
    "target": "warehouse manager",
    "constraints": {"languages": ["ga"], "strict": True},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _home(engine, path):
    path.mkdir()
    shutil.copytree(
        engine.settings.index_dir,
        path / engine.settings.index_dir.relative_to(engine.settings.home),
        ignore=shutil.ignore_patterns(CATALOGUE_BUNDLE),
    )
    return path


class Instance:
    """One ``uvicorn skillpath.api.app:create_app --factory`` process on a loopback port."""

    def __init__(self, home, database_url: str, cache_dir, log) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "SKILLPATH_HOME": str(home),
            "SKILLPATH_DATABASE_URL": database_url,
            "SKILLPATH_CACHE_DIR": str(cache_dir),
            "SKILLPATH_API_KEYS": f'["{KEY}"]',
            "HF_HUB_OFFLINE": "1",
        }
        self.log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "skillpath.api.app:create_app", "--factory"]
            + ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"instance on {self.url} exited: see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"instance on {self.url} not up after {timeout} s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@contextmanager
def running_instances(engine, esco_taxonomy, pg_url, tmp_path) -> Iterator[list[Instance]]:
    """Two API instances ("a", "b") over one PostgreSQL store with ESCO ingested, stopped on
    exit (also by tests/test_audit_shared.py)."""
    Store(pg_url).ingest(esco_taxonomy)
    cache = engine.settings.cache_dir or engine.settings.home / "cache"
    instances = [
        Instance(_home(engine, tmp_path / name), pg_url, cache, tmp_path / f"{name}.log")
        for name in ("a", "b")
    ]
    try:
        for instance in instances:
            instance.wait_ready()
        yield instances
    finally:
        for instance in instances:
            instance.stop()


@pytest.fixture
def two_instances(engine, esco_taxonomy, pg_url, tmp_path):
    with running_instances(engine, esco_taxonomy, pg_url, tmp_path) as instances:
        yield instances


def test_a_write_through_one_instance_is_seen_by_the_other(two_instances):
    a, b = (httpx.Client(base_url=i.url, timeout=120) for i in two_instances)
    path = "/v1/credentials/pg-test:stock-1"

    def ranked(client: httpx.Client) -> list[str]:
        r = client.post("/v1/recommendations", json=ONLY_IRISH)
        assert r.status_code == 200, r.text
        return [item["id"] for item in r.json()["ranking"]["items"]]

    # both have served a ranking first, so each holds a snapshot of the empty catalogue
    assert ranked(a) == [] and ranked(b) == []
    assert b.get(path).status_code == 404

    put = a.put(path, json=CREDENTIAL, headers={"X-API-Key": KEY})
    assert put.status_code == 201, put.text

    seen = b.get(path)
    assert seen.status_code == 200, seen.text
    assert seen.json()["credential"]["title"] == CREDENTIAL["title"]
    assert seen.json()["skills"]  # mapped to ESCO by A, read back by B
    assert ranked(b) == ["pg-test:stock-1"]  # B's snapshot and vectors moved on by themselves

    gone = b.delete(path, headers={"X-API-Key": KEY})
    assert gone.status_code == 204, gone.text
    assert a.get(path).status_code == 404
    assert ranked(a) == []
