"""Queries of the error-tracking object: rollups only (docs/metrics.md), never a scan of error_occurrences.

Per-error counts read error_minute (1h), error_hourly (24h) or error_daily (7d, 30d); workspace timelines read
workspace_hourly/daily; executions read execution_counts (1h) or execution_hourly; distinct users and agents read
workspace_error_users/agents (workspace_severity_users/agents under a severity filter) and workspace_users rows
whose last seen time falls in the window. Samples are index lookups.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from otel_errors.analytics import Window

from ..labels import SEVERITY_VALUE

AConn = psycopg.AsyncConnection[Any]
SEVERITY_COLUMN = {"all": "occurrences", "critical": "critical", "high": "high", "medium": "medium", "low": "low"}
UNIQUE_COLUMN = {
    "all": "unique_errors",
    "critical": "unique_critical",
    "high": "unique_high",
    "medium": "unique_medium",
    "low": "unique_low",
}
# The per-error rollup of each grain: table and bucket column.
_PER_ERROR = {"minute": ("error_minute", "minute"), "hour": ("error_hourly", "hour"), "day": ("error_daily", "day")}
MAX_ERRORS = 5000  # per-error rows read per window (the busiest first)


def _bound(grain: str, at: dt.datetime) -> dt.datetime | dt.date:
    return at.date() if grain == "day" else at


async def _all(conn: AConn, query: sql.Composed, row: type[Any]) -> list[Any]:
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(query)
        return await cur.fetchall()


@dataclass(slots=True)
class BucketRow:
    bucket: dt.datetime
    occurrences: int
    critical: int
    high: int
    medium: int
    low: int
    unique_errors: int


async def timeline(conn: AConn, ws: str, w: Window, severity: str) -> list[BucketRow]:
    """Occurrences per timeline bucket with their severity split and the distinct errors in each bucket."""
    col = sql.Identifier(SEVERITY_COLUMN[severity])
    if w.timeframe == "1h":
        table, tcol, bucket = (
            "error_minute",
            "minute",
            sql.SQL("to_timestamp(floor(extract(epoch FROM minute) / 300) * 300)"),
        )
    elif w.timeframe == "30d":
        table, tcol, bucket = "workspace_daily", "day", sql.SQL("day::timestamptz")
    else:
        table, tcol, bucket = "workspace_hourly", "hour", sql.SQL("hour")
    # workspace_* count distinct errors per bucket for every severity (migration 0011); error_minute per error.
    unique = (
        sql.SQL("sum({})").format(sql.Identifier(UNIQUE_COLUMN[severity]))
        if table.startswith("workspace_")
        else sql.SQL("count(DISTINCT error_id) FILTER (WHERE {} > 0)").format(col)
    )
    start = w.start.date() if tcol == "day" else w.start

    def part(name: str) -> sql.Composable:
        keep = severity in ("all", name)
        return sql.SQL("sum({})").format(sql.Identifier(name)) if keep else sql.SQL("0")

    query = sql.SQL(
        "SELECT {bucket} AS bucket, sum({col})::bigint AS occurrences, {c}::bigint AS critical, {h}::bigint AS high,"
        " {m}::bigint AS medium, {lo}::bigint AS low, {unique}::bigint AS unique_errors FROM {table}"
        " WHERE workspace_id = {ws} AND {tcol} >= {start} GROUP BY 1 ORDER BY 1"
    ).format(
        bucket=bucket,
        col=col,
        c=part("critical"),
        h=part("high"),
        m=part("medium"),
        lo=part("low"),
        unique=unique,
        table=sql.Identifier(table),
        ws=ws,
        tcol=sql.Identifier(tcol),
        start=start,
    )
    return await _all(conn, query, BucketRow)


async def hourly_series(conn: AConn, ws: str, since: dt.datetime, severity: str) -> list[tuple[dt.datetime, int]]:
    """Occurrences (of the severity) per hour: workspace_hourly holds the severity split, no distinct count needed."""
    cur = await conn.execute(
        sql.SQL(
            "SELECT hour, {col}::bigint FROM workspace_hourly WHERE workspace_id = {ws} AND hour >= {since} ORDER BY 1"
        ).format(col=sql.Identifier(SEVERITY_COLUMN[severity]), ws=ws, since=since)
    )
    return [(r[0], int(r[1])) for r in await cur.fetchall()]


@dataclass(slots=True)
class ExecutionRow:
    agent_id: str
    agent_name: str
    executions: int
    failed: int
    credits_failed: float


async def executions(
    conn: AConn, ws: str, w: Window, since: dt.datetime, until: dt.datetime | None
) -> list[ExecutionRow]:
    """Executions, failures and credits of failed executions per agent in [since, until or now]."""
    table, col = ("execution_counts", "minute") if w.timeframe == "1h" else ("execution_hourly", "hour")
    upper = sql.SQL("AND c.{} < {}").format(sql.Identifier(col), until) if until is not None else sql.SQL("")
    query = sql.SQL(
        "SELECT c.agent_id, coalesce(max(a.agent_name), '') AS agent_name, sum(c.executions)::bigint AS executions,"
        " sum(c.failed)::bigint AS failed, sum(c.credits_failed)::float8 AS credits_failed FROM {table} c"
        " LEFT JOIN workspace_agents a ON a.workspace_id = c.workspace_id AND a.agent_id = c.agent_id"
        " WHERE c.workspace_id = {ws} AND c.{col} >= {since} {upper} GROUP BY c.agent_id"
    ).format(table=sql.Identifier(table), ws=ws, col=sql.Identifier(col), since=since, upper=upper)
    return await _all(conn, query, ExecutionRow)


@dataclass(slots=True)
class ErrorCount:
    error_id: uuid.UUID
    n: int
    type: str
    title: str
    category: int
    source: int
    severity: int
    status: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    credits_lost: float
    environment: str
    version: str
    regressed_at: dt.datetime | None
    users: int  # lifetime distinct users of the error: an upper bound of its users in any window


async def error_counts(
    conn: AConn, ws: str, w: Window, severity: str, since: dt.datetime, until: dt.datetime | None
) -> list[ErrorCount]:
    """Per-error occurrences (of the severity) in [since, until or now] from the grain's rollup, busiest first.
    Users in the window are read separately (window_users), only for the errors that get ranked by them."""
    table, tcol = _PER_ERROR[w.grain]
    upper = (
        sql.SQL("AND r.{} < {}").format(sql.Identifier(tcol), _bound(w.grain, until))
        if until is not None
        else sql.SQL("")
    )
    query = sql.SQL(
        "WITH r AS (SELECT r.error_id, sum(r.{col})::bigint AS n FROM {table} r WHERE r.workspace_id = {ws}"
        " AND r.{tcol} >= {since} {upper} GROUP BY r.error_id HAVING sum(r.{col}) > 0 ORDER BY 2 DESC LIMIT {cap})"
        " SELECT r.error_id, r.n, e.type, e.title, e.category, e.source, e.severity, e.status, e.first_seen,"
        " e.last_seen, e.credits_lost, e.environment, e.version, e.regressed_at, e.users"
        " FROM r JOIN errors e ON e.workspace_id = {ws} AND e.error_id = r.error_id ORDER BY r.n DESC, r.error_id"
    ).format(
        col=sql.Identifier(SEVERITY_COLUMN[severity]),
        table=sql.Identifier(table),
        ws=ws,
        tcol=sql.Identifier(tcol),
        since=_bound(w.grain, since),
        upper=upper,
        cap=MAX_ERRORS,
    )
    return await _all(conn, query, ErrorCount)


async def type_counts(
    conn: AConn, ws: str, w: Window, severity: str, since: dt.datetime, until: dt.datetime
) -> dict[str, int]:
    """Occurrences (of the severity) per exception type in [since, until), over the same busiest errors as
    error_counts (the previous window of byType's trend: only the type of each error is needed)."""
    table, tcol = _PER_ERROR[w.grain]
    query = sql.SQL(
        "WITH r AS (SELECT r.error_id, sum(r.{col})::bigint AS n FROM {table} r WHERE r.workspace_id = {ws}"
        " AND r.{tcol} >= {since} AND r.{tcol} < {until} GROUP BY r.error_id HAVING sum(r.{col}) > 0"
        " ORDER BY 2 DESC LIMIT {cap})"
        " SELECT e.type, sum(r.n)::bigint FROM r JOIN errors e ON e.workspace_id = {ws} AND e.error_id = r.error_id"
        " GROUP BY e.type"
    ).format(
        col=sql.Identifier(SEVERITY_COLUMN[severity]),
        table=sql.Identifier(table),
        ws=ws,
        tcol=sql.Identifier(tcol),
        since=_bound(w.grain, since),
        until=_bound(w.grain, until),
        cap=MAX_ERRORS,
    )
    cur = await conn.execute(query)
    return {str(r[0]): int(r[1]) for r in await cur.fetchall()}


async def window_users(
    conn: AConn, ws: str, since: dt.datetime, errors: list[tuple[uuid.UUID, bool]]
) -> dict[uuid.UUID, int]:
    """Each error's distinct users whose last occurrence of it is at or after `since`, exact, counted either way:
    directly (index-only range of its (error, user) rows from `since`), or, when the flag is set, as its lifetime
    users (`errors.users`, kept exactly by the write path) minus those last seen before `since` (in the same
    statement, so one snapshot). A hot error's users are mostly recent: the rows before `since` are far fewer, and
    their pages are less often just updated (index-only reads without heap visits)."""
    ids, complement = [e for e, _ in errors], [c for _, c in errors]
    cur = await conn.execute(
        sql.SQL(
            "SELECT t.error_id, CASE WHEN t.complement THEN"
            " (SELECT e.users FROM errors e WHERE e.workspace_id = {ws} AND e.error_id = t.error_id)"
            " - (SELECT count(*) FROM error_users u WHERE u.workspace_id = {ws} AND u.error_id = t.error_id"
            " AND u.last_seen < {since})"
            " ELSE (SELECT count(*) FROM error_users u WHERE u.workspace_id = {ws}"
            " AND u.error_id = t.error_id AND u.last_seen >= {since}) END"
            " FROM unnest({ids}::uuid[], {flags}::bool[]) AS t(error_id, complement)"
        ).format(ws=ws, since=since, ids=ids, flags=complement)
    )
    return {r[0]: int(r[1]) for r in await cur.fetchall()}


def _people_rows(kind: str, severity: str) -> sql.Composable:
    """The one-row-per-person rollup of `kind` ("user"/"agent"): all severities, or those with an occurrence of
    `severity` (migration 0009), as a FROM item with workspace_id, person id, last_error_at and occurrences."""
    if severity == "all":
        return sql.Identifier(f"workspace_error_{kind}s")
    return sql.SQL("(SELECT * FROM {} WHERE severity = {})").format(
        sql.Identifier(f"workspace_severity_{kind}s"), SEVERITY_VALUE[severity]
    )


async def distinct_people(conn: AConn, ws: str, since: dt.datetime, severity: str) -> tuple[int, int, int]:
    """(affected users, affected agents, active users) last seen at or after `since`: rows of the people rollups
    (one per person, and per occurrence severity under a filter)."""
    cur = await conn.execute(
        sql.SQL(
            "SELECT (SELECT count(*) FROM {users} p WHERE p.workspace_id = {ws} AND p.last_error_at >= {s}),"
            " (SELECT count(*) FROM {agents} p WHERE p.workspace_id = {ws} AND p.last_error_at >= {s}),"
            " (SELECT count(*) FROM workspace_users WHERE workspace_id = {ws} AND last_seen >= {s})"
        ).format(users=_people_rows("user", severity), agents=_people_rows("agent", severity), ws=ws, s=since)
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


@dataclass(slots=True)
class PersonRow:
    key: str
    frequency: int
    error_types: list[str]
    top_error: str
    last_seen: dt.datetime


_PAIRS = {"user": ("error_users", "user_id"), "agent": ("error_agents", "agent_id")}


DETAIL_ERRORS = 50  # the window's busiest errors that people's errorTypes and causes are read among


async def people(
    conn: AConn,
    ws: str,
    kind: str,
    since: dt.datetime,
    severity: str,
    counts: list[ErrorCount],
    limit: int,
    detailed: int,
) -> list[PersonRow]:
    """Users (kind "user") or agents ("agent") whose last error occurrence (of `severity`) is in the window, most
    occurrences first; `frequency` is their lifetime occurrences (of that severity), from the people rollups.

    For the first `detailed` rows only (the ones shown): `error_types` and `top_error` (the title of the error the
    person hit most) from their (error, person) pairs last seen in the window, among the DETAIL_ERRORS busiest
    errors of `counts` (primary-key lookups; a hot user has pairs with thousands of errors, and reading them all
    cost 260 ms at 10M occurrences). A person with no pair among those is read over all the window's errors."""
    table, col = _PAIRS[kind]
    query = sql.SQL(
        "SELECT p.{col} AS key, p.occurrences AS frequency, ARRAY[]::text[] AS error_types, '' AS top_error,"
        " p.last_error_at AS last_seen FROM {rows} p WHERE p.workspace_id = {ws} AND p.last_error_at >= {since}"
        " ORDER BY 2 DESC, 1 LIMIT {limit}"
    ).format(col=sql.Identifier(col), rows=_people_rows(kind, severity), ws=ws, since=since, limit=limit)
    rows: list[PersonRow] = await _all(conn, query, PersonRow)
    shown = [r.key for r in rows[:detailed]]
    if not shown:
        return rows
    by_id = {c.error_id: c for c in counts}
    busiest = [c.error_id for c in counts[:DETAIL_ERRORS]]
    cur = await conn.execute(
        sql.SQL(
            "SELECT p.{col}, p.error_id, p.occurrences FROM {table} p WHERE p.workspace_id = {ws}"
            " AND p.error_id = ANY({ids}) AND p.{col} = ANY({keys}) AND p.last_seen >= {since}"
        ).format(col=sql.Identifier(col), table=sql.Identifier(table), ws=ws, ids=busiest, keys=shown, since=since)
    )
    pairs: dict[str, list[tuple[int, uuid.UUID]]] = {}
    for key, error_id, n in await cur.fetchall():
        pairs.setdefault(str(key), []).append((int(n), error_id))
    rest = [k for k in shown if k not in pairs]
    if rest and len(counts) > len(busiest):
        cur = await conn.execute(
            sql.SQL(
                "SELECT p.{col}, p.error_id, p.occurrences FROM {table} p WHERE p.workspace_id = {ws}"
                " AND p.{col} = ANY({keys}) AND p.last_seen >= {since}"
            ).format(col=sql.Identifier(col), table=sql.Identifier(table), ws=ws, keys=rest, since=since)
        )
        for key, error_id, n in await cur.fetchall():
            if error_id in by_id:  # an error of the window (of the severity)
                pairs.setdefault(str(key), []).append((int(n), error_id))
    for r in rows[:detailed]:
        found = pairs.get(r.key)
        if found:
            r.error_types = sorted({by_id[e].type for _, e in found})
            r.top_error = by_id[min(found, key=lambda p: (-p[0], p[1]))[1]].title
    return rows


@dataclass(slots=True)
class SampleRow:
    error_id: uuid.UUID
    occurred_at: dt.datetime
    message: str
    stacktrace: str


async def samples(
    conn: AConn, ws: str, error_ids: list[uuid.UUID], since: dt.datetime, per_error: int
) -> list[SampleRow]:
    """The latest occurrences of each error since `since` (index lookups, partitions pruned by time)."""
    query = sql.SQL(
        "SELECT t.error_id, x.occurred_at, x.message,"
        " coalesce(replace(s.stacktrace, chr(57344), x.message), '') AS stacktrace"  # see exporter stack_template
        " FROM unnest({ids}::uuid[]) AS t(error_id) CROSS JOIN LATERAL ("
        "  SELECT o.occurred_at, o.message, o.stack_hash FROM error_occurrences o WHERE o.workspace_id = {ws}"
        "  AND o.error_id = t.error_id AND o.occurred_at >= {since} ORDER BY o.occurred_at DESC LIMIT {n}) x"
        " LEFT JOIN error_stacktraces s ON s.workspace_id = {ws} AND s.stack_hash = x.stack_hash"
        " ORDER BY t.error_id, x.occurred_at DESC"
    ).format(ids=error_ids, ws=ws, since=since, n=per_error)
    return await _all(conn, query, SampleRow)


async def top_cause(conn: AConn, ws: str, grain: str, severity: str, since: dt.datetime, until: dt.datetime) -> str:
    """The error contributing most occurrences (of the severity) to [since, until)."""
    table, tcol = _PER_ERROR[grain]
    cur = await conn.execute(
        sql.SQL(
            "SELECT error_id FROM {table} WHERE workspace_id = {ws} AND {tcol} >= {since} AND {tcol} < {until}"
            " GROUP BY error_id ORDER BY sum({col}) DESC, error_id LIMIT 1"
        ).format(
            table=sql.Identifier(table),
            ws=ws,
            tcol=sql.Identifier(tcol),
            since=_bound(grain, since),
            until=_bound(grain, until),
            col=sql.Identifier(SEVERITY_COLUMN[severity]),
        )
    )
    row = await cur.fetchone()
    return str(row[0]) if row else ""


async def new_versions(conn: AConn, ws: str, since: dt.datetime) -> list[tuple[str, int, dt.datetime]]:
    """Versions whose first error (by first_seen) is in the window: (version, errors first seen within an hour
    of that onset, their latest last_seen)."""
    cur = await conn.execute(
        "WITH v AS (SELECT version, min(first_seen) AS onset FROM errors WHERE workspace_id = %s AND version <> ''"
        " GROUP BY version HAVING min(first_seen) >= %s)"
        " SELECT v.version, count(*), max(e.last_seen) FROM v JOIN errors e ON e.workspace_id = %s"
        " AND e.version = v.version AND e.first_seen < v.onset + interval '1 hour'"
        " GROUP BY v.version ORDER BY 2 DESC, 1 LIMIT 5",
        (ws, since, ws),
    )
    return [(r[0], int(r[1]), r[2]) for r in await cur.fetchall()]


async def manual_resolutions(conn: AConn, ws: str, since: dt.datetime) -> int:
    cur = await conn.execute(
        "SELECT count(*) FROM audit_log WHERE workspace_id = %s AND at >= %s AND action = 'error.resolve'", (ws, since)
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0
