"""Building the ranking view of the catalogue (:class:`CatalogueSnapshot`) from stored records.

The facade calls :func:`build_snapshot` when the catalogue revision moved on and swaps the
result in whole; :func:`restrict_snapshot` gives the evaluation a snapshot over a pool of
credentials and link sources (so retrieval never sees a hidden link), and
:func:`taught_skills` the ESCO skills some credential teaches, for neighbour search.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

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


def build_snapshot(
    revision: int, credentials: Iterable[StoredCredential], labels: Mapping[str, str]
) -> CatalogueSnapshot:
    """The snapshot of every stored credential at ``revision``, duplicates grouped."""
    entries, keys = [], []
    for stored in credentials:
        r = stored.record
        keys.append(
            DuplicateKeys(
                r.id, r.url, r.title, r.awarding_body, tuple(r.languages), _text_length(stored)
            )
        )
        entries.append(catalogue_entry(stored))
    return CatalogueSnapshot.build(revision, entries, labels, duplicate_groups(keys))


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
