"""Request body size limit, enforced before any route reads the body.

``Content-Length`` above the limit is refused at once; a chunked body is counted as it
arrives and refused as soon as it crosses the limit, so a client cannot make the server
buffer more than the limit whatever it claims. The catalogue import route has its own,
larger limit. The 413 is a problem document like every other error.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skillpath.api.errors import PROBLEM_JSON, TYPE_BASE

IMPORT_PATH = "/v1/credentials/import"


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, max_import_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_import_bytes = max_import_bytes

    def limit_for(self, scope: Scope) -> int:
        return self.max_import_bytes if scope.get("path") == IMPORT_PATH else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
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
    state = scope.get("state") or {}
    body = {
        "type": TYPE_BASE + "payload-too-large",
        "title": "Content Too Large",
        "status": 413,
        "detail": f"the request body is larger than the limit of {limit} bytes",
        "instance": scope.get("path"),
    }
    if state.get("request_id"):
        body["request_id"] = state["request_id"]
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
