"""Chains and recovery end to end: the real server(s), the real OpenTelemetry SDK exporters, the database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from conftest import RunningServer, start_server, stop_server
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode
from otlp_builders import NOW, new_id, span, traces


class AgentStepError(Exception):
    pass


class RunFailedError(Exception):
    pass


def _tracer(server: RunningServer, workspace: str) -> tuple[Any, TracerProvider]:
    provider = TracerProvider(resource=Resource.create({"service.name": "agent", "workspace.id": workspace}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=server.otlp_grpc, insecure=True)))
    return provider.get_tracer("chains"), provider


def _flush(provider: TracerProvider) -> None:
    assert provider.force_flush(10_000)
    provider.shutdown()


def _wait(url: str, query: str, params: tuple[Any, ...], expected: Callable[[list[tuple[Any, ...]]], bool]) -> Any:
    deadline = time.monotonic() + 20
    rows: list[tuple[Any, ...]] = []
    while time.monotonic() < deadline:
        with psycopg.connect(url) as conn:
            rows = conn.execute(query, params).fetchall()
        if expected(rows):
            return rows
        time.sleep(0.2)
    return rows


def _short(error_type: str) -> str:
    return error_type.rsplit(".", 1)[-1]


def _chains(url: str, workspace: str, expected: list[tuple[str, list[str], int]]) -> list[tuple[str, list[str], int]]:
    """The workspace's chains (types, executions), once they are `expected` or after 20 s: linking is eventual."""
    deadline = time.monotonic() + 20
    found: list[tuple[str, list[str], int]] = []
    while time.monotonic() < deadline:
        with psycopg.connect(url) as conn:
            types = dict(conn.execute("SELECT error_id, type FROM errors WHERE workspace_id = %s", (workspace,)))
            rows = conn.execute(
                "SELECT root_error_id, cascade_error_ids, executions FROM error_chains"
                " WHERE workspace_id = %s AND executions > 0",
                (workspace,),
            ).fetchall()
        found = sorted((_short(types[r]), [_short(types[e]) for e in c], n) for r, c, n in rows)
        if found == expected:
            break
        time.sleep(0.2)
    return found


def _tool(tracer: Any) -> None:
    with tracer.start_as_current_span("execute_tool search"):
        raise TimeoutError("search timed out after 30s")


def _step(tracer: Any) -> None:
    with tracer.start_as_current_span("agent_step plan"):
        try:
            _tool(tracer)
        except TimeoutError as exc:
            raise AgentStepError("planning step could not search") from exc


def _run(tracer: Any) -> None:
    with tracer.start_as_current_span("invoke_agent planner", attributes={"gen_ai.agent.id": "planner"}):
        try:
            _step(tracer)
        except AgentStepError as exc:
            raise RunFailedError("run failed") from exc


def test_a_tool_timeout_causing_a_step_error_causing_a_failed_run_is_one_chain(
    server: RunningServer, migrated: str, workspace: str
) -> None:
    tracer, provider = _tracer(server, workspace)
    for _ in range(3):
        with pytest.raises(RunFailedError):
            _run(tracer)
    _flush(provider)
    expected = [("TimeoutError", ["AgentStepError", "RunFailedError"], 3)]
    assert _chains(migrated, workspace, expected) == expected
    with psycopg.connect(migrated) as conn:
        rows = conn.execute("SELECT type, cascading_failures FROM errors WHERE workspace_id = %s", (workspace,))
        counts = {_short(error_type): n for error_type, n in rows}
    assert counts == {"TimeoutError": 3, "AgentStepError": 3, "RunFailedError": 0}


def test_the_same_exception_escaping_three_spans_is_one_error_and_no_chain(
    server: RunningServer, migrated: str, workspace: str
) -> None:
    tracer, provider = _tracer(server, workspace)
    with pytest.raises(ValueError), tracer.start_as_current_span("invoke_agent a"):
        with tracer.start_as_current_span("step"):
            with tracer.start_as_current_span("tool"):
                raise ValueError("bad input")
    _flush(provider)
    rows = _wait(
        migrated,
        "SELECT type, occurrences FROM errors WHERE workspace_id = %s",
        (workspace,),
        lambda rows: len(rows) > 0,
    )
    assert rows == [("ValueError", 1)]
    time.sleep(1.5)  # the linker ran (it runs every 0.5 s): still no chain
    assert _chains(migrated, workspace, []) == []


