"""Walk an OTLP trace export and pull out only what matters: exception events, ERROR spans and executions.

This is the hot path (docs/architecture.md): most spans are neither, so each span costs a handful of field reads and
nothing is converted to Python objects unless the span is interesting.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ._candidates import ORIGIN_SPAN_EVENT, ORIGIN_SPAN_STATUS, Candidate
from ._otlp import AttrValue, attributes, selected_attributes
from ._wire._read import WireReader
from ._wire._scan import candidate_spans
from .batch import INVALID_IDS, INVALID_WORKSPACE

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
class SpanOutcome:
    """A span that ended without an error under a parent with a failed child: a retry or fallback, maybe."""

    workspace: str
    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes
    name: str
    start_ns: int
    end_ns: int
    method: str  # its `recovery.method` attribute, when the agent set one


@dataclass(slots=True)
class SpanWalk:
    candidates: list[Candidate] = field(default_factory=list)
    executions: list[ExecutionSpan] = field(default_factory=list)
    error_spans: list[ErrorSpanInfo] = field(default_factory=list)
    outcomes: list[SpanOutcome] = field(default_factory=list)
    spans: int = 0  # every span of the request
    rejections: dict[str, int] = field(default_factory=dict)  # reason code (batch.REJECTIONS) -> spans refused
    warning: str = ""


def is_exception_event(name: str) -> bool:
    return name == "exception" or name.endswith(".exception")


def walk_traces(
    request: Any,
    workspace_of: Callable[[dict[str, AttrValue]], str | None],
    execution_keys: frozenset[str] = frozenset(),
    wire: bytes | None = None,
    siblings_of: AbstractSet[bytes] = frozenset(),
) -> SpanWalk:
    """`workspace_of(resource_attributes)` names the workspace, or None to reject the resource's spans.

    `execution_keys`: the attributes an execution span without an error needs (its identity and credits); only
    those are converted for it. Spans with an exception event or an ERROR status get all their attributes.
    `wire`: the serialized request. The spans worth a look are then found and read in it (`_wire`); `request`
    may be None, and is parsed from `wire` only where the bytes need protobuf's objects (which raises
    `DecodeError` on malformed bytes).
    `siblings_of`: parent ids of failed spans remembered from earlier exports: an OK child of one of them, or of
    the parent of an ERROR span of this request, is reported as a `SpanOutcome` (recovery)."""
    out = SpanWalk()
    keys = execution_keys | _WALK_KEYS
    picks = candidate_spans(wire, siblings_of) if wire is not None else None
    if picks is None or wire is None:
        if request is None:
            request = _parse(wire)
        failed_parents: set[bytes] = set()
        answered: set[bytes] = set()
        for resource_spans in request.resource_spans:
            state = _ResourceState(resource_spans, workspace_of, siblings_of, failed_parents, answered)
            for scope_spans in resource_spans.scope_spans:
                out.spans += len(scope_spans.spans)
                for span in scope_spans.spans:
                    _visit(out, state, span, keys)
        return out
    out.spans = picks.total
    objects = _Objects(request, wire)
    reader = WireReader(wire)
    resource_index = -1
    # The parents of the ERROR spans walked so far: what the scan picked siblings by, as the walk reads statuses.
    failed_parents = set()
    answered = set()
    state = _ResourceState(None, workspace_of, siblings_of, failed_parents, answered)
    for r, s, i, start, end in picks.spans:
        if r != resource_index:
            resource_index = r
            state = _ResourceState(None, workspace_of, siblings_of, failed_parents, answered)
            rstart, rend = picks.resources[r]
            state.resource = reader.resource_attributes(rstart, rend) if rstart >= 0 else None
            if state.resource is None:
                state.resource_spans = objects.get().resource_spans[r]
        if not _visit_wire(out, state, reader, start, end, keys):
            _visit(out, state, objects.get().resource_spans[r].scope_spans[s].spans[i], keys)
    if reader.replaced:  # an OTLP warning: partial_success with nothing rejected
        out.warning = f"{reader.replaced} string(s) with invalid UTF-8 kept with U+FFFD in place of the invalid bytes"
    return out


def _parse(wire: bytes | None) -> Any:
    if wire is None:
        raise ValueError("walk_traces needs a request or its bytes")
    try:
        return ExportTraceServiceRequest.FromString(wire)
    except (ValueError, RuntimeError) as exc:  # what else upb raises on hostile input: malformed all the same
        raise DecodeError(str(exc)) from None


class _Objects:
    """The request as protobuf objects, parsed at the first span that needs them (rare: see `_wire`)."""

    __slots__ = ("request", "wire")

    def __init__(self, request: Any, wire: bytes) -> None:
        self.request = request
        self.wire = wire

    def get(self) -> Any:
        if self.request is None:
            self.request = _parse(self.wire)
        return self.request


class _ResourceState:
    """A resource's attributes and workspace, converted at its first span worth a look (or read from the bytes);
    and the parents whose OK children are recovery candidates."""

    __slots__ = (
        "resource_spans",
        "workspace_of",
        "resource",
        "workspace",
        "resolved",
        "siblings_of",
        "failed_parents",
        "answered",
    )

    def __init__(
        self,
        resource_spans: Any,
        workspace_of: Callable[[dict[str, AttrValue]], str | None],
        siblings_of: AbstractSet[bytes],
        failed_parents: set[bytes],
        answered: set[bytes],
    ) -> None:
        self.resource_spans = resource_spans
        self.workspace_of = workspace_of
        self.resource: dict[str, AttrValue] | None = None
        self.workspace: str | None = None
        self.resolved = False
        self.siblings_of = siblings_of
        self.failed_parents = failed_parents
        self.answered = answered

    def is_sibling(self, parent: bytes) -> bool:
        """An OK span under this parent may have recovered a failure: the first one after it does."""
        return (
            bool(parent)
            and parent not in self.answered
            and (parent in self.failed_parents or parent in self.siblings_of)
        )

    def saw(self, parent: bytes, status_code: int, *, outcome: bool = False) -> None:
        """Spans are walked in the request's order: a failure's later siblings are the candidates, until one
        answers (an `outcome`)."""
        if not parent:
            return
        if status_code == STATUS_ERROR:
            self.failed_parents.add(parent)
            self.answered.discard(parent)
        elif outcome:
            self.answered.add(parent)


def _visit(out: SpanWalk, state: _ResourceState, span: Any, keys: frozenset[str]) -> None:
    """One span, read through protobuf's objects."""
    # Every span when there are no wire bytes: the cheapest reads first (`HasField` skips building the status).
    parent = span.parent_span_id
    events = span.events
    status_code = span.status.code if span.HasField("status") else 0
    name = span.name
    agent_invocation = name.startswith("invoke_agent")
    if _worth_a_look(len(events) > 0, status_code, parent, agent_invocation):
        workspace = _workspace(out, state)
        if workspace is not None:
            failed = status_code == STATUS_ERROR
            exception_events = [event for event in events if is_exception_event(event.name)] if events else []
            # A span that records no error only matters as an execution: convert just what an execution reads.
            attrs = (
                attributes(span.attributes)
                if failed or exception_events
                else selected_attributes(span.attributes, keys)
            )
            _interesting_span(
                out,
                workspace,
                state,
                span.trace_id,
                span.span_id,
                parent,
                name,
                span.start_time_unix_nano,
                span.end_time_unix_nano,
                status_code,
                span.status.message if failed or exception_events else "",
                agent_invocation,
                attrs,
                [(e.time_unix_nano, attributes(e.attributes)) for e in exception_events],
            )
    sibling = (
        status_code != STATUS_ERROR and state.is_sibling(parent) and not any(is_exception_event(e.name) for e in events)
    )
    state.saw(parent, status_code, outcome=sibling)
    if sibling:
        method = selected_attributes(span.attributes, _RECOVERY_KEYS).get(RECOVERY_METHOD)
        _outcome(
            out,
            state,
            span.trace_id,
            span.span_id,
            parent,
            name,
            span.start_time_unix_nano,
            span.end_time_unix_nano,
            method,
        )


