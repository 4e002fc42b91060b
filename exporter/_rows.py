"""ErrorEventBatch messages to COPY rows (the only place the write path reads the protobuf)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any


def stack_hash(stacktrace: str) -> bytes:
    return hashlib.blake2b(stacktrace.encode("utf-8", "replace"), digest_size=16).digest() if stacktrace else b""


def event_rows(events: Iterable[Any]) -> Iterable[tuple[Any, ...]]:
    for e in events:
        yield (e.workspace_id, e.time_unix_nano, e.occurrence_id, e.fingerprint, e.fingerprint_config, e.type,
               e.message, e.stacktrace, e.title, e.culprit, e.grouping_json or "{}", e.severity, e.category,
               e.source, e.origin, e.handled, e.trace_id, e.span_id, e.parent_span_id, e.span_name, e.user_id,
               e.agent_id, e.environment, e.version, e.credits, e.attributes_json or "{}",
               stack_hash(e.stacktrace), e.previous_fingerprint)


def execution_rows(executions: Iterable[Any]) -> Iterable[tuple[Any, ...]]:
    for x in executions:
        yield (x.workspace_id, x.trace_id, x.span_id, x.start_time_unix_nano, x.end_time_unix_nano, x.failed,
               x.agent_id, x.agent_name, x.user_id, x.environment, x.credits)


def span_rows(spans: Iterable[Any]) -> Iterable[tuple[Any, ...]]:
    for s in spans:
        yield (s.workspace_id, s.trace_id, s.span_id, s.parent_span_id, s.name, s.start_time_unix_nano,
               s.end_time_unix_nano, s.status_code, s.status_message, s.propagated)


def batch_days(batch: Any) -> set[int]:
    """Days (ns // day) the batch writes into, for partition coverage."""
    day = 86_400 * 1_000_000_000
    days = {e.time_unix_nano // day for e in batch.events}
    days.update(x.start_time_unix_nano // day for x in batch.executions)
    days.update(s.start_time_unix_nano // day for s in batch.error_spans)
    return days


def batch_size(batch: Any) -> int:
    return len(batch.events) + len(batch.executions) + len(batch.error_spans)
