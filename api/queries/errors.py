"""Queries of the errors resource: list (keyset pagination), details, samples, occurrences."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, fields
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from .chains import not_caused_by_another


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
    cascading_failures: int
    top_users: list[str]  # the latest users of the error (error_users), not a column of errors
    top_agents: list[str]  # the latest agents (error_agents)


# The people columns of ErrorRow: (table, id column) of the error's pairs, latest first.
_LATEST_PEOPLE = {"top_users": ("error_users", "user_id"), "top_agents": ("error_agents", "agent_id")}


def _error_columns(workspace_id: str, people: int) -> sql.Composable:
    """ErrorRow's columns in its field order: the errors table's own, and up to `people` latest users and agents.

    Subqueries name the workspace itself, not `e.workspace_id`: Citus (docs/citus.md) sends a query to one shard
    only when every table in it is filtered by the same constant workspace; else it runs on all of them."""
    columns: list[sql.Composable] = []
    for field in fields(ErrorRow):
        if field.name in _LATEST_PEOPLE:
            table, column = _LATEST_PEOPLE[field.name]
            columns.append(
                sql.SQL(
                    "ARRAY(SELECT p.{column} FROM {table} p WHERE p.workspace_id = {ws}"
                    " AND p.error_id = e.error_id ORDER BY p.last_seen DESC LIMIT {people}) AS {name}"
                ).format(
                    column=sql.Identifier(column),
                    table=sql.Identifier(table),
                    ws=workspace_id,
                    people=people,
                    name=sql.Identifier(field.name),
                )
            )
        else:
            columns.append(sql.Identifier("e", field.name))
    return sql.SQL(", ").join(columns)


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
    root_cause: bool = False  # only errors no chain lists as caused by another (docs/metrics.md)


Sort = Literal["lastSeen", "firstSeen", "occurrences", "users"]
# sort name -> the errors column it orders by (descending, ties broken by error_id descending).
SORTS: dict[Sort, str] = {
    "lastSeen": "last_seen",
    "firstSeen": "first_seen",
    "occurrences": "occurrences",
    "users": "users",
}


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _where(workspace_id: str, matching: ErrorFilter) -> list[sql.Composable]:
    where: list[sql.Composable] = [sql.SQL("e.workspace_id = {}").format(workspace_id)]
    equal: tuple[tuple[str, str | int | None], ...] = (
        ("status", matching.status),
        ("severity", matching.severity),
        ("category", matching.category),
        ("source", matching.source),
        ("environment", matching.environment),
        ("version", matching.version),
    )
    for column, value in equal:
        if value is not None:
            where.append(sql.SQL("e.{} = {}").format(sql.Identifier(column), value))
    ranges = (
        ("first_seen", ">=", matching.first_seen_from),
        ("first_seen", "<", matching.first_seen_to),
        ("last_seen", ">=", matching.last_seen_from),
        ("last_seen", "<", matching.last_seen_to),
    )
    for column, op, when in ranges:
        if when is not None:
            where.append(sql.SQL("e.{} {} {}").format(sql.Identifier(column), sql.SQL(op), when))
    if matching.user_id is not None:
        where.append(
            sql.SQL(
                "EXISTS (SELECT 1 FROM error_users u WHERE u.workspace_id = {}"
                " AND u.error_id = e.error_id AND u.user_id = {})"
            ).format(workspace_id, matching.user_id)
        )
    if matching.agent_id is not None:
        where.append(
            sql.SQL(
                "EXISTS (SELECT 1 FROM error_agents a WHERE a.workspace_id = {}"
                " AND a.error_id = e.error_id AND a.agent_id = {})"
            ).format(workspace_id, matching.agent_id)
        )
    if matching.text:
        pattern = _like(matching.text)
        where.append(sql.SQL("(e.type ILIKE {p} OR e.message ILIKE {p})").format(p=pattern))
    if matching.root_cause:
        where.append(not_caused_by_another(workspace_id))
    return where


async def list_errors(
    conn: psycopg.AsyncConnection[Any],
    workspace_id: str,
    *,
    matching: ErrorFilter,
    limit: int,
    after: tuple[Any, uuid.UUID] | None,
    people: int = 10,
    sort: Sort = "lastSeen",
) -> list[ErrorRow]:
    """Errors `matching`, ordered by `sort` descending; `after` is the (sort key, error_id) of the last row."""
    column = sql.Identifier(SORTS[sort])
    where = _where(workspace_id, matching)
    if after is not None:
        where.append(sql.SQL("(e.{}, e.error_id) < ({}, {})").format(column, after[0], after[1]))
    query = sql.SQL(
        "SELECT {columns} FROM errors e WHERE {where} ORDER BY e.{column} DESC, e.error_id DESC LIMIT {limit}"
    ).format(
        columns=_error_columns(workspace_id, people), where=sql.SQL(" AND ").join(where), column=column, limit=limit
    )
    return await _errors(conn, query)


async def get_errors(
    conn: psycopg.AsyncConnection[Any], workspace_id: str, *, error_ids: list[uuid.UUID], people: int = 10
) -> list[ErrorRow]:
    """These errors, in no particular order (the caller orders them)."""
    query = sql.SQL("SELECT {columns} FROM errors e WHERE e.workspace_id = {ws} AND e.error_id = ANY({ids})").format(
        columns=_error_columns(workspace_id, people), ws=workspace_id, ids=error_ids
    )
    return await _errors(conn, query)


async def get_error(
    conn: psycopg.AsyncConnection[Any], workspace_id: str, *, error_id: uuid.UUID, people: int = 100
) -> ErrorRow | None:
    query = sql.SQL("SELECT {columns} FROM errors e WHERE e.workspace_id = {ws} AND e.error_id = {id}").format(
        columns=_error_columns(workspace_id, people), ws=workspace_id, id=error_id
    )
    found = await _errors(conn, query)
    return found[0] if found else None


async def _errors(conn: psycopg.AsyncConnection[Any], query: sql.Composed) -> list[ErrorRow]:
    async with conn.cursor(row_factory=class_row(ErrorRow)) as cur:
        await cur.execute(query)
        return await cur.fetchall()


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
    stacktrace: str | None  # the occurrence's stack trace when asked for, not a column of error_occurrences


async def first_seen(
    conn: psycopg.AsyncConnection[Any], workspace_id: str, *, error_id: uuid.UUID
) -> dt.datetime | None:
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
    *,
    error_id: uuid.UUID,
    limit: int,
    after: tuple[dt.datetime, uuid.UUID] | None,
    with_stacktrace: bool = False,
    since: dt.datetime | None = None,
) -> list[OccurrenceRow]:
    """Newest first. `since`: the error's first_seen, no occurrence is older (the errors upsert keeps the minimum);
    as a constant it lets the planner skip the daily partitions before it (with 90 of them, planning took ~7 ms)."""
    query = occurrences_query(
        workspace_id, error_id, limit=limit, after=after, with_stacktrace=with_stacktrace, since=since
    )
    async with conn.cursor(row_factory=class_row(OccurrenceRow)) as cur:
        await cur.execute(query)
        return await cur.fetchall()


def _occurrence_columns(workspace_id: str, with_stacktrace: bool) -> sql.Composable:
    """OccurrenceRow's columns in its field order; the stack trace is stored once per template, the message cut out
    (exporter/_rows.py stack_template): it is put back."""
    stacktrace = (
        sql.SQL(
            "(SELECT replace(s.stacktrace, chr(57344), o.message) FROM error_stacktraces s"
            " WHERE s.workspace_id = {} AND s.stack_hash = o.stack_hash)"
        ).format(workspace_id)
        if with_stacktrace
        else sql.SQL("NULL::text")
    )
    return sql.SQL(", ").join(
        sql.SQL("{} AS stacktrace").format(stacktrace)
        if field.name == "stacktrace"
        else sql.Identifier("o", field.name)
        for field in fields(OccurrenceRow)
    )


def occurrences_query(
    workspace_id: str,
    error_id: uuid.UUID,
    *,
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
    return sql.SQL(
        "SELECT {columns} FROM error_occurrences o WHERE {where} ORDER BY o.occurred_at DESC, o.occurrence_id DESC"
        " LIMIT {limit}"
    ).format(
        columns=_occurrence_columns(workspace_id, with_stacktrace), where=sql.SQL(" AND ").join(where), limit=limit
    )
