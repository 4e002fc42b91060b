"""GET /api/v1/workspaces/{workspaceId}/error-tracking: the seed's whole `ErrorTracking` object (docs/metrics.md)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Request

from otel_errors import analytics as a

from .. import labels, redaction
from ..deps import Connection, Viewer, WorkspaceId
from ..queries import errors as qe
from ..queries import tracking as q
from ..tracking_models import (BySeverity, BySource, Categories, ErrorTracking, Overview, Recovery, RecoveryTimes,
                               SpikeOut, Stats, TimePoint, Timeline)
from . import tracking_parts as parts
from .errors import item

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}", tags=["analytics"])

ERRORS_LISTED = 50
PEOPLE_READ = 1000


@router.get("/error-tracking", response_model=ErrorTracking,
            summary="The whole error-tracking object for a timeframe ending now")
async def error_tracking(
    request: Request, workspace_id: WorkspaceId, conn: Connection, principal: Viewer,
    timeframe: Literal["1h", "24h", "7d", "30d"] = "24h",
    severity: Literal["all", "critical", "high", "medium", "low"] = "all",
) -> ErrorTracking:
    now = dt.datetime.now(dt.timezone.utc)
    w = a.window(timeframe, now)
    price: float = request.app.state.config.price_per_credit

    counts = await q.error_counts(conn, workspace_id, w, severity, w.start, None)
    previous = await q.type_counts(conn, workspace_id, w, severity, w.prev_start, w.start)
    ids = [c.error_id for c in counts]
    buckets = await q.timeline(conn, workspace_id, w, severity)
    current_x = await q.executions(conn, workspace_id, w, w.start, None)
    previous_x = await q.executions(conn, workspace_id, w, w.prev_start, w.start)
    affected_users, affected_agents, active_users = await q.distinct_people(conn, workspace_id, w.start, severity)
    users = (await q.people(conn, workspace_id, "user", w.start, severity, counts, PEOPLE_READ, parts.TOP_LISTED)
             if ids else [])
    agents = (await q.people(conn, workspace_id, "agent", w.start, severity, counts, PEOPLE_READ, parts.TOP_LISTED)
              if ids else [])

    # Overview
    executions = sum(x.executions for x in current_x)
    failed = sum(x.failed for x in current_x)
    rate = a.percent(failed, executions)
    prev_rate = a.percent(sum(x.failed for x in previous_x), sum(x.executions for x in previous_x))
    by_severity = BySeverity(critical=sum(b.critical for b in buckets), high=sum(b.high for b in buckets),
                             medium=sum(b.medium for b in buckets), low=sum(b.low for b in buckets))
    total = sum(b.occurrences for b in buckets)
    user_impact = a.percent(affected_users, max(active_users, affected_users))
    overview = Overview(
        total_errors=total, unique_errors=len(counts), affected_users=affected_users,
        affected_agents=affected_agents, error_rate=rate, error_rate_change=round(rate - prev_rate, 2),
        critical_error_rate=a.percent(by_severity.critical, total), user_impact=user_impact,
        system_impact=a.system_impact(rate, by_severity.critical, by_severity.high, user_impact),
        estimated_revenue_loss=round(sum(x.credits_failed for x in current_x) * price, 2),
        avg_recovery_time=0.0, auto_recovery_rate=0.0,
        manual_interventions=await q.manual_resolutions(conn, workspace_id, w.start))

    # Categories
    by_type = await parts.by_type(conn, workspace_id, w, counts, previous)
    sources = {label: 0 for label in labels.SOURCE.values()}
    for c in counts:
        sources[labels.SOURCE.get(c.source, "system")] += c.n
    categories = Categories(by_type=by_type, by_severity=by_severity, by_source=BySource(**sources))

    # Timeline
    found = {b.bucket: b for b in buckets}
    points = []
    for start in w.bucket_starts:
        b = found.get(start)
        points.append(TimePoint(timestamp=start, count=b.occurrences if b else 0,
                                critical_count=b.critical if b else 0, unique_errors=b.unique_errors if b else 0))
    spike_grain = "minute" if timeframe == "1h" else "day" if timeframe == "30d" else "hour"
    spikes = []
    for s in a.spikes([p.count for p in points])[-10:]:
        begin, end = w.bucket_starts[s.first], w.bucket_starts[s.last] + w.bucket
        cause = await q.top_cause(conn, workspace_id, spike_grain, severity, begin, end)
        spikes.append(SpikeOut(start_time=begin, end_time=min(end, now), peak_errors=s.peak, total_errors=s.total,
                               primary_cause=cause, resolved=s.resolved))
    if timeframe == "7d":
        hourly = [(p.timestamp, p.count) for p in points]
    elif timeframe == "30d":
        hourly = await q.hourly_series(conn, workspace_id, w.start, severity)
    else:
        hourly = []
    versions = await q.new_versions(conn, workspace_id, w.start)
    patterns = parts.patterns(hourly, versions, users, agents, counts)
    timeline = Timeline(errors_by_time=points, spikes=spikes, patterns=patterns)

    # Errors, top errors, correlations
    listed = {r.error_id: r for r in await qe.get_errors(conn, workspace_id, ids[:ERRORS_LISTED])} if ids else {}
    errors = [item(listed[i]) for i in ids[:ERRORS_LISTED] if i in listed]
    tracking = ErrorTracking(
        workspace_id=workspace_id, timeframe=timeframe, overview=overview, categories=categories,
        timeline=timeline, errors=errors, top_errors=await parts.top_errors(conn, workspace_id, counts, w, now),
        correlations=parts.correlations(users, agents, current_x),
        recovery=Recovery(recovery_times=RecoveryTimes(automatic=Stats(avg=0.0, median=0.0, p95=0.0),
                                                       manual=Stats(avg=0.0, median=0.0, p95=0.0)),
                          recovery_methods=[], failed_recoveries=[]))
    return redaction.for_principal(tracking, principal, request.app.state.config.viewer_stacktraces)
