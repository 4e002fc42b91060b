"""GET .../stream against a real server (uvicorn in a thread): live events, heartbeats, resume with Last-Event-ID,
roles, tenant isolation, a slow client dropped with bounded memory, a disconnect releasing its subscription."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from alert_helpers import evaluate, only_rule, rows, wait_for
from conftest import free_port
from tracking_helpers import MINUTE, now_ns, run

from otel_errors.api import ApiConfig, create_app
from otel_errors.exporter.accounts import create_api_key
from otel_errors.exporter.alerts import records


class AppServer:
    def __init__(self, url: str, **api: Any) -> None:
        self.port = free_port()
        self.app = create_app(ApiConfig(database_url=url, port=self.port, **api))
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, lifespan="on", log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=20)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hub(self) -> Any:
        return self.app.state.hub

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def app_server(migrated: str) -> Iterator[AppServer]:
    server = AppServer(migrated, stream_heartbeat_seconds=0.3, stream_queue_events=4)
    yield server
    server.close()


class Reader:
    """Reads a stream in a thread: `events` as (id, kind, data), `comments` as text."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.events: list[tuple[int, str, dict[str, Any]]] = []
        self.comments: list[str] = []
        self.status = 0
        self.closed = threading.Event()
        self._stop = False
        self.thread = threading.Thread(target=self._run, args=(url, headers or {}), daemon=True)
        self.thread.start()
        wait_for(lambda: self.status or self.closed.is_set())

    def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(10, read=30)) as response:
                self.status = response.status_code
                event: dict[str, str] = {}
                for line in response.iter_lines():
                    if self._stop:
                        return
                    if line.startswith(":"):
                        self.comments.append(line[1:].strip())
                    elif line == "":
                        if "id" in event:
                            self.events.append((int(event["id"]), event["event"], json.loads(event["data"])))
                        event = {}
                    else:
                        name, _, value = line.partition(": ")
                        event[name] = value
        except httpx.HTTPError:
            pass
        finally:
            self.closed.set()

    def stop(self) -> None:
        self._stop = True


def _append(url: str, ws: str, n: int, size: int = 10) -> None:
    async def go() -> None:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            async with conn.transaction():
                await records.append_events(conn, ws, [("test", {"i": i, "pad": "x" * size}) for i in range(n)])

    asyncio.run(go())


def test_live_events_heartbeats_and_no_other_workspace(app_server: AppServer, migrated: str, workspace: str) -> None:
    other = f"{workspace}-other"
    reader = Reader(f"{app_server.base}/api/v1/workspaces/{workspace}/stream")
    assert reader.status == 200
    wait_for(lambda: app_server.hub.subscribers == 1)
    only_rule(migrated, workspace, kind="new_error")
    started = time.monotonic()
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="LiveError"), run(other, now_ns(), type="Other"))
    wait_for(lambda: len(reader.events) >= 3)
    assert time.monotonic() - started < 5
    kinds = [kind for _id, kind, _data in reader.events]
    assert kinds == ["error.new", "alert.fired", "incident.opened"]
    assert reader.events[0][2]["title"] == "LiveError: boom"
    assert all("Other" not in json.dumps(data) for _i, _k, data in reader.events)
    wait_for(lambda: "heartbeat" in reader.comments)
    reader.stop()


def test_resume_with_last_event_id_sends_what_was_missed(app_server: AppServer, migrated: str, workspace: str) -> None:
    _append(migrated, workspace, 3)
    url = f"{app_server.base}/api/v1/workspaces/{workspace}/stream"
    first = Reader(url, {"Last-Event-ID": "0"})
    wait_for(lambda: len(first.events) == 3)
    assert [e[0] for e in first.events] == [1, 2, 3]
    first.stop()
    _append(migrated, workspace, 2)  # appended meanwhile, and live after the reconnect
    second = Reader(url, {"Last-Event-ID": "3"})
    wait_for(lambda: len(second.events) == 2)
    _append(migrated, workspace, 1)
    wait_for(lambda: len(second.events) == 3)
    assert [e[0] for e in second.events] == [4, 5, 6]
    assert [e[2]["i"] for e in second.events] == [0, 1, 0]
    second.stop()
    bad = httpx.get(url, headers={"Last-Event-ID": "x1"})
    assert bad.status_code == 400


