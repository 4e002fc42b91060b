"""Admin routes: API keys and ingest tokens of a workspace (secrets shown once; every change audited)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Request, Response

from otel_errors.exporter import accounts

from ..deps import Admin, Connection, WorkspaceId
from ..models import CamelModel
from ..problems import not_found

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}", tags=["access"])


class CredentialOut(CamelModel):
    kind: Literal["api_key", "ingest_token"]
    id: str
    name: str
    role: Literal["viewer", "member", "admin"] | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class NewCredentialOut(CredentialOut):
    secret: str


class CredentialList(CamelModel):
    items: list[CredentialOut]


class NewApiKey(CamelModel):
    name: Annotated[str, Body(max_length=200)] = ""
    role: Literal["viewer", "member", "admin"]


class NewIngestToken(CamelModel):
    name: Annotated[str, Body(max_length=200)] = ""


CredentialId = Annotated[str, Path(pattern=r"^[0-9a-f]{1,32}$")]


def _out(c: accounts.Credential) -> CredentialOut:
    return CredentialOut(
        kind=c.kind,
        id=c.id,
        name=c.name,
        role=c.role,
        created_at=c.created_at,
        revoked_at=c.revoked_at,
    )


@router.get("/credentials", response_model=CredentialList, summary="API keys and ingest tokens (no secrets)")
async def list_credentials(workspace_id: WorkspaceId, conn: Connection, _admin: Admin) -> CredentialList:
    return CredentialList(items=[_out(c) for c in await accounts.list_credentials(conn, workspace_id)])


@router.post("/api-keys", response_model=NewCredentialOut, status_code=201, summary="Create an API key")
async def create_api_key(
    workspace_id: WorkspaceId, body: NewApiKey, conn: Connection, admin: Admin
) -> NewCredentialOut:
    created = await accounts.create_api_key(conn, workspace_id, role=body.role, name=body.name, actor=admin.actor)
    return NewCredentialOut(**_out(created.credential).model_dump(), secret=created.secret)


@router.post("/ingest-tokens", response_model=NewCredentialOut, status_code=201, summary="Create an ingest token")
async def create_ingest_token(
    workspace_id: WorkspaceId, body: NewIngestToken, conn: Connection, admin: Admin
) -> NewCredentialOut:
    created = await accounts.create_ingest_token(conn, workspace_id, name=body.name, actor=admin.actor)
    return NewCredentialOut(**_out(created.credential).model_dump(), secret=created.secret)


async def _revoke(
    request: Request, conn: Connection, workspace_id: str, kind: accounts.CredentialKind, credential_id: str, actor: str
) -> Response:
    revoked = await accounts.revoke(conn, workspace_id, kind=kind, credential_id=credential_id, actor=actor)
    if revoked is None:
        raise not_found(f"active {kind.replace('_', ' ')} {credential_id}")
    credentials: accounts.Credentials | None = getattr(request.app.state, "credentials", None)
    if credentials is not None:
        credentials.forget(kind, revoked)  # this process stops accepting it at once; others within the cache TTL
    return Response(status_code=204)


@router.delete("/api-keys/{credential_id}", status_code=204, summary="Revoke an API key")
async def revoke_api_key(
    request: Request, workspace_id: WorkspaceId, credential_id: CredentialId, conn: Connection, admin: Admin
) -> Response:
    return await _revoke(request, conn, workspace_id, "api_key", credential_id, admin.actor)


@router.delete("/ingest-tokens/{credential_id}", status_code=204, summary="Revoke an ingest token")
async def revoke_ingest_token(
    request: Request, workspace_id: WorkspaceId, credential_id: CredentialId, conn: Connection, admin: Admin
) -> Response:
    return await _revoke(request, conn, workspace_id, "ingest_token", credential_id, admin.actor)
