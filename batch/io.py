"""Batch input and output files: JSON Lines or Parquet, read row by row, written streaming.

The format is chosen by the path's suffix: ``.jsonl`` / ``.ndjson`` / ``.json`` are JSON
Lines, ``.parquet`` is Parquet. Input rows are one recommendation request each (the body of
``POST /v1/recommendations``) plus an ``id``. Output rows are ``{"id", "response"}`` or
``{"id", "error"}``.

Resuming reads the ids already in OUTPUT, so a rerun skips them:

* JSON Lines output is appended and flushed (and fsynced) once per batch; a run killed
  mid-write leaves at most one partial last line, which :func:`open_writer` cuts off before
  appending again (that row is simply redone).
* Parquet output is a *directory* of part files, one per written batch, each written to a
  temporary name and renamed into place, so a part is either whole or absent; the directory
  reads as one table (``pyarrow.dataset``). ``response`` / ``error`` are JSON strings there,
  so the schema does not depend on which fields a response happens to fill.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from skillpath.errors import InvalidInput

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
PARQUET_SUFFIXES = (".parquet",)


def file_format(path: Path) -> str:
    """``jsonl`` or ``parquet`` from the suffix; anything else is a clear error."""
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise InvalidInput(
        f"{path}: unknown batch file format {suffix!r}; use .jsonl (JSON Lines) or .parquet"
    )


@dataclass(frozen=True)
class InputRow:
    """One input row: its id, 1-based line (row) number, and the request fields or why not."""

    id: str
    line: int
    payload: dict[str, Any] | None
    error: dict[str, Any] | None = None


def row_id(raw: Any, line: int) -> str:
    """The row's id as a string; a row without one gets ``#line-N`` (stable while the file
    is unchanged, so resume still works) and is answered like any other."""
    if isinstance(raw, str) and raw.strip():
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    return f"#line-{line}"


def _to_row(obj: Any, line: int) -> InputRow:
    if not isinstance(obj, dict):
        return InputRow(
            f"#line-{line}",
            line,
            None,
            error_record("invalid-row", f"line {line}: a row is a JSON object", None, line),
        )
    payload = dict(obj)
    ident = row_id(payload.pop("id", None), line)
    return InputRow(ident, line, payload)


def read_jsonl(path: Path) -> Iterator[InputRow]:
    """Rows of a JSON Lines file; an unparseable line is a row with an error, not a stop."""
    with path.open("rb") as f:
        for line_no, raw in enumerate(f, 1):
            text = raw.strip()
            if not text:
                continue
            try:
                obj = json.loads(text)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                detail = f"line {line_no}: not valid JSON ({exc})"
                yield InputRow(
                    f"#line-{line_no}",
                    line_no,
                    None,
                    error_record("invalid-json", detail, None, line_no),
                )
                continue
            yield _to_row(obj, line_no)


def _drop_nulls(value: Any) -> Any:
    """Parquet has no 'absent': a struct field missing from a row reads back as null. Drop
    those so the request schema's defaults apply, as they do for a JSON row without them."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def read_parquet(path: Path, batch_rows: int = 4096) -> Iterator[InputRow]:
    """Rows of a Parquet file or directory of files, streamed by record batch."""
    import pyarrow.dataset as ds

    dataset = ds.dataset(str(path), format="parquet")
    line = 0
    for batch in dataset.to_batches(batch_size=batch_rows):
        for obj in batch.to_pylist():
            line += 1
            yield _to_row(_drop_nulls(obj), line)


def read_input(path: Path) -> Iterator[InputRow]:
    if not path.exists():
        raise InvalidInput(f"{path}: input file not found")
    if file_format(path) == "parquet":
        return read_parquet(path)
    return read_jsonl(path)


def error_record(
    kind: str, detail: str, field: str | None = None, line: int | None = None
) -> dict[str, Any]:
    """The ``error`` object of an output row: what went wrong, and where (field, line)."""
    return {"type": kind, "detail": detail, "field": field, "line": line}


class Writer(Protocol):
    def done_ids(self) -> set[str]: ...
    def write(self, records: list[dict[str, Any]]) -> None: ...
    def close(self) -> None: ...


class JsonlWriter:
    """Appends output rows to a JSON Lines file, flushed and fsynced per batch."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._done = self._read_done()
        self._file = path.open("a", encoding="utf-8")

    def _read_done(self) -> set[str]:
        if not self.path.exists():
            return set()
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a partial last line from a killed run: cut it, redo that row
            with self.path.open("r+b") as f:
                f.truncate(end)
        done = set()
        for raw in data[:end].splitlines():
            if raw.strip():
                done.add(str(json.loads(raw)["id"]))
        return done

    def done_ids(self) -> set[str]:
        return set(self._done)

    def write(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        lines = (json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records)
        self._file.write("".join(line + "\n" for line in lines))
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


class ParquetWriter:
    """Writes each batch as one part file in the OUTPUT directory (atomic rename)."""

    def __init__(self, path: Path) -> None:
        if path.exists() and not path.is_dir():
            raise InvalidInput(f"{path}: Parquet output is a directory of part files")
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        for stale in path.glob(".tmp-*"):  # a part a killed run did not finish
            stale.unlink()
        self._done = self._read_done()

    def _read_done(self) -> set[str]:
        import pyarrow.parquet as pq

        done: set[str] = set()
        for part in sorted(self.path.glob("part-*.parquet")):
            done.update(pq.read_table(part, columns=["id"]).column("id").to_pylist())
        return done

    def done_ids(self) -> set[str]:
        return set(self._done)

    def write(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table(
            {
                "id": [r["id"] for r in records],
                "response": [_json_or_none(r.get("response")) for r in records],
                "error": [_json_or_none(r.get("error")) for r in records],
            },
            schema=pa.schema(
                [("id", pa.string()), ("response", pa.string()), ("error", pa.string())]
            ),
        )
        name = f"part-{uuid.uuid4().hex}.parquet"
        tmp = self.path / f".tmp-{name}"
        pq.write_table(table, tmp)
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        tmp.rename(self.path / name)

    def close(self) -> None:
        pass


def _json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def open_writer(path: Path) -> JsonlWriter | ParquetWriter:
    if file_format(path) == "parquet":
        return ParquetWriter(path)
    return JsonlWriter(path)


def read_output(path: Path) -> list[dict[str, Any]]:
    """Every output row, as dicts with ``response`` / ``error`` decoded (tests, benchmarks)."""
    if file_format(path) == "parquet":
        import pyarrow.dataset as ds

        if not path.exists():
            return []
        rows = ds.dataset(str(path), format="parquet").to_table().to_pylist()
        out = []
        for row in rows:
            rec: dict[str, Any] = {"id": row["id"]}
            for key in ("response", "error"):
                if row.get(key) is not None:
                    rec[key] = json.loads(row[key])
            out.append(rec)
        return out
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, rows: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> int:
    """Write input rows (the generator's output) as JSON Lines; returns the count."""
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> int:
    """Write input rows as one Parquet file, nested fields as structs / lists."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
    return len(rows)
