"""Typed configuration of alert evaluation and delivery. Complete defaults, validated on construction."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    database_url: str | None = None
    # Evaluate rules after commits; off: no alerts, no stream events of new errors (the API still manages rules).
    enabled: bool = True
    # New errors and regressions: commits within this interval are evaluated together.
    min_interval_seconds: float = 0.05
    # Rules over rollups (spike, error rate, frequency) run at most this often, over everything touched since:
    # their reads cost the same whatever the commit rate (bench/alerts.py, docs/performance.md).
    rollup_interval_seconds: float = 0.5
    # How often firing alerts are checked for their condition clearing (and for re-notification).
    sweep_seconds: float = 10.0
    # Errors remembered between evaluations; beyond it, only workspace-wide rules see the rest until the next one.
    max_pending_errors: int = 100_000
    # Alerts on the same agent this close together join one incident.
    correlation_minutes: int = 10
    # Webhooks: one attempt's timeout, attempts in all, the first retry's wait (doubling after), concurrency.
    webhook_timeout_seconds: float = 5.0
    webhook_attempts: int = 6
    webhook_backoff_seconds: float = 1.0
    webhook_concurrency: int = 8
    # Refused unless set: webhooks to loopback, private, link-local and unspecified addresses (docs/security.md).
    allow_private_webhooks: bool = False
    # Where links in payloads point (the dashboard); empty: the API's own address.
    public_url: str = ""
    # Stream events kept for resuming (Last-Event-ID).
    stream_retention_seconds: int = 3600

    def __post_init__(self) -> None:
        if not 0 <= self.min_interval_seconds <= 1.0:
            raise ValueError("min_interval_seconds must be between 0 and 1")
        if not 0 <= self.rollup_interval_seconds <= 60:
            raise ValueError("rollup_interval_seconds must be between 0 and 60")
        if self.sweep_seconds <= 0:
            raise ValueError("sweep_seconds must be positive")
        if self.max_pending_errors < 1:
            raise ValueError("max_pending_errors must be at least 1")
        if not 0 <= self.correlation_minutes <= 1440:
            raise ValueError("correlation_minutes must be between 0 and 1440")
        if not 0 < self.webhook_timeout_seconds <= 60:
            raise ValueError("webhook_timeout_seconds must be between 0 and 60")
        if not 1 <= self.webhook_attempts <= 20:
            raise ValueError("webhook_attempts must be between 1 and 20")
        if self.webhook_backoff_seconds <= 0:
            raise ValueError("webhook_backoff_seconds must be positive")
        if not 1 <= self.webhook_concurrency <= 256:
            raise ValueError("webhook_concurrency must be between 1 and 256")
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            raise ValueError("public_url must start with http:// or https://")
        if self.stream_retention_seconds < 60:
            raise ValueError("stream_retention_seconds must be at least 60")
