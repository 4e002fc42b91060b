"""GET /healthz: the database answers and ingest is not degraded."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..models import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(request: Request) -> Any:
    database: Literal["ok", "unavailable"] = "ok"
    ingest: Literal["ok", "degraded", "not running"]
    detail = ""
    try:
        async with request.app.state.pool.connection(timeout=2.0) as conn:
            await conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database is "unavailable", with the reason
        database = "unavailable"
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    store = getattr(request.app.state, "store", None)
    if store is None:
        ingest = "not running"
    else:
        ingest = "ok" if store.healthy else "degraded"
        if not store.healthy and not detail:
            detail = store.last_error
    ok = database == "ok" and ingest != "degraded"
    body = Health(
        status="ok" if ok else "degraded",
        database=database,
        ingest=ingest,
        detail=detail,
    )
    return JSONResponse(body.model_dump(by_alias=True), status_code=200 if ok else 503)
