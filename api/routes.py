"""The /v1 endpoints: thin adapters from HTTP to the :class:`Skillpath` facade.

Routes that call the engine are plain ``def``: FastAPI runs them in its threadpool, so an
encoder call or a ranking never blocks the event loop. Catalogue writes take the app's write
lock (one writer at a time); readers never take it. The facade swaps an immutable catalogue
snapshot when a write completes, so a reader sees the catalogue before or after a write,
never half of it.

Limits come from :class:`Settings` at app creation: the ones FastAPI can express are in the
parameter declarations; the rest (text length, ``k`` inside a body) are checked here and
written into the OpenAPI schema by ``skillpath.api.app._openapi``.
"""

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from skillpath.api.audit import AuditPage
from skillpath.api.errors import (
    TYPE_BASE,
    ApiError,
    FieldError,
    Problem,
    field_error,
    invalid,
    problem_responses,
    title_of,
)
from skillpath.api.models import (
    BatchItem,
    BatchResponse,
    CredentialDetail,
    CredentialPage,
    CredentialWrite,
    ExtractRequest,
    GapRequest,
)
from skillpath.api.security import ReadKey, WriteKey, check_source
from skillpath.engine.catalogue import elm, ob3
from skillpath.engine.catalogue.csv_import import MappingError, load_mapping
from skillpath.engine.catalogue.importer import ImportSummary
from skillpath.engine.catalogue.records import MicroCredential
from skillpath.engine.config import Settings
from skillpath.engine.matching import Extraction, InvalidQuery, OccupationHit, SkillHit
from skillpath.engine.recommendation import (
    GapResponse,
    LearnerProfile,
    RecommendationRequest,
    RecommendationResponse,
)
from skillpath.engine.service import OccupationDetail, Skillpath
from skillpath.esco.records import Skill
from skillpath.esco.store import NotFound

Loc = list[str | int]


def get_service(request: Request) -> Skillpath:
    return request.app.state.service


Service = Annotated[Skillpath, Depends(get_service)]


# -- checks the schema cannot express -----------------------------------------------------
def _check_text(text: str | None, loc: Loc, settings: Settings) -> None:
    if text is not None and len(text) > settings.max_text_chars:
        raise invalid(
            loc,
            f"text is {len(text)} characters; the limit is {settings.max_text_chars}",
            "string_too_long",
        )


def _check_target(target: str, loc: Loc, settings: Settings) -> None:
    if len(target) > settings.max_query_chars:
        raise invalid(loc, f"at most {settings.max_query_chars} characters", "string_too_long")
    if not target.strip():
        raise invalid(loc, "target is empty: give an ESCO occupation URI or a job title")


def _check_profile(profile: LearnerProfile, loc: Loc, settings: Settings) -> None:
    _check_text(profile.text, [*loc, "text"], settings)


def _check_recommendation(body: RecommendationRequest, loc: Loc, settings: Settings) -> None:
    _check_target(body.target, [*loc, "target"], settings)
    _check_profile(body.profile, [*loc, "profile"], settings)
    if body.k > settings.max_k:
        raise invalid([*loc, "k"], f"k is at most {settings.max_k}", "less_than_equal")


def _unknown_reference(exc: NotFound, target: str, profile: LearnerProfile, loc: Loc) -> ApiError:
    """A 422 pointing at the body field that names the unknown URI, label or credential id."""
    message = str(exc.args[0]) if exc.args else str(exc)
    places: list[tuple[Loc, str]] = [([*loc, "target"], target)]
    for name in ("skills", "occupations", "completed_credentials"):
        places += [([*loc, "profile", name, i], v) for i, v in enumerate(getattr(profile, name))]
    for where, value in places:
        if value.strip() and value.strip() in message:
            return ApiError(422, message, "unknown-reference", [field_error(where, message)])
    return ApiError(422, message, "unknown-reference")


def _query_error(exc: ValueError, loc: Loc) -> ApiError:
    return invalid(loc, str(exc))


def _problem_of(exc: Exception, request: Request, index: int) -> Problem:
    if isinstance(exc, ApiError):
        status, kind, detail, errors = exc.status, exc.kind, exc.detail, exc.errors
    elif isinstance(exc, InvalidQuery):
        status, kind, detail, errors = 422, "validation", str(exc), None
    else:
        raise exc
    return Problem(
        type=TYPE_BASE + kind,
        title=title_of(status),
        status=status,
        detail=detail,
        instance=f"{request.url.path}#{index}",
        request_id=getattr(request.state, "request_id", None),
        errors=errors,
    )


