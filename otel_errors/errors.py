"""The exceptions otel-errors raises, and the one table that says what each means on the wire.

    OtelErrorsError
    ├── ConfigError                  invalid settings; raised at start, never while serving
    └── IngestError                  an export request could not be accepted
        ├── InvalidRequest           malformed protobuf/JSON, wrong content type, invalid ids   (permanent)
        ├── PayloadTooLarge          request above the configured size limit                   (permanent)
        ├── Unauthenticated          missing or unknown ingest token                          (permanent)
        ├── PermissionDenied         token not valid for this workspace                       (permanent)
        ├── Overloaded               bounded queue full: the store is slower than the input   (retry)
        ├── StoreUnavailable         PostgreSQL down or too slow; nothing was stored          (retry)
        └── ShuttingDown             the process is draining                                  (retry)

Receivers translate with `disposition(exc)`; the retryable ones make the OTLP exporters retry (UNAVAILABLE /
503 with Retry-After), which is safe because occurrences are idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass


class OtelErrorsError(Exception):
    """Base of every exception otel-errors raises on purpose."""


class ConfigError(OtelErrorsError):
    pass


class IngestError(OtelErrorsError):
    pass


class InvalidRequest(IngestError):
    pass


class PayloadTooLarge(IngestError):
    pass


class Unauthenticated(IngestError):
    pass


class PermissionDenied(IngestError):
    pass


class Overloaded(IngestError):
    pass


class StoreUnavailable(IngestError):
    pass


class ShuttingDown(IngestError):
    pass


@dataclass(frozen=True, slots=True)
class Disposition:
    retryable: bool
    grpc_code: str  # a grpc.StatusCode name; the core does not import grpc
    http_status: int
    retry_after_seconds: int | None = None


# The one table: error class -> retry-or-permanent, gRPC status, HTTP status (OTLP spec, "Failures").
DISPOSITIONS: dict[type[IngestError], Disposition] = {
    InvalidRequest: Disposition(False, "INVALID_ARGUMENT", 400),
    # gRPC refuses a message above its limit itself, with RESOURCE_EXHAUSTED and no RetryInfo: permanent.
    PayloadTooLarge: Disposition(False, "RESOURCE_EXHAUSTED", 413),
    Unauthenticated: Disposition(False, "UNAUTHENTICATED", 401),
    PermissionDenied: Disposition(False, "PERMISSION_DENIED", 403),
    Overloaded: Disposition(True, "UNAVAILABLE", 503, retry_after_seconds=1),
    StoreUnavailable: Disposition(True, "UNAVAILABLE", 503, retry_after_seconds=5),
    ShuttingDown: Disposition(True, "UNAVAILABLE", 503, retry_after_seconds=1),
}

_INTERNAL = Disposition(True, "INTERNAL", 500)


def disposition(exc: BaseException) -> Disposition:
    for cls in type(exc).__mro__:
        found = DISPOSITIONS.get(cls)
        if found is not None:
            return found
    return _INTERNAL
