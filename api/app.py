"""`create_app(config)`: the FastAPI facade. Its lifespan opens the connection pool and the credential lookup."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from otel_errors.exporter.accounts import Credentials
from otel_errors.exporter.alerts import StreamHub

from . import dashboard, problems
from ._limits import RequestLimits
from .config import ApiConfig
from .routes import access, alert_rules, alerts, errors, health, settings, status, stream, tracking
from .routes import metrics as metrics_route


def create_app(
    config: ApiConfig,
    *,
    store: Any = None,
    credentials: Credentials | None = None,
    metrics: Callable[[], bytes] | None = None,
) -> FastAPI:
    """`store`: the in-process exporter, when the API runs beside the receiver (health reports its state).
    `credentials`: the process's credential lookup, shared with the receivers; made here when not given.
    `metrics`: the worker's self-telemetry in the Prometheus text format, served at `/metrics`."""
    if not config.database_url:
        raise ValueError("ApiConfig.database_url is required")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            config.database_url or "",
            min_size=config.pool_min_size,
            max_size=config.pool_max_size,
            kwargs={"autocommit": True, "options": "-c timezone=UTC"},
            open=False,
            timeout=10.0,
        )
        await pool.open(wait=False)
        app.state.pool = pool
        own = credentials is None
        app.state.credentials = Credentials(config.database_url or "") if own else credentials
        hub = StreamHub(
            config.database_url or "",
            queue_events=config.stream_queue_events,
            max_subscribers=config.stream_max_subscribers,
        )
        await hub.start()
        app.state.hub = hub
        try:
            yield
        finally:
            await hub.shutdown()
            await pool.close()
            if own:
                await app.state.credentials.close()

    app = FastAPI(
        title="otel-errors",
        version="0.1.0",
        lifespan=lifespan,
        description="Error tracking for AI-agent platforms, built on OpenTelemetry.",
    )
    app.state.store = store
    app.state.metrics = metrics
    app.state.config = config
    app.state.webhook_tests = set()  # workspaces with a webhook test in flight (one at a time each)
    problems.install(app)
    app.add_middleware(RequestLimits, max_body_bytes=config.max_body_bytes)
    app.include_router(health.router)
    app.include_router(metrics_route.router)
    app.include_router(errors.router)
    app.include_router(status.router)
    app.include_router(tracking.router)
    app.include_router(access.router)
    app.include_router(settings.router)
    app.include_router(alert_rules.router)
    app.include_router(alerts.router)
    app.include_router(stream.router)
    dashboard.install(app, default_workspace=config.default_workspace)
    return app
