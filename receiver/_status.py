"""`google.rpc.Status` (with `RetryInfo` for retryable failures), encoded by hand: no googleapis dependency.

OTLP: a retryable failure may carry `RetryInfo`; the Collector and the SDK exporters then wait that long. gRPC sends
it as the `grpc-status-details-bin` trailer, OTLP/HTTP as the response body (beside `Retry-After`).
"""

from __future__ import annotations

from otel_errors.errors import Disposition

GRPC_CODES = {
    "INVALID_ARGUMENT": 3,
    "RESOURCE_EXHAUSTED": 8,
    "PERMISSION_DENIED": 7,
    "UNAUTHENTICATED": 16,
    "UNAVAILABLE": 14,
    "INTERNAL": 13,
}
_RETRY_INFO_URL = b"type.googleapis.com/google.rpc.RetryInfo"


def status_bytes(d: Disposition, message: str) -> bytes:
    """google.rpc.Status {int32 code = 1; string message = 2; repeated Any details = 3}."""
    text = message.encode("utf-8", "replace")
    out = b"\x08" + _varint(GRPC_CODES.get(d.grpc_code, 13)) + _field(2, text)
    if d.retryable and d.retry_after_seconds:
        # RetryInfo {Duration retry_delay = 1}, Duration {int64 seconds = 1}; in Any {type_url = 1, value = 2}.
        retry_info = _field(1, b"\x08" + _varint(d.retry_after_seconds))
        out += _field(3, _field(1, _RETRY_INFO_URL) + _field(2, retry_info))
    return out


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)
