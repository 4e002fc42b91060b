"""Admin routes of alerting: rules (GET/POST/PATCH/DELETE .../alert-rules) and webhook destinations
(.../alert-destinations, and a test notification to one). Every change and every test is audited; a destination's
secret is in its creation (or rotation) response only. docs/alerts.md describes the fields."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import time
import urllib.parse
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import Field

from otel_errors import alerting
from otel_errors.alerting import DEFAULT_RULES, RuleKind
from otel_errors.exporter import audit
from otel_errors.exporter.alerts import delivery, payloads, records, rules

from ..deps import Admin, Connection, Pool, WorkspaceId
from ..labels import CategoryLabel, SeverityLabel
from ..models import CamelModel
from ..problems import ApiError, not_found

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}", tags=["alerts"])

Text = Annotated[str, Field(max_length=200)]


class RuleFilters(CamelModel):
    environment: Text | None = None
    agent_id: Text | None = None
    category: CategoryLabel | None = None
    severity: SeverityLabel | None = Field(default=None, description="at or above this severity")


class RuleIn(CamelModel):
    kind: RuleKind
    name: Text = ""
    enabled: bool = True
    filters: RuleFilters = Field(default_factory=RuleFilters)
    window_minutes: int | None = None
    baseline_minutes: int | None = None
    threshold: float | None = None
    min_count: int | None = None
    users: int | None = None
    renotify_minutes: int | None = None


class RulePatch(CamelModel):
    name: Text | None = None
    enabled: bool | None = None
    filters: RuleFilters | None = None
    window_minutes: int | None = None
    baseline_minutes: int | None = None
    threshold: float | None = None
    min_count: int | None = None
    users: int | None = None
    renotify_minutes: int | None = None


class RuleOut(CamelModel):
    rule_id: str
    kind: RuleKind
    name: str
    enabled: bool
    filters: RuleFilters
    window_minutes: int
    baseline_minutes: int
    threshold: float
    min_count: int
    users: int | None
    renotify_minutes: int
    created_at: dt.datetime
    updated_at: dt.datetime


class RuleList(CamelModel):
    items: list[RuleOut]


def _rule_out(row: rules.RuleRow) -> RuleOut:
    spec = row.spec()
    return RuleOut(
        rule_id=str(row.rule_id),
        kind=spec.kind,
        name=spec.name,
        enabled=spec.enabled,
        filters=RuleFilters(
            environment=spec.environment,
            agent_id=spec.agent_id,
            category=spec.category,
            severity=spec.min_severity,
        ),
        window_minutes=spec.window_minutes,
        baseline_minutes=spec.baseline_minutes,
        threshold=spec.threshold,
        min_count=spec.min_count,
        users=spec.users,
        renotify_minutes=spec.renotify_minutes,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


_NUMBERS = ("window_minutes", "baseline_minutes", "threshold", "min_count", "users", "renotify_minutes")


def _changes(body: RuleIn | RulePatch) -> dict[str, Any]:
    """The RuleSpec fields the body sets (a PATCH's filters object replaces all four filters)."""
    changes: dict[str, Any] = {}
    for name in ("name", "enabled", *_NUMBERS):
        if name in body.model_fields_set and (getattr(body, name) is not None or name == "users"):
            changes[name] = getattr(body, name)
    filters = body.filters
    if filters is not None and ("filters" in body.model_fields_set or isinstance(body, RuleIn)):
        changes.update(
            environment=filters.environment,
            agent_id=filters.agent_id,
            category=filters.category,
            min_severity=filters.severity,
        )
    return changes


def _invalid(exc: Exception) -> ApiError:
    return ApiError(422, "invalid_request", str(exc))


@router.get("/alert-rules", response_model=RuleList, summary="Alert rules (admin)")
async def list_rules(workspace_id: WorkspaceId, conn: Connection, _admin: Admin) -> RuleList:
    await rules.ensure_defaults(conn, workspace_id)
    return RuleList(items=[_rule_out(r) for r in await rules.list_rules(conn, workspace_id)])


@router.post("/alert-rules", response_model=RuleOut, status_code=201, summary="Create an alert rule (admin)")
async def create_rule(workspace_id: WorkspaceId, body: RuleIn, conn: Connection, admin: Admin) -> RuleOut:
    base = next(spec for spec in DEFAULT_RULES if spec.kind == body.kind)
    try:
        spec = dataclasses.replace(base, **_changes(body))
    except (ValueError, TypeError) as exc:
        raise _invalid(exc) from None
    await rules.ensure_defaults(conn, workspace_id)
    try:
        return _rule_out(await rules.create_rule(conn, workspace_id, spec, actor=admin.actor))
    except rules.LimitReached as exc:
        raise _invalid(exc) from None


@router.patch("/alert-rules/{rule_id}", response_model=RuleOut, summary="Change an alert rule (admin)")
async def update_rule(
    request: Request, workspace_id: WorkspaceId, rule_id: uuid.UUID, body: RulePatch, conn: Connection, admin: Admin
) -> RuleOut:
    async with conn.transaction():
        try:
            row = await rules.update_rule(conn, workspace_id, rule_id, _changes(body), actor=admin.actor)
        except (ValueError, TypeError) as exc:
            raise _invalid(exc) from None
        if row is None:
            raise not_found(f"alert rule {rule_id}")
        if not row.enabled:
            await _resolve_rule_alerts(request, conn, workspace_id, rule_id, "rule disabled")
    return _rule_out(row)


@router.delete("/alert-rules/{rule_id}", status_code=204, summary="Delete an alert rule (admin)")
async def delete_rule(
    request: Request, workspace_id: WorkspaceId, rule_id: uuid.UUID, conn: Connection, admin: Admin
) -> Response:
    async with conn.transaction():
        if not await rules.delete_rule(conn, workspace_id, rule_id, actor=admin.actor):
            raise not_found(f"alert rule {rule_id}")
        await _resolve_rule_alerts(request, conn, workspace_id, rule_id, "rule deleted")
    return Response(status_code=204)


async def _resolve_rule_alerts(
    request: Request, conn: Connection, workspace_id: str, rule_id: uuid.UUID, reason: str
) -> None:
    await records.lock_workspace(conn, workspace_id)
    ids = await records.firing_for_rule(conn, workspace_id, rule_id)
    link_base = request.app.state.config.link_base
    events = await records.resolve(conn, workspace_id, ids, reason=reason, link_base=link_base)
    await records.append_events(conn, workspace_id, events)


# -- destinations ------------------------------------------------------------------------------------------------

Url = Annotated[str, Field(max_length=2000)]


class DestinationIn(CamelModel):
    name: Text = ""
    url: Url
    format: Literal["json", "slack"] = "json"


class DestinationPatch(CamelModel):
    name: Text | None = None
    url: Url | None = None
    format: Literal["json", "slack"] | None = None
    enabled: bool | None = None
    rotate_secret: bool = False


class DestinationOut(CamelModel):
    destination_id: str
    name: str
    url: str
    format: Literal["json", "slack"]
    enabled: bool
    secret_hint: str = Field(description="the secret's prefix and last four characters")
    created_at: dt.datetime
    updated_at: dt.datetime


class NewDestinationOut(DestinationOut):
    secret: str = Field(description="the HMAC-SHA256 key of the signature header: shown here only")


class DestinationList(CamelModel):
    items: list[DestinationOut]


def _destination_out(row: rules.DestinationRow) -> DestinationOut:
    return DestinationOut(
        destination_id=str(row.destination_id),
        name=row.name,
        url=row.url,
        format=row.format,  # type: ignore[arg-type]
        enabled=row.enabled,
        secret_hint=row.secret_hint,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def check_url(url: str, *, allow_private: bool) -> None:
    """422 for what can never be a webhook: not http(s), no host, or a literal refused address. Names are resolved
    and checked at every delivery (they can change)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ApiError(422, "invalid_request", "url must be an http:// or https:// URL with a host")
    try:
        parsed.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ApiError(422, "invalid_request", "url has an invalid port") from None
    if allow_private:
        return
    host = parsed.hostname
    if host == "localhost" or host.endswith(".localhost"):
        raise ApiError(422, "invalid_request", "refused: localhost (OTEL_ERRORS_ALERT_ALLOW_PRIVATE_WEBHOOKS)")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return
    reason = alerting.refused_address(host)
    if reason is not None:
        raise ApiError(422, "invalid_request", f"refused: {reason} (OTEL_ERRORS_ALERT_ALLOW_PRIVATE_WEBHOOKS)")


@router.get("/alert-destinations", response_model=DestinationList, summary="Webhook destinations (admin)")
async def list_destinations(workspace_id: WorkspaceId, conn: Connection, _admin: Admin) -> DestinationList:
    return DestinationList(items=[_destination_out(r) for r in await rules.list_destinations(conn, workspace_id)])


@router.post("/alert-destinations", response_model=NewDestinationOut, status_code=201, summary="Add a webhook (admin)")
async def create_destination(
    request: Request, workspace_id: WorkspaceId, body: DestinationIn, conn: Connection, admin: Admin
) -> NewDestinationOut:
    check_url(body.url, allow_private=request.app.state.config.allow_private_webhooks)
    try:
        row = await rules.create_destination(
            conn, workspace_id, name=body.name, url=body.url, format=body.format, actor=admin.actor
        )
    except rules.LimitReached as exc:
        raise _invalid(exc) from None
    return NewDestinationOut(**_destination_out(row).model_dump(), secret=row.secret)


@router.patch(
    "/alert-destinations/{destination_id}",
    response_model=DestinationOut | NewDestinationOut,
    summary="Change a webhook; rotateSecret returns a new secret once (admin)",
)
async def update_destination(
    request: Request,
    workspace_id: WorkspaceId,
    destination_id: uuid.UUID,
    body: DestinationPatch,
    conn: Connection,
    admin: Admin,
) -> DestinationOut | NewDestinationOut:
    if body.url is not None:
        check_url(body.url, allow_private=request.app.state.config.allow_private_webhooks)
    changes = {k: v for k, v in body.model_dump(by_alias=False).items() if v is not None}
    row = await rules.update_destination(conn, workspace_id, destination_id, changes, actor=admin.actor)
    if row is None:
        raise not_found(f"alert destination {destination_id}")
    out = _destination_out(row)
    return NewDestinationOut(**out.model_dump(), secret=row.secret) if body.rotate_secret else out


@router.delete("/alert-destinations/{destination_id}", status_code=204, summary="Delete a webhook (admin)")
async def delete_destination(
    workspace_id: WorkspaceId, destination_id: uuid.UUID, conn: Connection, admin: Admin
) -> Response:
    if not await rules.delete_destination(conn, workspace_id, destination_id, actor=admin.actor):
        raise not_found(f"alert destination {destination_id}")
    return Response(status_code=204)


class DestinationTestOut(CamelModel):
    delivered: bool = Field(description="the destination answered with a 2xx status")
    http_status: int | None = Field(description="the status it answered with; null when no answer came")
    error: str | None = Field(description="why it was not delivered; null when it was")
    milliseconds: float


@router.post(
    "/alert-destinations/{destination_id}/test",
    response_model=DestinationTestOut,
    summary="Send a test notification now, signed and checked as a webhook is (admin)",
)
async def test_destination(
    request: Request, workspace_id: WorkspaceId, destination_id: uuid.UUID, pool: Pool, admin: Admin
) -> DestinationTestOut:
    # No pooled connection is held while the remote end answers (up to the timeout): one to read, one to audit.
    async with pool.connection() as conn:
        found = await rules.list_destinations(conn, workspace_id)
    row = next((r for r in found if r.destination_id == destination_id), None)
    if row is None:
        raise not_found(f"alert destination {destination_id}")
    config, in_flight = request.app.state.config, request.app.state.webhook_tests
    if workspace_id in in_flight:  # one at a time per workspace: a test waits for a remote server, up to a timeout
        raise ApiError(429, "too_many_requests", "a test of this workspace's webhooks is in progress")
    now = dt.datetime.now(dt.UTC).isoformat()
    alert: dict[str, Any] = {
        "event": "test",
        "alertId": None,
        "ruleId": None,
        "ruleName": "test notification",
        "kind": "test",
        "status": "test",
        "title": f"Test notification from otel-errors to {row.name or 'this webhook'}",
        "severity": "low",
        "errorIds": [],
        "primaryErrorId": None,
        "agentId": None,
        "value": None,
        "threshold": None,
        "incidentId": None,
        "firstFiredAt": now,
        "lastFiredAt": now,
        "resolvedAt": None,
        "resolvedReason": None,
    }
    link = payloads.error_link(config.link_base, workspace_id, None)
    body = payloads.body(row.format, alert, workspace_id=workspace_id, link=link)
    status: int | None = None
    error: str | None = None
    in_flight.add(workspace_id)
    started = time.perf_counter()
    try:
        status = await delivery.post(
            row.url,
            body,
            secret=row.secret,
            timeout=config.webhook_timeout_seconds,
            allow_private=config.allow_private_webhooks,
        )
        error = None if 200 <= status < 300 else f"HTTP {status}"
    except delivery.DeliveryError as exc:
        error = str(exc)
    finally:
        in_flight.discard(workspace_id)
    out = DestinationTestOut(
        delivered=error is None,
        http_status=status,
        error=error,
        milliseconds=round((time.perf_counter() - started) * 1000.0, 1),
    )
    async with pool.connection() as conn:
        await audit.record(
            conn,
            workspace_id,
            actor=admin.actor,
            action="alert_destination.test",
            target=f"alert-destination/{destination_id}",
            before=None,
            after=out.model_dump(by_alias=True),
        )
    return out
