"""`_wire`: the spans the walk looks at, and their attributes, read from the request's bytes (named edge cases).

The reader may pick more spans than matter (the walk filters again) but never fewer, and it must index the same
spans protobuf's objects hold, including where protobuf merges several occurrences of one field. Each case checks
the walk over the picked spans against the walk over every span (`_walk`), and where the answer is fixed, the
picks themselves. The property version over hostile requests is in test_fuzz_processor.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from otlp_builders import NOW, PY_TRACE, kvs, span, traces, varint

from otel_errors import Processor
from otel_errors._otlp import MAX_ARRAY_ITEMS, MAX_NESTING, attributes, selected_attributes
from otel_errors._spans import walk_traces
from otel_errors._wire import WireReader, candidate_spans

TRACE = b"\x01" * 16
PARENT = b"\x02" * 8


def _walk(request: ExportTraceServiceRequest | None, wire: bytes | None) -> str:
    return repr(walk_traces(request, lambda _resource: "ws", frozenset({"user.id"}), wire))


def _same_walk(wire: bytes) -> ExportTraceServiceRequest:
    """The walk over the bytes alone, and with the parsed request at hand, is the walk over every span."""
    request = ExportTraceServiceRequest.FromString(wire)
    assert _walk(None, wire) == _walk(request, wire) == _walk(request, None)
    return request


def _picks(wire: bytes) -> list[tuple[int, int, int]] | None:
    """The picked spans' indexes; their byte ranges are checked by `_same_walk` (attributes come from them)."""
    picked = candidate_spans(wire)
    return None if picked is None else [(r, s, i) for r, s, i, _start, _end in picked.spans]


def _request_of_span_bytes(*span_bytes: bytes) -> bytes:
    """A request of one resource and scope whose spans are given as raw bytes (field 2 of ScopeSpans)."""
    scope = b"".join(b"\x12" + varint(len(s)) + s for s in span_bytes)
    resource_spans = b"\x12" + varint(len(scope)) + scope
    return b"\x0a" + varint(len(resource_spans)) + resource_spans


def _child(name: str = "llm call", **fields: Any) -> bytes:
    return Span(
        trace_id=TRACE,
        span_id=b"\x03" * 8,
        parent_span_id=PARENT,
        name=name,
        start_time_unix_nano=NOW - 10**9,
        end_time_unix_nano=NOW,
        **fields,
    ).SerializeToString()


def test_picks_roots_events_errors_agent_invocations_and_the_later_siblings_of_failures() -> None:
    request = traces(
        span("invoke_agent planner", trace_id=TRACE, parent=PARENT),
        span("root", trace_id=TRACE),
        span("plain child", trace_id=TRACE, parent=PARENT),
        span("failed child", trace_id=TRACE, parent=PARENT, error=True, status_message="boom"),
        span(
            "tool",
            trace_id=TRACE,
            parent=PARENT,
            exceptions=[{"exception.type": "ValueError", "exception.stacktrace": PY_TRACE}],
        ),
        span("another plain child", trace_id=TRACE, parent=PARENT, attrs={"k": "v" * 300}),
    )
    wire = request.SerializeToString()
    # "plain child" comes before the failed child: not picked; "another plain child" after it: a recovery candidate.
    assert _picks(wire) == [(0, 0, 0), (0, 0, 1), (0, 0, 3), (0, 0, 4), (0, 0, 5)]
    walked = _same_walk(wire)
    # "tool" recorded an exception itself: no recovery candidate.
    assert [o.name for o in walk_traces(walked, lambda _r: "ws", frozenset(), wire).outcomes] == ["another plain child"]


def test_indexes_count_spans_across_resources_and_scopes() -> None:
    first = traces(span("a", trace_id=TRACE, parent=PARENT), span("root", trace_id=TRACE))
    second = traces(span("b", trace_id=TRACE, parent=PARENT, error=True))
    second.resource_spans[0].scope_spans.add().spans.append(span("root 2", trace_id=TRACE))
    wire = first.SerializeToString() + second.SerializeToString()  # concatenated requests: resource_spans append
    assert _picks(wire) == [(0, 0, 1), (1, 0, 0), (1, 1, 0)]
    request = _same_walk(wire)
    assert len(request.resource_spans) == 2


def test_a_later_parent_occurrence_wins_either_way() -> None:
    cleared = _child() + b"\x22\x00"  # parent_span_id again, empty: protobuf keeps the last one, so a root
    assert _picks(_request_of_span_bytes(cleared)) == [(0, 0, 0)]
    reparented = Span(trace_id=TRACE, name="x").SerializeToString() + b"\x22\x08" + PARENT
    assert _picks(_request_of_span_bytes(reparented)) == []
    _same_walk(_request_of_span_bytes(cleared, reparented))


