"""Structured access logs (JSON lines) with a request id, and nothing personal in them.

One line per request: method, route *template* (``/v1/skills/{uri:path}``, never the
concrete path or the query string, which can carry a CV or a name), status, duration and the
request id. Bodies are never read here. The request id comes from ``X-Request-ID`` when the
caller sends a sane one, else it is generated, and is echoed on the response so a client can
quote it in a support ticket.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER = "skillpath.api"
REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# Fixed paths that have no route template but are safe to log as they are.
_PLAIN_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
_FIELDS = ("event", "method", "path", "status", "duration_ms", "request_id", "error", "trace")


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object: time, level, message and the whitelisted extras."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in _FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: int = logging.INFO) -> logging.Logger:
    """Give the API logger one JSON handler on stderr (idempotent)."""
    logger = logging.getLogger(LOGGER)
    logger.setLevel(level)
    if not any(getattr(h, "_skillpath", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._skillpath = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.propagate = True  # tests capture through the root logger (caplog)
    return logger


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _SANE_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class RequestLogMiddleware:
    """Pure ASGI middleware: assigns the request id, echoes it, logs one line at the end."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger(LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        began = time.perf_counter()  # a clock reading, not reused as a flag (it once was)
        status = 500
        started = False  # has the response started (then a 500 can no longer be sent)?

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Handled here, not by Starlette/uvicorn: their traceback would end with the
            # exception's message, which can quote request content (a CV line, a name).
            status = 500
            self.log.error(
                "unhandled error",
                extra={
                    "event": "error",
                    "error": type(exc).__name__,
                    "trace": "".join(traceback.format_tb(exc.__traceback__)),
                    "request_id": request_id,
                },
            )
            if not started:
                await _send_500(scope, send_with_id, request_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None)
            if path is None and scope.get("path") in _PLAIN_PATHS:
                path = scope["path"]
            self.log.info(
                "request",
                extra={
                    "event": "request",
                    "method": scope.get("method"),
                    "path": path or "<unmatched>",
                    "status": status,
                    "duration_ms": round((time.perf_counter() - began) * 1000, 2),
                    "request_id": request_id,
                },
            )


async def _send_500(scope: Scope, send: Send, request_id: str) -> None:
    body = {
        "type": "https://skillpath.eu/problems/internal-server-error",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "internal error; quote the request id",
        "instance": scope.get("path"),
        "request_id": request_id,
    }
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
