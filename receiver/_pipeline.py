"""What both receivers do with a request: authenticate it, admit it within the memory bound, process it, and wait
until the store has committed it; only then does the processor remember what the request taught it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

from otel_errors import Processor
from otel_errors.batch import ErrorBatch
from otel_errors.errors import InvalidRequest, Overloaded

from ._auth import Authenticator, no_auth


class BatchSink(Protocol):
    async def write(self, batch: ErrorBatch) -> None: ...


@dataclass(frozen=True, slots=True)
class Signal:
    name: str  # "traces" | "logs"
    request_type: type[Message]
    response_type: type[Message]
    rejected_field: str  # ExportXxxPartialSuccess field counting rejected items


TRACES = Signal("traces", trace_pb.ExportTraceServiceRequest, trace_pb.ExportTraceServiceResponse, "rejected_spans")
LOGS = Signal("logs", logs_pb.ExportLogsServiceRequest, logs_pb.ExportLogsServiceResponse, "rejected_log_records")


class PipelineObserver(Protocol):
    """What self-telemetry counts of each request (`serve` connects one)."""

    def exported(self, signal: str, batch: ErrorBatch) -> None: ...

    def refused(self, signal: str, error: Exception) -> None: ...


class Pipeline:
    """receiver -> processor -> exporter, for one request. Shared by the gRPC and HTTP receivers.

    `max_inflight_bytes` bounds the request bytes being processed or waiting for their commit: beyond it a request
    is refused with `Overloaded` (retryable) before it is decompressed or parsed."""

    def __init__(
        self,
        processor: Processor,
        sink: BatchSink,
        authenticate: Authenticator = no_auth,
        *,
        max_inflight_bytes: int = 256 * 1024 * 1024,
        observer: PipelineObserver | None = None,
    ) -> None:
        self.processor = processor
        self.sink = sink
        self.authenticate = authenticate
        self.max_inflight_bytes = max_inflight_bytes
        self.inflight_bytes = 0
        self.observer = observer

    @contextlib.contextmanager
    def admitted(self, nbytes: int) -> Iterator[None]:
        """Hold `nbytes` of the in-flight budget while the body is handled. One request larger than the whole
        budget is still admitted when nothing else is in flight (the size limit bounds it)."""
        if nbytes and self.inflight_bytes and self.inflight_bytes + nbytes > self.max_inflight_bytes:
            raise Overloaded(f"{self.inflight_bytes} bytes of requests are in flight; retry later")
        self.inflight_bytes += nbytes
        try:
            yield
        finally:
            self.inflight_bytes -= nbytes

    def refused(self, signal: Signal, error: Exception) -> None:
        """A receiver refused a request (authentication, size, overload, malformed, a bug)."""
        if self.observer is not None:
            self.observer.refused(signal.name, error)

    @staticmethod
    def parse(signal: Signal, payload: bytes) -> Message:
        try:
            return signal.request_type.FromString(payload)
        except (DecodeError, ValueError, RuntimeError) as exc:
            raise InvalidRequest(f"malformed OTLP {signal.name} protobuf: {exc}") from None

    async def export_protobuf(self, signal: Signal, payload: bytes, workspace: str | None) -> Message:
        """A protobuf export as received, from an authenticated caller (`workspace`: its token's workspace, None
        with authentication off). Traces go to the processor as bytes (it reads what it needs from them, like the
        Collector without a full decode first); logs are parsed here."""
        if signal is TRACES:
            return await self._export(signal, None, workspace, payload)
        return await self._export(signal, self.parse(signal, payload), workspace, None)

    async def export(self, signal: Signal, request: Message, workspace: str | None) -> Message:
        """A decoded export (OTLP/JSON) from an authenticated caller."""
        return await self._export(signal, request, workspace, None)

    async def _export(
        self, signal: Signal, request: Message | None, workspace: str | None, wire: bytes | None
    ) -> Message:
        received = time.time_ns()
        if signal is TRACES:
            steps = self.processor.traces_in_steps(request, workspace, received, wire)
        else:
            steps = self.processor.logs_in_steps(request, workspace, received)
        try:
            for step in steps:
                if step is not None:
                    batch = step
                    break
                await asyncio.sleep(0)  # a slice of a heavy export done: let the other requests run
        except DecodeError as exc:  # bytes the wire reader could not follow and protobuf rejects
            raise InvalidRequest(f"malformed OTLP {signal.name} protobuf: {exc}") from None
        await self.sink.write(batch)
        self.processor.committed(batch)
        if self.observer is not None:
            self.observer.exported(signal.name, batch)
        response = signal.response_type()
        if batch.rejected or batch.rejected_reason:  # nothing rejected but a reason: an OTLP warning
            partial = response.partial_success  # type: ignore[attr-defined]
            setattr(partial, signal.rejected_field, batch.rejected)
            partial.error_message = batch.rejected_reason
        return response
