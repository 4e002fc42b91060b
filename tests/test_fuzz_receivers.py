"""Both receivers of the real server against hostile input (issue 5, item 2).

Random bytes, truncated and bit-flipped valid payloads, random JSON documents, invalid UTF-8, 10,000 levels of
nesting, wrong content types, oversize bodies and absurd values, over OTLP/gRPC and OTLP/HTTP. Every answer is a
clear client error (HTTP 4xx, gRPC INVALID_ARGUMENT/RESOURCE_EXHAUSTED) or a success, never a 5xx/INTERNAL, never
a hang (every call has a timeout), and afterwards a valid export is still acknowledged and counted by the API.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import os
import time
from collections.abc import Iterator

import grpc
import httpx
import pytest
from conftest import RunningServer, start_server, stop_server
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from otlp_builders import NOW, PY_TRACE, logs, new_id, span, traces, varint

from otel_errors import TRUNCATION_MARKER, Processor
from otel_errors.errors import InvalidRequest

TRACE_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
LOGS_METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
PROTOBUF = {"content-type": "application/x-protobuf"}
JSON = {"content-type": "application/json"}
TIMEOUT = 15.0  # seconds per call: a hang fails the test instead of blocking the suite

FUZZ = settings(
    max_examples=int(os.environ.get("OTEL_ERRORS_FUZZ_EXAMPLES", "60")),
    deadline=None,
    derandomize=not os.environ.get("OTEL_ERRORS_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)

# gRPC codes a hostile request may get: a success, or a permanent client error. Never INTERNAL, UNKNOWN,
# UNAVAILABLE (that would make exporters retry a poison request forever) or DEADLINE_EXCEEDED (a hang).
GRPC_CLIENT_ERRORS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED}
HTTP_CLIENT_ERRORS = {400, 413, 415}


# -- helpers --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def channel(server: RunningServer) -> Iterator[grpc.Channel]:
    options = [("grpc.max_send_message_length", 64 * 1024 * 1024)]
    with grpc.insecure_channel(server.otlp_grpc, options=options) as ch:
        yield ch


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=TIMEOUT) as c:
        yield c


def grpc_call(channel: grpc.Channel, method: str, payload: bytes) -> tuple[grpc.StatusCode, bytes | str]:
    call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    try:
        return grpc.StatusCode.OK, call(payload, timeout=TIMEOUT)
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""


def assert_grpc_clean(code: grpc.StatusCode, detail: bytes | str, method: str) -> None:
    if code == grpc.StatusCode.OK:
        assert isinstance(detail, bytes)
        response = ExportTraceServiceResponse if method == TRACE_METHOD else ExportLogsServiceResponse
        response.FromString(detail)
        return
    assert code in GRPC_CLIENT_ERRORS, (code, detail)
    assert detail, "a refused request says why"


def assert_http_clean(response: httpx.Response, content_type: str) -> None:
    assert response.status_code == 200 or response.status_code in HTTP_CLIENT_ERRORS, (
        response.status_code,
        response.text[:500],
    )
    if response.status_code != 200 and content_type == JSON["content-type"]:
        body = response.json()
        assert body["message"] and body["code"] in (3, 8, 11)


def error_request(workspace: str, message: str = "boom") -> bytes:
    return traces(
        span(
            trace_id=new_id(16),
            parent=new_id(8),
            error=True,
            exceptions=[
                {"exception.type": "RuntimeError", "exception.message": message, "exception.stacktrace": PY_TRACE}
            ],
        ),
        resource={"service.name": "svc", "workspace.id": workspace},
    ).SerializeToString()


def occurrences(server: RunningServer, workspace: str, expected: int, timeout: float = 15) -> int:
    """Sum of occurrences the API reports for the workspace, polled until `expected` (or the timeout)."""
    deadline, total = time.monotonic() + timeout, -1
    while time.monotonic() < deadline:
        items = httpx.get(f"{server.api}/api/v1/workspaces/{workspace}/errors", timeout=TIMEOUT).json()["items"]
        total = sum(i["occurrences"] for i in items)
        if total >= expected:
            break
        time.sleep(0.1)
    return total


def still_serving(server: RunningServer, channel: grpc.Channel, client: httpx.Client, workspace: str) -> None:
    """After whatever came before: a valid export over each transport is acknowledged and counted."""
    code, detail = grpc_call(channel, TRACE_METHOD, error_request(workspace, "after grpc"))
    assert code == grpc.StatusCode.OK, (code, detail)
    response = client.post(
        f"{server.otlp_http}/v1/traces", content=error_request(workspace, "after http"), headers=PROTOBUF
    )
    assert response.status_code == 200, response.text
    assert occurrences(server, workspace, 2) == 2
    assert httpx.get(f"{server.api}/healthz", timeout=TIMEOUT).status_code == 200


VALID = [
    error_request("fuzz-ws"),
    traces(
        span("invoke_agent a", trace_id=new_id(16), error=True, attrs={"user.id": "u", "nested": 1}),
        span(trace_id=new_id(16), parent=new_id(8), exceptions=[{"exception.type": "E", "x": 1.5}]),
    ).SerializeToString(),
    logs({"exception.type": "KeyError", "exception.message": "k", "_body": "b"}).SerializeToString(),
]


@st.composite
def hostile_payloads(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["random", "truncated", "flipped", "spliced"]))
    if kind == "random":
        return draw(st.binary(max_size=2048))
    payload = bytearray(draw(st.sampled_from(VALID)))
    if kind == "truncated":
        return bytes(payload[: draw(st.integers(0, len(payload) - 1))])
    if kind == "flipped":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(payload) - 1))
            payload[i] ^= 1 << draw(st.integers(0, 7))
        return bytes(payload)
    at = draw(st.integers(0, len(payload)))
    payload[at:at] = draw(st.binary(min_size=1, max_size=64))
    return bytes(payload)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25,
)
OTLP_KEYS = [
    "resourceSpans",
    "resourceLogs",
    "scopeSpans",
    "scopeLogs",
    "spans",
    "logRecords",
    "resource",
    "attributes",
    "events",
    "traceId",
    "spanId",
    "parentSpanId",
    "name",
    "status",
    "code",
    "key",
    "value",
    "stringValue",
    "intValue",
    "doubleValue",
    "boolValue",
    "bytesValue",
    "arrayValue",
    "kvlistValue",
    "values",
    "timeUnixNano",
    "startTimeUnixNano",
    "endTimeUnixNano",
    "body",
    "severityNumber",
]
otlp_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "0af7651916cd43dd8448eb211c80319c",
            "b7ad6b7169203331",
            "",
            "zz",
            "NaN",
            "-1",
            "18446744073709551616",
            "exception",
        ]
    ),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(OTLP_KEYS), children, max_size=5),
    max_leaves=30,
)
json_documents = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["resourceSpans", "resourceLogs"]), otlp_json, min_size=1).map(
        lambda v: json.dumps(v).encode()
    ),
    st.binary(max_size=256),
)


# -- fuzz: gRPC and HTTP -----------------------------------------------------------------------------------------------


@FUZZ
@given(method=st.sampled_from([TRACE_METHOD, LOGS_METHOD]), payload=hostile_payloads())
def test_grpc_hostile_payloads_get_a_clear_answer(
    server: RunningServer, channel: grpc.Channel, method: str, payload: bytes
) -> None:
    assert_grpc_clean(*grpc_call(channel, method, payload), method)


@FUZZ
@given(
    path=st.sampled_from(["/v1/traces", "/v1/logs"]),
    payload=hostile_payloads(),
    encoding=st.sampled_from(["identity", "gzip"]),
)
def test_http_hostile_protobuf_gets_a_clear_answer(
    server: RunningServer, client: httpx.Client, path: str, payload: bytes, encoding: str
) -> None:
    headers = dict(PROTOBUF)
    if encoding == "gzip":
        payload, headers["content-encoding"] = gzip.compress(payload), "gzip"
    assert_http_clean(
        client.post(f"{server.otlp_http}{path}", content=payload, headers=headers), PROTOBUF["content-type"]
    )


@FUZZ
@given(path=st.sampled_from(["/v1/traces", "/v1/logs"]), body=json_documents)
def test_http_random_json_documents_get_a_clear_answer(
    server: RunningServer, client: httpx.Client, path: str, body: bytes
) -> None:
    assert_http_clean(client.post(f"{server.otlp_http}{path}", content=body, headers=JSON), JSON["content-type"])


def test_after_the_fuzzing_valid_exports_are_still_stored(
    server: RunningServer, channel: grpc.Channel, client: httpx.Client, workspace: str
) -> None:
    still_serving(server, channel, client, workspace)


# -- invalid UTF-8, nesting, content types ---------------------------------------------------------------------------


def _with_bad_utf8_name() -> bytes:
    """A trace export whose span name (a proto3 `string`) is not UTF-8: protobuf's encoder never writes that."""
    request = traces(
        span("PLACEHOLDER", trace_id=new_id(16), parent=new_id(8), error=True, exceptions=[{"exception.type": "E"}]),
        resource={"workspace.id": "utf8"},
    )
    raw = request.SerializeToString()
    assert raw.count(b"PLACEHOLDER") == 1
    return raw.replace(b"PLACEHOLDER", b"\xff\xfe\xc3(\xa0\xa1\xed\xa0\x80")  # invalid sequences, same length


