"""Queries of the error-tracking object: rollups only (docs/metrics.md), never a scan of error_occurrences.

Per-error counts read error_minute (1h), error_hourly (24h) or error_daily (7d, 30d); workspace timelines read
workspace_hourly/daily; executions read execution_counts (1h) or execution_hourly; distinct users and agents read
workspace_error_users/agents (workspace_severity_users/agents under a severity filter) and workspace_users rows
whose last seen time falls in the window. Samples are index lookups.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from otel_errors import Severity
from otel_errors.analytics import Grain, Window

AConn = psycopg.AsyncConnection[Any]
PersonKind = Literal["user", "agent"]

# The per-error rollup of each grain: table and bucket column.
_PER_ERROR: dict[Grain, tuple[str, str]] = {
    "minute": ("error_minute", "minute"),
    "hour": ("error_hourly", "hour"),
    "day": ("error_daily", "day"),
}
MAX_ERRORS = 5000  # per-error rows read per window (the busiest first)


def _occurrences_column(severity: Severity | None) -> sql.Identifier:
    """The rollups' count of occurrences of `severity` (None: of every severity)."""
    return sql.Identifier("occurrences" if severity is None else severity.label)


def _unique_column(severity: Severity | None) -> sql.Identifier:
    """workspace_hourly/daily's count of distinct errors with an occurrence of `severity` in the bucket."""
    return sql.Identifier("unique_errors" if severity is None else f"unique_{severity.label}")


def _bound(grain: Grain, at: dt.datetime) -> dt.datetime | dt.date:
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


async def timeline(conn: AConn, workspace_id: str, *, window: Window, severity: Severity | None) -> list[BucketRow]:
    """Occurrences per timeline bucket with their severity split and the distinct errors in each bucket."""
    occurrences = _occurrences_column(severity)
    if window.timeframe == "1h":
        table, time_column, bucket = (
            "error_minute",
            "minute",
            sql.SQL("to_timestamp(floor(extract(epoch FROM minute) / 300) * 300)"),
        )
    elif window.timeframe == "30d":
        table, time_column, bucket = "workspace_daily", "day", sql.SQL("day::timestamptz")
    else:
        table, time_column, bucket = "workspace_hourly", "hour", sql.SQL("hour")
    # workspace_* count distinct errors per bucket for every severity (migration 0011); error_minute per error.
    unique = (
        sql.SQL("sum({})").format(_unique_column(severity))
        if table.startswith("workspace_")
        else sql.SQL("count(DISTINCT error_id) FILTER (WHERE {} > 0)").format(occurrences)
    )
    start = window.start.date() if time_column == "day" else window.start

    def part(kept: Severity) -> sql.Composable:
        """The bucket's occurrences of `kept`: none under a filter for another severity."""
        if severity is None or severity == kept:
            return sql.SQL("sum({})").format(sql.Identifier(kept.label))
        return sql.SQL("0")

    query = sql.SQL(
        "SELECT {bucket} AS bucket, sum({occurrences})::bigint AS occurrences, {critical}::bigint AS critical,"
        " {high}::bigint AS high, {medium}::bigint AS medium, {low}::bigint AS low, {unique}::bigint AS unique_errors"
        " FROM {table} WHERE workspace_id = {ws} AND {time_column} >= {start} GROUP BY 1 ORDER BY 1"
    ).format(
        bucket=bucket,
        occurrences=occurrences,
        critical=part(Severity.CRITICAL),
        high=part(Severity.HIGH),
        medium=part(Severity.MEDIUM),
        low=part(Severity.LOW),
        unique=unique,
        table=sql.Identifier(table),
        ws=workspace_id,
        time_column=sql.Identifier(time_column),
        start=start,
    )
    return await _all(conn, query, BucketRow)


async def hourly_series(
    conn: AConn, workspace_id: str, *, since: dt.datetime, severity: Severity | None
) -> list[tuple[dt.datetime, int]]:
    """Occurrences (of the severity) per hour: workspace_hourly holds the severity split, no distinct count needed."""
    cur = await conn.execute(
        sql.SQL(
            "SELECT hour, {occurrences}::bigint FROM workspace_hourly WHERE workspace_id = {ws} AND hour >= {since}"
            " ORDER BY 1"
        ).format(occurrences=_occurrences_column(severity), ws=workspace_id, since=since)
    )
    return [(hour, int(occurrences)) for hour, occurrences in await cur.fetchall()]


@dataclass(slots=True)
class ExecutionRow:
    agent_id: str
    agent_name: str
    executions: int
    failed: int
    credits_failed: float


