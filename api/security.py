"""API keys: writes always need one, reads only when ``read_requires_key`` is set.

A key is sent as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``. Keys are compared
with :func:`hmac.compare_digest` against *every* configured key (no early exit), so the time a
check takes does not tell an attacker how much of a guess was right, nor which key matched.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from skillpath.api.errors import ApiError

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key from SKILLPATH_API_KEYS."
)
bearer = HTTPBearer(auto_error=False, description="The same API key, as a bearer token.")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="skillpath"'}


def key_matches(given: str, keys: Sequence[str]) -> bool:
    """True if ``given`` equals one of ``keys``; constant time in the key contents."""
    supplied = given.encode("utf-8")
    found = False
    for key in keys:
        found |= hmac.compare_digest(supplied, key.encode("utf-8"))
    return found


def _supplied_key(
    header: str | None, credentials: HTTPAuthorizationCredentials | None
) -> str | None:
    if header:
        return header
    if credentials and credentials.scheme.lower() == "bearer" and credentials.credentials:
        return credentials.credentials
    return None


def check_key(request: Request, header: str | None, credentials, write: bool) -> None:
    settings = request.app.state.settings
    keys = [k for k in settings.api_keys if k]
    if not write and not settings.read_requires_key:
        return
    if not keys:
        raise ApiError(
            403, "no API keys are configured on this server (set SKILLPATH_API_KEYS)", "forbidden"
        )
    given = _supplied_key(header, credentials)
    if given is None:
        raise ApiError(
            401,
            "an API key is required: send X-API-Key or Authorization: Bearer",
            "unauthorized",
            headers=_CHALLENGE,
        )
    if not key_matches(given, keys):
        raise ApiError(403, "the API key is not valid", "forbidden")


async def require_write_key(
    request: Request,
    header: Annotated[str | None, Security(api_key_header)] = None,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> None:
    """Dependency of PUT, DELETE and import."""
    check_key(request, header, credentials, write=True)


async def require_read_key(
    request: Request,
    header: Annotated[str | None, Security(api_key_header)] = None,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> None:
    """Dependency of every read under /v1; a no-op unless ``read_requires_key`` is set."""
    check_key(request, header, credentials, write=False)


WriteKey = Depends(require_write_key)
ReadKey = Depends(require_read_key)
