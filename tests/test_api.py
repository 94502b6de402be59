"""The HTTP API against the real engine: real ESCO, real indexes, a real catalogue slice.

The app is built once per module with the session ``engine`` injected; every endpoint is hit
on its success and error paths, with auth, limits, pagination and the problem+json shape.
One test runs a real uvicorn server on a free loopback port.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow

KEY = "test-write-key-7f3a"
ORIGIN = "https://pes.example.eu"
SQL = "http://data.europa.eu/esco/skill/598de5b0-5b58-4ea7-8058-a4bc4d18c742"
FIXTURES = Path(__file__).parent / "fixtures" / "catalogue"
PROBLEM = "application/problem+json"


def load_slice(engine, shared_dir, folder: Path):
    """The same ~850 real credentials as tests/test_recommend.py (re-import is a no-op)."""
    for name, mapping, lines in (
        ("coursera-courses.csv", "coursera", 500),
        ("edx-courses.csv", "edx", 150),
        ("eu-university-modules.csv", "eu-modules", 200),
    ):
        text = (shared_dir / "catalogue" / name).read_text(encoding="utf-8")
        (folder / name).write_text("".join(text.splitlines(keepends=True)[:lines]))
        engine.catalogue.import_file(folder / name, "csv", mapping)
    return engine


def api_settings(engine, **overrides):
    values = {
        "api_keys": [KEY, "second-write-key-0042"],
        "cors_origins": [ORIGIN],
        "max_body_bytes": 64 * 1024,
        "max_text_chars": 5_000,
        "max_k": 20,
        "max_page_size": 50,
        "max_batch": 3,
        **overrides,
    }
    return engine.settings.model_copy(update=values)


@pytest.fixture(scope="module")
def catalogue(engine, shared_dir, tmp_path_factory):
    return load_slice(engine, shared_dir, tmp_path_factory.mktemp("api-slice"))


@pytest.fixture(scope="module")
def limits(catalogue):
    """The API settings of these tests: small limits, two keys, one CORS origin."""
    return api_settings(catalogue)


@pytest.fixture(scope="module")
def client(catalogue, limits):
    from skillpath.api.app import create_app

    with TestClient(create_app(service=catalogue, settings=limits)) as c:
        yield c


def problem(response: httpx.Response, status: int) -> dict:
    """Assert an RFC 9457 problem with this status; return it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= body.keys()
    assert body["status"] == status and body["type"].startswith("https://")
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def fields(body: dict) -> list[str]:
    return [e["field"] for e in body.get("errors") or []]


def recommendation(**kwargs) -> dict:
    return {"target": "data analyst", "profile": {"skills": [SQL]}, "k": 3, **kwargs}


# -- health, docs, request ids ---------------------------------------------------------------
def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["ready"] and set(body["checks"].values()) == {"ok"}
    assert body["credentials"] > 0


def test_request_id_is_echoed_or_generated(client):
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert len(generated.headers["x-request-id"]) == 32


def test_openapi_documents_limits_errors_and_security(client, limits):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    request = next(v for k, v in schemas.items() if k.startswith("RecommendationRequest"))
    assert request["properties"]["k"]["maximum"] == limits.max_k
    profile = next(v for k, v in schemas.items() if k.startswith("LearnerProfile"))
    text = profile["properties"]["text"]
    assert limits.max_text_chars in [a.get("maxLength") for a in text.get("anyOf", [text])]
    search = spec["paths"]["/v1/skills/search"]["get"]
    k = next(p for p in search["parameters"] if p["name"] == "k")
    assert k["schema"]["maximum"] == limits.max_k
    limit = next(
        p for p in spec["paths"]["/v1/credentials"]["get"]["parameters"] if p["name"] == "limit"
    )
    assert limit["schema"]["maximum"] == limits.max_page_size
    rec = spec["paths"]["/v1/recommendations"]["post"]
    assert PROBLEM in rec["responses"]["422"]["content"]
    assert str(limits.max_body_bytes) in rec["description"]
    assert {"APIKeyHeader", "HTTPBearer"} <= spec["components"]["securitySchemes"].keys()
    assert client.get("/docs").status_code == 200


