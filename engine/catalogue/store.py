"""Catalogue tables in the one SQLite store: credentials, their outcomes and their ESCO skills.

A credential is upserted by its stable id (``source:external_id``) together with its outcomes
and skill links in one transaction, so a reader never sees a credential without its skills.
Every write bumps ``catalogue_revision`` in the same transaction; the FAISS side records the
revision it was built from and is rebuilt whenever the two differ, which is how an import
interrupted half-way can never leave orphan or missing vectors behind.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from skillpath.engine.catalogue.records import MicroCredential
from skillpath.esco.store import NotFound, Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS credentials (
    rowid INTEGER PRIMARY KEY,          -- stable int id: the FAISS id of the credential
    id TEXT NOT NULL UNIQUE,            -- source:external_id
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    record TEXT NOT NULL,               -- MicroCredential JSON
    content_hash TEXT NOT NULL,
    mapped_with TEXT NOT NULL,          -- matcher fingerprint the inferred links came from
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS credentials_source ON credentials (source);
CREATE TABLE IF NOT EXISTS credential_skills (
    credential_rowid INTEGER NOT NULL REFERENCES credentials (rowid) ON DELETE CASCADE,
    skill_uri TEXT NOT NULL,
    score REAL NOT NULL,
    evidence TEXT,                      -- the learning-outcome statement (or tag) behind it
    span_start INTEGER,
    span_end INTEGER,
    source TEXT NOT NULL,               -- declared | inferred | tag
    PRIMARY KEY (credential_rowid, skill_uri, source)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS credential_skills_skill ON credential_skills (skill_uri);
"""

LinkSource = Literal["declared", "inferred", "tag"]
# Validation context of a record read back: checks added after it was stored (an http(s)
# url) clean it instead of failing the read.
STORED = {"stored": True}


@dataclass(frozen=True)
class StoredLink:
    """A credential → ESCO skill link as stored."""

    skill_uri: str
    score: float
    evidence: str | None
    source: LinkSource
    span_start: int | None = None
    span_end: int | None = None


@dataclass(frozen=True)
class StoredCredential:
    rowid: int
    record: MicroCredential
    links: tuple[StoredLink, ...]
    content_hash: str
    mapped_with: str


UpsertStatus = Literal["imported", "updated", "unchanged"]


