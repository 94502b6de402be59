"""API keys with scopes, checked before a request body is read.

A key is sent as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``. Each key has one
scope, and a higher scope includes the lower ones:

* ``read``: every read under ``/v1`` (needed only when ``read_requires_key`` is set);
* ``write``: ``PUT`` / ``DELETE`` of credentials and the bulk import, optionally limited to
  some catalogue sources (a provider updates its own courses, not others');
* ``admin``: everything, plus the audit trail and the details of ``/readyz``.

Keys come from ``SKILLPATH_API_KEYS`` (:class:`Settings.api_keys`) and from the file named by
``SKILLPATH_API_KEYS_FILE``; the file is re-read when it changes, so keys are added or revoked
without a restart. One entry per line (``#`` starts a comment)::

    <key>                        # legacy form: write, every source
    read=<key>
    write=<key>
    write@edx+coursera=<key>     # write, only sources edx and coursera
    admin=<key>

A key shorter than :data:`MIN_KEY_CHARS` is refused at load (the server does not start with
it; a bad reload keeps the previous keys). Keys are compared with
:func:`hmac.compare_digest` against *every* configured key (no early exit), so the time a
check takes does not tell an attacker how much of a guess was right, nor which key matched.

The web page keeps working when reads need a key: ``GET /`` sets a same-origin session cookie
(HMAC-signed, ``HttpOnly``, ``SameSite=Strict``) that the page's ``fetch`` calls send back;
it grants ``read`` and nothing else, so a leaked cookie cannot write.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from skillpath.api.errors import ApiError

Scope = Literal["read", "write", "admin"]
_RANK = {"read": 0, "write": 1, "admin": 2}
MIN_KEY_CHARS = 16
KEYS_FILE_ENV = "SKILLPATH_API_KEYS_FILE"
SESSION_COOKIE = "skillpath_session"
SESSION_SECONDS = 12 * 3600
IMPORT_PATH = "/v1/credentials/import"

log = logging.getLogger("skillpath.api")

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key (SKILLPATH_API_KEYS or file)."
)
bearer = HTTPBearer(auto_error=False, description="The same API key, as a bearer token.")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="skillpath"'}


class KeyConfigError(ValueError):
    """A key entry that cannot be used (too short, unknown scope); names the entry number."""


@dataclass(frozen=True)
class ApiKey:
    secret: bytes
    scope: Scope
    sources: frozenset[str] | None = None  # None: every source

    @property
    def key_id(self) -> str:
        """What the audit trail records: a hash prefix, never the key."""
        return hashlib.sha256(self.secret).hexdigest()[:16]

    def allows(self, scope: Scope) -> bool:
        return _RANK[self.scope] >= _RANK[scope]

    def may_write(self, source: str) -> bool:
        return self.scope == "admin" or self.sources is None or source in self.sources


def parse_key(entry: str, where: str = "key") -> ApiKey:
    """One entry (``[scope[@src+src]=]key``) → :class:`ApiKey`; ValueError says what is wrong."""
    entry = entry.strip()
    scope, sources, secret = "write", None, entry
    head, sep, tail = entry.partition("=")
    if sep and head.split("@")[0] in _RANK:
        secret = tail.strip()
        scope, _, only = head.partition("@")
        if only:
            sources = frozenset(s for s in only.split("+") if s)
            if scope != "write" or not sources:
                raise KeyConfigError(f"{where}: only a write key has sources (write@a+b=)")
    if len(secret) < MIN_KEY_CHARS:
        raise KeyConfigError(f"{where}: a key has at least {MIN_KEY_CHARS} characters")
    return ApiKey(secret.encode("utf-8"), scope, sources)  # type: ignore[arg-type]


def parse_keys(lines: Iterable[str], origin: str) -> list[ApiKey]:
    out = []
    for number, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(parse_key(line, f"{origin} entry {number}"))
    return out


class KeyRing:
    """The configured keys: fixed ones plus a file re-read when its mtime or size changes."""

    def __init__(self, keys: Sequence[ApiKey], path: Path | None = None) -> None:
        self.fixed = list(keys)
        self.path = path
        self._file_keys: list[ApiKey] = []
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self.session_secret = secrets.token_bytes(32)
        if path is not None:
            self._file_keys = parse_keys(path.read_text("utf-8").splitlines(), str(path))
            self._stamp = _stamp(path)

    @classmethod
    def from_settings(cls, api_keys: Sequence[str], path: str | Path | None = None) -> KeyRing:
        keys = parse_keys([k for k in api_keys if k], "SKILLPATH_API_KEYS")
        path = path if path is not None else os.environ.get(KEYS_FILE_ENV) or None
        return cls(keys, Path(path) if path else None)

    def keys(self) -> list[ApiKey]:
        if self.path is not None:
            self._maybe_reload()
        return self.fixed + self._file_keys

    def _maybe_reload(self) -> None:
        assert self.path is not None
        try:
            stamp = _stamp(self.path)
        except OSError:
            stamp = None
        if stamp == self._stamp:
            return
        with self._lock:
            try:
                text = self.path.read_text("utf-8") if stamp else ""
                self._file_keys = parse_keys(text.splitlines(), str(self.path))
                log.info("api keys reloaded", extra={"event": "keys"})
            except (OSError, ValueError) as exc:  # keep the previous keys
                log.error("api key file not reloaded", extra={"event": "keys", "error": str(exc)})
            self._stamp = stamp

    def match(self, given: str) -> ApiKey | None:
        """The key equal to ``given``; constant time in the key contents, all keys compared."""
        supplied = given.encode("utf-8")
        found = None
        for key in self.keys():
            if hmac.compare_digest(supplied, key.secret):
                found = key
        return found

    # -- same-origin session of the web page ------------------------------------------------
    def session_cookie(self, now: float | None = None) -> str:
        expires = int((now or time.time()) + SESSION_SECONDS)
        return f"{expires}.{self._sign(expires)}"

    def session_valid(self, value: str, now: float | None = None) -> bool:
        expires, _, signature = value.partition(".")
        if not expires.isdigit() or int(expires) < (now or time.time()):
            return False
        return hmac.compare_digest(signature, self._sign(int(expires)))

    def _sign(self, expires: int) -> str:
        return hmac.new(self.session_secret, str(expires).encode(), hashlib.sha256).hexdigest()


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


def required_scope(method: str, path: str) -> Scope | None:
    """The scope a request needs (``None``: open probe, page or docs)."""
    if path.startswith("/v1/audit"):
        return "admin"
    if path.startswith("/v1/"):
        if method in ("PUT", "DELETE", "PATCH") or (method == "POST" and path == IMPORT_PATH):
            return "write"
        return "read"
    return None


def supplied_key(headers: Mapping[str, str]) -> str | None:
    """The key of ``X-API-Key`` or ``Authorization: Bearer``."""
    header = headers.get("x-api-key")
    if header:
        return header
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _cookie(headers: Mapping[str, str], name: str) -> str | None:
    for part in (headers.get("cookie") or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def authorize(
    ring: KeyRing, read_requires_key: bool, method: str, path: str, headers: Mapping[str, str]
) -> ApiKey | None:
    """The key a request is made with, if any; ApiError (401/403) when it may not go on."""
    need = required_scope(method, path)
    given = supplied_key(headers)
    key = ring.match(given) if given else None
    if need is None or (need == "read" and not read_requires_key):
        return key  # open, but an admin key still unlocks details (/readyz)
    if given is None and need == "read":
        session = _cookie(headers, SESSION_COOKIE)
        if session and ring.session_valid(session):
            return None
    if not ring.keys():
        raise ApiError(
            403, "no API keys are configured on this server (set SKILLPATH_API_KEYS)", "forbidden"
        )
    if given is None:
        raise ApiError(
            401,
            "an API key is required: send X-API-Key or Authorization: Bearer",
            "unauthorized",
            headers=_CHALLENGE,
        )
    if key is None:
        raise ApiError(403, "the API key is not valid", "forbidden")
    if not key.allows(need):
        why = f"this API key may not {need} (its scope is {key.scope})"
        refused = ApiError(403, why, "forbidden")
        refused.key = key  # type: ignore[attr-defined]  # the audit trail names it
        raise refused
    return key


def request_key(request: Request) -> ApiKey | None:
    """The key the middleware matched for this request (None for an open read)."""
    return request.scope.get("state", {}).get("api_key")


def check_source(request: Request, source: str) -> None:
    """403 unless the request's key may write credentials of ``source``."""
    key = request_key(request)
    if key is not None and not key.may_write(source):
        allowed = ", ".join(sorted(key.sources or ()))
        raise ApiError(
            403, f"this API key may write sources {allowed} only, not {source!r}", "forbidden"
        )


def _check(request: Request) -> None:
    # The middleware has already authorised the request before its body was read; this
    # dependency repeats the check so a route can never be reached without it.
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}
    app = request.app
    key = authorize(
        app.state.keys,
        app.state.settings.read_requires_key,
        request.method,
        request.url.path,
        headers,
    )
    request.scope.setdefault("state", {})["api_key"] = key


async def require_write_key(
    request: Request,
    header: Annotated[str | None, Security(api_key_header)] = None,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> None:
    """Dependency of PUT, DELETE and import (the header parameters document the schemes)."""
    _check(request)


async def require_read_key(
    request: Request,
    header: Annotated[str | None, Security(api_key_header)] = None,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> None:
    """Dependency of every read under /v1; a no-op unless ``read_requires_key`` is set."""
    _check(request)


WriteKey = Depends(require_write_key)
ReadKey = Depends(require_read_key)
