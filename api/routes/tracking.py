"""GET /api/v1/workspaces/{workspaceId}/error-tracking: the seed's whole `ErrorTracking` object (docs/metrics.md)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Request
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from otel_errors import analytics as a

from .. import labels, redaction
from ..deps import Connection, Pool, Viewer, WorkspaceId
from ..queries import errors as qe
from ..queries import tracking as q
from ..tracking_models import (
    BySeverity,
    BySource,
    Categories,
    ErrorTracking,
    Overview,
    Recovery,
    RecoveryTimes,
    SpikeOut,
    Stats,
    Timeline,
    TimePoint,
    TopErrors,
)
from . import tracking_parts as parts
from .errors import item

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}", tags=["analytics"])

ERRORS_LISTED = 50
PEOPLE_READ = 1000
SPARE_WAIT_SECONDS = 0.005  # how long a request waits for a second connection before sharing its own


@dataclass(slots=True)
class _WindowReads:
    previous: dict[str, int]
    buckets: list[q.BucketRow]
    current_x: list[q.ExecutionRow]
    previous_x: list[q.ExecutionRow]
    people: tuple[int, int, int]
    manual_interventions: int
    versions: list[tuple[str, int, dt.datetime]]
    hourly: list[tuple[dt.datetime, int]]


@contextlib.asynccontextmanager
async def _spare(pool: AsyncConnectionPool[Any], own: q.AConn) -> AsyncIterator[q.AConn]:
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


async def _window_reads(
    pool: AsyncConnectionPool[Any], own: q.AConn, ws: str, w: a.Window, severity: str
) -> _WindowReads:
    """Everything of the object that does not depend on the per-error counts, on a connection of its own."""
    async with _spare(pool, own) as conn:
        return _WindowReads(
            previous=await q.type_counts(conn, ws, w, severity, w.prev_start, w.start),
            buckets=await q.timeline(conn, ws, w, severity),
            current_x=await q.executions(conn, ws, w, w.start, None),
            previous_x=await q.executions(conn, ws, w, w.prev_start, w.start),
            people=await q.distinct_people(conn, ws, w.start, severity),
            manual_interventions=await q.manual_resolutions(conn, ws, w.start),
            versions=await q.new_versions(conn, ws, w.start),
            hourly=await q.hourly_series(conn, ws, w.start, severity) if w.timeframe == "30d" else [],
        )


async def _top_errors(
    pool: AsyncConnectionPool[Any],
    own: q.AConn,
    ws: str,
    counts: list[q.ErrorCount],
    w: a.Window,
    now: dt.datetime,
    all_severities: bool,
) -> TopErrors:
    async with _spare(pool, own) as conn:

        async def count(asked: list[tuple[uuid.UUID, bool]]) -> dict[uuid.UUID, int]:
            """Users in the window per error; a long list split over two connections (the other lanes are done
            by then, so PostgreSQL counts on both cores: the 7d object counts ~30 hot errors, ~130 ms in one)."""
            if len(asked) <= parts.TOP_LISTED:
                return await q.window_users(conn, ws, w.start, asked)
            half = len(asked) // 2

            async def other_half() -> dict[uuid.UUID, int]:
                async with _spare(pool, own) as other:
                    return await q.window_users(other, ws, w.start, asked[half:])

            first, second = await asyncio.gather(q.window_users(conn, ws, w.start, asked[:half]), other_half())
            return first | second

        return await parts.top_errors(count, counts, w, now, all_severities)


@router.get(
    "/error-tracking",
    response_model=ErrorTracking,
    summary="The whole error-tracking object for a timeframe ending now",
)
async def error_tracking(
    request: Request,
    workspace_id: WorkspaceId,
    conn: Connection,
    pool: Pool,
    principal: Viewer,
    timeframe: Literal["1h", "24h", "7d", "30d"] = "24h",
    severity: Literal["all", "critical", "high", "medium", "low"] = "all",
) -> ErrorTracking:
    now = dt.datetime.now(dt.UTC)
    w = a.window(timeframe, now)
    price: float = request.app.state.config.price_per_credit

    # Reads run in up to three sequences on their own connections, so PostgreSQL uses both cores: what does not
    # depend on the per-error counts starts at once; the top errors (users in the window, per error) start as soon
    # as the counts are known, beside the people and the listed errors. Measured at 10M occurrences, see
    # bench/README.md.
    side = asyncio.create_task(_window_reads(pool, conn, workspace_id, w, severity))
    tasks: list[asyncio.Task[Any]] = [side]
    try:
        counts = await q.error_counts(conn, workspace_id, w, severity, w.start, None)
        ids = [c.error_id for c in counts]
        top = asyncio.create_task(_top_errors(pool, conn, workspace_id, counts, w, now, severity == "all"))
        tasks.append(top)
        users = (
            await q.people(conn, workspace_id, "user", w.start, severity, counts, PEOPLE_READ, parts.TOP_LISTED)
            if ids
            else []
        )
        agents = (
            await q.people(conn, workspace_id, "agent", w.start, severity, counts, PEOPLE_READ, parts.TOP_LISTED)
            if ids
            else []
        )
        listed = {e.error_id: e for e in await qe.get_errors(conn, workspace_id, ids[:ERRORS_LISTED])} if ids else {}
        reads = await side
        by_type = await parts.by_type(conn, workspace_id, w, counts, reads.previous)
        top_errors = await top
    except BaseException:
        for task in tasks:
            task.cancel()
        raise
    buckets, current_x, previous_x = reads.buckets, reads.current_x, reads.previous_x
    affected_users, affected_agents, active_users = reads.people

    # Overview
    executions = sum(x.executions for x in current_x)
    failed = sum(x.failed for x in current_x)
    rate = a.percent(failed, executions)
    prev_rate = a.percent(sum(x.failed for x in previous_x), sum(x.executions for x in previous_x))
    by_severity = BySeverity(
        critical=sum(b.critical for b in buckets),
        high=sum(b.high for b in buckets),
        medium=sum(b.medium for b in buckets),
        low=sum(b.low for b in buckets),
    )
    total = sum(b.occurrences for b in buckets)
    user_impact = a.percent(affected_users, max(active_users, affected_users))
    overview = Overview(
        total_errors=total,
        unique_errors=len(counts),
        affected_users=affected_users,
        affected_agents=affected_agents,
        error_rate=rate,
        error_rate_change=round(rate - prev_rate, 2),
        critical_error_rate=a.percent(by_severity.critical, total),
        user_impact=user_impact,
        system_impact=a.system_impact(rate, by_severity.critical, by_severity.high, user_impact),
        estimated_revenue_loss=round(sum(x.credits_failed for x in current_x) * price, 2),
        avg_recovery_time=0.0,
        auto_recovery_rate=0.0,
        manual_interventions=reads.manual_interventions,
    )

    # Categories
    sources = {label: 0 for label in labels.SOURCE.values()}
    for c in counts:
        sources[labels.SOURCE.get(c.source, "system")] += c.n
    categories = Categories(by_type=by_type, by_severity=by_severity, by_source=BySource(**sources))

    # Timeline
    found = {b.bucket: b for b in buckets}
    points = []
    for start in w.bucket_starts:
        b = found.get(start)
        points.append(
            TimePoint(
                timestamp=start,
                count=b.occurrences if b else 0,
                critical_count=b.critical if b else 0,
                unique_errors=b.unique_errors if b else 0,
            )
        )
    spike_grain = "minute" if timeframe == "1h" else "day" if timeframe == "30d" else "hour"
    spikes = []
    for s in a.spikes([p.count for p in points])[-10:]:
        begin, end = w.bucket_starts[s.first], w.bucket_starts[s.last] + w.bucket
        cause = await q.top_cause(conn, workspace_id, spike_grain, severity, begin, end)
        spikes.append(
            SpikeOut(
                start_time=begin,
                end_time=min(end, now),
                peak_errors=s.peak,
                total_errors=s.total,
                primary_cause=cause,
                resolved=s.resolved,
            )
        )
    hourly = [(p.timestamp, p.count) for p in points] if timeframe == "7d" else reads.hourly
    patterns = parts.patterns(hourly, reads.versions, users, agents, counts)
    timeline = Timeline(errors_by_time=points, spikes=spikes, patterns=patterns)

    # Errors, top errors, correlations
    errors = [item(listed[i]) for i in ids[:ERRORS_LISTED] if i in listed]
    tracking = ErrorTracking(
        workspace_id=workspace_id,
        timeframe=timeframe,
        overview=overview,
        categories=categories,
        timeline=timeline,
        errors=errors,
        top_errors=top_errors,
        correlations=parts.correlations(users, agents, current_x),
        recovery=Recovery(
            recovery_times=RecoveryTimes(
                automatic=Stats(avg=0.0, median=0.0, p95=0.0), manual=Stats(avg=0.0, median=0.0, p95=0.0)
            ),
            recovery_methods=[],
            failed_recoveries=[],
        ),
    )
    return redaction.for_principal(tracking, principal, request.app.state.config.viewer_stacktraces)
