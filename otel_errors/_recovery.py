"""Recovery, detected from the telemetry: how failed spans ended.

A failed span (ERROR status) and the failed siblings before it under the same parent make an episode, which ends:
- `retry`: a later sibling of the same name ended without an error;
- `fallback`: a later sibling of another name did;
- `handled`: no sibling did, but the execution ended OK;
- failed: the execution failed after two or more attempts; the methods tried are named from the attempts' names.
An agent's own `recovery.method` attribute on the succeeding span (or on the execution, for `handled`) names the
method instead. Parentage decides, never timestamps alone: a sibling counts only when it started after the failure
did.

What it needs beyond error spans is seen through the trace memory (failures of earlier exports) and the siblings
the walk picks (`SpanOutcome`); spans of one trace reaching different processes, or a sibling exported before its
failed sibling, are not matched (docs/metrics.md, "Recovery").
"""

from __future__ import annotations

from collections.abc import Callable

from ._bounds import truncate
from ._spans import STATUS_ERROR, ErrorSpanInfo, ExecutionSpan, SpanOutcome
from ._tracestate import Failure, TraceState, TraceView
from .batch import ErrorBatch, Recovery

RETRY, FALLBACK, HANDLED = "retry", "fallback", "handled"
MAX_METHOD_LENGTH = 64

InWindow = Callable[[int, int, int], int]  # (now, time, fallback time) -> the first inside the window, else 0
Text = Callable[[str, str], str]  # (workspace, text) -> scrubbed text


def remember_failures(state: TraceState, views: dict[tuple[str, bytes], TraceView], spans: list[ErrorSpanInfo]) -> None:
    """Every failed span with a parent may start an episode."""
    for info in spans:
        if info.status_code == STATUS_ERROR and info.parent_span_id:
            view = views[(info.workspace, info.trace_id)]
            failure = Failure(info.span_id, info.name, info.start_ns, info.end_ns or info.start_ns)
            state.add_failure(view, info.parent_span_id, failure)


def detect(
    batch: ErrorBatch,
    views: dict[tuple[str, bytes], TraceView],
    view_of: Callable[[str, bytes], TraceView],
    *,
    outcomes: list[SpanOutcome],
    executions: list[ExecutionSpan],
    now: int,
    in_window: InWindow,
    scrub: Text,
) -> None:
    """Episodes that ended in this export: recovered by a sibling first, then by their execution's end."""
    for outcome in outcomes:
        view = view_of(outcome.workspace, outcome.trace_id)
        failures = [f for f in view.failures_under(outcome.parent_span_id) if f.start_ns <= outcome.start_ns]
        if not failures:
            continue
        if outcome.method:
            method = truncate(scrub(outcome.workspace, outcome.method), MAX_METHOD_LENGTH)
        else:
            method = RETRY if any(f.name == outcome.name for f in failures) else FALLBACK
        _episode(
            batch,
            view,
            outcome.parent_span_id,
            failures,
            method,
            outcome.end_ns or outcome.start_ns,
            now=now,
            in_window=in_window,
        )
    for execution in executions:
        trace = views.get((execution.workspace, execution.trace_id))
        if trace is None:
            continue
        for parent in trace.failed_parents():
            failures = [f for f in trace.failures_under(parent) if f.span_id != execution.span_id]
            if not execution.failed and failures:
                custom = execution.attrs.get("recovery.method")
                method = (
                    truncate(scrub(execution.workspace, custom), MAX_METHOD_LENGTH)
                    if isinstance(custom, str) and custom
                    else HANDLED
                )
                _episode(
                    batch,
                    trace,
                    parent,
                    failures,
                    method,
                    execution.end_ns or execution.start_ns,
                    now=now,
                    in_window=in_window,
                )
            elif execution.failed and len(failures) >= 2:
                names = [f.name for f in failures]
                tried = ([RETRY] if len(set(names)) < len(names) else []) + ([FALLBACK] if len(set(names)) > 1 else [])
                _episode(batch, trace, parent, failures, ",".join(tried), 0, now=now, in_window=in_window)


def _episode(
    batch: ErrorBatch,
    view: TraceView,
    parent: bytes,
    failures: list[Failure],
    method: str,
    recovered_at: int,
    *,
    now: int,
    in_window: InWindow,
) -> None:
    """One episode's row (when its first failure lies in the accepted window); its failures are settled."""
    ordered = sorted(failures, key=lambda f: (f.end_ns, f.span_id))
    first, last = ordered[0], ordered[-1]
    for failure in ordered:
        view.added.settled.add(failure.span_id)
    failed_at = in_window(now, first.end_ns, first.start_ns)
    if not failed_at:
        return
    recovered = recovered_at > 0
    workspace, trace_id = view.key
    batch.recoveries.append(
        Recovery(
            workspace_id=workspace,
            trace_id=trace_id,
            parent_span_id=parent,
            span_id=first.span_id,
            last_span_id=last.span_id,
            method=method,
            recovered=recovered,
            attempts=len(ordered),
            failed_at_unix_nano=failed_at,
            recovered_at_unix_nano=max(recovered_at, failed_at) if recovered else 0,
        )
    )
