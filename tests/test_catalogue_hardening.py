"""Issue #13 at the catalogue layer: field caps, ids, URLs, LIKE escaping, durable writes.

A real SQLite store in a temp folder and a database on a real PostgreSQL server (the
``catalogue`` fixture runs on both); records go through the real readers and the real upsert.
(The HTTP side of the same findings is in test_api_hardening.py.)
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from skillpath.engine.catalogue.importer import MAX_ISSUES, ImportSummary, without_person
from skillpath.engine.catalogue.records import (
    MAX_DESCRIPTION_CHARS,
    MAX_LIST_ITEMS,
    ImportIssue,
    MicroCredential,
)
from skillpath.engine.catalogue.store import CatalogueStore
from skillpath.esco.store import Store


def record(external_id: str = "1", **extra) -> MicroCredential:
    return MicroCredential(**{"source": "t", "external_id": external_id, "title": "SQL", **extra})


@pytest.fixture
def catalogue(store_location) -> CatalogueStore:
    """Once on a SQLite file, once on a real PostgreSQL database."""
    return CatalogueStore(Store(store_location))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", "x" * (MAX_DESCRIPTION_CHARS + 1)),
        ("title", "T" * 1001),
        ("learning_outcomes", ["outcome"] * (MAX_LIST_ITEMS + 1)),
        ("learning_outcomes", ["o" * 10_001]),
        ("source", "s" * 65),
        ("external_id", "e" * 501),
    ],
)
def test_field_caps_name_the_field(field, value):
    with pytest.raises(ValidationError) as caught:
        MicroCredential(**{"source": "t", "external_id": "1", "title": "x", field: value})
    assert caught.value.errors()[0]["loc"][0] == field


def test_source_must_not_contain_a_colon():
    # "a:b" + "c" and "a" + "b:c" would both be the credential "a:b:c"
    with pytest.raises(ValidationError, match="must not contain ':'"):
        MicroCredential(source="a:b", external_id="c", title="x")
    assert MicroCredential(source="a", external_id="b:c", title="x").id == "a:b:c"


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "ftp://x.eu", "x.eu"]
)
def test_url_is_http_or_https_only(url):
    with pytest.raises(ValidationError, match="not an http"):
        record(url=url)
    assert record(url="HTTPS://x.eu/a?b=1").url == "HTTPS://x.eu/a?b=1"


def test_a_stored_record_with_an_old_bad_url_still_reads_without_it(catalogue):
    catalogue.upsert([(record("old"), [])], "fp")
    bad = record("old").model_dump(mode="json") | {"url": "javascript:alert(1)"}
    with catalogue.store.transaction() as conn:
        conn.execute("UPDATE credentials SET record = ? WHERE id = 't:old'", (json.dumps(bad),))
    assert catalogue.get("t:old").record.url is None


def test_csv_row_with_a_bad_url_keeps_the_row_and_warns(tmp_path):
    from skillpath.engine.catalogue.csv_import import load_mapping, read_csv_catalogue

    columns = sorted(load_mapping("eu-modules").columns_used())
    rows = [
        {"course_id": "1", "lesson_name": "Databases", "website": "javascript:alert(1)"},
        {"course_id": "2", "lesson_name": "Networks", "website": "https://x.eu"},
    ]
    path = tmp_path / "m.csv"
    lines = [",".join(columns)] + [",".join(r.get(c, "") for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    items = list(read_csv_catalogue(path, "eu-modules"))
    records = [i for i in items if isinstance(i, MicroCredential)]
    warnings = [i for i in items if isinstance(i, ImportIssue)]
    assert [r.url for r in records] == [None, "https://x.eu"]
    assert [(w.field, w.severity, w.line) for w in warnings] == [("url", "warning", 2)]


def test_csv_mapping_source_with_a_colon_is_a_mapping_error(tmp_path):
    from skillpath.engine.catalogue.csv_import import MappingError, load_mapping

    text = (load_mapping("edx").path).read_text().replace('source = "edx"', 'source = "e:dx"')
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(MappingError, match="no ':'"):
        load_mapping(tmp_path / "bad.toml")


def test_title_filter_escapes_like_wildcards(catalogue):
    rows = [
        (record("1", title="100% SQL"), []),
        (record("2", title="snake_case Python"), []),
        (record("3", title="1000 SQL tips"), []),
        (record("4", title="back\\slash"), []),
    ]
    catalogue.upsert(rows, "fp")
    assert [c.record.title for c in catalogue.list(query="0%")] == ["100% SQL"]
    assert catalogue.count(query="%") == 1
    assert catalogue.count(query="_") == 1
    assert catalogue.count(query="e_c") == 1  # snake_case, not "ekec"-like matches
    assert catalogue.count(query="0_ S") == 0
    assert catalogue.count(query="\\") == 1
    assert catalogue.count(query="SQL") == 2


def test_catalogue_writes_run_with_synchronous_full(tmp_path):
    # NORMAL in WAL mode can lose the last commits in a power cut; an acknowledged
    # catalogue write must not be lost. Checked from inside the write transaction (SQLite
    # only: a PostgreSQL commit is durable as it is).
    catalogue = CatalogueStore(Store(tmp_path / "store.sqlite"))
    seen = []

    def rows():
        seen.append(catalogue.store.conn.execute("PRAGMA synchronous").fetchone()[0])
        yield record("durable"), []

    catalogue.upsert(rows(), "fp")
    assert seen == [2]  # 2 = FULL
    assert catalogue.store.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL after


def test_issue_list_is_capped_with_exact_counts():
    summary = ImportSummary(source="t")
    for i in range(MAX_ISSUES * 3):
        summary.add_issue(ImportIssue(reason=f"object #{i}: not a JSON object"))
    summary.add_issue(ImportIssue(reason="declared skill x: kept out", severity="warning"))
    assert len(summary.issues) == MAX_ISSUES
    assert summary.issue_count == MAX_ISSUES * 3 + 1
    assert summary.issues_omitted == MAX_ISSUES * 2 + 1
    assert sum(summary.skip_reasons().values()) == MAX_ISSUES * 3  # skipped ones, all counted


def test_the_person_of_an_issued_credential_is_dropped():
    issued = record("cred", learner="Maria Rossi", grade="Pass with distinction")
    kept, issue = without_person(issued)
    assert kept.learner is None and kept.grade is None and kept.title == issued.title
    assert issue is not None and issue.severity == "warning" and "learner" in issue.field
    offering = record("offer")
    assert without_person(offering) == (offering, None)


def test_a_stored_learner_is_never_read_back(catalogue):
    catalogue.upsert([(record("legacy"), [])], "fp")
    legacy = record("legacy").model_dump(mode="json") | {"learner": "Maria Rossi", "grade": "A"}
    with catalogue.store.transaction() as conn:
        conn.execute(
            "UPDATE credentials SET record = ? WHERE id = 't:legacy'", (json.dumps(legacy),)
        )
    got = catalogue.get("t:legacy").record
    assert got.learner is None and got.grade is None
    assert all(c.record.learner is None for c in catalogue.list())
