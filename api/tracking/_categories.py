"""categories: occurrences by exception type (with samples), by severity and by source."""

from __future__ import annotations

from collections import defaultdict

from otel_errors import Category, Severity, Source, analytics
from otel_errors.analytics import Window

from ..labels import stored
from ..queries import tracking as queries
from ._models import BySeverity, BySource, ByType, TypeSample

TYPES_LISTED = 20
SAMPLES_PER_TYPE = 3


async def by_type(
    conn: queries.AConn,
    workspace_id: str,
    *,
    window: Window,
    counts: list[queries.ErrorCount],
    previous_type_counts: dict[str, int],
) -> list[ByType]:
    """Occurrences per exception type; category of its busiest error, severity the highest of its errors; the
    latest occurrences of its busiest error as samples (one read for all types)."""
    by_name: dict[str, list[queries.ErrorCount]] = defaultdict(list)
    for error in counts:  # busiest first, so by_name[type][0] is the type's busiest error
        by_name[error.type].append(error)
    total = sum(error.occurrences for error in counts)
    ranked = sorted(by_name.items(), key=lambda named: (-sum(error.occurrences for error in named[1]), named[0]))[
        :TYPES_LISTED
    ]
    busiest = [errors[0].error_id for _, errors in ranked]
    found = (
        await queries.samples(conn, workspace_id, error_ids=busiest, since=window.start, per_error=SAMPLES_PER_TYPE)
        if busiest
        else []
    )
    samples: dict[str, list[TypeSample]] = defaultdict(list)
    for sample in found:
        samples[str(sample.error_id)].append(
            TypeSample(
                error_id=str(sample.error_id),
                message=sample.message,
                stack_trace=sample.stacktrace,
                occurred_at=sample.occurred_at,
            )
        )
    listed = []
    for name, errors in ranked:
        count = sum(error.occurrences for error in errors)
        listed.append(
            ByType(
                type=name,
                category=stored(Category, errors[0].category, default=Category.UNKNOWN),
                count=count,
                percentage=analytics.percent(count, total),
                trend=analytics.trend(count, previous_type_counts.get(name, 0)),
                severity=stored(Severity, max(error.severity for error in errors), default=Severity.MEDIUM),
                samples=samples.get(str(errors[0].error_id), []),
            )
        )
    return listed


def by_severity(buckets: list[queries.BucketRow]) -> BySeverity:
    return BySeverity(
        critical=sum(bucket.critical for bucket in buckets),
        high=sum(bucket.high for bucket in buckets),
        medium=sum(bucket.medium for bucket in buckets),
        low=sum(bucket.low for bucket in buckets),
    )


def by_source(counts: list[queries.ErrorCount]) -> BySource:
    by_stored: dict[int, int] = defaultdict(int)
    for error in counts:  # up to MAX_ERRORS: summed by stored value, each value labelled once
        by_stored[error.source] += error.occurrences
    occurrences = {source.label: 0 for source in Source}
    for value, count in by_stored.items():
        occurrences[stored(Source, value, default=Source.SYSTEM).label] += count
    return BySource(**occurrences)
