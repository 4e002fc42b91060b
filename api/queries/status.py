"""Status workflow writes: one row locked, changed and audited in one transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import psycopg


async def lock(conn: psycopg.AsyncConnection[Any], workspace_id: str, *, error_id: uuid.UUID) -> str | None:
    """The error's status, its row locked until the transaction ends (call inside one); None: no such error."""
    cur = await conn.execute(
        "SELECT status FROM errors WHERE workspace_id = %s AND error_id = %s FOR UPDATE", (workspace_id, error_id)
    )
    row = await cur.fetchone()
    return str(row[0]) if row is not None else None


async def set_status(
    conn: psycopg.AsyncConnection[Any], workspace_id: str, *, error_id: uuid.UUID, status: str
) -> None:
    await conn.execute(
        "UPDATE errors SET status = %s, status_changed_at = now(), updated_at = now()"
        " WHERE workspace_id = %s AND error_id = %s",
        (status, workspace_id, error_id),
    )


async def resolve(
    conn: psycopg.AsyncConnection[Any],
    workspace_id: str,
    *,
    error_id: uuid.UUID,
    resolved_by: str,
    resolution: str,
    root_cause: str | None,
    preventive_measures: list[str],
) -> dt.datetime:
    cur = await conn.execute(
        "UPDATE errors SET status = 'resolved', resolved_at = now(), resolved_by = %s, resolution = %s,"
        " root_cause = %s, preventive_measures = %s, status_changed_at = now(), updated_at = now()"
        " WHERE workspace_id = %s AND error_id = %s RETURNING resolved_at",
        (resolved_by, resolution, root_cause, preventive_measures, workspace_id, error_id),
    )
    row = await cur.fetchone()
    assert row is not None
    resolved_at: dt.datetime = row[0]
    return resolved_at
