"""Candidate occurrences pulled out of OTLP spans and log records, before grouping and deduplication."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._otlp import AttrValue
from .proto_types import ORIGIN_LOG_RECORD, ORIGIN_SPAN_EVENT, ORIGIN_SPAN_STATUS

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
    time_ns: int
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
