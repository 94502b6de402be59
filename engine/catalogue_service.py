"""The credential catalogue for the facade: import, read, export, search, snapshots.

It keeps the catalogue store and everything derived from it per catalogue revision (the
credential vectors, the FAISS and BM25 search structures, the ranking snapshot), so a write
by this process or another one on a shared store is seen on the next read.

When the revision moved on by a few credentials (a PUT, a DELETE, a small import), the
snapshot and BM25 of the new revision are derived from the previous revision's objects plus
the changed records only (the store's change log says which ids changed:
:meth:`CatalogueStore.changes_since`), instead of parsing and tokenising every stored record
again; with no usable previous object, an unknown delta (the log does not reach back that far)
or a large one (:data:`DELTA_MAX`), they are rebuilt from every record. Both ways give equal
results (tests/test_incremental_catalogue.py). The credential vectors are refreshed as before
(only changed text encoded) and the bundle just saved is kept in memory instead of being read
back from disk. Its read methods
mirror :class:`~skillpath.engine.catalogue.store.CatalogueStore` (``get``, ``list``,
``count``, ``stats``, ``iter_all``, ``revision``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from skillpath.engine.candidates import CredentialVectors
from skillpath.engine.catalogue.bm25 import CredentialBM25, bm25_text
from skillpath.engine.catalogue.importer import BatchMapping, ImportSummary, import_items
from skillpath.engine.catalogue.mapper import MatcherMapper
from skillpath.engine.catalogue.records import ImportItem
from skillpath.engine.catalogue.sources import count_hint, export_record, read_catalogue
from skillpath.engine.catalogue.store import CatalogueStore, StoredCredential
from skillpath.engine.catalogue.vectors import (
    CATALOGUE_BUNDLE,
    TEXT_VERSION,
    CredentialSearch,
    build_catalogue_bundle,
)
from skillpath.engine.embeddings import ProgressFactory
from skillpath.engine.index import (
    IndexBundle,
    IndexMismatch,
    IndexMissing,
    load_bundle,
    read_manifest,
    save_bundle,
)
from skillpath.engine.matching import clean_query
from skillpath.engine.matching_service import Matching
from skillpath.engine.recommendation import LINK_SOURCES, CatalogueSnapshot
from skillpath.engine.resources import Resources
from skillpath.engine.snapshot import (
    SnapshotParts,
    assemble_snapshot,
    restrict_snapshot,
    snapshot_parts,
    updated_parts,
)
from skillpath.engine.taxonomy_service import Taxonomy

T = TypeVar("T")

CATALOGUE_DERIVED = ("catalogue_bundle", "_credential_search", "_credential_vectors")
"""Values built from the credential vectors: dropped when the bundle is rebuilt."""

DELTA_MAX = 500
"""Changed credentials above which the snapshot and BM25 are rebuilt from every record (the
incremental step costs per changed record what a full build costs per record, plus a copy)."""


@dataclasses.dataclass(frozen=True)
class CatalogueDelta:
    """The credentials changed between two revisions: upserted ones as stored now, and the
    ids deleted. Applying it is idempotent (a base that already holds some of the changes,
    read while a write committed, ends up equal all the same)."""

    since: int
    revision: int
    changed: tuple[StoredCredential, ...]
    removed: frozenset[str]


class Catalogue:
    """``Skillpath.catalogue``: the stored micro-credentials and what is derived from them."""

    def __init__(self, resources: Resources, taxonomy: Taxonomy, matching: Matching) -> None:
        self.resources = resources
        self.taxonomy = taxonomy
        self.matching = matching
        self.settings = resources.settings
        self.caches = resources.caches
        self._last_delta: CatalogueDelta | None = None  # read once, applied to each structure
        self.incremental: dict[str, int] = {}  # builds per name that used a delta (tests)

    @property
    def store(self) -> CatalogueStore:
        return self.resources.catalogue

    # -- writes --------------------------------------------------------------------------
    def import_file(
        self,
        path: Path | str,
        fmt: str = "csv",
        mapping: str | None = None,
        progress: ProgressFactory | None = None,
        batch_mapping: BatchMapping | None = None,
    ) -> ImportSummary:
        """Import a catalogue file: parse, map outcomes to ESCO, upsert; then refresh vectors.

        ``batch_mapping`` maps the records' outcomes elsewhere (``--engine ray``: Ray actors,
        ``batch/catalogue.py``); default: in this process."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file")
        source, items = read_catalogue(path, fmt, mapping)
        return self.import_stream(
            items, source, progress, total=count_hint(path, fmt), batch_mapping=batch_mapping
        )

    def import_stream(
        self,
        items: Iterable[ImportItem],
        source: str,
        progress: ProgressFactory | None = None,
        total: int | None = None,
        batch_mapping: BatchMapping | None = None,
    ) -> ImportSummary:
        with self.caches.writing():  # readers keep the previous snapshot meanwhile
            known = {s.uri for s in self.taxonomy.skills}
            advance = progress(f"importing {source}", total or 0) if progress else None
            summary = import_items(
                items,
                source,
                self.store,
                MatcherMapper(self.matching.skill_matcher),
                known.__contains__,
                progress=advance,
                mapping=batch_mapping,
            )
            self.refresh_index(progress)
            self.warm()
            return summary

    def remove(self, credential_id: str) -> None:
        with self.caches.writing():
            self.store.delete(credential_id)
            self.refresh_index()
            self.warm()

    def warm(self) -> None:
        """Build what a recommendation reads at the current revision (snapshot, vectors,
        search structures): inside a write, once, while readers still use the old ones."""
        if not self.snapshot().entries:
            return  # nothing to search
        self.credential_vectors()
        self.bm25  # noqa: B018 - built on access
        self._current("_credential_search", self._build_credential_search)

    # -- reads ---------------------------------------------------------------------------
    def get(self, credential_id: str) -> StoredCredential:
        return self.store.get(credential_id)

    def list(
        self,
        offset: int = 0,
        limit: int = 20,
        source: str | None = None,
        query: str | None = None,
    ) -> list[StoredCredential]:
        """A page of stored credentials, optionally of one source / with a title match."""
        return self.store.list(offset, limit, source, query)

    def count(self, source: str | None = None, query: str | None = None) -> int:
        return self.store.count(source, query)

    def stats(self) -> dict:
        """Credentials and declared / inferred / tag links, overall and per source."""
        return self.store.stats()

    @property
    def revision(self) -> int:
        """Moves on with every catalogue write (snapshots and vectors are keyed by it)."""
        return self.store.revision

    def iter_all(self) -> Iterator[StoredCredential]:
        """Every stored credential with its links, in id order (a streaming read)."""
        return self.store.iter_all()

    def export(self, credential_id: str, fmt: str = "json") -> dict:
        """A credential, ESCO-enriched, as ``json``, ``elm`` (JSON-LD) or ``ob3``."""
        stored = self.store.get(credential_id)
        labels = self.taxonomy.skill_labels(s.skill_uri for s in stored.links)
        return export_record(stored, labels, fmt)

    # -- credential vectors --------------------------------------------------------------
    @property
    def _catalogue_expect(self) -> dict:
        return {"encoder": self.resources.encoder.fingerprint, "text_version": TEXT_VERSION}

    def refresh_index(self, progress: ProgressFactory | None = None) -> dict:
        """Bring the credential vectors up to the store's revision, encoding only the
        credentials that are new or changed since the bundle on disk (the manifest's
        ``refresh`` says how many were encoded, reused and dropped)."""
        expect = self._catalogue_expect
        manifest = read_manifest(self.settings.index_dir, CATALOGUE_BUNDLE)
        same_build = manifest is not None and all(manifest.get(k) == v for k, v in expect.items())
        if same_build and manifest.get("catalogue_revision") == self.store.revision:
            return manifest
        previous = None
        if same_build:
            held = self.caches.latest("catalogue_bundle")
            if held is not None and held[1].manifest.get("folder") == manifest.get("folder"):
                previous = held[1]  # the bundle on disk, already in memory
            else:
                try:
                    previous = load_bundle(self.settings.index_dir, CATALOGUE_BUNDLE, expect)
                except (IndexMissing, IndexMismatch):
                    previous = None  # unreadable: rebuild from the embedding cache
        bundle, revision, stats = build_catalogue_bundle(
            self.store,
            self.resources.encoder,
            self.resources.embedding_cache,
            progress=progress,
            previous=previous,
        )
        save_bundle(
            self.settings.index_dir,
            bundle,
            {**expect, "catalogue_revision": revision, "refresh": dataclasses.asdict(stats)},
        )
        self.caches.drop(*CATALOGUE_DERIVED)
        self.caches.put("catalogue_bundle", revision, bundle)  # as saved: no read-back
        return bundle.manifest

    @property
    def bundle(self) -> IndexBundle:
        """The credential vectors at the store's current revision. Kept per revision (re-read
        from the store on each use), so a write made by another process on a shared
        PostgreSQL store is picked up on this process's next request."""
        return self._current("catalogue_bundle", self._load_catalogue_bundle)

    def _load_catalogue_bundle(self) -> IndexBundle:
        expect = self._catalogue_expect
        try:
            bundle = load_bundle(self.settings.index_dir, CATALOGUE_BUNDLE, expect)
        except (IndexMissing, IndexMismatch):
            self.refresh_index()
            bundle = load_bundle(self.settings.index_dir, CATALOGUE_BUNDLE, expect)
        if bundle.manifest.get("catalogue_revision") != self.store.revision:
            self.refresh_index()
            bundle = load_bundle(self.settings.index_dir, CATALOGUE_BUNDLE, expect)
        return bundle

    def _current(self, name: str, build: Callable[[], T]) -> T:
        """A per-revision object (search structures): rebuilt when the catalogue moved on."""
        return self.caches.current(name, lambda: self.store.revision, build)

    def credential_vectors(self) -> CredentialVectors:
        """Every credential's unit vector by id (the FAISS bundle's matrix), per revision."""

        def build() -> CredentialVectors:
            index = self.bundle["credentials"]
            ids = {rowid: cid for rowid, (cid, _) in self.store.content_index().items()}
            owners = index.owners.tolist()
            return CredentialVectors.build([ids.get(o, "") for o in owners], index.vectors())

        return self._current("_credential_vectors", build)

    # -- search --------------------------------------------------------------------------
    def canonical_ids(self) -> dict[str, str]:
        """credential id → the id of the entry it is merged into, for every duplicate
        (same course from two sources or in two languages); ids not listed stand alone."""
        return dict(self.snapshot().canonical)

    def search(self, query: str | np.ndarray, k: int = 10) -> list[tuple[str, float]]:
        """Credentials nearest to a text (encoded as a query) or a query vector, by cosine
        over the FAISS credential index (exact up to 50k credentials, IVF above): [(id,
        cosine)], best first, each duplicate group once under its canonical id."""
        encoder = self.resources.encoder
        if isinstance(query, str):
            vector = encoder.encode_queries([clean_query(query, "query")])
        else:
            vector = np.asarray(query, dtype=np.float32).reshape(1, -1)
            if vector.shape[1] != encoder.dimension:
                raise ValueError(
                    f"query vector has {vector.shape[1]} dimensions; the "
                    f"{encoder.name} index has {encoder.dimension}"
                )
        return self.search_vectors(vector, k)[0]

    def search_vectors(self, vectors: np.ndarray, k: int = 10) -> list[list[tuple[str, float]]]:
        """:meth:`search` for many query vectors in one FAISS call: [(id, cosine)] per row."""
        search = self._current("_credential_search", self._build_credential_search)
        return search.search(np.asarray(vectors, dtype=np.float32), k)

    def _build_credential_search(self) -> CredentialSearch:
        bundle = self.bundle
        ids = {rowid: cid for rowid, (cid, _) in self.store.content_index().items()}
        return CredentialSearch(bundle, ids, self.snapshot().canonical)

    @property
    def bm25(self) -> CredentialBM25:
        """The BM25 index of the catalogue's text (title, outcomes, description), rebuilt
        when the catalogue changes; ``score_ids`` scores a candidate set for ranking."""
        return self._current("_credential_bm25", self._build_bm25)

    def _build_bm25(self) -> CredentialBM25:
        def rebuild() -> CredentialBM25:
            ids, texts = [], []
            for stored in self.store.iter_all():
                ids.append(stored.record.id)
                texts.append(_bm25_text(stored))
            return CredentialBM25(ids, texts)

        return self._derive(
            "_credential_bm25",
            lambda held, delta: held.updated(
                {s.record.id: _bm25_text(s) for s in delta.changed}, delta.removed
            ),
            rebuild,
        )

    def score_bm25(self, query: str, ids: Iterable[str]) -> dict[str, float]:
        """BM25 scores of the credentials ``ids`` for ``query`` (unknown ids score 0)."""
        return self.bm25.score_ids(query, ids)

    def search_bm25(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """BM25 over the credentials' text: [(id, score)], best first, duplicates once."""
        text = clean_query(query, "query")
        return self.bm25.search(text, k, self.snapshot().canonical)

    # -- the ranking view ----------------------------------------------------------------
    def snapshot(self) -> CatalogueSnapshot:
        """The ranking view of the catalogue, rebuilt only when the catalogue changed."""
        return self._current(
            "catalogue_snapshot",
            lambda: assemble_snapshot(self._snapshot_parts(), self.taxonomy.all_skill_labels),
        )

    def _snapshot_parts(self) -> SnapshotParts:
        return self._current("_snapshot_parts", self._build_snapshot_parts)

    def _build_snapshot_parts(self) -> SnapshotParts:
        return self._derive(
            "_snapshot_parts",
            lambda held, delta: updated_parts(held, delta.revision, delta.changed, delta.removed),
            lambda: snapshot_parts(self.store.revision, self.store.iter_all()),
        )

    def _derive(
        self,
        name: str,
        update: Callable[[T, CatalogueDelta], T],
        rebuild: Callable[[], T],
    ) -> T:
        """``name``'s value at the current revision: ``update(latest, delta)`` from the
        latest value when the change log gives a usable delta since its revision, else
        ``rebuild()`` from every record."""
        held = self.caches.latest(name)
        delta = self._delta(held[0]) if held is not None else None
        if held is None or delta is None:
            return rebuild()
        self.incremental[name] = self.incremental.get(name, 0) + 1
        return update(held[1], delta)

    def _delta(self, since: Hashable) -> CatalogueDelta | None:
        """What changed after revision ``since`` (read once for the snapshot and BM25 both),
        or None when a full rebuild is due: unknown or large delta."""
        if not isinstance(since, int):
            return None
        last = self._last_delta
        found = self.store.changes_since(since)
        if found is None or len(found[1]) > DELTA_MAX:
            return None
        revision, ids = found
        if last is not None and (last.since, last.revision) == (since, revision):
            return last
        changed = tuple(self.store.get_ids(ids))
        removed = frozenset(ids - {s.record.id for s in changed})
        self._last_delta = CatalogueDelta(since, revision, changed, removed)
        return self._last_delta

    def pool_snapshot(
        self, ids: Iterable[str], sources: Sequence[str] = LINK_SOURCES
    ) -> CatalogueSnapshot:
        """A snapshot of only the credentials ``ids`` with only links from ``sources`` (the
        evaluation ranks a pool without seeing the hidden links)."""
        return restrict_snapshot(self.snapshot(), ids, sources)


def _bm25_text(stored: StoredCredential) -> str:
    r = stored.record
    return bm25_text(r.title, r.learning_outcomes, r.description)