def test_an_error_status_merged_over_by_a_later_unset_code_is_picked_and_dropped_by_the_walk() -> None:
    # status {code: ERROR} then status {code: UNSET written out}: protobuf merges to UNSET. Picking it costs a
    # look; the walk's own filter then drops it.
    merged = _child(status={"code": 2, "message": "boom"}) + b"\x7a\x02\x18\x00"
    assert _picks(_request_of_span_bytes(merged)) == [(0, 0, 0)]
    request = _same_walk(_request_of_span_bytes(merged))
    assert request.resource_spans[0].scope_spans[0].spans[0].status.code == 0
    assert walk_traces(request, lambda _r: "ws").error_spans == []


def test_an_error_code_in_a_later_status_occurrence_is_seen() -> None:
    merged = _child(status={"message": "first"}) + b"\x7a\x02\x18\x02"
    assert _picks(_request_of_span_bytes(merged)) == [(0, 0, 0)]
    request = _same_walk(_request_of_span_bytes(merged))
    assert len(walk_traces(request, lambda _r: "ws").error_spans) == 1


def test_a_long_agent_name_split_over_a_two_byte_length_and_a_short_one() -> None:
    long_name = _child(name="invoke_agent " + "x" * 300)
    prefix_only = _child(name="invoke_agen")
    assert _picks(_request_of_span_bytes(prefix_only, long_name)) == [(0, 0, 1)]


def test_unknown_fields_of_every_plain_wire_type_are_skipped_at_every_level() -> None:
    unknown = (
        varint(99 << 3 | 0)
        + varint(2**63)
        + varint(98 << 3 | 1)
        + b"\x00" * 8
        + varint(97 << 3 | 5)
        + b"\x00" * 4
        + varint(96 << 3 | 2)
        + b"\x03abc"
    )
    span_bytes = _child(events=[{"name": "exception"}]) + unknown + _child(flags=0x301)
    scope = b"\x12" + varint(len(span_bytes)) + span_bytes + unknown
    resource_spans = unknown + b"\x12" + varint(len(scope)) + scope
    wire = unknown + b"\x0a" + varint(len(resource_spans)) + resource_spans + unknown
    assert _picks(wire) == [(0, 0, 0)]
    _same_walk(wire)


def test_groups_and_truncated_bytes_fall_back_to_the_object_walk() -> None:
    group = varint(95 << 3 | 3) + varint(95 << 3 | 4)  # an empty group: valid protobuf, not read here
    wire = _request_of_span_bytes(_child(events=[{"name": "exception"}]) + group)
    assert _picks(wire) is None
    _same_walk(wire)
    assert _picks(wire[:-3]) is None  # protobuf rejects these bytes before the walk ever sees them
    assert _picks(b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01") is None  # an 11-byte varint


def test_the_processor_emits_the_same_batch_from_the_bytes() -> None:
    request = traces(
        span("invoke_agent planner", trace_id=TRACE, attrs={"user.id": "u-1", "credits.used": 3}),
        span(
            "tool",
            trace_id=TRACE,
            parent=PARENT,
            error=True,
            exceptions=[
                {"exception.type": "ValueError", "exception.message": "bad query 123", "exception.stacktrace": PY_TRACE}
            ],
        ),
        span("plain", trace_id=TRACE, parent=PARENT),
        resource={"service.name": "agent-svc", "workspace.id": "ws-9"},
    )
    wire = request.SerializeToString()
    with_bytes = Processor().process_traces(request, None, NOW, wire)
    without = Processor().process_traces(request, None, NOW)
    assert len(with_bytes.events) == 1 and len(with_bytes.executions) == 1
    assert (with_bytes.events, with_bytes.executions, with_bytes.error_spans) == (
        without.events,
        without.executions,
        without.error_spans,
    )


# -- attributes read from the span's bytes ---------------------------------------------------------------------------


def _span_with(*key_values: KeyValue) -> tuple[Span, bytes]:
    s = Span(trace_id=TRACE, span_id=b"\x03" * 8, name="tool")
    s.attributes.extend(key_values)
    return s, s.SerializeToString()


def _nested(depth: int) -> AnyValue:
    value = AnyValue(string_value="leaf")
    for i in range(depth):
        value = (
            AnyValue(array_value=ArrayValue(values=[value]))
            if i % 2
            else AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key=f"k{i}", value=value)]))
        )
    return value