def test_invalid_utf8_in_a_protobuf_string_field_is_refused(
    server: RunningServer, channel: grpc.Channel, client: httpx.Client
) -> None:
    payload = _with_bad_utf8_name()
    code, detail = grpc_call(channel, TRACE_METHOD, payload)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "malformed OTLP traces protobuf" in str(detail)
    response = client.post(f"{server.otlp_http}/v1/traces", content=payload, headers=PROTOBUF)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "\xff\xfe"}]}]}]}',
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "\\ud800"}]}]}]}',  # a lone surrogate escape
        b'\xef\xbb\xbf{"resourceSpans": []}\xff',
    ],
)
def test_invalid_utf8_in_json_is_400(server: RunningServer, client: httpx.Client, body: bytes) -> None:
    response = client.post(f"{server.otlp_http}/v1/traces", content=body, headers=JSON)
    assert response.status_code == 400 and "malformed OTLP traces JSON" in response.json()["message"]


def test_http_json_nested_10000_levels_is_400_not_500(
    server: RunningServer, client: httpx.Client, channel: grpc.Channel, workspace: str
) -> None:
    """Found by this test: json.loads raised RecursionError, which the receiver did not catch (a 500)."""
    for body in (
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b'{"resourceSpans":' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    ):
        for path in ("/v1/traces", "/v1/logs"):
            response = client.post(f"{server.otlp_http}{path}", content=body, headers=JSON)
            assert response.status_code == 400, response.text[:300]
            assert "malformed" in response.json()["message"]
    still_serving(server, channel, client, workspace)


