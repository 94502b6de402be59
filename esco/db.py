"""The database below the stores: SQLite (embedded default) or PostgreSQL (shared), one API.

Both stores (ESCO, catalogue) write their SQL once, in the portable subset SQLite ≥ 3.35 and
PostgreSQL ≥ 12 share (``?`` placeholders, ``INSERT … ON CONFLICT``, ``RETURNING``,
``lower(x) = lower(?)`` for case-insensitive equality). What differs lives here:

- placeholders: ``?`` becomes ``%s`` for psycopg (a literal ``%`` is doubled);
- ``instr(a, b)`` is ``strpos(a, b)``; ``LIKE`` is ``ILIKE`` (SQLite's LIKE ignores ASCII case);
- DDL: each :class:`Migration` carries the text for both dialects (autoincrement ids,
  ``WITHOUT ROWID``, ``REAL`` vs ``DOUBLE PRECISION``, collations);
- durability: SQLite runs WAL with ``synchronous=NORMAL`` and raises it to FULL for the writes
  it acknowledges (:meth:`durable`); a PostgreSQL commit is already durable (fsync of the WAL);
- writers: SQLite has one writer at a time (``BEGIN IMMEDIATE``); on PostgreSQL every write
  transaction takes one transaction-scoped advisory lock, so the read-modify-write steps the
  stores make (the catalogue revision, "is this id stored?") behave the same across processes
  and hosts as they do inside one SQLite file.

A PostgreSQL database is opened with ``autocommit``: every read outside a transaction sees the
latest commit of any process, which is how an API worker sees another instance's write (the
catalogue revision is re-read per request).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from skillpath.errors import IndexNotReady

Dialect = Literal["sqlite", "postgresql"]

# Every write transaction on PostgreSQL takes this advisory lock (an arbitrary constant: the
# 64-bit key space is ours; "skillpath" in ASCII, truncated).
WRITE_LOCK_KEY = 0x736B696C6C70


class StoreUnavailable(IndexNotReady):
    """The PostgreSQL server cannot be reached (HTTP 503: the caller may retry)."""


@dataclass(frozen=True)
class Migration:
    """One numbered schema step. ``name`` is unique across stores (``esco-0001``)."""

    name: str
    sqlite: str
    postgresql: str

    def script(self, dialect: Dialect) -> str:
        return self.sqlite if dialect == "sqlite" else self.postgresql


class Connection(Protocol):
    """What the stores call: ``sqlite3.Connection`` has it, :class:`PgConnection` too."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...

    def executemany(self, sql: str, params: Any, /) -> Any: ...


class Database(Protocol):
    dialect: Dialect
    where: str  # for messages: the file, or the URL without its password

    @property
    def conn(self) -> Connection: ...

    def transaction(self) -> Any: ...

    def durable(self) -> Any: ...

    def migrate(self, migrations: Sequence[Migration]) -> list[str]: ...

    def close(self) -> None: ...


def is_postgres_url(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def open_database(location: str | Path) -> Database:
    """A ``postgresql://`` URL opens PostgreSQL; anything else is a SQLite file path."""
    if is_postgres_url(location):
        return PostgresDatabase(str(location))
    return SqliteDatabase(Path(location))


_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
)


