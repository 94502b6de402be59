"""Import a stream of parsed credentials: map outcomes to ESCO, upsert, report.

The reader (CSV with a mapping, ELM, OB3) yields records and issues; this module batches the
records, skips the ones already stored unchanged (same content hash, same matcher), maps the
learning outcomes of the rest to ESCO skills in one encoder call per batch (the heavy part),
validates declared ESCO URIs, links the provider's own skill tags, and upserts each batch in
one transaction. The summary accounts for every item read.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from skillpath.engine.catalogue.records import ImportIssue, ImportItem, MicroCredential
from skillpath.engine.catalogue.store import CatalogueStore, StoredLink
from skillpath.engine.statements import split_statements

FALLBACK_STATEMENTS = 12  # description sentences mapped when a record states no outcomes
# Issues kept in a summary: an 8 MiB "[1,1,...]" body is millions of skipped objects, and a
# list of them all would be a response (and memory) many times the body. The counts
# (skipped, warnings, issue_count, skip_reasons) stay exact; ``issues_omitted`` says how many
# were not listed.
MAX_ISSUES = 1_000
IMPORT_BATCH = 256  # records mapped per matcher call and upserted per transaction


def mapping_statements(record: MicroCredential) -> list[str]:
    """The statements mapped to ESCO: the learning outcomes, or — when the source states none —
    the title and the first sentences of the description (still evidence, never invented
    outcomes: the record's ``learning_outcomes`` stay empty)."""
    if record.learning_outcomes:
        return list(record.learning_outcomes)
    sentences = [s.text for s in split_statements(record.description or "")]
    return [record.title, *sentences[:FALLBACK_STATEMENTS]]


# An issued credential (ELM / OB3 with a credential subject) names a person: the catalogue
# keeps the offering and drops these fields before anything is stored or served.
PERSONAL_FIELDS = ("learner", "grade", "issued_on")


def without_person(record: MicroCredential) -> tuple[MicroCredential, ImportIssue | None]:
    """``record`` with the credential subject's personal fields dropped, and a warning saying so."""
    present = [name for name in PERSONAL_FIELDS if getattr(record, name) is not None]
    if not present or (record.learner is None and record.grade is None):
        return record, None  # a bare issue date on an offering is not personal
    issue = ImportIssue(
        field=", ".join(present),
        reason="issued credential: the learner's personal data was dropped; the offering is kept",
        external_id=record.external_id,
        severity="warning",
    )
    return record.model_copy(update=dict.fromkeys(present)), issue


class StatementMapper(Protocol):
    """What the importer needs of the matcher: batch statement → ESCO skills, and a fingerprint.

    It answers in the stored link record itself (:class:`StoredLink`: ``inferred`` links with
    the statement as evidence and the matched span, ``tag`` links with the tag), so a link has
    one record from the matcher to the store.
    """

    @property
    def fingerprint(self) -> str: ...

    def map_statements(self, statements: Sequence[str]) -> list[list[StoredLink]]: ...

    def map_tags(self, tags: Sequence[str]) -> list[StoredLink | None]: ...


@dataclass
class ImportSummary:
    source: str
    read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    warnings: int = 0
    statements_mapped: int = 0
    declared_links: int = 0
    inferred_links: int = 0
    tag_links: int = 0
    seconds: float = 0.0
    issues: list[ImportIssue] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    issue_count: int = 0  # every issue, listed or not
    issues_omitted: int = 0  # issues past MAX_ISSUES, counted but not listed
    reason_counts: dict[str, int] = field(default_factory=dict)  # skipped, by reason

    @property
    def records(self) -> int:
        return self.imported + self.updated + self.unchanged

    def add_issue(self, issue: ImportIssue, max_issues: int = MAX_ISSUES) -> None:
        """Count ``issue`` exactly; list it only while fewer than ``max_issues`` are listed."""
        self.issue_count += 1
        if issue.severity == "skipped":
            key = issue.reason.split(":")[0][:80]
            self.reason_counts[key] = self.reason_counts.get(key, 0) + 1
        if len(self.issues) < max_issues:
            self.issues.append(issue)
        else:
            self.issues_omitted += 1

    def skip_reasons(self) -> dict[str, int]:
        return dict(sorted(self.reason_counts.items(), key=lambda kv: -kv[1]))


def _links_for(
    record: MicroCredential,
    mapped: list[list[StoredLink]],
    tags: list[StoredLink | None],
    known_skill: Callable[[str], bool],
    summary: ImportSummary,
) -> list[StoredLink]:
    links: dict[tuple[str, str], StoredLink] = {}
    for declared in record.declared_skills:
        uri = declared.uri.replace("https://", "http://", 1)
        if not known_skill(uri):
            summary.warnings += 1
            summary.add_issue(
                ImportIssue(
                    field="declared_skills",
                    reason=f"declared skill {uri} is not an ESCO skill of this release; kept out",
                    external_id=record.external_id,
                    severity="warning",
                )
            )
            continue
        links[(uri, "declared")] = StoredLink(uri, 1.0, declared.outcome, "declared")
    for skills in mapped:  # one list per statement of mapping_statements(record)
        for link in skills:
            key = (link.skill_uri, "inferred")
            if key not in links or links[key].score < link.score:
                links[key] = link
    for link in tags:
        if link is not None:
            key = (link.skill_uri, "tag")
            if key not in links or links[key].score < link.score:
                links[key] = link
    for (_, source), _link in links.items():
        setattr(summary, f"{source}_links", getattr(summary, f"{source}_links") + 1)
    return sorted(links.values(), key=lambda link: (link.source, -link.score, link.skill_uri))


RecordLinks = tuple[list[list[StoredLink]], list[StoredLink | None]]
"""One record's mapped links: per statement of :func:`mapping_statements`, per provider tag."""

BatchMapping = Callable[
    [StatementMapper, Iterable[list[MicroCredential]]], Iterator[list[RecordLinks]]
]
"""Maps a stream of record batches (the costly part of an import: statement splitting,
encoding, ESCO matching), yielding each batch's :data:`RecordLinks` in input order. The
default maps in this process with ``mapper``; ``skillpath catalogue import --engine ray``
plugs in one that maps on Ray actors (``batch/catalogue.py``) and checks that their matcher
has ``mapper``'s fingerprint. It may read ahead of the writes: the store stays written here."""


def map_records(mapper: StatementMapper, records: Sequence[MicroCredential]) -> list[RecordLinks]:
    """Map one batch: all its statements in one matcher call, all its provider tags in one."""
    per_record = [mapping_statements(r) for r in records]
    statements = [s for texts in per_record for s in texts]
    tags = [t for r in records for t in r.provider_skill_tags]
    mapped = mapper.map_statements(statements) if statements else []
    tag_skills = mapper.map_tags(tags) if tags else []
    out: list[RecordLinks] = []
    s_at, t_at = 0, 0
    for record, texts in zip(records, per_record, strict=True):
        n_s, n_t = len(texts), len(record.provider_skill_tags)
        out.append((mapped[s_at : s_at + n_s], tag_skills[t_at : t_at + n_t]))
        s_at, t_at = s_at + n_s, t_at + n_t
    return out


def map_in_process(
    mapper: StatementMapper, batches: Iterable[list[MicroCredential]]
) -> Iterator[list[RecordLinks]]:
    """The default :data:`BatchMapping`: one batch at a time, in this process."""
    for batch in batches:
        yield map_records(mapper, batch)


MAPPING_ENGINES: dict[str, Callable[..., BatchMapping]] = {}
"""Parallel mappers by ``--engine`` name, registered by plugins (``batch`` registers ``ray``:
a factory taking ``address`` and ``workers``), so the engine never imports them."""


def import_items(
    items: Iterable[ImportItem],
    source: str,
    catalogue: CatalogueStore,
    mapper: StatementMapper,
    known_skill: Callable[[str], bool],
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    mapping: BatchMapping | None = None,
) -> ImportSummary:
    """Map and upsert every record of ``items``; account for every item in the summary.

    ``mapping`` (default: in process) maps the batches; the store reads and writes stay
    here, one batch after another, in order.
    """
    started = time.perf_counter()
    batch_size = batch_size or IMPORT_BATCH
    summary = ImportSummary(source=source)
    seen: set[str] = set()
    in_flight: deque[tuple[list[MicroCredential], list[MicroCredential]]] = deque()

    def batches() -> Iterator[list[MicroCredential]]:
        batch: list[MicroCredential] = []
        for item in items:
            if isinstance(item, ImportIssue):
                summary.add_issue(item)
                if item.severity == "skipped":
                    summary.read += 1
                    summary.skipped += 1
                    if progress:
                        progress(1)
                else:
                    summary.warnings += 1
                continue
            summary.read += 1
            item, personal = without_person(item)
            if personal is not None:
                summary.warnings += 1
                summary.add_issue(personal)
            if item.id in seen:
                summary.skipped += 1
                summary.add_issue(
                    ImportIssue(reason="duplicate id in this import", external_id=item.external_id)
                )
                continue
            seen.add(item.id)
            summary.ids.append(item.id)
            batch.append(item)
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def todo() -> Iterator[list[MicroCredential]]:
        """Each batch's records not stored unchanged (ids are unique within an import, so
        reading ahead of the writes of earlier batches gives the same answer)."""
        for batch in batches():
            stored = catalogue.fingerprints([r.id for r in batch])
            fresh = [r for r in batch if stored.get(r.id) != (r.content_hash(), mapper.fingerprint)]
            summary.unchanged += len(batch) - len(fresh)
            in_flight.append((batch, fresh))
            yield fresh

    for results in (mapping or map_in_process)(mapper, todo()):
        batch, fresh = in_flight.popleft()
        rows = []
        for record, (mapped, tag_skills) in zip(fresh, results, strict=True):
            summary.statements_mapped += len(mapped)
            rows.append((record, _links_for(record, mapped, tag_skills, known_skill, summary)))
        if rows:
            for status in catalogue.upsert(rows, mapper.fingerprint).values():
                setattr(summary, status, getattr(summary, status) + 1)
        if progress:
            progress(len(batch))
    summary.seconds = time.perf_counter() - started
    return summary
