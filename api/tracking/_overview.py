"""overview: totals, rates and impact of the window."""

from __future__ import annotations

from otel_errors import analytics

from . import _recovery
from ._lanes import WindowReads
from ._models import BySeverity, Overview


def overview(reads: WindowReads, by_severity: BySeverity, *, unique_errors: int, price_per_credit: float) -> Overview:
    current, previous = reads.executions, reads.previous_executions
    error_rate = analytics.percent(sum(run.failed for run in current), sum(run.executions for run in current))
    previous_rate = analytics.percent(sum(run.failed for run in previous), sum(run.executions for run in previous))
    total = sum(bucket.occurrences for bucket in reads.buckets)
    people = reads.people
    user_impact = analytics.percent(people.affected_users, max(people.active_users, people.affected_users))
    return Overview(
        total_errors=total,
        unique_errors=unique_errors,
        affected_users=people.affected_users,
        affected_agents=people.affected_agents,
        error_rate=error_rate,
        error_rate_change=round(error_rate - previous_rate, 2),
        critical_error_rate=analytics.percent(by_severity.critical, total),
        user_impact=user_impact,
        system_impact=analytics.system_impact(error_rate, by_severity.critical, by_severity.high, user_impact),
        estimated_revenue_loss=round(sum(run.credits_failed for run in current) * price_per_credit, 2),
        avg_recovery_time=_recovery.automatic(reads.recovery).avg,
        auto_recovery_rate=_recovery.auto_recovery_rate(reads.recovery),
        manual_interventions=reads.manual_interventions,
    )
