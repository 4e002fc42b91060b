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
    " ARRAY(SELECT u.user_id FROM error_users u WHERE u.workspace_id = e.workspace_id AND u.error_id = e.error_id"
    "       ORDER BY u.last_seen DESC LIMIT {users_limit}) AS top_users,"
    " ARRAY(SELECT a.agent_id FROM error_agents a WHERE a.workspace_id = e.workspace_id"
    "       AND a.error_id = e.error_id ORDER BY a.last_seen DESC LIMIT {agents_limit}) AS top_agents")


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
    top_users: list[str]
    top_agents: list[str]


@dataclass(frozen=True, slots=True)
class ErrorFilter:
    status: str | None = None
    severity: int | None = None


async def list_errors(conn: psycopg.AsyncConnection[Any], workspace_id: str, flt: ErrorFilter, limit: int,
                      after: tuple[dt.datetime, uuid.UUID] | None, people: int = 10) -> list[ErrorRow]:
    where = [sql.SQL("e.workspace_id = {}").format(workspace_id)]
    if flt.status:
        where.append(sql.SQL("e.status = {}").format(flt.status))
    if flt.severity is not None:
        where.append(sql.SQL("e.severity = {}").format(flt.severity))
    if after is not None:
        where.append(sql.SQL("(e.last_seen, e.error_id) < ({}, {})").format(after[0], after[1]))
    query = sql.SQL("SELECT {columns} FROM errors e WHERE {where} ORDER BY e.last_seen DESC, e.error_id DESC"
                    " LIMIT {limit}").format(
        columns=_ERROR_COLUMNS.format(users_limit=people, agents_limit=people),
        where=sql.SQL(" AND ").join(where), limit=limit)
    async with conn.cursor(row_factory=class_row(ErrorRow)) as cur:
        await cur.execute(query)
        return await cur.fetchall()


async def get_error(conn: psycopg.AsyncConnection[Any], workspace_id: str, error_id: uuid.UUID,
                    people: int = 100) -> ErrorRow | None:
    query = sql.SQL("SELECT {columns} FROM errors e WHERE e.workspace_id = {ws} AND e.error_id = {id}").format(
        columns=_ERROR_COLUMNS.format(users_limit=people, agents_limit=people), ws=workspace_id, id=error_id)
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


async def list_occurrences(conn: psycopg.AsyncConnection[Any], workspace_id: str, error_id: uuid.UUID,
                           limit: int, after: tuple[dt.datetime, uuid.UUID] | None,
                           with_stacktrace: bool = False) -> list[OccurrenceRow]:
    where = [sql.SQL("o.workspace_id = {}").format(workspace_id), sql.SQL("o.error_id = {}").format(error_id)]
    if after is not None:
        where.append(sql.SQL("(o.occurred_at, o.occurrence_id) < ({}, {})").format(after[0], after[1]))
    stack = sql.SQL(
        "(SELECT s.stacktrace FROM error_stacktraces s WHERE s.workspace_id = o.workspace_id"
        " AND s.stack_hash = o.stack_hash)" if with_stacktrace else "NULL::text")
    query = sql.SQL(
        "SELECT o.occurrence_id, o.occurred_at, o.trace_id, o.span_id, o.parent_span_id, o.span_name, o.origin,"
        " o.severity, o.handled, o.user_id, o.agent_id, o.environment, o.version, o.message, o.credits,"
        " o.attributes, {stack} AS stacktrace FROM error_occurrences o WHERE {where}"
        " ORDER BY o.occurred_at DESC, o.occurrence_id DESC LIMIT {limit}").format(
        stack=stack, where=sql.SQL(" AND ").join(where), limit=limit)
    async with conn.cursor(row_factory=class_row(OccurrenceRow)) as cur:
        await cur.execute(query)
        return await cur.fetchall()
