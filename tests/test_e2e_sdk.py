"""End to end: the real `otel-errors serve`, the real OpenTelemetry SDK exporters (gRPC, HTTP, logs), the API."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import httpx
from conftest import RunningServer
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def parse_order(raw: str) -> int:
    return int(raw)  # raises ValueError for bad input: a real exception from real code


def run_tool(tracer: Any, order: str) -> int:
    with tracer.start_as_current_span("execute_tool parse_order", attributes={"gen_ai.tool.name": "parse_order"}):
        return parse_order(order)


def run_agent(tracer: Any, user: str, order: str) -> None:
    with tracer.start_as_current_span(
        "invoke_agent orders",
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.id": "orders-agent",
            "user.id": user,
            "credits.used": 1.5,
        },
    ):
        run_tool(tracer, order)


def errors(server: RunningServer, workspace: str, expected_occurrences: int, timeout: float = 20) -> list[Any]:
    deadline = time.monotonic() + timeout
    items: list[Any] = []
    while time.monotonic() < deadline:
        response = httpx.get(f"{server.api}/api/v1/workspaces/{workspace}/errors", timeout=5)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        if sum(i["occurrences"] for i in items) >= expected_occurrences:
            return items
        time.sleep(0.2)
    return items


def _traces(exporter: Any, workspace: str, users: list[str], orders: list[str]) -> None:
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": "orders-svc",
                "service.version": "2.0.1",
                "deployment.environment.name": "prod",
                "workspace.id": workspace,
            }
        )
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("e2e")
    for user, order in zip(users, orders, strict=True):
        try:
            run_agent(tracer, user, order)
        except ValueError:
            pass
    assert provider.force_flush(10_000)
    provider.shutdown()


def _check_grouped(server: RunningServer, workspace: str) -> None:
    items = errors(server, workspace, 3)
    assert len(items) == 1, items  # one bug, three different ids in the messages: one error
    error = items[0]
    assert error["type"] == "ValueError" and error["occurrences"] == 3
    assert sorted(error["affectedUsers"]) == ["u-1", "u-2"]
    assert error["affectedAgents"] == ["orders-agent"]
    assert error["context"]["environment"] == "prod" and error["context"]["version"] == "2.0.1"
    assert "parse_order" in error["culprit"]
    assert error["severity"] == "high"  # it escaped the execution

    details = httpx.get(f"{server.api}/api/v1/workspaces/{workspace}/errors/{error['errorId']}", timeout=5).json()
    assert details["frames"] and any(f["function"] == "parse_order" for f in details["frames"])
    assert details["samples"] and "Traceback" in details["samples"][0]["stackTrace"]
    explanation = json.dumps(details["grouping"])  # the fingerprint explains itself
    assert details["grouping"]["contributes"] and "ignored: site-packages" in explanation
    occurrences = httpx.get(
        f"{server.api}/api/v1/workspaces/{workspace}/errors/{error['errorId']}/occurrences",
        params={"limit": 2},
        timeout=5,
    ).json()
    assert len(occurrences["items"]) == 2 and occurrences["nextCursor"]
    rest = httpx.get(
        f"{server.api}/api/v1/workspaces/{workspace}/errors/{error['errorId']}/occurrences",
        params={"limit": 2, "cursor": occurrences["nextCursor"]},
        timeout=5,
    ).json()
    assert len(rest["items"]) == 1 and rest["nextCursor"] is None
    ids = {o["occurrenceId"] for o in occurrences["items"] + rest["items"]}
    assert len(ids) == 3
    assert {o["agentId"] for o in occurrences["items"]} == {"orders-agent"}


def test_sdk_span_exporter_over_grpc(server: RunningServer, workspace: str) -> None:
    _traces(
        GrpcSpanExporter(endpoint=server.otlp_grpc, insecure=True),
        workspace,
        ["u-1", "u-2", "u-1", "u-2"],
        ["x17", "42", "y99", "z3"],
    )
    _check_grouped(server, workspace)


def test_sdk_span_exporter_over_http(server: RunningServer, workspace: str) -> None:
    _traces(
        HttpSpanExporter(endpoint=f"{server.otlp_http}/v1/traces"),
        workspace,
        ["u-1", "u-2", "u-2"],
        ["x17", "y99", "z3"],
    )
    _check_grouped(server, workspace)


def test_sdk_logging_handler_logger_exception(server: RunningServer, workspace: str) -> None:
    provider = LoggerProvider(resource=Resource.create({"service.name": "billing", "workspace.id": workspace}))
    provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=server.otlp_grpc, insecure=True))
    )
    logger = logging.getLogger(f"e2e-{workspace}")
    logger.propagate = False
    logger.addHandler(LoggingHandler(logger_provider=provider))
    for invoice in ("inv-1001", "inv-2002"):
        try:
            {"known": 1}[invoice]
        except KeyError:
            logger.exception("invoice %s not found", invoice, extra={"user.id": "payer-7"})
    logger.error("a plain error log without an exception is not an error occurrence")
    assert provider.force_flush(10_000)
    provider.shutdown()

    items = errors(server, workspace, 2)
    assert len(items) == 1, items
    error = items[0]
    assert error["type"].endswith("KeyError") and error["occurrences"] == 2
    assert error["affectedUsers"] == ["payer-7"] and error["affectedAgents"] == ["billing"]
    occurrences = httpx.get(
        f"{server.api}/api/v1/workspaces/{workspace}/errors/{error['errorId']}/occurrences", timeout=5
    ).json()["items"]
    assert {o["origin"] for o in occurrences} == {"log_record"}


def test_api_errors_are_json_with_codes(server: RunningServer, workspace: str) -> None:
    base = f"{server.api}/api/v1/workspaces/{workspace}"
    missing = httpx.get(f"{base}/errors/00000000-0000-0000-0000-000000000000", timeout=5)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad_id = httpx.get(f"{base}/errors/not-a-uuid", timeout=5)
    assert bad_id.status_code == 422 and bad_id.json()["error"]["code"] == "invalid_request"
    bad_cursor = httpx.get(f"{base}/errors", params={"cursor": "%%%"}, timeout=5)
    assert bad_cursor.status_code == 400 and "cursor" in bad_cursor.json()["error"]["message"]
    bad_ws = httpx.get(f"{server.api}/api/v1/workspaces/bad%20ws/errors", timeout=5)
    assert bad_ws.status_code == 422
    health = httpx.get(f"{server.api}/healthz", timeout=5).json()
    assert health == {"status": "ok", "database": "ok", "ingest": "ok", "detail": ""}
