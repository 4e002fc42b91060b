#!/usr/bin/env python
"""Hostile input against the real server: does `/healthz` stay fast while it ingests and serves it?

Starts `otel-errors serve` (authentication on) on an embedded PostgreSQL in a scratch directory, or on a scratch
database of `--database-url`. A separate process times `GET /healthz` every ~10 ms for the whole run. Meanwhile
this process sends OTLP/HTTP protobuf exports whose every field a regular expression reads is hostile - span
names, status messages (`Type: message`), exception types, messages (8 KiB), stack traces (64 KiB) and
attribute keys and values (up to 20 KB: `"token" * 4000`, the issue's example) - from `--senders` concurrent
connections, and a viewer (whose stack traces the API parses again, limited to in-app frames) reads the errors
they made. Not a test: it measures and prints

  * p50/p95/p99/max of /healthz latency (the event loop's stall), against the goal p99 < 100 ms;
  * the same of the hostile exports (acknowledged = processed and committed) and of the viewer's reads;
  * the errors stored, as a check that the hostile requests were accepted, not rejected.

    .venv/bin/python bench/hostile.py                      # ~30 s on the embedded PostgreSQL
    .venv/bin/python bench/hostile.py --seconds 60 --senders 8 --database-url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import Server, create_database, drop_database, start_profile, summarize_profile
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

WORKSPACE = "hostile"
TRACE = 64 * 1024  # the processor's stack trace limit
MESSAGE = 8 * 1024  # its message limit


def _fit(unit: str, size: int) -> str:
    return unit * max(1, size // len(unit))


def hostile_texts(size: int) -> list[str]:
    """Texts that made patterns backtrack before they were rewritten (tests/test_regex_linear_time.py finds more)."""
    return [
        _fit("token", size),  # secret_kv read the word again from each occurrence of the term
        "#1 0x1 in a" + " " * (size - 20) + "b c(",  # the native sanitizer frame parser tried every split
        _fit("#1 0x1 in a" + " " * 500 + "b c(\n", size),
        _fit("at (" * 3 + "[as ", size),  # V8 and .NET frames
        "at " + _fit("(", size - 3),
        _fit("-----BEGIN PRIVATE KEY-----!", size),  # a private key block read to the end from each header
        _fit(":: ", size),  # one plausibility check per IPv6 candidate
        _fit("a-", size) + "://x",  # message parametrization: url scheme and email local part
        _fit("-_", size) + "@x.io",
        _fit("1.", size) + "x",  # versions, IPv4
        _fit("/a", size) + "-1.2.3.4.5" * 8 + "@",  # path segments
        _fit("password", size) + "=x",
        _fit('\\"xx:', size),
        _fit("libsystem_", size) + ".so",
        _fit("4111 1111 1111 1111 ", size),  # many card candidates
        _fit("DE89 3704 0044 0532 0130 00 ", size),
        _fit("+1 415 555 2671 ", size),
        _fit("AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY ", size),
    ]


def benign_texts(size: int) -> list[str]:
    """Ordinary texts of the same sizes, for the control run (`--benign`): a stack trace, prose, a JSON body."""
    trace = "".join(
        f'  File "/srv/agent/app/tools/step_{i % 40}.py", line {100 + i}, in run_step_{i % 40}\n'
        f"    result = handler(request, retries={i % 5})\n"
        for i in range(2000)
    )
    prose = "the tool call failed after the model asked for a search that returned no results " * 400
    body = '{"order": 1234, "status": "closed", "items": [1, 2, 3], "note": "ok"}, ' * 400
    return [_fit(trace, size)[:size], _fit(prose, size)[:size], _fit(body, size)[:size]]


def _value(text: str) -> AnyValue:
    return AnyValue(string_value=text)


def build_request(index: int, spans: int, *, benign: bool = False) -> ExportTraceServiceRequest:
    """One export of `spans` ERROR spans, each with an exception event, every field a pattern reads hostile (or,
    `benign`, ordinary text of the same size). Export `index` takes the texts in turn, each field at its own
    offset, so all texts reach all fields."""
    texts = benign_texts if benign else hostile_texts
    traces, messages, values = texts(TRACE), texts(MESSAGE), texts(20_000)
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(KeyValue(key="service.name", value=_value("hostile-agent")))
    scope = resource_spans.scope_spans.add()
    now = time.time_ns() - 60_000_000_000
    for i in range(spans):
        n = index * spans + i

        def pick(texts: list[str], offset: int, n: int = n) -> str:
            return texts[(n + offset) % len(texts)]

        message = pick(messages, 0)
        span = Span(
            name=pick(values, 1)[:1024],
            start_time_unix_nano=now - 2_000_000,
            end_time_unix_nano=now - 1_000_000,
        )
        span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="ValueError: " + pick(messages, 2)))
        for key, value in (
            ("note", pick(values, 3)),
            ("token", pick(values, 4)),
            (pick(values, 5)[:2048], "x"),  # a hostile key
            ("error.type", pick(values, 6)[:1024]),
        ):
            span.attributes.append(KeyValue(key=key, value=_value(value)))
        event = span.events.add()
        event.name = "exception"
        event.time_unix_nano = now - 1_500_000
        for key, value in (
            ("exception.type", pick(values, 7)[:256]),
            ("exception.message", f"{message} #{n}"),
            ("exception.stacktrace", f"ValueError: {message} #{n}\n" + pick(traces, 8)),
            ("exception.details", pick(values, 9)),
        ):
            event.attributes.append(KeyValue(key=key, value=_value(value)))
        scope.spans.append(span)
    return request


def serialized(request: ExportTraceServiceRequest) -> bytes:
    """The request with fresh trace and span ids: the server would drop a resent span as a retry."""
    trace_id = secrets.token_bytes(16)
    for span in request.resource_spans[0].scope_spans[0].spans:
        span.trace_id = trace_id
        span.span_id = secrets.token_bytes(8)
    return request.SerializeToString()


def _poll_healthz(url: str, interval: float, stop: Any, out: Any) -> None:
    """In its own process, so the load generator's work never delays a probe."""
    latencies: list[float] = []
    failures = 0
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                if client.get(url).status_code != 200:
                    failures += 1
            except httpx.HTTPError:
                failures += 1
            took = time.perf_counter() - started
            latencies.append(took)
            time.sleep(max(0.0, interval - took))
    out.send((latencies, failures))


