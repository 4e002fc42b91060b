"""A retried export counts exactly once: the identity and the stored time of an occurrence come from the request
only, and the processor remembers nothing of a request until its batch is committed.

Faults are real: a commit fails because another connection holds a lock past the writer's statement timeout (the
database cancels it), then the lock goes away and the client sends the very same export again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from google.protobuf.message import Message
from otlp_builders import NOW, PY_TRACE, logs, new_id, span, traces

from otel_errors import Processor
from otel_errors.errors import StoreUnavailable
from otel_errors.exporter import PostgresExporter, StoreConfig
from otel_errors.receiver import LOGS, TRACES, Pipeline


def _count(url: str, workspace: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM error_occurrences WHERE workspace_id = %s", (workspace,)).fetchone()
    return int(row[0]) if row else 0


def _span_event(ws: str) -> tuple[Any, Message]:
    return TRACES, traces(
        span(trace_id=new_id(16), parent=new_id(8), exceptions=[{"exception.type": "E", "exception.message": "m"}]),
        resource={"workspace.id": ws},
    )


def _status_only_span(ws: str) -> tuple[Any, Message]:
    return TRACES, traces(
        span(trace_id=new_id(16), parent=new_id(8), error=True, status_message="KeyError: missing"),
        resource={"workspace.id": ws},
    )


def _log_on_a_span(ws: str) -> tuple[Any, Message]:
    exc = {"exception.type": "ValueError", "exception.message": "logged", "exception.stacktrace": PY_TRACE}
    return LOGS, logs({**exc, "_trace_id": new_id(16), "_span_id": new_id(8)}, resource={"workspace.id": ws})


def _log_without_a_span(ws: str) -> tuple[Any, Message]:
    exc = {"exception.type": "ValueError", "exception.message": "logged alone"}
    return LOGS, logs({**exc, "_trace_id": new_id(16), "_span_id": b""}, resource={"workspace.id": ws})


def _exception_propagated_through_three_spans(ws: str) -> tuple[Any, Message]:
    tid = new_id(16)
    exc = {"exception.type": "ValueError", "exception.message": "deep", "exception.stacktrace": PY_TRACE}
    root = span("invoke_agent a", trace_id=tid, error=True, exceptions=[dict(exc)], start=NOW - 9_000_000_000)
    mid = span("step", trace_id=tid, parent=root.span_id, error=True, exceptions=[dict(exc)], start=NOW - 8_000_000_000)
    inner = span(
        "tool", trace_id=tid, parent=mid.span_id, error=True, exceptions=[dict(exc)], start=NOW - 7_000_000_000
    )
    return TRACES, traces(root, mid, inner, resource={"workspace.id": ws})


def _log_with_time_zero(ws: str) -> tuple[Any, Message]:
    # As the SDKs send a record without a time: its observed time set.
    record = {"exception.type": "E", "exception.message": "t0", "_time": 0, "_observed": NOW}
    return LOGS, logs(record, resource={"workspace.id": ws})


def _span_event_with_time_zero(ws: str) -> tuple[Any, Message]:
    return TRACES, traces(
        span(trace_id=new_id(16), parent=new_id(8), exceptions=[{"exception.type": "E", "_time": 0}]),
        resource={"workspace.id": ws},
    )


def _span_event_from_the_future(ws: str) -> tuple[Any, Message]:
    ahead = NOW + 5 * 365 * 86400 * 10**9
    return TRACES, traces(
        span(trace_id=new_id(16), parent=new_id(8), exceptions=[{"exception.type": "E", "_time": ahead}]),
        resource={"workspace.id": ws},
    )


EXPORTS: dict[str, Callable[[str], tuple[Any, Message]]] = {
    "span_event": _span_event,
    "status_only_span": _status_only_span,
    "log_on_a_span": _log_on_a_span,
    "log_without_a_span": _log_without_a_span,
    "exception_propagated_through_three_spans": _exception_propagated_through_three_spans,
    "log_with_time_zero": _log_with_time_zero,
    "span_event_with_time_zero": _span_event_with_time_zero,
    "span_event_from_the_future": _span_event_from_the_future,
}


async def _export(pipeline: Pipeline, signal: Any, request: Message) -> None:
    await pipeline.export_protobuf(signal, request.SerializeToString(), None)


@pytest.mark.parametrize("kind", list(EXPORTS))
def test_an_export_whose_commit_failed_after_processing_counts_once_when_retried(
    migrated: str, workspace: str, kind: str
) -> None:
    """Found: per-trace memory was updated before the commit, so the retry of a log record (or of an exception
    without a span id, or of a status-only span) was taken for a copy of itself and dropped, while the server
    answered success: the occurrence was lost."""
    signal, request = EXPORTS[kind](workspace)

    async def run() -> None:
        store = PostgresExporter(StoreConfig(database_url=migrated, write_timeout_seconds=0.5))
        await store.start()
        pipeline = Pipeline(Processor(), store)
        try:
            async with await psycopg.AsyncConnection.connect(migrated) as blocker:
                await blocker.execute("LOCK TABLE errors IN EXCLUSIVE MODE")  # the commit now waits, then is cancelled
                with pytest.raises(StoreUnavailable):
                    await _export(pipeline, signal, request)
                await blocker.rollback()
            for _ in range(50):  # the cancelled commit left nothing behind
                if store.pending_items == 0:
                    break
                await asyncio.sleep(0.05)
            await _export(pipeline, signal, request)  # the client's retry
            await _export(pipeline, signal, request)  # and once more, as a retry after a lost response
        finally:
            await store.shutdown()

    asyncio.run(run())
    assert _count(migrated, workspace) == 1


@pytest.mark.parametrize("kind", ["log_with_time_zero", "span_event_with_time_zero", "span_event_from_the_future"])
def test_the_same_export_with_an_unusable_time_sent_twice_counts_once(migrated: str, workspace: str, kind: str) -> None:
    """Found: a record whose time was zero, in the future or older than retention got the receive time, which is
    part of the stored row's key, so every retry added a row. Its time now comes from the record itself."""
    signal, request = EXPORTS[kind](workspace)

    async def run() -> None:
        store = PostgresExporter(StoreConfig(database_url=migrated))
        await store.start()
        try:
            for _ in range(2):  # two processes, as when a retry reaches another receiver
                await _export(Pipeline(Processor(), store), signal, request)
                await asyncio.sleep(0.01)
        finally:
            await store.shutdown()

    asyncio.run(run())
    assert _count(migrated, workspace) == 1


def test_a_propagated_copy_is_still_dropped_once_the_first_export_committed(migrated: str, workspace: str) -> None:
    """Remembering only after the commit keeps propagation across exports: the outer span's copy of an exception
    committed earlier is not a second occurrence."""
    tid = new_id(16)
    exc = {"exception.type": "ValueError", "exception.message": "boom", "exception.stacktrace": PY_TRACE}
    outer = span("step", trace_id=tid, parent=new_id(8), error=True, start=NOW - 8_000_000_000, exceptions=[dict(exc)])
    inner = span(
        "tool", trace_id=tid, parent=outer.span_id, error=True, start=NOW - 7_000_000_000, exceptions=[dict(exc)]
    )

    async def run() -> None:
        store = PostgresExporter(StoreConfig(database_url=migrated))
        await store.start()
        pipeline = Pipeline(Processor(), store)
        try:
            await _export(pipeline, TRACES, traces(inner, resource={"workspace.id": workspace}))
            await _export(pipeline, TRACES, traces(outer, resource={"workspace.id": workspace}))
        finally:
            await store.shutdown()

    asyncio.run(run())
    assert _count(migrated, workspace) == 1
