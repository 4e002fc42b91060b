"""Both OTLP receivers with hand-made and malformed requests: clear errors, and the server keeps serving."""

from __future__ import annotations

import gzip
import json
import time

import grpc
import httpx
import pytest
from conftest import RunningServer
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from otlp_builders import NOW, new_id, span, traces

TRACE_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
LOGS_METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"


def _raw_call(server: RunningServer, method: str, payload: bytes) -> bytes:
    with grpc.insecure_channel(server.otlp_grpc) as channel:
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        return call(payload, timeout=10)  # type: ignore[no-any-return]


def _error_request(workspace: str, message: str = "boom 1") -> bytes:
    return traces(
        span(
            trace_id=new_id(16),
            parent=new_id(8),
            error=True,
            exceptions=[{"exception.type": "RuntimeError", "exception.message": message}],
        ),
        resource={"service.name": "svc", "workspace.id": workspace},
    ).SerializeToString()


def _count(server: RunningServer, workspace: str, expected: int) -> int:
    deadline = time.monotonic() + 10
    total = 0
    while time.monotonic() < deadline:
        items = httpx.get(f"{server.api}/api/v1/workspaces/{workspace}/errors", timeout=5).json()["items"]
        total = sum(i["occurrences"] for i in items)
        if total >= expected:
            break
        time.sleep(0.1)
    return total


def test_grpc_malformed_protobuf_is_invalid_argument_and_server_keeps_serving(
    server: RunningServer, workspace: str
) -> None:
    for method in (TRACE_METHOD, LOGS_METHOD):
        with pytest.raises(grpc.RpcError) as info:
            _raw_call(server, method, b"\xff\xff\xff\xff not protobuf")
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "malformed OTLP" in (info.value.details() or "")
    response = ExportTraceServiceResponse.FromString(_raw_call(server, TRACE_METHOD, _error_request(workspace)))
    assert response.partial_success.rejected_spans == 0
    assert _count(server, workspace, 1) == 1


def test_invalid_utf8_in_one_span_does_not_cost_the_export_its_exceptions(
    server: RunningServer, workspace: str
) -> None:
    """opentelemetry-proto recommends U+FFFD for invalid UTF-8 rather than failing the batch (protobuf's parser
    refuses the whole export, and the SDK then drops every span of it). Once over gRPC, once over HTTP."""

    def payload() -> bytes:
        request = traces(
            span("plain", trace_id=new_id(16), parent=new_id(8), attrs={"note": "MARK-A"}),
            span(
                trace_id=new_id(16),
                parent=new_id(8),
                error=True,
                exceptions=[{"exception.type": "RuntimeError", "exception.message": "bad byte MARK-B"}],
            ),
            resource={"service.name": "svc", "workspace.id": workspace},
        )
        # Same lengths, so the framing stays intact.
        return request.SerializeToString().replace(b"MARK-A", b"MARK-\xff").replace(b"MARK-B", b"MARK-\xfe")

    answer = ExportTraceServiceResponse.FromString(_raw_call(server, TRACE_METHOD, payload()))
    assert answer.partial_success.rejected_spans == 0  # an OTLP warning: accepted, and told
    assert "1 string(s) with invalid UTF-8" in answer.partial_success.error_message
    response = httpx.post(
        f"{server.otlp_http}/v1/traces",
        content=payload(),
        headers={"content-type": "application/x-protobuf"},
        timeout=10,
    )
    assert response.status_code == 200
    assert "invalid UTF-8" in ExportTraceServiceResponse.FromString(response.content).partial_success.error_message
    assert _count(server, workspace, 2) == 2
    items = httpx.get(f"{server.api}/api/v1/workspaces/{workspace}/errors", timeout=5).json()["items"]
    assert [i["message"] for i in items] == ["bad byte MARK-\ufffd"]


def test_grpc_partial_success_counts_rejected_spans(server: RunningServer) -> None:
    request = traces(
        span(trace_id=new_id(16), parent=new_id(8), exceptions=[{"exception.type": "E"}]),
        resource={"workspace.id": "no spaces allowed"},
    )
    response = ExportTraceServiceResponse.FromString(_raw_call(server, TRACE_METHOD, request.SerializeToString()))
    assert response.partial_success.rejected_spans == 1
    assert "workspace" in response.partial_success.error_message


