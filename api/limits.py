"""Request body size limit and the API key check, both before any route reads the body.

The key is checked first (:func:`skillpath.api.security.authorize`): a request without a
valid key for what it asks gets its 401/403 before a byte of its body is read, so an
anonymous client cannot make the server buffer megabytes.

``Content-Length`` above the limit is refused at once; a chunked body is counted as it
arrives and refused as soon as it crosses the limit, so a client cannot make the server
buffer more than the limit whatever it claims. The catalogue import route has its own,
larger limit. The 413 is a problem document like every other error.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skillpath.api.errors import PROBLEM_JSON, TYPE_BASE, ApiError, title_of
from skillpath.api.security import IMPORT_PATH, ApiKey

Authorizer = Callable[[str, str, dict[str, str]], ApiKey | None]


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        max_import_bytes: int,
        authorize: Authorizer | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_import_bytes = max_import_bytes
        self.authorize = authorize

    def limit_for(self, scope: Scope) -> int:
        return self.max_import_bytes if scope.get("path") == IMPORT_PATH else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.authorize is not None and scope.get("method") != "OPTIONS":  # CORS preflight
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            try:
                key = self.authorize(scope["method"], scope.get("path", ""), headers)
            except ApiError as exc:
                scope.setdefault("state", {})["api_key"] = getattr(exc, "key", None)
                await _send_problem(scope, send, exc.status, exc.kind, exc.detail, exc.headers)
                return
            scope.setdefault("state", {})["api_key"] = key
        if scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_413(scope, send, limit)
            return
        # Read the whole body first (bounded by the limit), then replay it to the app: an
        # error raised from inside ``receive`` would be turned into a 400 by FastAPI.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                await _send_413(scope, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(scope: Scope, send: Send, limit: int) -> None:
    detail = f"the request body is larger than the limit of {limit} bytes"
    await _send_problem(scope, send, 413, "payload-too-large", detail)


async def _send_problem(
    scope: Scope,
    send: Send,
    status: int,
    kind: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> None:
    """A problem response sent before the app ran; the connection is closed (body unread)."""
    state = scope.get("state") or {}
    body = {
        "type": TYPE_BASE + kind,
        "title": "Content Too Large" if status == 413 else title_of(status),
        "status": status,
        "detail": detail,
        "instance": scope.get("path"),
    }
    if state.get("request_id"):
        body["request_id"] = state["request_id"]
    payload = json.dumps(body).encode()
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
