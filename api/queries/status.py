"""Status workflow writes: one row locked, changed and audited in one transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row


@dataclass(slots=True)
class StatusRow:
    status: str
    status_changed_at: dt.datetime | None
    resolved_at: dt.datetime | None
    resolved_by: str | None
    resolution: str | None
    root_cause: str | None
    preventive_measures: list[str] | None
    regressed_at: dt.datetime | None


async def lock(conn: psycopg.AsyncConnection[Any], workspace_id: str, error_id: uuid.UUID) -> StatusRow | None:
    """The error's workflow fields, row locked until the transaction ends (call inside one)."""
    async with conn.cursor(row_factory=class_row(StatusRow)) as cur:
        await cur.execute(
            "SELECT status, status_changed_at, resolved_at, resolved_by, resolution, root_cause, preventive_measures,"
            " regressed_at FROM errors WHERE workspace_id = %s AND error_id = %s FOR UPDATE",
            (workspace_id, error_id),
        )
        return await cur.fetchone()


async def set_status(conn: psycopg.AsyncConnection[Any], workspace_id: str, error_id: uuid.UUID, status: str) -> None:
    await conn.execute(
        "UPDATE errors SET status = %s, status_changed_at = now(), updated_at = now()"
        " WHERE workspace_id = %s AND error_id = %s",
        (status, workspace_id, error_id),
    )


async def resolve(
    conn: psycopg.AsyncConnection[Any],
    workspace_id: str,
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
