"""GET /api/v1/workspaces/{workspaceId}/error-tracking: the seed's whole `ErrorTracking` object (docs/metrics.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from otel_errors.analytics import TimeframeLabel

from .. import redaction, tracking
from ..deps import Connection, Pool, Viewer, WorkspaceId
from ..labels import SeverityFilter

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}", tags=["analytics"])


@router.get(
    "/error-tracking",
    response_model=tracking.ErrorTracking,
    summary="The whole error-tracking object for a timeframe ending now",
)
async def error_tracking(
    request: Request,
    workspace_id: WorkspaceId,
    conn: Connection,
    pool: Pool,
    principal: Viewer,
    timeframe: TimeframeLabel = "24h",
    severity: Annotated[SeverityFilter, Query(description="Occurrences of this severity only")] = None,
) -> tracking.ErrorTracking:
    config = request.app.state.config
    found = await tracking.error_tracking(
        pool,
        conn,
        workspace_id=workspace_id,
        timeframe=timeframe,
        severity=severity,
        price_per_credit=config.price_per_credit,
    )
    return redaction.for_principal(found, principal, config.viewer_stacktraces)
