"""GET .../stream: server-sent events of new errors, regressions, alerts and incident changes (viewer role).

Each event is `id: <n>` (consecutive per workspace), `event: <kind>`, `data: <JSON>`. A reconnecting client sends
`Last-Event-ID` (or `?lastEventId=`) and receives what it missed, up to `stream_resume_events` of the events kept
(`OTEL_ERRORS_ALERT_STREAM_RETENTION_SECONDS`). A comment line is sent every `stream_heartbeat_seconds`.

No pooled connection is held while streaming: the resume and any gap are read on a pooled connection briefly, and
new events arrive through the process's hub (`otel_errors.exporter.alerts.StreamHub`). A client that reads too
slowly fills its bounded queue and is disconnected; it resumes where it left off.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from psycopg_pool import AsyncConnectionPool

from otel_errors.exporter.alerts import StreamHub, TooManySubscribers, records

from .. import redaction
from ..deps import Viewer, WorkspaceId, still_allowed
from ..problems import ApiError, bad_request

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}", tags=["alerts"])


def _frame(event: records.EventRow, data: Any) -> bytes:
    return f"id: {event.event_id}\nevent: {event.kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@router.get(
    "/stream",
    summary="Server-sent events: new errors, regressions, alerts, incidents",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    request: Request,
    workspace_id: WorkspaceId,
    principal: Viewer,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
    last_event_id_query: Annotated[str | None, Query(alias="lastEventId", max_length=20)] = None,
) -> StreamingResponse:
    config = request.app.state.config
    hub: StreamHub = request.app.state.hub
    pool: AsyncConnectionPool[Any] = request.app.state.pool
    resume = last_event_id if last_event_id is not None else last_event_id_query
    if resume is not None and not (resume.isascii() and resume.isdigit()):
        raise bad_request("Last-Event-ID must be the id of an event")
    try:
        sub = await hub.subscribe(workspace_id)
    except TooManySubscribers as exc:
        raise ApiError(503, "unavailable", str(exc)) from None
    try:
        async with pool.connection() as conn:
            start = int(resume) if resume is not None else await records.head(conn, workspace_id)
            backlog = (
                await records.events_after(conn, workspace_id, start, limit=config.stream_resume_events)
                if resume is not None
                else []
            )
    except BaseException:
        hub.unsubscribe(sub)
        raise

    policy = config.viewer_stacktraces

    def data(event: records.EventRow) -> Any:
        return redaction.for_principal_value(event.data, principal, policy)

    async def events() -> AsyncIterator[bytes]:
        last = start
        try:
            yield b"retry: 2000\n: connected\n\n"
            for event in backlog:
                yield _frame(event, data(event))
                last = event.event_id
            while not sub.overflowed:
                try:
                    event = await asyncio.wait_for(sub.queue.get(), config.stream_heartbeat_seconds)
                except TimeoutError:
                    if not await still_allowed(request, workspace_id, "viewer"):
                        return  # the key was revoked or lost the role: the stream ends with it
                    yield b": heartbeat\n\n"
                    continue
                if event.event_id <= last:
                    continue
                if event.event_id > last + 1:  # missed (a resume cut short, or events before the hub's cursor)
                    async with pool.connection() as conn:
                        gap = await records.events_after(
                            conn, workspace_id, last, before=event.event_id, limit=config.stream_resume_events
                        )
                    for missed in gap:
                        yield _frame(missed, data(missed))
                yield _frame(event, data(event))
                last = event.event_id
        finally:
            hub.unsubscribe(sub)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
