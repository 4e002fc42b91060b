"""Recovery detection in the processor: retries, fallbacks, handled failures and failed recoveries, within one
export and across exports of a trace."""

from __future__ import annotations

from typing import Any

from otlp_builders import NOW, new_id, span, traces

from otel_errors import Processor
from otel_errors.batch import ErrorBatch

S = 1_000_000_000


class Run:
    """One agent run: an `invoke_agent` span and steps under one parent, times in seconds after `t0`."""

    def __init__(self, *, failed: bool = False, attrs: dict[str, Any] | None = None) -> None:
        self.trace = new_id(16)
        self.t0 = NOW - 60 * S
        self.root = span(
            "invoke_agent a", trace_id=self.trace, error=failed, attrs=attrs, start=self.t0, end=self.t0 + 30 * S
        )
        self.step = span("step", trace_id=self.trace, parent=self.root.span_id, start=self.t0 + S, end=self.t0 + 29 * S)

    def child(self, name: str, start: int, end: int, *, failed: bool, attrs: dict[str, Any] | None = None) -> Any:
        exceptions = [{"exception.type": "TimeoutError", "exception.message": name}] if failed else None
        return span(
            name,
            trace_id=self.trace,
            parent=self.step.span_id,
            error=failed,
            attrs=attrs,
            exceptions=exceptions,
            start=self.t0 + start * S,
            end=self.t0 + end * S,
        )


def _process(processor: Processor, *spans: Any) -> ErrorBatch:
    batch = processor.process_traces(traces(*spans), None, NOW)
    processor.committed(batch)
    return batch


def _episodes(batch: ErrorBatch) -> list[tuple[str, bool, int, float]]:
    return [
        (
            r.method,
            r.recovered,
            r.attempts,
            (r.recovered_at_unix_nano - r.failed_at_unix_nano) / S if r.recovered else 0,
        )
        for r in batch.recoveries
    ]


def test_a_retry_that_succeeds() -> None:
    run = Run()
    batch = _process(Processor(), run.child("call_llm", 2, 4, failed=True), run.child("call_llm", 5, 7, failed=False))
    assert _episodes(batch) == [("retry", True, 1, 3.0)]


def test_a_fallback_that_succeeds() -> None:
    run = Run()
    batch = _process(
        Processor(), run.child("call_openai", 2, 4, failed=True), run.child("call_anthropic", 5, 6, failed=False)
    )
    assert _episodes(batch) == [("fallback", True, 1, 2.0)]


def test_retries_that_all_fail_are_one_failed_recovery() -> None:
    run = Run(failed=True)
    attempts = [run.child("call_llm", 2 + 3 * i, 4 + 3 * i, failed=True) for i in range(3)]
    batch = _process(Processor(), *attempts, run.step, run.root)
    assert _episodes(batch) == [("retry", False, 3, 0)]
    (episode,) = batch.recoveries
    assert episode.last_span_id == attempts[-1].span_id  # its error is the reason


def test_a_fallback_then_a_retry_that_all_fail_name_both_methods() -> None:
    run = Run(failed=True)
    batch = _process(
        Processor(),
        run.child("call_openai", 2, 3, failed=True),
        run.child("call_anthropic", 4, 5, failed=True),
        run.child("call_anthropic", 6, 7, failed=True),
        run.root,
    )
    assert _episodes(batch) == [("retry,fallback", False, 3, 0)]


def test_a_handled_exception_whose_execution_ended_ok() -> None:
    run = Run()
    batch = _process(Processor(), run.child("search", 2, 3, failed=True), run.step, run.root)
    assert _episodes(batch) == [("handled", True, 1, 27.0)]  # from the failure to the execution's end


def test_the_retry_arrives_in_a_later_export() -> None:
    run = Run()
    processor = Processor()
    first = _process(processor, run.child("call_llm", 2, 4, failed=True))
    later = _process(processor, run.child("call_llm", 5, 7, failed=False), run.step, run.root)
    assert first.recoveries == [] and _episodes(later) == [("retry", True, 1, 3.0)]


def test_the_agents_own_recovery_method_names_it() -> None:
    run = Run()
    batch = _process(
        Processor(),
        run.child("call_llm", 2, 4, failed=True),
        run.child("call_llm_small", 5, 7, failed=False, attrs={"recovery.method": "smaller model"}),
    )
    assert _episodes(batch) == [("smaller model", True, 1, 3.0)]


def test_a_sibling_that_started_before_the_failure_recovered_nothing() -> None:
    run = Run(failed=True)
    batch = _process(Processor(), run.child("prefetch", 1, 9, failed=False), run.child("call_llm", 2, 4, failed=True))
    assert batch.recoveries == []


def test_a_single_failure_of_a_failed_execution_is_no_recovery_attempt() -> None:
    run = Run(failed=True)
    batch = _process(Processor(), run.child("call_llm", 2, 4, failed=True), run.root)
    assert batch.recoveries == []


def test_an_export_retried_after_a_failed_commit_reports_its_recovery_again() -> None:
    run = Run()
    processor = Processor()
    request = traces(run.child("call_llm", 2, 4, failed=True), run.child("call_llm", 5, 7, failed=False))
    lost = processor.process_traces(request, None, NOW)  # its commit failed: `committed` is never called
    again = processor.process_traces(request, None, NOW)
    processor.committed(again)
    assert _episodes(lost) == _episodes(again) == [("retry", True, 1, 3.0)]
    assert again.recoveries[0].span_id == lost.recoveries[0].span_id  # the same episode: stored once


def test_each_episode_is_reported_once() -> None:
    run = Run()
    processor = Processor()
    first = _process(processor, run.child("call_llm", 2, 4, failed=True), run.child("call_llm", 5, 7, failed=False))
    rest = _process(processor, run.step, run.root)  # the execution ends OK: nothing left to call handled
    assert len(first.recoveries) == 1 and rest.recoveries == []
