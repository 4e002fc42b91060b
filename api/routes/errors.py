"""GET /api/v1/workspaces/{workspaceId}/errors, .../errors/{errorId}, .../errors/{errorId}/occurrences."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from .. import _convert, _cursor, redaction
from ..deps import Connection, Viewer, WorkspaceId
from ..labels import CategoryLabel, SeverityFilter, SourceLabel, StatusLabel
from ..models import ErrorDetails, ErrorPage, OccurrencePage
from ..problems import bad_request, not_found
from ..queries import chains as chain_queries
from ..queries import errors as queries

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}", tags=["errors"])

ErrorIdPath = Annotated[uuid.UUID, "errorId"]
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page")]
CHAINS_LISTED = 20


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
    status: StatusLabel | None = None,
    severity: Annotated[SeverityFilter, Query(description="Errors of this severity only")] = None,
    category: CategoryLabel | None = None,
    source: SourceLabel | None = None,
    agent_id: Annotated[str | None, Query(alias="agentId", max_length=256)] = None,
    user_id: Annotated[str | None, Query(alias="userId", max_length=256)] = None,
    environment: Annotated[str | None, Query(max_length=256)] = None,
    version: Annotated[str | None, Query(max_length=256)] = None,
    first_seen_from: Annotated[dt.datetime | None, Query(alias="firstSeenFrom")] = None,
    first_seen_to: Annotated[dt.datetime | None, Query(alias="firstSeenTo")] = None,
    last_seen_from: Annotated[dt.datetime | None, Query(alias="lastSeenFrom")] = None,
    last_seen_to: Annotated[dt.datetime | None, Query(alias="lastSeenTo")] = None,
    text: Annotated[str | None, Query(alias="q", max_length=200, description="Text in type or message")] = None,
    root_cause: Annotated[
        bool, Query(alias="rootCause", description="Only errors no cascading-failure chain lists as caused by another")
    ] = False,
    sort: queries.Sort = "lastSeen",
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
    matching = queries.ErrorFilter(
        status=status,
        severity=int(severity) if severity is not None else None,
        category=int(category) if category is not None else None,
        source=int(source) if source is not None else None,
        agent_id=agent_id,
        user_id=user_id,
        environment=environment,
        version=version,
        first_seen_from=_utc_or_none("firstSeenFrom", first_seen_from),
        first_seen_to=_utc_or_none("firstSeenTo", first_seen_to),
        last_seen_from=_utc_or_none("lastSeenFrom", last_seen_from),
        last_seen_to=_utc_or_none("lastSeenTo", last_seen_to),
        text=text or None,
        root_cause=root_cause,
    )
    rows = await queries.list_errors(conn, workspace_id, matching=matching, limit=limit + 1, after=after, sort=sort)
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
    page = ErrorPage(items=[_convert.item(row) for row in rows], next_cursor=next_cursor)
    return redaction.for_principal(page, principal, request.app.state.config.viewer_stacktraces)


@router.get("/errors/{error_id}", response_model=ErrorDetails, summary="One error with frames and samples")
async def get_error(
    request: Request, workspace_id: WorkspaceId, error_id: uuid.UUID, conn: Connection, principal: Viewer
) -> ErrorDetails:
    row = await queries.get_error(conn, workspace_id, error_id=error_id)
    if row is None:
        raise not_found(f"error {error_id}")
    samples = await queries.list_occurrences(
        conn, workspace_id, error_id=error_id, limit=5, after=None, with_stacktrace=True, since=row.first_seen
    )
    chains = await chain_queries.chains_of_error(conn, workspace_id, error_id=error_id, limit=CHAINS_LISTED)
    involved = sorted({e for c in chains for e in (c.root_error_id, *c.cascade_error_ids)})
    briefs = await chain_queries.briefs(conn, workspace_id, error_ids=involved)
    details = _convert.details(row, samples, chains=chains, briefs=briefs)
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
    first_seen = await queries.first_seen(conn, workspace_id, error_id=error_id)
    if first_seen is None:
        raise not_found(f"error {error_id}")
    rows = await queries.list_occurrences(
        conn, workspace_id, error_id=error_id, limit=limit + 1, after=after, since=first_seen
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _cursor.encode(rows[-1].occurred_at.isoformat(), str(rows[-1].occurrence_id)) if more else None
    page = OccurrencePage(items=[_convert.occurrence(row) for row in rows], next_cursor=next_cursor)
    return redaction.for_principal(page, principal, request.app.state.config.viewer_stacktraces)


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