async def executions(
    conn: AConn, workspace_id: str, *, window: Window, since: dt.datetime, until: dt.datetime | None
) -> list[ExecutionRow]:
    """Executions, failures and credits of failed executions per agent in [since, until or now]."""
    table, column = ("execution_counts", "minute") if window.timeframe == "1h" else ("execution_hourly", "hour")
    upper = sql.SQL("AND c.{} < {}").format(sql.Identifier(column), until) if until is not None else sql.SQL("")
    query = sql.SQL(
        "SELECT c.agent_id, coalesce(max(a.agent_name), '') AS agent_name, sum(c.executions)::bigint AS executions,"
        " sum(c.failed)::bigint AS failed, sum(c.credits_failed)::float8 AS credits_failed FROM {table} c"
        " LEFT JOIN workspace_agents a ON a.workspace_id = c.workspace_id AND a.agent_id = c.agent_id"
        " WHERE c.workspace_id = {ws} AND c.{column} >= {since} {upper} GROUP BY c.agent_id"
    ).format(table=sql.Identifier(table), ws=workspace_id, column=sql.Identifier(column), since=since, upper=upper)
    return await _all(conn, query, ExecutionRow)


@dataclass(slots=True)
class ErrorCount:
    error_id: uuid.UUID
    occurrences: int  # in the window, of the severity
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
    conn: AConn, workspace_id: str, *, window: Window, severity: Severity | None
) -> list[ErrorCount]:
    """Per-error occurrences (of the severity) in the window from the grain's rollup, busiest first.
    Users in the window are read separately (window_users), only for the errors that get ranked by them."""
    table, time_column = _PER_ERROR[window.grain]
    query = sql.SQL(
        "WITH r AS (SELECT r.error_id, sum(r.{occurrences})::bigint AS occurrences FROM {table} r"
        " WHERE r.workspace_id = {ws} AND r.{time_column} >= {since} GROUP BY r.error_id"
        " HAVING sum(r.{occurrences}) > 0 ORDER BY 2 DESC LIMIT {cap})"
        " SELECT r.error_id, r.occurrences, e.type, e.title, e.category, e.source, e.severity, e.status,"
        " e.first_seen, e.last_seen, e.credits_lost, e.environment, e.version, e.regressed_at, e.users"
        " FROM r JOIN errors e ON e.workspace_id = {ws} AND e.error_id = r.error_id"
        " ORDER BY r.occurrences DESC, r.error_id"
    ).format(
        occurrences=_occurrences_column(severity),
        table=sql.Identifier(table),
        ws=workspace_id,
        time_column=sql.Identifier(time_column),
        since=_bound(window.grain, window.start),
        cap=MAX_ERRORS,
    )
    return await _all(conn, query, ErrorCount)


async def previous_type_counts(
    conn: AConn, workspace_id: str, *, window: Window, severity: Severity | None
) -> dict[str, int]:
    """Occurrences (of the severity) per exception type in the window before this one, over the same busiest
    errors as error_counts (byType's trend: only the type of each error is needed)."""
    table, time_column = _PER_ERROR[window.grain]
    query = sql.SQL(
        "WITH r AS (SELECT r.error_id, sum(r.{occurrences})::bigint AS occurrences FROM {table} r"
        " WHERE r.workspace_id = {ws} AND r.{time_column} >= {since} AND r.{time_column} < {until}"
        " GROUP BY r.error_id HAVING sum(r.{occurrences}) > 0 ORDER BY 2 DESC LIMIT {cap})"
        " SELECT e.type, sum(r.occurrences)::bigint FROM r"
        " JOIN errors e ON e.workspace_id = {ws} AND e.error_id = r.error_id GROUP BY e.type"
    ).format(
        occurrences=_occurrences_column(severity),
        table=sql.Identifier(table),
        ws=workspace_id,
        time_column=sql.Identifier(time_column),
        since=_bound(window.grain, window.prev_start),
        until=_bound(window.grain, window.start),
        cap=MAX_ERRORS,
    )
    cur = await conn.execute(query)
    return {str(name): int(occurrences) for name, occurrences in await cur.fetchall()}


