"""CSV catalogue import driven by a declarative mapping (``mappings/<name>.toml``).

A new catalogue should need a new TOML file, not new code: the mapping names the id column,
which column feeds which :class:`MicroCredential` field through which parser (from
:mod:`skillpath.engine.catalogue.parsing`), source-level constants, where the learning outcomes
are and how to split them, the provider's skill tags and the description columns.

Reading uses the stdlib ``csv`` module and yields, for every data row, either a record or an
:class:`ImportIssue` saying why the row was skipped (with the physical line where it starts),
so ``rows == records + skipped issues`` always holds and nothing is dropped silently.
Duplicate external ids within one file: the first row wins, later ones are reported.
Bad cells in optional fields do not drop the row: the field stays ``None`` and a
``severity="warning"`` issue is yielded *in addition* to the record.
"""

from __future__ import annotations

import csv
import hashlib
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from skillpath.engine.catalogue.parsing import (
    MULTI_COLUMN_PARSERS,
    PARSERS,
    is_missing,
    parse_comma_list,
    parse_list_literal,
    parse_text,
)
from skillpath.engine.catalogue.records import (
    ImportIssue,
    ImportItem,
    MicroCredential,
    check_url,
    issue_from,
)
from skillpath.engine.errors import ImportFormatError
from skillpath.engine.statements import normalize_text, split_statements

__all__ = [
    "CsvMapping",
    "FieldSpec",
    "MappingError",
    "MAPPINGS_DIR",
    "count_csv_rows",
    "list_mappings",
    "load_mapping",
    "read_csv_catalogue",
]

MAPPINGS_DIR = Path(__file__).with_name("mappings")
# Undecodable bytes survive decoding as lone surrogates (errors="surrogateescape").
_SURROGATE_RE = re.compile("[\udc80-\udcff]")
_MAX_FIELD = min(sys.maxsize, 2**31 - 1)
# Fields a mapping may fill (everything but the derived/identity ones).
_ASSIGNABLE = frozenset(MicroCredential.model_fields) - {
    "id",
    "source",
    "external_id",
    "learning_outcomes",
    "provider_skill_tags",
    "description",
    "declared_skills",
    "outcomes_source",
}


class MappingError(ImportFormatError):
    """A mapping file that cannot be used; the message names the file and the key."""


class FieldSpec(BaseModel):
    """One record field filled from one or more columns through a named parser."""

    model_config = ConfigDict(extra="forbid")

    column: str | None = None
    columns: list[str] = Field(default_factory=list)
    parser: str = "text"
    required: bool = False
    joiner: str = "\n"

    @model_validator(mode="after")
    def _check(self) -> FieldSpec:
        if self.column and self.columns:
            raise ValueError("give either 'column' or 'columns', not both")
        if self.column:
            self.columns = [self.column]
            self.column = None
        if not self.columns:
            raise ValueError("needs 'column' or 'columns'")
        if self.parser not in PARSERS:
            raise ValueError(f"unknown parser {self.parser!r}; known: {sorted(PARSERS)}")
        return self


class IdSpec(BaseModel):
    """How the external id is built: a column (optionally minus a URL prefix) or, for files
    without an id, a hash of normalised columns (stable across runs)."""

    model_config = ConfigDict(extra="forbid")

    column: str | None = None
    strip_prefixes: list[str] = Field(default_factory=list)
    hash_of: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> IdSpec:
        if bool(self.column) == bool(self.hash_of):
            raise ValueError("give exactly one of 'column' or 'hash_of'")
        return self


class TextListSpec(BaseModel):
    """Columns holding a list of statements/tags and how to split them.

    ``split``: ``statements`` (:func:`split_statements`), ``list_literal`` (a Python list
    string, each item then split into statements for outcomes), ``comma`` (comma list).
    ``fallback_columns`` are read only when ``columns`` give nothing.
    """

    model_config = ConfigDict(extra="forbid")

    columns: list[str] = Field(default_factory=list)
    fallback_columns: list[str] = Field(default_factory=list)
    split: Literal["statements", "list_literal", "comma"] = "statements"


class DescriptionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: list[str] = Field(default_factory=list)
    joiner: str = "\n\n"


