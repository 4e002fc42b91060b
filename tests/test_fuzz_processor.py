"""Property tests of the pure core against adversarial OTLP (issue 5, item 2).

Hypothesis builds structurally valid but hostile `ExportTraceServiceRequest`s and `ExportLogsServiceRequest`s:
every attribute type (nested kvlists and arrays too), huge strings, NUL and astral characters, empty and odd-length
ids, zero and absurd timestamps, open-enum values out of range, many events, exception events with random fields,
deep parent chains and invalid `workspace.id`s. Whatever comes in, the processor must not raise, and what it emits
must be storable: 32-hex fingerprints, valid workspace ids, every field within the documented limits (README,
"Limits"), no NUL, times inside the accepted window. Random and damaged bytes go where the receivers send them
(traces as bytes to the processor, logs to `Pipeline.parse`) and raise only the malformed-input error; whatever
protobuf parses, the trace walk over the bytes reads as the object walk does.

Deterministic by default (derandomized, 200 examples per test); `OTEL_ERRORS_FUZZ_RANDOM=1` and
`OTEL_ERRORS_FUZZ_EXAMPLES=5000` turn it into a longer random fuzz run.
"""

from __future__ import annotations

import gc
import json
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from otlp_builders import NOW, PY_TRACE

from otel_errors import TRUNCATION_MARKER, Processor, ProcessorConfig
from otel_errors._otlp import attributes
from otel_errors._wire import WireReader, candidate_spans
from otel_errors.config import is_workspace_id
from otel_errors.errors import InvalidRequest
from otel_errors.exporter._rows import KnownTexts, stage
from otel_errors.grouping import details_json
from otel_errors.receiver import LOGS, TRACES, Pipeline

FUZZ = settings(
    max_examples=int(os.environ.get("OTEL_ERRORS_FUZZ_EXAMPLES", "200")),
    deadline=None,
    derandomize=not os.environ.get("OTEL_ERRORS_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    database=None,
)

CONFIG = ProcessorConfig()
HEX32 = re.compile(r"^[0-9a-f]{32}$")
RECEIVED = NOW + 60 * 1_000_000_000  # the receive time given to the processor (NOW is a minute before it)
SKEW_NS = CONFIG.max_clock_skew_seconds * 1_000_000_000
AGE_NS = CONFIG.max_age_seconds * 1_000_000_000
U64 = 2**64 - 1
I64 = 2**63 - 1


@pytest.fixture(scope="module", autouse=True)
def _cold_memos() -> Iterator[None]:
    """Start from empty grouping memos: what earlier tests left there (thousands of parsed traces) only makes
    every garbage collection of this allocation-heavy module slower."""
    from otel_errors.grouping._stack import clear_memo

    clear_memo()
    gc.collect()
    gc.freeze()  # what earlier tests allocated is not traversed again by every collection here
    yield
    gc.unfreeze()


# -- strategies ---------------------------------------------------------------------------------------------------

SPECIAL_TEXT = [
    "",
    "\x00",
    "a\x00b",
    "😀",
    "\U0010ffff",
    "\u202e",
    "\ufeff",
    "\u0301",
    "\r\n",
    "\\u0000",
    "null",
    "{}",
    "user@example.com",
    "Bearer abc.def.ghi",
    "4111 1111 1111 1111",
    "   ",
    "\t",
]

small_text = st.one_of(
    st.sampled_from(SPECIAL_TEXT),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
)
huge_text = st.builds(
    lambda unit, n: unit * n,
    st.sampled_from(["x", "é", "😀", "\x00", "ab\n", '  File "a.py", line 1, in f\n']),
    st.sampled_from([1_100, 9_000, 70_000, 70_000, 200_000]),
)
texts = st.one_of(small_text, small_text, small_text, huge_text)
int64s = st.one_of(st.sampled_from([0, 1, -1, I64, -(2**63), 2**31]), st.integers(-(2**63), I64))
doubles = st.one_of(st.sampled_from([float("nan"), float("inf"), float("-inf"), -0.0, 1e308]), st.floats())
u64s = st.one_of(
    st.sampled_from([0, 1, NOW, NOW + 10**18, I64, I64 + 1, U64, NOW - 200 * 86_400 * 10**9]), st.integers(0, U64)
)
ids = st.one_of(
    st.sampled_from([b"", b"\x00" * 16, b"\xff" * 8]),
    st.binary(min_size=0, max_size=33),
    st.integers(1, 33).map(os.urandom),
)


def _scalar_value() -> st.SearchStrategy[AnyValue]:
    return st.one_of(
        texts.map(lambda v: AnyValue(string_value=v)),
        st.booleans().map(lambda v: AnyValue(bool_value=v)),
        int64s.map(lambda v: AnyValue(int_value=v)),
        doubles.map(lambda v: AnyValue(double_value=v)),
        st.binary(max_size=64).map(lambda v: AnyValue(bytes_value=v)),
        st.just(AnyValue()),  # no value set
    )


def _array(children: st.SearchStrategy[AnyValue]) -> st.SearchStrategy[AnyValue]:
    return st.lists(children, max_size=4).map(lambda vs: AnyValue(array_value=ArrayValue(values=vs)))


def _kvlist(children: st.SearchStrategy[AnyValue]) -> st.SearchStrategy[AnyValue]:
    return st.lists(st.tuples(small_text, children), max_size=4).map(
        lambda kvs: AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key=k, value=v) for k, v in kvs]))
    )


