#!/usr/bin/env python
"""Alert delay under load, and what alerting costs ingest (issue 17, item 7). Measures and prints; not a test.

For each of two phases, `OTEL_ERRORS_ALERTS=false` then `true`, on a scratch database (dropped at the end):

1. starts `otel-errors serve` and measures ingest capacity for `--probe-seconds` (closed loop, the agent-shaped
   OTLP/gRPC payloads of bench/ingest.py, 5% of spans with an exception; the load's workspace has the default
   rules, so every commit is evaluated);
2. with alerts on: drives the server at `--load` of that capacity (open loop, bench/soak.py's generator) for
   `--seconds`, and meanwhile sends one probe every `1 / --probes-per-second` s: an OTLP/HTTP request carrying a
   never-seen error in workspace `probe`, which has a webhook to a local HTTP receiver and a stream open. For each
   probe: the delay from its acknowledgment to the alert stored (`alerts.first_fired_at`, the database clock: the
   same machine), to its `alert.fired` event read from the stream, and to the webhook's arrival.

    .venv/bin/python bench/alerts.py --seconds 60
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest
import soak
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

PROBE_WORKSPACE = "probe"


def probe_request(n: int) -> bytes:
    now = time.time_ns()
    span = Span(
        trace_id=os.urandom(16),
        span_id=os.urandom(8),
        name="invoke_agent probe",
        start_time_unix_nano=now - 1_000_000,
        end_time_unix_nano=now,
        status=Status(code=Status.STATUS_CODE_ERROR),
        events=[
            Span.Event(
                name="exception",
                time_unix_nano=now,
                attributes=[
                    KeyValue(key="exception.type", value=AnyValue(string_value=f"Probe{n}Error")),
                    KeyValue(key="exception.message", value=AnyValue(string_value="probe")),
                ],
            )
        ],
    )
    resource = [KeyValue(key="workspace.id", value=AnyValue(string_value=PROBE_WORKSPACE))]
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])], resource={"attributes": resource})]
    )
    return request.SerializeToString()


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                at = time.time()
                title = json.loads(body)["alert"]["title"]
                receiver.arrived.setdefault(title, at)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_a: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


class StreamReader(threading.Thread):
    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.arrived = url, {}
        self.ready = threading.Event()

    def run(self) -> None:
        with urllib.request.urlopen(self.url, timeout=600) as response:
            self.ready.set()
            kind = ""
            for raw in response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "alert.fired":
                    self.arrived.setdefault(json.loads(line[6:])["title"], time.time())


def ms(values: list[float], q: float) -> str:
    return f"{1000 * soak.pct(values, q):.0f}" if values else "n/a"


def phase(args: argparse.Namespace, templates: list[ingest.Template], alerts_on: bool) -> dict[str, Any]:
    os.environ["OTEL_ERRORS_ALERTS"] = "true" if alerts_on else "false"
    os.environ["OTEL_ERRORS_ALERT_ALLOW_PRIVATE_WEBHOOKS"] = "true"
    workdir = Path(tempfile.mkdtemp(prefix="otel-errors-alerts-"))
    db_name, db_url = ingest.create_database(args.database_url)
    server = ingest.Server(db_url, 1, workdir)
    out: dict[str, Any] = {}
    try:
        server.wait_ready()
        counts, _lat, _errors = soak.drive(
            server.target, templates, args.clients, 0, args.probe_seconds, args.max_in_flight, closed_loop=True
        )
        out["spans_per_s"] = counts["spans"] / args.probe_seconds
        if not alerts_on:
            return out
        api = f"http://127.0.0.1:{server.api_port}/api/v1/workspaces/{PROBE_WORKSPACE}"
        receiver = Receiver()
        request = urllib.request.Request(
            f"{api}/alert-destinations",
            data=json.dumps({"url": receiver.url}).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).read()
        reader = StreamReader(f"{api}/stream")
        reader.start()
        reader.ready.wait(10)
        rate = args.load * counts["code:OK"] / args.probe_seconds
        load = threading.Thread(
            target=soak.drive,
            args=(server.target, templates, args.clients, rate, args.seconds, args.max_in_flight, False),
            daemon=True,
        )
        load.start()
        time.sleep(6)  # the load's processes start
        acks: dict[str, float] = {}
        n = 0
        end = time.monotonic() + args.seconds - 2
        while time.monotonic() < end:
            t0 = time.monotonic()
            body = probe_request(n)
            post = urllib.request.Request(
                f"http://127.0.0.1:{server.http_port}/v1/traces",
                data=body,
                headers={"Content-Type": "application/x-protobuf"},
            )
            urllib.request.urlopen(post, timeout=30).read()
            acks[f"New error: Probe{n}Error: probe"] = time.time()
            n += 1
            time.sleep(max(0.0, 1 / args.probes_per_second - (time.monotonic() - t0)))
        load.join(args.seconds + 60)
        time.sleep(3)
        with psycopg.connect(db_url) as conn:
            stored = dict(
                conn.execute(
                    "SELECT title, extract(epoch FROM first_fired_at) FROM alerts WHERE workspace_id = %s",
                    (PROBE_WORKSPACE,),
                ).fetchall()
            )
        out["probes"] = len(acks)
        out["stored"] = [float(stored[t]) - at for t, at in acks.items() if t in stored]
        out["streamed"] = [reader.arrived[t] - at for t, at in acks.items() if t in reader.arrived]
        out["webhook"] = [receiver.arrived[t] - at for t, at in acks.items() if t in receiver.arrived]
        out["load_rate"] = rate * args.spans_per_request
        return out
    finally:
        server.stop()
        ingest.drop_database(args.database_url, db_name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("OTEL_ERRORS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--probe-seconds", type=float, default=20, help="capacity measurement window")
    parser.add_argument("--load", type=float, default=0.7, help="share of the capacity offered during probes")
    parser.add_argument("--probes-per-second", type=float, default=2)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--max-in-flight", type=int, default=32)
    parser.add_argument("--spans-per-request", type=int, default=256)
    args = parser.parse_args(argv)
    templates = ingest.build_templates(32, args.spans_per_request, 0.05)
    without = phase(args, templates, alerts_on=False)
    with_rules = phase(args, templates, alerts_on=True)
    change = 100 * (with_rules["spans_per_s"] / without["spans_per_s"] - 1)
    print(
        f"capacity: {without['spans_per_s']:,.0f} spans/s without alerts, {with_rules['spans_per_s']:,.0f} with "
        f"the default rules ({change:+.1f}%)"
    )
    print(f"probes: {with_rules['probes']} new errors under {with_rules['load_rate']:,.0f} spans/s of load")
    for name in ("stored", "streamed", "webhook"):
        values = with_rules[name]
        print(
            f"  ack -> {name:>8}: {len(values)} of {with_rules['probes']}, p50 {ms(values, 0.5)} ms, "
            f"p95 {ms(values, 0.95)} ms, p99 {ms(values, 0.99)} ms, max {ms(values, 1.0)} ms"
            + (f", mean {1000 * statistics.fmean(values):.0f} ms" if values else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
