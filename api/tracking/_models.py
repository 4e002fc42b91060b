"""The seed's `ErrorTracking` object, field for field (camelCase)."""

from __future__ import annotations

from datetime import datetime

from otel_errors.analytics import TimeframeLabel, TrendLabel

from ..labels import CategoryLabel, SeverityLabel
from ..models import CamelModel, ErrorItem


class Overview(CamelModel):
    total_errors: int
    unique_errors: int
    affected_users: int
    affected_agents: int
    error_rate: float
    error_rate_change: float
    critical_error_rate: float
    user_impact: float
    system_impact: SeverityLabel
    estimated_revenue_loss: float
    # Seconds, over the episodes that recovered automatically; null when none did (docs/metrics.md).
    avg_recovery_time: float | None
    # Percent of recovery episodes that recovered; null when there was none.
    auto_recovery_rate: float | None
    manual_interventions: int


class TypeSample(CamelModel):
    error_id: str
    message: str
    stack_trace: str
    occurred_at: datetime


class ByType(CamelModel):
    type: str
    category: CategoryLabel
    count: int
    percentage: float
    trend: TrendLabel
    severity: SeverityLabel
    samples: list[TypeSample]


class BySeverity(CamelModel):
    critical: int
    high: int
    medium: int
    low: int


class BySource(CamelModel):
    agent: int
    api: int
    database: int
    integration: int
    system: int


class Categories(CamelModel):
    by_type: list[ByType]
    by_severity: BySeverity
    by_source: BySource


class TimePoint(CamelModel):
    timestamp: datetime
    count: int
    critical_count: int
    unique_errors: int


class SpikeOut(CamelModel):
    start_time: datetime
    end_time: datetime
    peak_errors: int
    total_errors: int
    primary_cause: str
    resolved: bool


class PatternOut(CamelModel):
    pattern: str
    frequency: int
    last_occurrence: datetime
    correlation: str


class Timeline(CamelModel):
    errors_by_time: list[TimePoint]
    spikes: list[SpikeOut]
    patterns: list[PatternOut]


class ByOccurrence(CamelModel):
    error_id: str
    type: str
    count: int
    last_seen: datetime


class ByImpact(CamelModel):
    error_id: str
    type: str
    users_affected: int
    credits_lost: float


class Unresolved(CamelModel):
    error_id: str
    type: str
    age: float
    priority: int


class TopErrors(CamelModel):
    by_occurrence: list[ByOccurrence]
    by_impact: list[ByImpact]
    unresolved: list[Unresolved]


class AgentCorrelation(CamelModel):
    agent_id: str
    agent_name: str
    error_types: list[str]
    error_rate: float
    common_cause: str


class UserCorrelation(CamelModel):
    user_id: str
    error_types: list[str]
    frequency: int
    possible_cause: str


class ErrorChain(CamelModel):
    root_error: str  # the root cause's error id
    cascading_errors: list[str]  # the error ids it caused, nearest first
    total_impact: int  # executions in the timeframe with this chain
    preventable: bool  # the root is a kind a retry, a fallback or input checking stops (docs/metrics.md)
    chain_id: str
    root_error_title: str
    cascading_error_titles: list[str]


class Correlations(CamelModel):
    agent_correlation: list[AgentCorrelation]
    user_correlation: list[UserCorrelation]
    error_chains: list[ErrorChain]


class Stats(CamelModel):
    """Seconds; null when there is no data."""

    avg: float | None
    median: float | None
    p95: float | None


class RecoveryTimes(CamelModel):
    automatic: Stats
    manual: Stats


class RecoveryMethod(CamelModel):
    method: str
    success_rate: float  # percent of the episodes that used it
    avg_time: float | None  # seconds; null when it never recovered
    usage_count: int


class FailedRecovery(CamelModel):
    error_id: str | None  # the error of the last failed attempt; null when its occurrence is not stored
    attempted_methods: list[str]
    failure_reason: str
    attempts: int
    failed_at: datetime


class Recovery(CamelModel):
    recovery_times: RecoveryTimes
    recovery_methods: list[RecoveryMethod]
    failed_recoveries: list[FailedRecovery]


class ErrorTracking(CamelModel):
    workspace_id: str
    timeframe: TimeframeLabel
    overview: Overview
    categories: Categories
    timeline: Timeline
    errors: list[ErrorItem]
    top_errors: TopErrors
    correlations: Correlations
    recovery: Recovery
