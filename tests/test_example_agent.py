"""The Python example agent against the real server: what it says it raised is what the API shows, grouped."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from conftest import ROOT, RunningServer

EXAMPLE = ROOT / "examples" / "python_agent.py"
# Seed 7 over 40 executions raises every kind of failure the example knows, most of them several times, and
# ends episodes in every way (retry, fallback, handled, failed).
ARGS = ["--executions", "40", "--seed", "7", "--json-summary"]
# Where each exception is recorded: escaped ones on the innermost span they left, logged ones as a log record.
EXPECTED_ORIGIN = {
    "KeyError": ("span_event", "execute_tool lookup_order", False),
    "TimeoutError": ("span_event", "execute_tool web_search", False),
    "RateLimitError": ("span_event", "chat gpt-4o-mini", False),
    "ValueError": ("log_record", "", True),
    "AgentStepError": ("span_event", "agent_step research", False),
    "RunFailedError": ("span_event", "invoke_agent ", False),  # the agent's own span: a prefix
    "ConnectionError": ("span_event", "execute_tool notify_user", False),
}
SEVERITY = {"ValueError": "medium", "KeyError": "high", "RateLimitError": "high"}  # escaped, or logged

pytestmark = pytest.mark.e2e


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("python_agent_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def short_type(exc_type: str) -> str:
    """The SDK reports classes defined in a script as `__main__.RateLimitError`."""
    return exc_type.rsplit(".", 1)[-1]


def get(server: RunningServer, path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.api}{path}", params=params, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_errors(server: RunningServer, workspace: str, occurrences: int, timeout: float = 15) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        items: list[Any] = get(server, f"/api/v1/workspaces/{workspace}/errors", limit=200)["items"]
        if sum(i["occurrences"] for i in items) >= occurrences or time.monotonic() > deadline:
            return items
        time.sleep(0.2)


def run_example(server: RunningServer, workspace: str) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), "--endpoint", server.otlp_grpc, "--workspace", workspace, *ARGS],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    summary: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return summary


def test_example_agent_errors_are_grouped_counted_and_attributed(server: RunningServer, workspace: str) -> None:
    example = load_example()
    summary = run_example(server, workspace)
    raised = Counter(summary["by_type"])
    assert set(raised) == set(EXPECTED_ORIGIN), summary  # the seed exercises every failure path
    assert summary["exceptions"] == sum(raised.values()) and 0 < summary["failed"] < summary["executions"]

    errors = wait_for_errors(server, workspace, summary["exceptions"])
    stored = Counter[str]()
    for error in errors:
        stored[short_type(error["type"])] += error["occurrences"]
    # Exact: a propagated record (the same exception on the tool span and the invoke_agent span) is not counted
    # twice, and no record is lost.
    assert stored == raised, (stored, raised)
    # Grouped: one error per bug although every occurrence's message carries a different id or number.
    assert sorted(short_type(e["type"]) for e in errors) == sorted(EXPECTED_ORIGIN)
    assert len(errors) < summary["exceptions"]

    for error in errors:
        exc_type = short_type(error["type"])
        path = f"/api/v1/workspaces/{workspace}/errors/{error['errorId']}/occurrences"
        occurrences = get(server, path, limit=200)["items"]
        assert len(occurrences) == raised[exc_type], exc_type
        if len(occurrences) > 1:
            assert len({o["message"] for o in occurrences}) > 1, (exc_type, occurrences)
        origin, span_name, handled = EXPECTED_ORIGIN[exc_type]
        assert {(o["origin"], o["handled"]) for o in occurrences} == {(origin, handled)}, exc_type
        if span_name:
            assert {o["spanName"][: len(span_name)] for o in occurrences} == {span_name}, exc_type
        # Attributed to the execution's user and agent, even when recorded on a child span or in a log.
        assert {o["userId"] for o in occurrences} <= set(example.USERS), exc_type
        assert {o["agentId"] for o in occurrences} <= set(example.AGENTS), exc_type
        assert error["affectedUsers"] and set(error["affectedUsers"]) <= set(example.USERS), error
        assert error["affectedAgents"] and set(error["affectedAgents"]) <= set(example.AGENTS), error
        assert error["impact"]["usersAffected"] == len(error["affectedUsers"]), error
        assert error["context"]["environment"] == "development" and error["context"]["version"] == "1.4.2", error
        if exc_type in SEVERITY:
            assert error["severity"] == SEVERITY[exc_type], error


def wait_for(fetch: Any, ready: Any, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if ready(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_example_agent_shows_a_chain_and_recovery(server: RunningServer, workspace: str) -> None:
    """The cascade (timeout -> step -> run), the retries, the fallbacks and the handled failures, through the API."""
    summary = run_example(server, workspace)
    raised, episodes = Counter(summary["by_type"]), Counter(summary["recoveries"])
    assert all(episodes[kind] > 0 for kind in ("retry", "fallback", "handled", "failed")), summary
    cascades = raised["RunFailedError"]
    assert cascades > 0 and raised["AgentStepError"] == cascades, summary
    base = f"/api/v1/workspaces/{workspace}"
    errors = {short_type(e["type"]): e for e in wait_for_errors(server, workspace, summary["exceptions"])}
    timeout, step, run = (errors[t]["errorId"] for t in ("TimeoutError", "AgentStepError", "RunFailedError"))

    tracking = wait_for(
        lambda: get(server, f"{base}/error-tracking", timeframe="1h"),
        lambda t: sum(c["totalImpact"] for c in t["correlations"]["errorChains"]) >= cascades,
    )
    chains = tracking["correlations"]["errorChains"]
    assert [(c["rootError"], c["cascadingErrors"], c["totalImpact"]) for c in chains] == [
        (timeout, [step, run], cascades)
    ], chains
    assert chains[0]["preventable"] is True  # the root is a timeout: a retry or a fallback would have stopped it
    assert chains[0]["cascadingErrorTitles"] == [errors["AgentStepError"]["title"], errors["RunFailedError"]["title"]]

    details = get(server, f"{base}/errors/{timeout}")
    assert [
        (c["role"], c["root"]["errorId"], [m["errorId"] for m in c["cascadingErrors"]], c["executions"])
        for c in details["chains"]
    ] == [("root", timeout, [step, run], cascades)]
    assert [c["role"] for c in get(server, f"{base}/errors/{run}")["chains"]] == ["cascade"]
    listed = {e["errorId"]: e for e in get(server, f"{base}/errors", limit=200)["items"]}
    assert listed[timeout]["impact"]["cascadingFailures"] == cascades
    assert listed[step]["impact"]["cascadingFailures"] == cascades  # the step failure caused the run failure
    assert listed[run]["impact"]["cascadingFailures"] == 0
    roots = {e["errorId"] for e in get(server, f"{base}/errors", rootCause="true", limit=200)["items"]}
    assert timeout in roots and step not in roots and run not in roots
    assert roots == set(listed) - {step, run}

    recovery = tracking["recovery"]
    methods = {m["method"]: m for m in recovery["recoveryMethods"]}
    assert set(methods) == {"retry", "fallback", "handled"}, methods
    retried = episodes["retry"] + episodes["failed"]  # every failed episode tried retry only
    assert methods["retry"]["usageCount"] == retried
    assert methods["retry"]["successRate"] == round(100 * episodes["retry"] / retried, 2)
    assert (methods["fallback"]["usageCount"], methods["fallback"]["successRate"]) == (episodes["fallback"], 100)
    assert (methods["handled"]["usageCount"], methods["handled"]["successRate"]) == (episodes["handled"], 100)
    assert all(m["avgTime"] is not None and m["avgTime"] >= 0 for m in methods.values())
    failed = recovery["failedRecoveries"]
    assert len(failed) == min(10, episodes["failed"])
    assert {(f["errorId"], tuple(f["attemptedMethods"]), f["attempts"]) for f in failed} == {
        (errors["RateLimitError"]["errorId"], ("retry",), 3)
    }
    automatic = recovery["recoveryTimes"]["automatic"]
    assert automatic["avg"] is not None and automatic["median"] is not None and automatic["p95"] >= automatic["median"]
    assert recovery["recoveryTimes"]["manual"] == {"avg": None, "median": None, "p95": None}  # nothing resolved
    recovered = episodes["retry"] + episodes["fallback"] + episodes["handled"]
    overview = tracking["overview"]
    assert overview["autoRecoveryRate"] == round(100 * recovered / (recovered + episodes["failed"]), 2)
    assert overview["avgRecoveryTime"] == automatic["avg"]