scalar_values = _scalar_value()
nested_values = st.recursive(
    scalar_values, lambda children: st.one_of(_array(children), _kvlist(children)), max_leaves=6
)
any_values = st.one_of(scalar_values, scalar_values, nested_values)

INTERESTING_KEYS = [
    "user.id",
    "enduser.id",
    "gen_ai.agent.id",
    "gen_ai.agent.name",
    "service.name",
    "service.version",
    "deployment.environment",
    "deployment.environment.name",
    "credits.used",
    "workspace.id",
    "gen_ai.operation.name",
    "error.type",
    "error.fingerprint",
    "http.response.status_code",
    "exception.type",
    "exception.message",
    "exception.stacktrace",
    "exception.escaped",
    "log.severity_text",
    "db.system.name",
    "url.full",
]
keys = st.one_of(st.sampled_from(INTERESTING_KEYS), small_text)
key_values = st.lists(st.tuples(keys, any_values), max_size=6).map(
    lambda kvs: [KeyValue(key=k, value=v) for k, v in kvs]
)

EXCEPTION_VALUE = st.one_of(
    texts.map(lambda v: AnyValue(string_value=v)),
    st.sampled_from(
        [
            "ValueError",
            "json.decoder.JSONDecodeError",
            "java.lang.IllegalStateException",
            "Error",
            "",
            "a::b::C",
            PY_TRACE,
        ]
    ).map(lambda v: AnyValue(string_value=v)),
    any_values,
)


@st.composite
def exception_attributes(draw: st.DrawFn) -> list[KeyValue]:
    out = []
    for key in ("exception.type", "exception.message", "exception.stacktrace", "exception.escaped"):
        if draw(st.integers(0, 3)):
            out.append(KeyValue(key=key, value=draw(EXCEPTION_VALUE)))
    if draw(st.booleans()):
        out.append(KeyValue(key="exception.stacktrace", value=AnyValue(string_value=PY_TRACE)))
    out.extend(
        draw(
            st.lists(st.tuples(keys, any_values), max_size=3).map(
                lambda kvs: [KeyValue(key=k, value=v) for k, v in kvs]
            )
        )
    )
    return draw(st.permutations(out)) if out else out


span_events = st.lists(
    st.builds(
        dict,
        name=st.sampled_from(["exception", "exception", "gen_ai.client.operation.exception", "log", "", ".exception"]),
        time=u64s,
        attributes=exception_attributes(),
    ),
    max_size=3,
)

STATUS_CODES = st.sampled_from([0, 1, 2, 2, 2, 3, 99_999, -1, 2**31 - 1, -(2**31)])


@st.composite
def spans(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "trace_id": draw(ids),
        "span_id": draw(ids),
        "parent": draw(st.one_of(st.just(b""), ids)),
        "name": draw(st.one_of(st.sampled_from(["invoke_agent planner", "step", "", "invoke_agent"]), texts)),
        "status": draw(STATUS_CODES),
        "status_message": draw(st.one_of(st.sampled_from(["", "ValueError: boom", "RuntimeError: "]), texts)),
        "start": draw(u64s),
        "end": draw(u64s),
        "attributes": draw(key_values),
        "events": draw(span_events),
    }


workspace_ids = st.one_of(
    st.none(),  # no workspace.id: the default workspace
    st.sampled_from(["ws-1", "a", "A" * 64, "A" * 65, "no spaces allowed", "", "-leading", "ws\x00", "😀", "ws/1"]),
    int64s.map(str),
)


