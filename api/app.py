"""The HTTP API and web page: ``create_app()`` builds the FastAPI application.

``skillpath serve`` runs ``uvicorn api.app:create_app --factory``; tests call
``create_app(service=engine)`` to serve an engine they built. The facade's models and
indexes are loaded once, in the lifespan, before the first request is accepted, and kept for
the life of the process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from skillpath.api import errors
from skillpath.api.audit import AuditMiddleware, open_audit
from skillpath.api.errors import PROBLEM_JSON, field_error, problem_response
from skillpath.api.limits import BodyLimitMiddleware
from skillpath.api.logging import LOGGER, RequestLogMiddleware, configure_logging
from skillpath.api.models import Health, Readiness
from skillpath.api.routes import build_router
from skillpath.api.security import SESSION_COOKIE, SESSION_SECONDS, KeyRing, authorize
from skillpath.engine.config import Settings
from skillpath.engine.index import IndexMismatch, IndexMissing, IndexNotReady
from skillpath.engine.recommendation import (
    MAX_PROFILE_CREDENTIALS,
    MAX_PROFILE_OCCUPATIONS,
    MAX_PROFILE_SKILLS,
)
from skillpath.engine.service import Skillpath

STATIC = Path(__file__).parent / "static"
ESCO_CREDIT = "This service uses the ESCO classification of the European Commission."

log = logging.getLogger(LOGGER)

DESCRIPTION = f"""
Recommends EU micro-credentials that close a learner's ESCO skill gap for a target job.

* ESCO URIs go in and come out; URIs in a path keep their slashes
  (`/v1/skills/http://data.europa.eu/esco/skill/...`) or go in `?uri=`.
* Errors are `application/problem+json` (RFC 9457) with `errors[].field` naming the input.
* Writes (`PUT`, `DELETE`, `POST /v1/credentials/import`) need an API key with the `write`
  scope (possibly limited to some catalogue sources), sent as `X-API-Key` or
  `Authorization: Bearer`; reads are open unless the server says otherwise (then a `read`
  key, or the session cookie the web page gets). `admin` keys also read the audit trail
  (`GET /v1/audit`) and the details of `/readyz`. The key is checked before the body is read.
* Every response carries `X-Request-ID` (yours, if you sent a sane one).

{ESCO_CREDIT}
"""

LIMITS = """
## Limits

* request body: {max_body_bytes} bytes ({max_import_bytes} for an import), else 413;
* CV / free text (`profile.text`, `text`): {max_text_chars} characters, else 422;
* search query `q` and `target`: {max_query_chars} characters;
* `k`: at most {max_k}; page size `limit`: at most {max_page_size};
* batch: at most {max_batch} requests;
* `profile.skills`: at most {profile_skills}; `profile.occupations`: at most
  {profile_occupations}; `profile.completed_credentials`: at most {profile_credentials}
  (each entry at most 500 characters), else 422;
