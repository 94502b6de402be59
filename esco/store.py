"""The store: one database holding the ESCO taxonomy (and, via other modules, the catalogue).

SQLite is the embedded default because it is a single file, transactional and fast for the
look-ups the engine makes; PostgreSQL (``SKILLPATH_DATABASE_URL=postgresql://…``) is the store
several API instances and batch workers share. Both run the same SQL (``esco/db.py`` holds
the few dialect differences) and the same numbered migrations, recorded in
``schema_migrations``. An ingest runs in one transaction: it either lands whole or leaves
the previous taxonomy untouched. WAL mode lets SQLite readers (the API) go on while a writer
works; PostgreSQL readers never wait on a writer anyway.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from skillpath.errors import IndexNotReady, NotFound  # NotFound: re-exported, old name
from skillpath.esco.db import Connection, Database, Migration, open_database
from skillpath.esco.records import EscoTaxonomy, IngestSummary, Occupation, Skill

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS skills (
    idx INTEGER PRIMARY KEY,           -- dense row number, used as the FAISS id
    uri TEXT NOT NULL UNIQUE,
    preferred_label TEXT NOT NULL,
    alt_labels TEXT NOT NULL,          -- JSON list
    hidden_labels TEXT NOT NULL,       -- JSON list
    description TEXT,
    skill_type TEXT,
    reuse_level TEXT,
    status TEXT,
    occupation_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS skills_label ON skills (preferred_label COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS skill_labels (
    label TEXT NOT NULL COLLATE NOCASE,
    skill_uri TEXT NOT NULL,
    kind TEXT NOT NULL                 -- preferred | alt | hidden
);
CREATE INDEX IF NOT EXISTS skill_labels_label ON skill_labels (label);
CREATE TABLE IF NOT EXISTS occupations (
    idx INTEGER PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    preferred_label TEXT NOT NULL,
    alt_labels TEXT NOT NULL,
    hidden_labels TEXT NOT NULL,
    isco_group TEXT,
    code TEXT,
    description TEXT
);
CREATE INDEX IF NOT EXISTS occupations_label ON occupations (preferred_label COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS occupation_skills (
    occupation_uri TEXT NOT NULL,
    skill_uri TEXT NOT NULL,
    relation TEXT NOT NULL,
    PRIMARY KEY (occupation_uri, skill_uri)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS occupation_skills_skill ON occupation_skills (skill_uri);
CREATE TABLE IF NOT EXISTS skill_relations (
    original_uri TEXT NOT NULL,
    related_uri TEXT NOT NULL,
    relation TEXT NOT NULL,
    PRIMARY KEY (original_uri, related_uri)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS broader (
    concept_uri TEXT NOT NULL,
    broader_uri TEXT NOT NULL,
    concept_type TEXT NOT NULL,
    broader_type TEXT NOT NULL,
    pillar TEXT NOT NULL,
    PRIMARY KEY (concept_uri, broader_uri)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS broader_up ON broader (broader_uri);
CREATE TABLE IF NOT EXISTS concept_groups (
    uri TEXT PRIMARY KEY,
    kind TEXT NOT NULL,                -- isco | skill-group
    code TEXT,
    preferred_label TEXT NOT NULL,
    description TEXT
);
CREATE TABLE IF NOT EXISTS collections (
    name TEXT NOT NULL,
    concept_uri TEXT NOT NULL,
    PRIMARY KEY (name, concept_uri)
) WITHOUT ROWID;
"""

