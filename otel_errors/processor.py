"""The processor: OTLP export requests in, an `ErrorEventBatch` out. Pure: no I/O, bounded memory.

Order of work for each candidate occurrence (DESIGN §4, §5, §8):
  bound sizes -> scrub PII -> fingerprint (grouping) -> drop propagation duplicates -> identity -> classify.
Scrubbing comes before fingerprinting so a scrubbed value never splits a group.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from . import classify
from ._candidates import ORIGIN_LOG_RECORD, ORIGIN_SPAN_STATUS, Candidate
from ._logs import walk_logs
from ._otlp import AttrValue, first_number, first_str
from ._spans import ErrorSpanInfo, ExecutionSpan, walk_traces
from ._tracestate import ExecutionIdentity, TraceMemory, TraceState
from .config import WORKSPACE_ID_PATTERN, ProcessorConfig, WorkspaceRules
from .grouping import ExceptionInput, Frame, GroupingResult, compute_grouping
from .proto_types import ErrorEventBatch
from .scrub import Scrubber

TRUNCATION_MARKER = "…[truncated]"

USER_KEYS = ("user.id", "enduser.id")
AGENT_ID_KEYS = ("gen_ai.agent.id",)
AGENT_NAME_KEYS = ("gen_ai.agent.name",)
SERVICE_KEYS = ("service.name",)
ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment")
VERSION_KEYS = ("service.version",)


def truncate(text: str, limit: int) -> str:
    if "\x00" in text:  # PostgreSQL text cannot hold NUL
        text = text.replace("\x00", "")
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(TRUNCATION_MARKER))] + TRUNCATION_MARKER


def _short_type(exc_type: str) -> str:
    """`json.decoder.JSONDecodeError` and `JSONDecodeError` are one type (for propagation matching)."""
    for sep in ("::", "."):
        if sep in exc_type:
            exc_type = exc_type.rsplit(sep, 1)[1]
    return exc_type


class Processor:
    """Turns OTLP exports into error events. One instance per receiver process; not thread-safe."""

    def __init__(
        self, config: ProcessorConfig | None = None, rules_for: Callable[[str], WorkspaceRules] | None = None
    ) -> None:
        self.config = config or ProcessorConfig()
        self._rules_for = rules_for or (lambda _workspace: _DEFAULT_RULES)
        self._scrubbers: dict[int, Scrubber] = {}
        self._state = TraceState(self.config.trace_state_traces, self.config.trace_state_spans_per_trace)
        self._grouping_json: dict[str, str] = {}
        self._frames_keys: dict[int, tuple[tuple[Frame, ...], tuple[tuple[str, str], ...]]] = {}
        # Per export (cleared by each call): resource attribute dict id -> (dict, identity), see _resource_identity.
        self._resources: dict[int, tuple[dict[str, AttrValue], tuple[str, str, str, str, str, str]]] = {}
        self._credits_keys = (self.config.credits_attribute,)
        # The accepted time window around the receive time (`_bounded_time`), in ns.
        self._skew_ns = self.config.max_clock_skew_seconds * 1_000_000_000
        self._age_ns = self.config.max_age_seconds * 1_000_000_000
        # What `_remember` and `_emit_executions` read of an execution span's attributes.
        self._execution_keys = frozenset(
            (
                *USER_KEYS,
                *AGENT_ID_KEYS,
                *AGENT_NAME_KEYS,
                *ENVIRONMENT_KEYS,
                *VERSION_KEYS,
                self.config.credits_attribute,
            )
        )

    # -- entry points -------------------------------------------------------------------------------------------

    def process_traces(
        self, request: Any, workspace_id: str | None = None, received_ns: int | None = None, wire: bytes | None = None
    ) -> Any:
        """`wire`: the request's protobuf bytes, when the receiver has them (a faster span walk). `request` may then
        be None: it is parsed from `wire` only if the walk needs protobuf's objects, and malformed bytes raise
        `google.protobuf.message.DecodeError` (see `_wire`)."""
        self._resources.clear()  # the previous export's resource dicts are garbage
        walk = walk_traces(request, self._workspace_resolver(workspace_id), self._execution_keys, wire)
        batch = ErrorEventBatch()
        batch.rejected, batch.rejected_reason = walk.rejected, walk.rejected_reason
        now = received_ns or time.time_ns()
        memories, identities = self._remember(walk.error_spans, walk.executions)
        self._emit_executions(batch, walk.executions, identities, memories, now)
        # Innermost first: a deeper span starts later, so its record is the one we keep (DESIGN §4).
        candidates = sorted(walk.candidates, key=lambda c: (c.origin == ORIGIN_SPAN_STATUS, -c.span_start_ns))
        propagated = self._emit_events(batch, candidates, memories, now)
        for info in walk.error_spans:
            self._emit_error_span(batch, info, propagated, now)
        return batch

    def process_logs(self, request: Any, workspace_id: str | None = None, received_ns: int | None = None) -> Any:
        self._resources.clear()  # the previous export's resource dicts are garbage
        walk = walk_logs(request, self._workspace_resolver(workspace_id))
        batch = ErrorEventBatch()
        batch.rejected, batch.rejected_reason = walk.rejected, walk.rejected_reason
        now = received_ns or time.time_ns()
        memories: dict[tuple[str, bytes], TraceMemory] = {}
        for candidate in walk.candidates:
            if candidate.trace_id:
                key = (candidate.workspace, candidate.trace_id)
                if key not in memories:
                    memories[key] = self._state.touch(*key)
        self._emit_events(batch, walk.candidates, memories, now)
        return batch

    # -- identity and state -------------------------------------------------------------------------------------

    def _workspace_resolver(self, fixed: str | None) -> Callable[[dict[str, AttrValue]], str | None]:
        if fixed is not None:
            return lambda _resource: fixed
        default = self.config.default_workspace

        def resolve(resource: dict[str, AttrValue]) -> str | None:
            value = resource.get("workspace.id")
            if value is None or value == "":
                return default
            return value if isinstance(value, str) and WORKSPACE_ID_PATTERN.match(value) else None

        return resolve

    def _remember(
        self, error_spans: list[ErrorSpanInfo], executions: list[ExecutionSpan]
    ) -> tuple[dict[tuple[str, bytes], TraceMemory], list[ExecutionIdentity]]:
        """The trace memories of this export, and each execution's own identity (in `executions` order)."""
        memories: dict[tuple[str, bytes], TraceMemory] = {}
        touch, add_span = self._state.touch, self._state.add_span
        resource_identity = self._resource_identity
        for info in error_spans:
            key = (info.workspace, info.trace_id)
            memory = memories.get(key) or memories.setdefault(key, touch(*key))
            add_span(memory, info.span_id, info.parent_span_id)
        identities: list[ExecutionIdentity] = []
        for execution in executions:
            key = (execution.workspace, execution.trace_id)
            memory = memories.get(key) or memories.setdefault(key, touch(*key))
            attrs = execution.attrs
            # first_str(keys, attrs, resource) == first_str(keys, attrs) or the resource's (computed once).
            user_id, agent_id, agent_name, environment, version, _service = resource_identity(execution.resource)
            identity = ExecutionIdentity(
                first_str(USER_KEYS, attrs) or user_id,
                first_str(AGENT_ID_KEYS, attrs) or agent_id,
                first_str(AGENT_NAME_KEYS, attrs) or agent_name,
                first_str(ENVIRONMENT_KEYS, attrs) or environment,
                first_str(VERSION_KEYS, attrs) or version,
            )
            identities.append(identity)
            if execution.is_agent_invocation:
                memory.has_agent_invocation = True
            if execution.is_agent_invocation or memory.identity is None:
                memory.identity = identity  # never mutated: shared with `identities`
        return memories, identities

    def _emit_executions(
        self,
        batch: Any,
        executions: list[ExecutionSpan],
        identities: list[ExecutionIdentity],
        memories: dict[tuple[str, bytes], TraceMemory],
        now: int,
    ) -> None:
        limit = self.config.max_id_length
        for execution, own in zip(executions, identities, strict=True):
            memory = memories[(execution.workspace, execution.trace_id)]
            # A root that merely wraps agent invocations is not an execution of its own (counted once, per agent).
            if not execution.is_agent_invocation and memory.has_agent_invocation:
                continue
            identity = memory.identity or _NO_IDENTITY
            row = batch.executions.add()
            row.workspace_id = execution.workspace
            row.trace_id = execution.trace_id
            row.span_id = execution.span_id
            row.start_time_unix_nano = self._bounded_time(execution.start_ns, now)
            row.end_time_unix_nano = self._bounded_end(execution.end_ns, now)
            row.failed = execution.failed
            row.agent_id = truncate(
                own.agent_id or identity.agent_id or self._resource_identity(execution.resource)[5], limit
            )
            row.agent_name = truncate(own.agent_name, limit)
            row.user_id = truncate(own.user_id or identity.user_id, limit)
            row.environment = truncate(own.environment, limit)
            row.credits = first_number(self._credits_keys, execution.attrs, execution.resource)

    # -- occurrences --------------------------------------------------------------------------------------------

    def _emit_events(
        self, batch: Any, candidates: list[Candidate], memories: dict[tuple[str, bytes], TraceMemory], now: int
    ) -> set[bytes]:
        """Emit one event per real occurrence; returns the span ids whose records were propagation."""
        propagated: set[bytes] = set()
        emitted: dict[tuple[bytes, str, str], Any] = {}
        cfg = self.config
        for candidate in candidates:
            rules = self._rules_for(candidate.workspace)
            scrubber = self._scrubber(rules)
            exc_type = truncate(candidate.exc_type, cfg.max_type_length)
            # Cut to twice the stored limit first: scrubbing costs grow with the text, and a secret straddling the
            # final cut is still seen whole. A 5 MB message then costs what a 16 KiB one does.
            message, stacktrace = scrubber.exception(
                candidate.message[: 2 * cfg.max_message_length], candidate.stacktrace[: 2 * cfg.max_stacktrace_length]
            )
            message = truncate(message, cfg.max_message_length)
            stacktrace = truncate(stacktrace, cfg.max_stacktrace_length)
            memory = memories.get((candidate.workspace, candidate.trace_id)) if candidate.trace_id else None
            status_only = candidate.origin == ORIGIN_SPAN_STATUS
            if status_only and exc_type and memory is not None and _status_is_propagation(memory, candidate):
                # Decided by span ancestry alone: the ERROR span's grouping would be computed for nothing.
                self._propagated(propagated, emitted, candidate, (_short_type(exc_type), message))
                continue
            attrs = scrubber.attributes(candidate.attrs)
            grouping = compute_grouping(
                ExceptionInput(type=exc_type, message=message, stacktrace=stacktrace, attributes=attrs), rules.grouping
            )
            if not exc_type:
                exc_type = grouping.chain_types[0] if grouping.chain_types else ("Error" if message else "SpanError")
            key = (_short_type(exc_type), message)
            if memory is not None:
                frames_key = self._frames_key(grouping)
                if self._is_propagation(memory, candidate, key, frames_key):
                    self._propagated(propagated, emitted, candidate, key)
                    continue
                if not status_only and len(memory.exceptions) < cfg.trace_state_spans_per_trace:
                    memory.exceptions.append((key, frames_key, candidate.span_id))
            event = self._event(batch, candidate, exc_type, message, stacktrace, attrs, grouping, memory, now)
            if rules.previous_grouping is not None:
                previous = compute_grouping(
                    ExceptionInput(type=exc_type, message=message, stacktrace=stacktrace, attributes=attrs),
                    rules.previous_grouping,
                )
                if previous.fingerprint != grouping.fingerprint:
                    event.previous_fingerprint = previous.fingerprint
            emitted[(candidate.trace_id, *key)] = event
        return propagated

    @staticmethod
    def _propagated(
        propagated: set[bytes], emitted: dict[tuple[bytes, str, str], Any], candidate: Candidate, key: tuple[str, str]
    ) -> None:
        propagated.add(candidate.span_id)
        kept = emitted.get((candidate.trace_id, *key))
        if kept is not None and candidate.escaped_execution:
            kept.severity = max(kept.severity, int(classify.Severity.HIGH))

    def _is_propagation(
        self, memory: TraceMemory, candidate: Candidate, key: tuple[str, str], frames_key: tuple[tuple[str, str], ...]
    ) -> bool:
        if candidate.origin == ORIGIN_SPAN_STATUS:
            return _status_is_propagation(memory, candidate)
        for other_key, other_frames, span_id in memory.exceptions:
            if other_key != key or not _frames_contain(frames_key, other_frames):
                continue
            if candidate.origin == ORIGIN_LOG_RECORD or not candidate.span_id:
                # A log of an exception that a span in the same trace recorded (or the reverse) is one occurrence,
                # when it was logged on that span or on one of its ancestors/descendants.
                if span_id == candidate.span_id or TraceState.related(memory, candidate.span_id, span_id):
                    return True
                continue
            if span_id != candidate.span_id and TraceState.related(memory, candidate.span_id, span_id):
                return True
            if span_id == candidate.span_id and candidate.origin != ORIGIN_LOG_RECORD:
                continue  # several exception events on one span are several occurrences
        return False

    def _event(
        self,
        batch: Any,
        c: Candidate,
        exc_type: str,
        message: str,
        stacktrace: str,
        attrs: dict[str, AttrValue],
        grouping: GroupingResult,
        memory: TraceMemory | None,
        now: int,
    ) -> Any:
        cfg = self.config
        identity = (memory.identity if memory is not None else None) or _NO_IDENTITY
        event = batch.events.add()
        event.workspace_id = c.workspace
        event.time_unix_nano = time_ns = self._bounded_time(c.time_ns, now)
        event.occurrence_id = _occurrence_id(c, exc_type, time_ns if c.time_ns else 0)
        event.fingerprint = grouping.fingerprint
        event.fingerprint_config = grouping.config_id
        event.type = exc_type
        event.message = message
        event.stacktrace = stacktrace
        event.title = truncate(grouping.title or exc_type, 512)
        event.culprit = truncate(grouping.culprit, 512)
        event.grouping_json = self._grouping_details(grouping)
        context = attrs if not c.extra else {**attrs, **c.extra}
        event.severity = int(
            classify.severity(
                exc_type,
                context,
                escaped_span=c.escaped_span,
                escaped_execution=c.escaped_execution,
                log_severity_number=c.log_severity,
            )
        )
        event.category = int(classify.category(exc_type, context))
        event.source = int(classify.source(context))
        event.origin = c.origin
        event.handled = not c.escaped_span
        event.trace_id = c.trace_id
        event.span_id = c.span_id
        event.parent_span_id = c.parent_span_id
        limit = cfg.max_id_length
        event.span_name = truncate(c.span_name, limit)
        # first_str(keys, span attributes, resource) == first_str(keys, span attributes) or the resource's value.
        span_attrs = c.attrs
        user_id, agent_id, agent_name, environment, version, service = self._resource_identity(c.resource)
        event.user_id = truncate(first_str(USER_KEYS, span_attrs) or user_id or identity.user_id, limit)
        agent_id = first_str(AGENT_ID_KEYS, span_attrs) or agent_id or identity.agent_id
        event.service_name = service_name = truncate(service, limit)
        event.agent_id = truncate(agent_id or service_name, limit)
        event.agent_name = truncate(first_str(AGENT_NAME_KEYS, span_attrs) or agent_name or identity.agent_name, limit)
        event.environment = truncate(
            first_str(ENVIRONMENT_KEYS, span_attrs) or environment or identity.environment, limit
        )
        event.version = truncate(first_str(VERSION_KEYS, span_attrs) or version or identity.version, limit)
        event.credits = first_number(self._credits_keys, span_attrs)
        event.attributes_json = self._context_json(context)
        event.chain_types.extend(grouping.chain_types[:16])
        return event

    def _resource_identity(self, resource: dict[str, AttrValue]) -> tuple[str, str, str, str, str, str]:
        """User, agent id, agent name, environment, version and service of a resource's attributes: computed once
        per resource of an export (every span of it shares the dict)."""
        cached = self._resources.get(id(resource))
        if cached is not None and cached[0] is resource:  # the entry holds the dict: its id is not reused
            return cached[1]
        found = (
            first_str(USER_KEYS, resource),
            first_str(AGENT_ID_KEYS, resource),
            first_str(AGENT_NAME_KEYS, resource),
            first_str(ENVIRONMENT_KEYS, resource),
            first_str(VERSION_KEYS, resource),
            first_str(SERVICE_KEYS, resource),
        )
        if len(self._resources) >= 64:
            self._resources.clear()
        self._resources[id(resource)] = (resource, found)
        return found

    def _emit_error_span(self, batch: Any, info: ErrorSpanInfo, propagated: set[bytes], now: int) -> None:
        row = batch.error_spans.add()
        row.workspace_id = info.workspace
        row.trace_id = info.trace_id
        row.span_id = info.span_id
        row.parent_span_id = info.parent_span_id
        row.name = truncate(info.name, self.config.max_id_length)
        row.start_time_unix_nano = self._bounded_time(info.start_ns, now)
        row.end_time_unix_nano = self._bounded_end(info.end_ns, now)
        row.status_code = info.status_code if 0 <= info.status_code <= 2 else 0  # an open enum: any int32
        row.status_message = truncate(info.status_message, self.config.max_message_length)
        row.propagated = info.span_id in propagated

    # -- helpers ------------------------------------------------------------------------------------------------

    def _scrubber(self, rules: WorkspaceRules) -> Scrubber:
        key = id(rules.scrub)
        scrubber = self._scrubbers.get(key)
        if scrubber is None or scrubber.config is not rules.scrub:
            scrubber = self._scrubbers[key] = Scrubber(rules.scrub)
        return scrubber

    def _frames_key(self, grouping: GroupingResult) -> tuple[tuple[str, str], ...]:
        """`_frames_key(grouping)`, cached on the frames tuple (memoized groupings share it)."""
        frames = grouping.frames
        cached = self._frames_keys.get(id(frames))
        if cached is not None and cached[0] is frames:  # the entry holds `frames`, so its id is not reused
            return cached[1]
        key = _frames_key(grouping)
        if len(self._frames_keys) >= _FRAMES_KEYS_MAX:
            self._frames_keys.clear()
        self._frames_keys[id(frames)] = (frames, key)
        return key

    def _bounded_time(self, time_ns: int, now: int) -> int:
        if not time_ns or time_ns > now + self._skew_ns or time_ns < now - self._age_ns:
            return now
        return time_ns

    def _bounded_end(self, time_ns: int, now: int) -> int:
        """An end time outside the accepted window is unknown (0), never an absurd value for the store."""
        return time_ns if time_ns and now - self._age_ns <= time_ns <= now + self._skew_ns else 0

    def _context_json(self, context: dict[str, AttrValue]) -> str:
        cfg = self.config
        if len(context) <= cfg.max_attributes and _plain_and_short(context, cfg.max_attribute_value_length):
            return _PLAIN_JSON(context)
        bounded: dict[str, Any] = {}
        for key, value in context.items():
            if len(bounded) >= cfg.max_attributes:
                break
            bounded[truncate(key, 128)] = _bounded_value(value, cfg.max_attribute_value_length)
        return json.dumps(bounded, ensure_ascii=False, default=_json_default)

    def _grouping_details(self, grouping: GroupingResult) -> str:
        """The representative frames and the fingerprint's explanation; cached per fingerprint."""
        cached = self._grouping_json.get(grouping.fingerprint)
        if cached is None:
            if len(self._grouping_json) > 4096:
                self._grouping_json.clear()
            # Bounded and NUL-free like every stored text: the explanation quotes attribute values
            # (`error.fingerprint`, `error.type`) as they came.
            cached = self._grouping_json[grouping.fingerprint] = json.dumps(
                _bounded_value(
                    {
                        "configId": grouping.config_id,
                        "frames": [f.to_dict() for f in grouping.frames[:64]],
                        "chain": list(grouping.chain_types),
                        "component": grouping.component.to_dict() if grouping.component else None,
                    },
                    self.config.max_attribute_value_length,
                    items=None,
                ),
                ensure_ascii=False,
            )
        return cached


