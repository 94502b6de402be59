"""Shared fixtures: the real ESCO data, ingested and indexed once per test session.

The session home is a temporary folder; the embedding cache lives in ``var/cache`` (or
``SKILLPATH_CACHE_DIR``) so a second test run re-encodes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SKILLPATH_SHARED_DIR", REPO.parent / "shared")).resolve()
ESCO_DIR = SHARED / "esco"


# A test is marked by what it needs, read off the fixtures it uses (directly or through other
# fixtures), so a new test is marked truthfully without anyone remembering to.
NEEDS = {
    "engine": "slow",
    "esco_taxonomy": "esco",
    "torch_encoder": "model",
    "onnx_encoder": "model",
    "int8_encoder": "model",
    "pg_server": "server",
    "extracted": "esco",  # test_esco.py: the real ESCO zips, extracted
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture, marker in NEEDS.items():
            if fixture in item.fixturenames:
                item.add_marker(marker)
        # ``store_location`` asks for ``pg_url`` only at run time, for its postgresql case:
        # that case needs the server although the fixture names above do not say so.
        params = getattr(item, "callspec", None)
        if params is not None and params.params.get("store_location") == "postgresql":
            item.add_marker("server")


def require_shared() -> Path:
    if not ESCO_DIR.exists():
        pytest.skip(f"ESCO download not found at {ESCO_DIR} (set SKILLPATH_SHARED_DIR)")
    return SHARED


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return require_shared()


@pytest.fixture(scope="session")
def esco_taxonomy(shared_dir):
    from skillpath.esco.loader import load_esco

    return load_esco([shared_dir / "esco"])


@pytest.fixture(scope="session")
def settings(tmp_path_factory, shared_dir):
    from skillpath.engine.config import Settings

    home = tmp_path_factory.mktemp("skillpath-home")
    cache = Path(os.environ.get("SKILLPATH_CACHE_DIR", REPO / "var" / "cache"))
    return Settings(home=home, shared_dir=shared_dir, cache_dir=cache)


@pytest.fixture(scope="session")
def engine(settings, esco_taxonomy):
    """A Skillpath over the real ESCO with built indexes: built once for the whole session."""
    from skillpath.engine.service import Skillpath

    sp = Skillpath(settings)
    sp.store.ingest(esco_taxonomy)
    sp.matching.build_indexes()
    return sp


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server in a temporary data folder for the whole session, stopped at
    the end (tests/pg.py). Skipped only when no server binaries are installed."""
    from pg import postgres_bin, start_server

    if postgres_bin() is None:
        pytest.skip("PostgreSQL server binaries not installed (make postgres installs them)")
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server, request):
    """The URL of a new, empty database on the session's server (one per test)."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:40]
    name = f"{name}_{os.getpid()}_{next(_db_numbers)}"
    return pg_server.create_database(name)


_db_numbers = iter(range(1, 1_000_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request, tmp_path):
    """Where a store lives, once per backend: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "store.sqlite"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="module")
def ray_cluster():
    """A real local Ray cluster of 2 CPUs for one test module (the batch and import tests)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
