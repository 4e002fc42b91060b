"""Small holes a hostile tenant or a careless agent found, each closed: damaged gzip, NUL bytes in query
parameters, workspace ids with a trailing newline, a slow commit that marked the database down for everyone,
an audit log that was append-only by convention only, and audit ids that counted other workspaces' activity."""

from __future__ import annotations

import asyncio
import gzip
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from conftest import ROOT, RunningServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from otlp_builders import new_id, span, traces
from tracking_helpers import call, post, write
from tracking_helpers import run as execution

from otel_errors import Processor
from otel_errors.api import ApiConfig, create_app
from otel_errors.errors import StoreUnavailable
from otel_errors.exporter import PostgresExporter, StoreConfig
from otel_errors.receiver import TRACES, Pipeline


def _body(workspace: str) -> bytes:
    return traces(
        span(trace_id=new_id(16), parent=new_id(8), exceptions=[{"exception.type": "E"}]),
        resource={"workspace.id": workspace},
    ).SerializeToString()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda z: z[: len(z) // 2], id="truncated"),
        pytest.param(lambda z: z[:-8], id="without_its_trailer"),
        pytest.param(lambda z: z + z, id="two_members"),
        pytest.param(lambda z: z + b"garbage", id="trailing_bytes"),
    ],
)
def test_a_damaged_gzip_body_is_refused_not_partly_read(server: RunningServer, workspace: str, damage: Any) -> None:
    response = httpx.post(
        f"{server.otlp_http}/v1/traces",
        content=damage(gzip.compress(_body(workspace))),
        headers={"content-type": "application/x-protobuf", "content-encoding": "gzip"},
    )
    assert response.status_code == 400, response.text
    intact = httpx.post(
        f"{server.otlp_http}/v1/traces",
        content=gzip.compress(_body(workspace)),
        headers={"content-type": "application/x-protobuf", "content-encoding": "gzip"},
    )
    assert intact.status_code == 200


def _query_parameters() -> list[tuple[str, str]]:
    """Every (path, query parameter) of the API, read from its own OpenAPI document (new ones are covered too)."""
    paths = create_app(ApiConfig(database_url="postgresql://unused")).openapi()["paths"]
    found = []
    for path, operations in paths.items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if method == "get" and parameter["in"] == "query":
                    found.append((path, parameter["name"]))
    return found


def test_every_query_parameter_with_a_nul_byte_is_a_400(migrated: str, workspace: str) -> None:
    parameters = _query_parameters()
    assert len(parameters) >= 20

    async def probe(client: httpx.AsyncClient) -> list[tuple[str, str, int]]:
        codes = []
        for path, name in parameters:
            url = path.replace("{workspace_id}", workspace).replace("{error_id}", str(uuid.uuid4()))
            for value in ("a\x00b", "\x00"):
                response = await client.get(url, params={name: value})
                codes.append((path, name, response.status_code))
        return codes

    codes = call(migrated, probe)
    assert {code for _, _, code in codes} == {400}, [c for c in codes if c[2] != 400]


def test_a_workspace_id_with_a_trailing_newline_is_refused_everywhere(
    server: RunningServer, migrated: str, workspace: str
) -> None:
    sneaky = f"{workspace}\n"
    # Ingest: the resource attribute.
    response = httpx.post(
        f"{server.otlp_http}/v1/traces",
        content=_body(sneaky),
        headers={"content-type": "application/x-protobuf"},
    )
    assert response.status_code == 200
    assert ExportTraceServiceResponse.FromString(response.content).partial_success.rejected_spans == 1
    # The API path.
    api = httpx.get(f"{server.api}/api/v1/workspaces/{workspace}%0A/errors")
    assert api.status_code in (400, 404, 422), api.text
    # The command line.
    cli = subprocess.run(
        [sys.executable, "-m", "otel_errors.cli.main", "token", "create", "--workspace", sneaky],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"OTEL_ERRORS_DATABASE_URL": migrated, "PATH": "/usr/bin:/bin"},
    )
    assert cli.returncode == 2 and "workspace id" in cli.stderr
    with psycopg.connect(migrated) as conn:
        stored = conn.execute("SELECT count(*) FROM workspaces WHERE workspace_id = %s", (sneaky,)).fetchone()
    assert stored == (0,)


