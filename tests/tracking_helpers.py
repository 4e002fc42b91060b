"""Helpers of the analytics API tests: hand-made occurrences and executions at chosen times, written through the
real write path (Processor + PostgresExporter), and the app called in-process with its lifespan running."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from otlp_builders import new_id, span, traces

from otel_errors import Processor
from otel_errors.api import ApiConfig, create_app
from otel_errors.exporter import PostgresExporter, StoreConfig

MINUTE = 60 * 1_000_000_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def now_ns() -> int:
    return time.time_ns()


def run(
    ws: str,
    at_ns: int,
    *,
    type: str = "ValueError",
    message: str = "boom",
    severity: str = "medium",
    user: str = "",
    agent: str = "agent-1",
    agent_name: str = "",
    environment: str = "prod",
    version: str = "1.0.0",
    failed: bool = True,
    credits: float = 0.0,
    errors: int = 1,
    category: str = "",
    source: str = "",
) -> Any:
    """One execution (an `invoke_agent` span) at `at_ns`; when `errors` > 0, that many occurrences of one
    exception in child spans (the execution then fails when `failed`)."""
    tid = new_id(16)
    attrs: dict[str, Any] = {"gen_ai.agent.id": agent, "credits.used": credits}
    if agent_name:
        attrs["gen_ai.agent.name"] = agent_name
    if user:
        attrs["user.id"] = user
    root = span("invoke_agent a", trace_id=tid, error=failed, attrs=attrs, start=at_ns - 2_000_000_000, end=at_ns)
    children = []
    for i in range(errors):
        child_attrs: dict[str, Any] = {"error.severity": severity}
        if user:
            child_attrs["user.id"] = user
        if category:
            child_attrs["error.category"] = category
        if source:
            child_attrs["error.source"] = source
        children.append(
            span(
                f"tool {i}",
                trace_id=tid,
                parent=root.span_id,
                error=True,
                attrs=child_attrs,
                start=at_ns - 1_000_000_000,
                end=at_ns - 1000 + i,
                exceptions=[{"exception.type": type, "exception.message": message, "_time": at_ns - 1000 + i}],
            )
        )
    resource = {
        "service.name": "svc",
        "workspace.id": ws,
        "deployment.environment.name": environment,
        "service.version": version,
    }
    return traces(root, *children, resource=resource)


def write(url: str, *requests: Any) -> None:
    async def go() -> None:
        store = PostgresExporter(StoreConfig(database_url=url))
        await store.start()
        processor = Processor()
        try:
            for request in requests:
                await store.write(processor.process_traces(request, None, time.time_ns()))
        finally:
            await store.shutdown()

    asyncio.run(go())


def call(url: str, fn: Callable[[httpx.AsyncClient], Awaitable[Any]], **config: Any) -> Any:
    """Run `fn(client)` against the app in-process (lifespan started, so the pool is open)."""
    app = create_app(ApiConfig(database_url=url, **config))

    async def go() -> Any:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await fn(client)

    return asyncio.run(go())


def get(url: str, path: str, config: dict[str, Any] | None = None, **params: Any) -> httpx.Response:
    async def fn(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(path, params=params)

    response: httpx.Response = call(url, fn, **(config or {}))
    return response


def post(
    url: str, path: str, body: dict[str, Any], headers: dict[str, str] | None = None, **config: Any
) -> httpx.Response:
    async def fn(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(path, json=body, headers=headers or {})

    response: httpx.Response = call(url, fn, **config)
    return response


def tracking(url: str, ws: str, timeframe: str = "24h", severity: str = "all", **config: Any) -> dict[str, Any]:
    response = get(url, f"/api/v1/workspaces/{ws}/error-tracking", config, timeframe=timeframe, severity=severity)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
