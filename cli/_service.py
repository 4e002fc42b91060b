"""The wiring of one worker: which components exist, what each is given, and the order they start and stop in.

Start-up, in order (each step only after the previous one succeeded):
  1. store           migrations, partitions, writer tasks (the database must answer)
  2. rules           per-workspace rules loaded once, then refreshed in the background
  3. credentials     the credential lookup (its connection opens on first use)
  4. maintenance     retention and partitions ahead, every few minutes
  5. chain linker    links the errors of traces that commits changed (woken by each commit)
  6. alerts          webhook sender, then the evaluator (fed by the store's change listeners, beside the write path)
  7. receivers       OTLP/gRPC, then OTLP/HTTP: ingest opens only once the store is running
  8. api             the JSON API and dashboard
Shutdown reverses it: stop intake (receivers), drain the store (accepted batches are committed), then the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import uvicorn

from otel_errors import Processor
from otel_errors.exporter import PostgresExporter
from otel_errors.exporter.accounts import Credentials
from otel_errors.exporter.alerts import AlertEvaluator, WebhookSender
from otel_errors.exporter.chains import ChainLinker
from otel_errors.exporter.maintenance import Maintenance
from otel_errors.exporter.rules import RulesCache
from otel_errors.receiver import GrpcReceiver, OtlpHttpApp, Pipeline, TokenAuthenticator, no_auth

from ..api import create_app
from ._sockets import listen
from ._telemetry import Telemetry
from .settings import Settings

log = logging.getLogger("otel_errors.serve")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the worker owns SIGTERM/SIGINT for all its servers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Service:
    """One worker's components. `start()` and `shutdown()` are idempotent."""

    def __init__(self, settings: Settings) -> None:
        database_url = settings.store.database_url
        if not database_url:
            raise ValueError("Service needs the database URL (Settings.with_database)")
        self.settings = settings
        self.store = PostgresExporter(settings.store)
        self.rules = RulesCache(database_url, settings.serve.rules_refresh_seconds)
        self.credentials = Credentials(database_url)
        self.maintenance = Maintenance(settings.store)
        self.linker = ChainLinker(settings.store)
        self.store.commit_listeners.append(self.linker.wake)
        self.webhooks = WebhookSender(settings.alerts)
        self.evaluator = AlertEvaluator(settings.alerts, link_base=settings.api.link_base, queued=self.webhooks.wake)
        if settings.alerts.enabled:
            self.store.listeners.append(self.evaluator.errors_changed)
            self.store.execution_listeners.append(self.evaluator.executions_changed)
        self.processor = Processor(settings.processor, rules_for=self.rules)
        authenticate = TokenAuthenticator(self._token_workspace) if settings.serve.auth else no_auth
        self.telemetry = Telemetry()
        self.pipeline = Pipeline(
            self.processor,
            self.store,
            authenticate,
            max_inflight_bytes=settings.receiver.max_inflight_bytes,
            observer=self.telemetry,
        )
        self.store.commit_listeners.append(self.telemetry.committed)
        self.telemetry.add_sampler(self._sample)
        self.grpc = GrpcReceiver(settings.receiver, self.pipeline)
        level = settings.serve.log_level.lower()
        uvicorn_level = "warning" if level == "info" else level
        self.http = _Server(
            uvicorn.Config(
                OtlpHttpApp(settings.receiver, self.pipeline), lifespan="off", log_level=uvicorn_level, access_log=False
            )
        )
        self.api = _Server(
            uvicorn.Config(
                create_app(
                    settings.api, store=self.store, credentials=self.credentials, metrics=self.telemetry.exposition
                ),
                lifespan="on",
                log_level=uvicorn_level,
                access_log=False,
            )
        )
        self._servers: list[asyncio.Task[None]] = []
        self._state = "new"

    def _sample(self) -> None:
        t = self.telemetry
        t.queue_items.set(self.store.pending_items)
        t.queue_bytes.set(self.store.pending_bytes)
        t.inflight_bytes.set(self.pipeline.inflight_bytes)
        t.trace_memory_bytes.set(self.processor.trace_state.nbytes)
        t.trace_memory_traces.set(len(self.processor.trace_state))

    async def _token_workspace(self, token: str) -> str | None:
        found = await self.credentials.ingest_token(token)
        return found.workspace_id if found is not None else None

    async def start(self) -> None:
        if self._state != "new":
            return
        self._state = "starting"
        await self.store.start()
        await self.rules.start()
        await self.maintenance.start()
        await self.linker.start()
        await self.webhooks.start()
        if self.settings.alerts.enabled:
            await self.evaluator.start()
        await self.grpc.start()
        receiver, api = self.settings.receiver, self.settings.api
        self._servers = [
            asyncio.create_task(self.http.serve(sockets=[listen(receiver.host, receiver.http_port)])),
            asyncio.create_task(self.api.serve(sockets=[listen(api.host, api.port)])),
        ]
        while not (self.http.started and self.api.started):
            for task in self._servers:
                if task.done():
                    exc = task.exception()
                    raise exc if exc is not None else RuntimeError("a server stopped during start-up")
            await asyncio.sleep(0.02)
        self._state = "running"
        log.info(
            "otel-errors ready: OTLP/gRPC %s:%s, OTLP/HTTP %s:%s, API http://%s:%s (authentication %s)",
            receiver.host,
            self.grpc.port,
            receiver.host,
            receiver.http_port,
            api.host,
            api.port,
            "on" if self.settings.serve.auth else "off",
        )

    async def shutdown(self) -> None:
        """Stop intake, commit what was accepted, then close everything else."""
        if self._state in ("stopping", "stopped"):
            return
        self._state = "stopping"
        await self.grpc.shutdown(grace=5.0)
        self.http.should_exit = True
        if self._servers:
            await asyncio.gather(self._servers[0], return_exceptions=True)
        await self.store.shutdown(drain_timeout=10.0)
        self.api.should_exit = True
        if len(self._servers) > 1:
            await asyncio.gather(self._servers[1], return_exceptions=True)
        await self.evaluator.shutdown()
        await self.webhooks.shutdown()
        await self.linker.shutdown()
        await self.maintenance.shutdown()
        await self.rules.shutdown()
        await self.credentials.close()
        self._state = "stopped"


async def run_worker(settings: Settings, ready: Any = None, stop: asyncio.Event | None = None) -> None:
    """Run one worker until `stop` is set (SIGTERM/SIGINT by default), then drain and stop."""
    import signal

    from ._process import tune_gc

    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    service = Service(settings)
    try:
        await service.start()
        tune_gc()
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("shutting down: draining in-flight exports")
    finally:
        await service.shutdown()
