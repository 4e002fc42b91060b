"""The status workflow: POST .../errors/{errorId}/status and .../resolve (member role, audited);
GET .../audit-log (admin, read-only: no endpoint edits or deletes audit entries).

Transitions (setting the current status again is a 409 "already <status>"):

    new           -> acknowledged | investigating | ignored | resolved
    acknowledged  -> new | investigating | ignored | resolved
    investigating -> new | acknowledged | ignored | resolved
    ignored       -> new            (un-ignore)
    resolved      -> new            (reopen; an occurrence after resolution does it too: a regression)
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from otel_errors.exporter import audit
from otel_errors.exporter.alerts import records as alert_records

from .. import _convert, _cursor
from ..deps import Admin, Connection, Member, WorkspaceId
from ..labels import Status
from ..models import AuditPage, ErrorItem, ResolveBody, StatusChange
from ..problems import ApiError, bad_request, not_found
from ..queries import errors as error_queries
from ..queries import status as queries

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}", tags=["workflow"])

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.IGNORED, Status.RESOLVED}),
    Status.ACKNOWLEDGED: frozenset({Status.NEW, Status.INVESTIGATING, Status.IGNORED, Status.RESOLVED}),
    Status.INVESTIGATING: frozenset({Status.NEW, Status.ACKNOWLEDGED, Status.IGNORED, Status.RESOLVED}),
    Status.IGNORED: frozenset({Status.NEW}),
    Status.RESOLVED: frozenset({Status.NEW}),
}


def check_transition(current: Status, target: Status) -> None:
    """Raise the 409 for a transition the state machine does not allow."""
    if current == target:
        raise ApiError(409, "conflict", f"the error is already {current}")
    allowed = TRANSITIONS.get(current, frozenset())
    if target not in allowed:
        raise ApiError(
            409,
            "conflict",
            f"cannot change status from {current} to {target}; allowed from"
            f" {current}: {', '.join(sorted(allowed)) or 'nothing'}",
        )


async def _lock_for(conn: Connection, workspace_id: str, *, error_id: uuid.UUID, target: Status) -> Status:
    """The error's status, its row locked until the transaction ends, once moving it to `target` is allowed."""
    current = await queries.lock(conn, workspace_id, error_id=error_id)
    if current is None:
        raise not_found(f"error {error_id}")
    check_transition(Status(current), target)
    return Status(current)


async def _resolve_alerts(
    request: Request, conn: Connection, workspace_id: str, error_id: uuid.UUID, reason: str
) -> None:
    """The error's firing alerts resolve with it (resolved, or ignored: ignored errors never alert)."""
    await alert_records.lock_workspace(conn, workspace_id)
    ids = await alert_records.firing_for_error(conn, workspace_id, error_id)
    events = await alert_records.resolve(
        conn, workspace_id, ids, reason=reason, link_base=request.app.state.config.link_base
    )
    await alert_records.append_events(conn, workspace_id, events)


async def _reply(conn: Connection, workspace_id: str, *, error_id: uuid.UUID) -> ErrorItem:
    row = await error_queries.get_error(conn, workspace_id, error_id=error_id, people=10)
    if row is None:
        raise not_found(f"error {error_id}")
    return _convert.item(row)


@router.post(
    "/errors/{error_id}/status",
    response_model=ErrorItem,
    summary="Change an error's status (new, acknowledged, investigating, ignored)",
    responses={409: {"description": "transition not allowed"}},
)
async def change_status(
    request: Request,
    workspace_id: WorkspaceId,
    error_id: uuid.UUID,
    body: StatusChange,
    conn: Connection,
    principal: Member,
) -> ErrorItem:
    async with conn.transaction():
        current = await _lock_for(conn, workspace_id, error_id=error_id, target=body.status)
        await queries.set_status(conn, workspace_id, error_id=error_id, status=body.status)
        await audit.record(
            conn,
            workspace_id,
            actor=principal.actor,
            action="error.status",
            target=f"error/{error_id}",
            before={"status": current.value},
            after={"status": body.status.value},
        )
        if body.status == Status.IGNORED:
            await _resolve_alerts(request, conn, workspace_id, error_id, "error ignored")
    return await _reply(conn, workspace_id, error_id=error_id)


@router.post(
    "/errors/{error_id}/resolve",
    response_model=ErrorItem,
    summary="Resolve an error",
    responses={409: {"description": "already resolved, or ignored"}},
)
async def resolve(
    request: Request,
    workspace_id: WorkspaceId,
    error_id: uuid.UUID,
    body: ResolveBody,
    conn: Connection,
    principal: Member,
) -> ErrorItem:
    async with conn.transaction():
        current = await _lock_for(conn, workspace_id, error_id=error_id, target=Status.RESOLVED)
        resolved_at = await queries.resolve(
            conn,
            workspace_id,
            error_id=error_id,
            resolved_by=body.resolved_by,
            resolution=body.resolution,
            root_cause=body.root_cause,
            preventive_measures=list(body.preventive_measures),
        )
        after = {
            "status": Status.RESOLVED.value,
            "resolvedAt": resolved_at.isoformat(),
            "resolvedBy": body.resolved_by,
            "resolution": body.resolution,
            "rootCause": body.root_cause,
            "preventiveMeasures": list(body.preventive_measures),
        }
        await audit.record(
            conn,
            workspace_id,
            actor=principal.actor,
            action="error.resolve",
            target=f"error/{error_id}",
            before={"status": current.value},
            after=after,
        )
        await _resolve_alerts(request, conn, workspace_id, error_id, "error resolved")
    return await _reply(conn, workspace_id, error_id=error_id)


@router.get("/audit-log", response_model=AuditPage, summary="The audit log, newest first (admin only)")
async def audit_log(
    workspace_id: WorkspaceId,
    conn: Connection,
    _principal: Admin,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AuditPage:
    after = None
    if cursor:
        at, entry_id = _cursor.decode(cursor, 2)
        try:
            after = (dt.datetime.fromisoformat(str(at)), uuid.UUID(str(entry_id)))
        except ValueError:
            raise bad_request("cursor is not valid; use the nextCursor of a previous page") from None
    rows = await audit.list_entries(conn, workspace_id, limit + 1, after=after)
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        items=[_convert.audit_entry(row) for row in rows],
        next_cursor=_cursor.encode(rows[-1].at.isoformat(), str(rows[-1].entry_id)) if more else None,
    )
