"""recovery, and the overview's recovery figures: from recovery episodes (recovery_hourly, recoveries) and manual
resolutions (errors resolved through the API). A figure with no data behind it is null (docs/metrics.md)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from otel_errors import analytics

from ..queries import recovery as queries
from ._models import FailedRecovery, Recovery, RecoveryMethod, RecoveryTimes, Stats

FAILED_LISTED = 10


@dataclass(frozen=True, slots=True)
class RecoveryReads:
    buckets: list[queries.BucketRow]
    failed: list[queries.FailedRow]
    manual_seconds: list[float]


async def read(conn: queries.AConn, workspace_id: str, *, since: dt.datetime) -> RecoveryReads:
    return RecoveryReads(
        buckets=await queries.buckets(conn, workspace_id, since=since),
        failed=await queries.failed(conn, workspace_id, since=since, limit=FAILED_LISTED),
        manual_seconds=await queries.manual_times(conn, workspace_id, since=since),
    )


def _stats(summary: analytics.Summary) -> Stats:
    return Stats(avg=summary.avg, median=summary.median, p95=summary.p95)


def automatic(reads: RecoveryReads) -> analytics.Summary:
    return analytics.bucket_summary([(b.bucket, b.episodes, b.seconds) for b in reads.buckets], queries.BUCKET_BASE)


def auto_recovery_rate(reads: RecoveryReads) -> float | None:
    """Episodes that recovered, in percent of all episodes (recovered or not); None without episodes."""
    episodes = sum(b.episodes for b in reads.buckets)
    recovered = sum(b.episodes for b in reads.buckets if b.bucket != queries.NOT_RECOVERED)
    return analytics.percent(recovered, episodes) if episodes else None


def recovery(reads: RecoveryReads) -> Recovery:
    methods: dict[str, list[queries.BucketRow]] = defaultdict(list)
    for row in reads.buckets:
        # A failed episode's method names every method it tried ("retry,fallback"): each counts it once.
        for method in row.method.split(",") if row.bucket == queries.NOT_RECOVERED else [row.method]:
            methods[method].append(row)
    listed = []
    for method, rows in sorted(methods.items(), key=lambda item: -sum(r.episodes for r in item[1])):
        used = sum(r.episodes for r in rows)
        recovered = [r for r in rows if r.bucket != queries.NOT_RECOVERED]
        times = analytics.bucket_summary([(r.bucket, r.episodes, r.seconds) for r in recovered], queries.BUCKET_BASE)
        listed.append(
            RecoveryMethod(
                method=method,
                success_rate=analytics.percent(sum(r.episodes for r in recovered), used),
                avg_time=times.avg,
                usage_count=used,
            )
        )
    return Recovery(
        recovery_times=RecoveryTimes(
            automatic=_stats(automatic(reads)), manual=_stats(analytics.summary(reads.manual_seconds))
        ),
        recovery_methods=listed,
        failed_recoveries=[
            FailedRecovery(
                error_id=str(row.error_id) if row.error_id else None,
                attempted_methods=row.method.split(","),
                failure_reason=row.error_title or row.error_type or "",
                attempts=row.attempts,
                failed_at=row.failed_at,
            )
            for row in reads.failed
        ],
    )
