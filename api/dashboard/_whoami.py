"""GET /api/v1/workspaces/{workspaceId}/whoami: what the caller's key may do, so the dashboard shows only the
actions its role allows (a viewer sees no resolve button; the API refuses them anyway)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request

from ..deps import Viewer, WorkspaceId
from ..models import CamelModel

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}", tags=["dashboard"])


class WhoAmI(CamelModel):
    workspace_id: str
    role: Literal["viewer", "member", "admin"]
    key_id: str  # "anonymous" with authentication off
    auth: bool


@router.get("/whoami", response_model=WhoAmI, summary="The role of the caller's API key in this workspace")
async def whoami(request: Request, workspace_id: WorkspaceId, principal: Viewer) -> WhoAmI:
    return WhoAmI(
        workspace_id=workspace_id,
        role=principal.role,
        key_id=principal.key_id,
        auth=bool(request.app.state.config.auth),
    )
