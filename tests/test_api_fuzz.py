"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis).

Every operation gets generated requests, valid ones and invalid ones; the checks are: no 5xx,
the status code is documented, the content type is documented, and the body conforms to the
documented schema (problem+json included). The writes (PUT, DELETE, import) and the admin
audit read are fuzzed too, with a key that may do them: a generated write is a real write to
this module's catalogue slice (the read checks do not depend on what the catalogue holds).
Bounded to a few minutes on a small machine: ~20 examples per operation and mode, no deadline.

(Hypothesis drives ``operation.as_strategy()`` directly: schemathesis' lazy pytest fixture
loader does not run on pytest 9.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from test_api import KEY, api_settings, load_slice

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# Every read operation of the API (writes are covered by test_api.py).
OPERATIONS = [
    ("POST", "/v1/recommendations"),
    ("POST", "/v1/recommendations/batch"),
    ("POST", "/v1/gap"),
    ("POST", "/v1/skills/extract"),
    ("GET", "/v1/skills/search"),
    ("GET", "/v1/skills"),
    ("GET", "/v1/skills/{uri}"),
    ("GET", "/v1/occupations/search"),
    ("GET", "/v1/occupations"),
    ("GET", "/v1/occupations/{uri}"),
    ("GET", "/v1/credentials"),
    ("GET", "/v1/credentials/{credential_id}"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
]
# Fuzzed with a key that may do them (KEY: write scope; the audit read needs admin).
ADMIN_KEY = "fuzz-admin-key-0123456789"
KEYED_OPERATIONS = [
    ("PUT", "/v1/credentials/{credential_id}", KEY),
    ("DELETE", "/v1/credentials/{credential_id}", KEY),
    ("POST", "/v1/credentials/import", KEY),
    ("GET", "/v1/audit", ADMIN_KEY),
]


@pytest.fixture(scope="module")
def api_schema(engine, shared_dir, tmp_path_factory):
    from skillpath.api.app import create_app

    service = load_slice(engine, shared_dir, tmp_path_factory.mktemp("fuzz-slice"))
    settings = api_settings(service)
    settings = settings.model_copy(update={"api_keys": [*settings.api_keys, f"admin={ADMIN_KEY}"]})
    app = create_app(service=service, settings=settings)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_every_operation_is_fuzzed(api_schema):
    documented = {
        (method.upper(), path)
        for path, item in api_schema.raw_schema["paths"].items()
        for method in item
    }
    assert documented == set(OPERATIONS) | {(m, p) for m, p, _ in KEYED_OPERATIONS}


NO_INPUT = {"/healthz", "/readyz"}  # nothing to make invalid: positive cases only


@pytest.mark.parametrize(
    ("method", "path", "mode"),
    [
        (method, path, mode)
        for method, path in OPERATIONS
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if not (path in NO_INPUT and mode is GenerationMode.NEGATIVE)
    ],
)
def test_api_conforms_to_its_schema(api_schema, method, path, mode):
    _fuzz(api_schema, method, path, mode, None)


@pytest.mark.parametrize(
    ("method", "path", "key", "mode"),
    [
        (method, path, key, mode)
        for method, path, key in KEYED_OPERATIONS
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ],
)
def test_keyed_operations_conform_to_their_schema(api_schema, method, path, key, mode):
    _fuzz(api_schema, method, path, mode, key)


def _fuzz(api_schema, method: str, path: str, mode: GenerationMode, key: str | None) -> None:
    operation = api_schema[path][method]
    headers = {"X-API-Key": key} if key else None

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=20,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        # a generous read timeout: a recommendation batch on a loaded 2-core machine can
        # take over the 10 s default, which is slowness, not a server error
        case.call_and_validate(checks=CHECKS, headers=headers, timeout=120)

    check()