def _visit_wire(
    out: SpanWalk, state: _ResourceState, reader: WireReader, start: int, end: int, keys: frozenset[str]
) -> bool:
    """One span, read from its bytes `[start:end]`; False (nothing done) when they need protobuf's objects."""
    span = reader.span(start, end)
    if span is None:
        return False
    parent = span.parent_span_id
    status_code = span.status_code
    name = span.name
    agent_invocation = name.startswith("invoke_agent")
    # A sibling that recorded an exception itself did not succeed cleanly: no recovery.
    sibling = (
        status_code != STATUS_ERROR
        and state.is_sibling(parent)
        and not any(is_exception_event(e.name) for e in span.events)
    )
    method: AttrValue = None
    if sibling:
        recovery_attrs = reader.span_attributes(start, end, _RECOVERY_KEYS)
        if recovery_attrs is None:
            return False
        method = recovery_attrs.get(RECOVERY_METHOD)
    if _worth_a_look(len(span.events) > 0, status_code, parent, agent_invocation):
        failed = status_code == STATUS_ERROR
        exception_events: list[tuple[int, dict[str, AttrValue]]] = []
        for event in span.events:
            if is_exception_event(event.name):
                event_attrs = reader.event_attributes(event.start, event.end)
                if event_attrs is None:
                    return False
                exception_events.append((event.time_ns, event_attrs))
        attrs = reader.span_attributes(start, end, None if failed or exception_events else keys)
        if attrs is None:
            return False
        workspace = _workspace(out, state)
        if workspace is not None:
            _interesting_span(
                out,
                workspace,
                state,
                span.trace_id,
                span.span_id,
                parent,
                name,
                span.start_ns,
                span.end_ns,
                status_code,
                span.status_message,
                agent_invocation,
                attrs,
                exception_events,
            )
    # Nothing below returns False: the span is done, as what it is and as a sibling.
    state.saw(parent, status_code, outcome=sibling)
    if sibling:
        _outcome(out, state, span.trace_id, span.span_id, parent, name, span.start_ns, span.end_ns, method)
    return True


