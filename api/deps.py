"""FastAPI dependencies, as `Annotated` aliases, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Path, Request
from psycopg_pool import AsyncConnectionPool

from otel_errors.config import WORKSPACE_ID_PATTERN


def _pool(request: Request) -> AsyncConnectionPool[Any]:
    pool: AsyncConnectionPool[Any] = request.app.state.pool
    return pool


async def _connection(pool: Annotated[AsyncConnectionPool[Any], Depends(_pool)]) -> AsyncIterator[
        psycopg.AsyncConnection[Any]]:
    async with pool.connection() as conn:
        yield conn


Connection = Annotated[psycopg.AsyncConnection[Any], Depends(_connection)]
WorkspaceId = Annotated[str, Path(pattern=WORKSPACE_ID_PATTERN.pattern, description="Workspace id")]
