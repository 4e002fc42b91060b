"""FastAPI dependencies, as `Annotated` aliases, in one place.

Authorization: with authentication off (the local quick start) every caller is an anonymous admin of every
workspace. With it on, `Authorization: Bearer <api key>` must name a key of the path's workspace whose role is at
least the route's: viewer < member < admin. Routes declare the role they need with `Viewer`, `Member`, `Admin`.

The caller is authenticated before anything else: a route's pooled connection (`Connection`) depends on the
principal, so a request with a bad key is refused without ever holding one, and the key lookup itself uses the
credential lookup's own connection and caches (`otel_errors.exporter.accounts.Credentials`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Path, Request
from psycopg_pool import AsyncConnectionPool

from otel_errors.config import WORKSPACE_ID_REGEX
from otel_errors.errors import StoreUnavailable
from otel_errors.exporter.accounts import ROLES, Credentials, Role

from .problems import ApiError


@dataclass(frozen=True, slots=True)
class Principal:
    workspace_id: str
    role: Role
    key_id: str  # "anonymous" with auth off

    @property
    def actor(self) -> str:
        return self.key_id

    def at_least(self, role: Role) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


WorkspaceId = Annotated[str, Path(pattern=WORKSPACE_ID_REGEX, description="Workspace id")]


async def _principal(request: Request, workspace_id: WorkspaceId) -> Principal:
    if not request.app.state.config.auth:
        return Principal(workspace_id, "admin", "anonymous")
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "unauthenticated", "send an API key: Authorization: Bearer <key>")
    credentials: Credentials = request.app.state.credentials
    try:
        found = await credentials.api_key(secret.strip())
    except StoreUnavailable as exc:
        raise ApiError(503, "unavailable", str(exc)) from None
    # An unknown key and a key of another workspace answer alike, so keys cannot probe workspaces.
    if found is None or found.workspace_id != workspace_id or found.role is None:
        raise ApiError(401, "unauthenticated", "the API key is not valid for this workspace")
    return Principal(found.workspace_id, found.role, found.credential_id)


Authenticated = Annotated[Principal, Depends(_principal)]


async def still_allowed(request: Request, workspace_id: str, role: Role) -> bool:
    """Whether the request's key would still be let in (for a long-lived response such as the stream): a revoked
    or downgraded key answers no within the credential cache's lifetime. A database outage keeps the answer yes."""
    try:
        return (await _principal(request, workspace_id)).at_least(role)
    except ApiError as exc:
        return exc.status >= 500


def _pool(request: Request) -> AsyncConnectionPool[Any]:
    pool: AsyncConnectionPool[Any] = request.app.state.pool
    return pool


# The pool itself, for a route that reads on a second connection concurrently (the error-tracking object).
Pool = Annotated[AsyncConnectionPool[Any], Depends(_pool)]


async def _connection(pool: Pool, _caller: Authenticated) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with pool.connection() as conn:
        yield conn


Connection = Annotated[psycopg.AsyncConnection[Any], Depends(_connection)]


def _require(role: Role) -> Callable[..., Awaitable[Principal]]:
    async def principal(found: Authenticated) -> Principal:
        if not found.at_least(role):
            raise ApiError(403, "forbidden", f"this needs the {role} role; the key has {found.role}")
        return found

    return principal


Viewer = Annotated[Principal, Depends(_require("viewer"))]
Member = Annotated[Principal, Depends(_require("member"))]
Admin = Annotated[Principal, Depends(_require("admin"))]
