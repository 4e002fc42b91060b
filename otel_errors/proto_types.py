"""The project's own protobuf messages (proto/otel_errors/v1), re-exported for the core.

`otel_errors.proto` is a leaf: generated code with no dependencies of ours, so the core may build its messages.
"""

from __future__ import annotations

from otel_errors.proto.otel_errors.v1 import events_pb2 as _pb

ErrorEvent = _pb.ErrorEvent
ErrorSpan = _pb.ErrorSpan
Execution = _pb.Execution
ErrorEventBatch = _pb.ErrorEventBatch

ORIGIN_SPAN_EVENT: int = _pb.ORIGIN_SPAN_EVENT
ORIGIN_LOG_RECORD: int = _pb.ORIGIN_LOG_RECORD
ORIGIN_SPAN_STATUS: int = _pb.ORIGIN_SPAN_STATUS

ORIGIN_LABELS = {ORIGIN_SPAN_EVENT: "span_event", ORIGIN_LOG_RECORD: "log_record", ORIGIN_SPAN_STATUS: "span_status"}

__all__ = [
    "ORIGIN_LABELS",
    "ORIGIN_LOG_RECORD",
    "ORIGIN_SPAN_EVENT",
    "ORIGIN_SPAN_STATUS",
    "ErrorEvent",
    "ErrorEventBatch",
    "ErrorSpan",
    "Execution",
]