def test_web_page_and_static_files(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "This service uses the ESCO classification of the European Commission." in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200


def test_unknown_route_is_a_problem(client):
    body = problem(client.get("/v1/nothing-here"), 404)
    assert body["instance"] == "/v1/nothing-here"


# -- recommendations and gap ---------------------------------------------------------------
def test_recommendations(client):
    r = client.post("/v1/recommendations", json=recommendation())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["target"]["occupation_uri"].startswith("http://data.europa.eu/esco/occupation/")
    assert SQL in {h["uri"] for h in body["held"]}
    assert 0 < len(body["ranking"]["items"]) <= 3
    assert len(body["explanations"]) == len(body["ranking"]["items"])
    assert all(e["sentence"] for e in body["explanations"])
    assert body["pathway"]["steps"] and body["pathway_explanation"]["sentence"]
    gap_uris = {s["uri"] for s in body["gap"]["skills"]}
    for item in body["ranking"]["items"]:  # relevance ranking: a course may link no gap skill
        assert {c["uri"] for c in item["covered"]} & gap_uris or (
            "no gap skill linked" in item["flags"]
        )


def test_recommendations_respect_constraints(client):
    r = client.post(
        "/v1/recommendations",
        json=recommendation(constraints={"languages": ["en"], "modes": ["online"]}),
    )
    assert r.status_code == 200, r.text
    client_ids = [i["id"] for i in r.json()["ranking"]["items"]]
    for credential_id in client_ids:
        record = client.get(f"/v1/credentials/{credential_id}").json()["credential"]
        assert record["mode"] in ("online", None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"profile": {}}, "body.target"),
        (recommendation(k=0), "body.k"),
        (recommendation(k="many"), "body.k"),
        (recommendation(profile={"skills": "not-a-list"}), "body.profile.skills"),
        (recommendation(surprise=1), "body.surprise"),
        (recommendation(constraints={"modes": ["by pigeon"]}), "body.constraints.modes.0"),
        (recommendation(target="   "), "body.target"),
    ],
)
def test_recommendation_validation_names_the_field(client, body, field):
    assert field in fields(problem(client.post("/v1/recommendations", json=body), 422))


def test_unknown_uri_in_body_is_422_with_its_path(client):
    bad = "http://data.europa.eu/esco/skill/does-not-exist"
    r = client.post("/v1/recommendations", json=recommendation(profile={"skills": [SQL, bad]}))
    body = problem(r, 422)
    assert fields(body) == ["body.profile.skills.1"] and "does-not-exist" in body["detail"]
    r = client.post("/v1/gap", json={"target": "http://data.europa.eu/esco/occupation/nope"})
    assert fields(problem(r, 422)) == ["body.target"]


