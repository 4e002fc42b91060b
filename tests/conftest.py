"""Shared fixtures: a real PostgreSQL (OTEL_ERRORS_TEST_DATABASE_URL, else an embedded one), never skipped."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from otel_errors.exporter.embedded import EmbeddedPostgres

ROOT = Path(__file__).resolve().parent.parent


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compiled modules older than their source would test yesterday's code (setup.py, otel_errors.build_info)."""
    from otel_errors import build_info

    stale = build_info.stale_modules()
    if stale:
        pytest.exit(
            f"compiled modules are older than their source: {', '.join(stale)}; run `make install`", returncode=2
        )


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("OTEL_ERRORS_TEST_DATABASE_URL")
    if url:
        yield url
        return
    embedded = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", delete_on_stop=True)
    yield embedded.start()
    embedded.stop()


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    from otel_errors.exporter._migrate import migrate

    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            await migrate(conn)

    asyncio.run(run())
    return database_url


@pytest.fixture
def workspace() -> str:
    """A fresh workspace per test: tests share one database and never see each other's rows."""
    return f"t{uuid.uuid4().hex[:16]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningServer:
    def __init__(
        self, process: subprocess.Popen[bytes], grpc_port: int, http_port: int, api_port: int, log_path: Path
    ) -> None:
        self.process, self.grpc_port, self.http_port, self.api_port = process, grpc_port, http_port, api_port
        self.log_path = log_path

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def otlp_http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def otlp_grpc(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(
    database_url: str, log_path: Path, extra_env: dict[str, str] | None = None, args: list[str] | None = None
) -> RunningServer:
    """Start the real `otel-errors serve` command and wait until /healthz answers."""
    extra_env = extra_env or {}
    grpc_port = int(extra_env.get("OTEL_ERRORS_GRPC_PORT") or free_port())
    http_port = int(extra_env.get("OTEL_ERRORS_HTTP_PORT") or free_port())
    api_port = int(extra_env.get("OTEL_ERRORS_API_PORT") or free_port())
    env = {
        **os.environ,
        "OTEL_ERRORS_DATABASE_URL": database_url,
        "OTEL_ERRORS_RULES_REFRESH_SECONDS": "1",
        "OTEL_ERRORS_GRPC_PORT": str(grpc_port),
        "OTEL_ERRORS_HTTP_PORT": str(http_port),
        "OTEL_ERRORS_API_PORT": str(api_port),
        **extra_env,
    }
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "otel_errors.cli.main", "serve", *(args or [])],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    server = RunningServer(process, grpc_port, http_port, api_port, log_path)
    deadline = time.monotonic() + 60
    last: object = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            response = httpx.get(f"{server.api}/healthz", timeout=2)
            if response.status_code == 200:
                return server
            last = response.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not become healthy (last answer: {last}):\n{server.log()}")


def stop_server(server: RunningServer) -> int:
    server.process.terminate()
    try:
        return server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        return server.process.wait()


@pytest.fixture(scope="module")
def server(migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(migrated, tmp_path_factory.mktemp("server") / "server.log")
    yield running
    stop_server(running)
