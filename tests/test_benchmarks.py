"""Benchmark loaders: the published counts on the real splits, and each protocol rule on tiny
synthetic files (stripping, dropping, merging, format detection, bad formats)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillpath.evaluation.benchmarks import (
    BenchmarkFormatError,
    default_shared_dir,
    default_skill_splits,
    default_title_split,
    gold_uris,
    load_skill_benchmark,
    load_title_benchmark,
)

SHARED = default_shared_dir()  # $SKILLPATH_SHARED_DIR, else <repo root>/../shared

# --------------------------------------------------------------------------- real files


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not found: set SKILLPATH_SHARED_DIR to the shared data folder")
    return path


@pytest.fixture(scope="module")
def esco(esco_taxonomy):
    """ESCO v1.1.1 from the session fixture in conftest (skips when the download is absent)."""
    return esco_taxonomy


@pytest.fixture(scope="module")
def preferred_labels(esco) -> frozenset[str]:
    return frozenset(skill.preferred_label for skill in esco.skills)


# name -> (rows, distinct raw sentences, queries, gold pairs, labels dropped, sentences dropped)
EXPECTED = {
    "tech_val": (293, 101, 75, 131, 140, 26),
    "house_val": (231, 77, 61, 131, 95, 16),
    "skillskape_dev": (1316, 1316, 1230, 2615, 136, 86),
    "skillskape_train": (6353, 6353, 5959, 15705, 640, 394),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_published_counts_on_real_splits(name, preferred_labels, esco):
    path = _require(default_skill_splits(SHARED, include_train=True)[name])
    bench = load_skill_benchmark(path, preferred_labels, name=name)
    rows, sentences, queries, pairs, dropped, dropped_sentences = EXPECTED[name]
    assert len(bench.queries) == queries
    assert bench.gold_pairs == pairs
    assert (bench.rows_read, bench.sentences_read) == (rows, sentences)
    assert (bench.labels_dropped, bench.sentences_dropped) == (dropped, dropped_sentences)
    assert bench.duplicates_merged == 0  # no two raw sentences strip to the same text
    assert bench.format == ("skillskape" if name.startswith("skillskape") else "annotations")
    # only the sentinel labels are dropped: every real label is an ESCO 1.1.1 preferred label
    sentinels = {"UNK"} if bench.format == "skillskape" else {"LABEL NOT PRESENT", "UNDERSPECIFIED"}
    assert set(bench.dropped_labels) == sentinels
    assert len({q.qid for q in bench.queries}) == queries
    uris = gold_uris(bench, {s.preferred_label: s.uri for s in esco.skills})
    assert sum(len(g) for g in uris.values()) == pairs


def test_title_split_on_real_file(esco):
    path = _require(default_title_split(SHARED))
    known = {o.uri for o in esco.occupations}
    bench = load_title_benchmark(path, known)
    assert bench.rows_read == 15_463
    assert len(bench) == 15_462
    # one row points at an occupation that is not in ESCO v1.1.1
    assert [(q.qid, q.title) for q in bench.unknown_uri] == [
        ("15322", "Radiation Therapy Technologist #MAT")
    ]
    assert bench.ambiguous_titles == 109
    assert all(q.title == q.title.strip() and q.occupation_uri in known for q in bench)
    assert len(load_title_benchmark(path)) == 15_463  # without known URIs nothing is left out


# --------------------------------------------------------------------------- synthetic files

LABELS = frozenset({"use Python", "teamwork principles", "SQL"})


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_annotation_format_protocol(tmp_path):
    path = _write(
        tmp_path,
        "ann.csv",
        "sentence,span,sub_span,label\n"
        "We use Python ,python,,use Python\n"  # trailing space in the raw sentence
        "We use Python ,python,,use Python\n"  # duplicate row
        "We use Python ,team,, teamwork principles \n"  # label needs strip
        " We use Python,sql,,SQL\n"  # different raw sentence, same stripped text: merged
        "Fun office,fun,,LABEL NOT PRESENT\n"  # left with no label: dropped
        "Vague,x,,UNDERSPECIFIED\n"
        "Vague,y,,use python\n"  # case differs from the preferred label: dropped
        "Only SQL,sql,,SQL\n",
    )
    bench = load_skill_benchmark(path, LABELS)
    assert bench.format == "annotations"
    assert bench.name == "ann"
    assert [(q.qid, q.text, q.gold) for q in bench.queries] == [
        ("ann:0", "We use Python", frozenset({"use Python", "teamwork principles", "SQL"})),
        ("ann:1", "Only SQL", frozenset({"SQL"})),
    ]
    assert bench.queries[0].rows == (0, 1, 2, 3)
    assert (bench.rows_read, bench.sentences_read, bench.labels_read) == (8, 5, 8)
    assert bench.labels_dropped == 3
    assert bench.dropped_labels == {"LABEL NOT PRESENT": 1, "UNDERSPECIFIED": 1, "use python": 1}
    assert (bench.sentences_dropped, bench.duplicates_merged, bench.gold_pairs) == (2, 1, 4)
    assert bench.qrels() == {
        "ann:0": {"use Python", "teamwork principles", "SQL"},
        "ann:1": {"SQL"},
    }
    assert bench.texts()["ann:1"] == "Only SQL"


def test_skillskape_format_protocol(tmp_path):
    path = _write(
        tmp_path,
        "ss.csv",
        ",sentence,skills\n"
        "0,Code in Python and SQL.,\"['use Python', 'SQL']\"\n"
        "1,Great perks!,['UNK']\n"  # dropped
        "2,  Code in Python and SQL.,\"[' teamwork principles']\"\n"  # merged after strip
        "3,Nothing here,[]\n"  # no label: dropped
        "4,Team player,\"['teamwork principles', 'Teamwork']\"\n",
    )
    bench = load_skill_benchmark(path, LABELS, name="dev")
    assert bench.format == "skillskape"
    assert [(q.qid, q.text, sorted(q.gold), q.rows) for q in bench.queries] == [
        ("dev:0", "Code in Python and SQL.", ["SQL", "teamwork principles", "use Python"], (0, 2)),
        ("dev:1", "Team player", ["teamwork principles"], (4,)),
    ]
    assert (bench.rows_read, bench.labels_read, bench.labels_dropped) == (5, 6, 2)
    assert bench.dropped_labels == {"UNK": 1, "Teamwork": 1}
    assert (bench.sentences_dropped, bench.duplicates_merged, bench.gold_pairs) == (2, 1, 4)


def test_gold_uris_maps_and_refuses_unknown_labels(tmp_path):
    path = _write(tmp_path, "ss.csv", ",sentence,skills\n0,a,\"['SQL', 'use Python']\"\n")
    bench = load_skill_benchmark(path, LABELS)
    assert gold_uris(bench, {"SQL": "u:sql", "use Python": "u:py"}) == {"ss:0": {"u:sql", "u:py"}}
    with pytest.raises(ValueError, match="no URI"):
        gold_uris(bench, {"SQL": "u:sql"})


def test_bad_formats_name_the_file_and_missing_columns(tmp_path):
    path = _write(tmp_path, "odd.csv", "text,skill\nhello,SQL\n")
    with pytest.raises(BenchmarkFormatError) as err:
        load_skill_benchmark(path, LABELS)
    message = str(err.value)
    assert str(path) in message
    assert "missing: sentence, label" in message and "missing: sentence, skills" in message
    assert "Found: text, skill" in message

    broken = _write(tmp_path, "broken.csv", ",sentence,skills\n0,a,['SQL'\n")
    with pytest.raises(BenchmarkFormatError, match="data row 0.*Python list"):
        load_skill_benchmark(broken, LABELS)
    not_strings = _write(tmp_path, "nums.csv", ",sentence,skills\n0,a,[1]\n")
    with pytest.raises(BenchmarkFormatError, match="list of strings"):
        load_skill_benchmark(not_strings, LABELS)
    with pytest.raises(BenchmarkFormatError, match="empty"):
        load_skill_benchmark(_write(tmp_path, "empty.csv", ""), LABELS)
    with pytest.raises(BenchmarkFormatError, match="cannot read"):
        load_skill_benchmark(tmp_path / "absent.csv", LABELS)
    with pytest.raises(ValueError, match="empty"):
        load_skill_benchmark(path, [])
    with pytest.raises(TypeError, match="one string"):
        load_skill_benchmark(path, "SQL")
    with pytest.raises(BenchmarkFormatError, match="missing column\\(s\\) conceptUri"):
        load_title_benchmark(_write(tmp_path, "t.csv", ",vacancyTitle\n0,Dev\n"))


def test_title_loader_strips_reports_unknown_and_keeps_rows(tmp_path):
    path = _write(
        tmp_path,
        "titles.csv",
        ",vacancyTitle,conceptUri\n"
        "0, Data Engineer ,occ:1\n"
        "1,Data Engineer,occ:2\n"  # same stripped title, other URI: both kept, 1 ambiguous
        "2,   ,occ:1\n"  # blank title: skipped
        "3,Astronaut,occ:99\n",  # unknown URI
    )
    bench = load_title_benchmark(path, {"occ:1", "occ:2"})
    assert [(q.qid, q.title, q.occupation_uri) for q in bench] == [
        ("0", "Data Engineer", "occ:1"),
        ("1", "Data Engineer", "occ:2"),
    ]
    assert bench[1].occupation_uri == "occ:2"
    assert [q.qid for q in bench.unknown_uri] == ["3"]
    assert (bench.rows_read, bench.blank_titles, bench.ambiguous_titles) == (4, 1, 1)
    assert bench.gold() == {"0": "occ:1", "1": "occ:2"}
    assert len(load_title_benchmark(path)) == 3


def test_default_paths(tmp_path, monkeypatch):
    splits = default_skill_splits(tmp_path)
    assert set(splits) == {"tech_val", "house_val", "skillskape_dev"}
    assert splits["tech_val"] == tmp_path / "bench/skill-extraction/tech_validation_annotations.csv"
    assert "skillskape_train" in default_skill_splits(tmp_path, include_train=True)
    assert default_title_split(tmp_path).name == "jobbert-validation.csv"
    monkeypatch.setenv("SKILLPATH_SHARED_DIR", str(tmp_path))
    assert default_shared_dir() == tmp_path
    monkeypatch.delenv("SKILLPATH_SHARED_DIR")
    # the one default (Settings.shared_dir): beside the working directory, never found from
    # __file__, which points into site-packages once installed
    assert default_shared_dir() == Path("../shared")
