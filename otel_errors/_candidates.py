"""Candidate occurrences pulled out of OTLP spans and log records, before grouping and deduplication."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._otlp import AttrValue
from .batch import Origin

ORIGIN_SPAN_EVENT = int(Origin.SPAN_EVENT)
ORIGIN_LOG_RECORD = int(Origin.LOG_RECORD)
ORIGIN_SPAN_STATUS = int(Origin.SPAN_STATUS)

__all__ = ["ORIGIN_LOG_RECORD", "ORIGIN_SPAN_EVENT", "ORIGIN_SPAN_STATUS", "Candidate"]


@dataclass(slots=True)
class Candidate:
    workspace: str
    origin: int
    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes
    span_name: str
    span_start_ns: int
    # The record's own time (0 when unset), then the times to fall back on, best first: the span's end and start
    # for a span event, the observed time for a log record. The stored time is the first within the accepted window.
    time_ns: int
    fallback_times_ns: tuple[int, ...]
    exc_type: str
    message: str
    stacktrace: str
    attrs: dict[str, AttrValue]
    resource: dict[str, AttrValue]
    escaped_span: bool = False
    escaped_execution: bool = False
    log_severity: int | None = None
    index: int = 0  # position among the exception events of one span (a span may record several)
    extra: dict[str, AttrValue] = field(default_factory=dict)  # exception.* attributes beyond type/message/trace
