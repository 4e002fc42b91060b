"""Typed configuration of the OTLP receivers. Complete defaults; validated on construction."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReceiverConfig:
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 4317
    http_host: str = "127.0.0.1"
    http_port: int = 4318
    # Largest accepted export request, after decompression (OTLP/gRPC and OTLP/HTTP alike).
    max_message_bytes: int = 16 * 1024 * 1024
    # Concurrent gRPC streams per process; more wait in the transport (back-pressure, not memory).
    max_concurrent_rpcs: int = 256

    def __post_init__(self) -> None:
        for name in ("grpc_port", "http_port"):
            port = getattr(self, name)
            if not 0 <= port <= 65535:
                raise ValueError(f"{name} must be a TCP port (0-65535), got {port}")
        if not 1024 <= self.max_message_bytes <= 1024 * 1024 * 1024:
            raise ValueError("max_message_bytes must be between 1 KiB and 1 GiB")
        if self.max_concurrent_rpcs < 1:
            raise ValueError("max_concurrent_rpcs must be at least 1")
