"""Walk an OTLP trace export and pull out only what matters: exception events, ERROR spans and executions.

This is the hot path (DESIGN §2): most spans are neither, so each span costs a handful of field reads and
nothing is converted to Python objects unless the span is interesting.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._candidates import ORIGIN_SPAN_EVENT, ORIGIN_SPAN_STATUS, Candidate
from ._otlp import AttrValue, attributes, selected_attributes
from ._wire import candidate_spans, span_attributes

STATUS_ERROR = 2
_EXCEPTION_KEYS = ("exception.type", "exception.message", "exception.stacktrace", "exception.escaped")


@dataclass(slots=True)
class ExecutionSpan:
    workspace: str
    trace_id: bytes
    span_id: bytes
    start_ns: int
    end_ns: int
    failed: bool
    is_agent_invocation: bool
    attrs: dict[str, AttrValue]  # only the walk's `execution_keys` when the span recorded no error
    resource: dict[str, AttrValue]


@dataclass(slots=True)
class ErrorSpanInfo:
    workspace: str
    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes
    name: str
    start_ns: int
    end_ns: int
    status_code: int
    status_message: str
    has_exception: bool


@dataclass(slots=True)
class SpanWalk:
    candidates: list[Candidate] = field(default_factory=list)
    executions: list[ExecutionSpan] = field(default_factory=list)
    error_spans: list[ErrorSpanInfo] = field(default_factory=list)
    rejected: int = 0
    rejected_reason: str = ""


def is_exception_event(name: str) -> bool:
    return name == "exception" or name.endswith(".exception")


def walk_traces(request: Any, workspace_of: Callable[[dict[str, AttrValue]], str | None],
                execution_keys: frozenset[str] = frozenset(), wire: bytes | None = None) -> SpanWalk:
    """`workspace_of(resource_attributes)` names the workspace, or None to reject the resource's spans.

    `execution_keys`: the attributes an execution span without an error needs (its identity and credits); only
    those are converted for it. Spans with an exception event or an ERROR status get all their attributes.
    `wire`: the bytes `request` was parsed from, when at hand; the spans worth a look are then found in them
    (`_wire.candidate_spans`) instead of by reading every span's fields."""
    out = SpanWalk()
    keys = execution_keys | _WALK_KEYS
    picked = candidate_spans(wire) if wire is not None else None
    if picked is None:
        for resource_spans in request.resource_spans:
            state = _ResourceState(resource_spans, workspace_of)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    _visit(out, state, span, keys, None, 0, 0)
        return out
    resource_index, scope_index = -1, -1
    state = _ResourceState(None, workspace_of)
    spans: Any = ()
    for r, s, i, start, end in picked:
        if r != resource_index:
            resource_index, scope_index = r, -1
            state = _ResourceState(request.resource_spans[r], workspace_of)
        if s != scope_index:
            scope_index = s
            spans = state.resource_spans.scope_spans[s].spans
        _visit(out, state, spans[i], keys, wire, start, end)
    return out


class _ResourceState:
    """A resource's attributes and workspace, converted at its first span worth a look."""

    __slots__ = ("resource_spans", "workspace_of", "resource", "workspace")

    def __init__(self, resource_spans: Any, workspace_of: Callable[[dict[str, AttrValue]], str | None]) -> None:
        self.resource_spans = resource_spans
        self.workspace_of = workspace_of
        self.resource: dict[str, AttrValue] | None = None
        self.workspace: str | None = None


def _visit(out: SpanWalk, state: _ResourceState, span: Any, keys: frozenset[str], wire: bytes | None, start: int,
           end: int) -> None:
    """One span; `wire[start:end]`, when given, is its serialized form."""
    # Every span without `wire`, the picked ones with it: the cheapest reads first (`HasField` skips the status).
    parent = span.parent_span_id
    events = span.events
    status_code = span.status.code if span.HasField("status") else 0
    name = span.name
    agent_invocation = name.startswith("invoke_agent")
    if not events and status_code != STATUS_ERROR and parent and not agent_invocation:
        return
    resource = state.resource
    if resource is None:
        resource = state.resource = attributes(state.resource_spans.resource.attributes)
        state.workspace = state.workspace_of(resource)
    workspace = state.workspace
    if workspace is None:
        out.rejected += 1
        out.rejected_reason = "invalid workspace.id resource attribute"
        return
    _interesting_span(out, span, workspace, resource, status_code, events, parent, name, agent_invocation, keys,
                      wire, start, end)


