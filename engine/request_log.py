"""The request log: one JSON line per recommendation, so ``skillpath replay`` can re-run it.

:func:`record_recommendation` is the facade's hook: it stamps a response with its
:class:`~skillpath.engine.provenance.Provenance` and appends a
:class:`~skillpath.engine.provenance.LoggedRequest` line to ``<home>/requests.jsonl``
(``SKILLPATH_REQUEST_LOG_PATH``; ``SKILLPATH_REQUEST_LOG=false`` turns logging off, the
provenance stays on every response).

The lines hold the request as sent, learner profile included (CV text, skills): personal
data, kept on the operator's side like the audit trail, never served by the API. Rotate or
purge it as your retention rules say; replay needs only the lines you keep.

Each line is appended with one ``write`` under an exclusive ``flock``, so threads and several
server processes sharing a home never interleave lines. It is not fsynced: a crash may lose
the last lines, never corrupt earlier ones (a torn last line is reported by line number).
A log that cannot be written is a warning, not a failed recommendation.
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from collections.abc import Iterator
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Protocol

from skillpath.engine.config import Settings
from skillpath.engine.provenance import (
    LoggedRequest,
    build_provenance,
    logged_request,
    parse_logged,
)
from skillpath.engine.recommendation import RecommendationRequest, RecommendationResponse
from skillpath.errors import NotFound

log = logging.getLogger("skillpath.engine")

DEFAULT_NAME = "requests.jsonl"


class MatcherInfo(Protocol):
    """What the provenance reads of the matcher (the facade's ``matching``)."""

    @property
    def matcher_fingerprint(self) -> str: ...

    @property
    def matcher_name(self) -> str: ...

    @property
    def title_fingerprint(self) -> str: ...


@cache
def skillpath_version() -> str:
    try:
        return version("skillpath")
    except PackageNotFoundError:  # pragma: no cover - a bare checkout
        return "0.0.0"


def log_path(settings: Settings) -> Path | None:
    """Where requests are logged (None when logging is off)."""
    if not settings.request_log:
        return None
    return settings.request_log_path or Path(settings.home) / DEFAULT_NAME


def record_recommendation(
    request: RecommendationRequest,
    response: RecommendationResponse,
    *,
    settings: Settings,
    esco_version: str | None,
    matcher: MatcherInfo,
    catalogue_revision: int,
    request_id: str | None = None,
    log_it: bool = True,
) -> RecommendationResponse:
    """``response`` with its provenance; logged (unless ``log_it`` is False or logging off)."""
    provenance = build_provenance(
        request_id=request_id or uuid.uuid4().hex,
        skillpath_version=skillpath_version(),
        esco_version=esco_version,
        catalogue_revision=catalogue_revision,
        matcher_fingerprint=matcher.matcher_fingerprint,
        title_fingerprint=matcher.title_fingerprint,
        encoder=matcher.matcher_name,
        tuning=settings.tuning,
        settings={
            "encoder": settings.encoder,
            "encoder_backend": settings.encoder_backend,
            "partner_encoder": settings.partner_encoder,
        },
    )
    response = response.model_copy(update={"provenance": provenance})
    path = log_path(settings) if log_it else None
    if path is not None:
        entry = logged_request(
            request.model_dump(mode="json"), response.model_dump(mode="json"), provenance
        )
        try:
            append(path, entry)
        except OSError as exc:
            log.warning("request log not written: %s", exc, extra={"event": "request_log"})
    return response


def append(path: Path, entry: LoggedRequest) -> None:
    """Append one line, whole, under an exclusive lock (threads and processes alike)."""
    data = (entry.model_dump_json() + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)  # releases the lock


def read(path: Path) -> Iterator[LoggedRequest]:
    """Every line of a request log (or of an extract of one); blank lines skipped."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                yield parse_logged(line, f"{path}:{number}")


def find(path: Path, request_id: str) -> list[LoggedRequest]:
    """The logged requests with this id (a client may reuse an X-Request-ID: all of them)."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no request log (nothing was logged yet?)")
    found = [e for e in read(path) if e.provenance.request_id == request_id]
    if not found:
        raise NotFound(f"no request {request_id!r} in {path}")
    return found
