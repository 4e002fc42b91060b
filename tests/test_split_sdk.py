"""One agent workload sent by the real OpenTelemetry SDK twice: whole, to one receiver process, and span by span
round-robin across three receiver processes (`otel-errors serve` each, one database). Through the API the two
workspaces show the same errors, counts, users, agents, executions, chains and new-error alerts; nothing is lost
or counted twice,
also for one hot fingerprint raised by many threads at once and so upserted by three processes concurrently.

The workload has no retry or fallback: those need the failed span and its successful sibling on one process
(docs/scaling.md), which a span-by-span split cannot give.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import RunningServer, start_server, stop_server
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler, LogRecordProcessor
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode, Tracer

pytestmark = pytest.mark.e2e

RUNS = 35  # seven of each kind
HOT_THREADS, HOT_RUNS = 6, 10


class RoundRobinSpans(SpanProcessor):
    """Each ended span to the next receiver, exported before the span's parent ends (as a Collector balancing by
    span rather than by trace, or an SDK behind a round-robin load balancer, would send them)."""

    def __init__(self, processors: list[SimpleSpanProcessor]) -> None:
        self._processors, self._next, self._lock = processors, count(), threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            processor = self._processors[next(self._next) % len(self._processors)]
        processor.on_end(span)

    def shutdown(self) -> None:
        for processor in self._processors:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all(p.force_flush(timeout_millis) for p in self._processors)


class RoundRobinLogs(LogRecordProcessor):
    def __init__(self, processors: list[SimpleLogRecordProcessor]) -> None:
        self._processors, self._next, self._lock = processors, count(), threading.Lock()

    def on_emit(self, log_record: Any) -> None:
        with self._lock:
            processor = self._processors[next(self._next) % len(self._processors)]
        processor.on_emit(log_record)

    def emit(self, log_record: Any) -> None:  # older SDKs
        self.on_emit(log_record)

    def shutdown(self) -> None:
        for processor in self._processors:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all(p.force_flush(timeout_millis) for p in self._processors)


class AgentStepError(Exception):
    pass


def _tool(tracer: Tracer, name: str) -> Any:
    return tracer.start_as_current_span(f"execute_tool {name}", attributes={"gen_ai.operation.name": "execute_tool"})


def run_agent(tracer: Tracer, log: logging.Logger, rng: random.Random, run: int) -> None:
    """One execution: an escaping exception, a cascade, a logged one, a status-only failure, or success."""
    user, agent = f"user-{rng.randint(1, 5)}", f"agent-{rng.randint(1, 3)}"
    kind = ["escape", "cascade", "logged", "status", "ok"][run % 5]
    number = rng.randint(100, 999)
    attributes = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.id": agent, "user.id": user}
    try:
        with tracer.start_as_current_span(f"invoke_agent {agent}", attributes=attributes):
            with tracer.start_as_current_span("agent_step plan", attributes={"gen_ai.operation.name": "agent_step"}):
                if kind == "escape":  # one exception escaping tool, step and run: one occurrence
                    with _tool(tracer, "query"):
                        raise ValueError(f"bad query {number}")
                if kind == "cascade":  # a timeout causing the step's error, which escapes the run: a chain
                    try:
                        with _tool(tracer, "search"):
                            raise TimeoutError(f"no answer in {number} ms")
                    except TimeoutError as timeout:
                        raise AgentStepError(f"plan failed after {number} ms") from timeout
                if kind == "logged":  # logged on its span and recorded there, handled by the step
                    with _tool(tracer, "parse") as span:
                        try:
                            int(f"{number},5")
                        except ValueError as exc:
                            log.exception("parse failed")
                            span.record_exception(exc)
                            span.set_status(Status(StatusCode.ERROR))
                if kind == "status":  # an ERROR span without an exception event
                    with _tool(tracer, "fetch") as span:
                        span.set_status(Status(StatusCode.ERROR, f"upstream answered {number}"))
    except (ValueError, AgentStepError):
        pass


def run_hot(tracer: Tracer, thread: int) -> None:
    """The same bug from many threads at once: one fingerprint upserted by every process concurrently."""
    for i in range(HOT_RUNS):
        attributes = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.id": "agent-hot", "user.id": f"u{i}"}
        try:
            with tracer.start_as_current_span("invoke_agent agent-hot", attributes=attributes):
                with _tool(tracer, "notify"):
                    raise ConnectionError(f"refused connection {thread}-{i}")
        except ConnectionError:
            pass


def send(workspace: str, servers: list[RunningServer]) -> None:
    resource = Resource.create({"service.name": "split-agent", "workspace.id": workspace})
    tracer_provider = TracerProvider(resource=resource)
    span_processors = [SimpleSpanProcessor(OTLPSpanExporter(s.otlp_grpc, insecure=True)) for s in servers]
    tracer_provider.add_span_processor(RoundRobinSpans(span_processors))
    logger_provider = LoggerProvider(resource=resource)
    log_processors = [SimpleLogRecordProcessor(OTLPLogExporter(f"{s.otlp_http}/v1/logs")) for s in servers]
    logger_provider.add_log_record_processor(RoundRobinLogs(log_processors))
    log = logging.getLogger(f"split-agent-{workspace}")
    log.propagate = False
    log.addHandler(LoggingHandler(level=logging.ERROR, logger_provider=logger_provider))
    tracer = tracer_provider.get_tracer("split-agent")

    rng = random.Random(11)
    for run in range(RUNS):
        run_agent(tracer, log, rng, run)
    threads = [threading.Thread(target=run_hot, args=(tracer, t)) for t in range(HOT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tracer_provider.shutdown()
    logger_provider.shutdown()


@pytest.fixture(scope="module")
def three(migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RunningServer]]:
    logs: Path = tmp_path_factory.mktemp("split")
    servers = [start_server(migrated, logs / f"server-{i}.log") for i in range(3)]
    yield servers
    for server in servers:
        stop_server(server)


def _api(server: RunningServer, workspace: str, path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.api}/api/v1/workspaces/{workspace}{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _seen(server: RunningServer, workspace: str) -> dict[str, Any]:
    """What a user sees: every error by title with its figures, the overview, and the chains by title."""
    errors = _api(server, workspace, "/errors", limit=200)["items"]
    tracking = _api(server, workspace, "/error-tracking", timeframe="1h")
    overview = tracking["overview"]
    type_of = {e["errorId"]: e["type"] for e in errors}
    alerts = _api(server, workspace, "/alerts", limit=100)["items"]
    return {
        # Decided by the database whichever process committed first: one new-error alert per error.
        "alerts": sorted(
            (a["rule"]["kind"], type_of.get(a["primaryErrorId"] or "", "?"))
            for a in alerts
            if a["rule"]["kind"] in ("new_error", "regression")
        ),
        "errors": sorted(
            (
                e["type"],
                e["occurrences"],
                e["impact"]["usersAffected"],
                e["impact"]["executionsAffected"],
                e["impact"]["cascadingFailures"],
                tuple(sorted(e["affectedAgents"])),
            )
            for e in errors
        ),
        "overview": {k: overview[k] for k in ("totalErrors", "uniqueErrors", "affectedUsers", "affectedAgents")},
        "chains": sorted(
            (c["rootErrorTitle"], tuple(c["cascadingErrorTitles"]), c["totalImpact"])
            for c in tracking["correlations"]["errorChains"]
        ),
    }


def _settled(server: RunningServer, workspace: str, expected_total: int) -> dict[str, Any]:
    """Wait until every occurrence is stored and the chain linker has caught up (two equal reads in a row)."""
    deadline, last = time.monotonic() + 30, None
    while True:
        seen = _seen(server, workspace)
        if (seen == last and seen["overview"]["totalErrors"] >= expected_total) or time.monotonic() > deadline:
            return seen
        last = seen
        time.sleep(0.5)


def test_one_workload_split_span_by_span_across_three_processes_reads_the_same(three: list[RunningServer]) -> None:
    whole, split = (f"sdk-{mode}-{uuid.uuid4().hex[:8]}" for mode in ("whole", "split"))
    send(whole, three[:1])
    send(split, three)

    per_kind = RUNS // 5
    # escape, logged and status once each, the cascade twice (its timeout and the step's error), each hot run once
    expected = per_kind * 5 + HOT_THREADS * HOT_RUNS
    one = _settled(three[0], whole, expected)
    apart = _settled(three[1], split, expected)

    assert one["overview"]["totalErrors"] == expected
    assert len(one["alerts"]) == len(one["errors"])  # the default new-error rule: one alert per error
    assert apart == one
    hot = [e for e in one["errors"] if e[0] == "ConnectionError"]
    assert hot == [("ConnectionError", HOT_THREADS * HOT_RUNS, HOT_RUNS, HOT_THREADS * HOT_RUNS, 0, ("agent-hot",))]
    assert [(n, len(cascade)) for root, cascade, n in one["chains"] if root.startswith("TimeoutError")] == [
        (per_kind, 1)
    ], one["chains"]