def _outcome(
    out: SpanWalk,
    state: _ResourceState,
    trace_id: bytes,
    span_id: bytes,
    parent: bytes,
    name: str,
    start_ns: int,
    end_ns: int,
    method: AttrValue,
) -> None:
    workspace = _workspace(out, state, count=False)  # the span is refused, if at all, as itself
    if workspace is None or len(trace_id) != 16 or len(span_id) != 8:
        return
    out.outcomes.append(
        SpanOutcome(
            workspace, trace_id, span_id, parent, name, start_ns, end_ns, method if isinstance(method, str) else ""
        )
    )


def _worth_a_look(has_events: bool, status_code: int, parent: bytes, agent_invocation: bool) -> bool:
    """Roots, spans with events, ERROR spans and agent invocations; `_wire.candidate_spans` picks a superset."""
    return has_events or status_code == STATUS_ERROR or not parent or agent_invocation


def _workspace(out: SpanWalk, state: _ResourceState, *, count: bool = True) -> str | None:
    """The workspace of a span worth a look (None: rejected, and counted unless `count` is false); the resource is
    converted once."""
    if not state.resolved:
        if state.resource is None:
            state.resource = attributes(state.resource_spans.resource.attributes)
        state.workspace = state.workspace_of(state.resource)
        state.resolved = True
    if state.workspace is None and count:
        out.rejections[INVALID_WORKSPACE] = out.rejections.get(INVALID_WORKSPACE, 0) + 1
    return state.workspace


# What the walk itself reads of an execution span's attributes.
RECOVERY_METHOD = "recovery.method"
_RECOVERY_KEYS = frozenset({RECOVERY_METHOD})
_WALK_KEYS = frozenset({"gen_ai.operation.name", RECOVERY_METHOD})


