"""FastAPI dependencies, as `Annotated` aliases, in one place.

Authorization: with authentication off (the local quick start) every caller is an anonymous admin of every
workspace. With it on, `Authorization: Bearer <api key>` must name a key of the path's workspace whose role is at
least the route's: viewer < member < admin. Routes declare the role they need with `Viewer`, `Member`, `Admin`.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Path, Request
from psycopg_pool import AsyncConnectionPool

from otel_errors.config import WORKSPACE_ID_PATTERN

from .problems import ApiError

ROLES = ("viewer", "member", "admin")


@dataclass(frozen=True, slots=True)
class Principal:
    workspace_id: str
    role: str
    key_id: str  # "anonymous" with auth off

    @property
    def actor(self) -> str:
        return self.key_id

    def at_least(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def _pool(request: Request) -> AsyncConnectionPool[Any]:
    pool: AsyncConnectionPool[Any] = request.app.state.pool
    return pool


async def _connection(
    pool: Annotated[AsyncConnectionPool[Any], Depends(_pool)],
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with pool.connection() as conn:
        yield conn


Connection = Annotated[psycopg.AsyncConnection[Any], Depends(_connection)]
# The pool itself, for a route that reads on a second connection concurrently (the error-tracking object).
Pool = Annotated[AsyncConnectionPool[Any], Depends(_pool)]
WorkspaceId = Annotated[str, Path(pattern=WORKSPACE_ID_PATTERN.pattern, description="Workspace id")]


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _require(role: str) -> Callable[..., Awaitable[Principal]]:
    async def principal(request: Request, workspace_id: WorkspaceId) -> Principal:
        if not request.app.state.config.auth:
            return Principal(workspace_id, "admin", "anonymous")
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401, "unauthenticated", "send an API key: Authorization: Bearer <key>")
        async with request.app.state.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT workspace_id, role, key_id FROM api_keys WHERE key_hash = %s AND revoked_at IS NULL",
                (hash_secret(secret.strip()),),
            )
            row = await cur.fetchone()
        # An unknown key and a key of another workspace answer alike, so keys cannot probe workspaces.
        if row is None or row[0] != workspace_id:
            raise ApiError(401, "unauthenticated", "the API key is not valid for this workspace")
        found = Principal(row[0], row[1], row[2])
        if not found.at_least(role):
            raise ApiError(403, "forbidden", f"this needs the {role} role; the key has {found.role}")
        return found

    return principal


Viewer = Annotated[Principal, Depends(_require("viewer"))]
Member = Annotated[Principal, Depends(_require("member"))]
Admin = Annotated[Principal, Depends(_require("admin"))]
