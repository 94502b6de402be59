"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the API returns has the same shape, whatever raised it: FastAPI's request
validation, a limit, an engine exception (unknown URI, empty query, bad catalogue file) or a
bug. Clients can therefore branch on ``status`` and show ``errors[].field`` next to the
offending input without knowing which layer failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from skillpath.engine.catalogue.csv_import import MappingError
from skillpath.engine.errors import (
    ImportFormatError,
    IndexNotReady,
    InvalidInput,
    NotFound,
    SkillpathError,
)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://skillpath.eu/problems/"  # identifiers, documented in docs/api.md


class FieldError(BaseModel):
    """One wrong input: where it is (``loc`` as a path, ``field`` dotted) and what is wrong."""

    loc: list[str | int] = Field(description='Path to the input, e.g. ["body", "k"].')
    field: str = Field(description='The same path, dotted: "body.profile.text".')
    msg: str
    type: str = "value_error"


class Problem(BaseModel):
    """RFC 9457 problem details, plus ``errors`` for validation and the request id."""

    type: str = Field(description="URI identifying the problem type.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(None, description="The request path the problem occurred on.")
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ApiError(Exception):
    """An error a route raises on purpose, rendered as a problem."""

    def __init__(
        self,
        status: int,
        detail: str,
        kind: str | None = None,
        errors: Sequence[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or _slug(status)
        self.errors = list(errors) if errors else None
        self.headers = headers


def field_error(loc: Sequence[str | int], msg: str, kind: str = "value_error") -> FieldError:
    return FieldError(loc=list(loc), field=".".join(str(p) for p in loc), msg=msg, type=kind)


def invalid(loc: Sequence[str | int], msg: str, kind: str = "value_error") -> ApiError:
    """A 422 for one input, raised by checks FastAPI cannot express (limits, engine refusals)."""
    return ApiError(422, msg, "validation", [field_error(loc, msg, kind)])


def _slug(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "-")
    except ValueError:
        return "error"


def title_of(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    request: Request,
    status: int,
    detail: str | None,
    kind: str | None = None,
    errors: Sequence[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(
        type=TYPE_BASE + (kind or _slug(status)),
        title=title_of(status),
        status=status,
        detail=detail,
        instance=request.url.path,
        request_id=getattr(request.state, "request_id", None),
        errors=list(errors) if errors else None,
    )
    return JSONResponse(
        problem.model_dump(mode="json", exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[FieldError]:
    out = []
    for err in exc.errors():
        loc = [p for p in err.get("loc", ()) if isinstance(p, str | int)]
        # pydantic puts the union member / validator name in the path; it is noise to a client
        loc = [p for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
        out.append(field_error(loc, str(err.get("msg", "invalid")), str(err.get("type", ""))))
    return out


ENGINE_ERRORS: tuple[tuple[type[SkillpathError], int, str], ...] = (
    (NotFound, 404, "not-found"),
    (ImportFormatError, 422, "validation"),
    (InvalidInput, 422, "validation"),
    (IndexNotReady, 503, "not-ready"),
    (SkillpathError, 400, "bad-request"),
)
"""The one mapping of the engine's error hierarchy to HTTP: the first row whose class the
error is an instance of decides the status and the problem ``type``."""


def engine_problem(exc: SkillpathError) -> tuple[int, str, str, list[FieldError] | None]:
    """(status, problem kind, detail, field errors) for an engine error."""
    status, kind = next((s, k) for cls, s, k in ENGINE_ERRORS if isinstance(exc, cls))
    detail = str(exc)
    errors = None
    if isinstance(exc, MappingError):  # the one input it can be: the mapping query parameter
        errors = [field_error(["query", "mapping"], detail)]
    if status == 503:
        detail = f"indexes not ready: {exc}"
    return status, kind, detail, errors


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into a problem response."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return problem_response(
            request, exc.status, exc.detail, exc.kind, exc.errors, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        detail = "; ".join(f"{e.field}: {e.msg}" for e in errors[:5]) or "invalid request"
        return problem_response(request, 422, detail, "validation", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(request, exc.status_code, detail, headers=exc.headers)

    @app.exception_handler(SkillpathError)
    async def _engine(request: Request, exc: SkillpathError) -> JSONResponse:
        status, kind, detail, errors = engine_problem(exc)
        headers = {"Retry-After": "60"} if status == 503 else None
        return problem_response(request, status, detail, kind, errors, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses (plus ``default``)."""
    out: dict[int | str, dict[str, Any]] = {
        s: {"model": Problem, "description": title_of(s)} for s in statuses
    }
    out["default"] = {"model": Problem, "description": "Any other error, as a problem."}
    return out
