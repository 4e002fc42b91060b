"""Typed configuration of the PostgreSQL exporter (store). Complete defaults, validated on construction."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoreConfig:
    # None: the caller starts the embedded PostgreSQL and fills this in (`serve` does, docs/architecture.md).
    database_url: str | None = None
    # Writer connections; each commits a group of batches at a time (group commit). One by default: every commit
    # upserts the same hot rows (errors, rollups, per-error people), so a second writer mostly waits for the first
    # one's row locks (bench/ingest.py: one writer committed as much, with 20-30% less PostgreSQL CPU per span).
    writers: int = 1
    # Bounded queue: an estimate of the bytes of the rows waiting for a commit (texts at their stored sizes plus a
    # per-row allowance). Beyond it, ingest answers "retry later" instead of queueing without limit.
    max_pending_bytes: int = 256 * 1024 * 1024
    # Items one transaction takes from the queue.
    max_items_per_commit: int = 10_000
    # How long a request may wait for its batch to commit before the receiver answers "retry later".
    write_timeout_seconds: float = 10.0
    connect_timeout_seconds: float = 5.0
    retention_days: int = 90
    # Days of partitions created ahead of time.
    partitions_ahead_days: int = 2
    maintenance_interval_seconds: float = 300.0

    def __post_init__(self) -> None:
        if self.writers < 1:
            raise ValueError("writers must be at least 1")
        if self.max_items_per_commit < 1:
            raise ValueError("max_items_per_commit must be at least 1")
        if self.max_pending_bytes < 1:
            raise ValueError("max_pending_bytes must be at least 1")
        if self.write_timeout_seconds <= 0 or self.connect_timeout_seconds <= 0:
            raise ValueError("timeouts must be positive")
        if not 1 <= self.retention_days <= 3650:
            raise ValueError("retention_days must be between 1 and 3650")
        if self.maintenance_interval_seconds <= 0:
            raise ValueError("maintenance_interval_seconds must be positive")
        if self.partitions_ahead_days < 1:
            raise ValueError("partitions_ahead_days must be at least 1")
