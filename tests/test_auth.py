"""Authentication on: ingest tokens, API keys with roles, workspace isolation on every endpoint, audit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import grpc
import httpx
import psycopg
import pytest
from conftest import ROOT, RunningServer, start_server, stop_server
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from otlp_builders import new_id, span, traces

from otel_errors.api import ApiConfig, create_app

TRACE_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def cli(database_url: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "otel_errors.cli.main", *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "OTEL_ERRORS_DATABASE_URL": database_url},
    )
    return result.stdout


def new_key(database_url: str, workspace: str, role: str) -> str:
    return str(json.loads(cli(database_url, "key", "create", "--workspace", workspace, "--role", role))["secret"])


@pytest.fixture(scope="module")
def auth_server(migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(migrated, tmp_path_factory.mktemp("auth") / "server.log", {"OTEL_ERRORS_AUTH": "true"})
    yield running
    stop_server(running)


def _export(server: RunningServer, payload: bytes, token: str | None) -> bytes:
    with grpc.insecure_channel(server.otlp_grpc) as channel:
        call = channel.unary_unary(TRACE_METHOD, request_serializer=None, response_deserializer=None)
        metadata = [("authorization", f"Bearer {token}")] if token else None
        return call(payload, timeout=10, metadata=metadata)  # type: ignore[no-any-return]


def _payload(claimed_workspace: str) -> bytes:
    return traces(
        span(
            trace_id=new_id(16),
            parent=new_id(8),
            error=True,
            exceptions=[{"exception.type": "RuntimeError", "exception.message": "x"}],
        ),
        resource={"workspace.id": claimed_workspace},
    ).SerializeToString()


def test_ingest_needs_a_valid_token_and_lands_in_the_tokens_workspace(
    auth_server: RunningServer, migrated: str, workspace: str
) -> None:
    token = json.loads(cli(migrated, "token", "create", "--workspace", workspace, "--name", "agents"))["secret"]
    for bad in (None, "nope"):
        with pytest.raises(grpc.RpcError) as info:
            _export(auth_server, _payload(workspace), bad)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    http = httpx.post(
        f"{auth_server.otlp_http}/v1/traces",
        content=_payload(workspace),
        headers={"content-type": "application/x-protobuf"},
    )
    assert http.status_code == 401
    ExportTraceServiceResponse.FromString(_export(auth_server, _payload("someone-else"), token))
    ok = httpx.post(
        f"{auth_server.otlp_http}/v1/traces",
        content=_payload("someone-else"),
        headers={"content-type": "application/x-protobuf", "authorization": f"Bearer {token}"},
    )
    assert ok.status_code == 200
    with psycopg.connect(migrated) as conn:
        rows = conn.execute(
            "SELECT workspace_id, occurrences FROM errors WHERE workspace_id IN (%s, 'someone-else')", (workspace,)
        ).fetchall()
        stored_hash = conn.execute(
            "SELECT count(*) FROM ingest_tokens WHERE token_hash = sha256(%s::bytea)", (token.encode(),)
        ).fetchone()
    assert rows == [(workspace, 2)]  # the token decides the workspace, not the resource attribute
    assert stored_hash == (1,)  # stored hashed
    token_id = cli(migrated, "token", "list", "--workspace", workspace).split()[0]
    assert cli(migrated, "token", "revoke", "--workspace", workspace, token_id).startswith("revoked")


def test_api_keys_roles_and_revocation(auth_server: RunningServer, migrated: str, workspace: str) -> None:
    base = f"{auth_server.api}/api/v1/workspaces/{workspace}"
    viewer, admin = new_key(migrated, workspace, "viewer"), new_key(migrated, workspace, "admin")
    assert httpx.get(f"{base}/errors").status_code == 401
    assert httpx.get(f"{base}/errors", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(f"{base}/errors", headers={"authorization": f"Bearer {viewer}"}).status_code == 200
    denied = httpx.post(f"{base}/api-keys", json={"role": "admin"}, headers={"authorization": f"Bearer {viewer}"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    created = httpx.post(
        f"{base}/api-keys", json={"role": "member", "name": "ci"}, headers={"authorization": f"Bearer {admin}"}
    )
    assert created.status_code == 201
    member = created.json()
    assert member["role"] == "member" and member["secret"].startswith("oek_")
    listed = httpx.get(f"{base}/credentials", headers={"authorization": f"Bearer {admin}"}).json()["items"]
    assert member["id"] in {c["id"] for c in listed} and all("secret" not in c for c in listed)
    assert httpx.get(f"{base}/errors", headers={"authorization": f"Bearer {member['secret']}"}).status_code == 200
    revoked = httpx.delete(f"{base}/api-keys/{member['id']}", headers={"authorization": f"Bearer {admin}"})
    assert revoked.status_code == 204
    assert httpx.get(f"{base}/errors", headers={"authorization": f"Bearer {member['secret']}"}).status_code == 401
    with psycopg.connect(migrated) as conn:
        actions = [
            r[0] for r in conn.execute("SELECT action FROM audit_log WHERE workspace_id = %s ORDER BY at", (workspace,))
        ]
    assert actions == ["api_key.create", "api_key.create", "api_key.create", "api_key.revoke"]


def _workspace_routes() -> list[tuple[str, str]]:
    """Every workspace endpoint, read from the app's own OpenAPI document (new endpoints are covered too)."""
    paths = create_app(ApiConfig(database_url="postgresql://unused")).openapi()["paths"]
    return [
        (method.upper(), path)
        for path, operations in paths.items()
        if "{workspace_id}" in path
        for method in operations
    ]


