"""OTLP/JSON differs from protobuf's canonical JSON in one way that matters: trace and span ids are hex strings,
not base64 (OTLP spec, "JSON Protobuf Encoding"). Convert them in place before `json_format.ParseDict`."""

from __future__ import annotations

import base64
from typing import Any

from otel_errors.errors import InvalidRequest

_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})
_MAX_DEPTH = 64


def hex_ids_to_base64(node: Any, depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        raise InvalidRequest("OTLP JSON nested too deeply")
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = _hex_to_base64(key, value)
            elif isinstance(value, (dict, list)):
                hex_ids_to_base64(value, depth + 1)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, (dict, list)):
                hex_ids_to_base64(item, depth + 1)


def _hex_to_base64(key: str, value: str) -> str:
    if value == "":
        return ""
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise InvalidRequest(f"{key} must be a hex string, got {value[:40]!r}") from None
    if len(raw) not in (8, 16):
        raise InvalidRequest(f"{key} must be 8 or 16 bytes of hex, got {len(raw)} bytes")
    return base64.b64encode(raw).decode()
