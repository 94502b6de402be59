"""One batch worker: a loaded engine that turns input rows into output records.

The same class runs in-process (``--engine local``) and as a long-lived Ray actor
(``--engine ray``), so both engines share one code path: the engine, its models and its
indexes are loaded once when the worker is built, never per row. A row that fails
(invalid request, unknown URI, anything the engine raises) becomes an error record; the
batch goes on.
"""

from __future__ import annotations

import json
import os
import resource
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError

from skillpath.engine.clikit import to_jsonable
from skillpath.engine.matching import clean_query
from skillpath.engine.recommendation import RecommendationRequest
from skillpath.engine.service import Skillpath
from skillpath.errors import NotFound

from .io import error_record

ENV_PREFIXES = ("SKILLPATH_", "HF_", "TRANSFORMERS_", "SENTENCE_TRANSFORMERS_")
"""Environment a worker needs to open the same home and models as the driver."""


def worker_env(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The driver's ``SKILLPATH_*`` / Hugging Face settings, for workers on other processes."""
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}
    env.update(overrides or {})
    return env


def _validation_error(exc: ValidationError, line: int) -> dict[str, Any]:
    problems = exc.errors()
    first = problems[0] if problems else {}
    field = ".".join(str(p) for p in first.get("loc", ())) or None
    detail = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ())) or '(row)'}: {e.get('msg')}" for e in problems
    )
    return error_record("validation", f"line {line}: {detail}", field, line)


def _unknown_reference(exc: NotFound, request: RecommendationRequest, line: int) -> dict:
    """Which field names the unknown URI, label or credential id (as the API's 422 says)."""
    message = str(exc.args[0]) if exc.args else str(exc)
    places = [("target", request.target)]
    for name in ("skills", "occupations", "completed_credentials"):
        values = getattr(request.profile, name)
        places += [(f"profile.{name}.{i}", v) for i, v in enumerate(values)]
    field = next((where for where, v in places if v.strip() and v.strip() in message), None)
    return error_record("unknown-reference", f"line {line}: {message}", field, line)


def answer(engine: Skillpath, ident: str, line: int, payload: Mapping[str, Any]) -> dict:
    """The output record of one row: ``{"id", "response"}`` or ``{"id", "error"}``."""
    try:
        request = RecommendationRequest.model_validate(payload)
    except ValidationError as exc:
        return {"id": ident, "error": _validation_error(exc, line)}
    try:
        # not logged for replay: the output file is the run's record, and a night's run would
        # copy every job seeker's profile into the request log
        response = engine.recommend(request, log=False)
    except NotFound as exc:
        return {"id": ident, "error": _unknown_reference(exc, request, line)}
    except ValueError as exc:  # InvalidInput / InvalidQuery: a bad text or title
        return {"id": ident, "error": error_record("invalid-request", f"line {line}: {exc}")}
    except Exception as exc:  # noqa: BLE001 — one bad row must not stop a night's run
        detail = f"line {line}: {type(exc).__name__}: {exc}"
        return {"id": ident, "error": error_record("internal", detail, None, line)}
    return {"id": ident, "response": to_jsonable(response)}


def _typed_title(payload: Any) -> str | None:
    """The text the title matcher encodes for a row's typed target (None for a URI or junk):
    ``resolve_target`` cleans the target, ``OccupationMatcher.rank_batch`` cleans it again."""
    target = payload.get("target") if isinstance(payload, Mapping) else None
    try:
        ref = clean_query(target, "target")
        return None if ref.startswith("http") else clean_query(ref, "job title", 500)
    except ValueError:
        return None  # the row's own answer reports it


@contextmanager
def batched_titles(engine: Skillpath, payloads: Sequence[Any]) -> Iterator[int]:
    """Encode a batch's typed target titles in one call per title encoder, not one per row.

    A request encodes its title with single-text calls (each title encoder's
    ``encode_queries([title])``). Inside this context those calls are answered from the
    batch's vectors; any other text goes to the encoder as before. Yields how many titles
    were encoded together. The vectors are what a batched call gives: for e5 bitwise what a
    single call gives, for MiniLM within ~1e-7 of it (padding), so a batch row's scores can
    differ from the API's in the last digits; rankings are compared in ``tests/test_batch.py``.
    """
    titles = sorted({t for t in map(_typed_title, payloads) if t})
    occupations = engine.matching.occupation_matcher
    encoders = [occupations.encoder]
    if occupations.partner is not None:
        encoders.append(occupations.partner.encoder)
    patched: list[Any] = []
    try:
        if len(titles) > 1:
            for encoder in {id(e): e for e in encoders}.values():
                vectors = dict(zip(titles, encoder.encode_queries(titles), strict=True))
                encoder.encode_queries = _serving(vectors, encoder.encode_queries)
                patched.append(encoder)
        yield len(titles) if patched else 0
    finally:
        for encoder in patched:
            del encoder.encode_queries  # the class's method again


def _serving(vectors: dict[str, Any], real: Any) -> Any:
    def encode_queries(texts: Sequence[str], *args: Any, **kwargs: Any):
        texts = list(texts)
        if len(texts) == 1 and texts[0] in vectors:
            return vectors[texts[0]][None, :].copy()
        return real(texts, *args, **kwargs)

    return encode_queries


class BatchWorker:
    """Callable on a batch of columns ``id``, ``line``, ``payload`` (JSON strings); returns
    columns ``id``, ``record`` (the output row as JSON), ``pid`` (which process answered;
    the worker-kill test reads it) and ``rss_kb`` (that process's peak resident memory)."""

    def __init__(self, env: Mapping[str, str] | None = None, engine: Skillpath | None = None):
        if engine is None:
            os.environ.update(env or {})
            from skillpath.engine.config import Settings

            engine = Skillpath(Settings())
            # load the store, the matchers (indexes + encoder) and the catalogue now, once
            _ = engine.matching.skill_matcher, engine.matching.occupation_matcher
            engine.catalogue.snapshot()
        self.engine = engine

    def answer_rows(
        self, ids: Sequence[str], lines: Sequence[int], payloads: Sequence[str]
    ) -> list[dict]:
        rows = [json.loads(p) for p in payloads]
        with batched_titles(self.engine, rows):
            return [
                answer(self.engine, str(i), int(n), row)
                for i, n, row in zip(ids, lines, rows, strict=True)
            ]

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, list]:
        records = self.answer_rows(list(batch["id"]), list(batch["line"]), list(batch["payload"]))
        return {
            "id": [r["id"] for r in records],
            "record": [json.dumps(r, ensure_ascii=False) for r in records],
            "pid": [os.getpid()] * len(records),
            "rss_kb": [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss] * len(records),
        }
