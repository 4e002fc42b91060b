"""Self-telemetry: what the worker does, in Prometheus form, served by the API at `GET /metrics`.

It observes the components through their hooks (the pipeline's observer, the store's commit listeners) and reads
their gauges when it is scraped; the components know nothing of Prometheus. With `--workers N` every process
writes its samples to a shared directory (prometheus_client's multiprocess mode) and each scrape, whichever
process answers it, sums them: `PROMETHEUS_MULTIPROC_DIR` must be set before prometheus_client is imported, which
`serve` does before it starts the workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess

from otel_errors.batch import ErrorBatch
from otel_errors.errors import IngestError
from otel_errors.exporter.store import CommitStats

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Telemetry:
    """The metrics of one worker. Gauges are sampled by `sample()` (before each scrape, and at each commit)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        r = self.registry
        self.received = Counter(
            "otel_errors_received", "Spans and log records received in export requests", ["signal"], registry=r
        )
        self.requests = Counter(
            "otel_errors_export_requests",
            "Export requests by outcome (ok, or the error refusing them)",
            ["signal", "outcome"],
            registry=r,
        )
        self.exceptions = Counter(
            "otel_errors_exceptions_extracted",
            "Occurrences extracted (after propagation copies were dropped)",
            ["signal"],
            registry=r,
        )
        self.propagated = Counter(
            "otel_errors_propagation_copies_dropped",
            "Exception records dropped as copies of one recorded deeper",
            registry=r,
        )
        self.settled = Counter(
            "otel_errors_store_copies_settled",
            "Exception records the store found to be copies of ones already stored for their trace",
            registry=r,
        )
        self.rejected = Counter(
            "otel_errors_items_rejected",
            "Spans and log records refused in partial_success, by reason",
            ["reason"],
            registry=r,
        )
        self.commits = Counter("otel_errors_commits", "Group commits by outcome", ["outcome"], registry=r)
        self.batches = Counter("otel_errors_batches_committed", "Batches (export requests) committed", registry=r)
        self.commit_seconds = Histogram(
            "otel_errors_commit_duration_seconds",
            "Duration of successful group commits",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        # Gauges: each process's own value, summed over the live processes when scraped.
        mode: Literal["livesum"] = "livesum"
        self.queue_items = Gauge(
            "otel_errors_queue_items",
            "Items accepted and waiting for the database",
            registry=r,
            multiprocess_mode=mode,
        )
        self.queue_bytes = Gauge(
            "otel_errors_queue_bytes", "Bytes of rows waiting for the database", registry=r, multiprocess_mode=mode
        )
        self.inflight_bytes = Gauge(
            "otel_errors_inflight_request_bytes",
            "Request bytes being processed or waiting for their commit",
            registry=r,
            multiprocess_mode=mode,
        )
        self.trace_memory_bytes = Gauge(
            "otel_errors_trace_memory_bytes",
            "Estimated bytes of the memory of recent traces",
            registry=r,
            multiprocess_mode=mode,
        )
        self.trace_memory_traces = Gauge(
            "otel_errors_trace_memory_traces",
            "Traces in the memory of recent traces",
            registry=r,
            multiprocess_mode=mode,
        )
        self._samplers: list[Callable[[], None]] = []

    # -- hooks the service connects -----------------------------------------------------------------------------

    def exported(self, signal: str, batch: ErrorBatch) -> None:
        """The pipeline's observer: one request committed."""
        self.requests.labels(signal, "ok").inc()
        self.received.labels(signal).inc(batch.received)
        if batch.events:
            self.exceptions.labels(signal).inc(len(batch.events))
        if batch.propagated:
            self.propagated.inc(batch.propagated)
        for reason, count in batch.rejections.items():
            self.rejected.labels(reason).inc(count)

    def refused(self, signal: str, error: Exception) -> None:
        """The pipeline's observer: one request refused (its error class names the outcome)."""
        outcome = type(error).__name__ if isinstance(error, IngestError) else "InternalError"
        self.requests.labels(signal, outcome).inc()

    def committed(self, stats: CommitStats) -> None:
        """The store's commit listener."""
        if stats.failed:
            self.commits.labels("failed").inc()
        else:
            self.commits.labels("ok").inc()
            self.batches.inc(stats.batches)
            self.commit_seconds.observe(stats.seconds)
            if stats.copies_settled:
                self.settled.inc(stats.copies_settled)
        self.sample()

    def add_sampler(self, sampler: Callable[[], None]) -> None:
        self._samplers.append(sampler)

    def sample(self) -> None:
        for sampler in self._samplers:
            sampler()

    # -- the scrape ---------------------------------------------------------------------------------------------

    def exposition(self) -> bytes:
        """The text format, of this process alone or, in multiprocess mode, of every worker."""
        self.sample()
        if not self.multiprocess:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return generate_latest(merged)


def mark_process_dead(pid: int) -> None:
    """A worker exited: its gauges no longer count (multiprocess mode)."""
    if os.environ.get(MULTIPROC_ENV):
        prometheus_multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
