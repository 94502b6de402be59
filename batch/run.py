"""The batch driver: read INPUT, skip what OUTPUT already has, answer the rest, write each id once.

Two engines run the same :class:`~skillpath.batch.worker.BatchWorker`:

* ``local``: one worker in this process, batch after batch (small jobs, tests);
* ``ray``: a Ray Data ``map_batches`` over an actor pool, one long-lived actor per worker
  holding the loaded engine. Actors restart and their tasks are retried when a worker dies
  (``max_restarts`` / ``max_task_retries``), so a killed worker's rows are redone; a redone
  batch may arrive twice, and the driver writes each id once (dedupe by id), so nothing is
  lost or duplicated.

Rows the driver cannot even read (invalid JSON, not an object) get their error record here;
rows with a repeated id are counted and not answered twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skillpath.engine.service import Skillpath

from .io import InputRow, open_writer, read_input
from .worker import BatchWorker, worker_env

BatchHook = Callable[[list[dict[str, Any]], list[int]], None]
"""Called after each written batch with its records and the pids that answered them."""


@dataclass
class Summary:
    """What a run did: every input row is in exactly one of these counts."""

    input_rows: int = 0
    skipped_done: int = 0
    answered: int = 0
    errors: int = 0
    duplicate_ids: list[int] = field(default_factory=list)  # line numbers of repeated ids
    redelivered: int = 0  # records a retried batch sent again (dropped: already written)
    workers: set[int] = field(default_factory=set)  # pids that answered
    peak_rss_kb: dict[int, int] = field(default_factory=dict)  # per worker pid

    def as_dict(self) -> dict[str, Any]:
        return {
            "input_rows": self.input_rows,
            "skipped_done": self.skipped_done,
            "answered": self.answered,
            "errors": self.errors,
            "duplicate_ids": self.duplicate_ids,
            "redelivered": self.redelivered,
            "workers": len(self.workers),
            "peak_rss_mb_per_worker": sorted(round(kb / 1024) for kb in self.peak_rss_kb.values()),
        }


def _pending(rows: Iterable[InputRow], done: set[str], summary: Summary) -> Iterator[InputRow]:
    seen: set[str] = set()
    for row in rows:
        summary.input_rows += 1
        if row.id in done:
            summary.skipped_done += 1
            continue
        if row.id in seen:
            summary.duplicate_ids.append(row.line)
            continue
        seen.add(row.id)
        yield row


def _chunks(rows: Iterable[InputRow], size: int) -> Iterator[list[InputRow]]:
    chunk: list[InputRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _columns(rows: list[InputRow]) -> dict[str, list]:
    return {
        "id": [r.id for r in rows],
        "line": [r.line for r in rows],
        "payload": [json.dumps(r.payload, ensure_ascii=False) for r in rows],
    }


def run_batch(
    input_path: Path,
    output_path: Path,
    engine: str = "local",
    *,
    service: Skillpath | None = None,
    address: str | None = None,
    workers: int | None = None,
    batch_size: int = 32,
    env: dict[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
    on_batch: BatchHook | None = None,
) -> Summary:
    """Answer every row of ``input_path`` not yet in ``output_path``; returns the counts.

    ``service`` is the local engine's facade (default: ``Skillpath()`` from the environment);
    Ray actors build their own from ``env`` (default: the driver's ``SKILLPATH_*``).
    """
    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be local or ray, got {engine!r}")
    writer = open_writer(output_path)
    summary = Summary()
    written = writer.done_ids()
    summary_done = set(written)

    def emit(records: list[dict[str, Any]], pids: list[int], rss: Sequence[int] = ()) -> None:
        fresh = []
        for rec in records:
            if rec["id"] in written:
                summary.redelivered += 1
                continue
            written.add(rec["id"])
            fresh.append(rec)
            if "error" in rec:
                summary.errors += 1
            else:
                summary.answered += 1
        writer.write(fresh)
        summary.workers.update(pids)
        for pid, kb in zip(pids, rss, strict=False):
            summary.peak_rss_kb[pid] = max(kb, summary.peak_rss_kb.get(pid, 0))
        if progress:
            progress(len(fresh))
        if on_batch:
            on_batch(fresh, pids)

    try:
        pending = _pending(read_input(input_path), summary_done, summary)
        # unreadable rows are answered by the driver; the rest go to the workers
        good = _split_unreadable(pending, emit)
        if engine == "local":
            worker = BatchWorker(engine=service or Skillpath())
            for chunk in _chunks(good, batch_size):
                out = worker(_columns(chunk))
                emit([json.loads(r) for r in out["record"]], out["pid"], out["rss_kb"])
        else:
            _run_ray(good, emit, address, workers, batch_size, env or worker_env())
    finally:
        writer.close()
    return summary


def _split_unreadable(
    rows: Iterable[InputRow], emit: Callable[[list[dict[str, Any]], list[int]], None]
) -> Iterator[InputRow]:
    for row in rows:
        if row.payload is None:
            emit([{"id": row.id, "error": row.error}], [os.getpid()])
        else:
            yield row


def ray_ready(address: str | None = None) -> None:
    """Connect to ``address`` (an existing cluster) or start a local one on this machine's
    cores, unless this process is already connected."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)


def _run_ray(
    rows: Iterable[InputRow],
    emit: Callable[..., None],
    address: str | None,
    workers: int | None,
    batch_size: int,
    env: dict[str, str],
) -> None:
    import ray
    import ray.data

    ray_ready(address)
    items = [
        {"id": r.id, "line": r.line, "payload": json.dumps(r.payload, ensure_ascii=False)}
        for r in rows
    ]
    if not items:
        return
    n = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # the CLI draws its own bar
    # each item is one block so batches spread over the actors as soon as they are free
    dataset = ray.data.from_items(items, override_num_blocks=max(1, len(items) // batch_size))
    answered = dataset.map_batches(
        BatchWorker,
        fn_constructor_kwargs={"env": env},
        batch_size=batch_size,
        batch_format="numpy",
        concurrency=n,
        num_cpus=1,
        max_restarts=-1,
        max_task_retries=-1,
    )
    for batch in answered.iter_batches(batch_size=None, batch_format="numpy"):
        emit(
            [json.loads(r) for r in batch["record"]],
            [int(p) for p in batch["pid"]],
            [int(kb) for kb in batch["rss_kb"]],
        )
