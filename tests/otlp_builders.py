"""Build OTLP export requests by hand (protobuf), for tests that need exact control over every field."""

from __future__ import annotations

import os
import time
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

# A minute ago: inside the clock-skew window and today's partitions, whatever day the tests run.
NOW = time.time_ns() - 60 * 1_000_000_000

PY_TRACE = """Traceback (most recent call last):
  File "/srv/agent/app/tools.py", line 42, in run_tool
    result = search(query)
  File "/srv/agent/app/search.py", line 17, in search
    raise ValueError(f"bad query {query}")
ValueError: bad query 123
"""


def value(v: Any) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    return AnyValue(string_value=str(v))


def kvs(attrs: dict[str, Any] | None) -> list[KeyValue]:
    return [KeyValue(key=k, value=value(v)) for k, v in (attrs or {}).items()]


def new_id(n: int) -> bytes:
    return os.urandom(n)


def span(
    name: str = "step",
    *,
    trace_id: bytes,
    span_id: bytes | None = None,
    parent: bytes = b"",
    error: bool = False,
    status_message: str = "",
    attrs: dict[str, Any] | None = None,
    exceptions: list[dict[str, Any]] | None = None,
    start: int = NOW - 2_000_000_000,
    end: int = NOW - 1_000_000_000,
) -> Span:
    s = Span(
        name=name,
        trace_id=trace_id,
        span_id=span_id or new_id(8),
        parent_span_id=parent,
        start_time_unix_nano=start,
        end_time_unix_nano=end,
        attributes=kvs(attrs),
    )
    if error:
        s.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=status_message))
    for i, exc in enumerate(exceptions or []):
        event = s.events.add()
        event.name = exc.pop("_name", "exception")
        event.time_unix_nano = exc.pop("_time", end - 1000 + i)
        event.attributes.extend(kvs(exc))
    return s


def traces(*spans: Span, resource: dict[str, Any] | None = None) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend(kvs(resource if resource is not None else {"service.name": "agent-svc"}))
    rs.scope_spans.add().spans.extend(spans)
    return request


def logs(*records: dict[str, Any], resource: dict[str, Any] | None = None) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    rl.resource.attributes.extend(kvs(resource if resource is not None else {"service.name": "agent-svc"}))
    scope = rl.scope_logs.add()
    for spec in records:
        spec = dict(spec)
        record = scope.log_records.add()
        record.time_unix_nano = spec.pop("_time", NOW - 1_000_000_000)
        record.observed_time_unix_nano = spec.pop("_observed", 0)  # SDKs set it; 0 keeps tests exact
        record.severity_number = spec.pop("_severity", 17)
        record.severity_text = spec.pop("_severity_text", "ERROR")
        record.trace_id = spec.pop("_trace_id", b"")
        record.span_id = spec.pop("_span_id", b"")
        body = spec.pop("_body", None)
        if body is not None:
            record.body.CopyFrom(value(body))
        record.attributes.extend(kvs(spec))
    return request


def varint(value: int) -> bytes:
    """Protobuf's base-128 varint, for tests that write wire bytes by hand."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)
