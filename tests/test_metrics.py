"""GET /metrics: self-telemetry in the Prometheus text format, from one worker and summed over several."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from conftest import RunningServer, start_server, stop_server
from otlp_builders import NOW, PY_TRACE, logs, new_id, span, traces
from prometheus_client.parser import text_string_to_metric_families


def _samples(server: RunningServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{server.api}/metrics", timeout=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _post(server: RunningServer, path: str, body: bytes) -> None:
    response = httpx.post(
        f"{server.otlp_http}{path}", content=body, headers={"content-type": "application/x-protobuf"}, timeout=10
    )
    assert response.status_code == 200, response.text


def test_metrics_count_what_the_worker_did(server: RunningServer, workspace: str) -> None:
    before = _samples(server)
    tid = new_id(16)
    exc = {"exception.type": "ValueError", "exception.message": "m", "exception.stacktrace": PY_TRACE}
    outer = span("step", trace_id=tid, parent=new_id(8), error=True, start=NOW - 9_000_000_000, exceptions=[dict(exc)])
    inner = span("tool", trace_id=tid, parent=outer.span_id, error=True, exceptions=[dict(exc)])
    plain = span("chat", trace_id=tid, parent=outer.span_id)
    bad_ids = span("odd", trace_id=b"x" * 3, parent=new_id(8), error=True)
    _post(
        server,
        "/v1/traces",
        traces(outer, inner, plain, bad_ids, resource={"workspace.id": workspace}).SerializeToString(),
    )
    _post(
        server,
        "/v1/logs",
        logs(
            {"exception.type": "KeyError"}, {"body": "no exception"}, resource={"workspace.id": workspace}
        ).SerializeToString(),
    )
    refused = httpx.post(
        f"{server.otlp_http}/v1/traces", content=b"\xff\xff", headers={"content-type": "application/x-protobuf"}
    )
    assert refused.status_code == 400
    after = _samples(server)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("otel_errors_received_total", signal="traces") == 4
    assert delta("otel_errors_received_total", signal="logs") == 2
    assert delta("otel_errors_exceptions_extracted_total", signal="traces") == 1
    assert delta("otel_errors_exceptions_extracted_total", signal="logs") == 1
    assert delta("otel_errors_propagation_copies_dropped_total") == 1
    assert delta("otel_errors_items_rejected_total", reason="invalid_ids") == 1
    assert delta("otel_errors_export_requests_total", signal="traces", outcome="ok") == 1
    assert delta("otel_errors_export_requests_total", signal="traces", outcome="InvalidRequest") == 1
    assert delta("otel_errors_batches_committed_total") == 2
    assert delta("otel_errors_commit_duration_seconds_count") >= 1
    for gauge in ("queue_items", "queue_bytes", "inflight_request_bytes", "trace_memory_bytes", "trace_memory_traces"):
        assert (f"otel_errors_{gauge}", ()) in after, gauge
    assert after[("otel_errors_trace_memory_traces", ())] >= 1


def test_metrics_of_several_workers_are_summed(migrated: str, tmp_path: Path, workspace: str) -> None:
    server = start_server(migrated, tmp_path / "workers.log", {"OTEL_ERRORS_WORKERS": "2"})
    try:
        requests = 24
        for _ in range(requests):  # a new connection each: SO_REUSEPORT spreads them over both workers
            with httpx.Client() as client:
                body = traces(
                    span(trace_id=new_id(16), parent=new_id(8), exceptions=[{"exception.type": "E"}]),
                    resource={"workspace.id": workspace},
                ).SerializeToString()
                response = client.post(
                    f"{server.otlp_http}/v1/traces", content=body, headers={"content-type": "application/x-protobuf"}
                )
                assert response.status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            samples = _samples(server)
            total = samples.get(("otel_errors_export_requests_total", (("outcome", "ok"), ("signal", "traces"))), 0)
            if total == requests:
                break
            time.sleep(0.2)
        assert total == requests  # whichever worker answered the scrape, it counted both
    finally:
        assert stop_server(server) == 0