def test_no_endpoint_lets_one_workspace_touch_another(auth_server: RunningServer, migrated: str) -> None:
    mine, theirs = f"a{uuid.uuid4().hex[:10]}", f"b{uuid.uuid4().hex[:10]}"
    my_admin = new_key(migrated, mine, "admin")
    routes = _workspace_routes()
    assert len(routes) >= 6  # every workspace endpoint, found from the app itself (new ones are covered too)
    for method, path in routes:
        url = auth_server.api + path.replace("{workspace_id}", theirs).replace("{error_id}", str(uuid.uuid4())).replace(
            "{credential_id}", "abc123"
        )
        response = httpx.request(
            method,
            url,
            headers={"authorization": f"Bearer {my_admin}"},
            json={"role": "admin", "status": "acknowledged", "resolvedBy": "x", "resolution": "y"},
        )
        assert response.status_code == 401, (method, path, response.status_code, response.text)


def test_viewers_see_in_app_frames_without_local_paths(
    auth_server: RunningServer, migrated: str, workspace: str
) -> None:
    from otlp_builders import PY_TRACE

    token = json.loads(cli(migrated, "token", "create", "--workspace", workspace))["secret"]
    payload = traces(
        span(
            trace_id=new_id(16),
            parent=new_id(8),
            error=True,
            exceptions=[
                {
                    "exception.type": "ValueError",
                    "exception.message": "bad query 123",
                    "exception.stacktrace": PY_TRACE
                    + '  File "/usr/lib/python3.11/site-packages/lib/x.py", line 9, in y\n',
                }
            ],
        )
    )
    _export(auth_server, payload.SerializeToString(), token)
    base = f"{auth_server.api}/api/v1/workspaces/{workspace}"
    viewer, admin = new_key(migrated, workspace, "viewer"), new_key(migrated, workspace, "admin")

    def get(path: str, key: str) -> dict[str, object]:
        response = httpx.get(f"{base}{path}", headers={"authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    listed = get("/errors", viewer)["items"]
    assert listed, "the export was stored"
    error_id = listed[0]["errorId"]  # type: ignore[index]
    limited = get(f"/errors/{error_id}", viewer)
    full = get(f"/errors/{error_id}", admin)
    assert "/srv/agent" in str(full["stackTrace"]) and "/srv/agent" in json.dumps(full["samples"])
    assert "/srv/agent" not in json.dumps(limited) and "site-packages" not in json.dumps(limited)
    assert "in search (search.py:17)" in str(limited["stackTrace"])
    assert all(f["filename"] in ("search.py", "tools.py") for f in limited["frames"])  # type: ignore[union-attr]
    tracking = get("/error-tracking?timeframe=1h", viewer)
    assert "/srv/agent" not in json.dumps(tracking)


_JS_TRACE = """Error: cannot open /home/carol/agent/config/secrets.json
    at readConfig (/home/carol/agent/src/config.js:12:7)
    at startAgent (file:///home/carol/agent/src/main.js:40:3)
    at node:internal/main:1:1"""


def test_viewers_see_no_directories_in_any_field(auth_server: RunningServer, migrated: str, workspace: str) -> None:
    """Paths reach responses through more than the stack trace: the message, the culprit and the grouping
    explanation (JavaScript frames have file names, no modules), attributes such as `code.filepath`,
    `exception.details`, and the occurrences endpoint. Viewers see none of the directories; admins see all."""
    token = json.loads(cli(migrated, "token", "create", "--workspace", workspace))["secret"]
    payload = traces(
        span(
            trace_id=new_id(16),
            parent=new_id(8),
            error=True,
            attrs={"code.filepath": "/home/carol/agent/src/config.js", "path.windows": "C:\\Users\\carol\\x.cs"},
            exceptions=[
                {
                    "exception.type": "Error",
                    "exception.message": "cannot open /home/carol/agent/config/secrets.json",
                    "exception.stacktrace": _JS_TRACE,
                    "exception.details": "while reading /home/carol/agent/config",
                }
            ],
        )
    )
    _export(auth_server, payload.SerializeToString(), token)
    base = f"{auth_server.api}/api/v1/workspaces/{workspace}"
    viewer, admin = new_key(migrated, workspace, "viewer"), new_key(migrated, workspace, "admin")

    def everything(key: str) -> str:
        def get(path: str) -> object:
            response = httpx.get(f"{base}{path}", headers={"authorization": f"Bearer {key}"})
            assert response.status_code == 200, response.text
            return response.json()

        listed = get("/errors")
        error_id = listed["items"][0]["errorId"]  # type: ignore[index]
        seen = [listed, get(f"/errors/{error_id}"), get(f"/errors/{error_id}/occurrences")]
        seen.append(get("/error-tracking?timeframe=1h"))
        return json.dumps(seen)

    assert "/home/carol" in everything(admin)
    limited = everything(viewer)
    assert "/home/carol" not in limited and "carol\\\\" not in limited
    assert "secrets.json" in limited  # the file names stay: the error still reads as itself