def _nested_any_value(levels: int, scope_spans: bytes = b"") -> bytes:
    """A resource attribute whose value is an array nested `levels` deep, encoded by hand (no recursion); then
    `scope_spans` (a serialized ScopeSpans), if any."""
    value = b""  # an empty AnyValue
    for _ in range(levels):
        array = b"\x0a" + varint(len(value)) + value  # ArrayValue.values (1) = value
        value = b"\x2a" + varint(len(array)) + array  # AnyValue.array_value (5)
    kv = b"\x0a\x01a" + b"\x12" + varint(len(value)) + value  # KeyValue.key, .value
    resource = b"\x0a" + varint(len(kv)) + kv  # Resource.attributes (1)
    resource_spans = b"\x0a" + varint(len(resource)) + resource  # ResourceSpans.resource (1)
    if scope_spans:
        resource_spans += b"\x12" + varint(len(scope_spans)) + scope_spans  # ResourceSpans.scope_spans (2)
    return b"\x0a" + varint(len(resource_spans)) + resource_spans  # ExportTraceServiceRequest.resource_spans


def test_protobuf_nested_10000_levels_is_not_followed(
    server: RunningServer, channel: grpc.Channel, client: httpx.Client
) -> None:
    """protobuf's parser refuses nesting past 100 levels; the trace receivers read the bytes themselves and never
    descend past the 4 levels the processor converts (`_otlp.MAX_NESTING`), so such an attribute costs what its
    bytes cost and the export's exceptions are kept."""
    failing = traces(span(trace_id=new_id(16), parent=new_id(8), exceptions=[{"exception.type": "DeepError"}]))
    scope_spans = failing.resource_spans[0].scope_spans[0].SerializeToString()
    payload = _nested_any_value(10_000, scope_spans)
    with pytest.raises(DecodeError):
        ExportTraceServiceRequest.FromString(payload)
    batch = Processor().process_traces(None, wire=payload)
    assert [e.type for e in batch.events] == ["DeepError"]
    assert json.loads(batch.events[0].attributes_json) == {}  # span attributes only; the resource's "a" is not
    code, detail = grpc_call(channel, TRACE_METHOD, payload)
    assert code == grpc.StatusCode.OK, (code, detail)
    assert client.post(f"{server.otlp_http}/v1/traces", content=payload, headers=PROTOBUF).status_code == 200
    code, _ = grpc_call(channel, TRACE_METHOD, _nested_any_value(20))
    assert code == grpc.StatusCode.OK


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "",
        "application/protobuf",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "application/x-www-form-urlencoded",
        "*/*",
    ],
)
def test_wrong_content_types_are_415(server: RunningServer, client: httpx.Client, content_type: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post(f"{server.otlp_http}/v1/logs", content=b"{}", headers=headers)
    assert response.status_code == 415 and "unsupported content type" in response.text


def test_content_type_parameters_and_case_are_accepted(server: RunningServer, client: httpx.Client) -> None:
    for content_type in ("application/json; charset=utf-8", "Application/JSON"):
        response = client.post(f"{server.otlp_http}/v1/logs", content=b"{}", headers={"content-type": content_type})
        assert response.status_code == 200, response.text


# -- limits -----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_server(migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        migrated, tmp_path_factory.mktemp("small") / "server.log", {"OTEL_ERRORS_MAX_MESSAGE_BYTES": "65536"}
    )
    yield running
    stop_server(running)


