"""The receivers: OTLP/gRPC (:4317) and OTLP/HTTP (:4318) in front of the processor and the store."""

from ._auth import Authenticator, TokenAuthenticator, TokenLookup, no_auth
from ._pipeline import LOGS, TRACES, BatchSink, Pipeline, PipelineObserver
from .config import ReceiverConfig
from .grpc_server import GrpcReceiver
from .http_server import OtlpHttpApp

__all__ = [
    "LOGS",
    "TRACES",
    "Authenticator",
    "BatchSink",
    "GrpcReceiver",
    "OtlpHttpApp",
    "Pipeline",
    "PipelineObserver",
    "ReceiverConfig",
    "TokenAuthenticator",
    "TokenLookup",
    "no_auth",
]
