"""The catalogue pipeline over the real store, matcher and FAISS: import, idempotence, delete,
declared vs inferred skills, export round trips, and consistency after a crash mid-import."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from skillpath.engine.catalogue.csv_import import count_csv_rows, load_mapping, read_csv_catalogue
from skillpath.engine.catalogue.elm import read_elm
from skillpath.engine.catalogue.ob3 import read_ob3
from skillpath.engine.catalogue.records import MicroCredential
from skillpath.engine.catalogue.store import CatalogueStore
from skillpath.esco.store import NotFound

FIXTURES = Path(__file__).parent / "fixtures" / "catalogue"


@pytest.fixture(scope="module")
def elm_path(shared_dir) -> Path:
    return shared_dir / "standards" / "elm-v3-microcredential-sample.jsonld"


@pytest.fixture(scope="module")
def elm_imported(engine, elm_path):
    return engine.catalogue.import_file(elm_path, "elm")


def _vectors_match_store(engine) -> None:
    bundle = engine.catalogue.bundle
    rowids = {c.rowid for c in engine.catalogue.iter_all()}
    assert set(bundle["credentials"].owners.tolist()) == rowids
    assert bundle["credentials"].size == len(rowids)


def test_elm_sample_imports_with_declared_and_inferred_skills(engine, elm_imported):
    assert elm_imported.read == elm_imported.records >= 1 and elm_imported.skipped == 0
    stored = engine.catalogue.get(elm_imported.ids[0])
    sources = {link.source for link in stored.links}
    assert {"declared", "inferred"} <= sources
    declared = {d.uri for d in stored.record.declared_skills}
    assert declared and declared >= {
        link.skill_uri for link in stored.links if link.source == "declared"
    }
    for link in stored.links:
        if link.source == "inferred":
            assert link.evidence in stored.record.learning_outcomes
            assert 0 <= link.score <= 1
    _vectors_match_store(engine)


def test_reimport_is_a_no_op(engine, elm_path, elm_imported):
    revision = engine.catalogue.revision
    again = engine.catalogue.import_file(elm_path, "elm")
    assert (again.imported, again.updated, again.unchanged) == (0, 0, elm_imported.records)
    assert engine.catalogue.revision == revision


def test_elm_round_trip_keeps_record_and_skills(engine, elm_imported):
    credential_id = elm_imported.ids[0]
    original = engine.catalogue.get(credential_id)
    exported = engine.catalogue.export(credential_id, "elm")
    (record,) = [i for i in read_elm(exported) if isinstance(i, MicroCredential)]
    for name in (
        "title",
        "learning_outcomes",
        "ects",
        "hours",
        "eqf_level",
        "mode",
        "languages",
        "awarding_body",
        "country",
    ):
        assert getattr(record, name) == getattr(original.record, name), name
    # Declared skills come back declared; inferred ones are in the export (ESCO-enriched) but
    # marked as skillpath's, so a re-import never passes them off as the provider's.
    declared = {link.skill_uri for link in original.links if link.source == "declared"}
    inferred = {link.skill_uri for link in original.links if link.source == "inferred"}
    assert {d.uri for d in record.declared_skills} == declared
    assert inferred and all(uri in json.dumps(exported) for uri in inferred)


@pytest.mark.parametrize("fixture", ["ob3-achievement.json", "ob3-credential.json"])
def test_ob3_import_export_import(engine, fixture):
    summary = engine.catalogue.import_file(FIXTURES / fixture, "ob3")
    assert summary.records >= 1
    credential_id = summary.ids[0]
    exported = engine.catalogue.export(credential_id, "ob3")
    # An offer exports as an Achievement; an issued credential wraps it in its subject.
    achievement = (
        exported
        if "Achievement" in exported["type"]
        else exported["credentialSubject"]["achievement"]
    )
    assert "Achievement" in achievement["type"]
    esco = [a for a in achievement.get("alignment", []) if "esco" in a.get("targetUrl", "")]
    assert esco, "export aligns to ESCO skills"
    (record,) = [i for i in read_ob3(exported) if isinstance(i, MicroCredential)]
    assert record.title == engine.catalogue.get(credential_id).record.title
    engine.catalogue.remove(credential_id)


def test_delete_removes_credential_and_vector(engine):
    summary = engine.catalogue.import_file(FIXTURES / "ob3-odd.json", "ob3")
    credential_id = summary.ids[0]
    engine.catalogue.remove(credential_id)
    with pytest.raises(NotFound):
        engine.catalogue.get(credential_id)
    with pytest.raises(NotFound):
        engine.catalogue.remove(credential_id)
    _vectors_match_store(engine)


def test_real_csv_slice_every_row_accounted_for(engine, shared_dir, tmp_path):
    source = shared_dir / "catalogue" / "coursera-courses.csv"
    # The first 400 lines hold broken-quoting rows too (reported, skipped, the rest lands).
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)[:400]
    sample = tmp_path / "coursera-courses.csv"
    sample.write_text("".join(lines), encoding="utf-8")
    summary = engine.catalogue.import_file(sample, "csv", "coursera")
    assert summary.read == count_csv_rows(sample)
    assert summary.read == summary.records + summary.skipped
    assert summary.records > 300
    for issue in summary.issues:
        if issue.severity == "skipped" and issue.line is not None:
            assert 1 < issue.line <= 400
    stats = engine.catalogue.stats()["by_source"]["coursera"]
    assert stats["with_inferred"] > 0.6 * summary.records
    # A course that states no outcomes keeps none (nothing invented); its skills are inferred
    # from its title and description, and that text is the evidence.
    bare = [
        c
        for c in engine.catalogue.list(source="coursera", limit=400)
        if not c.record.learning_outcomes and c.links
    ]
    assert bare
    for stored in bare[:20]:
        text = " ".join([stored.record.title, stored.record.description or ""])
        for link in stored.links:
            if link.source == "inferred":
                assert link.evidence in text
    assert stats["with_tag"] > 0.5 * summary.records
    _vectors_match_store(engine)


def test_crash_mid_import_leaves_store_and_vectors_consistent(engine, shared_dir, monkeypatch):
    path = shared_dir / "catalogue" / "edx-courses.csv"
    # A source of its own, so records other tests imported from the same file don't count.
    records = (
        MicroCredential.model_validate({**i.model_dump(), "source": "edx-crash"})
        for i in read_csv_catalogue(path, load_mapping("edx"))
        if isinstance(i, MicroCredential)
    )
    items = list(itertools.islice(records, 120))
    before = engine.catalogue.count()
    calls = {"n": 0}
    real_upsert = CatalogueStore.upsert

    def failing_upsert(self, rows, mapped_with):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated crash")
        return real_upsert(self, rows, mapped_with)

    monkeypatch.setattr(CatalogueStore, "upsert", failing_upsert)
    with pytest.raises(RuntimeError, match="simulated crash"):
        from skillpath.engine.catalogue.importer import import_items
        from skillpath.engine.catalogue.mapper import MatcherMapper

        import_items(
            items,
            "edx-crash",
            engine.catalogue.store,
            MatcherMapper(engine.matching.skill_matcher),
            lambda u: True,
            batch_size=50,
        )
    monkeypatch.undo()
    # First batch landed whole (records with their links), the second not at all.
    assert engine.catalogue.count() == before + 50
    stored_ids = {c.record.id for c in engine.catalogue.list(source="edx-crash", limit=1000)}
    assert {r.id for r in items[:50]} <= stored_ids
    assert not {r.id for r in items[50:100]} & stored_ids
    orphans = engine.store.conn.execute(
        "SELECT count(*) FROM credential_skills WHERE credential_rowid NOT IN"
        " (SELECT rowid FROM credentials)"
    ).fetchone()[0]
    assert orphans == 0
    # The vectors were not refreshed by the crashed import; the next read rebuilds them.
    engine.reset_caches("catalogue_bundle")
    _vectors_match_store(engine)
    # Re-running the import completes it; the 50 already stored are unchanged.
    summary = engine.catalogue.import_stream(iter(items), "edx-crash")
    assert (summary.unchanged, summary.imported) == (50, 70)
    _vectors_match_store(engine)
