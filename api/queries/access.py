"""Workspaces, ingest tokens and API keys: created with a secret shown once, stored hashed, revoked, audited.

Shared by the admin API and the `otel-errors` CLI, so both write the same rows and the same audit entries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from . import audit

KEY_PREFIX, TOKEN_PREFIX = "oek_", "oet_"


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


@dataclass(slots=True)
class Credential:
    kind: Literal["api_key", "ingest_token"]
    id: str
    workspace_id: str
    name: str
    role: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class NewCredential:
    credential: Credential
    secret: str  # returned once, never stored


async def ensure_workspace(conn: psycopg.AsyncConnection[Any], workspace_id: str, name: str = "") -> bool:
    cur = await conn.execute(
        "INSERT INTO workspaces (workspace_id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING", (workspace_id, name)
    )
    return cur.rowcount == 1


async def list_workspaces(conn: psycopg.AsyncConnection[Any]) -> list[tuple[str, str]]:
    cur = await conn.execute("SELECT workspace_id, name FROM workspaces ORDER BY workspace_id")
    return [(str(r[0]), str(r[1])) for r in await cur.fetchall()]


async def create_api_key(
    conn: psycopg.AsyncConnection[Any], workspace_id: str, role: str, name: str, actor: str
) -> NewCredential:
    if role not in ("viewer", "member", "admin"):
        raise ValueError("role must be viewer, member or admin")
    secret, key_id = KEY_PREFIX + secrets.token_urlsafe(32), secrets.token_hex(6)
    async with conn.transaction():
        await ensure_workspace(conn, workspace_id)
        cur = await conn.execute(
            "INSERT INTO api_keys (key_hash, workspace_id, key_id, name, role) VALUES (%s, %s, %s, %s, %s)"
            " RETURNING created_at",
            (_hash(secret), workspace_id, key_id, name, role),
        )
        created = (await cur.fetchone())[0]  # type: ignore[index]
        await audit.record(
            conn, workspace_id, actor, "api_key.create", f"api_key:{key_id}", None, {"name": name, "role": role}
        )
    return NewCredential(Credential("api_key", key_id, workspace_id, name, role, created, None), secret)


async def create_ingest_token(
    conn: psycopg.AsyncConnection[Any], workspace_id: str, name: str, actor: str
) -> NewCredential:
    secret, token_id = TOKEN_PREFIX + secrets.token_urlsafe(32), secrets.token_hex(6)
    async with conn.transaction():
        await ensure_workspace(conn, workspace_id)
        cur = await conn.execute(
            "INSERT INTO ingest_tokens (token_hash, workspace_id, token_id, name) VALUES (%s, %s, %s, %s)"
            " RETURNING created_at",
            (_hash(secret), workspace_id, token_id, name),
        )
        created = (await cur.fetchone())[0]  # type: ignore[index]
        await audit.record(
            conn, workspace_id, actor, "ingest_token.create", f"ingest_token:{token_id}", None, {"name": name}
        )
    return NewCredential(Credential("ingest_token", token_id, workspace_id, name, None, created, None), secret)


async def list_credentials(conn: psycopg.AsyncConnection[Any], workspace_id: str) -> list[Credential]:
    async with conn.cursor(row_factory=class_row(Credential)) as cur:
        await cur.execute(
            "SELECT 'api_key' AS kind, key_id AS id, workspace_id, name, role, created_at, revoked_at"
            " FROM api_keys WHERE workspace_id = %s"
            " UNION ALL SELECT 'ingest_token', token_id, workspace_id, name, NULL, created_at, revoked_at"
            " FROM ingest_tokens WHERE workspace_id = %s ORDER BY created_at, id",
            (workspace_id, workspace_id),
        )
        return await cur.fetchall()


async def revoke(
    conn: psycopg.AsyncConnection[Any], workspace_id: str, kind: str, credential_id: str, actor: str
) -> bool:
    table, column = {"api_key": ("api_keys", "key_id"), "ingest_token": ("ingest_tokens", "token_id")}[kind]
    async with conn.transaction():
        cur = await conn.execute(
            sql.SQL(
                "UPDATE {} SET revoked_at = now() WHERE workspace_id = %s AND {} = %s AND revoked_at IS NULL"
            ).format(sql.Identifier(table), sql.Identifier(column)),
            (workspace_id, credential_id),
        )
        if cur.rowcount != 1:
            return False
        await audit.record(
            conn,
            workspace_id,
            actor,
            f"{kind}.revoke",
            f"{kind}:{credential_id}",
            {"revoked": False},
            {"revoked": True},
        )
    return True
