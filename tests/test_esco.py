"""ESCO loading and storage on the real download, plus every bad-input case.

The store tests run on both backends (``store_location``: a SQLite file, then a database on
a real PostgreSQL server started for the session).
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from skillpath.esco.loader import EscoFormatError, load_esco
from skillpath.esco.store import NotFound, Store

PYTHON = "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"


def test_counts_of_the_real_download(esco_taxonomy):
    tx = esco_taxonomy
    assert (tx.version, tx.language) == ("1.1.1", "en")
    assert len(tx.skills) == 13_896
    assert len(tx.occupations) == 3_007
    assert len(tx.occupation_skills) == 123_855
    assert sum(r.relation == "essential" for r in tx.occupation_skills) == 64_946
    assert {c.name for c in tx.collections} >= {
        "digitalSkills",
        "greenSkills",
        "transversalSkills",
        "languageSkills",
    }
    python = next(s for s in tx.skills if s.uri == PYTHON)
    assert python.preferred_label == "Python (computer programming)"
    assert python.skill_type == "knowledge"
    assert python.description


def test_store_queries_and_unknown_references(tmp_path, store_location, esco_taxonomy):
    store = Store(store_location)
    summary = store.ingest(esco_taxonomy)
    # 67 relation rows name an occupation the download does not define: reported, not lost.
    assert summary.unknown_references["occupationSkillRelations.occupationUri"] == 67
    assert summary.occupation_skills + 67 == 123_855
    assert any(
        "a9e54177-a185-404d-b6e6-15663d31137e (67 row(s), line 84425" in example
        for example in summary.unknown_examples
    )
    assert summary.skills == 13_896 and summary.occupations == 3_007
    assert store.skill(PYTHON).preferred_label == "Python (computer programming)"
    assert store.skills_by_label("python (computer programming)")[0].uri == PYTHON
    nurse = store.occupations_by_label("specialist nurse")[0]
    essential, optional = store.essential_skills(nurse.uri), store.optional_skills(nurse.uri)
    assert essential and optional and not set(essential) & set(optional)
    ancestors = [label for _, label, _ in store.broader_closure(PYTHON)]
    assert "computer programming" in ancestors
    with pytest.raises(NotFound, match="unknown ESCO skill URI"):
        store.skill("http://data.europa.eu/esco/skill/nope")


def test_reingest_is_idempotent(tmp_path, store_location, esco_taxonomy):
    store = Store(store_location)
    first = store.ingest(esco_taxonomy)
    again = store.ingest(esco_taxonomy)
    assert again.unchanged and again.skills == first.skills
    forced = store.ingest(esco_taxonomy, force=True)
    assert (forced.skills, forced.occupation_skills) == (first.skills, first.occupation_skills)
    assert store.conn.execute("SELECT count(*) FROM skill_labels").fetchone()[0] == sum(
        1 + len(s.alt_labels) + len(s.hidden_labels) for s in esco_taxonomy.skills
    )


@pytest.fixture(scope="module")
def extracted(tmp_path_factory, shared_dir) -> Path:
    folder = tmp_path_factory.mktemp("esco-extracted")
    for archive in sorted((shared_dir / "esco").glob("*.zip")):
        zipfile.ZipFile(archive).extractall(folder)
    return folder


def test_folder_layout_with_language_suffix_on_relations(tmp_path, extracted):
    folder = tmp_path / "esco"
    shutil.copytree(extracted, folder)
    for name in ("occupationSkillRelations", "skillSkillRelations"):
        (folder / f"{name}.csv").rename(folder / f"{name}_en.csv")
    tx = load_esco([folder])
    assert len(tx.occupation_skills) == 123_855 and len(tx.skill_relations) == 5_899


def test_one_zip_holding_everything(tmp_path, extracted):
    bundle = tmp_path / "ESCO dataset - v1.1.1 - classification - en - csv.zip"
    with zipfile.ZipFile(bundle, "w") as out:
        for path in extracted.glob("*.csv"):
            out.write(path, f"esco/{path.stem.removesuffix('_en')}_en.csv")
    tx = load_esco([bundle])
    assert tx.version == "1.1.1" and len(tx.skills) == 13_896


def _minimal(folder: Path, extracted: Path) -> Path:
    folder.mkdir()
    for name in ("skills_en.csv", "occupations_en.csv", "occupationSkillRelations.csv"):
        shutil.copy(extracted / name, folder / name)
    return folder


def test_missing_file_is_named(tmp_path, extracted):
    folder = _minimal(tmp_path / "esco", extracted)
    (folder / "occupations_en.csv").unlink()
    with pytest.raises(EscoFormatError, match=r"occupations\.csv.*not found"):
        load_esco([folder])


def test_missing_column_is_named(tmp_path, extracted):
    folder = _minimal(tmp_path / "esco", extracted)
    text = (folder / "skills_en.csv").read_text(encoding="utf-8")
    (folder / "skills_en.csv").write_text(text.replace("preferredLabel", "prefLabel", 1))
    with pytest.raises(
        EscoFormatError, match=r"skills_en\.csv: missing column\(s\) preferredLabel"
    ):
        load_esco([folder])


def test_non_utf8_bytes_name_the_line(tmp_path, extracted):
    folder = _minimal(tmp_path / "esco", extracted)
    path = folder / "occupations_en.csv"
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3] + b"\xff\xfe"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(EscoFormatError, match=r"occupations_en\.csv, line 4: not UTF-8"):
        load_esco([folder])


def test_empty_file(tmp_path, extracted):
    folder = _minimal(tmp_path / "esco", extracted)
    (folder / "skills_en.csv").write_bytes(b"")
    with pytest.raises(EscoFormatError, match="skills_en.csv: file is empty"):
        load_esco([folder])


def test_truncated_zip(tmp_path, shared_dir):
    source = next((shared_dir / "esco").glob("*classification*.zip"))
    broken = tmp_path / "esco-v1.1.1-classification-en-csv.zip"
    broken.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(EscoFormatError, match="not a readable zip"):
        load_esco([broken])


def test_bad_input_leaves_the_store_as_it_was(tmp_path, store_location, esco_taxonomy, extracted):
    store = Store(store_location)
    store.ingest(esco_taxonomy)
    folder = _minimal(tmp_path / "esco", extracted)
    (folder / "occupations_en.csv").write_bytes(b"conceptUri,preferredLabel\n")
    with pytest.raises(EscoFormatError):
        store.ingest(load_esco([folder]))
    assert store.skill_count() == 13_896 and store.occupation_count() == 3_007


def test_crash_mid_ingest_rolls_back(tmp_path, store_location, esco_taxonomy, monkeypatch):
    store = Store(store_location)
    store.ingest(esco_taxonomy)
    broken = type(esco_taxonomy)(**{**esco_taxonomy.__dict__, "content_hash": "other"})
    # A broken record fails the write halfway, after the skills table was already replaced.
    broken.occupations = [*esco_taxonomy.occupations[:10], None]  # type: ignore[list-item]
    with pytest.raises(AttributeError):
        store.ingest(broken)
    assert store.occupation_count() == 3_007
    assert store.esco_content_hash == esco_taxonomy.content_hash


def test_missing_path():
    with pytest.raises(EscoFormatError, match="no such file or folder"):
        load_esco([Path("/nonexistent/esco")])
