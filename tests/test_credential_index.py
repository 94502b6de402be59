"""The credential index at query time: the IVF recall floor at 100k perturbed real vectors,
incremental refresh (one more credential encodes one text), a crash mid-save keeping the
previous index, and ``search_credentials`` through the facade."""

from __future__ import annotations

import importlib.util
import itertools
import time
from pathlib import Path

import faiss
import numpy as np
import pytest

from skillpath.engine.catalogue.vectors import CATALOGUE_BUNDLE
from skillpath.engine.embeddings import EmbeddingCache
from skillpath.engine.index import EXACT_MAX, VectorIndex, build_faiss, read_manifest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "ann.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_ann", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ivf_recall_at_100_against_exact_at_100k(engine):
    ann = _bench()
    base = np.ascontiguousarray(
        engine.matching.skill_vectors, dtype=np.float32
    )  # 13.9k real vectors
    titles = [o.preferred_label for o in engine.taxonomy.occupations[::30]][:100]
    queries = engine.matching.encode_queries(titles, cache=True).astype(np.float32)
    vectors = ann.perturbed_vectors(base, 100_000, seed=3)
    started = time.perf_counter()
    index = build_faiss(vectors, "auto")
    assert not isinstance(index, faiss.IndexFlat)  # 100k > EXACT_MAX: approximate
    _, approx = index.search(queries, 100)
    recall = ann.recall_at(approx, ann.exact_top(vectors, queries, 100))
    assert recall >= 0.97, recall  # measured 0.98+ (docs/benchmarks.md); goal 0.98
    # Build + search took 68 s at load 20 on 2 cores (16 s for the build at load 6): too
    # load-dependent to assert a time; the number is printed.
    print(f"IVF build + search at 100k: {time.perf_counter() - started:.1f} s")
    small = build_faiss(vectors[:EXACT_MAX], "auto")
    assert isinstance(small, faiss.IndexFlat)  # below the threshold: exact


def test_ivf_index_round_trips_its_vectors():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    vindex = VectorIndex.from_vectors(x, np.arange(3000) + 10, kind="ivf")
    assert not vindex.exact
    np.testing.assert_allclose(vindex.vectors(), x, atol=1e-6)
    scores, owners = vindex.search(x[:5], 1)
    assert owners[:, 0].tolist() == [10, 11, 12, 13, 14]


def _canonical(engine, cid: str) -> str:
    """Other test files import the same edX rows under other sources: duplicates, listed once."""
    return engine.catalogue.canonical_ids().get(cid, cid)


@pytest.fixture(scope="module")
def edx_records(shared_dir):
    from skillpath.engine.catalogue.csv_import import load_mapping, read_csv_catalogue
    from skillpath.engine.catalogue.records import MicroCredential

    path = shared_dir / "catalogue" / "edx-courses.csv"
    rows = itertools.islice(read_csv_catalogue(path, load_mapping("edx")), 60)
    return [
        MicroCredential.model_validate({**r.model_dump(), "source": "edx-incr"})
        for r in rows
        if isinstance(r, MicroCredential)
    ][:12]


def test_a_write_encodes_only_the_changed_credentials(engine, edx_records, monkeypatch):
    engine.catalogue.import_stream(edx_records[:10], "edx-incr")
    encoded: list[int] = []
    real = EmbeddingCache.encode

    def counting(self, encoder, texts, kind="document", *args, **kwargs):
        if kind == "document" and args[2:3] == ("credentials",):
            encoded.append(len(texts))
        return real(self, encoder, texts, kind, *args, **kwargs)

    monkeypatch.setattr(EmbeddingCache, "encode", counting)
    before = read_manifest(engine.settings.index_dir, CATALOGUE_BUNDLE)["counts"]["credentials"]
    engine.catalogue.import_stream([edx_records[10]], "edx-incr")
    assert encoded == [1]
    manifest = read_manifest(engine.settings.index_dir, CATALOGUE_BUNDLE)
    assert manifest["refresh"] == {"encoded": 1, "reused": before, "dropped": 0}
    assert manifest["counts"]["credentials"] == before + 1

    changed = edx_records[3].model_copy(update={"title": edx_records[3].title + " (2027)"})
    engine.catalogue.import_stream([changed], "edx-incr")
    assert encoded == [1, 1]
    engine.catalogue.remove(edx_records[4].id)
    manifest = read_manifest(engine.settings.index_dir, CATALOGUE_BUNDLE)
    assert manifest["refresh"]["encoded"] == 0 and manifest["refresh"]["dropped"] == 1
    bundle = engine.catalogue.bundle
    rowids = set(engine.catalogue.store.content_index())
    assert set(bundle["credentials"].owners.tolist()) == rowids
    # the changed credential's vector is its new text's, not the old one's
    hit = engine.catalogue.search(changed.title, k=1)
    assert hit[0][0] == _canonical(engine, changed.id)


def test_a_crash_while_saving_keeps_the_previous_index(engine, edx_records, monkeypatch):
    engine.catalogue.import_stream(edx_records[:11], "edx-incr")
    before = read_manifest(engine.settings.index_dir, CATALOGUE_BUNDLE)

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(faiss, "write_index", crash)
    with pytest.raises(OSError, match="simulated"):
        engine.catalogue.import_stream([edx_records[11]], "edx-incr")
    monkeypatch.undo()
    after = read_manifest(engine.settings.index_dir, CATALOGUE_BUNDLE)
    assert after["folder"] == before["folder"]  # the manifest still names the old bundle
    assert (engine.settings.index_dir / before["folder"]).is_dir()
    # the store moved on; the next read notices the stale revision and catches up
    engine.reset_caches("catalogue_bundle")
    bundle = engine.catalogue.bundle
    assert bundle.manifest["catalogue_revision"] == engine.catalogue.revision
    assert bundle.manifest["refresh"]["encoded"] == 1


def test_search_credentials_by_text_and_by_vector(engine, edx_records):
    engine.catalogue.import_stream(edx_records[:11], "edx-incr")
    record = edx_records[0]
    hits = engine.catalogue.search(record.title, k=5)
    assert len(hits) == 5 and hits[0][0] == _canonical(engine, record.id)
    assert all(-1.0 <= s <= 1.0 for _, s in hits)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    vector = engine.matching.encode_queries([record.title])[0]
    assert engine.catalogue.search(vector, k=5) == hits
    with pytest.raises(ValueError, match="dimensions"):
        engine.catalogue.search(np.zeros(7, dtype=np.float32), k=3)
    bm25 = engine.catalogue.search_bm25(record.title, k=3)
    assert bm25 and bm25[0][1] > 0
    assert _canonical(engine, record.id) in {cid for cid, _ in bm25}
