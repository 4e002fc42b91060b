"""The processor: OTLP export requests in, an `ErrorBatch` out. Pure: no I/O, bounded memory.

Order of work for each candidate occurrence (docs/architecture.md, "Processing"):
  bound sizes -> scrub PII -> fingerprint (grouping) -> drop propagation duplicates -> identity -> classify.
Scrubbing comes before fingerprinting so a scrubbed value never splits a group, and every text stored from
telemetry passes the workspace's scrubber: messages, stack traces, types, span names, status messages, attributes
(exception-event ones included). Identity fields are kept (or hashed, `hash_user_ids`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from . import _recovery as recovery
from . import classify
from ._bounds import TRUNCATION_MARKER, bounded_for_scrubbing, context_json, truncate
from ._candidates import ORIGIN_LOG_RECORD, ORIGIN_SPAN_STATUS, Candidate
from ._identity import (
    AGENT_ID_KEYS,
    AGENT_NAME_KEYS,
    ENVIRONMENT_KEYS,
    USER_KEYS,
    VERSION_KEYS,
    ResourceIdentities,
    UserIdHasher,
)
from ._logs import walk_logs
from ._otlp import AttrValue, first_number, first_str
from ._spans import ErrorSpanInfo, ExecutionSpan, walk_traces
from ._tracestate import ExceptionKey, ExecutionIdentity, FramesKey, TraceState, TraceView, exception_bytes
from .batch import TIME_OUT_OF_WINDOW, ErrorBatch, ErrorEvent, ErrorSpan, Execution
from .chains import linkable_traces
from .config import ProcessorConfig, WorkspaceRules, is_workspace_id
from .grouping import ExceptionInput, Frame, GroupingResult, compute_grouping
from .scrub import CUT_MARGIN, Scrubber

__all__ = ["TRUNCATION_MARKER", "Processor", "truncate"]


def _short_type(exc_type: str) -> str:
    """`json.decoder.JSONDecodeError` and `JSONDecodeError` are one type (for propagation matching)."""
    for sep in ("::", "."):
        if sep in exc_type:
            exc_type = exc_type.rsplit(sep, 1)[1]
    return exc_type


class Processor:
    """Turns OTLP exports into error events. One instance per receiver process; not thread-safe.

    What it remembers of traces (for propagation and enrichment) changes only through `committed(batch)`, which
    the caller invokes once the batch is stored."""

    def __init__(
        self, config: ProcessorConfig | None = None, rules_for: Callable[[str], WorkspaceRules] | None = None
    ) -> None:
        self.config = cfg = config or ProcessorConfig()
        self._rules_for = rules_for or (lambda _workspace: _DEFAULT_RULES)
        self._scrubbers: dict[int, Scrubber] = {}
        self._state = TraceState(cfg.trace_state_traces, cfg.trace_state_spans_per_trace, cfg.trace_state_max_bytes)
        self._frames_keys: dict[int, tuple[tuple[Frame, ...], FramesKey, int]] = {}
        self._resources = ResourceIdentities()  # per export
        self._hash_user = UserIdHasher(cfg.user_id_hash_key) if cfg.hash_user_ids else None
        self._credits_keys = (cfg.credits_attribute,)
        # The accepted window of times around the receive time, in ns.
        self._skew_ns = cfg.max_clock_skew_seconds * 1_000_000_000
        self._age_ns = cfg.max_age_seconds * 1_000_000_000
        # What `_remember` and `_emit_executions` read of an execution span's attributes.
        self._execution_keys = frozenset(
            (*USER_KEYS, *AGENT_ID_KEYS, *AGENT_NAME_KEYS, *ENVIRONMENT_KEYS, *VERSION_KEYS, cfg.credits_attribute)
        )

    @property
    def trace_state(self) -> TraceState:
        return self._state

    # -- entry points -------------------------------------------------------------------------------------------

    def process_traces(
        self, request: Any, workspace_id: str | None = None, received_ns: int | None = None, wire: bytes | None = None
    ) -> ErrorBatch:
        """`wire`: the request's protobuf bytes, when the receiver has them (a faster span walk). `request` may then
        be None: it is parsed from `wire` only if the walk needs protobuf's objects, and malformed bytes raise
        `google.protobuf.message.DecodeError` (see `_wire`)."""
        return _last(self.traces_in_steps(request, workspace_id, received_ns, wire))

    def process_logs(self, request: Any, workspace_id: str | None = None, received_ns: int | None = None) -> ErrorBatch:
        return _last(self.logs_in_steps(request, workspace_id, received_ns))

    def traces_in_steps(
        self, request: Any, workspace_id: str | None = None, received_ns: int | None = None, wire: bytes | None = None
    ) -> Iterator[ErrorBatch | None]:
        """`process_traces` in slices: yields None after every `SLICE_CHARS` of text scrubbed and grouped, then the
        batch. A receiver lets its event loop serve other requests at each None, so one export of huge texts never
        stalls the rest for its whole processing; an ordinary export is one slice."""
        self._resources.clear()  # the previous export's resource dicts are garbage
        walk = walk_traces(
            request, self._workspace_resolver(workspace_id), self._execution_keys, wire, self._state.sibling_parents()
        )
        batch = ErrorBatch(rejections=walk.rejections, warning=walk.warning, received=walk.spans)
        now = received_ns or time.time_ns()
        views: dict[tuple[str, bytes], TraceView] = {}
        identities = self._remember(walk.error_spans, walk.executions, views)
        recovery.remember_failures(self._state, views, walk.error_spans)
        self._emit_executions(batch, walk.executions, identities, views, now)
        # Innermost first: a deeper span starts later, so its record is the one we keep.
        candidates = sorted(walk.candidates, key=lambda c: (c.origin == ORIGIN_SPAN_STATUS, -c.span_start_ns))
        run = _EventsRun()
        for chunk in _slices(candidates):
            for candidate in chunk:
                self._emit_event(batch, candidate, views, now, run)
            if len(chunk) < len(candidates):
                yield None
        propagated = self._finish_events(batch, run)
        for info in walk.error_spans:
            self._emit_error_span(batch, info, propagated, now)
        if walk.outcomes or walk.executions:
            recovery.detect(
                batch,
                views,
                lambda workspace, trace_id: self._view(views, workspace, trace_id),
                outcomes=walk.outcomes,
                executions=walk.executions,
                now=now,
                in_window=self._in_window,
                scrub=self._scrub_text,
            )
        batch.linkable = linkable_traces(batch.events, batch.error_spans)
        batch.trace_views = list(views.values())
        yield batch

    def logs_in_steps(
        self, request: Any, workspace_id: str | None = None, received_ns: int | None = None
    ) -> Iterator[ErrorBatch | None]:
        """`process_logs` in slices, as `traces_in_steps`."""
        self._resources.clear()  # the previous export's resource dicts are garbage
        walk = walk_logs(request, self._workspace_resolver(workspace_id))
        batch = ErrorBatch(rejections=walk.rejections, received=walk.records)
        now = received_ns or time.time_ns()
        views: dict[tuple[str, bytes], TraceView] = {}
        for candidate in walk.candidates:
            if candidate.trace_id:
                key = (candidate.workspace, candidate.trace_id)
                if key not in views:
                    views[key] = self._state.view(*key)
        run = _EventsRun()
        for chunk in _slices(walk.candidates):
            for candidate in chunk:
                self._emit_event(batch, candidate, views, now, run)
            if len(chunk) < len(walk.candidates):
                yield None
        self._finish_events(batch, run)
        batch.trace_views = list(views.values())
        yield batch

    def committed(self, batch: ErrorBatch) -> None:
        """`batch` is stored: remember what its request taught about its traces."""
        if batch.trace_views:
            self._state.commit(batch.trace_views)
            batch.trace_views = []

    # -- identity and state -------------------------------------------------------------------------------------

    def _workspace_resolver(self, fixed: str | None) -> Callable[[dict[str, AttrValue]], str | None]:
        if fixed is not None:
            return lambda _resource: fixed
        default = self.config.default_workspace

        def resolve(resource: dict[str, AttrValue]) -> str | None:
            value = resource.get("workspace.id")
            if value is None or value == "":
                return default
            return value if isinstance(value, str) and is_workspace_id(value) else None

        return resolve

    def _view(self, views: dict[tuple[str, bytes], TraceView], workspace: str, trace_id: bytes) -> TraceView:
        key = (workspace, trace_id)
        view = views.get(key)
        if view is None:
            view = views[key] = self._state.view(workspace, trace_id)
        return view

    def _remember(
        self,
        error_spans: list[ErrorSpanInfo],
        executions: list[ExecutionSpan],
        views: dict[tuple[str, bytes], TraceView],
    ) -> list[ExecutionIdentity]:
        """Fill the export's trace views; returns each execution's own identity (in `executions` order)."""
        add_span = self._state.add_span
        for info in error_spans:
            add_span(self._view(views, info.workspace, info.trace_id), info.span_id, info.parent_span_id)
        identities: list[ExecutionIdentity] = []
        resources = self._resources
        for execution in executions:
            view = self._view(views, execution.workspace, execution.trace_id)
            attrs = execution.attrs
            # first_str(keys, attrs, resource) == first_str(keys, attrs) or the resource's (computed once).
            user_id, agent_id, agent_name, environment, version, _service = resources.of(execution.resource)
            identity = ExecutionIdentity(
                first_str(USER_KEYS, attrs) or user_id,
                first_str(AGENT_ID_KEYS, attrs) or agent_id,
                first_str(AGENT_NAME_KEYS, attrs) or agent_name,
                first_str(ENVIRONMENT_KEYS, attrs) or environment,
                first_str(VERSION_KEYS, attrs) or version,
            )
            identities.append(identity)
            if execution.is_agent_invocation:
                view.added.has_agent_invocation = True
            if execution.is_agent_invocation or view.identity is None:
                view.added.identity = identity  # never mutated: shared with `identities`
        return identities

    def _emit_executions(
        self,
        batch: ErrorBatch,
        executions: list[ExecutionSpan],
        identities: list[ExecutionIdentity],
        views: dict[tuple[str, bytes], TraceView],
        now: int,
    ) -> None:
        limit = self.config.max_id_length
        scrubbers: dict[str, Scrubber] = {}
        for execution, own in zip(executions, identities, strict=True):
            view = views[(execution.workspace, execution.trace_id)]
            # A root that merely wraps agent invocations is not an execution of its own (counted once, per agent).
            if not execution.is_agent_invocation and view.has_agent_invocation:
                continue
            started = self._in_window(now, execution.start_ns, execution.end_ns)
            if not started:
                _refuse(batch, (execution.trace_id, execution.span_id, 0))
                continue
            identity = view.identity or _NO_IDENTITY
            scrubber = scrubbers.get(execution.workspace)
            if scrubber is None:
                scrubber = scrubbers[execution.workspace] = self._scrubber(self._rules_for(execution.workspace))
            batch.executions.append(
                Execution(
                    workspace_id=execution.workspace,
                    trace_id=execution.trace_id,
                    span_id=execution.span_id,
                    start_time_unix_nano=started,
                    end_time_unix_nano=self._in_window(now, execution.end_ns),
                    failed=execution.failed,
                    agent_id=truncate(
                        own.agent_id or identity.agent_id or self._resources.of(execution.resource)[5], limit
                    ),
                    agent_name=truncate(scrubber.text(own.agent_name), limit) if own.agent_name else "",
                    user_id=self._user_id(execution.workspace, truncate(own.user_id or identity.user_id, limit)),
                    environment=truncate(scrubber.text(own.environment), limit) if own.environment else "",
                    credits=first_number(self._credits_keys, execution.attrs, execution.resource),
                )
            )

    # -- occurrences --------------------------------------------------------------------------------------------

    def _finish_events(self, batch: ErrorBatch, run: _EventsRun) -> set[bytes]:
        for index in run.escalated:
            event = batch.events[index]
            severity = max(event.severity, int(classify.Severity.HIGH))
            if severity != event.severity:
                batch.events[index] = dataclasses.replace(event, severity=severity)
        return run.propagated

    def _emit_event(
        self,
        batch: ErrorBatch,
        candidate: Candidate,
        views: dict[tuple[str, bytes], TraceView],
        now: int,
        run: _EventsRun,
    ) -> None:
        """One candidate: refused, dropped as a propagation copy, or an event."""
        cfg = self.config
        fallback = candidate.fallback_times_ns
        time_ns = self._in_window(
            now, candidate.time_ns, fallback[0] if fallback else 0, fallback[1] if len(fallback) > 1 else 0
        )
        if not time_ns:
            # A span counts once however many of its records are refused; a log record is its own item.
            record = id(candidate) if candidate.origin == ORIGIN_LOG_RECORD else 0
            _refuse(batch, (candidate.trace_id, candidate.span_id, record))
            return
        rules = self._rules_for(candidate.workspace)
        scrubber = self._scrubber(rules)
        # Everything is cut before a rule runs on it: to the stored limit and a margin, so a secret straddling
        # the final cut is still seen whole, and a 5 MB message costs what a 12 KiB one does.
        exc_type = truncate(scrubber.text(candidate.exc_type[: cfg.max_type_length + CUT_MARGIN]), cfg.max_type_length)
        message, stacktrace = scrubber.exception(
            candidate.message[: cfg.max_message_length + CUT_MARGIN],
            candidate.stacktrace[: cfg.max_stacktrace_length + CUT_MARGIN],
        )
        message = truncate(message, cfg.max_message_length)
        stacktrace = truncate(stacktrace, cfg.max_stacktrace_length)
        view = views.get((candidate.workspace, candidate.trace_id)) if candidate.trace_id else None
        status_only = candidate.origin == ORIGIN_SPAN_STATUS
        if status_only and exc_type and view is not None and _status_is_propagation(view, candidate):
            # Decided by span ancestry alone: the ERROR span's grouping would be computed for nothing.
            self._propagated(
                run.propagated, run.emitted, run.escalated, candidate, (_short_type(exc_type), hash(message))
            )
            batch.propagated += 1
            return
        attrs = scrubber.attributes(
            bounded_for_scrubbing(candidate.attrs, cfg.max_attribute_value_length, cfg.max_attributes)
        )
        grouping = compute_grouping(
            ExceptionInput(type=exc_type, message=message, stacktrace=stacktrace, attributes=attrs), rules.grouping
        )
        if not exc_type:
            exc_type = grouping.chain_types[0] if grouping.chain_types else ("Error" if message else "SpanError")
        key: ExceptionKey = (_short_type(exc_type), hash(message))
        if view is not None:
            frames_key, frames_bytes = self._frames_key(grouping)
            if self._is_propagation(view, candidate, key, frames_key):
                self._propagated(run.propagated, run.emitted, run.escalated, candidate, key)
                batch.propagated += 1
                return
            if not status_only and self._state.may_add_exception(view):
                entry = (key, frames_key, candidate.span_id, frames_bytes + len(key[0]))
                view.added.exceptions.append(entry)
        context = (
            attrs
            if not candidate.extra
            else {
                **attrs,
                **scrubber.attributes(
                    bounded_for_scrubbing(candidate.extra, cfg.max_attribute_value_length, cfg.max_attributes)
                ),
            }
        )
        previous = ""
        if rules.previous_grouping is not None:
            before = compute_grouping(
                ExceptionInput(type=exc_type, message=message, stacktrace=stacktrace, attributes=attrs),
                rules.previous_grouping,
            )
            if before.fingerprint != grouping.fingerprint:
                previous = before.fingerprint
        run.emitted[(candidate.trace_id, *key)] = len(batch.events)
        batch.events.append(
            self._event(
                candidate,
                scrubber,
                exc_type=exc_type,
                message=message,
                stacktrace=stacktrace,
                context=context,
                grouping=grouping,
                previous_fingerprint=previous,
                view=view,
                time_ns=time_ns,
            )
        )

    @staticmethod
    def _propagated(
        propagated: set[bytes],
        emitted: dict[tuple[bytes, str, int], int],
        escalated: set[int],
        candidate: Candidate,
        key: ExceptionKey,
    ) -> None:
        """A copy of an exception recorded deeper: when it escaped the execution, the kept record is severe."""
        propagated.add(candidate.span_id)
        kept = emitted.get((candidate.trace_id, *key))
        if kept is not None and candidate.escaped_execution:
            escalated.add(kept)

    def _is_propagation(self, view: TraceView, candidate: Candidate, key: ExceptionKey, frames_key: FramesKey) -> bool:
        if candidate.origin == ORIGIN_SPAN_STATUS:
            return _status_is_propagation(view, candidate)
        for entries in view.exception_lists():
            for other_key, other_frames, span_id, _nbytes in entries:
                if other_key != key or not _frames_contain(frames_key, other_frames):
                    continue
                if candidate.origin == ORIGIN_LOG_RECORD or not candidate.span_id:
                    # A log of an exception that a span in the same trace recorded (or the reverse) is one
                    # occurrence, when it was logged on that span or on one of its ancestors/descendants.
                    if span_id == candidate.span_id or TraceState.related(view, candidate.span_id, span_id):
                        return True
                    continue
                if span_id != candidate.span_id and TraceState.related(view, candidate.span_id, span_id):
                    return True
                # The same span: several exception events on one span are several occurrences.
        return False

    def _event(
        self,
        c: Candidate,
        scrubber: Scrubber,
        *,
        exc_type: str,
        message: str,
        stacktrace: str,
        context: dict[str, AttrValue],
        grouping: GroupingResult,
        previous_fingerprint: str,
        view: TraceView | None,
        time_ns: int,
    ) -> ErrorEvent:
        cfg = self.config
        identity = (view.identity if view is not None else None) or _NO_IDENTITY
        limit = cfg.max_id_length
        # first_str(keys, span attributes, resource) == first_str(keys, span attributes) or the resource's value.
        span_attrs = c.attrs
        user_id, agent_id, agent_name, environment, version, service = self._resources.of(c.resource)
        service_name = truncate(scrubber.text(service), limit)
        user = truncate(first_str(USER_KEYS, span_attrs) or user_id or identity.user_id, limit)
        if self._hash_user is not None:
            context = self._hashed_user_attributes(c.workspace, context, c.attrs)
        # Positional, in field order: a compiled class's keyword arguments are parsed at every call.
        return ErrorEvent(
            workspace_id=c.workspace,
            occurrence_id=_occurrence_id(c),
            time_unix_nano=time_ns,
            fingerprint=grouping.fingerprint,
            fingerprint_config=grouping.config_id,
            type=exc_type,
            message=message,
            stacktrace=stacktrace,
            title=truncate(grouping.title or exc_type, 512),
            culprit=truncate(grouping.culprit, 512),
            grouping=grouping,
            severity=int(
                classify.severity(
                    exc_type,
                    context,
                    escaped_span=c.escaped_span,
                    escaped_execution=c.escaped_execution,
                    log_severity_number=c.log_severity,
                )
            ),
            category=int(classify.category(exc_type, context, message=message)),
            source=int(classify.source(context)),
            origin=c.origin,
            handled=not c.escaped_span,
            trace_id=c.trace_id,
            span_id=c.span_id,
            parent_span_id=c.parent_span_id,
            span_name=truncate(scrubber.text(c.span_name[: limit + CUT_MARGIN]), limit),
            user_id=self._user_id(c.workspace, user),
            agent_id=truncate(
                first_str(AGENT_ID_KEYS, span_attrs) or agent_id or identity.agent_id or service_name, limit
            ),
            agent_name=truncate(
                scrubber.text(first_str(AGENT_NAME_KEYS, span_attrs) or agent_name or identity.agent_name), limit
            ),
            service_name=service_name,
            environment=truncate(
                scrubber.text(first_str(ENVIRONMENT_KEYS, span_attrs) or environment or identity.environment), limit
            ),
            version=truncate(scrubber.text(first_str(VERSION_KEYS, span_attrs) or version or identity.version), limit),
            credits=first_number(self._credits_keys, span_attrs),
            attributes_json=context_json(
                context, max_attributes=cfg.max_attributes, max_value_length=cfg.max_attribute_value_length
            ),
            chain_types=tuple(grouping.chain_types[:16]),
            previous_fingerprint=previous_fingerprint,
        )

    def _emit_error_span(self, batch: ErrorBatch, info: ErrorSpanInfo, propagated: set[bytes], now: int) -> None:
        started = self._in_window(now, info.start_ns, info.end_ns)
        if not started:
            return  # its records were refused with the same reason; the span adds only parentage
        cfg = self.config
        scrubber = self._scrubber(self._rules_for(info.workspace))
        batch.error_spans.append(
            ErrorSpan(
                workspace_id=info.workspace,
                trace_id=info.trace_id,
                span_id=info.span_id,
                parent_span_id=info.parent_span_id,
                name=truncate(scrubber.text(info.name[: cfg.max_id_length + CUT_MARGIN]), cfg.max_id_length),
                start_time_unix_nano=started,
                end_time_unix_nano=self._in_window(now, info.end_ns),
                status_code=info.status_code if 0 <= info.status_code <= 2 else 0,  # an open enum: any int32
                status_message=truncate(
                    scrubber.text(info.status_message[: cfg.max_message_length + CUT_MARGIN]), cfg.max_message_length
                ),
                propagated=info.span_id in propagated,
            )
        )

    # -- helpers ------------------------------------------------------------------------------------------------

    def _scrubber(self, rules: WorkspaceRules) -> Scrubber:
        key = id(rules.scrub)
        scrubber = self._scrubbers.get(key)
        if scrubber is None or scrubber.config is not rules.scrub:
            scrubber = self._scrubbers[key] = Scrubber(rules.scrub)
        return scrubber

    def _scrub_text(self, workspace: str, text: str) -> str:
        return self._scrubber(self._rules_for(workspace)).text(text)

    def _user_id(self, workspace: str, user_id: str) -> str:
        return self._hash_user(workspace, user_id) if self._hash_user is not None else user_id

    def _hashed_user_attributes(
        self, workspace: str, context: dict[str, AttrValue], raw: dict[str, AttrValue]
    ) -> dict[str, AttrValue]:
        """The attributes with their user ids hashed like the user id column (`hash_user_ids`): from the values
        as sent (`raw`), so both hashes agree, not from their scrubbed text."""
        if not any(key in context for key in USER_KEYS):
            return context
        hashed = dict(context)
        for key in USER_KEYS:
            value = raw.get(key, hashed.get(key))
            if value is not None and value != "":
                text = value if isinstance(value, str) else str(value)
                hashed[key] = self._user_id(workspace, truncate(text, self.config.max_id_length))
        return hashed

    def _frames_key(self, grouping: GroupingResult) -> tuple[FramesKey, int]:
        """`_frames_key(grouping)` and the bytes an entry with it holds, cached on the frames tuple (memoized
        groupings share it)."""
        frames = grouping.frames
        cached = self._frames_keys.get(id(frames))
        if cached is not None and cached[0] is frames:  # the entry holds `frames`, so its id is not reused
            return cached[1], cached[2]
        key = _frames_key(grouping)
        nbytes = exception_bytes(("", 0), key)
        if len(self._frames_keys) >= _MEMO_MAX:
            self._frames_keys.clear()
        self._frames_keys[id(frames)] = (frames, key, nbytes)
        return key, nbytes

    def _in_window(self, now: int, first: int, second: int = 0, third: int = 0) -> int:
        """The first of the times within the accepted window around `now`, else 0."""
        low, high = now - self._age_ns, now + self._skew_ns
        if first and low <= first <= high:
            return first
        if second and low <= second <= high:
            return second
        if third and low <= third <= high:
            return third
        return 0


# Text (messages, stack traces, attribute values, as cut for scrubbing) scrubbed and grouped per slice of an export.
SLICE_CHARS = 256 * 1024


def _slices(candidates: list[Candidate]) -> Iterator[list[Candidate]]:
    """The candidates in runs of about `SLICE_CHARS` of text (all of them at once, for an ordinary export)."""
    start, size = 0, 0
    for i, candidate in enumerate(candidates):
        size += len(candidate.message) + len(candidate.stacktrace) + len(candidate.exc_type)
        size += sum(len(v) for v in candidate.attrs.values() if isinstance(v, str))
        if size >= SLICE_CHARS:
            yield candidates[start : i + 1]
            start, size = i + 1, 0
    if start < len(candidates) or not candidates:
        yield candidates[start:]


def _refuse(batch: ErrorBatch, item: tuple[bytes, bytes, int]) -> None:
    """Count a refused item once, however many of its records are refused (a span's events, its status)."""
    if item not in batch.refused:
        batch.refused.add(item)
        batch.reject(TIME_OUT_OF_WINDOW)


def _last(steps: Iterator[ErrorBatch | None]) -> ErrorBatch:
    for step in steps:
        if step is not None:
            return step
    raise AssertionError("a processing generator ends with its batch")


class _EventsRun:
    """What the candidates of one export share while they become events."""

    __slots__ = ("emitted", "escalated", "propagated")

    def __init__(self) -> None:
        self.propagated: set[bytes] = set()  # span ids whose records were propagation copies
        # (trace id, exception key) -> index in batch.events of the record kept for it.
        self.emitted: dict[tuple[bytes, str, int], int] = {}
        self.escalated: set[int] = set()  # events whose copy escaped the execution


_DEFAULT_RULES = WorkspaceRules()
_NO_IDENTITY = ExecutionIdentity()
_MEMO_MAX = 4096


def _status_is_propagation(view: TraceView, candidate: Candidate) -> bool:
    """An ERROR span is not a new error when an exception was recorded on it or below it."""
    for entries in view.exception_lists():
        for _key, _frames, span_id, _nbytes in entries:
            if span_id == candidate.span_id or TraceState.related(view, candidate.span_id, span_id):
                return True
    return False


def _frames_key(grouping: GroupingResult) -> FramesKey:
    """In-app frames only: the tracing SDK's own wrapper frames sit at the outer end of every recorded copy."""
    frames = [f for f in grouping.frames if f.in_app] or list(grouping.frames)
    return tuple((f.module or f.filename, f.function) for f in frames)


def _frames_contain(a: FramesKey, b: FramesKey) -> bool:
    """One frame list is a prefix or suffix of the other (a propagated record sees more or fewer outer frames)."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if not short:
        return True
    return long[-len(short) :] == short or long[: len(short)] == short


def _occurrence_id(c: Candidate) -> bytes:
    """Deterministic and made of the record alone (its own time as sent, 0 included), so a retried export maps to
    the same stored occurrence whenever it is received."""
    h = hashlib.blake2b(digest_size=16)
    for part in (
        c.workspace.encode(),
        c.trace_id,
        c.span_id,
        str(c.origin).encode(),
        str(c.index).encode(),
        str(c.time_ns).encode(),
        c.exc_type[:256].encode("utf-8", "replace"),
        c.message[:256].encode("utf-8", "replace"),
    ):
        h.update(len(part).to_bytes(4, "little"))
        h.update(part)
    return h.digest()
