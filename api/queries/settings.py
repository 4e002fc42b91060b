"""Per-workspace rules (PII scrubbing, in-app prefixes): read, replace (audited), and load for the processor."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from otel_errors.config import WorkspaceRules

from . import audit
from .access import ensure_workspace


async def get_rules(conn: psycopg.AsyncConnection[Any], workspace_id: str) -> WorkspaceRules:
    cur = await conn.execute("SELECT settings FROM workspaces WHERE workspace_id = %s", (workspace_id,))
    row = await cur.fetchone()
    return WorkspaceRules.from_dict(row[0]) if row and row[0] else WorkspaceRules()


async def put_rules(
    conn: psycopg.AsyncConnection[Any], workspace_id: str, rules: WorkspaceRules, actor: str
) -> WorkspaceRules:
    async with conn.transaction():
        await ensure_workspace(conn, workspace_id)
        before = await get_rules(conn, workspace_id)
        await conn.execute(
            "UPDATE workspaces SET settings = %s::jsonb WHERE workspace_id = %s",
            (json.dumps(rules.to_dict()), workspace_id),
        )
        await audit.record(conn, workspace_id, actor, "rules.update", "rules", before.to_dict(), rules.to_dict())
    return rules


async def load_all(conn: psycopg.AsyncConnection[Any]) -> dict[str, WorkspaceRules]:
    """Every workspace with non-default rules (the processor's cache; invalid stored rules are skipped)."""
    cur = await conn.execute("SELECT workspace_id, settings FROM workspaces WHERE settings <> '{}'::jsonb")
    rules = {}
    for workspace_id, settings in await cur.fetchall():
        try:
            rules[str(workspace_id)] = WorkspaceRules.from_dict(settings)
        except ValueError:
            continue
    return rules