def test_every_attribute_kind_reads_as_protobuf_objects_read() -> None:
    span_message, wire = _span_with(
        KeyValue(key="s", value=AnyValue(string_value="héllo 😀")),
        KeyValue(key="empty", value=AnyValue(string_value="")),
        KeyValue(key="unset"),
        KeyValue(key="", value=AnyValue(int_value=1)),
        KeyValue(key="neg", value=AnyValue(int_value=-(2**63))),
        KeyValue(key="max", value=AnyValue(int_value=2**63 - 1)),
        KeyValue(key="nan", value=AnyValue(double_value=float("nan"))),
        KeyValue(key="negzero", value=AnyValue(double_value=-0.0)),
        KeyValue(key="t", value=AnyValue(bool_value=True)),
        KeyValue(key="f", value=AnyValue(bool_value=False)),
        KeyValue(key="b", value=AnyValue(bytes_value=b"\x00\xff")),
        KeyValue(
            key="many",
            value=AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=i) for i in range(MAX_ARRAY_ITEMS + 5)])),
        ),
        KeyValue(key="deep", value=_nested(MAX_NESTING + 3)),
        KeyValue(key="s", value=AnyValue(string_value="a repeated key: the last value, at the first position")),
    )
    expected = attributes(span_message.attributes)
    assert repr(WireReader(wire).span_attributes(0, len(wire), None)) == repr(expected)
    assert len(expected["many"]) == MAX_ARRAY_ITEMS  # type: ignore[arg-type]
    assert (
        WireReader(wire).span_attributes(0, len(wire), frozenset({"neg", "b", "absent"}))
        == selected_attributes(span_message.attributes, frozenset({"neg", "b", "absent"}))
        == {"neg": -(2**63), "b": b"\x00\xff"}
    )


def test_attributes_protobuf_would_merge_are_left_to_protobuf() -> None:
    key_value = KeyValue(key="k", value=AnyValue(string_value="v")).SerializeToString()
    assert key_value == b"\x0a\x01k\x12\x03\x0a\x01v"
    for odd_key_value in (
        key_value + b"\x12\x03\x0a\x01w",  # value twice: merged
        b"\x0a\x01j" + key_value,  # key twice
        b"\x12\x03\x0a\x01v\x0a\x01k",  # value before key
        key_value + b"\x18\x01",  # an unknown field
        b"\x0a\x01k\x12\x06\x0a\x01v\x0a\x01w",  # a oneof set twice in the AnyValue
    ):
        wire = b"\x4a" + bytes([len(odd_key_value)]) + odd_key_value
        assert WireReader(wire).span_attributes(0, len(wire), None) is None
        span_message = Span.FromString(wire)  # valid protobuf all the same, and the walk still reads it
        request = ExportTraceServiceRequest()
        request.resource_spans.add().scope_spans.add().spans.append(span_message)
        _same_walk(request.SerializeToString())


# -- the request read from its bytes alone ---------------------------------------------------------------------------


def test_invalid_utf8_becomes_the_replacement_character_instead_of_failing_the_export() -> None:
    request = traces(
        span("plain", trace_id=TRACE, parent=PARENT, attrs={"note": "MARK-A"}),
        span(
            "tool",
            trace_id=TRACE,
            parent=PARENT,
            attrs={"k": "MARK-CC"},
            exceptions=[{"exception.type": "ValueError", "exception.message": "bad MARK-B"}],
        ),
        resource={"service.name": "svc", "workspace.id": "ws-1"},
    )
    # Same lengths: the framing stays intact. An encoded surrogate (ED A0 80) is invalid UTF-8 too.
    wire = (
        request.SerializeToString()
        .replace(b"MARK-A", b"MARK-\xff")
        .replace(b"MARK-B", b"MARK-\xfe")
        .replace(b"MARK-CC", b"MARK\xed\xa0\x80")
    )
    with pytest.raises(DecodeError):
        ExportTraceServiceRequest.FromString(wire)  # protobuf refuses the whole export
    batch = Processor().process_traces(None, None, NOW, wire)
    assert [(e.type, e.message) for e in batch.events] == [("ValueError", "bad MARK-\ufffd")]
    assert json.loads(batch.events[0].attributes_json)["k"] == "MARK\ufffd\ufffd\ufffd"
    # Said as an OTLP warning (nothing rejected): the message and the tool span's attribute; the plain span is
    # never read, so its bad byte goes unnoticed, as in the Collector.
    assert batch.rejected == 0
    assert batch.rejected_reason.startswith("2 string(s) with invalid UTF-8 kept with U+FFFD")


def test_a_resource_given_twice_is_merged_by_protobuf() -> None:
    first = traces(span("root", trace_id=TRACE), resource={"service.name": "svc", "workspace.id": "ws-1"})
    wire = first.SerializeToString()
    extra_resource = Resource(attributes=kvs({"user.id": "u-7"})).SerializeToString()
    resource_spans = wire[2:] + b"\x0a" + bytes([len(extra_resource)]) + extra_resource  # wire[:2]: tag, length
    assert len(wire) - 2 < 128
    merged = b"\x0a" + bytes([len(resource_spans)]) + resource_spans
    picks = candidate_spans(merged)
    assert picks is not None and picks.resources == [(-1, -1)]
    request = _same_walk(merged)
    walk = walk_traces(None, lambda _r: "ws", frozenset({"user.id"}), merged)
    assert walk.executions[0].resource == attributes(request.resource_spans[0].resource.attributes)
    assert walk.executions[0].resource["user.id"] == "u-7"


def test_malformed_bytes_raise_protobufs_decode_error() -> None:
    for wire in (
        b"\xff\xff\xff\xff not protobuf",
        b"\x0a\x05\x12\x03",
        b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    ):
        with pytest.raises(DecodeError):
            walk_traces(None, lambda _r: "ws", frozenset(), wire)
