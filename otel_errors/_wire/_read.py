"""Reading the picked spans, their events and attributes, and resources from the bytes: the values protobuf's
objects give (`_otlp.attributes`, the same bounds)."""

from __future__ import annotations

import struct
from typing import Final

from .._otlp import MAX_ARRAY_ITEMS, MAX_NESTING, AttrValue
from ._format import (
    EVENT_ATTRIBUTES,
    EVENT_NAME,
    EVENT_TIME,
    RESOURCE_ATTRIBUTES,
    SPAN_ATTRIBUTES,
    SPAN_END,
    SPAN_EVENTS,
    SPAN_NAME,
    SPAN_PARENT_SPAN_ID,
    SPAN_SPAN_ID,
    SPAN_START,
    SPAN_STATUS,
    SPAN_TRACE_ID,
    STATUS_CODE,
    STATUS_MESSAGE,
    WIRE_FIXED64,
    WIRE_LEN,
    WIRE_VARINT,
    Unexpected,
    bounded,
    once,
    read_len,
    read_tag,
    read_varint,
    skip_field,
)


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

    __slots__ = (
        "trace_id",
        "span_id",
        "parent_span_id",
        "name",
        "start_ns",
        "end_ns",
        "status_code",
        "status_message",
        "events",
    )

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


# Span fields `span` does not read: trace_state (3), kind (6), attributes (9: `span_attributes`), dropped counts (10,
# 12, 14) and links (13); above 15, flags and whatever later versions add.
_SPAN_IGNORED: Final = frozenset({3, 6, 9, 10, 12, 13, 14})
_DOUBLE: Final = struct.Struct("<d")