def test_limits_on_k_text_and_body(client, limits):
    too_many = recommendation(k=limits.max_k + 1)
    assert fields(problem(client.post("/v1/recommendations", json=too_many), 422)) == ["body.k"]
    long_text = "x" * (limits.max_text_chars + 1)
    r = client.post("/v1/recommendations", json=recommendation(profile={"text": long_text}))
    assert fields(problem(r, 422)) == ["body.profile.text"]
    r = client.post("/v1/skills/extract", json={"text": long_text})
    assert fields(problem(r, 422)) == ["body.text"]
    huge = {"target": "data analyst", "profile": {"text": "y" * limits.max_body_bytes}}
    assert (
        "larger than the limit"
        in problem(client.post("/v1/recommendations", json=huge), 413)["detail"]
    )

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(limits.max_body_bytes // 1000 + 2):
            yield b" " * 1000

    r = client.post("/v1/gap", content=chunks(), headers={"Content-Type": "application/json"})
    problem(r, 413)


def test_batch(client, limits):
    bad = recommendation(profile={"skills": ["http://data.europa.eu/esco/skill/nope"]})
    r = client.post("/v1/recommendations/batch", json=[recommendation(k=2), bad])
    assert r.status_code == 200, r.text
    first, second = r.json()["results"]
    assert first["index"] == 0 and first["response"]["ranking"]["items"]
    assert second["response"] is None and second["error"]["status"] == 422
    assert second["error"]["errors"][0]["field"] == "body.1.profile.skills.0"
    too_many = [recommendation()] * (limits.max_batch + 1)
    assert "body" in fields(problem(client.post("/v1/recommendations/batch", json=too_many), 422))
    r = client.post("/v1/recommendations/batch", json=[recommendation(), recommendation(k=0)])
    assert fields(problem(r, 422)) == ["body.1.k"]
    problem(client.post("/v1/recommendations/batch", json=[]), 422)


def test_gap_lists_essential_and_optional(client):
    r = client.post("/v1/gap", json={"target": "data analyst"})
    assert r.status_code == 200, r.text
    gap = r.json()["gap"]
    detail = client.get("/v1/occupations", params={"uri": "data analyst"}).json()
    assert gap["essential_count"] == len(detail["essential"])
    assert gap["optional_count"] == len(detail["optional"])
    assert {s["relation"] for s in gap["skills"]} == {"essential", "optional"}


# -- skills and occupations ----------------------------------------------------------------
def test_extract_skills(client):
    text = "I write SQL queries every day.\nI build dashboards and reports."
    r = client.post("/v1/skills/extract", json={"text": text})
    assert r.status_code == 200, r.text
    skills = r.json()["skills"]
    assert skills and all(s["uri"].startswith("http://data.europa.eu/esco/skill/") for s in skills)
    assert [s["score"] for s in skills] == sorted((s["score"] for s in skills), reverse=True)
    for s in skills:  # each skill with the statement(s) of the text behind it
        assert s["evidence"] and all(e["text"] in text for e in s["evidence"])
    assert fields(problem(client.post("/v1/skills/extract", json={"text": "  "}), 422)) == [
        "body.text"
    ]
    assert fields(problem(client.post("/v1/skills/extract", json={}), 422)) == ["body.text"]


def test_skill_search_and_lookup(client, limits):
    hits = client.get("/v1/skills/search", params={"q": "SQL", "k": 5}).json()
    assert len(hits) == 5 and SQL in [h["uri"] for h in hits]
    r = client.get("/v1/skills/search", params={"q": "SQL", "k": limits.max_k + 1})
    assert fields(problem(r, 422)) == ["query.k"]
    assert fields(problem(client.get("/v1/skills/search"), 422)) == ["query.q"]
    assert fields(problem(client.get("/v1/skills/search", params={"q": "  "}), 422)) == ["query.q"]
    for url in (f"/v1/skills/{SQL}", f"/v1/skills/{quote(SQL, safe='')}"):
        r = client.get(url)
        assert r.status_code == 200, (url, r.text)
        assert r.json()["uri"] == SQL and r.json()["preferred_label"] == "SQL"
    assert client.get("/v1/skills", params={"uri": SQL}).json()["uri"] == SQL
    problem(client.get("/v1/skills/http://data.europa.eu/esco/skill/nope"), 404)
    problem(client.get("/v1/skills", params={"uri": "no such skill label"}), 404)


def test_occupation_search_and_detail(client):
    hits = client.get("/v1/occupations/search", params={"q": "data analyst"}).json()
    assert hits[0]["label"] == "data analyst"
    uri = hits[0]["uri"]
    detail = client.get(f"/v1/occupations/{uri}").json()
    assert detail["occupation"]["uri"] == uri
    assert detail["essential"] and detail["optional"]
    assert all(
        s["uri"].startswith("http://data.europa.eu/esco/skill/") for s in detail["essential"]
    )
    assert client.get("/v1/occupations", params={"uri": uri}).json() == detail
    problem(client.get("/v1/occupations/http://data.europa.eu/esco/occupation/nope"), 404)


# -- credentials ---------------------------------------------------------------------------
def test_credential_pages(client, limits):
    first = client.get("/v1/credentials", params={"limit": 5}).json()
    assert len(first["items"]) == 5 and first["next_offset"] == 5 and first["total"] > 5
    second = client.get("/v1/credentials", params={"limit": 5, "offset": 5}).json()
    assert not {c["id"] for c in first["items"]} & {c["id"] for c in second["items"]}
    last = client.get("/v1/credentials", params={"offset": first["total"] - 1}).json()
    assert len(last["items"]) == 1 and last["next_offset"] is None
    edx = client.get("/v1/credentials", params={"source": "edx", "limit": 50}).json()
    assert edx["items"] and {c["source"] for c in edx["items"]} == {"edx"}
    r = client.get("/v1/credentials", params={"limit": limits.max_page_size + 1})
    assert fields(problem(r, 422)) == ["query.limit"]
    assert fields(problem(client.get("/v1/credentials", params={"offset": -1}), 422)) == [
        "query.offset"
    ]


def test_credential_detail_and_exports(client):
    ranked = client.post("/v1/recommendations", json=recommendation()).json()
    credential_id = ranked["ranking"]["items"][0]["id"]  # one with ESCO skill links
    detail = client.get(f"/v1/credentials/{credential_id}").json()
    assert detail["credential"]["id"] == credential_id and detail["skills"]
    assert all(s["uri"].startswith("http://data.europa.eu/esco/skill/") for s in detail["skills"])
    elm = client.get(f"/v1/credentials/{credential_id}", params={"format": "elm"}).json()
    assert "@context" in elm
    ob3 = client.get(f"/v1/credentials/{credential_id}", params={"format": "ob3"}).json()
    assert "@context" in ob3
    r = client.get(f"/v1/credentials/{credential_id}", params={"format": "pdf"})
    assert fields(problem(r, 422)) == ["query.format"]
    problem(client.get("/v1/credentials/nobody:nothing"), 404)


def _credential(external_id: str, **extra) -> dict:
    return {
        "source": "api-test",
        "external_id": external_id,
        "title": "Warehouse stock control with spreadsheets",
        "learning_outcomes": [
            "Manage stock levels and inventory in a warehouse",
            "Analyse sales data with spreadsheets",
        ],
        "languages": ["en"],
        "mode": "online",
        "hours": 12,
        **extra,
    }


def test_writes_need_a_key(client):
    path = "/v1/credentials/api-test:auth"
    body = problem(client.put(path, json=_credential("auth")), 401)
    assert body["type"].endswith("unauthorized")
    problem(client.put(path, json=_credential("auth"), headers={"X-API-Key": "wrong"}), 403)
    problem(client.put(path, json=_credential("auth"), headers={"Authorization": "Bearer x"}), 403)
    problem(client.delete(path), 401)
    problem(client.post("/v1/credentials/import?format=ob3", content=b"{}"), 401)
    assert client.get(path).status_code == 404  # nothing was written


def test_put_get_delete_round_trip_updates_the_index(client):
    path = "/v1/credentials/api-test:stock-1"
    key = {"X-API-Key": KEY}
    gap = client.post("/v1/gap", json={"target": "warehouse manager"}).json()["gap"]
    declared = next(s["uri"] for s in gap["skills"] if s["relation"] == "essential")
    # Irish: no other credential of the slice is taught in it, so a ranking filtered on it
    # shows exactly what the writes did.
    record = _credential("stock-1", languages=["ga"], declared_skills=[{"uri": declared}])
    only_irish = {
        "target": "warehouse manager",
        "constraints": {"languages": ["ga"], "strict": True},  # unknown language: out
    }

    def ranked_ids() -> list[str]:
        r = client.post("/v1/recommendations", json=only_irish)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["ranking"]["items"]]

    assert ranked_ids() == []
    r = client.put(path, json=record, headers=key)
    assert r.status_code == 201, r.text
    assert r.json() == {"id": "api-test:stock-1", "status": "imported", "issues": []}
    assert r.headers["location"] == path
    assert ranked_ids() == ["api-test:stock-1"]  # no restart, no rebuild by hand
    again = client.put(path, json=record, headers=key)
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    changed = client.put(
        path, json={**record, "hours": 10}, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert changed.status_code == 200 and changed.json()["status"] == "updated"
    detail = client.get(path).json()
    assert detail["credential"]["hours"] == 10
    assert declared in {s["uri"] for s in detail["skills"] if s["source"] == "declared"}
    held = client.post(
        "/v1/gap",
        json={
            "target": "warehouse manager",
            "profile": {"completed_credentials": ["api-test:stock-1"]},
        },
    ).json()["held"]
    assert declared in {h["uri"] for h in held}
    assert client.get("/readyz").json()["ready"]
    assert client.delete(path, headers={"X-API-Key": "second-write-key-0042"}).status_code == 204
    assert ranked_ids() == []
    problem(client.get(path), 404)
    problem(client.delete(path, headers=key), 404)


def test_put_id_must_match_body(client):
    r = client.put(
        "/v1/credentials/api-test:one", json=_credential("two"), headers={"X-API-Key": KEY}
    )
    assert fields(problem(r, 422)) == ["body.external_id"]
    r = client.put(
        "/v1/credentials/api-test:one",
        json=_credential("one", languages=["english"]),
        headers={"X-API-Key": KEY},
    )
    assert fields(problem(r, 422)) == ["body.languages"]


def test_import_formats(client, shared_dir):
    key = {"X-API-Key": KEY}
    csv = "".join(
        (shared_dir / "catalogue" / "edx-courses.csv")
        .read_text(encoding="utf-8")
        .splitlines(keepends=True)[:20]
    )
    r = client.post(
        "/v1/credentials/import",
        params={"format": "csv", "mapping": "edx"},
        content=csv.encode(),
        headers={**key, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["source"] == "edx" and summary["read"] >= 1
    assert (
        summary["read"]
        == summary["imported"] + summary["updated"] + summary["unchanged"] + summary["skipped"]
    )
    ob3 = (FIXTURES / "ob3-achievement.json").read_bytes()
    r = client.post("/v1/credentials/import", params={"format": "ob3"}, content=ob3, headers=key)
    assert r.status_code == 200, r.text
    assert r.json()["ids"]
    elm = (shared_dir / "standards" / "elm-v3-microcredential-sample.jsonld").read_bytes()
    r = client.post("/v1/credentials/import", params={"format": "elm"}, content=elm, headers=key)
    assert r.status_code == 200 and r.json()["ids"], r.text


def test_import_errors(client):
    key = {"X-API-Key": KEY}
    url = "/v1/credentials/import"
    assert fields(
        problem(client.post(url, params={"format": "csv"}, content=b"a", headers=key), 422)
    ) == ["query.mapping"]
    r = client.post(url, params={"format": "csv", "mapping": "nope"}, content=b"a,b\n", headers=key)
    assert fields(problem(r, 422)) == ["query.mapping"]
    r = client.post(url, params={"format": "csv", "mapping": "../x"}, content=b"a", headers=key)
    assert fields(problem(r, 422)) == ["query.mapping"]
    r = client.post(url, params={"format": "elm"}, content=b"{not json", headers=key)
    assert fields(problem(r, 422)) == ["body"]
    r = client.post(url, params={"format": "xml"}, content=b"<a/>", headers=key)
    assert fields(problem(r, 422)) == ["query.format"]
    problem(client.post(url, params={"format": "ob3"}, content=b"", headers=key), 422)


def test_reads_can_require_a_key(catalogue):
    from skillpath.api.app import create_app

    settings = api_settings(catalogue, read_requires_key=True)
    with TestClient(create_app(service=catalogue, settings=settings)) as keyed:
        problem(keyed.get("/v1/skills/search", params={"q": "SQL"}), 401)
        problem(
            keyed.get("/v1/skills/search", params={"q": "SQL"}, headers={"X-API-Key": "no"}), 403
        )
        ok = keyed.get("/v1/skills/search", params={"q": "SQL"}, headers={"X-API-Key": KEY})
        assert ok.status_code == 200
        assert keyed.get("/healthz").status_code == 200  # probes stay open


def test_writes_are_refused_when_no_key_is_configured(catalogue):
    from skillpath.api.app import create_app

    settings = api_settings(catalogue, api_keys=[])
    with TestClient(create_app(service=catalogue, settings=settings)) as open_reads:
        r = open_reads.delete("/v1/credentials/x:y", headers={"X-API-Key": ""})
        assert problem(r, 403)["detail"].startswith("no API keys are configured")


def test_cors(client):
    r = client.options(
        "/v1/recommendations",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert r.headers["access-control-allow-origin"] == ORIGIN
    r = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_logs_are_json_lines_without_personal_data(client, caplog, capsys):
    from skillpath.api.logging import JsonFormatter

    marker = "ZQX-Marker-Jane-Doe-4711"
    cv = f"{marker}\nI manage stock in a warehouse and use Excel.\nEmail {marker}@example.org"
    with caplog.at_level(logging.DEBUG):
        ok = client.post(
            "/v1/recommendations",
            json=recommendation(profile={"text": cv}),
            headers={"X-Request-ID": "req-logs-1"},
        )
        client.post("/v1/skills/extract", json={"text": cv})
        client.post("/v1/recommendations", json=recommendation(profile={"text": cv}, k=0))
        client.get("/v1/skills/search", params={"q": marker})
        client.get(f"/v1/skills/{marker}")
    assert ok.status_code == 200
    # every server-side record (the test's own HTTP client logs its URLs: not the server's)
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    lines = [JsonFormatter().format(r) for r in server]
    assert server and not any(
        marker in line or marker in r.getMessage() for r, line in zip(server, lines, strict=True)
    )
    assert marker not in capsys.readouterr().err
    requests = [json.loads(line) for line in lines if '"event": "request"' in line]
    first = next(r for r in requests if r["request_id"] == "req-logs-1")
    assert first["method"] == "POST" and first["path"] == "/v1/recommendations"
    assert first["status"] == 200 and first["duration_ms"] > 0
    assert {"/v1/skills/search", "/v1/skills/{uri:path}", "/v1/skills/extract"} <= {
        r["path"] for r in requests
    }
    assert set(first) <= {
        "ts",
        "level",
        "logger",
        "msg",
        "event",
        "method",
        "path",
        "status",
        "duration_ms",
        "request_id",
    }


# -- a real server ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.server
def test_real_uvicorn_server(catalogue, limits):
    import uvicorn

    from skillpath.api.app import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service=catalogue, settings=limits),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            assert http.get("/readyz").json()["ready"]
            r = http.post("/v1/recommendations", json=recommendation())
            assert r.status_code == 200 and r.json()["ranking"]["items"]
            assert r.headers["x-request-id"]
            body = http.post(
                "/v1/gap",
                content=b"x" * (limits.max_body_bytes + 1),
                headers={"Content-Type": "application/json"},
            )
            assert body.status_code == 413
            assert http.get(f"/v1/skills/{SQL}").json()["uri"] == SQL
            _event_loop_stays_responsive(http)
            _writes_while_reading(http)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    assert not thread.is_alive()


def _event_loop_stays_responsive(http: httpx.Client) -> None:
    """Engine work runs in the threadpool: /healthz answers while a long batch is computed."""
    done = threading.Event()
    batch: list[httpx.Response] = []

    def slow() -> None:
        with httpx.Client(base_url=http.base_url, timeout=120) as other:
            body = [recommendation(k=5, profile={"text": "I use Excel. I manage stock."})] * 3
            batch.append(other.post("/v1/recommendations/batch", json=body))
        done.set()

    worker = threading.Thread(target=slow)
    worker.start()
    time.sleep(0.05)
    started = time.perf_counter()
    assert http.get("/healthz").status_code == 200
    health_seconds = time.perf_counter() - started
    answered_during_batch = not done.is_set()
    worker.join(timeout=120)
    assert batch and batch[0].status_code == 200
    assert answered_during_batch and health_seconds < 1.0, health_seconds


def _writes_while_reading(http: httpx.Client) -> None:
    """Credential writes (serialised) while recommendations run: every request succeeds."""
    statuses: list[int] = []

    def reader() -> None:
        with httpx.Client(base_url=http.base_url, timeout=120) as other:
            for _ in range(4):
                statuses.append(
                    other.post("/v1/recommendations", json=recommendation()).status_code
                )

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in readers:
        t.start()
    key = {"X-API-Key": KEY}
    for i in range(2):
        path = f"/v1/credentials/api-test:concurrent-{i}"
        assert http.put(path, json=_credential(f"concurrent-{i}"), headers=key).status_code == 201
        assert http.delete(path, headers=key).status_code == 204
    for t in readers:
        t.join(timeout=120)
    assert statuses == [200] * 8
    assert http.get("/readyz").json()["ready"]


def test_a_bug_is_a_500_problem_that_echoes_nothing(catalogue, limits, monkeypatch, caplog):
    from skillpath.api.app import create_app

    marker = "ZQX-Secret-CV-Line-0815"

    def broken(request, **_):
        raise RuntimeError(f"exploded on {request.profile.text}")

    monkeypatch.setattr(catalogue, "recommend", broken)
    app = create_app(service=catalogue, settings=limits)
    with TestClient(app, raise_server_exceptions=False) as c, caplog.at_level(logging.INFO):
        r = c.post(
            "/v1/recommendations",
            json=recommendation(profile={"text": marker}),
            headers={"X-Request-ID": "bug-1"},
        )
    body = problem(r, 500)
    assert marker not in r.text and body["request_id"] == "bug-1"
    server = [rec for rec in caplog.records if not rec.name.startswith(("httpx", "httpcore"))]
    assert any(getattr(rec, "error", None) == "RuntimeError" for rec in server)
    assert not any(marker in rec.getMessage() or marker in str(rec.__dict__) for rec in server)
