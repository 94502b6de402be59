"""Indexes over the real ESCO: search quality floors, manifest checks, atomic rebuilds, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from skillpath.engine.cli import app
from skillpath.engine.embeddings import EmbeddingCache
from skillpath.engine.index import (
    IndexMismatch,
    IndexMissing,
    load_bundle,
    read_manifest,
    save_bundle,
)
from skillpath.engine.matching import EmptyQuery
from skillpath.engine.service import Skillpath
from skillpath.engine.taxonomy_index import SKILL_BUNDLE, esco_expectation
from skillpath.models.encoder import Encoder


def test_python_scripts_find_python(engine):
    hits = engine.matching.search_skills("write scripts in Python", k=3)
    assert "Python (computer programming)" in [h.label for h in hits]
    assert all(0 <= h.score <= 1.0001 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_nurse_finds_a_nursing_occupation(engine):
    hits = engine.matching.search_occupations("nurse", k=3)
    assert any("nurse" in h.label for h in hits)


def test_occupation_detail_by_label_and_uri(engine):
    by_label = engine.taxonomy.occupation_detail("data analyst")
    by_uri = engine.taxonomy.occupation_detail(by_label.occupation.uri)
    assert by_label == by_uri
    assert by_label.essential and by_label.optional
    assert {s.uri for s in by_label.essential}.isdisjoint(s.uri for s in by_label.optional)


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\x00\x01"])
def test_empty_queries_are_refused(engine, text):
    with pytest.raises(EmptyQuery):
        engine.matching.search_skills(text)
    with pytest.raises(EmptyQuery):
        engine.matching.search_occupations(text)


class _OtherEncoder(Encoder):
    """Same vectors as the real encoder, another fingerprint: stands for another model."""

    name = "other"

    def __init__(self, inner: Encoder) -> None:
        self.inner, self.dimension = inner, inner.dimension

    @property
    def fingerprint(self) -> str:
        return "other-model-v0"

    def _encode(self, texts, kind):
        return self.inner._encode(texts, kind)


def test_index_built_with_one_encoder_is_refused_by_another(engine):
    other = _OtherEncoder(engine.encoder)
    with pytest.raises(IndexMismatch, match="skillpath index build"):
        load_bundle(engine.settings.index_dir, SKILL_BUNDLE, esco_expectation(engine.store, other))


def test_missing_index_says_how_to_build(tmp_path, engine):
    with pytest.raises(IndexMissing, match="skillpath index build"):
        load_bundle(tmp_path, SKILL_BUNDLE, {})


def test_crash_mid_save_keeps_previous_index(engine, monkeypatch):
    index_dir = engine.settings.index_dir
    before = read_manifest(index_dir, SKILL_BUNDLE)
    bundle = load_bundle(index_dir, SKILL_BUNDLE, esco_expectation(engine.store, engine.encoder))

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("skillpath.engine.index.np.save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_bundle(index_dir, bundle, dict(before))
    monkeypatch.undo()
    assert read_manifest(index_dir, SKILL_BUNDLE) == before
    reloaded = load_bundle(index_dir, SKILL_BUNDLE, esco_expectation(engine.store, engine.encoder))
    assert reloaded["labels"].size == bundle["labels"].size


def test_corrupted_index_file_is_refused(tmp_path, engine):
    index_dir = tmp_path / "index"
    bundle = load_bundle(
        engine.settings.index_dir, SKILL_BUNDLE, esco_expectation(engine.store, engine.encoder)
    )
    folder = save_bundle(index_dir, bundle, {"encoder": "x"})
    owners = folder / "labels.owners.npy"
    owners.write_bytes(owners.read_bytes()[:-8])
    with pytest.raises(IndexMismatch, match="checksum"):
        load_bundle(index_dir, SKILL_BUNDLE, {"encoder": "x"})


def test_embedding_cache_reencodes_only_new_texts(tmp_path, engine):
    calls: list[int] = []

    class Counting(_OtherEncoder):
        def _encode(self, texts, kind):
            calls.append(len(texts))
            return super()._encode(texts, kind)

    encoder = Counting(engine.encoder)
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    first = cache.encode(encoder, ["data analysis", "nursing care", "data analysis"])
    assert sum(calls) == 2
    second = cache.encode(encoder, ["nursing care", "welding"])
    assert sum(calls) == 3
    # the vector is the same whether it was just encoded or read back (float16 as stored)
    np.testing.assert_array_equal(first[1], second[0])
    assert float(first[0] @ first[2]) == pytest.approx(1.0, abs=1e-5)


def test_each_skill_has_label_and_description_vectors(engine):
    manifest = read_manifest(engine.settings.index_dir, SKILL_BUNDLE)
    assert manifest["counts"]["descriptions"] == 13_896
    variants = sum(len(s.label_variants) for s in engine.taxonomy.skills)
    assert manifest["counts"]["labels"] == variants
    assert manifest["esco_version"] == "1.1.1"


@pytest.fixture()
def cli_env(engine, monkeypatch):
    monkeypatch.setenv("SKILLPATH_HOME", str(engine.settings.home))
    monkeypatch.setenv("SKILLPATH_CACHE_DIR", str(engine.settings.embedding_cache_path.parent))
    monkeypatch.setattr("skillpath.engine.cli.service", lambda: engine)
    return CliRunner()


def test_cli_search_json_and_table(cli_env):
    result = cli_env.invoke(
        app, ["skills", "search", "write scripts in Python", "-k", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    labels = [hit["label"] for hit in json.loads(result.stdout)]
    assert "Python (computer programming)" in labels
    table = cli_env.invoke(app, ["occupations", "show", "data analyst"])
    assert table.exit_code == 0 and "essential skills" in table.stdout


def test_cli_usage_errors(cli_env):
    result = cli_env.invoke(app, ["skills", "search", "   "])
    assert result.exit_code == 2
    unknown = cli_env.invoke(
        app, ["occupations", "show", "http://data.europa.eu/esco/occupation/x"]
    )
    assert unknown.exit_code == 1 and "unknown ESCO occupation URI" in unknown.output


def test_service_without_esco_says_ingest(tmp_path):
    from skillpath.engine.config import Settings

    sp = Skillpath(Settings(home=tmp_path, cache_dir=tmp_path))
    with pytest.raises(RuntimeError, match="skillpath esco ingest"):
        sp.matching.build_indexes()
