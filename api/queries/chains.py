"""Queries of cascading-failure chains (linked by the store's chain linker, migration 0013)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

AConn = psycopg.AsyncConnection[Any]


@dataclass(slots=True)
class ChainRow:
    chain_id: uuid.UUID
    root_error_id: uuid.UUID
    cascade_error_ids: list[uuid.UUID]
    executions: int


@dataclass(slots=True)
class ErrorBrief:
    error_id: uuid.UUID
    type: str
    title: str
    category: int
    context: dict[str, Any]


async def chains_in_window(conn: AConn, workspace_id: str, *, since: dt.datetime, limit: int) -> list[ChainRow]:
    """The chains with the most executions since `since` (chain_hourly), most first."""
    query = sql.SQL(
        "SELECT c.chain_id, c.root_error_id, c.cascade_error_ids, h.executions FROM ("
        "  SELECT chain_id, sum(executions)::bigint AS executions FROM chain_hourly"
        "  WHERE workspace_id = {ws} AND hour >= date_trunc('hour', {since}::timestamptz)"
        "  GROUP BY chain_id HAVING sum(executions) > 0 ORDER BY 2 DESC, 1 LIMIT {limit}"
        ") h JOIN error_chains c ON c.workspace_id = {ws} AND c.chain_id = h.chain_id"
        " ORDER BY h.executions DESC, c.chain_id"
    ).format(ws=workspace_id, since=since, limit=limit)
    async with conn.cursor(row_factory=class_row(ChainRow)) as cur:
        await cur.execute(query)
        return await cur.fetchall()


async def chains_of_error(conn: AConn, workspace_id: str, *, error_id: uuid.UUID, limit: int) -> list[ChainRow]:
    """The chains the error roots or joins, over the retention window, most executions first."""
    query = sql.SQL(
        "SELECT chain_id, root_error_id, cascade_error_ids, executions FROM error_chains"
        " WHERE workspace_id = {ws} AND executions > 0 AND (root_error_id = {e} OR {e} = ANY(cascade_error_ids))"
        " ORDER BY executions DESC, chain_id LIMIT {limit}"
    ).format(ws=workspace_id, e=error_id, limit=limit)
    async with conn.cursor(row_factory=class_row(ChainRow)) as cur:
        await cur.execute(query)
        return await cur.fetchall()


async def briefs(conn: AConn, workspace_id: str, *, error_ids: list[uuid.UUID]) -> dict[uuid.UUID, ErrorBrief]:
    if not error_ids:
        return {}
    query = sql.SQL(
        "SELECT error_id, type, title, category, context FROM errors"
        " WHERE workspace_id = {ws} AND error_id = ANY({ids})"
    ).format(ws=workspace_id, ids=error_ids)
    async with conn.cursor(row_factory=class_row(ErrorBrief)) as cur:
        await cur.execute(query)
        return {row.error_id: row for row in await cur.fetchall()}


def not_caused_by_another(workspace_id: str) -> sql.Composable:
    """The `errors e` rows no chain lists as a cascading failure: root causes, and errors nothing caused."""
    # The caused ids unnested, so the planner hashes them once (an anti join): `= ANY(array)` per error row
    # scanned every chain for every error, 8 s per page at 4M occurrences and 8,000 chain shapes.
    return sql.SQL(
        "NOT EXISTS (SELECT 1 FROM error_chains c CROSS JOIN LATERAL unnest(c.cascade_error_ids) AS caused(id)"
        " WHERE c.workspace_id = {ws} AND c.executions > 0 AND caused.id = e.error_id)"
    ).format(ws=workspace_id)
