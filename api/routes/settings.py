"""GET/PUT /api/v1/workspaces/{workspaceId}/rules: PII scrubbing and in-app rules (admin; audited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from otel_errors.config import WorkspaceRules
from otel_errors.exporter import accounts

from ..deps import Admin, Connection, Viewer, WorkspaceId
from ..problems import ApiError

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}", tags=["rules"])

_EXAMPLE = {
    "scrub": {"scrub_ips": False, "allow_keys": ["order.id"], "extra_patterns": {"ticket": r"TCK-\d+"}},
    "grouping": {"in_app_include": ["acme_vendor."], "in_app_exclude": ["app.generated."]},
}


@router.get("/rules", summary="The workspace's PII scrubbing and grouping rules")
async def get_rules(workspace_id: WorkspaceId, conn: Connection, _viewer: Viewer) -> dict[str, Any]:
    try:
        return (await accounts.get_rules(conn, workspace_id)).to_dict()
    except ValueError as exc:  # stored by an older version, refused by this one: defaults apply until replaced
        raise ApiError(409, "conflict", f"the stored rules are no longer valid ({exc}); PUT new rules") from None


@router.put("/rules", summary="Replace the workspace's rules (applies to data received from now on)")
async def put_rules(
    workspace_id: WorkspaceId,
    conn: Connection,
    admin: Admin,
    body: Annotated[dict[str, Any], Body(examples=[_EXAMPLE])],
) -> dict[str, Any]:
    try:
        rules = WorkspaceRules.from_dict(body)
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    return (await accounts.put_rules(conn, workspace_id, rules, actor=admin.actor)).to_dict()
