"""Queries of the errors resource: list (keyset pagination), details, samples, occurrences."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

_ERROR_COLUMNS = sql.SQL(
    "e.workspace_id, e.error_id, e.fingerprint, e.fingerprint_config, e.type, e.message, e.title, e.culprit,"
    " e.stacktrace, e.grouping, e.severity, e.category, e.source, e.status, e.first_seen, e.last_seen,"
    " e.occurrences, e.users, e.agents, e.agent_id, e.user_id, e.environment, e.version, e.context,"
    " e.resolved_at, e.resolved_by, e.resolution, e.root_cause, e.preventive_measures, e.regressed_at,"
    " e.executions_affected, e.credits_lost,"
    " ARRAY(SELECT u.user_id FROM error_users u WHERE u.workspace_id = e.workspace_id AND u.error_id = e.error_id"
    "       ORDER BY u.last_seen DESC LIMIT {users_limit}) AS top_users,"
    " ARRAY(SELECT a.agent_id FROM error_agents a WHERE a.workspace_id = e.workspace_id"
    "       AND a.error_id = e.error_id ORDER BY a.last_seen DESC LIMIT {agents_limit}) AS top_agents"
)


@dataclass(slots=True)
class ErrorRow:
    workspace_id: str
    error_id: uuid.UUID
    fingerprint: str
    fingerprint_config: str
    type: str
    message: str
    title: str
    culprit: str
    stacktrace: str
    grouping: dict[str, Any]
    severity: int
    category: int
    source: int
    status: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    occurrences: int
    users: int
    agents: int
    agent_id: str
    user_id: str
    environment: str
    version: str
    context: dict[str, Any]
    resolved_at: dt.datetime | None
    resolved_by: str | None
    resolution: str | None
    root_cause: str | None
    preventive_measures: list[str] | None
    regressed_at: dt.datetime | None
    executions_affected: int
    credits_lost: float
    top_users: list[str]
    top_agents: list[str]


@dataclass(frozen=True, slots=True)
class ErrorFilter:
    status: str | None = None
    severity: int | None = None
    category: int | None = None
    source: int | None = None
    agent_id: str | None = None
    user_id: str | None = None
    environment: str | None = None
    version: str | None = None
    first_seen_from: dt.datetime | None = None
    first_seen_to: dt.datetime | None = None
    last_seen_from: dt.datetime | None = None
    last_seen_to: dt.datetime | None = None
    text: str | None = None


# sort name -> the errors column it orders by (descending, ties broken by error_id descending).
SORTS = {"lastSeen": "last_seen", "firstSeen": "first_seen", "occurrences": "occurrences", "users": "users"}


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _where(workspace_id: str, flt: ErrorFilter) -> list[sql.Composable]:
    where: list[sql.Composable] = [sql.SQL("e.workspace_id = {}").format(workspace_id)]
    equal: tuple[tuple[str, str | int | None], ...] = (
        ("status", flt.status),
        ("severity", flt.severity),
        ("category", flt.category),
        ("source", flt.source),
        ("environment", flt.environment),
        ("version", flt.version),
    )
    for column, value in equal:
        if value is not None:
            where.append(sql.SQL("e.{} = {}").format(sql.Identifier(column), value))
    ranges = (
        ("first_seen", ">=", flt.first_seen_from),
        ("first_seen", "<", flt.first_seen_to),
        ("last_seen", ">=", flt.last_seen_from),
        ("last_seen", "<", flt.last_seen_to),
    )
    for column, op, when in ranges:
        if when is not None:
            where.append(sql.SQL("e.{} {} {}").format(sql.Identifier(column), sql.SQL(op), when))
    if flt.user_id is not None:
        where.append(
            sql.SQL(
                "EXISTS (SELECT 1 FROM error_users u WHERE u.workspace_id = e.workspace_id"
                " AND u.error_id = e.error_id AND u.user_id = {})"
            ).format(flt.user_id)
        )
    if flt.agent_id is not None:
        where.append(
            sql.SQL(
                "EXISTS (SELECT 1 FROM error_agents a WHERE a.workspace_id = e.workspace_id"
                " AND a.error_id = e.error_id AND a.agent_id = {})"
            ).format(flt.agent_id)
        )
    if flt.text:
        pattern = _like(flt.text)
        where.append(sql.SQL("(e.type ILIKE {p} OR e.message ILIKE {p})").format(p=pattern))
    return where


async def list_errors(
    conn: psycopg.AsyncConnection[Any],
    workspace_id: str,
    flt: ErrorFilter,
    limit: int,
    after: tuple[Any, uuid.UUID] | None,
    people: int = 10,
    sort: str = "lastSeen",
) -> list[ErrorRow]:
    """Errors matching `flt`, ordered by `sort` descending; `after` is the (sort key, error_id) of the last row."""
    column = sql.Identifier(SORTS[sort])
    where = _where(workspace_id, flt)
    if after is not None:
        where.append(sql.SQL("(e.{}, e.error_id) < ({}, {})").format(column, after[0], after[1]))
    query = sql.SQL(
        "SELECT {columns} FROM errors e WHERE {where} ORDER BY e.{col} DESC, e.error_id DESC LIMIT {limit}"
    ).format(
        columns=_ERROR_COLUMNS.format(users_limit=people, agents_limit=people),
        where=sql.SQL(" AND ").join(where),
        col=column,
        limit=limit,
    )
    async with conn.cursor(row_factory=class_row(ErrorRow)) as cur:
        await cur.execute(query)
        return await cur.fetchall()


async def get_errors(
    conn: psycopg.AsyncConnection[Any], workspace_id: str, error_ids: list[uuid.UUID], people: int = 10
) -> list[ErrorRow]:
    """These errors, in no particular order (the caller orders them)."""
    query = sql.SQL("SELECT {columns} FROM errors e WHERE e.workspace_id = {ws} AND e.error_id = ANY({ids})").format(
        columns=_ERROR_COLUMNS.format(users_limit=people, agents_limit=people), ws=workspace_id, ids=error_ids
    )
    async with conn.cursor(row_factory=class_row(ErrorRow)) as cur:
        await cur.execute(query)
        return await cur.fetchall()


async def get_error(
    conn: psycopg.AsyncConnection[Any], workspace_id: str, error_id: uuid.UUID, people: int = 100
) -> ErrorRow | None:
    query = sql.SQL("SELECT {columns} FROM errors e WHERE e.workspace_id = {ws} AND e.error_id = {id}").format(
        columns=_ERROR_COLUMNS.format(users_limit=people, agents_limit=people), ws=workspace_id, id=error_id
    )
    async with conn.cursor(row_factory=class_row(ErrorRow)) as cur:
        await cur.execute(query)
        return await cur.fetchone()


@dataclass(slots=True)
class OccurrenceRow:
    occurrence_id: uuid.UUID
    occurred_at: dt.datetime
    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes
    span_name: str
    origin: int
    severity: int
    handled: bool
    user_id: str
    agent_id: str
    environment: str
    version: str
    message: str
    credits: float
    attributes: dict[str, Any]
    stacktrace: str | None


async def first_seen(conn: psycopg.AsyncConnection[Any], workspace_id: str, error_id: uuid.UUID) -> dt.datetime | None:
    """When the error was first seen; None when there is no such error."""
    cur = await conn.execute(
        sql.SQL("SELECT first_seen FROM errors WHERE workspace_id = {} AND error_id = {}").format(
            workspace_id, error_id
        )
    )
    row = await cur.fetchone()
    return row[0] if row is not None else None


async def list_occurrences(
    conn: psycopg.AsyncConnection[Any],
    workspace_id: str,
    error_id: uuid.UUID,
    limit: int,
    after: tuple[dt.datetime, uuid.UUID] | None,
    with_stacktrace: bool = False,
    since: dt.datetime | None = None,
) -> list[OccurrenceRow]:
    """Newest first. `since`: the error's first_seen, no occurrence is older (the errors upsert keeps the minimum);
    as a constant it lets the planner skip the daily partitions before it (with 90 of them, planning took ~7 ms)."""
    async with conn.cursor(row_factory=class_row(OccurrenceRow)) as cur:
        await cur.execute(occurrences_query(workspace_id, error_id, limit, after, with_stacktrace, since))
        return await cur.fetchall()


def occurrences_query(
    workspace_id: str,
    error_id: uuid.UUID,
    limit: int,
    after: tuple[dt.datetime, uuid.UUID] | None,
    with_stacktrace: bool,
    since: dt.datetime | None,
) -> sql.Composed:
    where = [sql.SQL("o.workspace_id = {}").format(workspace_id), sql.SQL("o.error_id = {}").format(error_id)]
    if since is not None:
        where.append(sql.SQL("o.occurred_at >= {}").format(since))
    if after is not None:
        where.append(sql.SQL("(o.occurred_at, o.occurrence_id) < ({}, {})").format(after[0], after[1]))
    stack = sql.SQL(
        # Stored once per template, the message cut out (exporter/_rows.py stack_template): put it back.
        "(SELECT replace(s.stacktrace, chr(57344), o.message) FROM error_stacktraces s"
        " WHERE s.workspace_id = o.workspace_id AND s.stack_hash = o.stack_hash)"
        if with_stacktrace
        else "NULL::text"
    )
    return sql.SQL(
        "SELECT o.occurrence_id, o.occurred_at, o.trace_id, o.span_id, o.parent_span_id, o.span_name, o.origin,"
        " o.severity, o.handled, o.user_id, o.agent_id, o.environment, o.version, o.message, o.credits,"
        " o.attributes, {stack} AS stacktrace FROM error_occurrences o WHERE {where}"
        " ORDER BY o.occurred_at DESC, o.occurrence_id DESC LIMIT {limit}"
    ).format(stack=stack, where=sql.SQL(" AND ").join(where), limit=limit)
