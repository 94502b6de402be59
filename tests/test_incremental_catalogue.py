"""Writes bring the catalogue's derived structures forward by the changed records only.

A PUT or DELETE of one credential used to re-parse and re-tokenise every stored record (the
snapshot and BM25 built from ``iter_all``: ~5 s of a 6.75 s PUT on the full catalogue). Now
the store logs which ids each revision changed (``CatalogueStore.changes_since``) and the
facade derives the next snapshot and BM25 from the previous ones plus those records. These
tests apply real writes to a real store and compare what the facade serves with a
from-scratch build of the same store: they fail if a change were ignored (the delta path is
asserted to have run), and the fallbacks (unknown delta, large delta) are checked too.
"""

from __future__ import annotations

import random

import bm25s
import numpy as np
import pytest

from skillpath.engine.catalogue.bm25 import CredentialBM25, bm25_text
from skillpath.engine.catalogue.records import MicroCredential, StoredLink
from skillpath.engine.catalogue.store import CHANGE_LOG_REVISIONS, CatalogueStore
from skillpath.engine.snapshot import build_snapshot
from skillpath.esco.store import Store

SKILLS = [f"http://data.europa.eu/esco/skill/s{i}" for i in range(12)]
WORDS = [
    "data",
    "analysis",
    "python",
    "sql",
    "warehouse",
    "stock",
    "control",
    "spreadsheet",
    "nurse",
    "patient",
    "care",
    "accounting",
    "ledger",
    "software",
    "java",
    "testing",
    "cloud",
    "security",
    "leadership",
    "teamwork",
]
QUERIES = ["data analysis", "warehouse stock", "python python sql", "nurse care", "the and of"]


def _record(rng: random.Random, source: str, n: int, url: str | None = None) -> MicroCredential:
    words = rng.sample(WORDS, 6)
    return MicroCredential(
        source=source,
        external_id=str(n),
        title=" ".join(words[:3]).title(),
        learning_outcomes=[" ".join(rng.sample(WORDS, 4)) for _ in range(rng.randint(0, 3))],
        description=" ".join(rng.choices(WORDS, k=rng.randint(0, 30))) or None,
        url=url or f"https://example.org/{source}/{n}",
        awarding_body=rng.choice(["Uni A", "Uni B", None]),
        languages=[rng.choice(["en", "es", "de"])],
        hours=rng.choice([None, 10.0, 40.0]),
    )


def _links(rng: random.Random) -> list[StoredLink]:
    return [
        StoredLink(uri, round(rng.uniform(0.3, 1.0), 3), "evidence", "inferred", 0, 4)
        for uri in rng.sample(SKILLS, rng.randint(0, 4))
    ]


def _from_scratch(store: CatalogueStore, labels):
    snapshot = build_snapshot(store.revision, store.iter_all(), labels)
    ids, texts = [], []
    for s in store.iter_all():
        ids.append(s.record.id)
        texts.append(bm25_text(s.record.title, s.record.learning_outcomes, s.record.description))
    return snapshot, CredentialBM25(ids, texts)


def _assert_same(served, full, served_bm25, full_bm25) -> None:
    assert served.revision == full.revision
    assert list(served.entries.items()) == list(full.entries.items())  # order too
    assert served.postings == full.postings
    assert dict(served.aliases) == dict(full.aliases)
    assert dict(served.canonical) == dict(full.canonical)
    ids = list(full.entries)
    assert sorted(served_bm25.ids) == sorted(full_bm25.ids) == sorted(ids)
    for query in QUERIES:
        assert served_bm25.score_ids(query, ids) == full_bm25.score_ids(query, ids)
        assert served_bm25.search(query, 15, full.canonical) == full_bm25.search(
            query, 15, full.canonical
        )


@pytest.fixture
def facade(tmp_path):
    """A real Skillpath over an empty temporary home (no ESCO: snapshot and BM25 only)."""
    from skillpath.engine.config import Settings
    from skillpath.engine.service import Skillpath

    return Skillpath(Settings(home=tmp_path / "home"))


