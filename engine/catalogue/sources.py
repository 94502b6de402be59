"""Catalogue files in and out: pick the reader for a format, and render an export.

The facade's import and export methods delegate here, so adding a format (a new importer)
means one reader module plus one branch in :func:`read_catalogue` and :func:`export_record`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from skillpath.engine.catalogue.csv_import import (
    count_csv_rows,
    list_mappings,
    load_mapping,
    read_csv_catalogue,
)
from skillpath.engine.catalogue.elm import read_elm, to_elm
from skillpath.engine.catalogue.ob3 import read_ob3, to_ob3
from skillpath.engine.catalogue.records import ImportItem, SkillLink
from skillpath.engine.catalogue.store import StoredCredential
from skillpath.engine.errors import InvalidInput

IMPORT_FORMATS = ("csv", "elm", "ob3")
EXPORT_FORMATS = ("json", "elm", "ob3")


def guess_mapping(path: Path) -> str:
    """The shipped mapping whose ``file`` names this file, e.g. coursera-courses.csv."""
    for name in list_mappings():
        if load_mapping(name).file == path.name:
            return name
    raise InvalidInput(
        f"{path.name}: no shipped mapping names this file; pass --mapping NAME or a TOML path "
        f"(shipped: {', '.join(list_mappings())})"
    )


def read_catalogue(
    path: Path, fmt: str, mapping: str | None = None
) -> tuple[str, Iterator[ImportItem]]:
    """(source name, item stream) for a catalogue file in one of :data:`IMPORT_FORMATS`."""
    if fmt == "csv":
        spec = load_mapping(mapping or guess_mapping(path))
        return spec.source, read_csv_catalogue(path, spec)
    if fmt == "elm":
        return "elm", read_elm(path)
    if fmt == "ob3":
        return "ob3", read_ob3(path)
    raise InvalidInput(f"unknown catalogue format {fmt!r}: use csv, elm or ob3")


def count_hint(path: Path, fmt: str) -> int | None:
    """How many items the file holds, for a progress bar (CSV only: one row, one item)."""
    return count_csv_rows(path) if fmt == "csv" else None


def export_links(stored: StoredCredential, labels: Mapping[str, str]) -> list[SkillLink]:
    """The credential's ESCO links as exported: declared or inferred, provider tags left out
    (a tag is the provider's word, not an outcome)."""
    return [
        SkillLink(
            uri=link.skill_uri,
            label=labels.get(link.skill_uri),
            score=link.score,
            evidence=link.evidence,
            source="declared" if link.source == "declared" else "inferred",
        )
        for link in stored.links
        if link.source != "tag"
    ]


def export_record(stored: StoredCredential, labels: Mapping[str, str], fmt: str) -> dict:
    """One credential, ESCO-enriched, as ELM JSON-LD, an OB3 Achievement, or plain JSON."""
    links = export_links(stored, labels)
    if fmt == "elm":
        return to_elm(stored.record, links)
    if fmt == "ob3":
        return to_ob3(stored.record, links)
    if fmt == "json":
        return {
            "credential": stored.record.model_dump(mode="json"),
            "skills": [link.model_dump(mode="json") for link in links],
        }
    raise InvalidInput(f"unknown export format {fmt!r}: use json, elm or ob3")
