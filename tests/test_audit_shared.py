"""Two API instances over one PostgreSQL store write one audit trail.

With ``SKILLPATH_DATABASE_URL`` the trail is a table of the shared store (api/audit.py,
migration ``audit-0001``), not a SQLite file per home: writes through instance A and through
instance B (two real uvicorn processes, separate homes) are both listed, by an admin key,
on either instance, each row naming the instance that served it. The instances are started
as in tests/test_store_shared.py, with an admin key added through the key file.
"""

from __future__ import annotations

import httpx
import pytest

ADMIN = "shared-audit-admin-key-0123456789"


@pytest.fixture
def audited_instances(engine, esco_taxonomy, pg_url, tmp_path, monkeypatch):
    from test_store_shared import running_instances

    keys = tmp_path / "keys.txt"
    keys.write_text(f"admin={ADMIN}\n")
    monkeypatch.setenv("SKILLPATH_API_KEYS_FILE", str(keys))  # next to the write key
    with running_instances(engine, esco_taxonomy, pg_url, tmp_path) as instances:
        yield instances


def test_writes_through_two_instances_land_in_one_audit_trail(audited_instances, tmp_path):
    from test_store_shared import CREDENTIAL, KEY

    from skillpath.api.security import parse_key

    a, b = (httpx.Client(base_url=i.url, timeout=120) for i in audited_instances)
    path = "/v1/credentials/pg-test:audit-1"
    body = {**CREDENTIAL, "external_id": "audit-1"}
    assert a.put(path, json=body, headers={"X-API-Key": KEY}).status_code == 201
    assert b.delete(path, headers={"X-API-Key": KEY}).status_code == 204
    assert b.delete(path).status_code == 401  # refused: audited too

    pages = [c.get("/v1/audit", headers={"X-API-Key": ADMIN}, params={"limit": 20}) for c in (a, b)]
    assert all(p.status_code == 200 for p in pages), [p.text for p in pages]
    assert pages[0].json() == pages[1].json()  # one trail, whichever instance is asked
    rows = [r for r in pages[0].json()["items"] if r["path"] == path]
    writer = parse_key(KEY).key_id
    assert [(r["method"], r["status"], r["key_id"]) for r in rows] == [
        ("DELETE", 401, "none"),
        ("DELETE", 204, writer),
        ("PUT", 201, writer),
    ]
    # each row names the process that served it: the PUT was A's, the DELETEs B's
    pids = [i.process.pid for i in audited_instances]
    assert rows[2]["instance"].endswith(f":{pids[0]}")
    assert {r["instance"] for r in rows[:2]} == {rows[0]["instance"]}
    assert rows[0]["instance"].endswith(f":{pids[1]}")
    # nothing went to a per-home SQLite trail
    assert not any((tmp_path / name / "audit.sqlite").exists() for name in ("a", "b"))
    # a write key cannot read the trail on either instance
    assert a.get("/v1/audit", headers={"X-API-Key": KEY}).status_code == 403
