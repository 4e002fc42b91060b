"""GET /metrics: the worker's self-telemetry in the Prometheus text format (no workspace data: counts only)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..problems import not_found

router = APIRouter(tags=["health"])

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/metrics", summary="Self-telemetry (Prometheus text format)", response_class=Response)
async def metrics(request: Request) -> Response:
    exposition = getattr(request.app.state, "metrics", None)
    if exposition is None:  # an API without a receiver beside it has nothing to report
        raise not_found("metrics")
    return Response(exposition(), media_type=CONTENT_TYPE)
