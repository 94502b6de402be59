"""Building the ranking view of the catalogue (:class:`CatalogueSnapshot`) from stored records.

The facade calls :func:`build_snapshot` when the catalogue revision moved on and swaps the
result in whole. Parsing every stored record is what makes a build slow (~2 s for 9.4k
credentials), so the per-credential parts (:class:`SnapshotParts`: the compact entry and the
duplicate keys of each record) are kept with the snapshot, and a write of a few credentials
derives the next snapshot with :func:`updated_parts` from them plus the changed records only;
grouping duplicates and the postings are then recomputed over the parts in memory, so the
result equals a from-scratch build. :func:`restrict_snapshot` gives the evaluation a snapshot
over a pool of credentials and link sources (so retrieval never sees a hidden link), and
:func:`taught_skills` the ESCO skills some credential teaches, for neighbour search.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from skillpath.engine.catalogue.duplicates import DuplicateKeys, duplicate_groups
from skillpath.engine.catalogue.store import StoredCredential
from skillpath.engine.recommendation import (
    LINK_SOURCES,
    CatalogueEntry,
    CatalogueSnapshot,
)


def catalogue_entry(stored: StoredCredential) -> CatalogueEntry:
    """The compact fields ranking needs from one stored credential."""
    r = stored.record
    return CatalogueEntry(
        id=r.id,
        title=r.title,
        links=tuple(stored.links),
        ects=r.ects,
        hours=r.hours,
        eqf_level=r.eqf_level,
        mode=r.mode,
        languages=tuple(r.languages),
        country=r.country,
        price=0.0 if r.is_free else r.price,
        provider=r.awarding_body,
        level_text=r.level_text,
        url=r.url,
        text_chars=_text_length(stored),
    )


def _text_length(stored: StoredCredential) -> int:
    r = stored.record
    return len(r.description or "") + sum(map(len, r.learning_outcomes))


def duplicate_keys(stored: StoredCredential) -> DuplicateKeys:
    r = stored.record
    return DuplicateKeys(
        r.id, r.url, r.title, r.awarding_body, tuple(r.languages), _text_length(stored)
    )


@dataclass(frozen=True)
class SnapshotParts:
    """What a snapshot is assembled from, per stored credential, in rowid order (the order a
    from-scratch build reads them in): id → (rowid, entry, duplicate keys). Never mutated:
    :func:`updated_parts` returns new parts."""

    revision: int
    rows: Mapping[str, tuple[int, CatalogueEntry, DuplicateKeys]]


def snapshot_parts(revision: int, credentials: Iterable[StoredCredential]) -> SnapshotParts:
    """The parts of every credential given (in the order given: rowid order from the store)."""
    rows = {s.record.id: (s.rowid, catalogue_entry(s), duplicate_keys(s)) for s in credentials}
    return SnapshotParts(revision, rows)


def updated_parts(
    parts: SnapshotParts,
    revision: int,
    changed: Iterable[StoredCredential],
    removed: Iterable[str],
) -> SnapshotParts:
    """``parts`` with the ``changed`` credentials replaced or added and ``removed`` gone,
    at ``revision``, still in rowid order."""
    rows = dict(parts.rows)
    for cid in removed:
        rows.pop(cid, None)
    for stored in changed:
        rows[stored.record.id] = (stored.rowid, catalogue_entry(stored), duplicate_keys(stored))
    ordered = dict(sorted(rows.items(), key=lambda item: item[1][0]))
    return SnapshotParts(revision, ordered)


def assemble_snapshot(parts: SnapshotParts, labels: Mapping[str, str]) -> CatalogueSnapshot:
    """The snapshot of ``parts``: duplicates grouped, postings built (in memory, no parsing)."""
    rows = parts.rows.values()
    groups = duplicate_groups(keys for _, _, keys in rows)
    return CatalogueSnapshot.build(parts.revision, [e for _, e, _ in rows], labels, groups)


def build_snapshot(
    revision: int, credentials: Iterable[StoredCredential], labels: Mapping[str, str]
) -> CatalogueSnapshot:
    """The snapshot of every stored credential at ``revision``, duplicates grouped."""
    return assemble_snapshot(snapshot_parts(revision, credentials), labels)


def restrict_snapshot(
    snapshot: CatalogueSnapshot,
    ids: Iterable[str],
    sources: Sequence[str] = LINK_SOURCES,
) -> CatalogueSnapshot:
    """A snapshot of only ``ids`` with only links from ``sources`` (evaluation pools).

    No duplicate grouping and no labels: the pool is scored as given.
    """
    allowed = set(sources)
    entries = [
        replace(entry, links=tuple(x for x in entry.links if x.source in allowed))
        for entry in (snapshot.entries[cid] for cid in sorted(set(ids)))
    ]
    return CatalogueSnapshot.build(snapshot.revision, entries)


def taught_skills(
    snapshot: CatalogueSnapshot, position: Mapping[str, int]
) -> tuple[np.ndarray, list[str]]:
    """(vector rows, URIs) of the ESCO skills some credential of ``snapshot`` teaches; cached
    on the snapshot (it never changes, so the cache never goes stale)."""
    if snapshot.taught is None:
        uris = sorted(u for u in snapshot.postings if u in position)
        snapshot.taught = (np.asarray([position[u] for u in uris], dtype=np.int64), uris)
    return snapshot.taught
