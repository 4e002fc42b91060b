"""What the span walk needs of a serialized `ExportTraceServiceRequest`, read from its wire bytes.

The walk (`_spans.walk_traces`) asks every span four questions (parent, events, status, name) and skips ~90% of
them. Asked through protobuf's Python objects, that costs a wrapper and a field lookup per read: ~450 µs for a
512-span request. `candidate_spans` answers from the bytes the request was parsed from, skipping whole fields by
their length (~100 µs), and the walk then touches only the spans it picked. For those, `span_attributes` builds
the attribute dict straight from the bytes: no protobuf object per attribute (the walk went from ~1,130 to ~600 µs
per request on the ingest benchmark's payloads).

`candidate_spans` answers a superset: a span is picked when it may be a root, may have an event, may have an
ERROR status or may be named `invoke_agent…`; the walk still applies its own filter to the picked spans, so a
span picked in doubt costs a little time and never changes the result. What it must never do is miss one, hence
the cases where protobuf merges repeated occurrences of a singular field (the last `parent_span_id` wins; any
`status` holding code 2 picks the span). Both functions return None for bytes they do not follow (groups, a
field twice where protobuf would merge, an unknown field inside an attribute) and the caller reads protobuf's
objects instead. The bytes were parsed by protobuf first, which is what rejects malformed input.
"""

from __future__ import annotations

import struct
from typing import Final

from ._otlp import MAX_ARRAY_ITEMS, MAX_NESTING, AttrValue

# Field numbers (opentelemetry/proto/trace/v1/trace.proto, collector/trace/v1/trace_service.proto).
_REQUEST_RESOURCE_SPANS: Final = 1
_RESOURCE_SPANS_SCOPE_SPANS: Final = 2
_SCOPE_SPANS_SPANS: Final = 2
_SPAN_PARENT_SPAN_ID: Final = 4
_SPAN_NAME: Final = 5
_SPAN_ATTRIBUTES: Final = 9
_SPAN_EVENTS: Final = 11
_SPAN_STATUS: Final = 15
_STATUS_CODE: Final = 3
_STATUS_CODE_ERROR: Final = 2

_WIRE_VARINT: Final = 0
_WIRE_FIXED64: Final = 1
_WIRE_LEN: Final = 2
_WIRE_FIXED32: Final = 5

_AGENT_PREFIX: Final = b"invoke_agent"


class _Unexpected(Exception):
    """Bytes this reader does not follow; the caller reads protobuf's objects instead."""


def candidate_spans(data: bytes) -> list[tuple[int, int, int, int, int]] | None:
    """(resource_spans index, scope_spans index, span index, start, end of the span's bytes) of every span that may
    matter, in wire order; None when the bytes hold something this reader does not follow."""
    try:
        return _request(data)
    except (_Unexpected, IndexError):
        return None


def _request(data: bytes) -> list[tuple[int, int, int, int, int]]:
    picked: list[tuple[int, int, int, int, int]] = []
    end = len(data)
    pos = 0
    resource_index = 0
    while pos < end:
        field, wire, pos = _tag(data, pos, end)
        if field != _REQUEST_RESOURCE_SPANS or wire != _WIRE_LEN:
            pos = _skip(data, pos, end, wire)
            continue
        length, pos = _varint(data, pos, end)
        stop = _bounded(pos, length, end)
        _resource_spans(data, pos, stop, resource_index, picked)
        resource_index += 1
        pos = stop
    return picked


def _resource_spans(data: bytes, pos: int, end: int, resource_index: int,
                    picked: list[tuple[int, int, int, int, int]]) -> None:
    scope_index = 0
    while pos < end:
        field, wire, pos = _tag(data, pos, end)
        if field != _RESOURCE_SPANS_SCOPE_SPANS or wire != _WIRE_LEN:
            pos = _skip(data, pos, end, wire)
            continue
        length, pos = _varint(data, pos, end)
        stop = _bounded(pos, length, end)
        span_index = 0
        while pos < stop:
            field, wire, pos = _tag(data, pos, stop)
            if field != _SCOPE_SPANS_SPANS or wire != _WIRE_LEN:
                pos = _skip(data, pos, stop, wire)
                continue
            length, pos = _varint(data, pos, stop)
            span_end = _bounded(pos, length, stop)
            if _may_matter(data, pos, span_end):
                picked.append((resource_index, scope_index, span_index, pos, span_end))
            span_index += 1
            pos = span_end
        scope_index += 1


def _may_matter(data: bytes, pos: int, end: int) -> bool:
    """The walk's filter, answered from a span's bytes: root, events, ERROR status or an agent invocation."""
    has_parent = False
    may = False
    while pos < end:
        # Inline for the usual case (a one-byte tag and a one-byte length): most of a request's bytes pass here.
        tag = data[pos]
        if tag < 0x80:
            pos += 1
        else:
            tag, pos = _varint(data, pos, end)
        field = tag >> 3
        wire = tag & 7
        if wire != _WIRE_LEN:
            pos = _skip(data, pos, end, wire)
            continue
        length = data[pos] if pos < end else 0x80
        if length < 0x80:
            pos += 1
        else:
            length, pos = _varint(data, pos, end)
        start = pos
        pos = _bounded(pos, length, end)
        if field == _SPAN_PARENT_SPAN_ID:
            has_parent = length > 0  # a singular field: the last occurrence wins
        elif field == _SPAN_EVENTS:
            may = True
        elif field == _SPAN_NAME:
            if data[start:start + len(_AGENT_PREFIX)] == _AGENT_PREFIX:
                may = True
        elif field == _SPAN_STATUS:
            if _status_is_error(data, start, pos):
                may = True
    return may or not has_parent