_DEFAULT_RULES = WorkspaceRules()
_NO_IDENTITY = ExecutionIdentity()
_FRAMES_KEYS_MAX = 4096


def _status_is_propagation(memory: TraceMemory, candidate: Candidate) -> bool:
    """An ERROR span is not a new error when an exception was recorded on it or below it."""
    return any(
        TraceState.related(memory, candidate.span_id, span_id) or span_id == candidate.span_id
        for _key, _frames, span_id in memory.exceptions
    )


def _frames_key(grouping: GroupingResult) -> tuple[tuple[str, str], ...]:
    """In-app frames only: the tracing SDK's own wrapper frames sit at the outer end of every recorded copy."""
    frames = [f for f in grouping.frames if f.in_app] or list(grouping.frames)
    return tuple((f.module or f.filename, f.function) for f in frames)


def _frames_contain(a: tuple[tuple[str, str], ...], b: tuple[tuple[str, str], ...]) -> bool:
    """One frame list is a prefix or suffix of the other (a propagated record sees more or fewer outer frames)."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if not short:
        return True
    return long[-len(short) :] == short or long[: len(short)] == short


def _occurrence_id(c: Candidate, exc_type: str, time_ns: int) -> bytes:
    """Deterministic, so a retried export of the same record maps to the same stored occurrence."""
    h = hashlib.blake2b(digest_size=16)
    for part in (
        c.workspace.encode(),
        c.trace_id,
        c.span_id,
        str(c.origin).encode(),
        str(c.index).encode(),
        str(time_ns).encode(),
        exc_type.encode(),
        c.message[:256].encode("utf-8", "replace"),
    ):
        h.update(len(part).to_bytes(4, "little"))
        h.update(part)
    return h.digest()


def _plain_and_short(context: dict[str, AttrValue], limit: int) -> bool:
    """Nothing to bound: short string keys, short strings and finite numbers only (the usual span)."""
    for key, value in context.items():
        if len(key) > 128 or "\x00" in key:
            return False
        if isinstance(value, str):
            if len(value) > limit or "\x00" in value:
                return False
        elif isinstance(value, float):
            if value != value or value in (_INF, -_INF):
                return False
        elif value is not None and not isinstance(value, int):  # int covers bool
            return False
    return True


_INF = float("inf")


def _plain_json_encoder() -> Callable[[dict[str, AttrValue]], str]:
    """`json.dumps(x, ensure_ascii=False)` for what `_plain_and_short` admits: the same text from one C encoder
    made once (`JSONEncoder.encode` makes a new one, through two Python frames, at every call: 7.5 -> 5.2 µs for
    a 10-attribute span). No circular-reference markers and no `default`: flat dicts of str/number/bool/None."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return json.JSONEncoder(ensure_ascii=False).encode
    encode = make(None, None, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)

    def plain_json(context: dict[str, AttrValue]) -> str:
        return "".join(encode(context, 0))

    return plain_json


_PLAIN_JSON = _plain_json_encoder()


def _bounded_value(value: AttrValue, limit: int, items: int | None = 16) -> Any:
    if isinstance(value, str):
        return truncate(value, limit)
    if isinstance(value, bytes):
        return value[: limit // 2].hex()
    if isinstance(value, list):
        return [_bounded_value(v, limit, items) for v in value[:items]]
    if isinstance(value, dict):
        return {truncate(str(k), 128): _bounded_value(v, limit, items) for k, v in list(value.items())[:items]}
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)  # JSON has no NaN/Infinity
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
