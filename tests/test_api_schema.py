"""Schemathesis against the API's own OpenAPI document (issue 5, item 2): no generated request gets a 5xx.

The document comes from the app in-process (no database needed to build it), so every operation is its own test;
the requests go to the real server (`server` fixture, authentication off: an admin of every workspace). Three
passes per operation: schema-valid data, schema-invalid data (schemathesis' negative mode: wrong types, missing
fields, out-of-range values), and schema-valid data aimed at a workspace and an error that exist, so the deeper
code paths run too. Derandomized and bounded (`OTEL_ERRORS_SCHEMA_EXAMPLES`, 15 by default): 20-40 s.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
import requests
import schemathesis
from conftest import RunningServer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from otlp_builders import PY_TRACE, new_id, span, traces
from schemathesis import GenerationMode

from otel_errors.api.app import create_app
from otel_errors.api.config import ApiConfig

EXAMPLES = int(os.environ.get("OTEL_ERRORS_SCHEMA_EXAMPLES", "15"))
SCHEMA = schemathesis.openapi.from_dict(create_app(ApiConfig(database_url="postgresql://unused")).openapi())
OPERATIONS = {f"{op.method.upper()} {op.path}": op for op in (r.ok() for r in SCHEMA.get_all_operations())}
WORKSPACE = "schema-ws"


@pytest.fixture(scope="module")
def known_error(server: RunningServer) -> str:
    """One stored error in WORKSPACE (its id), so generated requests can reach real rows."""
    request = traces(
        span(
            trace_id=new_id(16),
            parent=new_id(8),
            error=True,
            attrs={"user.id": "u-1"},
            exceptions=[
                {"exception.type": "ValueError", "exception.message": "bad query 1", "exception.stacktrace": PY_TRACE}
            ],
        ),
        resource={"service.name": "svc", "workspace.id": WORKSPACE},
    )
    with grpc.insecure_channel(server.otlp_grpc) as channel:
        channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")(
            request.SerializeToString(), timeout=10
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        items = httpx.get(f"{server.api}/api/v1/workspaces/{WORKSPACE}/errors", timeout=10).json()["items"]
        if items:
            return str(items[0]["errorId"])
        time.sleep(0.1)
    raise AssertionError("the seeded error never appeared")


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def _run(operation: Any, strategy: Any, server: RunningServer, session: requests.Session) -> list[str]:
    failures: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        response = case.call(base_url=server.api, session=session, timeout=15)
        if response.status_code >= 500:
            failures.append(f"{response.status_code} for {case.as_curl_command()}\n  {response.text[:300]}")
        elif response.status_code >= 400:
            body = response.json()  # every failure is JSON {"error": {"code", "message"}}
            assert isinstance(body.get("error"), dict) and body["error"].get("code"), (response.status_code, body)

    try:
        check()
    except Unsatisfiable:  # e.g. no invalid request exists for an operation without parameters (/healthz)
        pass
    return failures


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_no_generated_request_gets_a_server_error(
    name: str, server: RunningServer, known_error: str, session: requests.Session
) -> None:
    operation = OPERATIONS[name]
    fixed = {"workspace_id": WORKSPACE}
    if "{error_id}" in operation.path:
        fixed["error_id"] = known_error
    failures = []
    strategies = [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    ]
    if "{workspace_id}" in operation.path:
        strategies.append(operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=fixed))
    for strategy in strategies:
        failures += _run(operation, strategy, server, session)
    assert not failures, "\n".join(failures[:5])
    log = server.log()
    assert "unhandled API error" not in log, log[-3000:]


@pytest.mark.parametrize(
    "query,status",
    [
        ("firstSeenFrom=0210-08-27T01%3A28%3A53%2B17%3A30", 200),  # found by schemathesis: a 500 before
        ("lastSeenTo=2030-01-01T00%3A00%3A00-23%3A59", 200),
        ("firstSeenTo=0001-01-01T00%3A00%3A00%2B10%3A00", 400),  # before year 1 in UTC
        ("lastSeenFrom=2020-01-01T00%3A00%3A00", 200),  # naive: UTC
    ],
)
def test_time_filters_with_offsets_postgresql_refuses_are_not_500(
    server: RunningServer, query: str, status: int
) -> None:
    """Python parses UTC offsets up to ±23:59, PostgreSQL refuses more than ±15:59: the API now converts filter
    and cursor times to UTC first (out of range: 400) instead of answering 500."""
    response = httpx.get(f"{server.api}/api/v1/workspaces/{WORKSPACE}/errors?{query}", timeout=10)
    assert response.status_code == status, response.text
    cursor = base64.urlsafe_b64encode(
        json.dumps(["lastSeen", "0210-08-27T01:28:53+17:30", "00000000-0000-0000-0000-000000000000"]).encode()
    ).decode()
    response = httpx.get(f"{server.api}/api/v1/workspaces/{WORKSPACE}/errors", params={"cursor": cursor}, timeout=10)
    assert response.status_code == 200, response.text