def test_a_slow_client_is_dropped_with_its_queue_bounded(app_server: AppServer, migrated: str, workspace: str) -> None:
    sock = socket.create_connection(("127.0.0.1", app_server.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(f"GET /api/v1/workspaces/{workspace}/stream HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    wait_for(lambda: app_server.hub.subscribers == 1)
    # Never read: the socket buffers fill, the handler blocks, the queue (4 events) fills, the hub drops it.
    for _ in range(20):
        _append(migrated, workspace, 50, size=8000)
        if app_server.hub.dropped:
            break
    # Dropped from the fan-out; it counts against the limits until its response has ended.
    wait_for(lambda: app_server.hub.dropped >= 1)
    sock.close()
    wait_for(lambda: app_server.hub.subscribers == 0, timeout=10)
    # It resumes where it was (here: five events before the end).
    last = rows(migrated, "SELECT last_event_id FROM stream_heads WHERE workspace_id = %s", workspace)[0][0]
    reader = Reader(f"{app_server.base}/api/v1/workspaces/{workspace}/stream", {"Last-Event-ID": str(last - 5)})
    wait_for(lambda: len(reader.events) >= 5)
    assert [e[0] for e in reader.events] == list(range(last - 4, last + 1))
    reader.stop()


def test_a_disconnect_releases_the_subscription(app_server: AppServer, workspace: str) -> None:
    with httpx.stream("GET", f"{app_server.base}/api/v1/workspaces/{workspace}/stream") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        wait_for(lambda: app_server.hub.subscribers == 1)
    wait_for(lambda: app_server.hub.subscribers == 0, timeout=5)


def test_the_stream_needs_a_key_of_the_workspace_and_viewers_may_read(migrated: str, workspace: str) -> None:
    async def key() -> str:
        async with await psycopg.AsyncConnection.connect(migrated) as conn:
            return (await create_api_key(conn, workspace, role="viewer", name="v", actor="test")).secret

    secret = asyncio.run(key())
    server = AppServer(migrated, auth=True)
    try:
        url = f"{server.base}/api/v1/workspaces/{workspace}/stream"
        assert httpx.get(url).status_code == 401
        assert (
            httpx.get(
                f"{server.base}/api/v1/workspaces/{workspace}-x/stream", headers={"Authorization": f"Bearer {secret}"}
            ).status_code
            == 401
        )
        reader = Reader(url, {"Authorization": f"Bearer {secret}"})
        assert reader.status == 200
        reader.stop()
    finally:
        server.close()


def test_a_revoked_key_loses_its_open_stream(migrated: str, workspace: str) -> None:
    async def keys() -> tuple[Any, Any]:
        async with await psycopg.AsyncConnection.connect(migrated) as conn:
            viewer = await create_api_key(conn, workspace, role="viewer", name="v", actor="test")
            admin = await create_api_key(conn, workspace, role="admin", name="a", actor="test")
            return viewer, admin

    viewer, admin = asyncio.run(keys())
    server = AppServer(migrated, auth=True, stream_heartbeat_seconds=0.3)
    try:
        reader = Reader(
            f"{server.base}/api/v1/workspaces/{workspace}/stream", {"Authorization": f"Bearer {viewer.secret}"}
        )
        assert reader.status == 200 and not reader.closed.is_set()
        revoked = httpx.delete(
            f"{server.base}/api/v1/workspaces/{workspace}/api-keys/{viewer.credential.id}",
            headers={"Authorization": f"Bearer {admin.secret}"},
        )
        assert revoked.status_code in (200, 204), revoked.text
        wait_for(reader.closed.is_set, timeout=10)  # ended at the next heartbeat, not left open
    finally:
        server.close()