class WireReader:
    """Reads picked spans, their events and attributes, and resources out of one request's bytes.

    Each method returns None where the bytes are not in the form protobuf writes (a singular field twice, a field
    of another wire type than its own, an unknown field inside an attribute): protobuf's merge rules then decide,
    through its objects. Invalid UTF-8 in a string becomes U+FFFD, as opentelemetry-proto recommends, instead of
    failing the whole export as protobuf's parser does; `replaced` counts those strings, so the receiver can say
    so (a warning in OTLP `partial_success`)."""

    __slots__ = ("data", "replaced")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.replaced = 0

    def span(self, start: int, end: int) -> WireSpan | None:
        """The span in `data[start:end]` (a range `candidate_spans` gave), or None."""
        try:
            return self._span(start, end)
        except (Unexpected, IndexError):
            return None

    def _span(self, pos: int, end: int) -> WireSpan:
        data = self.data
        span = WireSpan()
        seen = 0  # a bit per singular field read (`once`)
        while pos < end:
            field, wire, pos = read_tag(data, pos, end)
            if field == SPAN_EVENTS:
                if wire != WIRE_LEN:
                    raise Unexpected()
                pos, stop = read_len(data, pos, end)
                span.events.append(self._event(pos, stop))
                pos = stop
                continue
            if field > SPAN_STATUS or field in _SPAN_IGNORED:
                pos = skip_field(data, pos, end, wire)
                continue
            seen = once(seen, field)
            if field in (SPAN_START, SPAN_END):
                if wire != WIRE_FIXED64:
                    raise Unexpected()
                stop = bounded(pos, 8, end)
                if field == SPAN_START:
                    span.start_ns = int.from_bytes(data[pos:stop], "little")
                else:
                    span.end_ns = int.from_bytes(data[pos:stop], "little")
                pos = stop
                continue
            if wire != WIRE_LEN:
                raise Unexpected()
            pos, stop = read_len(data, pos, end)
            if field == SPAN_TRACE_ID:
                span.trace_id = data[pos:stop]
            elif field == SPAN_SPAN_ID:
                span.span_id = data[pos:stop]
            elif field == SPAN_PARENT_SPAN_ID:
                span.parent_span_id = data[pos:stop]
            elif field == SPAN_NAME:
                span.name = self._text(pos, stop)
            elif field == SPAN_STATUS:
                self._status(pos, stop, span)
            else:
                raise Unexpected()
            pos = stop
        return span

    def _status(self, pos: int, end: int, span: WireSpan) -> None:
        """Status {string message = 2; StatusCode code = 3;}."""
        data = self.data
        seen = 0
        while pos < end:
            field, wire, pos = read_tag(data, pos, end)
            if field != STATUS_MESSAGE and field != STATUS_CODE:
                pos = skip_field(data, pos, end, wire)
                continue
            seen = once(seen, field)
            if field == STATUS_MESSAGE and wire == WIRE_LEN:
                pos, stop = read_len(data, pos, end)
                span.status_message = self._text(pos, stop)
                pos = stop
            elif field == STATUS_CODE and wire == WIRE_VARINT:
                code, pos = read_varint(data, pos, end)
                code &= 0xFFFFFFFF  # an open enum: the int32 protobuf reads
                span.status_code = code - (1 << 32) if code >= (1 << 31) else code
            else:
                raise Unexpected()

    def _event(self, pos: int, end: int) -> WireEvent:
        """Span.Event {fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; ...}."""
        data = self.data
        event = WireEvent("", 0, pos, end)
        seen = 0
        while pos < end:
            field, wire, pos = read_tag(data, pos, end)
            if field != EVENT_TIME and field != EVENT_NAME:
                pos = skip_field(data, pos, end, wire)
                continue
            seen = once(seen, field)
            if field == EVENT_TIME and wire == WIRE_FIXED64:
                stop = bounded(pos, 8, end)
                event.time_ns = int.from_bytes(data[pos:stop], "little")
                pos = stop
            elif field == EVENT_NAME and wire == WIRE_LEN:
                pos, stop = read_len(data, pos, end)
                event.name = self._text(pos, stop)
                pos = stop
            else:
                raise Unexpected()
        return event

    def span_attributes(self, start: int, end: int, keys: frozenset[str] | None) -> dict[str, AttrValue] | None:
        """`_otlp.attributes(span.attributes)` (or `selected_attributes(..., keys)`) of the span in
        `data[start:end]`: the same dict, without a protobuf object per attribute; or None."""
        try:
            return self._attributes_in(start, end, SPAN_ATTRIBUTES, keys)
        except (Unexpected, IndexError, struct.error):
            return None

    def event_attributes(self, start: int, end: int) -> dict[str, AttrValue] | None:
        """`span_attributes` of a span event's bytes (`WireEvent.start`, `.end`), all of them."""
        try:
            return self._attributes_in(start, end, EVENT_ATTRIBUTES, None)
        except (Unexpected, IndexError, struct.error):
            return None

    def resource_attributes(self, start: int, end: int) -> dict[str, AttrValue] | None:
        """`span_attributes` of a Resource's bytes (`WirePicks.resources`), all of them."""
        try:
            return self._attributes_in(start, end, RESOURCE_ATTRIBUTES, None)
        except (Unexpected, IndexError, struct.error):
            return None

    def _attributes_in(self, pos: int, end: int, number: int, keys: frozenset[str] | None) -> dict[str, AttrValue]:
        """The KeyValues of field `number` of the message in `data[pos:end]`."""
        data = self.data
        out: dict[str, AttrValue] = {}
        while pos < end:
            field, wire, pos = read_tag(data, pos, end)
            if field != number or wire != WIRE_LEN:
                pos = skip_field(data, pos, end, wire)
                continue
            pos, stop = read_len(data, pos, end)
            self._key_value(pos, stop, keys, out, 0)
            pos = stop
        return out

    def _key_value(
        self, pos: int, end: int, keys: frozenset[str] | None, out: dict[str, AttrValue], depth: int
    ) -> None:
        """One KeyValue {string key = 1; AnyValue value = 2;} into `out` (a repeated key: the last value wins, at the
        first one's position, as in a dict)."""
        data = self.data
        key = ""
        if pos < end and data[pos] == 0x0A:
            pos, stop = read_len(data, pos + 1, end)
            key = self._text(pos, stop)
            pos = stop
        if keys is not None and key not in keys:
            return
        value: AttrValue = None
        if pos < end:
            if data[pos] != 0x12:
                raise Unexpected()
            pos, stop = read_len(data, pos + 1, end)
            value = self._any_value(pos, stop, depth)
            pos = stop
        if pos != end:
            raise Unexpected()
        out[key] = value

    def _any_value(self, pos: int, end: int, depth: int) -> AttrValue:
        """`_otlp.any_value` from an AnyValue's bytes: exactly one field of its oneof, else `Unexpected`."""
        data = self.data
        if pos == end:
            return None
        field, wire, pos = read_tag(data, pos, end)
        value: AttrValue
        if wire == WIRE_LEN:
            pos, stop = read_len(data, pos, end)
            if field == 1:
                value = self._text(pos, stop)
            elif field == 7:
                value = data[pos:stop]
            elif field == 5 or field == 6:
                value = None if depth >= MAX_NESTING else self._container(pos, stop, depth + 1, field == 6)
            else:
                raise Unexpected()
            pos = stop
        elif wire == WIRE_VARINT and (field == 2 or field == 3):
            number, pos = read_varint(data, pos, end)
            if field == 2:
                value = number != 0
            else:
                value = number - (1 << 64) if number >= (1 << 63) else number  # int64, two's complement
        elif wire == WIRE_FIXED64 and field == 4:
            stop = bounded(pos, 8, end)
            value = float(_DOUBLE.unpack_from(data, pos)[0])
            pos = stop
        else:
            raise Unexpected()
        if pos != end:
            raise Unexpected()  # a second field: protobuf's oneof rules apply
        return value

    def _container(self, pos: int, end: int, depth: int, kvlist: bool) -> AttrValue:
        """ArrayValue or KeyValueList {repeated ... values = 1;}: the first MAX_ARRAY_ITEMS items."""
        data = self.data
        items: list[AttrValue] = []
        pairs: dict[str, AttrValue] = {}
        count = 0
        while pos < end:
            field, wire, pos = read_tag(data, pos, end)
            if field != 1 or wire != WIRE_LEN:
                raise Unexpected()
            pos, stop = read_len(data, pos, end)
            if count < MAX_ARRAY_ITEMS:
                if kvlist:
                    self._key_value(pos, stop, None, pairs, depth)
                else:
                    items.append(self._any_value(pos, stop, depth))
            count += 1
            pos = stop
        return pairs if kvlist else items

    def _text(self, start: int, end: int) -> str:
        raw = self.data[start:end]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.replaced += 1
            return raw.decode("utf-8", "replace")