def test_puts_and_deletes_give_the_snapshot_and_bm25_of_a_full_rebuild(facade):
    catalogue = facade.catalogue
    store = catalogue.store
    rng = random.Random(13)
    seed = [(_record(rng, "t", i), _links(rng)) for i in range(60)]
    # duplicates: the same course in another source (same URL), and a language copy
    seed += [
        (_record(rng, "u", i, url=f"https://www.example.org/t/{i}/"), _links(rng))
        for i in range(0, 60, 7)
    ]
    store.upsert(seed, "fp")
    catalogue.snapshot(), catalogue.bm25  # noqa: B018 - the first (full) build
    assert catalogue.incremental == {}
    live = sorted(store.content_index().values())
    next_id = 1000
    for _step in range(40):
        roll = rng.random()
        if roll < 0.35:  # a new credential, sometimes a duplicate of a stored one
            url = f"https://example.org/t/{rng.randrange(60)}" if rng.random() < 0.3 else None
            store.upsert([(_record(rng, "n", next_id, url), _links(rng))], "fp")
            next_id += 1
        elif roll < 0.7:  # an edit: new text, links, URL (may join or leave a group)
            cid = rng.choice(live)[0]
            source, external = cid.split(":", 1)
            record = _record(rng, source, int(external))
            store.upsert([(record, _links(rng))], "fp")
        elif roll < 0.9:
            store.delete(rng.choice(live)[0])
        else:  # several at once, one revision
            batch = [(_record(rng, "b", next_id + j), _links(rng)) for j in range(3)]
            next_id += 3
            store.upsert(batch, "fp")
        live = sorted(store.content_index().values())
        served, served_bm25 = catalogue.snapshot(), catalogue.bm25
        full, full_bm25 = _from_scratch(store, facade.taxonomy.all_skill_labels)
        _assert_same(served, full, served_bm25, full_bm25)
    # every write was applied as a delta (none fell back to a full rebuild)
    assert catalogue.incremental == {"_snapshot_parts": 40, "_credential_bm25": 40}
    assert any(len(ids) > 1 for ids in full.aliases.values())  # grouping was exercised


def test_unknown_or_large_deltas_rebuild_from_every_record(facade, monkeypatch):
    import skillpath.engine.catalogue_service as service

    catalogue = facade.catalogue
    store = catalogue.store
    rng = random.Random(5)
    store.upsert([(_record(rng, "t", i), _links(rng)) for i in range(20)], "fp")
    catalogue.snapshot(), catalogue.bm25  # noqa: B018

    # a gap in the change log (e.g. a store copied without it): the delta is unknown
    store.upsert([(_record(rng, "t", 100), _links(rng))], "fp")
    with store.store.db.transaction() as tx:
        tx.execute("DELETE FROM catalogue_changes")
    assert store.changes_since(store.revision - 1) is None
    full, full_bm25 = _from_scratch(store, {})
    _assert_same(catalogue.snapshot(), full, catalogue.bm25, full_bm25)
    assert catalogue.incremental == {}

    # more changed credentials than DELTA_MAX
    monkeypatch.setattr(service, "DELTA_MAX", 2)
    store.upsert([(_record(rng, "t", 200 + i), _links(rng)) for i in range(3)], "fp")
    full, full_bm25 = _from_scratch(store, {})
    _assert_same(catalogue.snapshot(), full, catalogue.bm25, full_bm25)
    assert catalogue.incremental == {}

    store.upsert([(_record(rng, "t", 300), _links(rng))], "fp")  # small again: a delta
    full, full_bm25 = _from_scratch(store, {})
    _assert_same(catalogue.snapshot(), full, catalogue.bm25, full_bm25)
    assert catalogue.incremental == {"_snapshot_parts": 1, "_credential_bm25": 1}


