"""What both receivers do with a decoded request: process it and wait until the store has committed it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

from otel_errors import Processor
from otel_errors.errors import InvalidRequest


class BatchSink(Protocol):
    async def write(self, batch: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class Signal:
    name: str  # "traces" | "logs"
    request_type: type[Message]
    response_type: type[Message]
    rejected_field: str  # ExportXxxPartialSuccess field counting rejected items


TRACES = Signal("traces", trace_pb.ExportTraceServiceRequest, trace_pb.ExportTraceServiceResponse, "rejected_spans")
LOGS = Signal("logs", logs_pb.ExportLogsServiceRequest, logs_pb.ExportLogsServiceResponse, "rejected_log_records")

# Resolves the workspace of a request from its credentials (None: take it from the data, auth off).
Authenticator = Callable[[str | None], Awaitable[str | None]]


async def no_auth(_authorization: str | None) -> str | None:
    return None


class Pipeline:
    """receiver -> processor -> exporter, for one request. Shared by the gRPC and HTTP receivers."""

    def __init__(self, processor: Processor, sink: BatchSink, authenticate: Authenticator = no_auth) -> None:
        self.processor = processor
        self.sink = sink
        self.authenticate = authenticate
        self.stats = {"requests": 0, "spans_or_records_rejected": 0, "events": 0}

    @staticmethod
    def parse(signal: Signal, payload: bytes) -> Message:
        try:
            return signal.request_type.FromString(payload)
        except (DecodeError, ValueError, RuntimeError) as exc:
            raise InvalidRequest(f"malformed OTLP {signal.name} protobuf: {exc}") from None

    async def export_protobuf(self, signal: Signal, payload: bytes, authorization: str | None) -> Message:
        """A protobuf export as received. Traces go to the processor as bytes (it reads what it needs from them,
        like the Collector without a full decode first); logs are parsed here."""
        if signal is TRACES:
            return await self._export(signal, None, authorization, payload)
        return await self._export(signal, self.parse(signal, payload), authorization, None)

    async def export(self, signal: Signal, request: Message, authorization: str | None) -> Message:
        """A decoded export (OTLP/JSON)."""
        return await self._export(signal, request, authorization, None)

    async def _export(
        self, signal: Signal, request: Message | None, authorization: str | None, wire: bytes | None
    ) -> Message:
        workspace = await self.authenticate(authorization)
        received = time.time_ns()
        if signal is TRACES:
            try:
                batch = self.processor.process_traces(request, workspace, received, wire)
            except DecodeError as exc:  # bytes the wire reader could not follow and protobuf rejects
                raise InvalidRequest(f"malformed OTLP {signal.name} protobuf: {exc}") from None
        else:
            batch = self.processor.process_logs(request, workspace, received)
        await self.sink.write(batch)
        self.stats["requests"] += 1
        self.stats["events"] += len(batch.events)
        response = signal.response_type()
        if batch.rejected or batch.rejected_reason:  # nothing rejected but a reason: an OTLP warning
            self.stats["spans_or_records_rejected"] += batch.rejected
            partial = response.partial_success  # type: ignore[attr-defined]
            setattr(partial, signal.rejected_field, batch.rejected)
            partial.error_message = batch.rejected_reason
        return response