class CsvMapping(BaseModel):
    """A parsed mapping file (see ``mappings/*.toml`` for commented examples)."""

    model_config = ConfigDict(extra="forbid")

    source: str
    file: str | None = None  # usual file name under <shared>/catalogue (informational)
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    id: IdSpec
    constants: dict[str, Any] = Field(default_factory=dict)
    fields: dict[str, FieldSpec]
    learning_outcomes: TextListSpec = Field(default_factory=TextListSpec)
    skill_tags: TextListSpec = Field(default_factory=lambda: TextListSpec(split="comma"))
    description: DescriptionSpec = Field(default_factory=DescriptionSpec)
    path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _check(self) -> CsvMapping:
        if ":" in self.source or not self.source.strip():
            raise ValueError(f"source {self.source!r}: not blank, no ':' (it ends the source)")
        for name in [*self.fields, *self.constants]:
            if name not in _ASSIGNABLE:
                raise ValueError(f"unknown record field {name!r}")
        if "title" not in self.fields and "title" not in self.constants:
            raise ValueError("'fields.title' is required")
        return self

    def columns_used(self) -> set[str]:
        cols = {c for spec in self.fields.values() for c in spec.columns}
        cols |= set(self.learning_outcomes.columns) | set(self.learning_outcomes.fallback_columns)
        cols |= set(self.skill_tags.columns) | set(self.skill_tags.fallback_columns)
        cols |= set(self.description.columns)
        cols |= {self.id.column} if self.id.column else set(self.id.hash_of)
        return cols


def list_mappings() -> list[str]:
    """Names of the shipped mappings (``coursera``, ``edx``, ...)."""
    return sorted(p.stem for p in MAPPINGS_DIR.glob("*.toml"))


