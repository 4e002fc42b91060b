"""Reading a serialized `ExportTraceServiceRequest` directly: the spans that matter, and what the walk needs of them.

The receivers hand trace exports to the processor as bytes. Parsing all of a 512-span request into protobuf's
objects (`FromString`, ~400 µs) and reading every span's fields through them (~450 µs) paid for the ~90% of spans
the walk skips. Here:

* `candidate_spans` walks the framing of the request, its resources, scopes and spans, and picks the spans that
  may matter (roots, spans with events, ERROR spans, agent invocations), skipping every other field by its length
  (~100 µs). It notes where each resource is.
* `read_span`, `span_attributes`, `event_attributes` and `resource_attributes` read the picked spans and their
  resources: the same values protobuf's objects give (`_otlp.attributes`, the same bounds).

The picks are a superset: a span is picked when it may be a root, may have an event, may have an ERROR status or
may be named `invoke_agent…`, and the walk filters again; a span picked in doubt costs a little time and never
changes the result. What it must never do is miss one, hence the cases where protobuf merges repeated
occurrences of a singular field (the last `parent_span_id` wins; any `status` holding code 2 picks the span).

Where the bytes are not in the form protobuf itself writes (groups, a singular field twice, an unknown field inside
an attribute, a resource given twice), these functions return None and the walk parses the request and reads
those spans through protobuf's objects, whose merge rules then decide; malformed framing raises protobuf's
`DecodeError` there. Like the Collector, nothing validates what no one reads (a skipped span's contents), and
invalid UTF-8 in a string that is read becomes U+FFFD, as opentelemetry-proto recommends, instead of failing the
whole export as protobuf's parser does.
"""

from __future__ import annotations

import struct
from typing import Final

from ._otlp import MAX_ARRAY_ITEMS, MAX_NESTING, AttrValue

# Field numbers (opentelemetry/proto/trace/v1/trace.proto, collector/trace/v1/trace_service.proto).
_REQUEST_RESOURCE_SPANS: Final = 1
_RESOURCE_SPANS_RESOURCE: Final = 1
_RESOURCE_ATTRIBUTES: Final = 1
_RESOURCE_SPANS_SCOPE_SPANS: Final = 2
_SCOPE_SPANS_SPANS: Final = 2
_SPAN_PARENT_SPAN_ID: Final = 4
_SPAN_TRACE_ID: Final = 1
_SPAN_SPAN_ID: Final = 2
_SPAN_NAME: Final = 5
_SPAN_START: Final = 7
_SPAN_END: Final = 8
_SPAN_ATTRIBUTES: Final = 9
_STATUS_MESSAGE: Final = 2
_EVENT_TIME: Final = 1
_EVENT_NAME: Final = 2
_EVENT_ATTRIBUTES: Final = 3
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


class WirePicks:
    """What `candidate_spans` found: the spans that may matter and where each resource is."""

    __slots__ = ("spans", "resources")

    def __init__(self) -> None:
        # (resource_spans index, scope_spans index, span index, start, end of the span's bytes), in wire order.
        self.spans: list[tuple[int, int, int, int, int]] = []
        # Per resource_spans index: start and end of its Resource's bytes; (0, 0) without one, (-1, -1) when it
        # comes twice (protobuf merges the two: read it through the objects).
        self.resources: list[tuple[int, int]] = []


def candidate_spans(data: bytes) -> WirePicks | None:
    """The spans of the request in `data` that may matter; None when the bytes hold something this reader does not
    follow (malformed framing, groups)."""
    try:
        return _request(data)
    except (_Unexpected, IndexError):
        return None


def _request(data: bytes) -> WirePicks:
    picks = WirePicks()
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
        _resource_spans(data, pos, stop, resource_index, picks)
        resource_index += 1
        pos = stop
    return picks


