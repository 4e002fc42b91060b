"""Helpers of the dashboard tests: a real headless Chromium (Debian's package, driven by Playwright) and data sent
to the real server over OTLP/HTTP.

Without /usr/bin/chromium the browser tests skip locally and fail under CI=true (.ci/run installs it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from conftest import RunningServer
from otlp_builders import new_id, span, traces

CHROMIUM = Path(os.environ.get("OTEL_ERRORS_TEST_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium tries to reach Google's services at start, which a closed
# network refuses; the tests need none of it.
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Records the page's Content-Security-Policy violations (an inline script or style would be one).
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""
MINUTE = 60 * 1_000_000_000
HOUR = 60 * MINUTE

T = TypeVar("T")


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        yield launched
        launched.close()


@contextmanager
def page_of(browser: Any, *, width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A page in a fresh context (its own sessionStorage), English number formats, CSP violations recorded."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US", timezone_id="UTC")
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
        assert errors == [], errors  # no uncaught script error on any page a test visited
        assert page.evaluate("window.__cspViolations") == []
    finally:
        context.close()


def open_dashboard(page: Any, server: RunningServer, workspace: str, query: str = "refresh=600") -> None:
    """Loads the dashboard and waits until its cards and list are shown (refreshes far apart unless asked)."""
    page.goto(f"{server.api}/workspaces/{workspace}?{query}")
    page.wait_for_selector("body[data-usable='true']", timeout=20_000)


def execution(
    workspace: str,
    at_ns: int,
    *,
    type: str,
    message: str,
    errors: int = 1,
    user: str = "u-1",
    agent: str = "agent-1",
    span_name: str = "execute_tool step",
    severity: str = "",
    stacktrace: str = "",
    attributes: dict[str, Any] | None = None,
) -> bytes:
    """One failed `invoke_agent` execution at `at_ns` with `errors` occurrences of one exception in a child span,
    as the protobuf body of an OTLP/HTTP trace export."""
    trace_id = new_id(16)
    root = span(
        "invoke_agent test",
        trace_id=trace_id,
        error=True,
        attrs={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.id": agent, "user.id": user, "credits.used": 2.0},
        start=at_ns - 2_000_000_000,
        end=at_ns,
    )
    child_attrs: dict[str, Any] = {"user.id": user, **(attributes or {})}
    if severity:
        child_attrs["error.severity"] = severity
    exceptions = []
    for i in range(errors):
        exc: dict[str, Any] = {"exception.type": type, "exception.message": message, "_time": at_ns - 1000 + i}
        if stacktrace:
            exc["exception.stacktrace"] = stacktrace
        exceptions.append(exc)
    child = span(
        span_name,
        trace_id=trace_id,
        parent=root.span_id,
        error=True,
        attrs=child_attrs,
        start=at_ns - 1_000_000_000,
        end=at_ns - 1,
        exceptions=exceptions,
    )
    resource = {"service.name": "dash-svc", "workspace.id": workspace, "deployment.environment.name": "test"}
    return bytes(traces(root, child, resource=resource).SerializeToString())


def send(server: RunningServer, *bodies: bytes, headers: dict[str, str] | None = None) -> None:
    for body in bodies:
        response = httpx.post(
            f"{server.otlp_http}/v1/traces",
            content=body,
            headers={"content-type": "application/x-protobuf", **(headers or {})},
            timeout=15,
        )
        assert response.status_code == 200, response.text


def api_get(server: RunningServer, workspace: str, path: str, key: str | None = None, **params: Any) -> Any:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    response = httpx.get(
        f"{server.api}/api/v1/workspaces/{workspace}{path}", params=params, headers=headers, timeout=15
    )
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(check: Callable[[], T | None], *, timeout: float = 20, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def wait_for_occurrences(server: RunningServer, workspace: str, total: int, key: str | None = None) -> list[Any]:
    def stored() -> list[Any] | None:
        items: list[Any] = api_get(server, workspace, "/errors", key, limit=200)["items"]
        return items if sum(i["occurrences"] for i in items) >= total else None

    return wait_for(stored, what=f"{total} occurrences in {workspace}")
