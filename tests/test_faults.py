"""Fault injection (docs/security.md): nothing acknowledged is lost and nothing is counted twice while PostgreSQL is
stopped and restarted, or the receiver is killed and restarted, under the real OpenTelemetry SDK exporters."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import RunningServer, start_server, stop_server
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from otel_errors.exporter._migrate import migrate
from otel_errors.exporter.embedded import EmbeddedPostgres


def fail_step(tracer: object, i: int) -> None:
    with tracer.start_as_current_span(
        "invoke_agent faulty",
        attributes={  # type: ignore[attr-defined]
            "gen_ai.agent.id": "faulty",
            "user.id": f"user-{i % 5}",
        },
    ):
        raise ConnectionError(f"upstream refused request {i}")


def send_steadily(endpoint: str, workspace: str, total: int, seconds: float, done: threading.Event) -> None:
    """`total` failing executions over `seconds`, each recording one exception; retries are the SDK's own."""
    provider = TracerProvider(resource=Resource.create({"service.name": "faults", "workspace.id": workspace}))
    provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(endpoint=endpoint, insecure=True, timeout=60),
            schedule_delay_millis=100,
            max_export_batch_size=20,
        )
    )
    tracer = provider.get_tracer("faults")
    for i in range(total):
        try:
            fail_step(tracer, i)
        except ConnectionError:
            pass
        time.sleep(seconds / total)
    provider.force_flush(90_000)
    provider.shutdown()
    done.set()


def occurrences(server: RunningServer, workspace: str) -> int:
    items = httpx.get(f"{server.api}/api/v1/workspaces/{workspace}/errors", timeout=5).json()["items"]
    return sum(i["occurrences"] for i in items)


def wait_for_count(server: RunningServer, workspace: str, expected: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    seen = -1
    while time.monotonic() < deadline:
        try:
            seen = occurrences(server, workspace)
        except (httpx.HTTPError, KeyError):
            seen = -1
        if seen >= expected:
            time.sleep(1)  # a late duplicate would show up now
            return occurrences(server, workspace)
        time.sleep(0.3)
    return seen


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL this test may stop and start (not the shared one)."""
    import asyncio

    import psycopg

    pg = EmbeddedPostgres(tmp_path / "pg", delete_on_stop=False)
    url = pg.start()

    async def schema() -> None:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            await migrate(conn)

    asyncio.run(schema())
    yield pg
    pg.stop()


def test_postgres_stopped_and_restarted_while_exporting(
    own_postgres: EmbeddedPostgres, tmp_path: Path, workspace: str
) -> None:
    server = start_server(own_postgres.url, tmp_path / "server.log")
    try:
        total, done = 60, threading.Event()
        sender = threading.Thread(target=send_steadily, args=(server.otlp_grpc, workspace, total, 6.0, done))
        sender.start()
        time.sleep(1.5)
        own_postgres.stop()  # PostgreSQL goes away mid-stream
        time.sleep(1.0)
        health = httpx.get(f"{server.api}/healthz", timeout=5)
        assert health.status_code == 503 and health.json()["database"] == "unavailable"
        time.sleep(1.5)
        own_postgres.start()  # and comes back; nobody restarts otel-errors
        sender.join(120)
        assert done.is_set()
        assert wait_for_count(server, workspace, total) == total, server.log()
        assert "database unavailable" in server.log()  # the outage really happened and was answered retryably
    finally:
        stop_server(server)


def test_receiver_killed_and_restarted_while_exporting(migrated: str, tmp_path: Path, workspace: str) -> None:
    server = start_server(migrated, tmp_path / "first.log")
    ports = {
        "OTEL_ERRORS_GRPC_PORT": str(server.grpc_port),
        "OTEL_ERRORS_HTTP_PORT": str(server.http_port),
        "OTEL_ERRORS_API_PORT": str(server.api_port),
    }
    total, done = 60, threading.Event()
    sender = threading.Thread(target=send_steadily, args=(server.otlp_grpc, workspace, total, 6.0, done))
    sender.start()
    time.sleep(2.0)
    os.kill(server.process.pid, signal.SIGKILL)  # no goodbye: in-flight batches were never acknowledged
    server.process.wait()
    time.sleep(1.0)
    restarted = start_server(migrated, tmp_path / "second.log", ports)
    try:
        sender.join(120)
        assert done.is_set()
        assert wait_for_count(restarted, workspace, total) == total, restarted.log()
    finally:
        stop_server(restarted)


def test_sigterm_drains_in_flight_batches(migrated: str, tmp_path: Path, workspace: str) -> None:
    server = start_server(migrated, tmp_path / "drain.log")
    total, done = 40, threading.Event()
    sender = threading.Thread(target=send_steadily, args=(server.otlp_grpc, workspace, total, 2.0, done))
    sender.start()
    sender.join(60)
    assert stop_server(server) == 0  # graceful: exit code 0 after draining
    restarted = start_server(migrated, tmp_path / "after.log")
    try:
        assert wait_for_count(restarted, workspace, total, timeout=10) == total
    finally:
        stop_server(restarted)


def test_two_workers_share_the_ports_and_stop_cleanly(migrated: str, tmp_path: Path, workspace: str) -> None:
    server = start_server(migrated, tmp_path / "workers.log", {"OTEL_ERRORS_WORKERS": "2"})
    try:
        total, done = 20, threading.Event()
        send_steadily(server.otlp_grpc, workspace, total, 1.0, done)
        assert wait_for_count(server, workspace, total, timeout=15) == total
        assert server.log().count("otel-errors ready") == 2  # two processes, one set of ports
    finally:
        assert stop_server(server) == 0
