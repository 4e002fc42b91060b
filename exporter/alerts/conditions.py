"""What rules are evaluated on, read from the rollups (never from the occurrences): errors' facts, per-error counts
over a window (`error_minute`, `error_users`), occurrences per spike window, executions per window
(`execution_counts`). The per-minute rollup is kept for 2 hours, which bounds every window (alerting.MAX_MINUTES)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from otel_errors.alerting import ErrorFacts, RuleSpec, spike_buckets

Conn = psycopg.AsyncConnection[Any]

# Severity columns of error_minute counted for a minimum severity (low counts severities 0 and 1).
_AT_LEAST = {
    1: ("low", "medium", "high", "critical"),
    2: ("medium", "high", "critical"),
    3: ("high", "critical"),
    4: ("critical",),
}


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    error_id: uuid.UUID
    title: str
    facts: ErrorFacts


async def errors(conn: Conn, workspace_id: str, error_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ErrorInfo]:
    cur = await conn.execute(
        "SELECT error_id, title, severity, category, environment, agent_id, status FROM errors"
        " WHERE workspace_id = %s AND error_id = ANY(%s)",
        (workspace_id, list(error_ids)),
    )
    return {
        r[0]: ErrorInfo(r[0], str(r[1]), ErrorFacts(int(r[2]), int(r[3]), str(r[4]), str(r[5]), str(r[6])))
        for r in await cur.fetchall()
    }


def _occurrences(rule: RuleSpec) -> sql.Composable:
    if rule.min_severity is None:
        return sql.SQL("m.occurrences")
    return sql.SQL(" + ").join(sql.SQL("m.{}").format(sql.Identifier(c)) for c in _AT_LEAST[int(rule.min_severity)])


def _error_filters(rule: RuleSpec) -> sql.Composable:
    """Filters on the error's row (a join with `errors e`), or nothing."""
    parts: list[sql.Composable] = []
    if rule.environment is not None:
        parts.append(sql.SQL("e.environment = {}").format(rule.environment))
    if rule.agent_id is not None:
        parts.append(sql.SQL("e.agent_id = {}").format(rule.agent_id))
    if rule.category is not None:
        parts.append(sql.SQL("e.category = {}").format(int(rule.category)))
    parts.append(sql.SQL("e.status NOT IN ('ignored', 'resolved')"))
    return sql.SQL(" AND ").join(parts)


_SINCE = "date_trunc('minute', now()) - make_interval(mins => {} - 1)"


async def frequency(
    conn: Conn, workspace_id: str, rule: RuleSpec, error_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """Occurrences (of the rule's severities) and affected users of each error over the rule's window."""
    users_cap = (rule.users or 0) + 1
    # One range scan of the window's minute rows for all the errors (a lookup per error scanned it per error).
    cur = await conn.execute(
        sql.SQL(
            "WITH o AS (SELECT m.error_id, sum({occ})::bigint AS n FROM error_minute m WHERE m.workspace_id = {ws}"
            " AND m.minute >= {since} AND m.error_id = ANY({ids}::uuid[]) GROUP BY m.error_id)"
            " SELECT x.error_id, coalesce(o.n, 0),"
            " CASE WHEN {users} THEN (SELECT count(*) FROM (SELECT 1 FROM error_users u WHERE u.workspace_id = {ws}"
            "   AND u.error_id = x.error_id AND u.last_seen >= now() - make_interval(mins => {window})"
            "   LIMIT {cap}) c) ELSE 0 END"
            " FROM unnest({ids}::uuid[]) AS x(error_id) LEFT JOIN o USING (error_id)"
        ).format(
            occ=_occurrences(rule),
            ws=workspace_id,
            since=sql.SQL(_SINCE.format(int(rule.window_minutes))),
            users=rule.users is not None,
            window=rule.window_minutes,
            cap=users_cap,
            ids=list(error_ids),
        )
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in await cur.fetchall()}


async def spike_counts(conn: Conn, workspace_id: str, rule: RuleSpec) -> list[int]:
    """Occurrences per window of `rule.window_minutes`, oldest first, the last one ending with the current minute."""
    n = spike_buckets(rule)
    cur = await conn.execute(
        sql.SQL(
            "SELECT ((extract(epoch FROM date_trunc('minute', now()) - m.minute) / 60)::int / {w}) AS back,"
            " sum({occ})::bigint FROM error_minute m"
            " JOIN errors e ON e.workspace_id = m.workspace_id AND e.error_id = m.error_id"
            " WHERE m.workspace_id = {ws} AND m.minute >= {since} AND m.minute <= date_trunc('minute', now())"
            " AND {where}"
            " GROUP BY 1"
        ).format(
            w=rule.window_minutes,
            occ=_occurrences(rule),
            ws=workspace_id,
            since=sql.SQL(_SINCE.format(n * rule.window_minutes)),
            where=_error_filters(rule),
        )
    )
    counts = [0] * n
    for back, total in await cur.fetchall():
        if 0 <= back < n:
            counts[n - 1 - back] = int(total)
    return counts


async def top_errors(conn: Conn, workspace_id: str, rule: RuleSpec, *, minutes: int, limit: int = 5) -> list[uuid.UUID]:
    """The errors contributing most occurrences over the last `minutes` (the spike's primary cause first): the same
    rule as the timeline's `primaryCause` (most occurrences, ties by error id)."""
    cur = await conn.execute(
        sql.SQL(
            "SELECT m.error_id FROM error_minute m JOIN errors e ON e.workspace_id = m.workspace_id"
            " AND e.error_id = m.error_id WHERE m.workspace_id = {ws} AND m.minute >= {since} AND {where}"
            " GROUP BY m.error_id HAVING sum({occ}) > 0 ORDER BY sum({occ}) DESC, m.error_id LIMIT {limit}"
        ).format(
            ws=workspace_id,
            since=sql.SQL(_SINCE.format(int(minutes))),
            where=_error_filters(rule),
            occ=_occurrences(rule),
            limit=limit,
        )
    )
    return [r[0] for r in await cur.fetchall()]


async def executions(conn: Conn, workspace_id: str, rule: RuleSpec) -> tuple[int, int]:
    """Executions and failed executions over the rule's window (of its agent, when it names one)."""
    cur = await conn.execute(
        sql.SQL(
            "SELECT coalesce(sum(executions), 0)::bigint, coalesce(sum(failed), 0)::bigint FROM execution_counts"
            " WHERE workspace_id = {ws} AND minute >= {since} {agent}"
        ).format(
            ws=workspace_id,
            since=sql.SQL(_SINCE.format(int(rule.window_minutes))),
            agent=sql.SQL("AND agent_id = {}").format(rule.agent_id) if rule.agent_id is not None else sql.SQL(""),
        )
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def last_seen_within(
    conn: Conn, workspace_id: str, error_ids: Sequence[uuid.UUID], minutes: int
) -> dict[uuid.UUID, bool]:
    """Whether each error is still active: its status allows alerts and it occurred within `minutes`."""
    cur = await conn.execute(
        "SELECT error_id, status NOT IN ('ignored', 'resolved') AND last_seen >= now() - make_interval(mins => %s)"
        " FROM errors WHERE workspace_id = %s AND error_id = ANY(%s)",
        (minutes, workspace_id, list(error_ids)),
    )
    return {r[0]: bool(r[1]) for r in await cur.fetchall()}
