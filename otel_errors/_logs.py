"""Walk an OTLP logs export for records that carry an exception (`exception.type` or `exception.message`).

Since semantic conventions v1.40 exceptions belong in logs (Python's `logger.exception` through the OTel logging
handler, for one), so log records are a first-class source, not an afterthought.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._candidates import ORIGIN_LOG_RECORD, Candidate
from ._otlp import AttrValue, any_value, attributes
from .batch import INVALID_IDS, INVALID_WORKSPACE

_EXCEPTION_KEYS = ("exception.type", "exception.message", "exception.stacktrace", "exception.escaped")


@dataclass(slots=True)
class LogWalk:
    candidates: list[Candidate] = field(default_factory=list)
    records: int = 0  # every log record of the request
    rejections: dict[str, int] = field(default_factory=dict)  # reason code (batch.REJECTIONS) -> records refused


def walk_logs(request: Any, workspace_of: Callable[[dict[str, AttrValue]], str | None]) -> LogWalk:
    out = LogWalk()
    for resource_logs in request.resource_logs:
        resource: dict[str, AttrValue] | None = None
        workspace: str | None = None
        for scope_logs in resource_logs.scope_logs:
            out.records += len(scope_logs.log_records)
            for record in scope_logs.log_records:
                if not _has_exception(record.attributes):
                    continue
                if resource is None:
                    resource = attributes(resource_logs.resource.attributes)
                    workspace = workspace_of(resource)
                if workspace is None:
                    out.rejections[INVALID_WORKSPACE] = out.rejections.get(INVALID_WORKSPACE, 0) + 1
                    continue
                if len(record.trace_id) not in (0, 16) or len(record.span_id) not in (0, 8):
                    out.rejections[INVALID_IDS] = out.rejections.get(INVALID_IDS, 0) + 1
                    continue
                out.candidates.append(_candidate(record, workspace, resource))
    return out


def _has_exception(key_values: Any) -> bool:
    for kv in key_values:
        key = kv.key
        if key == "exception.type" or key == "exception.message":
            return True
    return False


def _candidate(record: Any, workspace: str, resource: dict[str, AttrValue]) -> Candidate:
    attrs = attributes(record.attributes)
    exc_type = attrs.pop("exception.type", None)
    message = attrs.pop("exception.message", None)
    stacktrace = attrs.pop("exception.stacktrace", None)
    attrs.pop("exception.escaped", None)
    if not isinstance(message, str) or not message:
        body = any_value(record.body) if record.HasField("body") else None
        message = body if isinstance(body, str) else ""
    return Candidate(
        workspace=workspace,
        origin=ORIGIN_LOG_RECORD,
        trace_id=record.trace_id,
        span_id=record.span_id,
        parent_span_id=b"",
        span_name="",
        span_start_ns=record.time_unix_nano or record.observed_time_unix_nano,
        time_ns=record.time_unix_nano,
        fallback_times_ns=(record.observed_time_unix_nano,),
        exc_type=exc_type if isinstance(exc_type, str) else "",
        message=message,
        stacktrace=stacktrace if isinstance(stacktrace, str) else "",
        attrs=attrs,
        resource=resource,
        log_severity=int(record.severity_number),
        extra={"log.severity_text": record.severity_text} if record.severity_text else {},
    )
