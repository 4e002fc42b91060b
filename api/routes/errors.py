"""GET /api/v1/workspaces/{workspaceId}/errors, .../errors/{errorId}, .../errors/{errorId}/occurrences."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from .. import _cursor, labels, redaction
from ..deps import Connection, Viewer, WorkspaceId
from ..models import (
    ErrorContext,
    ErrorDetails,
    ErrorImpact,
    ErrorItem,
    ErrorPage,
    Occurrence,
    OccurrencePage,
    Resolution,
    Sample,
)
from ..problems import bad_request, not_found
from ..queries import errors as q

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}", tags=["errors"])

ErrorIdPath = Annotated[uuid.UUID, "errorId"]
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page")]


@router.get(
    "/errors",
    response_model=ErrorPage,
    summary="List errors (issues): filters, sort (descending), keyset cursor pagination",
)
async def list_errors(
    request: Request,
    workspace_id: WorkspaceId,
    conn: Connection,
    principal: Viewer,
    status: Literal["new", "acknowledged", "investigating", "resolved", "ignored"] | None = None,
    severity: Literal["all", "critical", "high", "medium", "low"] | None = None,
    category: Literal["api", "timeout", "validation", "auth", "system", "unknown"] | None = None,
    source: Literal["agent", "api", "database", "integration", "system"] | None = None,
    agent_id: Annotated[str | None, Query(alias="agentId", max_length=256)] = None,
    user_id: Annotated[str | None, Query(alias="userId", max_length=256)] = None,
    environment: Annotated[str | None, Query(max_length=256)] = None,
    version: Annotated[str | None, Query(max_length=256)] = None,
    first_seen_from: Annotated[dt.datetime | None, Query(alias="firstSeenFrom")] = None,
    first_seen_to: Annotated[dt.datetime | None, Query(alias="firstSeenTo")] = None,
    last_seen_from: Annotated[dt.datetime | None, Query(alias="lastSeenFrom")] = None,
    last_seen_to: Annotated[dt.datetime | None, Query(alias="lastSeenTo")] = None,
    text: Annotated[str | None, Query(alias="q", max_length=200, description="Text in type or message")] = None,
    sort: Literal["lastSeen", "firstSeen", "occurrences", "users"] = "lastSeen",
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ErrorPage:
    after = None
    if cursor:
        cursor_sort, cursor_key, error_id = _cursor.decode(cursor, 3)
        if cursor_sort != sort:
            raise bad_request("cursor belongs to another sort order; use the nextCursor of a previous page")
        after = (
            _parse_time(cursor_key) if sort in ("lastSeen", "firstSeen") else _parse_int(cursor_key),
            _parse_uuid(error_id),
        )
    flt = q.ErrorFilter(
        status=status,
        severity=labels.SEVERITY_VALUE.get(severity or "all"),
        category=labels.CATEGORY_VALUE.get(category) if category else None,
        source=labels.SOURCE_VALUE.get(source) if source else None,
        agent_id=agent_id,
        user_id=user_id,
        environment=environment,
        version=version,
        first_seen_from=_utc_or_none("firstSeenFrom", first_seen_from),
        first_seen_to=_utc_or_none("firstSeenTo", first_seen_to),
        last_seen_from=_utc_or_none("lastSeenFrom", last_seen_from),
        last_seen_to=_utc_or_none("lastSeenTo", last_seen_to),
        text=text or None,
    )
    rows = await q.list_errors(conn, workspace_id, flt, limit + 1, after, sort=sort)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        key: Any = {
            "lastSeen": last.last_seen.isoformat(),
            "firstSeen": last.first_seen.isoformat(),
            "occurrences": last.occurrences,
            "users": last.users,
        }[sort]
        next_cursor = _cursor.encode(sort, key, str(last.error_id))
    page = ErrorPage(items=[item(r) for r in rows], next_cursor=next_cursor)
    return redaction.for_principal(page, principal, request.app.state.config.viewer_stacktraces)


@router.get("/errors/{error_id}", response_model=ErrorDetails, summary="One error with frames and samples")
async def get_error(
    request: Request, workspace_id: WorkspaceId, error_id: uuid.UUID, conn: Connection, principal: Viewer
) -> ErrorDetails:
    row = await q.get_error(conn, workspace_id, error_id)
    if row is None:
        raise not_found(f"error {error_id}")
    samples = await q.list_occurrences(
        conn, workspace_id, error_id, 5, None, with_stacktrace=True, since=row.first_seen
    )
    grouping = row.grouping or {}
    details = ErrorDetails(
        **item(row).model_dump(by_alias=False),
        frames=list(grouping.get("frames") or []),
        chain=list(grouping.get("chain") or []),
        grouping=grouping.get("component"),
        samples=[
            Sample(
                occurrence_id=str(s.occurrence_id),
                occurred_at=s.occurred_at,
                message=s.message,
                stack_trace=s.stacktrace or "",
                trace_id=s.trace_id.hex(),
                span_id=s.span_id.hex(),
            )
            for s in samples
        ],
    )
    return redaction.for_principal(details, principal, request.app.state.config.viewer_stacktraces)


@router.get(
    "/errors/{error_id}/occurrences", response_model=OccurrencePage, summary="Occurrences of one error, newest first"
)
async def list_occurrences(
    request: Request,
    workspace_id: WorkspaceId,
    error_id: uuid.UUID,
    conn: Connection,
    principal: Viewer,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> OccurrencePage:
    after = None
    if cursor:
        occurred_at, occurrence_id = _cursor.decode(cursor, 2)
        after = (_parse_time(occurred_at), _parse_uuid(occurrence_id))
    first_seen = await q.first_seen(conn, workspace_id, error_id)
    if first_seen is None:
        raise not_found(f"error {error_id}")
    rows = await q.list_occurrences(conn, workspace_id, error_id, limit + 1, after, since=first_seen)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _cursor.encode(rows[-1].occurred_at.isoformat(), str(rows[-1].occurrence_id)) if more else None
    page = OccurrencePage(items=[_occurrence(r) for r in rows], next_cursor=next_cursor)
    return redaction.for_principal(page, principal, request.app.state.config.viewer_stacktraces)


def item(r: q.ErrorRow) -> ErrorItem:
    resolution = None
    if r.status == "resolved" and r.resolved_at is not None:
        resolution = Resolution(
            resolved_at=r.resolved_at,
            resolved_by=r.resolved_by or "",
            resolution=r.resolution or "",
            root_cause=r.root_cause,
            preventive_measures=list(r.preventive_measures or []),
        )
    return ErrorItem(
        error_id=str(r.error_id),
        fingerprint=r.fingerprint,
        fingerprint_config=r.fingerprint_config,
        type=r.type,
        message=r.message,
        title=r.title,
        culprit=r.culprit,
        severity=labels.SEVERITY.get(r.severity, "medium"),  # type: ignore[arg-type]
        status=r.status,  # type: ignore[arg-type]
        category=labels.CATEGORY.get(r.category, "unknown"),  # type: ignore[arg-type]
        source=labels.SOURCE.get(r.source, "system"),  # type: ignore[arg-type]
        first_seen=r.first_seen,
        last_seen=r.last_seen,
        occurrences=r.occurrences,
        affected_users=list(r.top_users),
        affected_agents=list(r.top_agents),
        stack_trace=r.stacktrace,
        context=ErrorContext(
            agent_id=r.agent_id or None,
            user_id=r.user_id or None,
            workspace_id=r.workspace_id,
            environment=r.environment,
            version=r.version,
            metadata=r.context or {},
        ),
        impact=ErrorImpact(
            users_affected=r.users,
            agents_affected=r.agents,
            executions_affected=r.executions_affected,
            credits_lost=r.credits_lost,
            cascading_failures=0,
        ),
        regressed_at=r.regressed_at,
        resolution=resolution,
    )


def _occurrence(r: q.OccurrenceRow) -> Occurrence:
    return Occurrence(
        occurrence_id=str(r.occurrence_id),
        occurred_at=r.occurred_at,
        trace_id=r.trace_id.hex(),
        span_id=r.span_id.hex(),
        parent_span_id=r.parent_span_id.hex(),
        span_name=r.span_name,
        origin=labels.ORIGIN.get(r.origin, "span_event"),  # type: ignore[arg-type]
        severity=labels.SEVERITY.get(r.severity, "medium"),  # type: ignore[arg-type]
        handled=r.handled,
        user_id=r.user_id or None,
        agent_id=r.agent_id or None,
        environment=r.environment,
        version=r.version,
        message=r.message,
        credits=r.credits,
        attributes=_attributes(r.attributes),
    )


def _attributes(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, dict) else {}
    return {}


def _parse_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise bad_request("cursor is not valid; use the nextCursor of a previous page")


def _parse_time(value: Any) -> dt.datetime:
    try:
        return _utc("cursor", dt.datetime.fromisoformat(str(value)))
    except ValueError:
        raise bad_request("cursor is not valid; use the nextCursor of a previous page") from None


def _utc_or_none(name: str, value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else _utc(name, value)


def _utc(name: str, value: dt.datetime) -> dt.datetime:
    """In UTC (naive means UTC). PostgreSQL refuses UTC offsets beyond ±15:59 that Python parses (a 500 before)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise bad_request(f"{name} is out of range") from None


def _parse_uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise bad_request("cursor is not valid; use the nextCursor of a previous page") from None
