"""``skillpath catalogue import --engine ray``: the same catalogue as a local import.

Real edX rows, real ESCO index and encoder, a real local Ray cluster (2 CPUs): two copies of
the session home, one imported locally and one on Ray, must store the same credentials with
the same links and scores.
"""

from __future__ import annotations

import csv
import json
import os

import pytest

ROWS = 60
BATCH = 16  # 60 rows → 4 import batches, so both actors map some


@pytest.fixture(scope="module")
def edx_slice(shared_dir, tmp_path_factory):
    """The first rows of the real edX file, under its own name (so its mapping applies)."""
    with (shared_dir / "catalogue" / "edx-courses.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [row for _, row in zip(range(ROWS), reader, strict=False)]
    path = tmp_path_factory.mktemp("edx-slice") / "edx-courses.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _copy_home(engine, tmp_path, name, without=()):
    """A Skillpath over a copy of the session home (its ESCO store and indexes), holding
    none of the credentials ``without`` (earlier tests may have imported some of them).

    The copy is made with :func:`skillpath.engine.backup.backup` (SQLite's online backup),
    not by copying the files: closing a file this process opened on a live SQLite database
    drops the process's POSIX locks on it, and every later connection to the session home
    then fails with "disk I/O error"."""
    from skillpath.engine.backup import backup
    from skillpath.engine.config import Settings
    from skillpath.engine.service import Skillpath

    s = engine.settings
    home = tmp_path / name
    backup(s.home, home)
    sp = Skillpath(Settings(home=home, shared_dir=s.shared_dir, cache_dir=s.cache_dir))
    stored = set(sp.catalogue.store.fingerprints(sorted(without)))
    for credential_id in sorted(stored):
        sp.catalogue.store.delete(credential_id)
    return sp


def _slice_ids(path):
    from skillpath.engine.catalogue.records import MicroCredential
    from skillpath.engine.catalogue.sources import read_catalogue

    _, items = read_catalogue(path, "csv", None)
    return {item.id for item in items if isinstance(item, MicroCredential)}


def _stored(sp, ids):
    """The stored credentials of ``ids``: record, hashes, matcher and links with scores."""
    return {
        c.record.id: (c.record.model_dump_json(), c.content_hash, c.mapped_with, c.links)
        for c in sp.catalogue.store.iter_all()
        if c.record.id in ids
    }


def _differences(a, b):
    """What differs between two :func:`_stored` answers (for the assertion message)."""
    out = []
    for ident in sorted(set(a) | set(b)):
        x, y = a.get(ident), b.get(ident)
        if x == y:
            continue
        if x is None or y is None or x[:3] != y[:3]:
            out.append(f"{ident}: record or hashes differ")
            continue
        lx = {(link.skill_uri, link.source): link for link in x[3]}
        ly = {(link.skill_uri, link.source): link for link in y[3]}
        if set(lx) != set(ly):
            out.append(f"{ident}: links {sorted(set(lx) ^ set(ly))}")
        diffs = [abs(lx[k].score - ly[k].score) for k in set(lx) & set(ly)]
        out.append(f"{ident}: max score difference {max(diffs, default=0):.2e}")
    return "; ".join(out)


def _summary(stdout):
    (summary,) = json.loads(stdout[stdout.index("[") :])
    return {k: v for k, v in summary.items() if k != "seconds"}


def test_ray_import_stores_what_the_local_import_stores(
    ray_cluster, engine, edx_slice, tmp_path, monkeypatch
):
    from typer.testing import CliRunner

    from skillpath.batch.catalogue import RayMapping
    from skillpath.engine import cli
    from skillpath.engine.catalogue import importer
    from skillpath.engine.cli import app

    monkeypatch.setattr(importer, "IMPORT_BATCH", BATCH)
    ids = _slice_ids(edx_slice)
    local = _copy_home(engine, tmp_path, "local", without=ids)
    remote = _copy_home(engine, tmp_path, "ray", without=ids)
    runner = CliRunner()
    args = ["catalogue", "import", str(edx_slice), "--json"]

    def use(sp):
        """The CLI (and the Ray actors, from the environment) on ``sp``'s home, never var/."""
        for key, value in {
            "SKILLPATH_HOME": sp.settings.home,
            "SKILLPATH_SHARED_DIR": sp.settings.shared_dir,
            "SKILLPATH_CACHE_DIR": sp.settings.cache_dir,
            "HF_HUB_OFFLINE": "1",
        }.items():
            monkeypatch.setenv(key, str(value))
        monkeypatch.setattr(cli, "service", lambda: sp)  # cli.py imported it by name

    use(local)
    # A 1-CPU Ray actor runs torch, BLAS and OpenMP (FAISS) on one thread; so does the local
    # import here, so the scores are bitwise equal (with the default threads they differ by
    # ~1e-7: sums in another order).
    torch = pytest.importorskip("torch")
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            first = runner.invoke(app, args)
    finally:
        torch.set_num_threads(threads)
    assert first.exit_code == 0, first.output

    use(remote)
    sent: list[int] = []

    class Counting(RayMapping):  # the real mapper; it only records what it did on exit
        def __exit__(self, *exc):
            sent.append(self.batches)
            sent.append(len(self.pids))
            assert os.getpid() not in self.pids
            super().__exit__(*exc)

    monkeypatch.setitem(importer.MAPPING_ENGINES, "ray", Counting)
    second = runner.invoke(app, [*args, "--engine", "ray", "--workers", "2"])
    assert second.exit_code == 0, second.output

    a, b = _summary(first.stdout), _summary(second.stdout)
    assert a == b and a["imported"] == ROWS and a["inferred_links"] > ROWS
    assert sent == [ROWS // BATCH + 1, 2], "four batches, mapped by two actor processes"
    stored = _stored(local, ids)
    assert len(ids) == ROWS and set(stored) == ids
    remote_stored = _stored(remote, ids)
    assert remote_stored == stored, _differences(stored, remote_stored)


def test_ray_workers_with_another_matcher_write_nothing(ray_cluster, engine, edx_slice, tmp_path):
    from skillpath.batch.catalogue import RayMapping
    from skillpath.batch.worker import worker_env
    from skillpath.engine.catalogue.importer import import_items
    from skillpath.engine.catalogue.mapper import MatcherMapper
    from skillpath.engine.catalogue.sources import read_catalogue

    sp = _copy_home(engine, tmp_path, "other", without=_slice_ids(edx_slice))

    class OtherThreshold(MatcherMapper):  # the real matcher under another fingerprint
        fingerprint = "not-the-workers-matcher"

    s = sp.settings
    env = worker_env(
        {
            "SKILLPATH_HOME": str(s.home),
            "SKILLPATH_SHARED_DIR": str(s.shared_dir),
            "SKILLPATH_CACHE_DIR": str(s.cache_dir),
            "HF_HUB_OFFLINE": "1",
        }
    )
    before = sp.catalogue.store.revision
    source, items = read_catalogue(edx_slice, "csv", None)
    known = {k.uri for k in sp.taxonomy.skills}
    with RayMapping(workers=1, env=env) as mapping, pytest.raises(RuntimeError, match="matcher"):
        import_items(
            items,
            source,
            sp.catalogue.store,
            OtherThreshold(sp.matching.skill_matcher),
            known.__contains__,
            mapping=mapping,
        )
    assert sp.catalogue.store.revision == before
    assert not _stored(sp, _slice_ids(edx_slice))