def _status_is_error(data: bytes, pos: int, end: int) -> bool:
    error = False
    while pos < end:
        field, wire, pos = _tag(data, pos, end)
        if field == _STATUS_CODE and wire == _WIRE_VARINT:
            code, pos = _varint(data, pos, end)
            if code == _STATUS_CODE_ERROR:
                error = True
        else:
            pos = _skip(data, pos, end, wire)
    return error


def span_attributes(data: bytes, start: int, end: int, keys: frozenset[str] | None) -> dict[str, AttrValue] | None:
    """`_otlp.attributes(span.attributes)` (or `selected_attributes(..., keys)`) read from the span's bytes
    `data[start:end]`: the same dict, without a protobuf object per attribute. None when an attribute is not in the
    form protobuf itself writes (a field twice, an unknown field): protobuf's merge rules then decide, through
    the objects."""
    try:
        return _span_attributes(data, start, end, keys)
    except (_Unexpected, IndexError, UnicodeDecodeError, struct.error):
        return None


def _span_attributes(data: bytes, pos: int, end: int, keys: frozenset[str] | None) -> dict[str, AttrValue]:
    out: dict[str, AttrValue] = {}
    while pos < end:
        field, wire, pos = _tag(data, pos, end)
        if field != _SPAN_ATTRIBUTES or wire != _WIRE_LEN:
            pos = _skip(data, pos, end, wire)
            continue
        length, pos = _varint(data, pos, end)
        stop = _bounded(pos, length, end)
        _key_value(data, pos, stop, keys, out, 0)
        pos = stop
    return out


def _key_value(data: bytes, pos: int, end: int, keys: frozenset[str] | None, out: dict[str, AttrValue],
               depth: int) -> None:
    """One KeyValue {string key = 1; AnyValue value = 2;} into `out` (a repeated key: the last value wins, at the
    first one's position, as in a dict)."""
    key = ""
    if pos < end and data[pos] == 0x0A:
        length, pos = _varint(data, pos + 1, end)
        stop = _bounded(pos, length, end)
        key = data[pos:stop].decode("utf-8")
        pos = stop
    if keys is not None and key not in keys:
        return
    value: AttrValue = None
    if pos < end:
        if data[pos] != 0x12:
            raise _Unexpected()
        length, pos = _varint(data, pos + 1, end)
        stop = _bounded(pos, length, end)
        value = _any_value(data, pos, stop, depth)
        pos = stop
    if pos != end:
        raise _Unexpected()
    out[key] = value


def _any_value(data: bytes, pos: int, end: int, depth: int) -> AttrValue:
    """`_otlp.any_value` from an AnyValue's bytes: exactly one field of its oneof, else `_Unexpected`."""
    if pos == end:
        return None
    field, wire, pos = _tag(data, pos, end)
    value: AttrValue
    if wire == _WIRE_LEN:
        length, pos = _varint(data, pos, end)
        stop = _bounded(pos, length, end)
        if field == 1:
            value = data[pos:stop].decode("utf-8")
        elif field == 7:
            value = data[pos:stop]
        elif field == 5 or field == 6:
            value = None if depth >= MAX_NESTING else _container(data, pos, stop, depth + 1, field == 6)
        else:
            raise _Unexpected()
        pos = stop
    elif wire == _WIRE_VARINT and (field == 2 or field == 3):
        number, pos = _varint(data, pos, end)
        if field == 2:
            value = number != 0
        else:
            value = number - (1 << 64) if number >= (1 << 63) else number  # int64, two's complement
    elif wire == _WIRE_FIXED64 and field == 4:
        stop = _bounded(pos, 8, end)
        value = float(_DOUBLE.unpack_from(data, pos)[0])
        pos = stop
    else:
        raise _Unexpected()
    if pos != end:
        raise _Unexpected()  # a second field: protobuf's oneof rules apply
    return value


def _container(data: bytes, pos: int, end: int, depth: int, kvlist: bool) -> AttrValue:
    """ArrayValue or KeyValueList {repeated ... values = 1;}: the first MAX_ARRAY_ITEMS items."""
    items: list[AttrValue] = []
    pairs: dict[str, AttrValue] = {}
    count = 0
    while pos < end:
        field, wire, pos = _tag(data, pos, end)
        if field != 1 or wire != _WIRE_LEN:
            raise _Unexpected()
        length, pos = _varint(data, pos, end)
        stop = _bounded(pos, length, end)
        if count < MAX_ARRAY_ITEMS:
            if kvlist:
                _key_value(data, pos, stop, None, pairs, depth)
            else:
                items.append(_any_value(data, pos, stop, depth))
        count += 1
        pos = stop
    return pairs if kvlist else items


_DOUBLE: Final = struct.Struct("<d")


def _tag(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    byte = data[pos]
    if byte < 0x80:  # one-byte tags: fields 1-15, every field read here
        return byte >> 3, byte & 7, pos + 1
    tag, pos = _varint(data, pos, end)
    return tag >> 3, tag & 7, pos


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
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
    raise _Unexpected()


def _skip(data: bytes, pos: int, end: int, wire: int) -> int:
    if wire == _WIRE_VARINT:
        return _varint(data, pos, end)[1]
    if wire == _WIRE_LEN:
        length, pos = _varint(data, pos, end)
        return _bounded(pos, length, end)
    if wire == _WIRE_FIXED64:
        return _bounded(pos, 8, end)
    if wire == _WIRE_FIXED32:
        return _bounded(pos, 4, end)
    raise _Unexpected()  # groups (3, 4) and invalid wire types


def _bounded(pos: int, length: int, end: int) -> int:
    stop = pos + length
    if stop > end:
        raise _Unexpected()
    return stop
