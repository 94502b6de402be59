"""The audit trail: one row per write request (who, what, when, result), for admin keys.

"Who" is the key id (a SHA-256 prefix of the key, never the key itself; for a refused key,
the prefix of what was sent), "what" the method and path (a credential id, or the import's
format and mapping), "when" a UTC timestamp and "result" the HTTP status. Refused writes
(401/403/413/422) are recorded too: they are what a security review asks about.

The trail is its own SQLite file (``<home>/audit.sqlite``), written with ``synchronous=FULL``:
it is small, and a write that was acknowledged must not lose its audit row in a power cut.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import anyio.to_thread
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skillpath.api.security import required_scope, supplied_key

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    key_id TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    request_id TEXT
);
"""


class AuditEntry(BaseModel):
    id: int
    ts: str
    key_id: str
    method: str
    path: str
    status: int
    request_id: str | None = None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    total: int


class AuditLog:
    """Append-only rows in their own SQLite file; safe to use from several threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)
        self.lock = threading.Lock()

    def record(
        self, key_id: str, method: str, path: str, status: int, request_id: str | None
    ) -> None:
        ts = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self.lock:
            self.conn.execute(
                "INSERT INTO audit (ts, key_id, method, path, status, request_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (ts, key_id, method, path, status, request_id),
            )

    def page(self, offset: int = 0, limit: int = 50, key_id: str | None = None) -> AuditPage:
        where, params = ("WHERE key_id = ?", [key_id]) if key_id else ("", [])
        with self.lock:
            total = self.conn.execute(f"SELECT count(*) FROM audit {where}", params).fetchone()
            rows = self.conn.execute(
                "SELECT id, ts, key_id, method, path, status, request_id FROM audit"
                f" {where} ORDER BY id DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        fields = ("id", "ts", "key_id", "method", "path", "status", "request_id")
        return AuditPage(
            items=[AuditEntry(**dict(zip(fields, r, strict=True))) for r in rows], total=total[0]
        )


def key_id_of(scope: Scope) -> str:
    key = (scope.get("state") or {}).get("api_key")
    if key is not None:
        return key.key_id
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
    given = supplied_key(headers)
    if given is None:
        return "none"
    return "unknown:" + hashlib.sha256(given.encode("utf-8")).hexdigest()[:16]


class AuditMiddleware:
    """Records every request that needs the write scope, as its response starts."""

    def __init__(self, app: ASGIApp, audit: AuditLog) -> None:
        self.app = app
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or required_scope(scope["method"], scope["path"]) != "write":
            await self.app(scope, receive, send)
            return
        recorded = False

        async def write(status: int) -> None:
            nonlocal recorded
            recorded = True
            query = scope.get("query_string", b"").decode("latin-1")
            what = scope["path"] + (f"?{query}" if query else "")
            request_id = (scope.get("state") or {}).get("request_id")
            who = key_id_of(scope)
            await anyio.to_thread.run_sync(
                self.audit.record, who, scope["method"], what[:2000], status, request_id
            )

        async def capture(message: Message) -> None:
            # The row is written before the client sees the status, so a reader of the
            # trail never misses a write that was already answered.
            if message["type"] == "http.response.start" and not recorded:
                await write(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if not recorded:  # an exception before any response: the outer 500
                await write(500)
