"""The error-tracking object: its reads, in up to three lanes, then each section from what was read."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

from otel_errors import Severity, analytics
from otel_errors.analytics import TimeframeLabel, Window

from .. import _convert
from ..models import ErrorItem
from ..queries import errors as error_queries
from ..queries import tracking as queries
from ._categories import by_severity, by_source, by_type
from ._correlations import PEOPLE_LISTED, correlations, error_chains
from ._lanes import Pool, WindowReads, read_top_errors, read_window
from ._models import (
    ByType,
    Categories,
    ErrorTracking,
    SpikeOut,
    Timeline,
    TimePoint,
    TopErrors,
)
from ._overview import overview
from ._recovery import recovery
from ._timeline import patterns, points, spikes

ERRORS_LISTED = 50
PEOPLE_READ = 1000


@dataclass(slots=True)
class _Reads:
    window: WindowReads
    counts: list[queries.ErrorCount]
    users: list[queries.PersonRow]
    agents: list[queries.PersonRow]
    errors: list[ErrorItem]
    by_type: list[ByType]
    timeline: list[TimePoint]
    spikes: list[SpikeOut]
    top_errors: TopErrors


async def _read(
    pool: Pool, conn: queries.AConn, *, workspace_id: str, window: Window, severity: Severity | None
) -> _Reads:
    """What does not depend on the per-error counts starts at once on a spare connection; the top errors (users in
    the window, per error) start as soon as the counts are known, beside the people and the listed errors."""
    side = asyncio.create_task(read_window(pool, conn, workspace_id=workspace_id, window=window, severity=severity))
    tasks: list[asyncio.Task[Any]] = [side]
    try:
        counts = await queries.error_counts(conn, workspace_id, window=window, severity=severity)
        top = asyncio.create_task(
            read_top_errors(
                pool,
                conn,
                workspace_id=workspace_id,
                counts=counts,
                window=window,
                now=window.end,
                all_severities=severity is None,
            )
        )
        tasks.append(top)
        users = await _people(conn, workspace_id, kind="user", window=window, severity=severity, counts=counts)
        agents = await _people(conn, workspace_id, kind="agent", window=window, severity=severity, counts=counts)
        errors = await _listed_errors(conn, workspace_id, counts=counts)
        window_reads = await side
        types = await by_type(
            conn,
            workspace_id,
            window=window,
            counts=counts,
            previous_type_counts=window_reads.previous_type_counts,
        )
        timeline = points(window, window_reads.buckets)
        found_spikes = await spikes(
            conn, workspace_id, window=window, timeline=timeline, severity=severity, now=window.end
        )
        return _Reads(
            window=window_reads,
            counts=counts,
            users=users,
            agents=agents,
            errors=errors,
            by_type=types,
            timeline=timeline,
            spikes=found_spikes,
            top_errors=await top,
        )
    except BaseException:
        for task in tasks:
            task.cancel()
        raise


async def _people(
    conn: queries.AConn,
    workspace_id: str,
    *,
    kind: queries.PersonKind,
    window: Window,
    severity: Severity | None,
    counts: list[queries.ErrorCount],
) -> list[queries.PersonRow]:
    if not counts:
        return []
    return await queries.people(
        conn,
        workspace_id,
        kind=kind,
        since=window.start,
        severity=severity,
        counts=counts,
        limit=PEOPLE_READ,
        detailed=PEOPLE_LISTED,
    )


async def _listed_errors(
    conn: queries.AConn, workspace_id: str, *, counts: list[queries.ErrorCount]
) -> list[ErrorItem]:
    """The window's busiest errors, busiest first."""
    ids = [error.error_id for error in counts[:ERRORS_LISTED]]
    if not ids:
        return []
    rows = {row.error_id: row for row in await error_queries.get_errors(conn, workspace_id, error_ids=ids)}
    return [_convert.item(rows[error_id]) for error_id in ids if error_id in rows]


async def error_tracking(
    pool: Pool,
    conn: queries.AConn,
    *,
    workspace_id: str,
    timeframe: TimeframeLabel,
    severity: Severity | None,
    price_per_credit: float,
) -> ErrorTracking:
    """The whole object for the timeframe ending now; `severity` None: occurrences of every severity."""
    window = analytics.window(timeframe, dt.datetime.now(dt.UTC))
    reads = await _read(pool, conn, workspace_id=workspace_id, window=window, severity=severity)
    severities = by_severity(reads.window.buckets)
    # 7d: the timeline is the hourly series; 30d: read beside it (daily buckets); shorter: too short to recur.
    hourly = [(point.timestamp, point.count) for point in reads.timeline] if timeframe == "7d" else reads.window.hourly
    return ErrorTracking(
        workspace_id=workspace_id,
        timeframe=timeframe,
        overview=overview(reads.window, severities, unique_errors=len(reads.counts), price_per_credit=price_per_credit),
        categories=Categories(by_type=reads.by_type, by_severity=severities, by_source=by_source(reads.counts)),
        timeline=Timeline(
            errors_by_time=reads.timeline,
            spikes=reads.spikes,
            patterns=patterns(
                hourly=hourly,
                versions=reads.window.new_versions,
                users=reads.users,
                agents=reads.agents,
                counts=reads.counts,
            ),
        ),
        errors=reads.errors,
        top_errors=reads.top_errors,
        correlations=correlations(
            users=reads.users,
            agents=reads.agents,
            executions=reads.window.executions,
            chains=error_chains(reads.window.chains, reads.window.chain_errors),
        ),
        recovery=recovery(reads.window.recovery),
    )
