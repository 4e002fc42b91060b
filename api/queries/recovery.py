"""Queries of recovery: episodes per hour, method and recovery-time bucket (recovery_hourly), failed episodes
(recoveries), and manual recoveries (errors resolved through the API)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

AConn = psycopg.AsyncConnection[Any]
NOT_RECOVERED = -1  # the bucket of episodes that did not recover (migration 0013)
BUCKET_BASE = 1.25  # bucket b holds recovery times in [1.25**b, 1.25**(b+1)) milliseconds


@dataclass(slots=True)
class BucketRow:
    method: str
    bucket: int
    episodes: int
    seconds: float


@dataclass(slots=True)
class FailedRow:
    failed_at: dt.datetime
    method: str
    attempts: int
    error_id: uuid.UUID | None
    error_type: str | None
    error_title: str | None


async def buckets(conn: AConn, workspace_id: str, *, since: dt.datetime) -> list[BucketRow]:
    query = sql.SQL(
        "SELECT method, bucket, sum(episodes)::bigint AS episodes, sum(seconds) AS seconds FROM recovery_hourly"
        " WHERE workspace_id = {ws} AND hour >= date_trunc('hour', {since}::timestamptz) GROUP BY 1, 2 ORDER BY 1, 2"
    ).format(ws=workspace_id, since=since)
    async with conn.cursor(row_factory=class_row(BucketRow)) as cur:
        await cur.execute(query)
        return await cur.fetchall()


async def failed(conn: AConn, workspace_id: str, *, since: dt.datetime, limit: int) -> list[FailedRow]:
    """The latest episodes that did not recover, with the error of their last failed attempt (its occurrence on
    that span, looked up within a day of the episode: the partitions the planner reads)."""
    query = sql.SQL(
        "SELECT r.failed_at, r.method, r.attempts, e.error_id, e.type AS error_type, e.title AS error_title"
        " FROM recoveries r"
        " LEFT JOIN LATERAL (SELECT o.error_id FROM error_occurrences o WHERE o.workspace_id = {ws}"
        "   AND o.trace_id = r.trace_id AND o.span_id = r.last_span_id"
        "   AND o.occurred_at BETWEEN r.failed_at - interval '1 day' AND r.failed_at + interval '1 day'"
        "   AND o.occurred_at >= {since}::timestamptz - interval '1 day'"
        "   ORDER BY o.occurred_at DESC LIMIT 1) o ON true"
        " LEFT JOIN errors e ON e.workspace_id = {ws} AND e.error_id = o.error_id"
        " WHERE r.workspace_id = {ws} AND r.failed_at >= {since} AND NOT r.recovered"
        " ORDER BY r.failed_at DESC LIMIT {limit}"
    ).format(ws=workspace_id, since=since, limit=limit)
    async with conn.cursor(row_factory=class_row(FailedRow)) as cur:
        await cur.execute(query)
        return await cur.fetchall()


async def manual_times(conn: AConn, workspace_id: str, *, since: dt.datetime) -> list[float]:
    """Seconds from first seen to resolved, of the errors resolved through the API since `since`."""
    cur = await conn.execute(
        "SELECT extract(epoch FROM resolved_at - first_seen)::float8 FROM errors"
        " WHERE workspace_id = %s AND resolved_at >= %s AND resolved_at >= first_seen ORDER BY 1",
        (workspace_id, since),
    )
    return [float(row[0]) for row in await cur.fetchall()]