def test_readers_keep_the_previous_snapshot_while_a_write_derives_the_next(facade):
    """The write gate's contract holds for derived values too: another thread reading during
    the write gets the snapshot from before it; the writer derives the new one once."""
    import threading

    catalogue = facade.catalogue
    store = catalogue.store
    rng = random.Random(9)
    store.upsert([(_record(rng, "t", i), _links(rng)) for i in range(10)], "fp")
    before = catalogue.snapshot()
    builds = facade.caches.builds["catalogue_snapshot"]
    seen = []
    with facade.caches.writing():
        store.upsert([(_record(rng, "t", 50), _links(rng))], "fp")
        reader = threading.Thread(target=lambda: seen.append(catalogue.snapshot()))
        reader.start()
        reader.join()
        after = catalogue.snapshot()  # the writer sees its write
    assert seen == [before] and "t:50" not in before.entries and "t:50" in after.entries
    assert catalogue.snapshot() is after
    assert facade.caches.builds["catalogue_snapshot"] - builds == 1
    assert catalogue.incremental["_snapshot_parts"] == 1


def test_change_log_says_which_ids_changed(store_location):
    """On both backends: each revision's upserted and deleted ids, nothing for an
    unchanged upsert, None for a base older than the log or ahead of the store."""
    store = CatalogueStore(Store(store_location))
    rng = random.Random(1)
    base = store.revision
    store.upsert([(_record(rng, "t", 1), []), (_record(rng, "t", 2), [])], "fp")
    again = store.get("t:1").record
    assert store.upsert([(again, [])], "fp") == {"t:1": "unchanged"}  # no revision
    store.delete("t:2")
    store.upsert([(_record(rng, "t", 3), [])], "fp")
    assert store.changes_since(base) == (base + 3, {"t:1", "t:2", "t:3"})
    assert store.changes_since(base + 1) == (base + 3, {"t:2", "t:3"})
    assert store.changes_since(base + 3) == (base + 3, set())
    assert store.changes_since(base + 4) is None  # ahead of the store: another history
    assert [s.record.id for s in store.get_ids(["t:3", "t:2", "t:1"])] == ["t:1", "t:3"]


def test_change_log_is_bounded(tmp_path):
    store = CatalogueStore(Store(tmp_path / "s.sqlite"))
    rng = random.Random(2)
    for i in range(CHANGE_LOG_REVISIONS + 5):
        store.upsert([(_record(rng, "t", i % 3), [])], "fp")
    rows = store.store.conn.execute("SELECT count(DISTINCT revision) FROM catalogue_changes")
    assert rows.fetchone()[0] == CHANGE_LOG_REVISIONS
    assert store.changes_since(0) is None  # the early revisions are gone: unknown
    assert store.changes_since(store.revision - 10) == (store.revision, {"t:0", "t:1", "t:2"})


def test_bm25_scores_equal_bm25s_and_survive_updates_bit_for_bit():
    """The count-keeping index scores exactly as bm25s's precomputed matrix (same tokens,
    same float32 rounding), and an updated index exactly as one built from scratch."""
    rng = random.Random(3)
    docs = {f"d{i:03d}": " ".join(rng.choices(WORDS, k=rng.randint(1, 40))) for i in range(200)}
    index = CredentialBM25(list(docs), list(docs.values()))
    reference = bm25s.BM25()
    reference.index(
        bm25s.tokenize(list(docs.values()), stopwords="en", return_ids=False, show_progress=False),
        show_progress=False,
    )
    for query in QUERIES[:4]:
        tokens = bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)
        expected = np.asarray(reference.get_scores(tokens[0]), dtype=np.float32)
        assert np.array_equal(index.scores(query), expected)
    for step in range(300):  # enough removals to compact the slots at least once
        roll = rng.random()
        changed, removed = {}, []
        if roll < 0.3:
            changed[f"n{step}"] = " ".join(rng.choices(WORDS, k=rng.randint(1, 40)))
        elif roll < 0.6:
            changed[rng.choice(sorted(docs))] = " ".join(rng.choices(WORDS, k=5))
        else:
            removed.append(rng.choice(sorted(docs)))
        index = index.updated(changed, removed)
        docs.update(changed)
        for cid in removed:
            del docs[cid]
    full = CredentialBM25(list(docs), list(docs.values()))
    assert sorted(index.ids) == sorted(docs) and len(index) == len(docs)
    for query in QUERIES:
        assert index.score_ids(query, docs) == full.score_ids(query, docs)
        assert index.search(query, 20) == full.search(query, 20)