def build_router(settings: Settings) -> APIRouter:
    """All /v1 routes, with the limits of ``settings`` in their declarations."""
    router = APIRouter(prefix="/v1", dependencies=[ReadKey])
    max_k, page, q_chars = settings.max_k, settings.max_page_size, settings.max_query_chars
    errors_4xx = problem_responses(401, 403, 413, 422)

    # -- recommendations ---------------------------------------------------------------
    @router.post(
        "/recommendations",
        response_model=RecommendationResponse,
        tags=["recommendations"],
        summary="Rank micro-credentials that close the learner's gap for a target job",
        description=(
            "Resolves the target (ESCO occupation URI, exact label or free job title), works out "
            "what the learner holds (declared ESCO skills, past occupations, completed "
            "credentials, CV text), computes the gap, ranks catalogue credentials and builds a "
            "pathway within the constraints, with an explanation per credential.\n\n"
            f"Limits: `k` ≤ {max_k}; `profile.text` ≤ {settings.max_text_chars} characters; "
            f"`target` ≤ {q_chars} characters; body ≤ {settings.max_body_bytes} bytes (else "
            "413). An unknown URI, label or credential id in the body is a 422 whose "
            "`errors[].field` names it.\n\n"
            "The answer's `provenance` says what shaped it (ESCO version, catalogue revision, "
            "matcher and tuning fingerprints, encoder, settings) under the request id "
            "(`X-Request-ID`); the request is logged on the server so that `skillpath replay "
            "<request id>` can re-run it and say whether the answer is the same."
        ),
        responses=errors_4xx,
    )
    def recommend(
        request: Request, body: RecommendationRequest, service: Service
    ) -> RecommendationResponse:
        _check_recommendation(body, ["body"], settings)
        try:
            return service.recommend(body, request_id=request.state.request_id)
        except NotFound as exc:
            raise _unknown_reference(exc, body.target, body.profile, ["body"]) from None
        except InvalidQuery as exc:
            raise _query_error(exc, ["body"]) from None

    @router.post(
        "/recommendations/batch",
        response_model=BatchResponse,
        tags=["recommendations"],
        summary="Several recommendation requests in one call",
        description=(
            f"At most {settings.max_batch} requests (else 422). Each request is validated "
            "like a single one; a request that fails on its own (unknown URI, say) gets an "
            "`error` problem in its slot and does not fail the others. Results are in request "
            "order."
        ),
        responses=errors_4xx,
    )
    def recommend_batch(
        request: Request,
        service: Service,
        body: Annotated[
            list[RecommendationRequest],
            Body(min_length=1, max_length=settings.max_batch),
        ],
    ) -> BatchResponse:
        for i, item in enumerate(body):
            _check_recommendation(item, ["body", i], settings)
        results = []
        for i, item in enumerate(body):
            try:
                answer = service.recommend(item, request_id=f"{request.state.request_id}#{i}")
                results.append(BatchItem(index=i, response=answer))
            except NotFound as exc:
                error = _unknown_reference(exc, item.target, item.profile, ["body", i])
                results.append(BatchItem(index=i, error=_problem_of(error, request, i)))
            except InvalidQuery as exc:
                results.append(BatchItem(index=i, error=_problem_of(exc, request, i)))
        return BatchResponse(results=results)

    @router.post(
        "/gap",
        response_model=GapResponse,
        tags=["recommendations"],
        summary="The learner's skill gap for a target job (essential and optional)",
        description=(
            f"Same target and profile as a recommendation request, same limits "
            f"(`profile.text` ≤ {settings.max_text_chars} characters)."
        ),
        responses=errors_4xx,
    )
    def gap(body: GapRequest, service: Service) -> GapResponse:
        _check_target(body.target, ["body", "target"], settings)
        _check_profile(body.profile, ["body", "profile"], settings)
        try:
            return service.compute_gap(body.target, body.profile, body.optional_weight)
        except NotFound as exc:
            raise _unknown_reference(exc, body.target, body.profile, ["body"]) from None
        except InvalidQuery as exc:
            raise _query_error(exc, ["body", "target"]) from None

    # -- skills ------------------------------------------------------------------------
    @router.post(
        "/skills/extract",
        response_model=Extraction,
        tags=["skills"],
        summary="ESCO skills recognised in free text (CV lines), with evidence",
        description=(
            f"`text` ≤ {settings.max_text_chars} characters (else 422). Skills come sorted by "
            "score, best first, each with the statement(s) of the text that evidence it. The "
            "text is used for this answer only: it is not stored and not logged."
        ),
        responses=errors_4xx,
    )
    def extract(body: ExtractRequest, service: Service) -> Extraction:
        _check_text(body.text, ["body", "text"], settings)
        if not body.text.strip():
            raise invalid(["body", "text"], "text is empty: give some CV lines")
        try:
            return service.matching.extract_skills(body.text)
        except InvalidQuery as exc:
            raise _query_error(exc, ["body", "text"]) from None

    @router.get(
        "/skills/search",
        response_model=list[SkillHit],
        tags=["skills"],
        summary="Search ESCO skills by text",
        description=f"`q` ≤ {q_chars} characters, `k` ≤ {max_k}.",
        responses=errors_4xx,
    )
    def search_skills(
        service: Service,
        q: Annotated[str, Query(min_length=1, max_length=q_chars, description="Free text.")],
        k: Annotated[int, Query(ge=1, le=max_k, description="How many hits.")] = 10,
    ) -> list[SkillHit]:
        try:
            return service.matching.search_skills(q, k)
        except InvalidQuery as exc:
            raise _query_error(exc, ["query", "q"]) from None

    @router.get(
        "/skills",
        response_model=Skill,
        tags=["skills"],
        summary="One ESCO skill, by URI (or exact label) as a query parameter",
        description="Same as `GET /v1/skills/{uri}`, for clients that cannot put slashes in a "
        "path segment.",
        responses=problem_responses(401, 403, 404, 422),
    )
    def skill_by_query(
        service: Service,
        uri: Annotated[
            str, Query(min_length=1, max_length=500, description="ESCO skill URI or label.")
        ],
    ) -> Skill:
        return _skill(service, uri, ["query", "uri"])

    @router.get(
        "/skills/{uri:path}",
        response_model=Skill,
        tags=["skills"],
        summary="One ESCO skill, by URI (or exact label)",
        description=(
            "The ESCO URI goes in the path as is, slashes included: "
            "`/v1/skills/http://data.europa.eu/esco/skill/<uuid>` (percent-encoding it works "
            "too). `GET /v1/skills?uri=` is the same."
        ),
        responses=problem_responses(401, 403, 404, 422),
    )
    def skill_by_path(
        service: Service,
        uri: Annotated[str, PathParam(description="ESCO skill URI (slashes allowed) or label.")],
    ) -> Skill:
        return _skill(service, uri, ["path", "uri"])

    # -- occupations -------------------------------------------------------------------
    @router.get(
        "/occupations/search",
        response_model=list[OccupationHit],
        tags=["occupations"],
        summary="Search ESCO occupations by job title",
        description=f"`q` ≤ {q_chars} characters, `k` ≤ {max_k}.",
        responses=errors_4xx,
    )
    def search_occupations(
        service: Service,
        q: Annotated[str, Query(min_length=1, max_length=q_chars, description="A job title.")],
        k: Annotated[int, Query(ge=1, le=max_k, description="How many hits.")] = 10,
    ) -> list[OccupationHit]:
        try:
            return service.matching.search_occupations(q, k)
        except InvalidQuery as exc:
            raise _query_error(exc, ["query", "q"]) from None

    @router.get(
        "/occupations",
        response_model=OccupationDetail,
        tags=["occupations"],
        summary="One ESCO occupation with its essential and optional skills (query form)",
        description="Same as `GET /v1/occupations/{uri}`.",
        responses=problem_responses(401, 403, 404, 422),
    )
    def occupation_by_query(
        service: Service,
        uri: Annotated[
            str,
            Query(min_length=1, max_length=500, description="ESCO occupation URI or label."),
        ],
    ) -> OccupationDetail:
        return _occupation(service, uri, ["query", "uri"])

    @router.get(
        "/occupations/{uri:path}",
        response_model=OccupationDetail,
        tags=["occupations"],
        summary="One ESCO occupation with its essential and optional skills",
        description="The ESCO URI goes in the path as is, slashes included (or use `?uri=`).",
        responses=problem_responses(401, 403, 404, 422),
    )
    def occupation_by_path(
        service: Service,
        uri: Annotated[str, PathParam(description="ESCO occupation URI (slashes allowed).")],
    ) -> OccupationDetail:
        return _occupation(service, uri, ["path", "uri"])

    # -- credentials -------------------------------------------------------------------
    @router.get(
        "/credentials",
        response_model=CredentialPage,
        tags=["credentials"],
        summary="The catalogue, a page at a time",
        description=f"`limit` ≤ {page} (page size). Ordered by insertion; filter by `source` "
        "and a title substring `q`. Follow `next_offset` until it is null.",
        responses=errors_4xx,
    )
    def list_credentials(
        service: Service,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=page, description="Page size.")] = 20,
        source: Annotated[
            str | None, Query(max_length=100, description="Only this source.")
        ] = None,
        q: Annotated[str | None, Query(max_length=q_chars, description="Title contains.")] = None,
    ) -> CredentialPage:
        total = service.catalogue.count(source, q)
        items = [c.record for c in service.catalogue.list(offset, limit, source, q)]
        more = offset + len(items) < total
        return CredentialPage(
            items=items,
            total=total,
            offset=offset,
            limit=limit,
            next_offset=offset + len(items) if more and items else None,
        )

    @router.post(
        "/credentials/import",
        response_model=ImportSummary,
        tags=["credentials"],
        summary="Bulk import: CSV with a named mapping, ELM JSON-LD or Open Badges 3.0 JSON",
        description=(
            "Send the file as the raw request body (`Content-Type: text/csv` or "
            "`application/json` / `application/ld+json`). `format=csv` needs `mapping`, the "
            "name of a shipped CSV mapping (`coursera`, `coursera-descriptions`, `edx`, "
            "`eu-modules`). Re-importing an unchanged record is a no-op. Requires an API key. "
            f"Body ≤ {settings.max_import_bytes} bytes (else 413). The summary accounts for "
            "every row or object read, with an issue per skipped one."
        ),
        dependencies=[WriteKey],
        responses=problem_responses(400, 401, 403, 413, 422),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"type": "object"}},
                    "application/ld+json": {"schema": {"type": "object"}},
                },
            }
        },
    )
    async def import_credentials(
        request: Request,
        service: Service,
        format: Annotated[Literal["csv", "elm", "ob3"], Query(description="File format.")],
        mapping: Annotated[
            str | None,
            Query(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="CSV mapping name."),
        ] = None,
    ) -> ImportSummary:
        if format == "csv" and not mapping:
            raise invalid(["query", "mapping"], "format=csv needs a mapping name")
        source = {"elm": elm.SOURCE, "ob3": ob3.SOURCE}.get(format)
        check_source(request, source or load_mapping(mapping or "").source)
        data = await request.body()
        if not data.strip():
            raise invalid(["body"], "the body is empty: send the catalogue file")
        return await run_in_threadpool(_import, request, service, data, format, mapping)

    @router.get(
        "/credentials/{credential_id:path}",
        response_model=CredentialDetail | dict[str, Any],
        tags=["credentials"],
        summary="One credential with its ESCO skills, or exported as ELM / OB3",
        description=(
            "`format=json` (default): the record and its skill links (declared and inferred, "
            "each with the learning outcome that evidences it). `format=elm`: European "
            "Learning Model v3 JSON-LD. `format=ob3`: Open Badges 3.0 achievement. Ids are "
            "`source:external_id` and may contain slashes."
        ),
        responses=problem_responses(401, 403, 404, 422),
    )
    def get_credential(
        service: Service,
        credential_id: Annotated[str, PathParam(description="source:external_id")],
        format: Annotated[Literal["json", "elm", "ob3"], Query()] = "json",
    ) -> Any:
        exported = service.catalogue.export(credential_id, format)
        if format == "json":
            return CredentialDetail.model_validate(exported)
        return JSONResponse(exported)

    @router.put(
        "/credentials/{credential_id:path}",
        response_model=CredentialWrite,
        status_code=200,
        tags=["credentials"],
        summary="Create or replace one credential (requires an API key)",
        description=(
            "The body is a micro-credential record; its id is `source:external_id`, which "
            "must equal the id in the path. Learning outcomes are mapped to ESCO skills and "
            "the recommendation indexes are updated before the response: the next request "
            "sees the new version. 201 when created, 200 when updated or unchanged."
        ),
        dependencies=[WriteKey],
        responses={201: {"model": CredentialWrite, "description": "Created"}}
        | problem_responses(401, 403, 413, 422),
    )
    def put_credential(
        request: Request,
        response: Response,
        service: Service,
        credential_id: Annotated[str, PathParam(description="source:external_id")],
        body: MicroCredential,
    ) -> CredentialWrite:
        if body.id != credential_id:
            raise ApiError(
                422,
                f"the path id {credential_id!r} differs from the body's "
                f"source:external_id {body.id!r}",
                "validation",
                [
                    FieldError(
                        loc=["body", "external_id"],
                        field="body.external_id",
                        msg=f"source:external_id is {body.id!r}, the path says {credential_id!r}",
                    )
                ],
            )
        check_source(request, body.source)
        with request.app.state.write_lock:
            summary = service.catalogue.import_stream([body], body.source)
            service.catalogue.snapshot()  # build the new snapshot now, not on the next read
        status = "imported" if summary.imported else "updated" if summary.updated else "unchanged"
        if status == "imported":
            response.status_code = 201
            # percent-encoded: a header is Latin-1, an id is any text ("eu:Μάθημα")
            response.headers["Location"] = "/v1/credentials/" + quote(body.id, safe=":/@")
        return CredentialWrite(id=body.id, status=status, issues=summary.issues)

    @router.delete(
        "/credentials/{credential_id:path}",
        status_code=204,
        tags=["credentials"],
        summary="Remove one credential (requires an API key)",
        dependencies=[WriteKey],
        responses=problem_responses(401, 403, 404),
    )
    def delete_credential(
        request: Request,
        service: Service,
        credential_id: Annotated[str, PathParam(description="source:external_id")],
    ) -> Response:
        check_source(request, credential_id.split(":", 1)[0])
        with request.app.state.write_lock:
            service.catalogue.remove(credential_id)
            service.catalogue.snapshot()
        return Response(status_code=204)

    @router.get(
        "/audit",
        response_model=AuditPage,
        tags=["credentials"],
        summary="The audit trail of writes, newest first (admin key)",
        description="One row per write request, accepted or refused: key id (a hash prefix, "
        "never the key), method and path, UTC time, HTTP status, request id.",
        responses=problem_responses(401, 403, 422),
    )
    def audit(
        request: Request,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=page)] = 50,
        key_id: Annotated[str | None, Query(max_length=64, description="Only this key.")] = None,
    ) -> AuditPage:
        return request.app.state.audit.page(offset, limit, key_id)

    return router


