"""Load the public benchmark splits under ``<shared>/bench`` into plain query records.

Published skill-extraction numbers (WorkRB) depend on small protocol details: which labels
count, how sentences are grouped, whether duplicates are merged. Getting one of them wrong
silently shifts every score, so this module implements the protocol of
``bench/README.md`` in one place and records what it dropped, so a runner can print the
counts next to the scores and anyone can check them against the published ones.

Only this module reads files; the metrics in :mod:`skillpath.evaluation.metrics` are pure.
"""

from __future__ import annotations

import ast
import csv
import io
import sys
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from skillpath.engine.errors import ImportFormatError

csv.field_size_limit(sys.maxsize)

SKILL_SPLITS: dict[str, str] = {
    "tech_val": "bench/skill-extraction/tech_validation_annotations.csv",
    "house_val": "bench/skill-extraction/house_validation_annotations.csv",
    "skillskape_dev": "bench/skill-extraction/skillskape_dev.csv",
}
"""Splits used for choosing methods, relative to the shared folder."""

SKILLSKAPE_TRAIN = "bench/skill-extraction/skillskape_train.csv"
"""Training split: for learning only, never for choosing (README: never train on dev)."""

TITLE_SPLIT = "bench/job-titles/jobbert-validation.csv"

SHARED_DIR_ENV = "SKILLPATH_SHARED_DIR"

_ANNOTATION_COLUMNS = ("sentence", "label")
_SKILLSKAPE_COLUMNS = ("sentence", "skills")
_TITLE_COLUMNS = ("vacancyTitle", "conceptUri")

SkillFormat = Literal["annotations", "skillskape"]


class BenchmarkFormatError(ImportFormatError):
    """A benchmark file is missing, unreadable or lacks the columns its format needs.

    The message names the file (and the row where known) so the data can be fixed.
    """


@dataclass(frozen=True)
class SkillQuery:
    """One query sentence and the ESCO skills it mentions (as preferred labels)."""

    qid: str
    text: str
    gold: frozenset[str]
    rows: tuple[int, ...] = ()
    """0-based data rows (header excluded) that contributed, for tracing back to the file."""


@dataclass(frozen=True)
class SkillBenchmark:
    """A skill-extraction split after the WorkRB protocol, with what the protocol dropped.

    The counts exist so that a mismatch with the published query / pair counts is visible
    before any score is compared.
    """

    name: str
    path: Path
    format: SkillFormat
    queries: list[SkillQuery]
    rows_read: int
    """Data rows in the file."""
    sentences_read: int
    """Distinct raw ``sentence`` values (the protocol groups by the raw text)."""
    labels_read: int
    """Label occurrences read (annotation rows, or entries of the SkillSkape lists)."""
    labels_dropped: int
    """Label occurrences that are not an ESCO preferred label after ``strip()``."""
    dropped_labels: dict[str, int] = field(default_factory=dict)
    """How often each dropped label occurred (``LABEL NOT PRESENT``, ``UNK``, ...)."""
    sentences_dropped: int = 0
    """Raw sentences left with no kept label (or with blank text)."""
    duplicates_merged: int = 0
    """Raw sentences whose stripped text equals an earlier query's and were merged into it."""

    @property
    def gold_pairs(self) -> int:
        """Number of (query, gold skill) pairs, the second published count."""
        return sum(len(query.gold) for query in self.queries)

    def qrels(self) -> dict[str, set[str]]:
        """Gold preferred labels per qid, the shape :func:`evaluate_rankings` takes."""
        return {query.qid: set(query.gold) for query in self.queries}

    def texts(self) -> dict[str, str]:
        """Query text per qid."""
        return {query.qid: query.text for query in self.queries}


@dataclass(frozen=True)
class TitleQuery:
    """A vacancy title and the ESCO occupation it was labelled with."""

    title: str
    occupation_uri: str
    qid: str = ""
    """The file's index column (or the data row number), so runs can be keyed stably."""