def _resource_spans(data: bytes, pos: int, end: int, resource_index: int, picks: WirePicks) -> None:
    picked = picks.spans
    resource = (0, 0)
    scope_index = 0
    while pos < end:
        field, wire, pos = _tag(data, pos, end)
        if field == _RESOURCE_SPANS_RESOURCE and wire == _WIRE_LEN:
            length, pos = _varint(data, pos, end)
            stop = _bounded(pos, length, end)
            resource = (pos, stop) if resource == (0, 0) else (-1, -1)
            pos = stop
            continue
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
    picks.resources.append(resource)


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


class WireEvent:
    """A span event as the walk reads it: its name and time, and where its bytes are (`event_attributes`)."""

    __slots__ = ("name", "time_ns", "start", "end")

    def __init__(self, name: str, time_ns: int, start: int, end: int) -> None:
        self.name = name
        self.time_ns = time_ns
        self.start = start
        self.end = end


class WireSpan:
    """The fields of a span the walk reads (attributes aside: `span_attributes`), with protobuf's defaults."""

    __slots__ = ("trace_id", "span_id", "parent_span_id", "name", "start_ns", "end_ns", "status_code",
                 "status_message", "events")

    def __init__(self) -> None:
        self.trace_id = b""
        self.span_id = b""
        self.parent_span_id = b""
        self.name = ""
        self.start_ns = 0
        self.end_ns = 0
        self.status_code = 0
        self.status_message = ""
        self.events: list[WireEvent] = []


def read_span(data: bytes, start: int, end: int) -> WireSpan | None:
    """The span in `data[start:end]` (a range `candidate_spans` gave); None when a field the walk reads comes twice
    or with another wire type than its own (protobuf's merge rules then decide, through its objects)."""
    try:
        return _read_span(data, start, end)
    except (_Unexpected, IndexError):
        return None


def _read_span(data: bytes, pos: int, end: int) -> WireSpan:
    span = WireSpan()
    seen = 0  # a bit per singular field read: a second occurrence is protobuf's business
    while pos < end:
        field, wire, pos = _tag(data, pos, end)
        if field == _SPAN_EVENTS:
            if wire != _WIRE_LEN:
                raise _Unexpected()
            length, pos = _varint(data, pos, end)
            stop = _bounded(pos, length, end)
            span.events.append(_read_event(data, pos, stop))
            pos = stop
            continue
        if field > _SPAN_STATUS or field in _SPAN_IGNORED:
            pos = _skip(data, pos, end, wire)
            continue
        bit = 1 << field
        if seen & bit:
            raise _Unexpected()
        seen |= bit
        if field == _SPAN_START or field == _SPAN_END:
            if wire != _WIRE_FIXED64:
                raise _Unexpected()
            stop = _bounded(pos, 8, end)
            if field == _SPAN_START:
                span.start_ns = int.from_bytes(data[pos:stop], "little")
            else:
                span.end_ns = int.from_bytes(data[pos:stop], "little")
            pos = stop
            continue
        if wire != _WIRE_LEN:
            raise _Unexpected()
        length, pos = _varint(data, pos, end)
        stop = _bounded(pos, length, end)
        if field == _SPAN_TRACE_ID:
            span.trace_id = data[pos:stop]
        elif field == _SPAN_SPAN_ID:
            span.span_id = data[pos:stop]
        elif field == _SPAN_PARENT_SPAN_ID:
            span.parent_span_id = data[pos:stop]
        elif field == _SPAN_NAME:
            span.name = _text(data, pos, stop)
        elif field == _SPAN_STATUS:
            _read_status(data, pos, stop, span)
        else:
            raise _Unexpected()
        pos = stop
    return span


# Span fields the walk does not read here: trace_state (3), kind (6), attributes (9: `span_attributes`), dropped
# counts (10, 12, 14) and links (13); above 15, flags and whatever later versions add.
_SPAN_IGNORED: Final = frozenset({3, 6, 9, 10, 12, 13, 14})


