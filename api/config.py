"""Typed configuration of the JSON API and dashboard. Complete defaults; validated on construction."""

from __future__ import annotations

from dataclasses import dataclass

from otel_errors.config import WORKSPACE_ID_REGEX, is_workspace_id


@dataclass(frozen=True, slots=True)
class ApiConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str | None = None
    # Kept open: the error-tracking object reads on up to four connections at once when they are free.
    pool_min_size: int = 4
    pool_max_size: int = 8
    # With auth on, every route needs an API key of the path's workspace (see deps.py).
    auth: bool = False
    # What viewers see of stack traces and paths: "in_app" (in-app frames, file names without directories) or "full".
    viewer_stacktraces: str = "in_app"
    # estimatedRevenueLoss = credits of failed executions x this price (docs/metrics.md).
    price_per_credit: float = 0.01
    # Largest request body the API reads; larger is 413 before it is read.
    max_body_bytes: int = 1024 * 1024
    # Where the dashboard's `/` goes when no workspace has data yet.
    default_workspace: str = "default"
    # Where links in webhook payloads point; empty: this API's own address (http://host:port).
    public_url: str = ""
    # Accept webhook destinations on loopback, private and link-local addresses (refused by default).
    allow_private_webhooks: bool = False
    # Timeout of a test notification (POST .../alert-destinations/{id}/test), as of a webhook attempt.
    webhook_timeout_seconds: float = 5.0
    # The live stream (GET .../stream): a comment line this often keeps proxies from closing an idle stream; a
    # client's queue holds this many events before it is dropped (it resumes with Last-Event-ID); a resume sends
    # at most this many missed events; open streams per process.
    stream_heartbeat_seconds: float = 15.0
    stream_queue_events: int = 256
    stream_resume_events: int = 1000
    stream_max_subscribers: int = 1000

    @property
    def link_base(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be a TCP port (0-65535), got {self.port}")
        if self.viewer_stacktraces not in ("in_app", "full"):
            raise ValueError("viewer_stacktraces must be in_app or full")
        if not 1 <= self.pool_min_size <= self.pool_max_size:
            raise ValueError("pool sizes must satisfy 1 <= pool_min_size <= pool_max_size")
        if not 0 <= self.price_per_credit < float("inf"):
            raise ValueError(f"price_per_credit must be a finite number >= 0, got {self.price_per_credit}")
        if self.max_body_bytes < 1024:
            raise ValueError("max_body_bytes must be at least 1 KiB")
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            raise ValueError("public_url must start with http:// or https://")
        if not 0 < self.webhook_timeout_seconds <= 60:
            raise ValueError("webhook_timeout_seconds must be between 0 and 60")
        if not 0.1 <= self.stream_heartbeat_seconds <= 300:
            raise ValueError("stream_heartbeat_seconds must be between 0.1 and 300")
        if not 1 <= self.stream_queue_events <= 100_000 or not 1 <= self.stream_resume_events <= 100_000:
            raise ValueError("stream_queue_events and stream_resume_events must be between 1 and 100000")
        if not 1 <= self.stream_max_subscribers <= 100_000:
            raise ValueError("stream_max_subscribers must be between 1 and 100000")
        if not is_workspace_id(self.default_workspace):
            raise ValueError(f"default_workspace {self.default_workspace!r} must match {WORKSPACE_ID_REGEX}")