def _post(server: RunningServer, *spans: Any, workspace: str) -> None:
    response = httpx.post(
        f"{server.otlp_http}/v1/traces",
        content=traces(*spans, resource={"workspace.id": workspace}).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def _cascade(workspace: str) -> list[Any]:
    """run <- step <- tool, each failing with its own error, as hand-built spans (parent first in the list)."""
    tid = new_id(16)
    run = span(
        "invoke_agent a",
        trace_id=tid,
        error=True,
        start=NOW - 9 * 10**9,
        end=NOW - 10**9,
        exceptions=[{"exception.type": "RunFailedError", "exception.message": "run failed"}],
    )
    step = span(
        "step",
        trace_id=tid,
        parent=run.span_id,
        error=True,
        start=NOW - 8 * 10**9,
        end=NOW - 2 * 10**9,
        exceptions=[{"exception.type": "AgentStepError", "exception.message": "step failed"}],
    )
    tool = span(
        "tool",
        trace_id=tid,
        parent=step.span_id,
        error=True,
        start=NOW - 7 * 10**9,
        end=NOW - 3 * 10**9,
        exceptions=[{"exception.type": "TimeoutError", "exception.message": "timed out"}],
    )
    return [run, step, tool]


def test_child_spans_exported_after_their_parent_in_separate_requests_still_chain(
    server: RunningServer, migrated: str, workspace: str
) -> None:
    for piece in _cascade(workspace):  # the run first, the tool last: each in a request of its own
        _post(server, piece, workspace=workspace)
    expected = [("TimeoutError", ["AgentStepError", "RunFailedError"], 1)]
    assert _chains(migrated, workspace, expected) == expected


@pytest.fixture
def second_server(migrated: str, tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(migrated, tmp_path / "second.log")
    yield running
    stop_server(running)


def test_a_trace_split_across_two_receiver_processes_still_chains(
    server: RunningServer, second_server: RunningServer, migrated: str, workspace: str
) -> None:
    run, step, tool = _cascade(workspace)
    _post(second_server, tool, workspace=workspace)
    _post(server, step, workspace=workspace)
    _post(second_server, run, workspace=workspace)
    expected = [("TimeoutError", ["AgentStepError", "RunFailedError"], 1)]
    assert _chains(migrated, workspace, expected) == expected


def test_a_failure_recovered_after_it_was_linked_is_unlinked(
    server: RunningServer, migrated: str, workspace: str
) -> None:
    """A rate-limited call under a run that failed: linked as the run's cause until the retry that fixed it arrives
    in a later export; then the trace is linked again and the chain is gone."""
    tid = new_id(16)
    run = span(
        "invoke_agent a",
        trace_id=tid,
        error=True,
        start=NOW - 9 * 10**9,
        end=NOW - 10**9,
        exceptions=[{"exception.type": "RunFailedError", "exception.message": "run failed"}],
    )
    chat = {"trace_id": tid, "parent": run.span_id}
    first = span(
        "chat m",
        **chat,
        error=True,
        start=NOW - 8 * 10**9,
        end=NOW - 7 * 10**9,
        exceptions=[{"exception.type": "RateLimitError", "exception.message": "429"}],
    )
    retry = span("chat m", **chat, start=NOW - 6 * 10**9, end=NOW - 5 * 10**9)
    _post(server, run, first, workspace=workspace)
    linked = [("RateLimitError", ["RunFailedError"], 1)]
    assert _chains(migrated, workspace, linked) == linked
    _post(server, retry, workspace=workspace)
    assert _chains(migrated, workspace, []) == []
    assert _wait(migrated, _RECOVERIES, (workspace,), lambda rows: bool(rows)) == [("retry", True, 1)]
    causes = "SELECT type, cascading_failures FROM errors WHERE workspace_id = %s ORDER BY 1"
    assert _wait(migrated, causes, (workspace,), lambda rows: all(n == 0 for _t, n in rows)) == [
        ("RateLimitError", 0),
        ("RunFailedError", 0),
    ]


# -- recovery ---------------------------------------------------------------------------------------------------

_RECOVERIES = "SELECT method, recovered, attempts FROM recoveries WHERE workspace_id = %s ORDER BY failed_at"


def _attempt(tracer: Any, name: str, fail: bool) -> bool:
    with tracer.start_as_current_span(name) as current:
        if fail:
            current.set_status(Status(StatusCode.ERROR, "upstream 503"))
            current.record_exception(ConnectionError("upstream 503"))
            return False
        return True


def _agent(tracer: Any, attempts: list[tuple[str, bool]], *, raise_at_end: bool = False) -> None:
    with tracer.start_as_current_span("invoke_agent support") as run:
        with tracer.start_as_current_span("agent_step answer") as step:
            ok = False
            for name, fail in attempts:
                if _attempt(tracer, name, fail):
                    ok = True
                    break
                time.sleep(0.01)
            if not ok and raise_at_end:
                step.set_status(Status(StatusCode.ERROR, "no model answered"))
                run.set_status(Status(StatusCode.ERROR, "no model answered"))


@pytest.mark.parametrize(
    "attempts,raise_at_end,expected",
    [
        pytest.param([("chat gpt-4o", True), ("chat gpt-4o", False)], False, [("retry", True, 1)], id="retry"),
        pytest.param([("chat gpt-4o", True), ("chat claude", False)], False, [("fallback", True, 1)], id="fallback"),
        pytest.param(
            [("chat gpt-4o", True), ("chat gpt-4o", True), ("chat gpt-4o", True)],
            True,
            [("retry", False, 3)],
            id="retries_that_all_fail",
        ),
        pytest.param([("chat gpt-4o", True)], False, [("handled", True, 1)], id="handled"),
    ],
)
def test_recovery_is_detected_from_the_sdk_spans(
    server: RunningServer,
    migrated: str,
    workspace: str,
    attempts: list[tuple[str, bool]],
    raise_at_end: bool,
    expected: list[tuple[str, bool, int]],
) -> None:
    tracer, provider = _tracer(server, workspace)
    _agent(tracer, attempts, raise_at_end=raise_at_end)
    _flush(provider)
    assert _wait(migrated, _RECOVERIES, (workspace,), lambda rows: len(rows) >= len(expected)) == expected


# -- the API ----------------------------------------------------------------------------------------------------


def _api(server: RunningServer, workspace: str, path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.api}/api/v1/workspaces/{workspace}{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_api_shows_chains_their_root_causes_and_cascading_failures(
    server: RunningServer, migrated: str, workspace: str
) -> None:
    tracer, provider = _tracer(server, workspace)
    for _ in range(2):
        with pytest.raises(RunFailedError):
            _run(tracer)
    _flush(provider)
    expected = [("TimeoutError", ["AgentStepError", "RunFailedError"], 2)]
    assert _chains(migrated, workspace, expected) == expected
    errors = {_short(e["type"]): e for e in _api(server, workspace, "/errors")["items"]}
    timeout, step, run = errors["TimeoutError"], errors["AgentStepError"], errors["RunFailedError"]
    roots = _api(server, workspace, "/errors", rootCause="true")["items"]
    assert [_short(e["type"]) for e in roots] == ["TimeoutError"]  # the other two were caused by it
    assert (timeout["impact"]["cascadingFailures"], step["impact"]["cascadingFailures"]) == (2, 2)
    assert run["impact"]["cascadingFailures"] == 0
    details = _api(server, workspace, f"/errors/{step['errorId']}")
    (chain,) = details["chains"]
    assert chain["role"] == "cascade" and chain["root"]["errorId"] == timeout["errorId"]
    assert [m["errorId"] for m in chain["cascadingErrors"]] == [step["errorId"], run["errorId"]]
    assert chain["executions"] == 2
    (listed,) = _api(server, workspace, "/error-tracking", timeframe="1h")["correlations"]["errorChains"]
    assert listed["rootError"] == timeout["errorId"]
    assert listed["cascadingErrors"] == [step["errorId"], run["errorId"]]
    assert listed["totalImpact"] == 2 and listed["preventable"] is True  # the root is a timeout


def test_the_api_shows_recovery_figures_and_nulls_without_data(
    server: RunningServer, migrated: str, workspace: str
) -> None:
    empty = _api(server, workspace, "/error-tracking", timeframe="1h")
    assert empty["overview"]["avgRecoveryTime"] is None and empty["overview"]["autoRecoveryRate"] is None
    assert empty["recovery"]["recoveryTimes"]["automatic"] == {"avg": None, "median": None, "p95": None}
    tracer, provider = _tracer(server, workspace)
    _agent(tracer, [("chat gpt-4o", True), ("chat gpt-4o", False)])  # a retry that succeeds
    _agent(tracer, [("chat gpt-4o", True), ("chat claude", False)])  # a fallback that succeeds
    _agent(tracer, [("chat gpt-4o", True)])  # handled: the run still ends OK
    _agent(tracer, [("chat gpt-4o", True)] * 3, raise_at_end=True)  # retries that all fail
    _flush(provider)
    _wait(migrated, _RECOVERIES, (workspace,), lambda rows: len(rows) >= 4)
    tracking = _api(server, workspace, "/error-tracking", timeframe="1h")
    methods = {m["method"]: m for m in tracking["recovery"]["recoveryMethods"]}
    assert {name: (m["usageCount"], m["successRate"]) for name, m in methods.items()} == {
        "retry": (2, 50.0),
        "fallback": (1, 100.0),
        "handled": (1, 100.0),
    }
    assert methods["retry"]["avgTime"] is not None and methods["retry"]["avgTime"] >= 0
    (failed,) = tracking["recovery"]["failedRecoveries"]
    assert failed["attemptedMethods"] == ["retry"] and failed["attempts"] == 3 and failed["errorId"]
    assert failed["failureReason"] == "ConnectionError: upstream <int>"  # the final error's title
    automatic = tracking["recovery"]["recoveryTimes"]["automatic"]
    assert automatic["avg"] is not None and automatic["median"] is not None and automatic["p95"] is not None
    assert tracking["overview"]["autoRecoveryRate"] == 75.0  # 3 of 4 episodes recovered
    assert tracking["overview"]["avgRecoveryTime"] == automatic["avg"]
    assert tracking["recovery"]["recoveryTimes"]["manual"] == {"avg": None, "median": None, "p95": None}
    error_id = failed["errorId"]
    resolved = httpx.post(
        f"{server.api}/api/v1/workspaces/{workspace}/errors/{error_id}/resolve",
        json={"resolvedBy": "oncall", "resolution": "raised the upstream quota"},
        timeout=10,
    )
    assert resolved.status_code == 200, resolved.text
    after = _api(server, workspace, "/error-tracking", timeframe="1h")
    assert after["overview"]["manualInterventions"] == 1
    assert after["recovery"]["recoveryTimes"]["manual"]["avg"] is not None
