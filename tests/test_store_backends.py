"""The store on both backends: a SQLite file and a database on a real PostgreSQL server.

Migrations, catalogue upsert / read / delete, the revision bump, an interrupted write, a
second store (another API instance) seeing a write at once, and concurrent writers on
PostgreSQL losing no revision bump. The server is started for the session by tests/pg.py.
"""

from __future__ import annotations

import threading

import pytest

from skillpath.engine.catalogue.records import MicroCredential
from skillpath.engine.catalogue.store import MIGRATIONS as CATALOGUE_MIGRATIONS
from skillpath.engine.catalogue.store import CatalogueStore, StoredLink, copy_store
from skillpath.errors import InvalidInput
from skillpath.esco.db import StoreUnavailable, redact, to_postgres
from skillpath.esco.store import MIGRATIONS as ESCO_MIGRATIONS
from skillpath.esco.store import NotFound, Store

PYTHON = "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"
SQL = "http://data.europa.eu/esco/skill/598de5b0-5b58-4ea7-8058-a4bc4d18c742"


def record(external_id: str, title: str = "SQL basics", **extra) -> MicroCredential:
    return MicroCredential(source="t", external_id=external_id, title=title, **extra)


def link(uri: str, score: float, source: str = "inferred") -> StoredLink:
    return StoredLink(uri, score, f"evidence for {uri[-4:]}", source, 0, 3)  # type: ignore[arg-type]


def migrations(store: Store) -> list[str]:
    rows = store.conn.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()
    return [r[0] for r in rows]


def test_migrations_are_applied_once_and_recorded(store_location):
    store = Store(store_location)
    CatalogueStore(store)
    assert migrations(store) == ["catalogue-0001", "catalogue-0002", "esco-0001", "esco-0002"]
    again = Store(store_location)
    assert again.db.migrate(ESCO_MIGRATIONS) == []  # a reopened store applies nothing
    assert again.db.migrate(CATALOGUE_MIGRATIONS) == []
    assert migrations(again) == ["catalogue-0001", "catalogue-0002", "esco-0001", "esco-0002"]
    assert again.dialect == ("postgresql" if isinstance(store_location, str) else "sqlite")


def test_upsert_read_delete_and_revision(store_location):
    catalogue = CatalogueStore(Store(store_location))
    assert catalogue.revision == 0
    status = catalogue.upsert(
        [
            (record("1", "SQL basics", learning_outcomes=["write SQL"]), [link(SQL, 0.9)]),
            (record("2", "Python for data"), [link(PYTHON, 0.8), link(SQL, 0.5, "declared")]),
        ],
        "fp",
    )
    assert status == {"t:1": "imported", "t:2": "imported"}
    assert catalogue.revision == 1
    second = catalogue.get("t:2")
    assert [(x.skill_uri, x.score, x.source) for x in second.links] == [
        (PYTHON, 0.8, "inferred"),  # score descending, read back exactly (a double)
        (SQL, 0.5, "declared"),
    ]
    assert second.links[0].span_start == 0 and second.links[0].span_end == 3
    assert catalogue.get("t:1").record.learning_outcomes == ["write SQL"]
    rowids = [c.rowid for c in catalogue.list()]
    assert rowids == sorted(rowids) and len(set(rowids)) == 2

    # the same records again: nothing written, the revision stays
    same = catalogue.upsert(
        [(record("1", "SQL basics", learning_outcomes=["write SQL"]), [])], "fp"
    )
    assert same == {"t:1": "unchanged"} and catalogue.revision == 1

    # a changed record keeps its rowid (its FAISS id) and has its links replaced
    before = catalogue.get("t:1").rowid
    changed = catalogue.upsert([(record("1", "SQL in depth"), [link(PYTHON, 0.7)])], "fp")
    assert changed == {"t:1": "updated"} and catalogue.revision == 2
    after = catalogue.get("t:1")
    assert after.rowid == before and [x.skill_uri for x in after.links] == [PYTHON]

    # the title filter ignores case on both backends, and is a literal substring
    assert [c.record.id for c in catalogue.list(query="sql IN")] == ["t:1"]
    assert catalogue.count(source="t") == 2 and catalogue.count(source="other") == 0
    assert catalogue.stats()["skill_links"] == 3

    catalogue.delete("t:2")
    assert catalogue.revision == 3
    with pytest.raises(NotFound, match="t:2"):
        catalogue.get("t:2")
    with pytest.raises(NotFound):
        catalogue.delete("t:2")
    assert catalogue.revision == 3  # a failed delete bumps nothing
    assert catalogue.stats()["skill_links"] == 1
    assert list(catalogue.content_index()) == [before]


