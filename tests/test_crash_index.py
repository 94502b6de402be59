"""Issue #13: ``kill -9`` of a real ``skillpath index build`` on a real home.

The build runs in a subprocess on a copy of the session's home (real ESCO in SQLite, the real
MiniLM and e5 indexes, the warm embedding cache, so it re-encodes nothing and the kill lands in
the FAISS writes). It is SIGKILLed twice: while the first bundle is being staged, and after
the skill bundle was published while the next one is built. After each kill every bundle is
whole (its manifest names a folder whose files match their checksums) and is the previous or
a new one, and a fresh engine on the home serves searches with the same answers as before.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skillpath.engine.index import load_bundle
from skillpath.engine.targets import TITLE_PARTNER
from skillpath.engine.taxonomy_index import OCCUPATION_BUNDLE, SKILL_BUNDLE, esco_expectation


def _build(engine, home: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "SKILLPATH_HOME": str(home),
        "SKILLPATH_SHARED_DIR": str(engine.settings.shared_dir),
        "SKILLPATH_CACHE_DIR": str(engine.settings.embedding_cache_path.parent),
        "HF_HUB_OFFLINE": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "skillpath.engine.cli", "index", "build"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _folders(home: Path) -> dict[str, str]:
    """bundle → the folder its manifest points at, for every bundle of the home."""
    out = {}
    for manifest in sorted((home / "index").glob("*/*.manifest.json")):
        name = f"{manifest.parent.name}/{manifest.name.removesuffix('.manifest.json')}"
        out[name] = json.loads(manifest.read_text())["folder"]
    return out


def _kill_when(p: subprocess.Popen, ready, what: str) -> None:
    deadline = time.monotonic() + 600
    while not ready():
        if p.poll() is not None:
            err = p.stderr.read().decode()[-2000:] if p.stderr else ""
            pytest.fail(f"the build ended before {what}: {err}")
        assert time.monotonic() < deadline, f"no {what} in time"
        time.sleep(0.005)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=60)
    assert p.returncode == -signal.SIGKILL


EXPECTED = ("encoder", "esco_version", "esco_content_hash")


def _expectations(home: Path) -> dict[str, dict]:
    """bundle → what it was built with (encoder fingerprint, ESCO release), before the kills."""
    out = {}
    for manifest in sorted((home / "index").glob("*/*.manifest.json")):
        name = f"{manifest.parent.name}/{manifest.name.removesuffix('.manifest.json')}"
        values = json.loads(manifest.read_text())
        # the catalogue bundle (if an earlier test built one) has no ESCO fields
        out[name] = {key: values[key] for key in EXPECTED if key in values}
    return out


def _check_whole(home: Path, expect: dict[str, dict]) -> None:
    """Every bundle loads with checksums verified and matches this ESCO and encoder."""
    now = _folders(home)
    assert set(now) == set(expect)  # no bundle lost
    for name, folder in now.items():
        encoder, bundle = name.split("/")
        index_dir = home / "index" / encoder
        loaded = load_bundle(index_dir, bundle, expect[name], verify_checksums=True)
        assert loaded.manifest["folder"] == folder
        assert all(v.size > 0 for v in loaded.indexes.values())


@pytest.mark.slow
def test_kill_9_during_index_build_leaves_whole_indexes_and_the_next_start_serves(engine, tmp_path):
    from skillpath.engine.backup import backup
    from skillpath.engine.service import Skillpath

    engine.catalogue.count()  # the catalogue tables exist, so the copy is a whole home
    home = tmp_path / "home"
    backup(Path(engine.settings.home), home)
    before, expect = _folders(home), _expectations(home)
    assert expect[f"{engine.encoder.name}/{SKILL_BUNDLE}"] == {
        k: v for k, v in esco_expectation(engine.store, engine.encoder).items() if k in EXPECTED
    }
    skills = f"{engine.encoder.name}/{SKILL_BUNDLE}"
    assert {skills, f"{engine.encoder.name}/{OCCUPATION_BUNDLE}"} <= set(before)
    assert f"{TITLE_PARTNER}/{OCCUPATION_BUNDLE}" in before  # the multilingual title index
    index_dir = home / "index" / engine.encoder.name

    # 1. in the middle of staging the first bundle's files
    p = _build(engine, home)
    _kill_when(p, lambda: any(index_dir.glob(f".tmp-{SKILL_BUNDLE}-*")), "staging folder")
    _check_whole(home, expect)

    # 2. once the new skill bundle is published, while the occupation bundles are built
    p = _build(engine, home)
    first = _folders(home)
    _kill_when(p, lambda: _folders(home)[skills] != first[skills], "published skill bundle")
    _check_whole(home, expect)
    assert _folders(home)[skills] != before[skills]  # the new state for this one

    # the next start serves, with the answers of before the kills
    restarted = Skillpath(engine.settings.model_copy(update={"home": home}))
    assert restarted.matching.indexes_ready()
    query = "write scripts in Python"
    assert [h.uri for h in restarted.matching.search_skills(query, 5)] == [
        h.uri for h in engine.matching.search_skills(query, 5)
    ]
    assert [h.uri for h in restarted.matching.search_occupations("nurse", 3)] == [
        h.uri for h in engine.matching.search_occupations("nurse", 3)
    ]
    # a complete build afterwards clears what the killed ones left in staging
    p = _build(engine, home)
    assert p.wait(timeout=900) == 0, p.stderr.read().decode()[-2000:] if p.stderr else ""
    assert not list((home / "index").glob("*/.tmp-*"))
    _check_whole(home, expect)
    for encoder in (home / "index").iterdir():
        # what the killed builds published and nothing points at is gone; only folders of a
        # live process (this one's, which the session built) wait their hour
        referenced = {json.loads(m.read_text())["folder"] for m in encoder.glob("*.manifest.json")}
        left = {f.name for f in encoder.iterdir() if f.is_dir()} - referenced
        assert all(name.endswith(f"-p{os.getpid()}") for name in left), left


def test_a_save_removes_folders_published_by_dead_processes_only(tmp_path):
    import numpy as np

    from skillpath.engine.index import IndexBundle, VectorIndex, save_bundle

    dead, alive = 2**22 + 12345, os.getpid()
    orphans = [
        f"demo-20260101T000000-abcdef-p{dead}",  # killed between publish and manifest
        "demo-20260101T000000-abcdee",  # an older save's name, without a pid, an hour old
    ]
    fresh = f"demo-20260101T000000-abcded-p{alive}"  # a live process: its manifest may follow
    orphans.append(f"demo-20260101T000000-abcdec-p{alive}")  # ... but not for an hour
    kept = [
        fresh,
        f"demo-extra-20260101T000000-abcdef-p{dead}",  # another bundle's folder
    ]
    for name in orphans + kept:
        (tmp_path / name).mkdir()
    old = time.time() - 7200
    for name in orphans[1:]:
        os.utime(tmp_path / name, (old, old))
    vectors = np.random.default_rng(0).normal(size=(20, 8)).astype("float32")
    bundle = IndexBundle("demo", {"main": VectorIndex.from_vectors(vectors, np.arange(20))})
    published = save_bundle(tmp_path, bundle, {})
    left = {f.name for f in tmp_path.iterdir() if f.is_dir()}
    assert left == {published.name, *kept}
    assert published.name.endswith(f"-p{alive}")
    assert load_bundle(tmp_path, "demo", {}).manifest["folder"] == published.name