def _read_status(data: bytes, pos: int, end: int, span: WireSpan) -> None:
    """Status {string message = 2; StatusCode code = 3;}."""
    seen = 0
    while pos < end:
        field, wire, pos = _tag(data, pos, end)
        if field != _STATUS_MESSAGE and field != _STATUS_CODE:
            pos = _skip(data, pos, end, wire)
            continue
        bit = 1 << field
        if seen & bit:
            raise _Unexpected()
        seen |= bit
        if field == _STATUS_MESSAGE and wire == _WIRE_LEN:
            length, pos = _varint(data, pos, end)
            stop = _bounded(pos, length, end)
            span.status_message = _text(data, pos, stop)
            pos = stop
        elif field == _STATUS_CODE and wire == _WIRE_VARINT:
            code, pos = _varint(data, pos, end)
            code &= 0xFFFFFFFF  # an open enum: the int32 protobuf reads
            span.status_code = code - (1 << 32) if code >= (1 << 31) else code
        else:
            raise _Unexpected()


def _read_event(data: bytes, pos: int, end: int) -> WireEvent:
    """Span.Event {fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; ...}."""
    event = WireEvent("", 0, pos, end)
    seen = 0
    while pos < end:
        field, wire, pos = _tag(data, pos, end)
        if field != _EVENT_TIME and field != _EVENT_NAME:
            pos = _skip(data, pos, end, wire)
            continue
        bit = 1 << field
        if seen & bit:
            raise _Unexpected()
        seen |= bit
        if field == _EVENT_TIME and wire == _WIRE_FIXED64:
            stop = _bounded(pos, 8, end)
            event.time_ns = int.from_bytes(data[pos:stop], "little")
            pos = stop
        elif field == _EVENT_NAME and wire == _WIRE_LEN:
            length, pos = _varint(data, pos, end)
            stop = _bounded(pos, length, end)
            event.name = _text(data, pos, stop)
            pos = stop
        else:
            raise _Unexpected()
    return event


def _text(data: bytes, start: int, end: int) -> str:
    """A string field. Invalid UTF-8 becomes U+FFFD, as opentelemetry-proto recommends (specification.md, "UTF-8"),
    instead of failing the whole export as protobuf's parser does."""
    return data[start:end].decode("utf-8", "replace")


def span_attributes(data: bytes, start: int, end: int, keys: frozenset[str] | None) -> dict[str, AttrValue] | None:
    """`_otlp.attributes(span.attributes)` (or `selected_attributes(..., keys)`) read from the span's bytes
    `data[start:end]`: the same dict, without a protobuf object per attribute. None when an attribute is not in the
    form protobuf itself writes (a field twice, an unknown field): protobuf's merge rules then decide, through
    the objects."""
    try:
        return _attributes_in(data, start, end, _SPAN_ATTRIBUTES, keys)
    except (_Unexpected, IndexError, struct.error):
        return None


def event_attributes(data: bytes, start: int, end: int) -> dict[str, AttrValue] | None:
    """`span_attributes` of a span event's bytes (`WireEvent.start`, `.end`), all of them."""
    try:
        return _attributes_in(data, start, end, _EVENT_ATTRIBUTES, None)
    except (_Unexpected, IndexError, struct.error):
        return None


def resource_attributes(data: bytes, start: int, end: int) -> dict[str, AttrValue] | None:
    """`span_attributes` of a Resource's bytes (`WirePicks.resources`), all of them."""
    try:
        return _attributes_in(data, start, end, _RESOURCE_ATTRIBUTES, None)
    except (_Unexpected, IndexError, struct.error):
        return None


def _attributes_in(data: bytes, pos: int, end: int, number: int, keys: frozenset[str] | None
                   ) -> dict[str, AttrValue]:
    """The KeyValues of field `number` of the message in `data[pos:end]`."""
    out: dict[str, AttrValue] = {}
    while pos < end:
        field, wire, pos = _tag(data, pos, end)
        if field != number or wire != _WIRE_LEN:
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
        key = _text(data, pos, stop)
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
            value = _text(data, pos, stop)
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
