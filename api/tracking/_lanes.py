"""The reads that run beside the request's own connection, so PostgreSQL uses both cores (bench/README.md).

What does not depend on the per-error counts is read on a spare connection at once (`read_window`); the top errors
(users in the window, per error) on another as soon as the counts are known (`read_top_errors`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool, PoolTimeout

from otel_errors import Severity
from otel_errors.analytics import Window

from ..queries import chains as chain_queries
from ..queries import tracking as queries
from . import _recovery
from ._correlations import CHAINS_LISTED
from ._models import TopErrors
from ._top import TOP_LISTED, top_errors

SPARE_WAIT_SECONDS = 0.005  # how long a request waits for a second connection before sharing its own

Pool = AsyncConnectionPool[Any]


@contextlib.asynccontextmanager
async def spare_connection(pool: Pool, own: queries.AConn) -> AsyncIterator[queries.AConn]:
    """Another pooled connection if one is free almost at once, else the request's own (psycopg serializes the
    tasks that share it): a busy pool costs the parallelism, never a wait for connections that other requests
    hold while waiting for more."""
    try:
        conn = await pool.getconn(timeout=SPARE_WAIT_SECONDS)
    except PoolTimeout:
        yield own
        return
    try:
        yield conn
    finally:
        await pool.putconn(conn)


@dataclass(slots=True)
class WindowReads:
    """Everything of the object that does not depend on the per-error counts."""

    previous_type_counts: dict[str, int]
    buckets: list[queries.BucketRow]
    executions: list[queries.ExecutionRow]
    previous_executions: list[queries.ExecutionRow]
    people: queries.PeopleCounts
    manual_interventions: int
    new_versions: list[queries.VersionRow]
    hourly: list[tuple[dt.datetime, int]]  # 30d only: the hourly series the daily timeline does not show
    chains: list[chain_queries.ChainRow]
    chain_errors: dict[uuid.UUID, chain_queries.ErrorBrief]
    recovery: _recovery.RecoveryReads


async def read_window(
    pool: Pool, own: queries.AConn, *, workspace_id: str, window: Window, severity: Severity | None
) -> WindowReads:
    async with spare_connection(pool, own) as conn:
        chains = await chain_queries.chains_in_window(conn, workspace_id, since=window.start, limit=CHAINS_LISTED)
        involved = sorted({e for c in chains for e in (c.root_error_id, *c.cascade_error_ids)})
        return WindowReads(
            previous_type_counts=await queries.previous_type_counts(
                conn, workspace_id, window=window, severity=severity
            ),
            buckets=await queries.timeline(conn, workspace_id, window=window, severity=severity),
            executions=await queries.executions(conn, workspace_id, window=window, since=window.start, until=None),
            previous_executions=await queries.executions(
                conn, workspace_id, window=window, since=window.prev_start, until=window.start
            ),
            people=await queries.distinct_people(conn, workspace_id, since=window.start, severity=severity),
            manual_interventions=await queries.manual_resolutions(conn, workspace_id, since=window.start),
            new_versions=await queries.new_versions(conn, workspace_id, since=window.start),
            hourly=(
                await queries.hourly_series(conn, workspace_id, since=window.start, severity=severity)
                if window.timeframe == "30d"
                else []
            ),
            chains=chains,
            chain_errors=await chain_queries.briefs(conn, workspace_id, error_ids=involved),
            recovery=await _recovery.read(conn, workspace_id, since=window.start),
        )


async def read_top_errors(
    pool: Pool,
    own: queries.AConn,
    *,
    workspace_id: str,
    counts: list[queries.ErrorCount],
    window: Window,
    now: dt.datetime,
    all_severities: bool,
) -> TopErrors:
    async with spare_connection(pool, own) as conn:

        async def count_window_users(asked: list[tuple[uuid.UUID, bool]]) -> dict[uuid.UUID, int]:
            """Users in the window per error; a long list split over two connections (the other lanes are done
            by then, so PostgreSQL counts on both cores: the 7d object counts ~30 hot errors)."""
            if len(asked) <= TOP_LISTED:
                return await queries.window_users(conn, workspace_id, since=window.start, errors=asked)
            half = len(asked) // 2

            async def second_half() -> dict[uuid.UUID, int]:
                async with spare_connection(pool, own) as other:
                    return await queries.window_users(other, workspace_id, since=window.start, errors=asked[half:])

            first, second = await asyncio.gather(
                queries.window_users(conn, workspace_id, since=window.start, errors=asked[:half]), second_half()
            )
            return first | second

        return await top_errors(
            count_window_users, counts=counts, window=window, now=now, all_severities=all_severities
        )