def test_the_request_size_limit_is_configurable(small_server: RunningServer, workspace: str) -> None:
    big = traces(
        span(
            trace_id=new_id(16),
            parent=new_id(8),
            exceptions=[{"exception.type": "E", "exception.message": "x" * 70_000}],
        ),
        resource={"workspace.id": workspace},
    ).SerializeToString()
    response = httpx.post(f"{small_server.otlp_http}/v1/traces", content=big, headers=PROTOBUF, timeout=TIMEOUT)
    assert response.status_code == 413
    response = httpx.post(
        f"{small_server.otlp_http}/v1/traces",
        content=gzip.compress(big),
        headers={**PROTOBUF, "content-encoding": "gzip"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 413  # the limit applies after decompression
    with grpc.insecure_channel(small_server.otlp_grpc) as ch:
        code, _ = grpc_call(ch, TRACE_METHOD, big)
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
        code, _ = grpc_call(ch, TRACE_METHOD, error_request(workspace, "fits"))
        assert code == grpc.StatusCode.OK
    assert occurrences(small_server, workspace, 1) == 1


def test_huge_stack_trace_message_and_attributes_are_stored_truncated(
    server: RunningServer, channel: grpc.Channel, workspace: str
) -> None:
    frame = '  File "/srv/agent/app/tools.py", line 42, in run_tool\n    result = search(query)\n'
    stack = "Traceback (most recent call last):\n" + frame * (5 * 1024 * 1024 // len(frame)) + "ValueError: x\n"
    assert len(stack) > 5 * 1024 * 1024
    request = traces(
        span(
            trace_id=new_id(16),
            parent=new_id(8),
            error=True,
            attrs={"big.attr": "a" * 1_000_000},
            exceptions=[
                {
                    "exception.type": "ValueError",
                    "exception.message": "m" * 1_000_000,
                    "exception.stacktrace": stack,
                    "extra": "e" * 100_000,
                }
            ],
        ),
        resource={"workspace.id": workspace},
    )
    started = time.monotonic()
    code, detail = grpc_call(channel, TRACE_METHOD, request.SerializeToString())
    assert code == grpc.StatusCode.OK, (code, detail)
    assert time.monotonic() - started < 10
    assert occurrences(server, workspace, 1) == 1
    base = f"{server.api}/api/v1/workspaces/{workspace}/errors"
    (item,) = httpx.get(base, timeout=TIMEOUT).json()["items"]
    assert item["stackTrace"].endswith(TRUNCATION_MARKER) and len(item["stackTrace"]) <= 64 * 1024
    assert item["message"].endswith(TRUNCATION_MARKER) and len(item["message"]) <= 8 * 1024
    details = httpx.get(f"{base}/{item['errorId']}", timeout=TIMEOUT).json()
    assert details["samples"][0]["stackTrace"].endswith(TRUNCATION_MARKER)
    (occurrence,) = httpx.get(f"{base}/{item['errorId']}/occurrences", timeout=TIMEOUT).json()["items"]
    assert occurrence["attributes"]["big.attr"].endswith(TRUNCATION_MARKER)
    assert len(occurrence["attributes"]["big.attr"]) <= 1024
    assert occurrence["attributes"]["extra"].endswith(TRUNCATION_MARKER)


# -- absurd values: regressions -----------------------------------------------------------------------------------

U64 = 2**64 - 1


def test_absurd_span_timestamps_do_not_stop_ingest(
    server: RunningServer, channel: grpc.Channel, client: httpx.Client, workspace: str
) -> None:
    """Found by the processor fuzz test: an ERROR span ending at 2**64-1 ns reached the store unbounded; psycopg
    raised OverflowError, which killed the writer task; after two such requests (two writers) every export timed
    out as UNAVAILABLE until a restart. A record with no time inside the accepted window is refused in
    partial_success; one whose own time is absurd falls back on its span's start."""
    refused = 0
    for start, end in ((NOW, U64), (U64, U64), (0, 0), (2**63, 2**63 + 1)):
        for parent in (new_id(8), b""):  # a step span, and a root span (an execution)
            request = traces(
                span(
                    trace_id=new_id(16),
                    parent=parent,
                    error=True,
                    start=start,
                    end=end,
                    exceptions=[{"exception.type": "E", "exception.message": "t", "_time": U64}],
                ),
                resource={"workspace.id": workspace},
            )
            code, detail = grpc_call(channel, TRACE_METHOD, request.SerializeToString())
            assert code == grpc.StatusCode.OK and isinstance(detail, bytes), (code, detail)
            partial = ExportTraceServiceResponse.FromString(detail).partial_success
            refused += partial.rejected_spans
            assert partial.rejected_spans == 0 or "outside the accepted window" in partial.error_message
    assert refused == 6  # three of the four time pairs have no time inside the window, for both spans
    assert occurrences(server, workspace, 2) == 2
    still_serving(server, channel, client, f"{workspace}-after")


def test_out_of_range_status_code_and_severity_are_stored(
    server: RunningServer, channel: grpc.Channel, workspace: str
) -> None:
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.add(key="workspace.id", value=AnyValue(string_value=workspace))
    s = rs.scope_spans.add().spans.add(
        trace_id=new_id(16),
        span_id=new_id(8),
        parent_span_id=new_id(8),
        name="x",
        start_time_unix_nano=NOW - 10,
        end_time_unix_nano=NOW,
    )
    s.status.code = 99_999  # type: ignore[assignment]  # an open enum on the wire
    s.events.add(name="exception", time_unix_nano=NOW).attributes.add(
        key="exception.type", value=AnyValue(string_value="E")
    )
    assert grpc_call(channel, TRACE_METHOD, request.SerializeToString())[0] == grpc.StatusCode.OK
    record = logs({"exception.type": "E2", "_severity": 99_999})
    record.resource_logs[0].resource.attributes.add(key="workspace.id", value=AnyValue(string_value=workspace))
    assert grpc_call(channel, LOGS_METHOD, record.SerializeToString())[0] == grpc.StatusCode.OK
    assert occurrences(server, workspace, 2) == 2


def test_nul_in_error_fingerprint_and_error_type_attributes_is_stored(
    server: RunningServer, channel: grpc.Channel, workspace: str
) -> None:
    """Found by the processor fuzz test: the grouping explanation quoted `error.fingerprint` as it came, NUL and
    megabytes included; PostgreSQL's jsonb refused the NUL and the whole request was rejected."""
    request = traces(
        span(
            trace_id=new_id(16),
            parent=new_id(8),
            exceptions=[{"exception.type": "E", "error.fingerprint": "\x00" * 100 + "f" * 100_000}],
        ),
        span(trace_id=new_id(16), parent=new_id(8), error=True, attrs={"error.type": "Bad\x00Type"}),
        span(
            trace_id=new_id(16),
            parent=new_id(8),
            exceptions=[{"exception.type": "Error", "exception.stacktrace": PY_TRACE, "error.type": "x\x00y"}],
        ),
        resource={"workspace.id": workspace},
    )
    code, detail = grpc_call(channel, TRACE_METHOD, request.SerializeToString())
    assert code == grpc.StatusCode.OK, (code, detail)
    assert occurrences(server, workspace, 3) == 3


def test_partial_success_counts_rejected_log_records_over_http_json(
    server: RunningServer, client: httpx.Client
) -> None:
    document = {
        "resourceLogs": [
            {
                "resource": {"attributes": [{"key": "workspace.id", "value": {"stringValue": "not valid!"}}]},
                "scopeLogs": [
                    {
                        "logRecords": [
                            {"attributes": [{"key": "exception.type", "value": {"stringValue": "E"}}]},
                            {"attributes": [{"key": "exception.message", "value": {"stringValue": "m"}}]},
                            {"body": {"stringValue": "not an exception: not counted"}},
                        ]
                    }
                ],
            }
        ]
    }
    response = client.post(f"{server.otlp_http}/v1/logs", json=document)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedLogRecords"] == "2" and "workspace" in partial["errorMessage"]


# -- the store's own guard ------------------------------------------------------------------------------------------


def test_store_refuses_an_unencodable_batch_and_keeps_writing(migrated: str, workspace: str) -> None:
    """Defense in depth behind the processor's bounds: a value psycopg cannot encode fails that batch with a
    clear error (InvalidRequest), and the writer goes on committing the others."""
    from otel_errors.exporter import PostgresExporter, StoreConfig

    good = Processor().process_traces(
        traces(
            span(trace_id=new_id(16), parent=new_id(8), exceptions=[{"exception.type": "E"}]),
            resource={"workspace.id": workspace},
        ),
        None,
        NOW,
    )
    bad = Processor().process_traces(traces(span(trace_id=new_id(16), parent=new_id(8), error=True)), None, NOW)
    # Beyond int8: what the processor no longer emits.
    bad.error_spans[0] = dataclasses.replace(bad.error_spans[0], end_time_unix_nano=U64)

    async def run() -> None:
        store = PostgresExporter(StoreConfig(database_url=migrated, writers=1))
        await store.start()
        try:
            for _ in range(3):  # more than the writer count: a dead writer would hang the next write
                with pytest.raises(InvalidRequest, match="refused"):
                    await asyncio.wait_for(store.write(bad), TIMEOUT)
            results = await asyncio.wait_for(
                asyncio.gather(store.write(bad), store.write(good), return_exceptions=True), TIMEOUT
            )
            assert isinstance(results[0], InvalidRequest) and results[1] is None
        finally:
            await store.shutdown()

    asyncio.run(run())


def test_server_log_has_no_unhandled_errors(server: RunningServer) -> None:
    """Last in the module: nothing above left a traceback (a 500, a dead task) in the server's log."""
    log = server.log()
    assert "Traceback" not in log and "exception was never retrieved" not in log, log[-3000:]
