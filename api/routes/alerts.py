"""Alerts and incidents (viewer role): GET .../alerts?status=firing|resolved and GET .../incidents."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from otel_errors import Severity
from otel_errors.exporter.alerts import conditions, records

from .. import _cursor, redaction
from ..deps import Connection, Viewer, WorkspaceId
from ..labels import SeverityLabel, stored
from ..models import CamelModel
from ..problems import bad_request

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}", tags=["alerts"])


class AlertRule(CamelModel):
    rule_id: str
    name: str | None = None  # None: the rule was deleted since
    kind: str


class AlertError(CamelModel):
    error_id: str
    title: str | None
    status: str | None


class Delivery(CamelModel):
    destination_id: str
    event: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


class AlertOut(CamelModel):
    alert_id: str
    rule: AlertRule
    status: Literal["firing", "resolved"]
    title: str
    severity: SeverityLabel
    errors: list[AlertError]
    primary_error_id: str | None
    agent_id: str | None
    value: float | None
    threshold: float | None
    incident_id: str | None
    first_fired_at: dt.datetime
    last_fired_at: dt.datetime
    last_notified_at: dt.datetime
    notifications: int
    resolved_at: dt.datetime | None
    resolved_reason: str | None
    deliveries: list[Delivery]


class AlertPage(CamelModel):
    items: list[AlertOut]
    next_cursor: str | None


class IncidentOut(CamelModel):
    incident_id: str
    status: Literal["open", "resolved"]
    title: str
    severity: SeverityLabel
    root_error_id: str | None
    agent_id: str | None
    alerts: int
    alert_ids: list[str]
    opened_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None


class IncidentList(CamelModel):
    items: list[IncidentOut]


def _severity(value: int) -> Severity:
    return stored(Severity, value, default=Severity.MEDIUM)


@router.get("/alerts", response_model=AlertPage, summary="Alerts, the most recently fired first")
async def list_alerts(
    request: Request,
    workspace_id: WorkspaceId,
    conn: Connection,
    principal: Viewer,
    status: Annotated[Literal["firing", "resolved"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AlertPage:
    before = None
    if cursor:
        at, alert_id = _cursor.decode(cursor, 2)
        try:
            before = (dt.datetime.fromisoformat(str(at)), uuid.UUID(str(alert_id)))
        except ValueError:
            raise bad_request("cursor is not valid; use the nextCursor of a previous page") from None
    rows = await records.list_alerts(conn, workspace_id, status=status, limit=limit + 1, before=before)
    more = len(rows) > limit
    rows = rows[:limit]
    errors = await conditions.errors(conn, workspace_id, sorted({e for r in rows for e in r.error_ids}))
    items = [_alert_out(row, errors) for row in rows]
    page = AlertPage(
        items=items,
        next_cursor=_cursor.encode(rows[-1].last_fired_at.isoformat(), str(rows[-1].alert_id)) if more else None,
    )
    return redaction.for_principal(page, principal, request.app.state.config.viewer_stacktraces)


def _alert_out(row: records.AlertRow, errors: dict[uuid.UUID, Any]) -> AlertOut:
    return AlertOut(
        alert_id=str(row.alert_id),
        rule=AlertRule(rule_id=str(row.rule_id), name=row.rule_name, kind=row.kind),
        status=row.status,  # type: ignore[arg-type]
        title=row.title,
        severity=_severity(row.severity),
        errors=[
            AlertError(
                error_id=str(e),
                title=errors[e].title if e in errors else None,
                status=errors[e].facts.status if e in errors else None,
            )
            for e in row.error_ids
        ],
        primary_error_id=str(row.primary_error_id) if row.primary_error_id else None,
        agent_id=row.agent_id or None,
        value=row.value,
        threshold=row.threshold,
        incident_id=str(row.incident_id) if row.incident_id else None,
        first_fired_at=row.first_fired_at,
        last_fired_at=row.last_fired_at,
        last_notified_at=row.last_notified_at,
        notifications=row.notifications,
        resolved_at=row.resolved_at,
        resolved_reason=row.resolved_reason,
        deliveries=[Delivery(**d) for d in row.deliveries],
    )


@router.get("/incidents", response_model=IncidentList, summary="Incidents (grouped alerts), the most recent first")
async def list_incidents(
    request: Request,
    workspace_id: WorkspaceId,
    conn: Connection,
    principal: Viewer,
    status: Annotated[Literal["open", "resolved"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> IncidentList:
    rows = await records.list_incidents(conn, workspace_id, status=status, limit=limit)
    result = IncidentList(
        items=[
            IncidentOut(
                incident_id=str(r.incident_id),
                status=r.status,  # type: ignore[arg-type]
                title=r.title,
                severity=_severity(r.severity),
                root_error_id=str(r.root_error_id) if r.root_error_id else None,
                agent_id=r.agent_id or None,
                alerts=r.alerts,
                alert_ids=[str(a) for a in r.alert_ids],
                opened_at=r.opened_at,
                updated_at=r.updated_at,
                resolved_at=r.resolved_at,
            )
            for r in rows
        ]
    )
    return redaction.for_principal(result, principal, request.app.state.config.viewer_stacktraces)