@dataclass(frozen=True)
class TitleBenchmark:
    """The job-title normalisation split; iterates, indexes and sizes like its query list."""

    path: Path
    queries: list[TitleQuery]
    rows_read: int
    blank_titles: int = 0
    """Rows skipped because the title is blank after stripping."""
    unknown_uri: list[TitleQuery] = field(default_factory=list)
    """Rows whose URI is not a known ESCO occupation; left out of ``queries`` because no
    ranker over the known occupations can answer them. Empty unless known URIs were given."""
    ambiguous_titles: int = 0
    """Stripped titles that occur with more than one occupation URI; each row stays a query."""

    def __iter__(self) -> Iterator[TitleQuery]:
        return iter(self.queries)

    def __len__(self) -> int:
        return len(self.queries)

    def __getitem__(self, index: int) -> TitleQuery:
        return self.queries[index]

    def gold(self) -> dict[str, str]:
        """Gold occupation URI per qid, the shape the title metrics take."""
        return {query.qid: query.occupation_uri for query in self.queries}


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a UTF-8 CSV file; errors name the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BenchmarkFormatError(f"{path}: cannot read benchmark file ({exc})") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BenchmarkFormatError(f"{path}: not UTF-8 (offset {exc.start})") from exc
    if not text.strip():
        raise BenchmarkFormatError(f"{path}: file is empty")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise BenchmarkFormatError(f"{path}, line {reader.line_num}: {exc}") from exc
    return list(reader.fieldnames or []), rows


def detect_skill_format(path: Path, header: Collection[str]) -> SkillFormat:
    """Which skill-benchmark format a header belongs to, or an error naming what is missing."""
    columns = set(header)
    if all(column in columns for column in _SKILLSKAPE_COLUMNS):
        return "skillskape"
    if all(column in columns for column in _ANNOTATION_COLUMNS):
        return "annotations"
    missing_ann = [c for c in _ANNOTATION_COLUMNS if c not in columns]
    missing_ss = [c for c in _SKILLSKAPE_COLUMNS if c not in columns]
    raise BenchmarkFormatError(
        f"{path}: not a skill benchmark CSV. The annotation format needs columns "
        f"{', '.join(_ANNOTATION_COLUMNS)} (missing: {', '.join(missing_ann)}); the SkillSkape "
        f"format needs {', '.join(_SKILLSKAPE_COLUMNS)} (missing: {', '.join(missing_ss)}). "
        f"Found: {', '.join(header) or '(no header)'}"
    )


def _skillskape_labels(path: Path, row_index: int, value: str | None) -> list[str]:
    """Parse the ``skills`` cell, a Python list literal of label strings."""
    try:
        parsed = ast.literal_eval((value or "").strip())
    except (ValueError, SyntaxError) as exc:
        raise BenchmarkFormatError(
            f"{path}, data row {row_index}: 'skills' is not a Python list literal: {value!r}"
        ) from exc
    if not isinstance(parsed, list | tuple) or not all(isinstance(x, str) for x in parsed):
        raise BenchmarkFormatError(
            f"{path}, data row {row_index}: 'skills' must be a list of strings: {value!r}"
        )
    return list(parsed)


def load_skill_benchmark(
    path: Path, preferred_labels: Collection[str], name: str | None = None
) -> SkillBenchmark:
    """Read a skill-extraction split with the WorkRB protocol (``bench/README.md``).

    1. Group rows by the raw ``sentence``; the query text is the stripped sentence.
    2. Keep labels whose ``strip()`` equals an ESCO preferred label (this drops
       ``LABEL NOT PRESENT``, ``UNDERSPECIFIED``, SkillSkape's ``UNK``); drop sentences left
       with no label; merge queries with the same stripped text by the union of their labels.

    Both the annotation CSVs (sentence, span, sub_span, label: one row per label) and the
    SkillSkape CSVs (index, sentence, skills as a Python-list string) are accepted; the
    format is detected from the header. Queries keep the order of their first row and get
    qids ``<name>:<n>``; ``name`` defaults to the file stem.
    """
    if isinstance(preferred_labels, str):
        raise TypeError("preferred_labels must be a collection of labels, not one string")
    known = frozenset(preferred_labels)
    if not known:
        raise ValueError("preferred_labels is empty: pass the ESCO skill preferred labels")
    path = Path(path)
    header, rows = _read_csv(path)
    fmt = detect_skill_format(path, header)

    # raw sentence -> (kept labels, rows); dicts keep first-appearance order.
    groups: dict[str, tuple[set[str], list[int]]] = {}
    dropped: Counter[str] = Counter()
    labels_read = 0
    for index, row in enumerate(rows):
        sentence = row.get("sentence") or ""
        if fmt == "annotations":
            raw_labels = [row.get("label") or ""]
        else:
            raw_labels = _skillskape_labels(path, index, row.get("skills"))
        kept, row_ids = groups.setdefault(sentence, (set(), []))
        row_ids.append(index)
        for raw in raw_labels:
            labels_read += 1
            label = raw.strip()
            if label in known:
                kept.add(label)
            else:
                dropped[label] += 1

    merged: dict[str, tuple[set[str], list[int]]] = {}
    sentences_dropped = 0
    duplicates = 0
    for sentence, (kept, row_ids) in groups.items():
        text = sentence.strip()
        if not kept or not text:
            sentences_dropped += 1
            continue
        if text in merged:
            duplicates += 1
            merged[text][0].update(kept)
            merged[text][1].extend(row_ids)
        else:
            merged[text] = (set(kept), list(row_ids))

    name = name or path.stem
    queries = [
        SkillQuery(qid=f"{name}:{n}", text=text, gold=frozenset(kept), rows=tuple(sorted(row_ids)))
        for n, (text, (kept, row_ids)) in enumerate(merged.items())
    ]
    return SkillBenchmark(
        name=name,
        path=path,
        format=fmt,
        queries=queries,
        rows_read=len(rows),
        sentences_read=len(groups),
        labels_read=labels_read,
        labels_dropped=sum(dropped.values()),
        dropped_labels=dict(dropped.most_common()),
        sentences_dropped=sentences_dropped,
        duplicates_merged=duplicates,
    )