def load_mapping(name_or_path: str | Path) -> CsvMapping:
    """Load a shipped mapping by name or any mapping file by path; errors name file and key."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = MAPPINGS_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise MappingError(f"mapping not found: {name_or_path} (known: {list_mappings()})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: invalid TOML: {exc}") from exc
    try:
        mapping = CsvMapping.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise MappingError(f"{path}: {problems}") from exc
    mapping.path = path
    return mapping


def count_csv_rows(path: str | Path, encoding: str = "utf-8-sig") -> int:
    """Data rows in a CSV file as the csv module sees them (for cross-checking imports)."""
    csv.field_size_limit(_MAX_FIELD)
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        return sum(1 for row in csv.reader(fh) if row) - 1  # blank lines are not rows


def _stable_hash(values: list[str]) -> str:
    key = "\x1f".join(normalize_text(v).casefold() for v in values)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _has_bad_bytes(row: list[str]) -> str | None:
    """Name of the first cell holding undecodable bytes (kept as surrogate escapes)."""
    for i, cell in enumerate(row):
        if _SURROGATE_RE.search(cell):
            return str(i)
    return None


def _statements(texts: list[str]) -> list[str]:
    out: list[str] = []
    for text in texts:
        for st in split_statements(text):
            clean = normalize_text(st.text)
            if clean and clean not in out:
                out.append(clean)
    return out


def _text_list(
    row: dict[str, str], spec: TextListSpec, outcomes: bool
) -> tuple[list[str], str | None]:
    """Items from the first of (columns, fallback_columns) that gives any, and that column."""
    for group in (spec.columns, spec.fallback_columns):
        items: list[str] = []
        used: list[str] = []
        for col in group:
            cell = row.get(col)
            if is_missing(cell):
                continue
            assert cell is not None
            if spec.split == "list_literal":
                parts = parse_list_literal(cell)
                got = _statements(parts) if outcomes else parts
            elif spec.split == "comma":
                got = parse_comma_list(cell)
            else:
                got = _statements([cell]) if outcomes else [normalize_text(cell)]
            if got:
                used.append(col)
                items.extend(x for x in got if x not in items)
        if items:
            return items, "+".join(used)
    return [], None


class _RowError(Exception):
    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _build(
    row: dict[str, str], mapping: CsvMapping, line: int
) -> tuple[dict[str, Any], list[ImportIssue]]:
    """Record kwargs for one row, plus warnings for optional cells that failed to parse."""
    values: dict[str, Any] = dict(mapping.constants)
    warnings: list[ImportIssue] = []
    for name, spec in mapping.fields.items():
        parser = PARSERS[spec.parser]
        cells = [row.get(c) for c in spec.columns]
        try:
            if spec.parser in MULTI_COLUMN_PARSERS:
                value = parser(*cells)
            else:
                present = [c for c in cells if not is_missing(c)]
                value = parser(spec.joiner.join(present)) if present else parser(None)
            if name == "url" and isinstance(value, str):
                value = check_url(value)  # else a warning: the link is dropped, the row kept
        except (ValueError, TypeError) as exc:
            if spec.required:
                raise _RowError(name, f"cannot parse {name}: {exc}") from exc
            warnings.append(ImportIssue(line=line, field=name, reason=str(exc), severity="warning"))
            continue
        if isinstance(value, dict):
            values.update({k: v for k, v in value.items() if v is not None})
        elif value is not None and value != []:
            values[name] = value
        elif spec.required:
            raise _RowError(name, f"missing required field {name!r} ({', '.join(spec.columns)})")
    for key, spec, outcomes in (
        ("learning_outcomes", mapping.learning_outcomes, True),
        ("provider_skill_tags", mapping.skill_tags, False),
    ):
        try:
            items, used = _text_list(row, spec, outcomes)
        except ValueError as exc:
            warnings.append(ImportIssue(line=line, field=key, reason=str(exc), severity="warning"))
            continue
        values[key] = items
        if outcomes and used:
            values["outcomes_source"] = used
    desc = [parse_text(row.get(c)) for c in mapping.description.columns]
    joined = mapping.description.joiner.join(d for d in desc if d)
    if joined:
        values["description"] = joined
    return values, warnings


def _external_id(row: dict[str, str], spec: IdSpec) -> str | None:
    if spec.column:
        value = (row.get(spec.column) or "").strip()
        for prefix in spec.strip_prefixes:
            if value.startswith(prefix):
                value = value[len(prefix) :]
                break
        return value.strip("/") or None
    parts = [row.get(c) or "" for c in spec.hash_of]
    return _stable_hash(parts) if any(p.strip() for p in parts) else None


def read_csv_catalogue(path: str | Path, mapping: CsvMapping | str | Path) -> Iterator[ImportItem]:
    """Yield a :class:`MicroCredential` or a skipped-row :class:`ImportIssue` per data row.

    Raises :class:`MappingError` (naming the file) when the header lacks a mapped column,
    and ``OSError`` when the file cannot be opened. Undecodable bytes, wrong field counts,
    missing titles and duplicate ids become issues for their row, never exceptions.
    """
    if not isinstance(mapping, CsvMapping):
        mapping = load_mapping(mapping)
    path = Path(path)
    csv.field_size_limit(_MAX_FIELD)
    with open(path, encoding=mapping.encoding, errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh, delimiter=mapping.delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise MappingError(f"{path}: unreadable CSV header: {exc}") from exc
        header = [h.strip() for h in header]
        missing = sorted(mapping.columns_used() - set(header))
        if missing:
            raise MappingError(
                f"{path}: columns {missing} named in mapping {mapping.path or mapping.source} "
                f"are not in the header"
            )
        width = len(header)
        seen: dict[str, int] = {}
        next_start = reader.line_num + 1
        while True:
            start = next_start
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                next_start = reader.line_num + 1
                yield ImportIssue(line=start, reason=f"unreadable CSV row: {exc}")
                continue
            next_start = reader.line_num + 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line: not a data row (csv.reader yields [] for it)
            yield from _row_items(row, header, width, start, mapping, seen)


def _row_items(
    row: list[str],
    header: list[str],
    width: int,
    line: int,
    mapping: CsvMapping,
    seen: dict[str, int],
) -> Iterator[ImportItem]:
    if len(row) != width:
        yield ImportIssue(
            line=line,
            reason=f"expected {width} fields, got {len(row)} (broken quoting?)",
        )
        return
    bad = _has_bad_bytes(row)
    if bad is not None:
        yield ImportIssue(
            line=line, field=header[int(bad)], reason="invalid UTF-8 bytes in this row"
        )
        return
    cells = dict(zip(header, row, strict=True))
    external_id = _external_id(cells, mapping.id)
    if not external_id:
        field = mapping.id.column or "+".join(mapping.id.hash_of)
        yield ImportIssue(line=line, field=field, reason="missing external id")
        return
    if external_id in seen:
        yield ImportIssue(
            line=line,
            field=mapping.id.column,
            external_id=external_id,
            reason=f"duplicate external id (first seen on line {seen[external_id]})",
        )
        return
    try:
        values, warnings = _build(cells, mapping, line)
        record = MicroCredential(source=mapping.source, external_id=external_id, **values)
    except _RowError as exc:
        yield ImportIssue(line=line, field=exc.field, reason=exc.reason, external_id=external_id)
        return
    except ValidationError as exc:
        yield issue_from(exc, external_id, line)
        return
    seen[external_id] = line
    for w in warnings:
        yield w.model_copy(update={"external_id": external_id})
    yield record
