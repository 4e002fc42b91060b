"""Admin routes: API keys and ingest tokens of a workspace (secrets shown once; every change audited)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Response

from ..deps import Admin, Connection, WorkspaceId
from ..models import CamelModel
from ..problems import not_found
from ..queries import access

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


def _out(c: access.Credential) -> CredentialOut:
    return CredentialOut(
        kind=c.kind,
        id=c.id,
        name=c.name,
        role=c.role,  # type: ignore[arg-type]
        created_at=c.created_at,
        revoked_at=c.revoked_at,
    )


@router.get("/credentials", response_model=CredentialList, summary="API keys and ingest tokens (no secrets)")
async def list_credentials(workspace_id: WorkspaceId, conn: Connection, _admin: Admin) -> CredentialList:
    return CredentialList(items=[_out(c) for c in await access.list_credentials(conn, workspace_id)])


@router.post("/api-keys", response_model=NewCredentialOut, status_code=201, summary="Create an API key")
async def create_api_key(
    workspace_id: WorkspaceId, body: NewApiKey, conn: Connection, admin: Admin
) -> NewCredentialOut:
    created = await access.create_api_key(conn, workspace_id, body.role, body.name, admin.actor)
    return NewCredentialOut(**_out(created.credential).model_dump(), secret=created.secret)


@router.post("/ingest-tokens", response_model=NewCredentialOut, status_code=201, summary="Create an ingest token")
async def create_ingest_token(
    workspace_id: WorkspaceId, body: NewIngestToken, conn: Connection, admin: Admin
) -> NewCredentialOut:
    created = await access.create_ingest_token(conn, workspace_id, body.name, admin.actor)
    return NewCredentialOut(**_out(created.credential).model_dump(), secret=created.secret)


@router.delete("/api-keys/{credential_id}", status_code=204, summary="Revoke an API key")
async def revoke_api_key(
    workspace_id: WorkspaceId, credential_id: CredentialId, conn: Connection, admin: Admin
) -> Response:
    if not await access.revoke(conn, workspace_id, "api_key", credential_id, admin.actor):
        raise not_found(f"active API key {credential_id}")
    return Response(status_code=204)


@router.delete("/ingest-tokens/{credential_id}", status_code=204, summary="Revoke an ingest token")
async def revoke_ingest_token(
    workspace_id: WorkspaceId, credential_id: CredentialId, conn: Connection, admin: Admin
) -> Response:
    if not await access.revoke(conn, workspace_id, "ingest_token", credential_id, admin.actor):
        raise not_found(f"active ingest token {credential_id}")
    return Response(status_code=204)
