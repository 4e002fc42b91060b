"""OTLP/gRPC receiver: TraceService/Export and LogsService/Export on :4317 (grpc.aio).

Requests arrive as raw bytes and go to the pipeline as such, so a malformed message becomes INVALID_ARGUMENT with
a message instead of the framework's opaque INTERNAL. The caller is authenticated before the bytes are parsed.
Over capacity the answer is UNAVAILABLE with `RetryInfo`, which exporters retry; gRPC's own concurrency limit is
not used, since it answers RESOURCE_EXHAUSTED without one, which the Collector drops.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from otel_errors.errors import IngestError, disposition

from ._pipeline import LOGS, TRACES, Pipeline, Signal
from ._status import status_bytes
from .config import ReceiverConfig

log = logging.getLogger("otel_errors.receiver.grpc")

_TRACE_SERVICE = trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"].full_name
_LOGS_SERVICE = logs_service_pb2.DESCRIPTOR.services_by_name["LogsService"].full_name


class GrpcReceiver:
    def __init__(self, config: ReceiverConfig, pipeline: Pipeline) -> None:
        self.config = config
        self.pipeline = pipeline
        self._server: grpc.aio.Server | None = None
        self.port: int | None = None

    async def start(self) -> None:
        if self._server is not None:
            return
        options = [
            ("grpc.max_receive_message_length", self.config.max_message_bytes),
            ("grpc.so_reuseport", 1),  # several worker processes share the port (serve --workers N)
        ]
        server = grpc.aio.server(options=options)
        server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(_TRACE_SERVICE, {"Export": self._handler(TRACES)}),
                grpc.method_handlers_generic_handler(_LOGS_SERVICE, {"Export": self._handler(LOGS)}),
            )
        )
        self.port = server.add_insecure_port(f"{_host(self.config.host)}:{self.config.grpc_port}")
        if not self.port:
            raise OSError(f"cannot bind OTLP/gRPC to {self.config.host}:{self.config.grpc_port}")
        await server.start()
        self._server = server

    async def shutdown(self, grace: float = 5.0) -> None:
        """Stop accepting calls; in-flight calls get `grace` seconds to finish (their batches to commit)."""
        server, self._server = self._server, None
        if server is not None:
            await server.stop(grace)

    def _handler(self, signal: Signal) -> grpc.RpcMethodHandler:
        pipeline = self.pipeline

        async def export(payload: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
            try:
                workspace = await pipeline.authenticate(_authorization(context))
                with pipeline.admitted(len(payload)):
                    response = await pipeline.export_protobuf(signal, payload, workspace)
            except IngestError as exc:
                await _abort(context, exc)
            except Exception as exc:
                log.exception("OTLP/gRPC %s export failed", signal.name)
                await _abort(context, exc, "internal error; the batch was not stored")
            return response.SerializeToString()

        return grpc.unary_unary_rpc_method_handler(export)


async def _abort(context: grpc.aio.ServicerContext[Any, Any], exc: Exception, message: str | None = None) -> None:
    d = disposition(exc)
    text = message or str(exc)
    details = (("grpc-status-details-bin", status_bytes(d, text)),)
    await context.abort(getattr(grpc.StatusCode, d.grpc_code), text, trailing_metadata=details)


def _authorization(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return value if isinstance(value, str) else value.decode("latin-1")
    return None


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