def gold_uris(benchmark: SkillBenchmark, label_to_uri: Mapping[str, str]) -> dict[str, set[str]]:
    """Gold skills per qid as ESCO URIs, for rankers that return URIs.

    Raises if a gold label has no URI: that means the mapping comes from another ESCO
    version than the labels used when loading, and scores would silently drop pairs.
    """
    missing = sorted({g for q in benchmark.queries for g in q.gold if g not in label_to_uri})
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5])
        raise ValueError(
            f"{benchmark.name}: {len(missing)} gold label(s) have no URI in label_to_uri "
            f"(e.g. {shown}); use the same ESCO version for loading and mapping"
        )
    return {q.qid: {label_to_uri[g] for g in q.gold} for q in benchmark.queries}


def load_title_benchmark(
    path: Path, known_occupation_uris: Collection[str] | None = None
) -> TitleBenchmark:
    """Read the JobBERT title-normalisation split (index, vacancyTitle, conceptUri).

    Every row is one query (titles are stripped; rows are not merged, even when two rows'
    stripped titles coincide with different URIs, as in the published evaluation). When
    ``known_occupation_uris`` is given, rows with another URI are reported in
    ``unknown_uri`` and left out of the queries.
    """
    path = Path(path)
    header, rows = _read_csv(path)
    missing = [column for column in _TITLE_COLUMNS if column not in header]
    if missing:
        raise BenchmarkFormatError(
            f"{path}: not a job-title benchmark CSV; missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(header) or '(no header)'})"
        )
    known = None if known_occupation_uris is None else frozenset(known_occupation_uris)
    index_column = "" if "" in header else None
    queries: list[TitleQuery] = []
    unknown: list[TitleQuery] = []
    blank = 0
    uris_by_title: dict[str, set[str]] = {}
    for n, row in enumerate(rows):
        title = (row.get("vacancyTitle") or "").strip()
        uri = (row.get("conceptUri") or "").strip()
        if not title:
            blank += 1
            continue
        if not uri:
            raise BenchmarkFormatError(f"{path}, data row {n}: empty conceptUri")
        qid = (row.get(index_column) or "").strip() if index_column is not None else ""
        query = TitleQuery(title=title, occupation_uri=uri, qid=qid or str(n))
        if known is not None and uri not in known:
            unknown.append(query)
            continue
        queries.append(query)
        uris_by_title.setdefault(title, set()).add(uri)
    qids = [q.qid for q in queries]
    if len(set(qids)) != len(qids):
        raise BenchmarkFormatError(f"{path}: the index column repeats values; qids must be unique")
    return TitleBenchmark(
        path=path,
        queries=queries,
        rows_read=len(rows),
        blank_titles=blank,
        unknown_uri=unknown,
        ambiguous_titles=sum(len(uris) > 1 for uris in uris_by_title.values()),
    )


def default_shared_dir() -> Path:
    """The shared data folder, found the one way every layer finds it: ``Settings.shared_dir``
    (``$SKILLPATH_SHARED_DIR``, else ``../shared``)."""
    from skillpath.engine.config import Settings

    return Settings().shared_dir


def default_skill_splits(shared_dir: Path, include_train: bool = False) -> dict[str, Path]:
    """Paths of the skill splits used for choosing (train only on request), by short name."""
    splits = {name: Path(shared_dir) / rel for name, rel in SKILL_SPLITS.items()}
    if include_train:
        splits["skillskape_train"] = Path(shared_dir) / SKILLSKAPE_TRAIN
    return splits


def default_title_split(shared_dir: Path) -> Path:
    """Path of the JobBERT job-title validation split."""
    return Path(shared_dir) / TITLE_SPLIT