def test_grpc_empty_logs_request_is_accepted(server: RunningServer) -> None:
    ExportLogsServiceResponse.FromString(_raw_call(server, LOGS_METHOD, b""))


def test_http_protobuf_gzip_and_json(server: RunningServer, workspace: str) -> None:
    url = f"{server.otlp_http}/v1/traces"
    plain = httpx.post(
        url, content=_error_request(workspace, "boom 1"), headers={"content-type": "application/x-protobuf"}
    )
    assert plain.status_code == 200 and plain.headers["content-type"] == "application/x-protobuf"
    zipped = httpx.post(
        url,
        content=gzip.compress(_error_request(workspace, "boom 2")),
        headers={"content-type": "application/x-protobuf", "content-encoding": "gzip"},
    )
    assert zipped.status_code == 200
    trace_id, span_id = new_id(16), new_id(8)
    document = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "workspace.id", "value": {"stringValue": workspace}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": trace_id.hex(),
                                "spanId": span_id.hex(),
                                "parentSpanId": new_id(8).hex(),
                                "name": "tool",
                                "startTimeUnixNano": str(NOW - 10**9),
                                "endTimeUnixNano": str(NOW),
                                "status": {"code": 2},
                                "unknownFieldIsIgnored": True,
                                "events": [
                                    {
                                        "name": "exception",
                                        "timeUnixNano": str(NOW),
                                        "attributes": [
                                            {"key": "exception.type", "value": {"stringValue": "RuntimeError"}},
                                            {"key": "exception.message", "value": {"stringValue": "boom 3"}},
                                        ],
                                    }
                                ],
                            }
                        ]
                    }
                ],
            }
        ]
    }
    as_json = httpx.post(url, json=document)
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"] == "application/json"
    assert _count(server, workspace, 3) == 3
    occurrences = httpx.get(f"{server.api}/api/v1/workspaces/{workspace}/errors", timeout=5).json()["items"]
    assert len(occurrences) == 1  # "boom 1/2/3" is one bug


@pytest.mark.parametrize(
    "body,headers,status,needle",
    [
        (b"\x00garbage\xff", {"content-type": "application/x-protobuf"}, 400, "malformed OTLP traces protobuf"),
        (b"{not json", {"content-type": "application/json"}, 400, "malformed OTLP traces JSON"),
        (b"[1, 2]", {"content-type": "application/json"}, 400, "must be an object"),
        (
            json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}).encode(),
            {"content-type": "application/json"},
            400,
            "hex",
        ),
        (b"x", {"content-type": "text/plain"}, 415, "unsupported content type"),
        (b"not gzip", {"content-type": "application/x-protobuf", "content-encoding": "gzip"}, 400, "gzip"),
        (b"x", {"content-type": "application/x-protobuf", "content-encoding": "br"}, 400, "encoding"),
    ],
)
def test_http_bad_input_gets_a_clear_error(
    server: RunningServer, body: bytes, headers: dict[str, str], status: int, needle: str
) -> None:
    response = httpx.post(f"{server.otlp_http}/v1/traces", content=body, headers=headers)
    assert response.status_code == status
    assert needle in response.text


def test_http_routes_and_methods(server: RunningServer) -> None:
    assert (
        httpx.post(
            f"{server.otlp_http}/v1/metrics", content=b"", headers={"content-type": "application/x-protobuf"}
        ).status_code
        == 404
    )
    wrong_method = httpx.get(f"{server.otlp_http}/v1/logs")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    logs_ok = httpx.post(f"{server.otlp_http}/v1/logs", content=b"", headers={"content-type": "application/x-protobuf"})
    assert logs_ok.status_code == 200


def test_oversize_requests_are_refused(server: RunningServer) -> None:
    big = b"\x00" * (17 * 1024 * 1024)
    response = httpx.post(
        f"{server.otlp_http}/v1/traces", content=big, headers={"content-type": "application/x-protobuf"}
    )
    assert response.status_code == 413
    bomb = gzip.compress(b"\x00" * (40 * 1024 * 1024))
    response = httpx.post(
        f"{server.otlp_http}/v1/traces",
        content=bomb,
        headers={"content-type": "application/x-protobuf", "content-encoding": "gzip"},
    )
    assert response.status_code == 413
    with pytest.raises(grpc.RpcError) as info:
        _raw_call(server, TRACE_METHOD, big)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
