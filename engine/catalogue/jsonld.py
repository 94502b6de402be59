"""JSON(-LD) plumbing shared by the ELM and Open Badges readers.

Both standards arrive as a parsed object, JSON text or a file, hold one or several top-level
objects (a list, or an ``@graph``), and are read object by object so that one odd object
becomes an :class:`ImportIssue` instead of stopping the import.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from skillpath.engine.catalogue.records import (
    ImportIssue,
    ImportItem,
    MicroCredential,
    SkillLink,
    issue_from,
)

JsonSource = str | Path | Mapping[str, Any] | Sequence[Any]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def types(node: Any) -> set[str]:
    """The node's ``type`` / ``@type`` values (empty for anything but an object)."""
    if not isinstance(node, Mapping):
        return set()
    return {str(t) for t in as_list(node.get("type") or node.get("@type"))}


def load_json(source: JsonSource) -> Any:
    """A parsed object, JSON text, or a path to a JSON(-LD) file -> the parsed object."""
    if isinstance(source, Mapping | list | tuple):
        return source
    if isinstance(source, str) and source.lstrip()[:1] in ("{", "["):
        return json.loads(source)
    with open(source, encoding="utf-8-sig") as fh:
        return json.load(fh)


def top_nodes(obj: Any) -> list[Any]:
    """The top-level objects: a list's items and an ``@graph``'s members, flattened."""
    if isinstance(obj, list | tuple):
        return [n for item in obj for n in top_nodes(item)]
    if isinstance(obj, Mapping) and "@graph" in obj:
        return top_nodes(obj["@graph"])
    return [obj]


def read_objects(
    source: JsonSource, read_node: Callable[[Any, int], Iterator[ImportItem]]
) -> Iterator[ImportItem]:
    """``read_node`` over every top-level object; an object of a shape it cannot read
    becomes an issue naming the object, and the rest still import."""
    for index, node in enumerate(top_nodes(load_json(source))):
        if not isinstance(node, Mapping):
            yield ImportIssue(reason=f"object #{index}: not a JSON object")
            continue
        try:
            yield from read_node(node, index)
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            yield ImportIssue(reason=f"object #{index}: unsupported shape ({exc})")


def export_links(record: MicroCredential, skills: Sequence[SkillLink]) -> list[SkillLink]:
    """The skills an export lists: the record's declared skills, then the caller's links
    (inferred ones) for other URIs; a declared URI wins. ELM and OB3 exports share it."""
    links = [
        SkillLink(uri=s.uri, label=s.label, evidence=s.outcome, source="declared")
        for s in record.declared_skills
    ]
    seen = {link.uri for link in links}
    for link in skills:
        if link.uri not in seen:
            links.append(link)
            seen.add(link.uri)
    return links


def validated_record(
    external_id: str | None, warnings: Sequence[ImportIssue], build: Callable[[], MicroCredential]
) -> Iterator[ImportIssue | MicroCredential]:
    """The tail every JSON-LD reader shares: the record, after its warnings, or the issue that
    says why it could not be built (the first invalid field; nothing else of it is kept)."""
    try:
        record = build()
    except ValidationError as exc:
        yield issue_from(exc, external_id)
        return
    except ValueError as exc:
        yield ImportIssue(external_id=external_id, reason=f"invalid record: {exc}")
        return
    for w in warnings:
        yield w.model_copy(update={"external_id": external_id})
    yield record
