"""timeline: occurrences per bucket, spikes with their primary cause, and recurring patterns."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from otel_errors import Severity, analytics
from otel_errors.analytics import Grain, TimeframeLabel, Window

from ..queries import tracking as queries
from ._models import PatternOut, SpikeOut, TimePoint

SPIKES_LISTED = 10
RECURRING_HOURS_LISTED = 3
# The rollup a spike's cause is read from: the per-error grain no coarser than the timeline's buckets.
_SPIKE_GRAIN: dict[TimeframeLabel, Grain] = {"1h": "minute", "24h": "hour", "7d": "hour", "30d": "day"}


def points(window: Window, buckets: list[queries.BucketRow]) -> list[TimePoint]:
    """One point per timeline bucket, empty buckets included."""
    by_start = {bucket.bucket: bucket for bucket in buckets}
    out = []
    for start in window.bucket_starts:
        bucket = by_start.get(start)
        out.append(
            TimePoint(
                timestamp=start,
                count=bucket.occurrences if bucket else 0,
                critical_count=bucket.critical if bucket else 0,
                unique_errors=bucket.unique_errors if bucket else 0,
            )
        )
    return out


async def spikes(
    conn: queries.AConn,
    workspace_id: str,
    *,
    window: Window,
    timeline: list[TimePoint],
    severity: Severity | None,
    now: dt.datetime,
) -> list[SpikeOut]:
    """The latest spikes of the timeline, each with the error contributing most to it (one read for all)."""
    found = analytics.spikes([point.count for point in timeline])[-SPIKES_LISTED:]
    starts = window.bucket_starts
    spans = [(starts[spike.first], starts[spike.last] + window.bucket) for spike in found]
    causes = await queries.top_causes(
        conn, workspace_id, grain=_SPIKE_GRAIN[window.timeframe], severity=severity, spans=spans
    )
    return [
        SpikeOut(
            start_time=begin,
            end_time=min(end, now),
            peak_errors=spike.peak,
            total_errors=spike.total,
            primary_cause=cause,
            resolved=spike.resolved,
        )
        for spike, (begin, end), cause in zip(found, spans, causes, strict=True)
    ]


def patterns(
    *,
    hourly: list[tuple[dt.datetime, int]],
    versions: list[queries.VersionRow],
    users: list[queries.PersonRow],
    agents: list[queries.PersonRow],
    counts: list[queries.ErrorCount],
) -> list[PatternOut]:
    """Recurring hours of day, new versions that brought errors, and errors concentrated on one agent, user or
    environment (the rules live in otel_errors.analytics)."""
    out = []
    for recurring in analytics.recurring_hours(hourly)[:RECURRING_HOURS_LISTED]:
        out.append(
            PatternOut(
                pattern=f"errors recur daily at {recurring.hour:02d}:00 UTC",
                frequency=recurring.days,
                last_occurrence=recurring.last,
                correlation=f"hour of day {recurring.hour:02d}:00 UTC",
            )
        )
    for version in versions:
        out.append(
            PatternOut(
                pattern=f"{version.errors} new error(s) began right after service.version {version.version} appeared",
                frequency=version.errors,
                last_occurrence=version.last_seen,
                correlation=f"service.version {version.version}",
            )
        )
    for kind, people in (("agent", agents), ("user", users)):
        concentrated = analytics.concentration({person.key: person.frequency for person in people})
        if concentrated is not None:
            key, weight = concentrated
            out.append(
                PatternOut(
                    pattern=f"errors concentrated on {kind} {key}",
                    frequency=int(weight),
                    last_occurrence=next(person.last_seen for person in people if person.key == key),
                    correlation=f"{kind} {key}",
                )
            )
    environments: dict[str, int] = defaultdict(int)
    for error in counts:
        if error.environment:
            environments[error.environment] += error.occurrences
    concentrated = analytics.concentration(environments)
    if concentrated is not None:
        environment, weight = concentrated
        out.append(
            PatternOut(
                pattern=f"errors concentrated on environment {environment}",
                frequency=int(weight),
                last_occurrence=max(error.last_seen for error in counts if error.environment == environment),
                correlation=f"environment {environment}",
            )
        )
    return out