async def window_users(
    conn: AConn, workspace_id: str, *, since: dt.datetime, errors: list[tuple[uuid.UUID, bool]]
) -> dict[uuid.UUID, int]:
    """Each error's distinct users whose last occurrence of it is at or after `since`, exact, counted either way:
    directly (index-only range of its (error, user) rows from `since`), or, when the flag is set, as its lifetime
    users (`errors.users`, kept exactly by the write path) minus those last seen before `since` (in the same
    statement, so one snapshot). A hot error's users are mostly recent: the rows before `since` are far fewer, and
    their pages are less often just updated (index-only reads without heap visits)."""
    ids, complement = [error_id for error_id, _ in errors], [flag for _, flag in errors]
    cur = await conn.execute(
        sql.SQL(
            "SELECT t.error_id, CASE WHEN t.complement THEN"
            " (SELECT e.users FROM errors e WHERE e.workspace_id = {ws} AND e.error_id = t.error_id)"
            " - (SELECT count(*) FROM error_users u WHERE u.workspace_id = {ws} AND u.error_id = t.error_id"
            " AND u.last_seen < {since})"
            " ELSE (SELECT count(*) FROM error_users u WHERE u.workspace_id = {ws}"
            " AND u.error_id = t.error_id AND u.last_seen >= {since}) END"
            " FROM unnest({ids}::uuid[], {flags}::bool[]) AS t(error_id, complement)"
        ).format(ws=workspace_id, since=since, ids=ids, flags=complement)
    )
    return {error_id: int(users) for error_id, users in await cur.fetchall()}


def _people_rows(kind: PersonKind, severity: Severity | None) -> sql.Composable:
    """The one-row-per-person rollup of `kind`: all severities, or those with an occurrence of `severity`
    (migration 0009), as a FROM item with workspace_id, person id, last_error_at and occurrences."""
    if severity is None:
        return sql.Identifier(f"workspace_error_{kind}s")
    return sql.SQL("(SELECT * FROM {} WHERE severity = {})").format(
        sql.Identifier(f"workspace_severity_{kind}s"), int(severity)
    )


@dataclass(frozen=True, slots=True)
class PeopleCounts:
    affected_users: int
    affected_agents: int
    active_users: int  # users seen in the window, with or without an error


async def distinct_people(
    conn: AConn, workspace_id: str, *, since: dt.datetime, severity: Severity | None
) -> PeopleCounts:
    """Users and agents with an error (of the severity), and active users, last seen at or after `since`: rows of
    the people rollups (one per person, and per occurrence severity under a filter)."""
    cur = await conn.execute(
        sql.SQL(
            "SELECT (SELECT count(*) FROM {users} p WHERE p.workspace_id = {ws} AND p.last_error_at >= {since}),"
            " (SELECT count(*) FROM {agents} p WHERE p.workspace_id = {ws} AND p.last_error_at >= {since}),"
            " (SELECT count(*) FROM workspace_users WHERE workspace_id = {ws} AND last_seen >= {since})"
        ).format(
            users=_people_rows("user", severity), agents=_people_rows("agent", severity), ws=workspace_id, since=since
        )
    )
    row = await cur.fetchone()
    assert row is not None
    return PeopleCounts(affected_users=int(row[0]), affected_agents=int(row[1]), active_users=int(row[2]))


@dataclass(slots=True)
class PersonRow:
    key: str
    frequency: int
    error_types: list[str]
    top_error: str
    last_seen: dt.datetime


_PAIRS: dict[PersonKind, tuple[str, str]] = {"user": ("error_users", "user_id"), "agent": ("error_agents", "agent_id")}


DETAIL_ERRORS = 50  # the window's busiest errors that people's errorTypes and causes are read among