@st.composite
def resources(draw: st.DrawFn) -> list[KeyValue]:
    attrs = draw(key_values)
    workspace = draw(workspace_ids)
    if workspace is not None:
        value = (
            draw(st.one_of(st.just(AnyValue(string_value=workspace)), any_values))
            if draw(st.integers(0, 4)) == 0
            else AnyValue(string_value=workspace)
        )
        attrs.append(KeyValue(key="workspace.id", value=value))
    return attrs


@st.composite
def trace_requests(draw: st.DrawFn) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(0, 2))):
        rs = request.resource_spans.add()
        rs.resource.attributes.extend(draw(resources()))
        for _ in range(draw(st.integers(0, 2))):
            ss = rs.scope_spans.add()
            ss.scope.name = draw(small_text)
            specs = draw(st.lists(spans(), max_size=3))
            if specs and draw(st.booleans()):
                # a deep parent chain in one trace: each span the child of the one before
                depth = draw(st.sampled_from([2, 10, 300]))
                base = dict(specs[0])
                trace_id = base["trace_id"] or b"\x01" * 16
                parent = b""
                for i in range(depth):
                    span_id = i.to_bytes(8, "big")
                    specs.append(
                        {
                            **base,
                            "trace_id": trace_id,
                            "span_id": span_id,
                            "parent": parent,
                            "events": base["events"] if i % 50 == 0 else [],
                            "status": 2 if i % 3 else 0,
                        }
                    )
                    parent = span_id
            for spec in specs:
                s = ss.spans.add()
                s.trace_id, s.span_id, s.parent_span_id = spec["trace_id"], spec["span_id"], spec["parent"]
                s.name = spec["name"]
                s.status.code = spec["status"]  # type: ignore[assignment]
                s.status.message = spec["status_message"]
                s.start_time_unix_nano, s.end_time_unix_nano = spec["start"], spec["end"]
                s.attributes.extend(spec["attributes"])
                for event in spec["events"]:
                    e = s.events.add()
                    e.name, e.time_unix_nano = event["name"], event["time"]
                    e.attributes.extend(event["attributes"])
    return request


@st.composite
def log_requests(draw: st.DrawFn) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    for _ in range(draw(st.integers(0, 2))):
        rl = request.resource_logs.add()
        rl.resource.attributes.extend(draw(resources()))
        for _ in range(draw(st.integers(0, 2))):
            sl = rl.scope_logs.add()
            for _ in range(draw(st.integers(0, 4))):
                record = sl.log_records.add()
                record.time_unix_nano = draw(u64s)
                record.observed_time_unix_nano = draw(u64s)
                record.severity_number = draw(st.sampled_from([0, 9, 17, 21, 24, 25, 99_999, -5]))  # type: ignore
                record.severity_text = draw(small_text)
                record.trace_id, record.span_id = draw(ids), draw(ids)
                if draw(st.booleans()):
                    record.body.CopyFrom(draw(any_values))
                record.attributes.extend(draw(exception_attributes()))
                record.attributes.extend(draw(key_values))
    return request


# -- the properties -------------------------------------------------------------------------------------------------


def _in_window(time_ns: int) -> bool:
    return RECEIVED - AGE_NS <= time_ns <= RECEIVED + SKEW_NS


def _no_nul(*values: str) -> None:
    for value in values:
        assert "\x00" not in value


def _check_json(text: str) -> Any:
    """Valid JSON with no NUL anywhere (PostgreSQL jsonb cannot hold \\u0000)."""
    loaded = json.loads(text)
    stack = [loaded]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            assert "\x00" not in node
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
    return loaded


def rows(batch: Any) -> tuple[Any, ...]:
    """What a batch hands the store."""
    return (batch.events, batch.executions, batch.error_spans, batch.rejected, batch.rejected_reason)


