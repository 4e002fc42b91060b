"""Helpers of the alert tests: batches written through the real write path with evaluators attached to the
store's change listeners, evaluated on demand (deterministic), and a local HTTP receiver for webhooks."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from otel_errors import Processor
from otel_errors.exporter import PostgresExporter, StoreConfig
from otel_errors.exporter.alerts import AlertEvaluator, AlertsConfig


def config(url: str, **overrides: Any) -> AlertsConfig:
    return AlertsConfig(database_url=url, **overrides)


async def write_evaluate(url: str, requests: list[Any], evaluators: list[AlertEvaluator]) -> None:
    """Commit `requests` (one batch each) and evaluate what they changed with every evaluator at once."""
    store = PostgresExporter(StoreConfig(database_url=url))
    for evaluator in evaluators:
        store.listeners.append(evaluator.errors_changed)
        store.execution_listeners.append(evaluator.executions_changed)
    await store.start()
    processor = Processor()
    try:
        for request in requests:
            await store.write(processor.process_traces(request, None, time.time_ns()))
    finally:
        await store.shutdown()
    await asyncio.gather(*(evaluator.evaluate() for evaluator in evaluators))


def evaluate(url: str, *requests: Any, **overrides: Any) -> None:
    async def go() -> None:
        evaluator = AlertEvaluator(config(url, **overrides), link_base="http://dash.example")
        try:
            await write_evaluate(url, list(requests), [evaluator])
        finally:
            await evaluator.shutdown()

    asyncio.run(go())


def sweep(url: str, **overrides: Any) -> None:
    async def go() -> None:
        evaluator = AlertEvaluator(config(url, **overrides), link_base="http://dash.example")
        try:
            await evaluator.sweep()
        finally:
            await evaluator.shutdown()

    asyncio.run(go())


def rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query.encode(), params).fetchall()


def rule_id(url: str, ws: str, kind: str) -> uuid.UUID:
    """The workspace's default rule of `kind` (its defaults exist once it was evaluated or its rules listed)."""
    found = rows(url, "SELECT rule_id FROM alert_rules WHERE workspace_id = %s AND kind = %s", ws, kind)
    assert len(found) == 1, found
    rid: uuid.UUID = found[0][0]
    return rid


def only_rule(url: str, ws: str, **spec: Any) -> uuid.UUID:
    """Replace the workspace's rules by one rule (defaults marked as given, so none come back)."""
    rid = uuid.uuid4()
    columns = {
        "name": "test",
        "kind": "new_error",
        "window_minutes": 60,
        "baseline_minutes": 60,
        "threshold": 0,
        "min_count": 0,
        "users": None,
        "renotify_minutes": 60,
        **spec,
    }
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO alert_setup (workspace_id) VALUES (%s) ON CONFLICT DO NOTHING", (ws,))
        conn.execute("DELETE FROM alert_rules WHERE workspace_id = %s", (ws,))
        names = ", ".join(columns)
        marks = ", ".join(["%s"] * len(columns))
        conn.execute(
            f"INSERT INTO alert_rules (workspace_id, rule_id, {names}) VALUES (%s, %s, {marks})".encode(),
            (ws, rid, *columns.values()),
        )
    return rid


def alerts(url: str, ws: str, status: str | None = None) -> list[tuple[Any, ...]]:
    """(kind, subject, status, primary_error_id, incident_id, value, resolved_reason) of the workspace's alerts."""
    return rows(
        url,
        "SELECT kind, subject, status, primary_error_id, incident_id, value, resolved_reason FROM alerts"
        " WHERE workspace_id = %s AND (%s::text IS NULL OR status = %s) ORDER BY first_fired_at, alert_id",
        ws,
        status,
        status,
    )


def events(url: str, ws: str) -> list[tuple[int, str, dict[str, Any]]]:
    return [
        (int(r[0]), str(r[1]), r[2])
        for r in rows(
            url, "SELECT event_id, kind, data FROM stream_events WHERE workspace_id = %s ORDER BY event_id", ws
        )
    ]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records every POST and answers with the next of `answers` (then 200)."""

    answers: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    on_receive: Callable[[Received], None] | None = None

    def __post_init__(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                receiver.received.append(got)
                if receiver.on_receive is not None:
                    receiver.on_receive(got)
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def documents(self) -> list[Any]:
        return [json.loads(r.body) for r in self.received]


def wait_for(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        time.sleep(interval)
