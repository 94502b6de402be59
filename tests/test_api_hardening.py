"""Issue #13 (hardening for a public service), against a real uvicorn server on loopback.

Each test pins one finding of the security review: hostile input, scoped keys, the audit
trail, personal data on open reads, what the logs and probes reveal. The engine is the real
session engine (real ESCO, real indexes) with the same ~850-credential slice as test_api.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from test_api import FIXTURES, PROBLEM, api_settings, load_slice, recommendation

pytestmark = pytest.mark.slow

ADMIN = "admin-key-0123456789abcdef"
WRITER = "write-key-0123456789abcdef"
PROVIDER = "provider-key-0123456789abcdef"  # may write source "hard-test" only
READER = "read-key-0123456789abcdef"
KEYS = [f"admin={ADMIN}", WRITER, f"write@hard-test={PROVIDER}", f"read={READER}"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(app, **config) -> Iterator[httpx.Client]:
    """Run ``app`` on a real uvicorn server on a free loopback port; yield a client for it."""
    import uvicorn

    port = _free_port()
    options = {"log_level": "warning", **config}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            client.port = port  # type: ignore[attr-defined]
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


def fields(body: dict) -> list[str]:
    return [e["field"] for e in body.get("errors") or []]


def credential(external_id: str, source: str = "hard-test", **extra) -> dict:
    return {
        "source": source,
        "external_id": external_id,
        "title": "Warehouse stock control with spreadsheets",
        "learning_outcomes": ["Manage stock levels and inventory in a warehouse"],
        "languages": ["en"],
        **extra,
    }


@pytest.fixture(scope="module")
def catalogue(engine, shared_dir, tmp_path_factory):
    return load_slice(engine, shared_dir, tmp_path_factory.mktemp("hardening-slice"))


@pytest.fixture(scope="module")
def api_conf(catalogue):
    return api_settings(catalogue, api_keys=KEYS)


@pytest.fixture(scope="module")
def http(catalogue, api_conf):
    from skillpath.api.app import create_app

    with serve(create_app(service=catalogue, settings=api_conf)) as client:
        yield client


def key(secret: str) -> dict[str, str]:
    return {"X-API-Key": secret}


# -- hostile input ---------------------------------------------------------------------------
def test_profile_lists_are_capped_and_documented(http):
    from skillpath.engine.recommendation import MAX_PROFILE_OCCUPATIONS, MAX_PROFILE_SKILLS

    skills = [f"skill {i}" for i in range(MAX_PROFILE_SKILLS + 1)]
    r = http.post("/v1/recommendations", json=recommendation(profile={"skills": skills}))
    assert fields(problem(r, 422)) == ["body.profile.skills"]
    occupations = ["data analyst"] * (MAX_PROFILE_OCCUPATIONS + 1)
    r = http.post(
        "/v1/gap", json={"target": "data analyst", "profile": {"occupations": occupations}}
    )
    assert fields(problem(r, 422)) == ["body.profile.occupations"]
    r = http.post("/v1/recommendations", json=recommendation(profile={"skills": ["x" * 501]}))
    assert fields(problem(r, 422)) == ["body.profile.skills.0"]
    spec = http.get("/openapi.json").json()
    profile = next(
        v for k, v in spec["components"]["schemas"].items() if k.startswith("LearnerProfile")
    )
    assert profile["properties"]["skills"]["maxItems"] == MAX_PROFILE_SKILLS
    assert profile["properties"]["occupations"]["maxItems"] == MAX_PROFILE_OCCUPATIONS
    assert "maxItems" in profile["properties"]["completed_credentials"]
    assert f"at most {MAX_PROFILE_SKILLS}" in spec["info"]["description"]


def test_deeply_nested_json_is_a_422_problem(http):
    deep = b"[" * 30_000 + b"]" * 30_000  # under the 64 KiB body limit of these settings
    for path in ("/v1/recommendations", "/v1/recommendations/batch", "/v1/gap"):
        r = http.post(path, content=deep, headers={"Content-Type": "application/json"})
        assert fields(problem(r, 422)) == ["body"], path
    r = http.post(
        "/v1/credentials/import", params={"format": "ob3"}, content=deep, headers=key(WRITER)
    )
    assert fields(problem(r, 422)) == ["body"]
    assert http.get("/healthz").status_code == 200


def test_the_write_key_is_checked_before_the_body_is_read(http):
    # Headers announce 512 KiB, no byte of body follows: the 401 must come at once, not
    # after the server waited to buffer a body it will refuse.
    with socket.create_connection(("127.0.0.1", http.port), timeout=5) as s:
        s.sendall(
            b"PUT /v1/credentials/hard-test:x HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: 524288\r\n\r\n"
        )
        started = time.monotonic()
        reply = s.recv(65536).decode("latin-1")
    assert reply.startswith("HTTP/1.1 401"), reply
    assert time.monotonic() - started < 3
    with socket.create_connection(("127.0.0.1", http.port), timeout=5) as s:
        s.sendall(
            b"POST /v1/credentials/import?format=ob3 HTTP/1.1\r\nHost: localhost\r\n"
            b"X-API-Key: not-a-valid-key-at-all\r\nContent-Length: 4000000\r\n\r\n"
        )
        reply = s.recv(65536).decode("latin-1")
    assert reply.startswith("HTTP/1.1 403"), reply


def test_non_latin1_id_gets_a_percent_encoded_location(http):
    record = credential("Μάθημα-1")
    path = "/v1/credentials/" + quote("hard-test:Μάθημα-1")
    r = http.put(path, json=record, headers=key(WRITER))
    assert r.status_code == 201, r.text
    location = r.headers["location"]
    assert location == "/v1/credentials/hard-test:%CE%9C%CE%AC%CE%B8%CE%B7%CE%BC%CE%B1-1"
    got = http.get(location)
    assert got.status_code == 200 and got.json()["credential"]["external_id"] == "Μάθημα-1"
    assert http.delete(path, headers=key(WRITER)).status_code == 204


def test_a_source_with_a_colon_is_rejected(http):
    r = http.put(
        "/v1/credentials/hard:test:1", json=credential("1", "hard:test"), headers=key(ADMIN)
    )
    assert fields(problem(r, 422)) == ["body.source"]
    assert http.get("/v1/credentials/hard:test:1").status_code == 404


def test_title_filter_treats_percent_and_underscore_literally(http):
    r = http.put(
        "/v1/credentials/hard-test:like",
        json=credential("like", title="Spreadsheets 100%_ready"),
        headers=key(WRITER),
    )
    assert r.status_code in (200, 201), r.text
    all_titles = http.get("/v1/credentials", params={"limit": 1}).json()["total"]
    for q, expect in (("%", "%"), ("_", "_"), ("0%_r", "0%_r")):
        page = http.get("/v1/credentials", params={"q": q, "limit": 50}).json()
        assert 1 <= page["total"] < all_titles, q
        assert all(expect in c["title"] for c in page["items"]), q
    assert http.get("/v1/credentials", params={"q": "1_0"}).json()["total"] == 0


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,<script>x</script>", "ftp://x.eu/a", "/rel"]
)
def test_credential_url_must_be_http_or_https(http, url):
    r = http.put(
        "/v1/credentials/hard-test:url", json=credential("url", url=url), headers=key(WRITER)
    )
    assert fields(problem(r, 422)) == ["body.url"]


def test_https_url_is_kept(http):
    r = http.put(
        "/v1/credentials/hard-test:url-ok",
        json=credential("url-ok", url="https://courses.example.eu/stock"),
        headers=key(WRITER),
    )
    assert r.status_code in (200, 201), r.text
    got = http.get("/v1/credentials/hard-test:url-ok").json()["credential"]
    assert got["url"] == "https://courses.example.eu/stock"


def test_import_caps_fields_and_issue_lists_keeping_exact_counts(http):
    from skillpath.engine.catalogue.importer import MAX_ISSUES
    from skillpath.engine.catalogue.records import MAX_DESCRIPTION_CHARS

    good = json.loads((FIXTURES / "ob3-achievement.json").read_text())
    huge = {**good, "id": "https://example.org/achievements/huge"}
    huge["description"] = "a@b.eu ; " * (MAX_DESCRIPTION_CHARS // 9 + 10)
    body = [1] * 50_000 + [huge, good]
    started = time.monotonic()
    r = http.post(
        "/v1/credentials/import",
        params={"format": "ob3"},
        content=json.dumps(body).encode(),
        headers=key(ADMIN),
    )
    assert r.status_code == 200, r.text
    assert time.monotonic() - started < 60
    summary = r.json()
    assert summary["read"] == 50_002 and summary["skipped"] == 50_001
    assert len(summary["ids"]) == 1  # the good one; the huge one is an issue
    assert len(summary["issues"]) == MAX_ISSUES
    assert summary["issue_count"] == 50_001 + summary["warnings"]
    assert summary["issues_omitted"] == summary["issue_count"] - MAX_ISSUES
    assert sum(summary["reason_counts"].values()) == 50_001
    too_long = [i for i in summary["issues"] if i.get("field") == "description"]
    assert not too_long  # the huge one came after the first MAX_ISSUES issues...
    assert any("description" in reason for reason in summary["reason_counts"])  # ...counted


def test_an_overlong_csv_field_is_one_issue_and_the_rest_imports(http, shared_dir):
    import csv
    import io

    with open(shared_dir / "catalogue" / "edx-courses.csv", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header, rows = next(reader), [next(reader) for _ in range(3)]
    rows[0][header.index("title")] = "T" * 5_000
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    body = out.getvalue()
    r = http.post(
        "/v1/credentials/import",
        params={"format": "csv", "mapping": "edx"},
        content=body.encode(),
        headers={**key(ADMIN), "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["skipped"] == 1 and len(summary["ids"]) == 2
    (issue,) = [i for i in summary["issues"] if i["severity"] == "skipped"]
    assert issue["field"] == "title" and "1000 characters" in issue["reason"]
    assert issue["line"] == 2


# -- privacy ---------------------------------------------------------------------------------
def test_an_issued_credential_keeps_the_offering_and_drops_the_person(http):
    issued = (FIXTURES / "ob3-credential.json").read_bytes()
    assert b"Maria Rossi" in issued and b"Pass with distinction" in issued
    r = http.post(
        "/v1/credentials/import", params={"format": "ob3"}, content=issued, headers=key(ADMIN)
    )
    assert r.status_code == 200, r.text
    (credential_id,) = r.json()["ids"]
    assert "Maria Rossi" not in r.text
    reads = [
        http.get(f"/v1/credentials/{credential_id}"),
        http.get(f"/v1/credentials/{credential_id}", params={"format": "elm"}),
        http.get(f"/v1/credentials/{credential_id}", params={"format": "ob3"}),
        http.get("/v1/credentials", params={"source": "ob3", "limit": 50}),
        http.get("/v1/credentials", params={"q": "Cloud Security", "limit": 50}),
    ]
    for read in reads:
        assert read.status_code == 200, read.text
        assert "Maria Rossi" not in read.text and "Pass with distinction" not in read.text
    record = reads[0].json()["credential"]
    assert record["title"] == "Cloud Security Fundamentals" and record["learning_outcomes"]
    assert record["learner"] is None and record["grade"] is None


def test_uvicorn_access_log_is_off_inside_create_app(catalogue, api_conf):
    from skillpath.api.app import create_app

    class Keep(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.lines: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.lines.append(record.getMessage())

    marker = "Jane-Doe-ZQX-4711"
    keep = Keep()
    access = logging.getLogger("uvicorn.access")
    # as `uvicorn ... --factory` does it: uvicorn configures its logging (access log on),
    # then calls the factory
    with serve(
        lambda: create_app(service=catalogue, settings=api_conf),
        factory=True,
        access_log=True,
        log_level="info",
    ) as client:
        access.addHandler(keep)
        try:
            assert client.get("/v1/skills/search", params={"q": marker}).status_code == 200
            time.sleep(0.2)
        finally:
            access.removeHandler(keep)
    assert not [line for line in keep.lines if marker in line], keep.lines
    assert not keep.lines


def test_readiness_details_are_for_admin_keys_only(tmp_path, shared_dir):
    from skillpath.api.app import create_app
    from skillpath.engine.config import Settings
    from skillpath.engine.service import Skillpath

    empty = Settings(home=tmp_path / "empty-home", shared_dir=shared_dir, api_keys=KEYS)
    with serve(create_app(service=Skillpath(empty), settings=empty)) as client:
        anonymous = client.get("/readyz")
        assert anonymous.status_code == 503
        checks = anonymous.json()["checks"]
        assert "failed" in checks.values() and set(checks.values()) <= {"ok", "failed"}
        assert str(tmp_path) not in anonymous.text
        for secret in (READER, WRITER):
            assert str(tmp_path) not in client.get("/readyz", headers=key(secret)).text
        admin = client.get("/readyz", headers=key(ADMIN))
        assert admin.status_code == 503
        assert any(v != "failed" and v != "ok" for v in admin.json()["checks"].values())
        r = client.post("/v1/recommendations", json=recommendation())
        assert r.status_code == 503 and str(tmp_path) not in r.text


def test_request_log_duration_is_the_handler_time(catalogue, api_conf, caplog):
    from skillpath.api.app import create_app

    app = create_app(service=catalogue, settings=api_conf)

    @app.get("/slow-for-test")
    def slow() -> dict:
        time.sleep(0.4)
        return {"ok": True}

    with serve(app) as client, caplog.at_level(logging.INFO, logger="skillpath.api"):
        assert client.get("/slow-for-test").status_code == 200
        assert client.get("/healthz").status_code == 200
        time.sleep(0.2)
    durations = {
        r.path: r.duration_ms for r in caplog.records if getattr(r, "event", "") == "request"
    }
    assert 400 <= durations["/slow-for-test"] < 5_000
    assert durations["/healthz"] < 400


# -- keys, scopes, audit, the page's session -------------------------------------------------
def test_key_scopes(http):
    put = credential("scoped")
    path = "/v1/credentials/hard-test:scoped"
    r = http.put(path, json=put, headers=key(READER))
    assert "may not write" in problem(r, 403)["detail"]
    assert http.put(path, json=put, headers=key(PROVIDER)).status_code in (200, 201)
    other = credential("scoped", source="other-source")
    r = http.put("/v1/credentials/other-source:scoped", json=other, headers=key(PROVIDER))
    assert "hard-test only" in problem(r, 403)["detail"]
    problem(http.delete("/v1/credentials/edx:whatever", headers=key(PROVIDER)), 403)
    r = http.post(
        "/v1/credentials/import",
        params={"format": "csv", "mapping": "edx"},
        content=b"x",
        headers=key(PROVIDER),
    )
    problem(r, 403)
    assert http.delete(path, headers=key(PROVIDER)).status_code == 204
    problem(http.get("/v1/audit", headers=key(WRITER)), 403)
    problem(http.get("/v1/audit"), 401)


def test_every_write_is_audited_and_admins_can_query_it(http):
    from skillpath.api.security import parse_key

    path = "/v1/credentials/hard-test:audited"
    assert http.put(path, json=credential("audited"), headers=key(WRITER)).status_code in (
        200,
        201,
    )
    problem(http.put(path, json=credential("audited"), headers=key(READER)), 403)
    problem(http.delete(path), 401)
    trail = http.get("/v1/audit", headers=key(ADMIN), params={"limit": 50}).json()
    rows = [r for r in trail["items"] if r["path"] == path]
    writer = parse_key(WRITER).key_id
    reader = parse_key(READER).key_id
    assert [(r["method"], r["status"], r["key_id"]) for r in rows[:3]] == [
        ("DELETE", 401, "none"),
        ("PUT", 403, reader),
        ("PUT", rows[2]["status"], writer),
    ]
    assert rows[2]["status"] in (200, 201) and all(r["ts"] and r["request_id"] for r in rows)
    assert WRITER not in json.dumps(trail) and READER not in json.dumps(trail)
    mine = http.get("/v1/audit", headers=key(ADMIN), params={"key_id": writer}).json()
    assert mine["total"] >= 1 and {r["key_id"] for r in mine["items"]} == {writer}


def test_keys_from_a_file_reload_without_restart_and_have_a_minimum_length(
    catalogue, api_conf, tmp_path
):
    from skillpath.api.app import create_app
    from skillpath.api.security import KeyRing

    file = tmp_path / "keys.txt"
    first, second = "file-key-one-0123456789", "file-key-two-0123456789-longer"
    file.write_text(f"# provider keys\nwrite={first}\n")
    ring = KeyRing.from_settings([], file)
    app = create_app(
        service=catalogue, settings=api_conf.model_copy(update={"api_keys": []}), keys=ring
    )
    path = "/v1/credentials/hard-test:file"
    with serve(app) as client:
        assert client.put(path, json=credential("file"), headers=key(first)).status_code in (
            200,
            201,
        )
        file.write_text(f"write={second}\n")  # revoke the first, add the second
        problem(client.delete(path, headers=key(first)), 403)
        assert client.delete(path, headers=key(second)).status_code == 204
        file.write_text("write=short\n")  # a bad reload keeps the previous keys
        problem(client.delete(path, headers=key(second)), 404)
    with pytest.raises(ValueError, match="at least 16 characters"):
        KeyRing.from_settings(["write=too-short"])
    with pytest.raises(ValueError, match="at least 16"):
        KeyRing.from_settings(["short-legacy"])


def test_the_page_works_when_reads_need_a_key_and_its_session_cannot_write(catalogue, api_conf):
    from skillpath.api.app import create_app

    keyed = api_conf.model_copy(update={"read_requires_key": True})
    with serve(create_app(service=catalogue, settings=keyed)) as client:
        problem(client.get("/v1/skills/search", params={"q": "SQL"}), 401)
        page = client.get("/")
        assert page.status_code == 200 and "skillpath_session" in client.cookies
        assert client.get("/v1/skills/search", params={"q": "SQL"}).status_code == 200
        r = client.post("/v1/recommendations", json=recommendation())
        assert r.status_code == 200, r.text
        problem(client.put("/v1/credentials/hard-test:page", json=credential("page")), 401)
        forged = httpx.Cookies({"skillpath_session": "99999999999.deadbeef"})
        other = httpx.Client(base_url=str(client.base_url), cookies=forged)
        problem(other.get("/v1/skills/search", params={"q": "SQL"}), 401)
        other.close()


def test_keys_in_the_audit_and_headers_are_never_logged(http, caplog):
    with caplog.at_level(logging.DEBUG):
        http.put("/v1/credentials/hard-test:log", json=credential("log"), headers=key(WRITER))
        time.sleep(0.1)
    assert not [r for r in caplog.records if WRITER in r.getMessage()]


# -- backup and restore while the server runs ------------------------------------------------
def test_backup_while_serving_and_restore_round_trip(http, catalogue, tmp_path):
    from skillpath.engine.backup import BackupError, backup, restore
    from skillpath.engine.service import Skillpath

    home = Path(catalogue.settings.home)
    stop = threading.Event()
    written: list[str] = []

    def writer() -> None:  # keeps writing while the backup runs
        i = 0
        while not stop.is_set():
            r = http.put(
                f"/v1/credentials/hard-test:bk-{i}", json=credential(f"bk-{i}"), headers=key(WRITER)
            )
            assert r.status_code in (200, 201), r.text
            written.append(f"hard-test:bk-{i}")
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(1.0)
        info = backup(home, tmp_path / "bk")
        reads = http.post("/v1/recommendations", json=recommendation())
        assert reads.status_code == 200
    finally:
        stop.set()
        thread.join(timeout=120)
    assert written, "no write ran during the backup"
    with pytest.raises(BackupError, match="not empty"):
        backup(home, tmp_path / "bk")
    restored_home = tmp_path / "restored"
    restore(tmp_path / "bk", restored_home)
    settings = catalogue.settings.model_copy(update={"home": restored_home})
    restored = Skillpath(settings)
    assert restored.catalogue.revision == info["catalogue_revision"]
    count = restored.catalogue.count()
    assert 0 < count <= catalogue.catalogue.count()
    assert restored.matching.search_skills("SQL", 3)  # its ESCO indexes were restored and load
    # a changed file is refused before anything is written
    (tmp_path / "bk" / "skillpath.sqlite").write_bytes(b"corrupt")
    with pytest.raises(BackupError, match="changed since the backup"):
        restore(tmp_path / "bk", tmp_path / "other")
    assert not (tmp_path / "other").exists()