def _interesting_span(
    out: SpanWalk,
    workspace: str,
    state: _ResourceState,
    trace_id: bytes,
    span_id: bytes,
    parent: bytes,
    name: str,
    start_ns: int,
    end_ns: int,
    status_code: int,
    status_message: str,
    agent_invocation: bool,
    attrs: dict[str, AttrValue],
    exception_events: list[tuple[int, dict[str, AttrValue]]],
) -> None:
    """What a span worth a look yields, however it was read: an execution, candidates, an error span.
    `exception_events`: (time, attributes) of its exception events; `status_message` is needed only when it
    failed or has one."""
    resource = state.resource
    assert resource is not None  # converted by `_workspace`
    if len(trace_id) not in (0, 16) or len(span_id) not in (0, 8) or len(parent) not in (0, 8):
        # OTLP ids are 16 and 8 bytes (or empty, as the Collector reads them); others would be stored and
        # remembered at whatever size they came.
        out.rejections[INVALID_IDS] = out.rejections.get(INVALID_IDS, 0) + 1
        return
    failed = status_code == STATUS_ERROR
    is_execution = not parent or agent_invocation
    if not agent_invocation and attrs.get("gen_ai.operation.name") == "invoke_agent":
        agent_invocation = is_execution = True
    if is_execution:
        out.executions.append(
            ExecutionSpan(workspace, trace_id, span_id, start_ns, end_ns, failed, agent_invocation, attrs, resource)
        )
    index = 0
    for event_time_ns, event_attrs in exception_events:
        exc_type = event_attrs.get("exception.type")
        message = event_attrs.get("exception.message")
        stacktrace = event_attrs.get("exception.stacktrace")
        escaped = event_attrs.get("exception.escaped")
        extra = {k: v for k, v in event_attrs.items() if k not in _EXCEPTION_KEYS}
        out.candidates.append(
            Candidate(
                workspace=workspace,
                origin=ORIGIN_SPAN_EVENT,
                trace_id=trace_id,
                span_id=span_id,
                parent_span_id=parent,
                span_name=name,
                span_start_ns=start_ns,
                time_ns=event_time_ns,
                fallback_times_ns=(end_ns, start_ns),
                exc_type=exc_type if isinstance(exc_type, str) else "",
                message=message if isinstance(message, str) else "",
                stacktrace=stacktrace if isinstance(stacktrace, str) else "",
                attrs=attrs,
                resource=resource,
                escaped_span=failed or escaped is True,
                escaped_execution=is_execution and (failed or escaped is True),
                index=index,
                extra=extra,
            )
        )
        index += 1
    if failed or index:
        out.error_spans.append(
            ErrorSpanInfo(
                workspace, trace_id, span_id, parent, name, start_ns, end_ns, status_code, status_message, index > 0
            )
        )
    if failed and index == 0:
        exc_type, message = status_error(attrs.get("error.type"), status_message, name)
        out.candidates.append(
            Candidate(
                workspace=workspace,
                origin=ORIGIN_SPAN_STATUS,
                trace_id=trace_id,
                span_id=span_id,
                parent_span_id=parent,
                span_name=name,
                span_start_ns=start_ns,
                time_ns=end_ns,
                fallback_times_ns=(start_ns,),
                exc_type=exc_type,
                message=message,
                stacktrace="",
                attrs=attrs,
                resource=resource,
                escaped_span=True,
                escaped_execution=is_execution,
            )
        )


_TYPED_STATUS = re.compile(r"^([A-Za-z_][\w.$]*(?:::[\w$]+)*): (.*)$", re.S)


def status_error(error_type: AttrValue, status_message: str, span_name: str) -> tuple[str, str]:
    """Type and message of an ERROR span with no exception event (README, "What it reads from OTLP"): `error.type`,
    else the status message (SDKs write "ValueError: boom" there, which splits into type and message)."""
    if isinstance(error_type, str) and error_type:
        return error_type, status_message
    typed = _TYPED_STATUS.match(status_message)
    if typed:
        return typed.group(1), typed.group(2)
    if status_message:
        return status_message[:128], status_message
    return "SpanError", f"span {span_name!r} ended with status ERROR"