* JSON nested deeper than Python's parser allows: 422.
"""


def _version() -> str:
    try:
        return version("skillpath")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


def warm_up(service: Skillpath) -> dict[str, str]:
    """Load the encoder, indexes and catalogue snapshot; returns the checks that failed."""
    failed: dict[str, str] = {}
    steps = {
        "skill_index": lambda: service.matching.skill_matcher,
        "occupation_index": lambda: service.matching.occupation_matcher,
        "skill_vectors": lambda: service.matching.skill_vectors,
        "catalogue_snapshot": service.catalogue.snapshot,
        "encoder": lambda: service.matching.search_skills("data analysis", 1),
    }
    for name, step in steps.items():
        try:
            step()
        except Exception as exc:  # reported by /readyz; the server still starts
            failed[name] = f"{type(exc).__name__}: {exc}"
    return failed


def readiness(service: Skillpath) -> Readiness:
    """Are the indexes loaded, and is the ranking snapshot that of the stored catalogue?"""
    checks: dict[str, str] = {}
    for name, load in (
        ("skill_index", lambda: service.matching.skill_matcher),
        ("occupation_index", lambda: service.matching.occupation_matcher),
    ):
        try:
            load()  # cached after the lifespan loaded it; verified against the store on load
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"{type(exc).__name__}: {exc}"
    revision = credentials = None
    try:
        revision = service.catalogue.revision
        credentials = service.catalogue.count()
        snapshot = service.catalogue.snapshot()
        checks["catalogue_snapshot"] = (
            "ok"
            if snapshot.revision == revision
            else f"snapshot at revision {snapshot.revision}, store at {revision}"
        )
    except Exception as exc:
        checks["catalogue_snapshot"] = f"{type(exc).__name__}: {exc}"
    return Readiness(
        ready=all(v == "ok" for v in checks.values()),
        checks=checks,
        catalogue_revision=revision,
        credentials=credentials,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    failed = await run_in_threadpool(warm_up, app.state.service)
    app.state.startup_errors = failed
    if failed:
        log.warning("start-up incomplete", extra={"event": "startup", "error": sorted(failed)})
    else:
        log.info("ready", extra={"event": "startup"})
    yield


def _drop(record: logging.LogRecord) -> bool:
    return False


def _silence_uvicorn_access_log() -> None:
    """uvicorn's access line carries the raw path and query string (a name, a CV line in
    ``?q=``): off for every way of serving (``uvicorn --factory`` too, not only ``skillpath
    serve``); our request log, with route templates only, replaces it. A filter as well as
    ``disabled``: a later ``logging.config.dictConfig`` (uvicorn's own) re-enables a logger
    but keeps its filters."""
    access = logging.getLogger("uvicorn.access")
    access.disabled = True
    if _drop not in access.filters:
        access.addFilter(_drop)


def create_app(
    service: Skillpath | None = None,
    settings: Settings | None = None,
    keys: KeyRing | None = None,
) -> FastAPI:
    """The application; ``service`` is created from ``settings`` (or the environment) if absent.

    ``keys``: the API keys; by default ``settings.api_keys`` plus the file named by
    ``SKILLPATH_API_KEYS_FILE`` (see :mod:`skillpath.api.security`).
    """
    if service is None:
        service = Skillpath(settings or Settings())
    settings = settings or service.settings
    keys = keys or KeyRing.from_settings(settings.api_keys)
    configure_logging()
    _silence_uvicorn_access_log()
    app = FastAPI(
        title="skillpath",
        version=_version(),
        description=DESCRIPTION
        + LIMITS.format(
            **settings.model_dump(),
            profile_skills=MAX_PROFILE_SKILLS,
            profile_occupations=MAX_PROFILE_OCCUPATIONS,
            profile_credentials=MAX_PROFILE_CREDENTIALS,
        ),
        lifespan=lifespan,
        openapi_tags=[
            {"name": "recommendations", "description": "Gap, ranking, pathway, explanations."},
            {"name": "skills", "description": "ESCO skills: search, look up, extract."},
            {"name": "occupations", "description": "ESCO occupations and their skills."},
            {"name": "credentials", "description": "The micro-credential catalogue."},
            {"name": "health", "description": "Liveness and readiness probes."},
        ],
    )
    app.router.redirect_slashes = False  # a stray "/" is a 404 problem, not a bare redirect
    app.state.service = service
    app.state.settings = settings
    app.state.keys = keys
    app.state.audit = open_audit(
        Path(settings.home), settings.database_url, lambda: service.store.db
    )
    app.state.write_lock = threading.Lock()
    app.state.startup_errors = {}
    errors.install(app)
    _hardened_handlers(app)
    app.include_router(build_router(settings))
    _health_routes(app)
    _web_routes(app)
    # Added innermost first: the request log wraps everything, so a 413 is logged too.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        max_import_bytes=settings.max_import_bytes,
        authorize=lambda method, path, headers: authorize(
            app.state.keys, settings.read_requires_key, method, path, headers
        ),
    )
    app.add_middleware(AuditMiddleware, audit=app.state.audit)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Content-Type", "X-API-Key", "Authorization", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Location"],
            max_age=600,
        )
    app.add_middleware(RequestLogMiddleware)
    app.openapi = lambda: _openapi(app, settings)  # type: ignore[method-assign]
    return app


def _health_routes(app: FastAPI) -> None:
    @app.get("/healthz", response_model=Health, tags=["health"], summary="Liveness")
    async def healthz() -> Health:
        """The process is up and serving (it says nothing about the indexes)."""
        return Health()

    @app.get(
        "/readyz",
        response_model=Readiness,
        tags=["health"],
        summary="Readiness: indexes loaded and consistent with the store",
        responses={503: {"model": Readiness, "description": "Not ready; `checks` says why."}},
    )
    def readyz(request: Request) -> Any:
        report = readiness(request.app.state.service)
        key = request.scope.get("state", {}).get("api_key")
        if key is None or not key.allows("admin"):
            # exception text and file paths are for operators (admin keys) only
            report.checks = {k: v if v == "ok" else "failed" for k, v in report.checks.items()}
        if not report.ready:
            return JSONResponse(report.model_dump(mode="json"), status_code=503)
        return report


def _web_routes(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def index(request: Request) -> FileResponse:
        response = FileResponse(
            STATIC / "index.html",
            headers={
                "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )
        # A same-origin session for the page's own fetch calls: grants read, never write.
        response.set_cookie(
            SESSION_COOKIE,
            request.app.state.keys.session_cookie(),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/v1/",
        )
        return response


def _hardened_handlers(app: FastAPI) -> None:
    too_deep = "the JSON is nested too deeply"

    @app.exception_handler(RecursionError)
    async def _too_deep(request: Request, exc: RecursionError) -> JSONResponse:
        # json.loads recurses once per nesting level; deep input must not be a 500
        errors = [field_error(["body"], too_deep)]
        return problem_response(request, 422, too_deep, "validation", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, RecursionError):  # FastAPI's "error parsing the body"
            errors = [field_error(["body"], too_deep)]
            return problem_response(request, 422, too_deep, "validation", errors)
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(request, exc.status_code, detail, headers=exc.headers)

    @app.exception_handler(IndexNotReady)
    @app.exception_handler(IndexMissing)  # registered by class elsewhere too: override
    @app.exception_handler(IndexMismatch)
    async def _not_ready(request: Request, exc: Exception) -> JSONResponse:
        # The exception text names files and folders: admin keys only (as on /readyz).
        key = request.scope.get("state", {}).get("api_key")
        detail = f"indexes not ready: {exc}" if key and key.allows("admin") else "not ready"
        return problem_response(request, 503, detail, "not-ready", headers={"Retry-After": "60"})


# -- OpenAPI -------------------------------------------------------------------------------
def _openapi(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """FastAPI's schema, with problem+json errors and the limits checked in code written in."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                if status == "default" or status.startswith(("4", "5")):
                    if status == "503" and "readyz" in operation.get("operationId", ""):
                        continue
                    response["content"] = {PROBLEM_JSON: {"schema": problem_ref}}
            operation["responses"].setdefault(
                "default",
                {
                    "description": "Any other error",
                    "content": {PROBLEM_JSON: {"schema": problem_ref}},
                },
            )
    limits = {
        "k": {"maximum": settings.max_k},
        "text": {"maxLength": settings.max_text_chars},
        "target": {"maxLength": settings.max_query_chars},
    }
    models = ("RecommendationRequest", "LearnerProfile", "GapRequest", "ExtractRequest")
    for name, component in schema.get("components", {}).get("schemas", {}).items():
        if name.split("-")[0] not in models:
            continue
        for prop, extra in limits.items():
            if prop in component.get("properties", {}):
                field = component["properties"][prop]
                target = next(
                    (a for a in field.get("anyOf", []) if a.get("type") == "string"), None
                )
                (target or field).update(extra)
    app.openapi_schema = schema
    return schema