async def people(
    conn: AConn,
    workspace_id: str,
    *,
    kind: PersonKind,
    since: dt.datetime,
    severity: Severity | None,
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
    table, column = _PAIRS[kind]
    query = sql.SQL(
        "SELECT p.{column} AS key, p.occurrences AS frequency, ARRAY[]::text[] AS error_types, '' AS top_error,"
        " p.last_error_at AS last_seen FROM {rows} p WHERE p.workspace_id = {ws} AND p.last_error_at >= {since}"
        " ORDER BY 2 DESC, 1 LIMIT {limit}"
    ).format(
        column=sql.Identifier(column), rows=_people_rows(kind, severity), ws=workspace_id, since=since, limit=limit
    )
    rows: list[PersonRow] = await _all(conn, query, PersonRow)
    shown = [person.key for person in rows[:detailed]]
    if not shown:
        return rows
    by_id = {error.error_id: error for error in counts}
    busiest = [error.error_id for error in counts[:DETAIL_ERRORS]]
    cur = await conn.execute(
        sql.SQL(
            "SELECT p.{column}, p.error_id, p.occurrences FROM {table} p WHERE p.workspace_id = {ws}"
            " AND p.error_id = ANY({ids}) AND p.{column} = ANY({keys}) AND p.last_seen >= {since}"
        ).format(
            column=sql.Identifier(column),
            table=sql.Identifier(table),
            ws=workspace_id,
            ids=busiest,
            keys=shown,
            since=since,
        )
    )
    pairs: dict[str, list[tuple[int, uuid.UUID]]] = {}
    for key, error_id, occurrences in await cur.fetchall():
        pairs.setdefault(str(key), []).append((int(occurrences), error_id))
    rest = [key for key in shown if key not in pairs]
    if rest and len(counts) > len(busiest):
        cur = await conn.execute(
            sql.SQL(
                "SELECT p.{column}, p.error_id, p.occurrences FROM {table} p WHERE p.workspace_id = {ws}"
                " AND p.{column} = ANY({keys}) AND p.last_seen >= {since}"
            ).format(
                column=sql.Identifier(column), table=sql.Identifier(table), ws=workspace_id, keys=rest, since=since
            )
        )
        for key, error_id, occurrences in await cur.fetchall():
            if error_id in by_id:  # an error of the window (of the severity)
                pairs.setdefault(str(key), []).append((int(occurrences), error_id))
    for person in rows[:detailed]:
        found = pairs.get(person.key)
        if found:
            person.error_types = sorted({by_id[error_id].type for _, error_id in found})
            person.top_error = by_id[min(found, key=lambda pair: (-pair[0], pair[1]))[1]].title
    return rows


@dataclass(slots=True)
class SampleRow:
    error_id: uuid.UUID
    occurred_at: dt.datetime
    message: str
    stacktrace: str


async def samples(
    conn: AConn, workspace_id: str, *, error_ids: list[uuid.UUID], since: dt.datetime, per_error: int
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
    ).format(ids=error_ids, ws=workspace_id, since=since, n=per_error)
    return await _all(conn, query, SampleRow)


async def top_causes(
    conn: AConn,
    workspace_id: str,
    *,
    grain: Grain,
    severity: Severity | None,
    spans: Sequence[tuple[dt.datetime, dt.datetime]],
) -> list[str]:
    """For each [since, until) of `spans`, in order, the error contributing most occurrences (of the severity) to
    it ("" when none did): one statement for all of them."""
    if not spans:
        return []
    table, time_column = _PER_ERROR[grain]
    cur = await conn.execute(
        sql.SQL(
            "SELECT (SELECT r.error_id FROM {table} r WHERE r.workspace_id = {ws} AND r.{time_column} >= s.since"
            " AND r.{time_column} < s.until GROUP BY r.error_id ORDER BY sum(r.{occurrences}) DESC, r.error_id"
            " LIMIT 1) FROM unnest({sinces}::{bound}[], {untils}::{bound}[]) WITH ORDINALITY AS s(since, until, n)"
            " ORDER BY s.n"
        ).format(
            table=sql.Identifier(table),
            ws=workspace_id,
            time_column=sql.Identifier(time_column),
            occurrences=_occurrences_column(severity),
            sinces=[_bound(grain, since) for since, _ in spans],
            untils=[_bound(grain, until) for _, until in spans],
            bound=sql.SQL("date" if grain == "day" else "timestamptz"),
        )
    )
    return [str(error_id) if error_id is not None else "" for (error_id,) in await cur.fetchall()]


@dataclass(frozen=True, slots=True)
class VersionRow:
    version: str
    errors: int  # errors first seen within an hour of the version's first error
    last_seen: dt.datetime  # their latest last_seen


async def new_versions(conn: AConn, workspace_id: str, *, since: dt.datetime) -> list[VersionRow]:
    """Versions whose first error (by first_seen) is at or after `since`, with the errors that came with them."""
    async with conn.cursor(row_factory=class_row(VersionRow)) as cur:
        await cur.execute(
            "WITH v AS (SELECT version, min(first_seen) AS onset FROM errors WHERE workspace_id = %(ws)s"
            " AND version <> '' GROUP BY version HAVING min(first_seen) >= %(since)s)"
            " SELECT v.version, count(*) AS errors, max(e.last_seen) AS last_seen FROM v"
            " JOIN errors e ON e.workspace_id = %(ws)s AND e.version = v.version"
            " AND e.first_seen < v.onset + interval '1 hour' GROUP BY v.version ORDER BY 2 DESC, 1 LIMIT 5",
            {"ws": workspace_id, "since": since},
        )
        return await cur.fetchall()


async def manual_resolutions(conn: AConn, workspace_id: str, *, since: dt.datetime) -> int:
    cur = await conn.execute(
        "SELECT count(*) FROM audit_log WHERE workspace_id = %s AND at >= %s AND action = 'error.resolve'",
        (workspace_id, since),
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0
