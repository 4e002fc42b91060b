"""Typed configuration of the OTLP receivers. Complete defaults; validated on construction."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReceiverConfig:
    host: str = "127.0.0.1"
    grpc_port: int = 4317
    http_port: int = 4318
    # Largest accepted export request, after decompression (OTLP/gRPC and OTLP/HTTP alike).
    max_message_bytes: int = 16 * 1024 * 1024
    # Request bytes being processed or waiting for their commit, per process; beyond it requests are answered
    # "retry later" (gRPC UNAVAILABLE with RetryInfo, HTTP 503 with Retry-After) before they are read further.
    max_inflight_bytes: int = 256 * 1024 * 1024

    def __post_init__(self) -> None:
        for name in ("grpc_port", "http_port"):
            port = getattr(self, name)
            if not 0 <= port <= 65535:
                raise ValueError(f"{name} must be a TCP port (0-65535), got {port}")
        if not 1024 <= self.max_message_bytes <= 1024 * 1024 * 1024:
            raise ValueError("max_message_bytes must be between 1 KiB and 1 GiB")
        if self.max_inflight_bytes < self.max_message_bytes:
            raise ValueError("max_inflight_bytes must be at least max_message_bytes")
