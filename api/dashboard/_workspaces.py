"""The workspaces the picker offers with authentication off: those with errors and those with keys or tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

# Distinct workspaces of `errors` by a loose index scan (one index probe per workspace, not a scan of the
# table), merged with the registered ones.
_LIST = sql.SQL(
    """
    WITH RECURSIVE seen(workspace_id) AS (
        (SELECT workspace_id FROM errors ORDER BY workspace_id LIMIT 1)
        UNION ALL
        SELECT (SELECT e.workspace_id FROM errors e WHERE e.workspace_id > seen.workspace_id
                ORDER BY e.workspace_id LIMIT 1)
        FROM seen WHERE seen.workspace_id IS NOT NULL
    )
    SELECT ids.workspace_id, coalesce(w.name, '') AS name, (s.workspace_id IS NOT NULL) AS has_errors
    FROM (SELECT workspace_id FROM seen WHERE workspace_id IS NOT NULL
          UNION SELECT workspace_id FROM workspaces) AS ids
    LEFT JOIN workspaces w USING (workspace_id)
    LEFT JOIN seen s USING (workspace_id)
    ORDER BY ids.workspace_id
    LIMIT {limit}
    """
)


@dataclass(frozen=True, slots=True)
class WorkspaceRow:
    workspace_id: str
    name: str
    has_errors: bool


async def list_workspaces(conn: psycopg.AsyncConnection[Any], *, limit: int) -> list[WorkspaceRow]:
    async with conn.cursor(row_factory=class_row(WorkspaceRow)) as cur:
        await cur.execute(_LIST.format(limit=sql.Literal(limit)))
        return await cur.fetchall()