class CatalogueStore:
    """Catalogue queries and writes over the shared :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store._write_lock:
            store.conn.executescript(SCHEMA)

    @property
    def revision(self) -> int:
        return int(self.store.get_meta("catalogue_revision") or 0)

    @contextmanager
    def _durable(self) -> Iterator[sqlite3.Connection]:
        """A catalogue write transaction with ``synchronous=FULL``.

        The store runs WAL with ``synchronous=NORMAL``: safe against a process crash, but a
        power cut may undo the last commits, and a catalogue write has been acknowledged
        (HTTP 200/201) by then. FULL syncs the WAL on every commit, so an acknowledged write
        survives; ESCO ingestion and caches (re-runnable) keep NORMAL.
        """
        with self.store._write_lock:
            conn = self.store.conn
            conn.execute("PRAGMA synchronous=FULL")
            try:
                with self.store.transaction() as tx:
                    yield tx
            finally:
                conn.execute("PRAGMA synchronous=NORMAL")

    def _bump(self, conn: sqlite3.Connection) -> None:
        row = conn.execute("SELECT value FROM meta WHERE key = 'catalogue_revision'").fetchone()
        self.store.set_meta(conn, "catalogue_revision", str(int(row[0] if row else 0) + 1))

    def fingerprints(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """id → (content_hash, mapped_with) for the ids already stored."""
        out: dict[str, tuple[str, str]] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self.store.conn.execute(
                f"SELECT id, content_hash, mapped_with FROM credentials WHERE id IN ({marks})",
                chunk,
            ):
                out[row[0]] = (row[1], row[2])
        return out

    def upsert(
        self, items: Iterable[tuple[MicroCredential, Sequence[StoredLink]]], mapped_with: str
    ) -> dict[str, UpsertStatus]:
        """Insert or replace credentials with their links, all in one transaction."""
        status: dict[str, UpsertStatus] = {}
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._durable() as conn:
            for record, links in items:
                content_hash = record.content_hash()
                row = conn.execute(
                    "SELECT rowid, content_hash, mapped_with FROM credentials WHERE id = ?",
                    (record.id,),
                ).fetchone()
                if row and row[1] == content_hash and row[2] == mapped_with:
                    status[record.id] = "unchanged"
                    continue
                payload = (
                    record.source,
                    record.title,
                    record.model_dump_json(),
                    content_hash,
                    mapped_with,
                    now,
                )
                if row:
                    rowid = row[0]
                    conn.execute(
                        "UPDATE credentials SET source = ?, title = ?, record = ?,"
                        " content_hash = ?, mapped_with = ?, updated_at = ? WHERE rowid = ?",
                        (*payload, rowid),
                    )
                    conn.execute(
                        "DELETE FROM credential_skills WHERE credential_rowid = ?", (rowid,)
                    )
                    status[record.id] = "updated"
                else:
                    rowid = conn.execute(
                        "INSERT INTO credentials (id, source, title, record, content_hash,"
                        " mapped_with, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (record.id, *payload),
                    ).lastrowid
                    status[record.id] = "imported"
                conn.executemany(
                    "INSERT OR REPLACE INTO credential_skills VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            rowid,
                            link.skill_uri,
                            link.score,
                            link.evidence,
                            link.span_start,
                            link.span_end,
                            link.source,
                        )
                        for link in links
                    ],
                )
            if any(s != "unchanged" for s in status.values()):
                self._bump(conn)
        return status

    def delete(self, credential_id: str) -> None:
        with self._durable() as conn:
            row = conn.execute(
                "SELECT rowid FROM credentials WHERE id = ?", (credential_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"no credential with id {credential_id!r}")
            conn.execute("DELETE FROM credential_skills WHERE credential_rowid = ?", (row[0],))
            conn.execute("DELETE FROM credentials WHERE rowid = ?", (row[0],))
            self._bump(conn)

    # -- reads ---------------------------------------------------------------------------
    def _links(self, rowids: Sequence[int]) -> dict[int, list[StoredLink]]:
        out: dict[int, list[StoredLink]] = {r: [] for r in rowids}
        for start in range(0, len(rowids), 500):
            chunk = list(rowids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self.store.conn.execute(
                "SELECT credential_rowid, skill_uri, score, evidence, source, span_start, span_end"
                f" FROM credential_skills WHERE credential_rowid IN ({marks})"
                " ORDER BY credential_rowid, score DESC, skill_uri",
                chunk,
            ):
                out[row[0]].append(StoredLink(row[1], row[2], row[3], row[4], row[5], row[6]))
        return out

    def _credential(self, row: sqlite3.Row, links: list[StoredLink]) -> StoredCredential:
        record = MicroCredential.model_validate_json(row["record"], context=STORED)
        if record.learner is not None or record.grade is not None:
            # stored before imports dropped the credential subject: never served
            record = record.model_copy(update={"learner": None, "grade": None, "issued_on": None})
        return StoredCredential(
            rowid=row["rowid"],
            record=record,
            links=tuple(links),
            content_hash=row["content_hash"],
            mapped_with=row["mapped_with"],
        )

    def get(self, credential_id: str) -> StoredCredential:
        row = self.store.conn.execute(
            "SELECT rowid, * FROM credentials WHERE id = ?", (credential_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no credential with id {credential_id!r}")
        return self._credential(row, self._links([row["rowid"]])[row["rowid"]])

    def count(self, source: str | None = None, query: str | None = None) -> int:
        where, params = self._where(source, query)
        return self.store.conn.execute(
            f"SELECT count(*) FROM credentials {where}", params
        ).fetchone()[0]

    @staticmethod
    def _where(source: str | None, query: str | None) -> tuple[str, list[str]]:
        clauses, params = [], []
        if source:
            clauses.append("source = ?")
            params.append(source)
        if query:
            # a literal substring: "%" and "_" in the query are not wildcards
            escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("title LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def list(
        self, offset: int = 0, limit: int = 50, source: str | None = None, query: str | None = None
    ) -> list[StoredCredential]:
        where, params = self._where(source, query)
        rows = self.store.conn.execute(
            f"SELECT rowid, * FROM credentials {where} ORDER BY rowid LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        links = self._links([r["rowid"] for r in rows])
        return [self._credential(r, links[r["rowid"]]) for r in rows]

    def iter_all(self, batch: int = 2000) -> Iterator[StoredCredential]:
        last = 0
        while True:
            rows = self.store.conn.execute(
                "SELECT rowid, * FROM credentials WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            links = self._links([r["rowid"] for r in rows])
            for r in rows:
                yield self._credential(r, links[r["rowid"]])
            last = rows[-1]["rowid"]

    def content_index(self) -> dict[int, tuple[str, str]]:
        """rowid → (id, content_hash) of every credential: what the vector index diffs
        against to re-encode only changed credentials (no record is parsed)."""
        return {
            row[0]: (row[1], row[2])
            for row in self.store.conn.execute("SELECT rowid, id, content_hash FROM credentials")
        }

    def get_many(self, rowids: Sequence[int]) -> list[StoredCredential]:
        """The credentials with these rowids (those that exist), in rowid order."""
        out: list[StoredCredential] = []
        wanted = sorted(set(rowids))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.store.conn.execute(
                f"SELECT rowid, * FROM credentials WHERE rowid IN ({marks}) ORDER BY rowid", chunk
            ).fetchall()
            links = self._links([r["rowid"] for r in rows])
            out.extend(self._credential(r, links[r["rowid"]]) for r in rows)
        return out

    def stats(self) -> dict:
        conn = self.store.conn
        by_source = {
            r[0]: {"credentials": r[1]}
            for r in conn.execute("SELECT source, count(*) FROM credentials GROUP BY source")
        }
        for source, kind, n, creds in conn.execute(
            "SELECT c.source, cs.source, count(*), count(DISTINCT cs.credential_rowid)"
            " FROM credential_skills cs JOIN credentials c ON c.rowid = cs.credential_rowid"
            " GROUP BY c.source, cs.source"
        ):
            by_source.setdefault(source, {})[f"{kind}_links"] = n
            by_source[source][f"with_{kind}"] = creds
        return {
            "credentials": conn.execute("SELECT count(*) FROM credentials").fetchone()[0],
            "skill_links": conn.execute("SELECT count(*) FROM credential_skills").fetchone()[0],
            "distinct_skills": conn.execute(
                "SELECT count(DISTINCT skill_uri) FROM credential_skills"
            ).fetchone()[0],
            "revision": self.revision,
            "by_source": by_source,
        }


def record_json(record: MicroCredential) -> dict:
    return json.loads(record.model_dump_json())