def test_an_interrupted_write_leaves_the_previous_state(store_location):
    catalogue = CatalogueStore(Store(store_location))
    catalogue.upsert([(record("1"), [link(SQL, 0.9)])], "fp")

    def rows():
        yield record("1", "rewritten"), [link(PYTHON, 0.1)]
        yield record("2"), [link(SQL, 0.2)]
        raise RuntimeError("the import died half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        catalogue.upsert(rows(), "fp")
    assert catalogue.revision == 1 and catalogue.count() == 1
    kept = catalogue.get("t:1")
    assert kept.record.title == "SQL basics" and [x.skill_uri for x in kept.links] == [SQL]
    # and the store takes the next write normally
    assert catalogue.upsert([(record("2"), [])], "fp") == {"t:2": "imported"}
    assert catalogue.revision == 2


def test_a_second_store_sees_a_write_at_once(store_location):
    """Two stores on one location stand for two API instances: the revision each request
    re-reads moves on in the other one as soon as the write commits."""
    one, two = CatalogueStore(Store(store_location)), CatalogueStore(Store(store_location))
    assert two.revision == 0
    one.upsert([(record("1"), [link(SQL, 0.9)])], "fp")
    assert two.revision == 1 and two.get("t:1").links[0].skill_uri == SQL
    two.delete("t:1")
    assert one.revision == 2 and one.count() == 0


def test_concurrent_writers_lose_no_revision_bump(pg_url):
    """Four writers, each its own store (its own PostgreSQL session, as four processes would
    have): every write bumps the revision once, none is lost, no id is stored twice."""
    CatalogueStore(Store(pg_url))
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        catalogue = CatalogueStore(Store(pg_url))
        try:
            for i in range(10):
                # the same ids from every writer: "is it stored?" must not race either
                catalogue.upsert([(record(f"{i}", f"title {i} from {n}"), [])], f"fp{n}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    catalogue = CatalogueStore(Store(pg_url))
    assert catalogue.count() == 10
    # each upsert changed its record (another writer's title or fingerprint), or imported it
    assert catalogue.revision == 40


def test_an_unreachable_server_is_a_clear_error(pg_server):
    url = f"postgresql://postgres:secret@127.0.0.1:{pg_server.port}/no_such_database"
    with pytest.raises(StoreUnavailable, match="no_such_database") as caught:
        Store(url)
    assert "secret" not in str(caught.value) and "***" in str(caught.value)


def test_portable_sql_in_postgres_spelling():
    assert to_postgres("SELECT 1 WHERE a = ? AND b LIKE ? ESCAPE '\\'") == (
        "SELECT 1 WHERE a = %s AND b ILIKE %s ESCAPE '\\'"
    )
    assert to_postgres("SELECT instr(x, ?) , '100%'") == "SELECT strpos(x, %s) , '100%%'"
    assert redact("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


def test_a_sqlite_home_copies_into_postgresql_with_its_ids(tmp_path, pg_url):
    source = CatalogueStore(Store(tmp_path / "home.sqlite"))
    source.upsert([(record(str(i), f"course {i}"), [link(SQL, i / 10)]) for i in range(5)], "fp")
    source.delete("t:0")  # a gap in the rowids: ids are copied, not renumbered
    target_store = Store(pg_url)
    copied = copy_store(source.store, target_store)
    assert copied["credentials"] == 4 and copied["credential_skills"] == 4
    target = CatalogueStore(target_store)
    assert target.content_index() == source.content_index()
    assert target.revision == source.revision == 2
    assert target.get("t:3").links == source.get("t:3").links
    # the next credential gets a new id past the copied ones on both sides
    new = {c.upsert([(record("new"), [])], "fp") and c.get("t:new").rowid for c in (source, target)}
    assert new == {max(source.content_index())}
    with pytest.raises(InvalidInput, match="not empty"):
        copy_store(source.store, target_store)


def test_backup_refuses_a_postgresql_store_and_says_what_to_use(monkeypatch):
    from skillpath.engine import backup

    monkeypatch.setenv("SKILLPATH_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/x")
    with pytest.raises(backup.BackupError, match="pg_dump"):
        backup._home()
    monkeypatch.delenv("SKILLPATH_DATABASE_URL")
    assert backup._home()  # the SQLite home, as before
