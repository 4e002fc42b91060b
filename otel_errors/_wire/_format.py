"""The protobuf wire format, as far as `_wire` reads it: field numbers of the OTLP trace messages, tags, varints,
skipping a field by its length."""

from __future__ import annotations

from typing import Final

# Field numbers (opentelemetry/proto/collector/trace/v1/trace_service.proto, trace/v1/trace.proto,
# resource/v1/resource.proto).
REQUEST_RESOURCE_SPANS: Final = 1  # ExportTraceServiceRequest.resource_spans
RESOURCE_SPANS_RESOURCE: Final = 1  # ResourceSpans.resource
RESOURCE_SPANS_SCOPE_SPANS: Final = 2
RESOURCE_ATTRIBUTES: Final = 1  # Resource.attributes
SCOPE_SPANS_SPANS: Final = 2  # ScopeSpans.spans
SPAN_TRACE_ID: Final = 1  # Span
SPAN_SPAN_ID: Final = 2
SPAN_PARENT_SPAN_ID: Final = 4
SPAN_NAME: Final = 5
SPAN_START: Final = 7
SPAN_END: Final = 8
SPAN_ATTRIBUTES: Final = 9
SPAN_EVENTS: Final = 11
SPAN_STATUS: Final = 15
EVENT_TIME: Final = 1  # Span.Event
EVENT_NAME: Final = 2
EVENT_ATTRIBUTES: Final = 3
STATUS_MESSAGE: Final = 2  # Status
STATUS_CODE: Final = 3
STATUS_CODE_ERROR: Final = 2

WIRE_VARINT: Final = 0
WIRE_FIXED64: Final = 1
WIRE_LEN: Final = 2
WIRE_FIXED32: Final = 5

AGENT_PREFIX: Final = b"invoke_agent"


class Unexpected(Exception):
    """Bytes this reader does not follow; the caller reads protobuf's objects instead."""


def read_tag(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    byte = data[pos]
    if byte < 0x80:  # one-byte tags: fields 1-15, every field read here
        return byte >> 3, byte & 7, pos + 1
    tag, pos = read_varint(data, pos, end)
    return tag >> 3, tag & 7, pos


def read_varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while pos < end:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            break
    raise Unexpected()


def read_len(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Where a length-delimited field's contents (its length read at `pos`) start and stop, within `end`."""
    length, pos = read_varint(data, pos, end)
    return pos, bounded(pos, length, end)


def skip_field(data: bytes, pos: int, end: int, wire: int) -> int:
    if wire == WIRE_VARINT:
        return read_varint(data, pos, end)[1]
    if wire == WIRE_LEN:
        return read_len(data, pos, end)[1]
    if wire == WIRE_FIXED64:
        return bounded(pos, 8, end)
    if wire == WIRE_FIXED32:
        return bounded(pos, 4, end)
    raise Unexpected()  # groups (3, 4) and invalid wire types


def once(seen: int, field: int) -> int:
    """`seen` (a bit per singular field read so far) with `field`'s bit; a field that comes twice is protobuf's to
    merge, so the reader gives up (`Unexpected`)."""
    bit = 1 << field
    if seen & bit:
        raise Unexpected()
    return seen | bit


def bounded(pos: int, length: int, end: int) -> int:
    stop = pos + length
    if stop > end:
        raise Unexpected()
    return stop