def percentiles(values: list[float]) -> str:
    if not values:
        return "no data"
    ordered = sorted(values)

    def at(q: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return (
        f"n={len(values):6d}  p50 {at(0.50):8.1f} ms  p95 {at(0.95):8.1f} ms  p99 {at(0.99):8.1f} ms"
        f"  max {1000 * ordered[-1]:8.1f} ms"
    )


async def _send(
    client: httpx.AsyncClient,
    url: str,
    token: str,
    requests: list[ExportTraceServiceRequest],
    deadline: float,
    out: list[float],
) -> int:
    headers = {"content-type": "application/x-protobuf", "authorization": f"Bearer {token}"}
    rejected = 0
    n = 0
    while time.monotonic() < deadline:
        payload = serialized(requests[n % len(requests)])
        started = time.perf_counter()
        response = await client.post(url, content=payload, headers=headers)
        out.append(time.perf_counter() - started)
        rejected += response.status_code != 200
        n += 1
    return rejected


async def _read(client: httpx.AsyncClient, api: str, key: str, deadline: float, out: list[float]) -> None:
    """A viewer lists the errors and opens each: their stack traces are parsed again, in-app frames kept."""
    headers = {"authorization": f"Bearer {key}"}
    base = f"{api}/api/v1/workspaces/{WORKSPACE}/errors"
    while time.monotonic() < deadline:
        started = time.perf_counter()
        page = (await client.get(base, params={"limit": 20}, headers=headers)).json()
        out.append(time.perf_counter() - started)
        for item in page.get("items", [])[:5]:
            if time.monotonic() >= deadline:
                break
            started = time.perf_counter()
            await client.get(f"{base}/{item['errorId']}", headers=headers)
            out.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)


async def _credentials(url: str) -> tuple[str, str]:
    import psycopg

    from otel_errors.exporter import accounts
    from otel_errors.exporter._migrate import migrate

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await migrate(conn)
        await accounts.ensure_workspace(conn, WORKSPACE, "bench/hostile.py")
        token = await accounts.create_ingest_token(conn, WORKSPACE, name="bench", actor="bench")
        viewer = await accounts.create_api_key(conn, WORKSPACE, role="viewer", name="bench", actor="bench")
    return token.secret, viewer.secret