# -- SQLite ----------------------------------------------------------------------------------
class SqliteDatabase:
    """A SQLite file. One connection per thread (a sqlite3 connection must not be shared across
    threads while a write is open); WAL so that readers never wait on the writer."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self.write_lock = threading.RLock()

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: commits whole or rolls back whole."""
        with self.write_lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def durable(self) -> Iterator[sqlite3.Connection]:
        """A write transaction with ``synchronous=FULL``: WAL + NORMAL survives a process crash,
        but a power cut may undo the last commits, and an acknowledged write must survive."""
        with self.write_lock:
            conn = self.conn
            conn.execute("PRAGMA synchronous=FULL")
            try:
                with self.transaction() as tx:
                    yield tx
            finally:
                conn.execute("PRAGMA synchronous=NORMAL")

    def migrate(self, migrations: Sequence[Migration]) -> list[str]:
        """Apply the migrations not yet recorded in ``schema_migrations``, each in one
        transaction with its record (a file made before migrations existed has the tables
        already: migration 1 is written with IF NOT EXISTS, so it is recorded as applied)."""
        applied: list[str] = []
        with self.write_lock:
            self.conn.execute(_MIGRATIONS_TABLE)
            for m in migrations:
                with self.transaction() as conn:
                    done = conn.execute(
                        "SELECT 1 FROM schema_migrations WHERE name = ?", (m.name,)
                    ).fetchone()
                    if done:
                        continue
                    for statement in _statements(m.sqlite):
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                        (m.name, _now()),
                    )
                    applied.append(m.name)
        return applied

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


# -- PostgreSQL ------------------------------------------------------------------------------
@lru_cache(maxsize=1024)
def to_postgres(sql: str) -> str:
    """The portable SQL the stores write, in PostgreSQL's spelling (see the module doc)."""
    sql = sql.replace("%", "%%").replace("?", "%s")
    sql = re.sub(r"\binstr\(", "strpos(", sql)
    return re.sub(r"\bLIKE\b", "ILIKE", sql)


class Row(tuple):
    """A result row read by position or by column name, like ``sqlite3.Row``."""

    _index: dict[str, int]

    def __new__(cls, values: Sequence[Any], index: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor):
    index = {c.name: i for i, c in enumerate(cursor.description or ())}
    return lambda values: Row(values, index)


class PgConnection:
    """A psycopg connection speaking the stores' portable SQL."""

    def __init__(self, raw) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()):
        return self.raw.execute(to_postgres(sql), tuple(params) or None)

    def executemany(self, sql: str, params) -> None:
        with self.raw.cursor() as cur:
            cur.executemany(to_postgres(sql), params)


class PostgresDatabase:
    """A PostgreSQL database shared by API instances and batch workers.

    One autocommit psycopg connection per thread (a psycopg connection serves one thread at a
    time; a thread-local one needs no pool and no hand-back). Writes run in explicit
    transactions under one advisory lock (see the module doc).
    """

    dialect: Dialect = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg  # imported here: the SQLite default needs no driver

        self._psycopg = psycopg
        self.url = url
        self.where = redact(url)
        self._local = threading.local()
        self.write_lock = threading.RLock()
        self.conn  # noqa: B018 - connect now, so a bad URL fails where it is opened

    @property
    def conn(self) -> PgConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.raw.closed:
            try:
                raw = self._psycopg.connect(
                    self.url, autocommit=True, row_factory=_row_factory, connect_timeout=10
                )
            except self._psycopg.OperationalError as exc:
                raise StoreUnavailable(f"cannot connect to {self.where}: {exc}".strip()) from exc
            conn = PgConnection(raw)
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        """One write transaction under the store-wide write lock: commits or rolls back whole."""
        with self.write_lock:
            conn = self.conn
            with conn.raw.transaction():
                conn.raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
                yield conn

    durable = transaction  # a PostgreSQL commit is durable already (fsync of its WAL)

    def migrate(self, migrations: Sequence[Migration]) -> list[str]:
        applied: list[str] = []
        with self.transaction() as conn:  # the lock: two instances starting at once wait
            conn.raw.execute(_MIGRATIONS_TABLE)
            done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
            for m in migrations:
                if m.name in done:
                    continue
                conn.raw.execute(m.postgresql)  # several statements, no parameters
                conn.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                    (m.name, _now()),
                )
                applied.append(m.name)
        return applied

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.raw.close()
            self._local.conn = None


# -- helpers ---------------------------------------------------------------------------------
def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _statements(script: str) -> list[str]:
    """A migration script split into statements (migrations hold no ``;`` in literals)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