# -- helpers that run in the threadpool ----------------------------------------------------
def _skill(service: Skillpath, ref: str, loc: Loc) -> Skill:
    try:
        return service.taxonomy.skill(ref)
    except InvalidQuery as exc:
        raise _query_error(exc, loc) from None


def _occupation(service: Skillpath, ref: str, loc: Loc) -> OccupationDetail:
    try:
        return service.taxonomy.occupation_detail(ref)
    except InvalidQuery as exc:
        raise _query_error(exc, loc) from None


def _import(
    request: Request, service: Skillpath, data: bytes, fmt: str, mapping: str | None
) -> ImportSummary:
    """Write the body to a private temp file and import it with the facade, under the lock."""
    suffix = {"csv": ".csv", "elm": ".jsonld", "ob3": ".json"}[fmt]
    with tempfile.TemporaryDirectory(prefix="skillpath-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        with request.app.state.write_lock:
            try:
                summary = service.catalogue.import_file(path, fmt, mapping)
            except MappingError:
                raise
            except RecursionError:
                raise invalid(["body"], "the JSON is nested too deeply") from None
            except (ValueError, UnicodeDecodeError) as exc:
                raise ApiError(
                    422,
                    f"the {fmt} body could not be read: {exc}".replace(str(path), "<body>"),
                    "validation",
                    [field_error(["body"], "not a readable catalogue file")],
                ) from None
            service.catalogue.snapshot()
    return summary
