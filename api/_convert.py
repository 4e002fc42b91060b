"""Rows -> response models, shared by the routes (errors, status workflow, the error-tracking object).

A model field named like a row field holds the row's value as stored: it is copied by name (`_same_names`), so
only the fields that change on the way out are written here.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

from pydantic import BaseModel

from otel_errors import Category, Severity, Source
from otel_errors.batch import Origin
from otel_errors.exporter.audit import AuditRow

from .labels import Status, stored
from .models import (
    AuditEntry,
    ChainMember,
    ChainOfError,
    ErrorContext,
    ErrorDetails,
    ErrorImpact,
    ErrorItem,
    Occurrence,
    Resolution,
    Sample,
)
from .queries.chains import ChainRow, ErrorBrief
from .queries.errors import ErrorRow, OccurrenceRow

__all__ = ["audit_entry", "details", "item", "occurrence"]


def _same_names(model: type[BaseModel], row: type[Any], *, converted: frozenset[str]) -> tuple[str, ...]:
    """The fields of `model` that `row` has under the same name, but for those `converted` on the way out."""
    names = {field.name for field in dataclasses.fields(row)}
    return tuple(name for name in model.model_fields if name in names and name not in converted)


_ITEM_AS_STORED = _same_names(
    ErrorItem,
    ErrorRow,
    converted=frozenset({"error_id", "severity", "status", "category", "source", "context", "resolution"}),
)
_OCCURRENCE_AS_STORED = _same_names(
    Occurrence,
    OccurrenceRow,
    converted=frozenset(
        {
            "occurrence_id",
            "trace_id",
            "span_id",
            "parent_span_id",
            "origin",
            "severity",
            "user_id",
            "agent_id",
            "attributes",
        }
    ),
)
_AUDIT_AS_STORED = _same_names(AuditEntry, AuditRow, converted=frozenset({"entry_id"}))


def item(row: ErrorRow) -> ErrorItem:
    resolution = None
    if row.status == Status.RESOLVED and row.resolved_at is not None:
        resolution = Resolution(
            resolved_at=row.resolved_at,
            resolved_by=row.resolved_by or "",
            resolution=row.resolution or "",
            root_cause=row.root_cause,
            preventive_measures=list(row.preventive_measures or []),
        )
    return ErrorItem(
        **{name: getattr(row, name) for name in _ITEM_AS_STORED},
        error_id=str(row.error_id),
        severity=stored(Severity, row.severity, default=Severity.MEDIUM),
        status=Status(row.status),
        category=stored(Category, row.category, default=Category.UNKNOWN),
        source=stored(Source, row.source, default=Source.SYSTEM),
        affected_users=list(row.top_users),
        affected_agents=list(row.top_agents),
        stack_trace=row.stacktrace,
        context=ErrorContext(
            agent_id=row.agent_id or None,
            user_id=row.user_id or None,
            workspace_id=row.workspace_id,
            environment=row.environment,
            version=row.version,
            metadata=row.context or {},
        ),
        impact=ErrorImpact(
            users_affected=row.users,
            agents_affected=row.agents,
            executions_affected=row.executions_affected,
            credits_lost=row.credits_lost,
            cascading_failures=row.cascading_failures,
        ),
        resolution=resolution,
    )


def details(
    row: ErrorRow,
    samples: list[OccurrenceRow],
    *,
    chains: list[ChainRow],
    briefs: dict[uuid.UUID, ErrorBrief],
) -> ErrorDetails:
    """The error with its grouping explanation (frames, exception chain, components), its latest samples, and the
    chains it roots or joins."""
    grouping = row.grouping or {}

    def member(error_id: uuid.UUID) -> ChainMember:
        brief = briefs.get(error_id)
        return ChainMember(error_id=str(error_id), title=brief.title if brief else "")

    return ErrorDetails(
        **dict(item(row)),
        chains=[
            ChainOfError(
                chain_id=str(chain.chain_id),
                role="root" if chain.root_error_id == row.error_id else "cascade",
                root=member(chain.root_error_id),
                cascading_errors=[member(e) for e in chain.cascade_error_ids],
                executions=chain.executions,
            )
            for chain in chains
        ],
        frames=list(grouping.get("frames") or []),
        chain=list(grouping.get("chain") or []),
        grouping=grouping.get("component"),
        samples=[
            Sample(
                occurrence_id=str(sample.occurrence_id),
                occurred_at=sample.occurred_at,
                message=sample.message,
                stack_trace=sample.stacktrace or "",
                trace_id=sample.trace_id.hex(),
                span_id=sample.span_id.hex(),
            )
            for sample in samples
        ],
    )


def occurrence(row: OccurrenceRow) -> Occurrence:
    return Occurrence(
        **{name: getattr(row, name) for name in _OCCURRENCE_AS_STORED},
        occurrence_id=str(row.occurrence_id),
        trace_id=row.trace_id.hex(),
        span_id=row.span_id.hex(),
        parent_span_id=row.parent_span_id.hex(),
        origin=stored(Origin, row.origin, default=Origin.SPAN_EVENT),
        severity=stored(Severity, row.severity, default=Severity.MEDIUM),
        user_id=row.user_id or None,
        agent_id=row.agent_id or None,
        attributes=_attributes(row.attributes),
    )


def _attributes(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, dict) else {}
    return {}


def audit_entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(**{name: getattr(row, name) for name in _AUDIT_AS_STORED}, entry_id=str(row.entry_id))
