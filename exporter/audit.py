"""The audit log: append-only records of who changed what (status, resolution, keys, tokens, rules).

Append-only in the database itself: a trigger refuses UPDATE, DELETE and TRUNCATE (migration 0012). Entry ids are
random UUIDs, so they say nothing about other workspaces' activity.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row


async def record(
    conn: psycopg.AsyncConnection[Any],
    workspace_id: str,
    *,
    actor: str,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Append one entry; call it inside the transaction that makes the change, so both commit or neither."""
    await conn.execute(
        "INSERT INTO audit_log (workspace_id, actor, action, target, before, after)"
        " VALUES (%s, %s, %s, %s, %s::jsonb, %s::jsonb)",
        (
            workspace_id,
            actor,
            action,
            target,
            json.dumps(before, default=str) if before is not None else None,
            json.dumps(after, default=str) if after is not None else None,
        ),
    )


@dataclass(slots=True)
class AuditRow:
    entry_id: uuid.UUID
    at: dt.datetime
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


async def list_entries(
    conn: psycopg.AsyncConnection[Any],
    workspace_id: str,
    limit: int,
    *,
    after: tuple[dt.datetime, uuid.UUID] | None = None,
) -> list[AuditRow]:
    """Newest first; `after`: the (at, entry_id) of the last entry of the previous page."""
    where = [sql.SQL("workspace_id = {}").format(workspace_id)]
    if after is not None:
        where.append(sql.SQL("(at, entry_id) < ({}, {})").format(after[0], after[1]))
    query = sql.SQL(
        "SELECT entry_id, at, actor, action, target, before, after FROM audit_log WHERE {where}"
        " ORDER BY at DESC, entry_id DESC LIMIT {limit}"
    ).format(where=sql.SQL(" AND ").join(where), limit=limit)
    async with conn.cursor(row_factory=class_row(AuditRow)) as cur:
        await cur.execute(query)
        return await cur.fetchall()