def test_a_commit_that_times_out_does_not_mark_the_database_down_for_every_client(
    migrated: str, workspace: str
) -> None:
    async def run() -> tuple[bool, str]:
        store = PostgresExporter(StoreConfig(database_url=migrated, write_timeout_seconds=0.5))
        await store.start()
        pipeline = Pipeline(Processor(), store)
        try:
            async with await psycopg.AsyncConnection.connect(migrated) as blocker:
                await blocker.execute("LOCK TABLE errors IN EXCLUSIVE MODE")
                with pytest.raises(StoreUnavailable):
                    await pipeline.export_protobuf(TRACES, _body(workspace), None)
                await blocker.rollback()
            for _ in range(40):  # the cancelled commit ends
                if store.pending_items == 0:
                    break
                await asyncio.sleep(0.05)
            healthy = store.healthy
            await pipeline.export_protobuf(TRACES, _body(workspace), None)  # at once, not "database unavailable"
            return healthy, store.last_error
        finally:
            await store.shutdown()

    healthy, last_error = asyncio.run(run())
    assert healthy and last_error == ""


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone else' WHERE workspace_id = %s",
        "DELETE FROM audit_log WHERE workspace_id = %s",
        "TRUNCATE audit_log",
    ],
)
def test_the_audit_log_is_append_only_in_the_database(migrated: str, workspace: str, statement: str) -> None:
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO audit_log (workspace_id, actor, action, target) VALUES (%s, 'a', 'test', 't')", (workspace,)
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(statement, (workspace,) if "%s" in statement else None)
        assert conn.execute("SELECT count(*) FROM audit_log WHERE workspace_id = %s", (workspace,)).fetchone() == (1,)


def test_audit_entry_ids_reveal_nothing_about_other_workspaces(migrated: str, workspace: str) -> None:
    """Ids were one sequence for every workspace: the gap between two of mine counted everyone else's changes."""
    mine, theirs = f"{workspace}-mine", f"{workspace}-theirs"
    write(migrated, execution(mine, time.time_ns()))

    def error_id(ws: str) -> str:
        async def fn(client: httpx.AsyncClient) -> str:
            return str((await client.get(f"/api/v1/workspaces/{ws}/errors")).json()["items"][0]["errorId"])

        return str(call(migrated, fn))

    write(migrated, execution(theirs, time.time_ns()))
    mine_id, theirs_id = error_id(mine), error_id(theirs)
    for status in ("acknowledged", "investigating"):
        post(migrated, f"/api/v1/workspaces/{mine}/errors/{mine_id}/status", {"status": status})
        for other in ("acknowledged", "investigating", "acknowledged"):
            post(migrated, f"/api/v1/workspaces/{theirs}/errors/{theirs_id}/status", {"status": other})

    async def entries(client: httpx.AsyncClient) -> list[str]:
        return [e["entryId"] for e in (await client.get(f"/api/v1/workspaces/{mine}/audit-log")).json()["items"]]

    ids = call(migrated, entries)
    assert len(ids) == 2
    assert all(uuid.UUID(i).version == 4 for i in ids)  # random: no order, no count


@pytest.mark.parametrize(
    "ids",
    [
        pytest.param({"trace_id": b"t" * 4096}, id="a_4_KiB_trace_id"),
        pytest.param({"span_id": b"s" * 9}, id="a_9_byte_span_id"),
        pytest.param({"parent": b"p" * 1_000_000}, id="a_1_MB_parent_id"),
    ],
)
def test_ids_of_the_wrong_size_are_refused_not_stored_or_remembered(ids: dict[str, bytes]) -> None:
    """Span ids were taken at whatever size they came: stored in three tables and held in per-trace memory."""
    fields = {"trace_id": new_id(16), "span_id": new_id(8), "parent": new_id(8), **ids}
    processor = Processor()
    batch = processor.process_traces(
        traces(span(error=True, exceptions=[{"exception.type": "E"}], **fields)), None, time.time_ns()
    )
    processor.committed(batch)
    assert len(batch) == 0 and batch.rejected == 1 and "16 and 8 bytes" in batch.rejected_reason
    assert len(processor.trace_state) == 0