# What the walk itself reads of an execution span's attributes.
_WALK_KEYS = frozenset({"gen_ai.operation.name"})


def _interesting_span(out: SpanWalk, span: Any, workspace: str, resource: dict[str, AttrValue],
                      status_code: int, events: Any, parent: bytes, name: str, agent_invocation: bool,
                      execution_keys: frozenset[str], wire: bytes | None, start: int, end: int) -> None:
    failed = status_code == STATUS_ERROR
    exception_events = [event for event in events if is_exception_event(event.name)] if events else []
    # A span that records no error only matters as an execution: convert just what an execution reads.
    selected = None if failed or exception_events else execution_keys
    attrs = span_attributes(wire, start, end, selected) if wire is not None else None
    if attrs is None:
        attrs = attributes(span.attributes) if selected is None else selected_attributes(span.attributes, selected)
    trace_id = span.trace_id
    span_id = span.span_id
    start_ns = span.start_time_unix_nano
    end_ns = span.end_time_unix_nano
    is_execution = not parent or agent_invocation
    if not agent_invocation and attrs.get("gen_ai.operation.name") == "invoke_agent":
        agent_invocation = is_execution = True
    if is_execution:
        out.executions.append(ExecutionSpan(workspace, trace_id, span_id, start_ns, end_ns, failed,
                                            agent_invocation, attrs, resource))
    index = 0
    for event in exception_events:
        event_attrs = attributes(event.attributes)
        exc_type = event_attrs.get("exception.type")
        message = event_attrs.get("exception.message")
        stacktrace = event_attrs.get("exception.stacktrace")
        escaped = event_attrs.get("exception.escaped")
        extra = {k: v for k, v in event_attrs.items() if k not in _EXCEPTION_KEYS}
        out.candidates.append(Candidate(
            workspace=workspace, origin=ORIGIN_SPAN_EVENT, trace_id=trace_id, span_id=span_id,
            parent_span_id=parent, span_name=name, span_start_ns=start_ns,
            time_ns=event.time_unix_nano or end_ns or start_ns,
            exc_type=exc_type if isinstance(exc_type, str) else "",
            message=message if isinstance(message, str) else "",
            stacktrace=stacktrace if isinstance(stacktrace, str) else "",
            attrs=attrs, resource=resource,
            escaped_span=failed or escaped is True,
            escaped_execution=is_execution and (failed or escaped is True),
            index=index, extra=extra,
        ))
        index += 1
    if failed or index:
        out.error_spans.append(ErrorSpanInfo(workspace, trace_id, span_id, parent, name, start_ns, end_ns,
                                             status_code, span.status.message, index > 0))
    if failed and index == 0:
        exc_type, message = status_error(attrs.get("error.type"), span.status.message, name)
        out.candidates.append(Candidate(
            workspace=workspace, origin=ORIGIN_SPAN_STATUS, trace_id=trace_id, span_id=span_id,
            parent_span_id=parent, span_name=name, span_start_ns=start_ns, time_ns=end_ns or start_ns,
            exc_type=exc_type, message=message, stacktrace="", attrs=attrs, resource=resource,
            escaped_span=True, escaped_execution=is_execution,
        ))


_TYPED_STATUS = re.compile(r"^([A-Za-z_][\w.$]*(?:::[\w$]+)*): (.*)$", re.S)


def status_error(error_type: AttrValue, status_message: str, span_name: str) -> tuple[str, str]:
    """Type and message of an ERROR span with no exception event (DESIGN §4): `error.type`, else the status
    message (SDKs write "ValueError: boom" there, which splits into type and message)."""
    if isinstance(error_type, str) and error_type:
        return error_type, status_message
    typed = _TYPED_STATUS.match(status_message)
    if typed:
        return typed.group(1), typed.group(2)
    if status_message:
        return status_message[:128], status_message
    return "SpanError", f"span {span_name!r} ended with status ERROR"