# The same tables on PostgreSQL: no WITHOUT ROWID (a heap table with a primary key index is
# PostgreSQL's only kind), lower(label) indexes for the case-insensitive look-ups.
POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS skills (
    idx INTEGER PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    preferred_label TEXT NOT NULL,
    alt_labels TEXT NOT NULL,
    hidden_labels TEXT NOT NULL,
    description TEXT,
    skill_type TEXT,
    reuse_level TEXT,
    status TEXT,
    occupation_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS skills_label ON skills (lower(preferred_label));
CREATE TABLE IF NOT EXISTS skill_labels (
    label TEXT NOT NULL,
    skill_uri TEXT NOT NULL,
    kind TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS occupations (
    idx INTEGER PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    preferred_label TEXT NOT NULL,
    alt_labels TEXT NOT NULL,
    hidden_labels TEXT NOT NULL,
    isco_group TEXT,
    code TEXT,
    description TEXT
);
CREATE INDEX IF NOT EXISTS occupations_label ON occupations (lower(preferred_label));
CREATE TABLE IF NOT EXISTS occupation_skills (
    occupation_uri TEXT NOT NULL,
    skill_uri TEXT NOT NULL,
    relation TEXT NOT NULL,
    PRIMARY KEY (occupation_uri, skill_uri)
);
CREATE INDEX IF NOT EXISTS occupation_skills_skill ON occupation_skills (skill_uri);
CREATE TABLE IF NOT EXISTS skill_relations (
    original_uri TEXT NOT NULL,
    related_uri TEXT NOT NULL,
    relation TEXT NOT NULL,
    PRIMARY KEY (original_uri, related_uri)
);
CREATE TABLE IF NOT EXISTS broader (
    concept_uri TEXT NOT NULL,
    broader_uri TEXT NOT NULL,
    concept_type TEXT NOT NULL,
    broader_type TEXT NOT NULL,
    pillar TEXT NOT NULL,
    PRIMARY KEY (concept_uri, broader_uri)
);
CREATE INDEX IF NOT EXISTS broader_up ON broader (broader_uri);
CREATE TABLE IF NOT EXISTS concept_groups (
    uri TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    code TEXT,
    preferred_label TEXT NOT NULL,
    description TEXT
);
CREATE TABLE IF NOT EXISTS collections (
    name TEXT NOT NULL,
    concept_uri TEXT NOT NULL,
    PRIMARY KEY (name, concept_uri)
);
"""

# The label look-ups compare lower(label) = lower(?) on both dialects (SQLite's lower() and
# NOCASE both fold ASCII only, so its answers do not change); this index serves them.
LABEL_INDEX = "CREATE INDEX IF NOT EXISTS skill_labels_lower ON skill_labels (lower(label));"

MIGRATIONS = (
    Migration("esco-0001", SQLITE_SCHEMA, POSTGRES_SCHEMA),
    Migration("esco-0002", LABEL_INDEX, LABEL_INDEX),
)

ESCO_TABLES = (
    "skills",
    "skill_labels",
    "occupations",
    "occupation_skills",
    "skill_relations",
    "broader",
    "concept_groups",
    "collections",
)


class StoreError(IndexNotReady):
    """The store is missing something the caller needs (e.g. ESCO was never ingested)."""


def _skill(row) -> Skill:
    return Skill(
        uri=row["uri"],
        preferred_label=row["preferred_label"],
        alt_labels=json.loads(row["alt_labels"]),
        hidden_labels=json.loads(row["hidden_labels"]),
        description=row["description"],
        skill_type=row["skill_type"],
        reuse_level=row["reuse_level"],
        status=row["status"],
    )


def _occupation(row) -> Occupation:
    return Occupation(
        uri=row["uri"],
        preferred_label=row["preferred_label"],
        alt_labels=json.loads(row["alt_labels"]),
        hidden_labels=json.loads(row["hidden_labels"]),
        isco_group=row["isco_group"],
        code=row["code"],
        description=row["description"],
    )


class Store:
    """The ESCO taxonomy in SQLite or PostgreSQL; other modules add their own tables to it.

    ``Store(path)`` opens (or creates) a SQLite file; ``Store("postgresql://…")`` a shared
    PostgreSQL database. Either way the migrations run on open.
    """

    def __init__(self, location: Path | str) -> None:
        self.db: Database = open_database(location)
        self.path = getattr(self.db, "path", None)  # the SQLite file (backups); None on PostgreSQL
        self.db.migrate(MIGRATIONS)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    @property
    def where(self) -> str:
        """The file, or the PostgreSQL URL without its password."""
        return self.db.where

    # -- connections -------------------------------------------------------------------
    @property
    def conn(self) -> Connection:
        return self.db.conn

    @property
    def _write_lock(self):
        return self.db.write_lock

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction: commits whole or rolls back whole."""
        with self.db.transaction() as conn:
            yield conn

    def close(self) -> None:
        self.db.close()

    # -- meta --------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def set_meta(self, conn: Connection, key: str, value: str) -> None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @property
    def esco_version(self) -> str | None:
        return self.get_meta("esco_version")

    @property
    def esco_content_hash(self) -> str | None:
        return self.get_meta("esco_content_hash")

    def require_esco(self) -> None:
        if not self.esco_content_hash:
            raise StoreError(
                f"no ESCO taxonomy in {self.where}: run `skillpath esco ingest [PATH...]` first"
            )

    # -- ingest ------------------------------------------------------------------------
    def ingest(self, taxonomy: EscoTaxonomy, force: bool = False) -> IngestSummary:
        """Replace the stored taxonomy with ``taxonomy`` in one transaction.

        Idempotent: the same download ingested twice leaves the store as it was (and is a
        no-op when the content hash matches, unless ``force``). Relation rows pointing at URIs
        the download does not define are counted, with examples, and left out.
        """
        summary = IngestSummary(version=taxonomy.version, language=taxonomy.language)
        if not force and self.esco_content_hash == taxonomy.content_hash:
            summary.unchanged = True
            self._fill_counts(summary)
            return summary

        skill_uris = {s.uri for s in taxonomy.skills}
        occupation_uris = {o.uri for o in taxonomy.occupations}
        group_uris = {g.uri for g in taxonomy.isco_groups} | {g.uri for g in taxonomy.skill_groups}
        unknown: Counter[str] = Counter()
        # (kind, unknown URI) -> line numbers: one example line per URI, not one per row.
        where: dict[tuple[str, str], list[int | None]] = {}

        def note(kind: str, uri: str, line: int | None) -> None:
            unknown[kind] += 1
            where.setdefault((kind, uri), []).append(line)

        occupation_count: Counter[str] = Counter()
        relations = []
        for rel in taxonomy.occupation_skills:
            if rel.occupation_uri not in occupation_uris:
                note("occupationSkillRelations.occupationUri", rel.occupation_uri, rel.line)
            elif rel.skill_uri not in skill_uris:
                note("occupationSkillRelations.skillUri", rel.skill_uri, rel.line)
            else:
                relations.append((rel.occupation_uri, rel.skill_uri, rel.relation))
                occupation_count[rel.skill_uri] += 1
        skill_relations = []
        for rel in taxonomy.skill_relations:
            if rel.original_uri not in skill_uris or rel.related_uri not in skill_uris:
                missing = (
                    rel.original_uri if rel.original_uri not in skill_uris else rel.related_uri
                )
                note("skillSkillRelations", missing, rel.line)
            else:
                skill_relations.append((rel.original_uri, rel.related_uri, rel.relation))
        known = skill_uris | occupation_uris | group_uris
        broader = []
        for rel in taxonomy.broader:
            if rel.concept_uri not in known or rel.broader_uri not in known:
                missing = rel.concept_uri if rel.concept_uri not in known else rel.broader_uri
                note(f"broaderRelations ({rel.pillar})", missing, rel.line)
            else:
                broader.append(
                    (
                        rel.concept_uri,
                        rel.broader_uri,
                        rel.concept_type,
                        rel.broader_type,
                        rel.pillar,
                    )
                )

        with self.transaction() as conn:
            for table in ESCO_TABLES:
                conn.execute(f"DELETE FROM {table}")
            conn.executemany(
                "INSERT INTO skills (idx, uri, preferred_label, alt_labels, hidden_labels,"
                " description, skill_type, reuse_level, status, occupation_count)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        i,
                        s.uri,
                        s.preferred_label,
                        json.dumps(s.alt_labels, ensure_ascii=False),
                        json.dumps(s.hidden_labels, ensure_ascii=False),
                        s.description,
                        s.skill_type,
                        s.reuse_level,
                        s.status,
                        occupation_count[s.uri],
                    )
                    for i, s in enumerate(taxonomy.skills)
                ),
            )
            conn.executemany(
                "INSERT INTO skill_labels (label, skill_uri, kind) VALUES (?, ?, ?)",
                (
                    (label, s.uri, kind)
                    for s in taxonomy.skills
                    for kind, labels in (
                        ("preferred", [s.preferred_label]),
                        ("alt", s.alt_labels),
                        ("hidden", s.hidden_labels),
                    )
                    for label in labels
                ),
            )
            conn.executemany(
                "INSERT INTO occupations (idx, uri, preferred_label, alt_labels, hidden_labels,"
                " isco_group, code, description) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        i,
                        o.uri,
                        o.preferred_label,
                        json.dumps(o.alt_labels, ensure_ascii=False),
                        json.dumps(o.hidden_labels, ensure_ascii=False),
                        o.isco_group,
                        o.code,
                        o.description,
                    )
                    for i, o in enumerate(taxonomy.occupations)
                ),
            )
            conn.executemany(
                "INSERT INTO occupation_skills VALUES (?, ?, ?) ON CONFLICT"
                " (occupation_uri, skill_uri) DO UPDATE SET relation = excluded.relation",
                relations,
            )
            conn.executemany(
                "INSERT INTO skill_relations VALUES (?, ?, ?) ON CONFLICT"
                " (original_uri, related_uri) DO UPDATE SET relation = excluded.relation",
                skill_relations,
            )
            conn.executemany(
                "INSERT INTO broader VALUES (?, ?, ?, ?, ?) ON CONFLICT (concept_uri, broader_uri)"
                " DO UPDATE SET concept_type = excluded.concept_type,"
                " broader_type = excluded.broader_type, pillar = excluded.pillar",
                broader,
            )
            conn.executemany(
                "INSERT INTO concept_groups VALUES (?, ?, ?, ?, ?) ON CONFLICT (uri) DO UPDATE SET"
                " kind = excluded.kind, code = excluded.code,"
                " preferred_label = excluded.preferred_label, description = excluded.description",
                [
                    (g.uri, "isco", g.code, g.preferred_label, g.description)
                    for g in taxonomy.isco_groups
                ]
                + [
                    (g.uri, "skill-group", g.code, g.preferred_label, g.description)
                    for g in taxonomy.skill_groups
                ],
            )
            conn.executemany(
                "INSERT INTO collections VALUES (?, ?) ON CONFLICT DO NOTHING",
                ((c.name, uri) for c in taxonomy.collections for uri in c.member_uris),
            )
            self.set_meta(conn, "esco_version", taxonomy.version)
            self.set_meta(conn, "esco_language", taxonomy.language)
            self.set_meta(conn, "esco_content_hash", taxonomy.content_hash)
            self.set_meta(conn, "esco_ingested_at", datetime.now(UTC).isoformat(timespec="seconds"))
        summary.unknown_references = dict(unknown)
        for (kind, uri), lines in list(where.items())[:20]:
            shown = ", ".join(str(n) for n in lines[:3]) + (" …" if len(lines) > 3 else "")
            summary.unknown_examples.append(f"{kind}: {uri} ({len(lines)} row(s), line {shown})")
        self._fill_counts(summary)
        return summary

    def _fill_counts(self, summary: IngestSummary) -> None:
        c = self.conn
        summary.skills = c.execute("SELECT count(*) FROM skills").fetchone()[0]
        summary.occupations = c.execute("SELECT count(*) FROM occupations").fetchone()[0]
        for relation, n in c.execute(
            "SELECT relation, count(*) FROM occupation_skills GROUP BY relation"
        ):
            setattr(summary, relation, n) if relation in ("essential", "optional") else None
        summary.occupation_skills = summary.essential + summary.optional
        summary.skill_relations = c.execute("SELECT count(*) FROM skill_relations").fetchone()[0]
        summary.broader = c.execute("SELECT count(*) FROM broader").fetchone()[0]
        summary.isco_groups = c.execute(
            "SELECT count(*) FROM concept_groups WHERE kind = 'isco'"
        ).fetchone()[0]
        summary.skill_groups = c.execute(
            "SELECT count(*) FROM concept_groups WHERE kind = 'skill-group'"
        ).fetchone()[0]
        summary.collections = {
            name: n for name, n in c.execute("SELECT name, count(*) FROM collections GROUP BY name")
        }

    # -- skills ------------------------------------------------------------------------
    def skill_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM skills").fetchone()[0]

    def all_skills(self) -> list[Skill]:
        """All skills in ``idx`` order (the order FAISS ids refer to)."""
        return [_skill(r) for r in self.conn.execute("SELECT * FROM skills ORDER BY idx")]

    def skill(self, uri: str) -> Skill:
        row = self.conn.execute("SELECT * FROM skills WHERE uri = ?", (uri,)).fetchone()
        if row is None:
            raise NotFound(f"unknown ESCO skill URI: {uri}")
        return _skill(row)

    def skills(self, uris: Iterable[str]) -> dict[str, Skill]:
        uris = list(dict.fromkeys(uris))
        found: dict[str, Skill] = {}
        for start in range(0, len(uris), 500):
            chunk = uris[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(f"SELECT * FROM skills WHERE uri IN ({marks})", chunk):
                found[row["uri"]] = _skill(row)
        return found

    def skills_by_label(self, label: str) -> list[Skill]:
        """Skills whose preferred, alternative or hidden label equals ``label`` (any case)."""
        rows = self.conn.execute(
            "SELECT s.*, min(CASE WHEN l.kind = 'preferred' THEN 0 ELSE 1 END) AS label_rank"
            " FROM skill_labels l JOIN skills s ON s.uri = l.skill_uri"
            " WHERE lower(l.label) = lower(?) GROUP BY s.idx ORDER BY label_rank, s.idx",
            (label.strip(),),
        )
        return [_skill(r) for r in rows]

    def skill_occupation_counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT uri, occupation_count FROM skills"))

    def broader_of(self, uri: str) -> list[tuple[str, str]]:
        """Broader concepts (skill groups or skills) of a skill: (uri, label), nearest first."""
        rows = self.conn.execute(
            "SELECT b.broader_uri, coalesce(g.preferred_label, s.preferred_label) AS label"
            " FROM broader b LEFT JOIN concept_groups g ON g.uri = b.broader_uri"
            " LEFT JOIN skills s ON s.uri = b.broader_uri WHERE b.concept_uri = ?",
            (uri,),
        )
        return [(r[0], r[1]) for r in rows]

    def broader_closure(self, uri: str, max_depth: int = 6) -> list[tuple[str, str, int]]:
        """All ancestors of a concept: (uri, label, depth), breadth first."""
        seen: dict[str, tuple[str, int]] = {}
        frontier = [uri]
        for depth in range(1, max_depth + 1):
            nxt = []
            for concept in frontier:
                for broader_uri, label in self.broader_of(concept):
                    if broader_uri not in seen:
                        seen[broader_uri] = (label, depth)
                        nxt.append(broader_uri)
            frontier = nxt
            if not frontier:
                break
        return [(u, label, d) for u, (label, d) in seen.items()]

    def narrower_closure(self, uri: str, max_depth: int = 2) -> list[tuple[str, int]]:
        """Skills below a concept in the hierarchy: (skill uri, depth), breadth first. Used for
        partial credit: a course on "SQL" covers part of its broader skill "query languages"."""
        seen: dict[str, int] = {}
        frontier = [uri]
        for depth in range(1, max_depth + 1):
            nxt = []
            for concept in frontier:
                for (child,) in self.conn.execute(
                    "SELECT concept_uri FROM broader WHERE broader_uri = ?"
                    " AND concept_type = 'KnowledgeSkillCompetence' ORDER BY concept_uri",
                    (concept,),
                ):
                    if child not in seen and child != uri:
                        seen[child] = depth
                        nxt.append(child)
            frontier = nxt
            if not frontier:
                break
        return list(seen.items())

    # -- occupations -------------------------------------------------------------------
    def occupation_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM occupations").fetchone()[0]

    def all_occupations(self) -> list[Occupation]:
        return [_occupation(r) for r in self.conn.execute("SELECT * FROM occupations ORDER BY idx")]

    def occupation(self, uri: str) -> Occupation:
        row = self.conn.execute("SELECT * FROM occupations WHERE uri = ?", (uri,)).fetchone()
        if row is None:
            raise NotFound(f"unknown ESCO occupation URI: {uri}")
        return _occupation(row)

    def occupations_by_label(self, label: str) -> list[Occupation]:
        """Occupations whose preferred label equals ``label`` (any case), then alt labels."""
        label = label.strip()
        rows = self.conn.execute(
            "SELECT * FROM occupations WHERE lower(preferred_label) = lower(?) ORDER BY idx",
            (label,),
        ).fetchall()
        if not rows:
            needle = json.dumps(label, ensure_ascii=False)
            rows = self.conn.execute(
                "SELECT * FROM occupations WHERE instr(lower(alt_labels), lower(?)) > 0"
                " ORDER BY idx",
                (needle,),
            ).fetchall()
        return [_occupation(r) for r in rows]

    def occupation_skills(self, uri: str) -> list[tuple[str, str]]:
        """(skill URI, essential|optional) for an occupation, essential first."""
        rows = self.conn.execute(
            "SELECT os.skill_uri, os.relation FROM occupation_skills os"
            " JOIN skills s ON s.uri = os.skill_uri WHERE os.occupation_uri = ?"
            " ORDER BY os.relation = 'essential' DESC, s.preferred_label",
            (uri,),
        )
        return [(r[0], r[1]) for r in rows]

    def essential_skills(self, uri: str) -> list[str]:
        return [s for s, rel in self.occupation_skills(uri) if rel == "essential"]

    def optional_skills(self, uri: str) -> list[str]:
        return [s for s, rel in self.occupation_skills(uri) if rel == "optional"]

    def isco_group(self, code: str) -> tuple[str, str] | None:
        row = self.conn.execute(
            "SELECT uri, preferred_label FROM concept_groups WHERE kind = 'isco' AND code = ?",
            (code,),
        ).fetchone()
        return (row[0], row[1]) if row else None
