"""Response models: camelCase JSON in the shape of the seed's `ErrorTracking.errors[]` (docs/metrics.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

SeverityLabel = Literal["low", "medium", "high", "critical"]
StatusLabel = Literal["new", "acknowledged", "investigating", "resolved", "ignored"]
CategoryLabel = Literal["api", "timeout", "validation", "auth", "system", "unknown"]
SourceLabel = Literal["agent", "api", "database", "integration", "system"]


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class ErrorContext(CamelModel):
    agent_id: str | None
    user_id: str | None
    workspace_id: str
    environment: str
    version: str
    metadata: dict[str, Any]


class ErrorImpact(CamelModel):
    users_affected: int
    agents_affected: int
    executions_affected: int
    credits_lost: float
    cascading_failures: int  # 0 until cascading-failure chains land (docs/metrics.md)


class Resolution(CamelModel):
    resolved_at: datetime
    resolved_by: str
    resolution: str
    root_cause: str | None
    preventive_measures: list[str]


class ErrorItem(CamelModel):
    error_id: str
    fingerprint: str
    fingerprint_config: str
    type: str
    message: str
    title: str
    culprit: str
    severity: SeverityLabel
    status: StatusLabel
    category: CategoryLabel
    source: SourceLabel
    first_seen: datetime
    last_seen: datetime
    occurrences: int
    affected_users: list[str]
    affected_agents: list[str]
    stack_trace: str
    context: ErrorContext
    impact: ErrorImpact
    regressed_at: datetime | None
    resolution: Resolution | None


class ErrorPage(CamelModel):
    items: list[ErrorItem]
    next_cursor: str | None


class Sample(CamelModel):
    occurrence_id: str
    occurred_at: datetime
    message: str
    stack_trace: str
    trace_id: str
    span_id: str


class ErrorDetails(ErrorItem):
    frames: list[dict[str, Any]]
    chain: list[str]
    grouping: dict[str, Any] | None
    samples: list[Sample]


class Occurrence(CamelModel):
    occurrence_id: str
    occurred_at: datetime
    trace_id: str
    span_id: str
    parent_span_id: str
    span_name: str
    origin: Literal["span_event", "log_record", "span_status"]
    severity: SeverityLabel
    handled: bool
    user_id: str | None
    agent_id: str | None
    environment: str
    version: str
    message: str
    credits: float
    attributes: dict[str, Any]


class OccurrencePage(CamelModel):
    items: list[Occurrence]
    next_cursor: str | None


class Health(CamelModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]
    ingest: Literal["ok", "degraded", "not running"]
    detail: str