def check_batch(batch: Any) -> None:
    """What the store relies on: every field bounded and encodable (README, "Limits")."""
    cfg = CONFIG
    for e in batch.events:
        assert HEX32.match(e.fingerprint), e.fingerprint
        assert is_workspace_id(e.workspace_id)
        assert len(e.occurrence_id) == 16
        assert _in_window(e.time_unix_nano)
        assert 0 < len(e.type) <= cfg.max_type_length
        assert len(e.message) <= cfg.max_message_length
        assert len(e.stacktrace) <= cfg.max_stacktrace_length
        assert len(e.title) <= 512 and len(e.culprit) <= 512
        for value in (e.span_name, e.user_id, e.agent_id, e.agent_name, e.service_name, e.environment, e.version):
            assert len(value) <= cfg.max_id_length
        _no_nul(
            e.type,
            e.message,
            e.stacktrace,
            e.title,
            e.culprit,
            e.span_name,
            e.user_id,
            e.agent_id,
            e.agent_name,
            e.environment,
            e.version,
            e.fingerprint_config,
        )
        attributes = _check_json(e.attributes_json)
        assert isinstance(attributes, dict) and len(attributes) <= cfg.max_attributes
        for key, value in attributes.items():
            assert len(key) <= 128
            if isinstance(value, str):
                assert len(value) <= cfg.max_attribute_value_length
        _check_json(details_json(e.grouping))
        assert len(e.chain_types) <= 16
        for text in (e.message, e.stacktrace, e.type):
            if TRUNCATION_MARKER in text and len(text) in (
                cfg.max_message_length,
                cfg.max_stacktrace_length,
                cfg.max_type_length,
            ):
                assert text.endswith(TRUNCATION_MARKER)
    for x in batch.executions:
        assert is_workspace_id(x.workspace_id)
        assert _in_window(x.start_time_unix_nano)
        assert x.end_time_unix_nano == 0 or _in_window(x.end_time_unix_nano)
        for value in (x.agent_id, x.agent_name, x.user_id, x.environment):
            assert len(value) <= cfg.max_id_length and "\x00" not in value
    for s in batch.error_spans:
        assert is_workspace_id(s.workspace_id)
        assert _in_window(s.start_time_unix_nano)
        assert s.end_time_unix_nano == 0 or _in_window(s.end_time_unix_nano)
        assert 0 <= s.status_code <= 2
        assert len(s.name) <= cfg.max_id_length and len(s.status_message) <= cfg.max_message_length
        _no_nul(s.name, s.status_message)
    assert batch.rejected >= 0
    stage(batch, KnownTexts())  # the store's rows build from it


def _sentinel_span(request: ExportTraceServiceRequest) -> None:
    """One well-formed exception in a valid resource: whatever else is in the request, it must come out."""
    rs = request.resource_spans.add()
    rs.resource.attributes.add(key="workspace.id", value=AnyValue(string_value="sentinel"))
    s = rs.scope_spans.add().spans.add(
        trace_id=b"\xfe" * 16,
        span_id=b"\xfd" * 8,
        parent_span_id=b"\xfc" * 8,
        name="tool",
        start_time_unix_nano=NOW - 10**9,
        end_time_unix_nano=NOW,
    )
    event = s.events.add(name="exception", time_unix_nano=NOW)
    event.attributes.add(key="exception.type", value=AnyValue(string_value="SentinelError"))
    event.attributes.add(key="exception.message", value=AnyValue(string_value="sentinel"))