async def _errors_stored(url: str) -> int:
    import psycopg

    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT count(*), coalesce(sum(occurrences), 0) FROM errors WHERE workspace_id = %s", (WORKSPACE,)
        )
        row = await cur.fetchone()
    return int(row[1]) if row else 0


def run(url: str, workdir: Path, args: argparse.Namespace) -> None:
    token, viewer = asyncio.run(_credentials(url))
    os.environ["OTEL_ERRORS_AUTH"] = "true"
    server = Server(url, 1, workdir)
    try:
        server.wait_ready()
        requests = [build_request(i, args.spans, benign=args.benign) for i in range(args.payloads)]
        size = statistics.mean(len(serialized(r)) for r in requests) / 1e6
        print(
            f"{len(requests)} requests of {args.spans} spans, {size:.1f} MB each;"
            f" {args.senders} senders, {args.viewers} viewers,"
            f" /healthz every {args.interval * 1000:.0f} ms for {args.seconds:.0f} s"
        )
        stop = mp.Event()
        receive, send = mp.Pipe(duplex=False)
        poller = mp.Process(
            target=_poll_healthz, args=(f"http://127.0.0.1:{server.api_port}/healthz", args.interval, stop, send)
        )
        poller.start()
        time.sleep(1.0)  # a quiet baseline first
        profiler = start_profile(server.process.pid, args.seconds, args.profile) if args.profile else None
        sent: list[float] = []
        reads: list[float] = []

        async def load() -> int:
            deadline = time.monotonic() + args.seconds
            limits = httpx.Limits(max_connections=args.senders + 2)
            async with httpx.AsyncClient(timeout=120, limits=limits) as client:
                otlp = f"http://127.0.0.1:{server.http_port}/v1/traces"
                api = f"http://127.0.0.1:{server.api_port}"
                results = await asyncio.gather(
                    *(_send(client, otlp, token, requests, deadline, sent) for _ in range(args.senders)),
                    *(_read(client, api, viewer, deadline, reads) for _ in range(args.viewers)),
                )
            return sum(r for r in results if isinstance(r, int))

        rejected = asyncio.run(load())
        if profiler is not None:
            profiler.wait()
        time.sleep(1.0)
        stop.set()
        latencies, failures = receive.recv()
        poller.join()
        stored = asyncio.run(_errors_stored(url))
    finally:
        server.stop()
    print(f"/healthz          {percentiles(latencies)}  failed {failures}")
    print(f"{'benign' if args.benign else 'hostile'} exports   {percentiles(sent)}  rejected {rejected}")
    print(f"viewer reads      {percentiles(reads)}")
    print(f"occurrences stored: {stored} (of {len(sent) * args.spans} sent: each export's exceptions, fresh ids)")
    if args.profile and args.profile.exists():
        print(summarize_profile(args.profile, 25))
    p99 = sorted(latencies)[int(0.99 * (len(latencies) - 1))] if latencies else None
    verdict = "no data" if p99 is None else ("met" if p99 < 0.100 else "MISSED")
    print(f"goal /healthz p99 < 100 ms: {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the hostile load runs")
    parser.add_argument("--senders", type=int, default=4, help="concurrent OTLP/HTTP connections sending")
    parser.add_argument("--spans", type=int, default=4, help="ERROR spans (each with an exception) per export")
    parser.add_argument("--viewers", type=int, default=1, help="concurrent viewers reading the errors (0: none)")
    parser.add_argument(
        "--benign", action="store_true", help="control run: ordinary texts of the same sizes instead of hostile ones"
    )
    parser.add_argument("--payloads", type=int, default=16, help="distinct exports built before timing")
    parser.add_argument("--interval", type=float, default=0.010, help="seconds between /healthz probes")
    parser.add_argument("--profile", type=Path, help="record the server with py-spy into this file and summarize it")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("OTEL_ERRORS_BENCH_DATABASE_URL"),
        help="PostgreSQL server to use (a scratch database is created and dropped); default: an embedded one",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="otel-errors-hostile-") as tmp:
        workdir = Path(tmp)
        if args.database_url:
            name, url = create_database(args.database_url)
            try:
                run(url, workdir, args)
            finally:
                drop_database(args.database_url, name)
        else:
            from otel_errors.exporter.embedded import EmbeddedPostgres

            embedded = EmbeddedPostgres(workdir / "pg" / "data", delete_on_stop=True)
            try:
                run(embedded.start(), workdir, args)
            finally:
                embedded.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
