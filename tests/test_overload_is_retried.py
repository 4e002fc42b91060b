"""Bounds in bytes, and overload answered with statuses the OTLP exporters and the Collector retry.

Found: per-trace memory and the write queue were bounded by items (worst case: gigabytes), and over capacity
gRPC's own concurrency limit answered RESOURCE_EXHAUSTED without RetryInfo, which the Collector drops.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import httpx
import psycopg
import pytest
from conftest import RunningServer, start_server, stop_server
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from otlp_builders import NOW, new_id, span, traces

from otel_errors import Processor, ProcessorConfig
from otel_errors.errors import DISPOSITIONS

TRACE_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
# OTLP: what exporters retry (RESOURCE_EXHAUSTED only with RetryInfo, which gRPC's own refusals lack).
GRPC_RETRIED = {"CANCELLED", "DEADLINE_EXCEEDED", "ABORTED", "OUT_OF_RANGE", "UNAVAILABLE", "DATA_LOSS"}
HTTP_RETRIED = {429, 502, 503, 504}


def test_every_retryable_failure_has_a_status_exporters_retry_and_no_permanent_one_does() -> None:
    for error, d in DISPOSITIONS.items():
        if d.retryable:
            assert d.grpc_code in GRPC_RETRIED and d.http_status in HTTP_RETRIED, error
            assert d.retry_after_seconds, error
        else:
            assert d.grpc_code not in GRPC_RETRIED and d.http_status not in HTTP_RETRIED, error


def test_trace_memory_stays_within_its_byte_bound() -> None:
    """Each trace remembered holds frames and ids, never whole messages; the least recently used go first."""
    frames = "".join(f'  File "/srv/app/module_{i}.py", line {i}, in function_{i}\n    call()\n' for i in range(60))
    budget = 2 * 1024 * 1024
    processor = Processor(ProcessorConfig(trace_state_max_bytes=budget, trace_state_spans_per_trace=256))
    for n in range(60):
        tid = new_id(16)
        spans = [
            span(
                f"s{i}",
                trace_id=tid,
                parent=new_id(8),
                error=True,
                exceptions=[
                    {
                        "exception.type": f"E{i}",
                        "exception.message": "m" * 8000,
                        "exception.stacktrace": f"Traceback (most recent call last):\n{frames}E{i}: {'m' * 8000}\n",
                    }
                ],
            )
            for i in range(40)
        ]
        processor.committed(processor.process_traces(traces(*spans), None, NOW + n))
        assert processor.trace_state.nbytes <= budget
    assert 0 < len(processor.trace_state) < 60  # older traces were evicted by bytes, not by count


@pytest.fixture(scope="module")
def small_server(migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {
        "OTEL_ERRORS_MAX_MESSAGE_BYTES": str(1024 * 1024),
        "OTEL_ERRORS_MAX_INFLIGHT_BYTES": str(1024 * 1024),
        "OTEL_ERRORS_MAX_PENDING_BYTES": "1",
    }
    running = start_server(migrated, tmp_path_factory.mktemp("small") / "server.log", env)
    yield running
    stop_server(running)


def _payload(workspace: str, size: int = 0) -> bytes:
    attrs = {"padding": "x" * size} if size else None
    return traces(
        span(trace_id=new_id(16), parent=new_id(8), attrs=attrs, exceptions=[{"exception.type": "E"}]),
        resource={"workspace.id": workspace},
    ).SerializeToString()


class _Stall:
    """Holds the errors table locked, so the server's commits wait; one export is then in flight and the next
    one finds the server over capacity."""

    def __init__(self, url: str, server: RunningServer, workspace: str) -> None:
        self.url, self.server, self.workspace = url, server, workspace
        self.conn = psycopg.connect(url)
        self.conn.execute("LOCK TABLE errors IN EXCLUSIVE MODE")
        self.pool = ThreadPoolExecutor(1)
        self.first = self.pool.submit(_grpc, server, _payload(workspace, 600 * 1024))
        time.sleep(0.5)  # it is being committed (and waits)

    def release(self) -> Any:
        self.conn.rollback()
        self.conn.close()
        result = self.first.result(timeout=30)
        self.pool.shutdown()
        return result


def _grpc(server: RunningServer, payload: bytes) -> tuple[grpc.StatusCode, str, dict[str, Any]]:
    with grpc.insecure_channel(server.otlp_grpc) as channel:
        call = channel.unary_unary(TRACE_METHOD, request_serializer=None, response_deserializer=None)
        try:
            call(payload, timeout=30)
            return grpc.StatusCode.OK, "", {}
        except grpc.RpcError as exc:
            return exc.code(), exc.details() or "", dict(exc.trailing_metadata() or ())


def test_over_capacity_grpc_answers_unavailable_with_retry_info(
    small_server: RunningServer, migrated: str, workspace: str
) -> None:
    stall = _Stall(migrated, small_server, workspace)
    try:
        code, detail, trailers = _grpc(small_server, _payload(workspace, 600 * 1024))
    finally:
        first = stall.release()
    assert first[0] == grpc.StatusCode.OK
    assert code == grpc.StatusCode.UNAVAILABLE and "retry later" in detail
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    retry = error_details_pb2.RetryInfo()
    assert status.code == 14 and status.details[0].Unpack(retry)
    assert retry.retry_delay.seconds >= 1


def test_over_capacity_http_answers_503_with_retry_after(
    small_server: RunningServer, migrated: str, workspace: str
) -> None:
    stall = _Stall(migrated, small_server, workspace)
    try:
        response = httpx.post(
            f"{small_server.otlp_http}/v1/traces",
            content=_payload(workspace, 600 * 1024),
            headers={"content-type": "application/x-protobuf"},
            timeout=30,
        )
    finally:
        stall.release()
    assert response.status_code == 503 and int(response.headers["retry-after"]) >= 1
    status = status_pb2.Status.FromString(response.content)
    retry = error_details_pb2.RetryInfo()
    assert status.code == 14 and status.details[0].Unpack(retry)


def test_the_sdk_exporter_retries_an_overloaded_server_and_nothing_is_lost_or_doubled(
    small_server: RunningServer, migrated: str, workspace: str
) -> None:
    stall = _Stall(migrated, small_server, workspace)
    exporter = OTLPSpanExporter(endpoint=small_server.otlp_grpc, insecure=True, timeout=30)
    provider = TracerProvider(resource=Resource.create({"workspace.id": workspace}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("overload")
    released = threading.Timer(1.5, stall.release)
    released.start()
    try:
        with tracer.start_as_current_span("invoke_agent a"):
            try:
                with tracer.start_as_current_span("tool"):
                    raise TimeoutError("upstream timed out")
            except TimeoutError:
                pass
    finally:
        released.join()
        provider.shutdown()
    with psycopg.connect(migrated) as conn:
        row = conn.execute(
            "SELECT count(*) FROM error_occurrences WHERE workspace_id = %s AND message = 'upstream timed out'",
            (workspace,),
        ).fetchone()
    # Its first attempt came while the store was over capacity (refused: UNAVAILABLE with RetryInfo); only a
    # retry after the release can have stored it, and the retry counted once.
    assert row == (1,)
