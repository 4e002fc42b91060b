"""OTLP/HTTP receiver: POST /v1/traces and /v1/logs on :4318, protobuf or JSON, optionally gzip-compressed.

A small ASGI app (no framework on the hot path). Errors follow the OTLP spec: the status code tells retry or not,
the body is a `google.rpc.Status` in the request's encoding, 503 carries Retry-After. Nothing is read past the
headers before the caller is authenticated and the request admitted within the in-flight byte budget.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from otel_errors.errors import IngestError, InvalidRequest, PayloadTooLarge, disposition

from ._otlp_json import hex_ids_to_base64
from ._pipeline import LOGS, TRACES, Pipeline, Signal
from ._status import GRPC_CODES, status_bytes
from .config import ReceiverConfig

log = logging.getLogger("otel_errors.receiver.http")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_ROUTES = {"/v1/traces": TRACES, "/v1/logs": LOGS}
_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"


class OtlpHttpApp:
    def __init__(self, config: ReceiverConfig, pipeline: Pipeline) -> None:
        self.config = config
        self.pipeline = pipeline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        signal = _ROUTES.get(scope["path"].rstrip("/") or "/")
        if signal is None:
            await _reply(send, 404, _JSON, json.dumps({"code": 5, "message": "not found"}).encode())
            return
        if scope["method"] != "POST":
            await _reply(
                send, 405, _JSON, json.dumps({"code": 12, "message": "use POST"}).encode(), [(b"allow", b"POST")]
            )
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in (_PROTOBUF, _JSON):
            await _reply(
                send,
                415,
                _JSON,
                json.dumps(
                    {"code": 3, "message": f"unsupported content type {content_type!r}; use {_PROTOBUF} or {_JSON}"}
                ).encode(),
            )
            return
        try:
            workspace = await self.pipeline.authenticate(headers.get("authorization"))
            declared = _content_length(headers)
            # The declared size is held while the body is read, what decompression adds once it is known.
            with self.pipeline.admitted(declared or 0):
                body = await self._read_body(receive, headers, declared)
                with self.pipeline.admitted(max(0, len(body) - (declared or 0))):
                    if content_type == _PROTOBUF:
                        response = await self.pipeline.export_protobuf(signal, body, workspace)
                    else:
                        response = await self.pipeline.export(signal, _decode_json(signal, body), workspace)
        except IngestError as exc:
            self.pipeline.refused(signal, exc)
            await self._error(send, exc, content_type)
            return
        except Exception as exc:
            log.exception("OTLP/HTTP %s export failed", signal.name)
            self.pipeline.refused(signal, exc)
            await self._error(send, Exception("internal error; the batch was not stored"), content_type)
            return
        await _reply(send, 200, content_type, _encode(response, content_type))

    async def _read_body(self, receive: Receive, headers: dict[str, str], declared: int | None) -> bytes:
        limit = self.config.max_message_bytes
        if declared is not None and declared > limit:
            raise PayloadTooLarge(f"request body of {declared} bytes exceeds the {limit}-byte limit")
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("gzip", "deflate", "identity", ""):
            raise InvalidRequest(f"unsupported content encoding {encoding!r}; use gzip or none")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise InvalidRequest("client disconnected")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"request body exceeds the {limit}-byte limit")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if encoding in ("gzip", "deflate"):
            return _inflate(body, encoding, limit)
        return body

    async def _error(self, send: Send, exc: Exception, content_type: str) -> None:
        d = disposition(exc)
        extra = [(b"retry-after", str(d.retry_after_seconds).encode())] if d.retry_after_seconds else []
        if content_type == _PROTOBUF:
            body = status_bytes(d, str(exc))
        else:
            body = json.dumps({"code": GRPC_CODES.get(d.grpc_code, 13), "message": str(exc)}).encode()
        await _reply(send, d.http_status, content_type, body, extra)


def _content_length(headers: dict[str, str]) -> int | None:
    declared = headers.get("content-length")
    if declared is None:
        return None
    if not declared.isdigit():
        raise InvalidRequest(f"invalid content-length {declared!r}")
    return int(declared)


def _inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """The whole body decompressed, or an error: a truncated stream, a second gzip member or bytes after the end
    are refused (400), never partly read."""
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise InvalidRequest(f"malformed {encoding} body: {exc}") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"decompressed body exceeds the {limit}-byte limit")
    if not inflater.eof:
        raise InvalidRequest(f"truncated {encoding} body: the compressed stream does not end")
    if inflater.unused_data:
        raise InvalidRequest(f"{encoding} body has data after the end of its stream (a second member?)")
    return data


def _decode_json(signal: Signal, body: bytes) -> Message:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise InvalidRequest(f"malformed OTLP {signal.name} JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidRequest(f"OTLP {signal.name} JSON must be an object")
    try:
        hex_ids_to_base64(document)
        return json_format.ParseDict(document, signal.request_type(), ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise InvalidRequest(f"malformed OTLP {signal.name} JSON: {exc}") from None


def _encode(response: Message, content_type: str) -> bytes:
    if content_type == _PROTOBUF:
        return response.SerializeToString()
    return json.dumps(json_format.MessageToDict(response)).encode()


async def _reply(
    send: Send, status: int, content_type: str, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