@settings(FUZZ, max_examples=max(1, FUZZ.max_examples // 2))  # the costliest examples; slower after other tests
@given(trace_requests())
def test_adversarial_traces_never_raise_and_emit_bounded_events(request: ExportTraceServiceRequest) -> None:
    _sentinel_span(request)
    processor = Processor()
    batch = processor.process_traces(request, None, RECEIVED)
    check_batch(batch)
    assert [e.type for e in batch.events if e.workspace_id == "sentinel"] == ["SentinelError"]
    # Again, as a retry into the same trace state, with the workspace fixed by credentials: nothing rejected but
    # spans with ids of the wrong size and records with no time inside the accepted window.
    again = processor.process_traces(request, "ws-fixed", RECEIVED + 1)
    check_batch(again)
    assert again.rejected == 0 or again.rejected_reason.startswith(("record time outside", "invalid trace or span id"))


@settings(FUZZ, max_examples=max(1, FUZZ.max_examples // 2))
@given(trace_requests())
def test_the_walk_from_the_wire_bytes_matches_the_walk_over_every_span(request: ExportTraceServiceRequest) -> None:
    """The receivers hand the processor the bytes, not a parsed request (`_wire` reads the spans that matter):
    whatever the request, the batch is the one the object walk gives."""
    wire = request.SerializeToString()
    picked = candidate_spans(wire)
    assert picked is not None  # what protobuf writes, the reader follows
    for r, s, i, start, end in picked.spans:
        expected = attributes(request.resource_spans[r].scope_spans[s].spans[i].attributes)
        assert repr(WireReader(wire).span_attributes(start, end, None)) == repr(expected)  # repr: NaN equals itself
    without = rows(Processor().process_traces(request, None, RECEIVED))
    assert rows(Processor().process_traces(request, None, RECEIVED, wire)) == without
    assert rows(Processor().process_traces(None, None, RECEIVED, wire)) == without


@FUZZ
@given(log_requests())
def test_adversarial_logs_never_raise_and_emit_bounded_events(request: ExportLogsServiceRequest) -> None:
    processor = Processor()
    check_batch(processor.process_logs(request, None, RECEIVED))
    check_batch(processor.process_logs(request, None, RECEIVED))


def _parse_and_process(signal: Any, payload: bytes) -> None:
    """What the pipeline does with protobuf bytes: traces go to the processor as bytes, logs are parsed first. Only
    `DecodeError` (which the pipeline turns into `InvalidRequest`) may come out. Where protobuf parses the bytes,
    the walk over the bytes gives the batch the object walk gives; where it does not (invalid UTF-8, damage inside
    a span the walk skips), the batch must still be storable."""
    try:
        request = Pipeline.parse(signal, payload)
    except InvalidRequest as exc:
        assert "malformed OTLP" in str(exc)
        request = None
        if signal is LOGS:
            return
    processor = Processor()
    if signal is TRACES:
        try:
            batch = processor.process_traces(None, None, RECEIVED, payload)
        except DecodeError:
            assert request is None, "the bytes walk rejected what protobuf parses"
            return
        if request is not None:
            expected = Processor().process_traces(request, None, RECEIVED)
            assert rows(batch) == rows(expected)
    else:
        batch = processor.process_logs(request)
    for e in batch.events:
        assert HEX32.match(e.fingerprint) and is_workspace_id(e.workspace_id)
    stage(batch, KnownTexts())  # the store's rows build from it


@FUZZ
@given(st.sampled_from([TRACES, LOGS]), st.binary(max_size=4096))
def test_random_bytes_only_raise_invalid_request(signal: Any, payload: bytes) -> None:
    _parse_and_process(signal, payload)


@st.composite
def mutated_payloads(draw: st.DrawFn) -> tuple[Any, bytes]:
    """A valid adversarial request, serialized, then truncated, bit-flipped or spliced."""
    signal = draw(st.sampled_from([TRACES, LOGS]))
    request = draw(trace_requests() if signal is TRACES else log_requests())
    payload = bytearray(request.SerializeToString())
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["truncate", "flip", "insert", "delete"]))
        at = draw(st.integers(0, len(payload)))
        if action == "truncate":
            del payload[at:]
        elif action == "flip" and payload:
            i = min(at, len(payload) - 1)
            payload[i] ^= 1 << draw(st.integers(0, 7))
        elif action == "insert":
            payload[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            del payload[at : at + draw(st.integers(1, 16))]
    return signal, bytes(payload)


@FUZZ
@given(mutated_payloads())
def test_mutated_valid_payloads_only_raise_invalid_request(case: tuple[Any, bytes]) -> None:
    _parse_and_process(*case)


# -- named regressions ------------------------------------------------------------------------------------------------


def test_absurd_span_times_and_status_codes_are_bounded_for_the_store() -> None:
    """Found by this fuzz test: an ERROR span or execution with end time 2**64-1 (or a status code beyond int2)
    went to the store unchanged; psycopg could not encode it and the writer task died, so every later export
    timed out as UNAVAILABLE. A record with no time inside the accepted window is now refused (partial_success)."""
    request = ExportTraceServiceRequest()
    spans_ = request.resource_spans.add().scope_spans.add().spans
    root = spans_.add(
        trace_id=b"\x01" * 16,
        span_id=b"\x02" * 8,
        name="invoke_agent a",
        start_time_unix_nano=U64,
        end_time_unix_nano=U64,
    )
    root.status.code = 2  # type: ignore[assignment]
    child = spans_.add(
        trace_id=b"\x01" * 16,
        span_id=b"\x03" * 8,
        parent_span_id=b"\x02" * 8,
        name="tool",
        start_time_unix_nano=0,
        end_time_unix_nano=I64 + 1,
    )
    child.status.code = 99_999  # type: ignore[assignment]
    child.events.add(name="exception", time_unix_nano=U64).attributes.add(
        key="exception.type", value=AnyValue(string_value="E")
    )
    batch = Processor().process_traces(request, None, RECEIVED)
    check_batch(batch)
    # No time of the root inside the window: refused (a receive time would differ at every retry).
    assert batch.executions == [] and batch.rejected == 2  # two spans, whatever each yields
    # The child's event time and start are absurd, its end (I64 + 1 ns, year 2262) too: refused as well.
    assert batch.events == []
    assert batch.error_spans == []
