"""`create_app(config)`: the FastAPI facade. Its lifespan opens the connection pool."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from . import dashboard, problems
from .config import ApiConfig
from .routes import access, errors, health, settings, status, tracking


def create_app(config: ApiConfig, *, store: Any = None) -> FastAPI:
    """`store`: the in-process exporter, when the API runs beside the receiver (health reports its state)."""
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
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(
        title="otel-errors",
        version="0.1.0",
        lifespan=lifespan,
        description="Error tracking for AI-agent platforms, built on OpenTelemetry.",
    )
    app.state.store = store
    app.state.config = config
    problems.install(app)
    app.include_router(health.router)
    app.include_router(errors.router)
    app.include_router(status.router)
    app.include_router(tracking.router)
    app.include_router(access.router)
    app.include_router(settings.router)
    dashboard.install(app)
    return app
