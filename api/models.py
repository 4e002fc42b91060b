"""Models of the errors resource: camelCase JSON in the shape of the seed's `ErrorTracking.errors[]`
(docs/metrics.md), the status workflow's bodies and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from .labels import CategoryLabel, ChangeableStatus, OriginLabel, SeverityLabel, SourceLabel, StatusLabel


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


class ChainMember(CamelModel):
    error_id: str
    title: str


class ChainOfError(CamelModel):
    """A cascading-failure chain the error roots or joins (docs/metrics.md, "Cascading failures")."""

    chain_id: str
    role: Literal["root", "cascade"]
    root: ChainMember
    cascading_errors: list[ChainMember]  # nearest first
    executions: int


class ErrorDetails(ErrorItem):
    frames: list[dict[str, Any]]
    chain: list[str]  # the exception chain inside one record (`raise X from e`, `Caused by:`), outermost first
    grouping: dict[str, Any] | None
    samples: list[Sample]
    chains: list[ChainOfError]  # chains through trace parentage this error roots or joins


class Occurrence(CamelModel):
    occurrence_id: str
    occurred_at: datetime
    trace_id: str
    span_id: str
    parent_span_id: str
    span_name: str
    origin: OriginLabel
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


# -- status workflow -------------------------------------------------------------------------------------------

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]


class StatusChange(CamelModel):
    status: ChangeableStatus


class ResolveBody(CamelModel):
    resolved_by: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    resolution: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    root_cause: Text | None = None
    preventive_measures: Annotated[
        list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]],
        Field(max_length=50),
    ] = []


class AuditEntry(CamelModel):
    entry_id: str
    at: datetime
    actor: str
    action: str
    target: str
    before: dict[str, object] | None
    after: dict[str, object] | None


class AuditPage(CamelModel):
    items: list[AuditEntry]
    next_cursor: str | None
