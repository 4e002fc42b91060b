"""The audit log: append-only records of who changed what (status, resolution, keys, rules)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row


async def record(
    conn: psycopg.AsyncConnection[Any],
    workspace_id: str,
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
    entry_id: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


async def list_entries(
    conn: psycopg.AsyncConnection[Any], workspace_id: str, limit: int, before_id: int | None
) -> list[AuditRow]:
    async with conn.cursor(row_factory=class_row(AuditRow)) as cur:
        await cur.execute(
            "SELECT entry_id, at, actor, action, target, before, after FROM audit_log"
            " WHERE workspace_id = %s AND (%s::bigint IS NULL OR entry_id < %s) ORDER BY entry_id DESC LIMIT %s",
            (workspace_id, before_id, before_id, limit),
        )
        return await cur.fetchall()
