#!/usr/bin/env python
"""Soak test: a steady high OTLP/gRPC load on `otel-errors serve` for minutes while the API is queried.

Not a test: it measures and prints (issue 5, item 6). In order:

1. creates a scratch database (`soak_<random>`) on `--database-url` (dropped at the end) and starts
   `python -m otel_errors.cli.main serve` on free loopback ports;
2. unless `--rate` is given, measures capacity for `--probe-seconds` (closed loop, as many calls in flight as
   `bench/ingest.py` uses) and takes `--load` (70%) of it as the rate;
3. drives the server for `--minutes` at that steady rate (open loop: requests are sent on a fixed schedule, so a
   slow server sees the same offered load, not less) from `--clients` processes sending real
   `ExportTraceServiceRequest`s (the agent-shaped payloads of bench/ingest.py, fresh trace ids per send);
   every ack's latency is recorded, and every error response by gRPC code;
4. meanwhile a thread queries the API every second (error list, one error's details and occurrences,
   /error-tracking) and another samples the server's RSS every 5 s (psutil);
5. at the end prints throughput, ack latency p50/p95/p99, errors, API latency, the RSS series (first, last, max,
   slope in MB/min over the run and over its second half) and the count check: exception events acknowledged ==
   the sum of `occurrences` the API reports (polled until equal or `--count-timeout`).

    .venv/bin/python bench/soak.py --minutes 3
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing as mp
import os
import random
import secrets
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest

WORKSPACE = ingest.WORKSPACE


# -- load generator -------------------------------------------------------------------------------------------------


def _client(
    index: int,
    templates: list[ingest.Template],
    target: str,
    rate: float,
    max_in_flight: int,
    t_start: float,
    t_end: float,
    closed_loop: bool,
    results: Any,
) -> None:
    """One client process: `rate` requests/s on a fixed schedule (or closed loop) from t_start to t_end."""
    import grpc

    async def run() -> dict[str, Any]:
        options = [
            ("grpc.max_send_message_length", ingest.MAX_MESSAGE),
            ("grpc.max_receive_message_length", ingest.MAX_MESSAGE),
            ("grpc.use_local_subchannel_pool", 1),
        ]
        channel = grpc.aio.insecure_channel(target, options=options)
        await asyncio.wait_for(channel.channel_ready(), 30)
        call = channel.unary_unary(ingest.TRACE_EXPORT, request_serializer=None, response_deserializer=None)
        rng = random.Random(index)
        base = secrets.randbits(64)
        counts: collections.Counter[str] = collections.Counter()
        latencies: list[tuple[float, float]] = []  # (send time, seconds to ack)
        slots = asyncio.Semaphore(max_in_flight)
        seq = 0

        async def one() -> None:
            nonlocal seq
            template = templates[rng.randrange(len(templates))]
            seq += 1
            payload = ingest.render(template, (base + seq) & 0xFFFFFFFFFFFFFFFF)
            sent = time.time()
            t0 = time.perf_counter()
            try:
                await call(payload, timeout=60)
                outcome = "OK"
            except grpc.aio.AioRpcError as exc:
                outcome = exc.code().name
            finally:
                slots.release()
            counts["requests"] += 1
            counts[f"code:{outcome}"] += 1
            if outcome == "OK":
                latencies.append((sent, time.perf_counter() - t0))
                counts["spans"] += template.spans
                counts["exceptions"] += template.exceptions
            else:
                counts["failed_exceptions"] += template.exceptions

        await asyncio.sleep(max(0.0, t_start - time.time()))
        tasks: set[asyncio.Task[None]] = set()
        n = 0
        while True:
            now = time.time()
            if now >= t_end:
                break
            if not closed_loop:
                due = t_start + n / rate
                if due > now:
                    await asyncio.sleep(due - now)
                    continue
            if slots.locked():
                counts["client_saturated"] += 0 if closed_loop else 1
            await slots.acquire()
            n += 1
            task = asyncio.create_task(one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        await channel.close()
        return {"counts": dict(counts), "latencies": latencies}

    try:
        results.put((index, asyncio.run(run())))
    except BaseException as exc:  # noqa: BLE001 - report, never hang the parent
        results.put((index, {"error": repr(exc)}))


def drive(
    target: str,
    templates: list[ingest.Template],
    clients: int,
    rate: float,
    seconds: float,
    max_in_flight: int,
    closed_loop: bool,
) -> tuple[collections.Counter[str], list[tuple[float, float]], list[str]]:
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    t_start = time.time() + 5.0  # time for the processes to start and connect
    t_end = t_start + seconds
    procs = [
        ctx.Process(
            target=_client,
            args=(i, templates, target, rate / clients, max_in_flight, t_start, t_end, closed_loop, results),
            daemon=True,
        )
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    counts: collections.Counter[str] = collections.Counter()
    latencies: list[tuple[float, float]] = []
    errors: list[str] = []
    for _ in procs:
        _i, res = results.get(timeout=seconds + 180)
        if "error" in res:
            errors.append(res["error"])
            continue
        counts.update(res["counts"])
        latencies.extend(res["latencies"])
    for p in procs:
        p.join(timeout=10)
    return counts, latencies, errors


# -- observers ------------------------------------------------------------------------------------------------------


class ApiPoller(threading.Thread):
    """Queries the API every second the way a dashboard would; records latency and status per endpoint."""

    def __init__(self, api: str) -> None:
        super().__init__(daemon=True)
        self.api, self.stop = api, threading.Event()
        self.latencies: dict[str, list[float]] = collections.defaultdict(list)
        self.statuses: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)

    def _get(self, name: str, path: str) -> Any:
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(f"{self.api}{path}", timeout=30) as r:
                body, status = r.read(), r.status
        except urllib.error.HTTPError as exc:
            body, status = b"", exc.code
        except (urllib.error.URLError, OSError):
            body, status = b"", 0
        self.latencies[name].append(time.perf_counter() - t0)
        self.statuses[name][status] += 1
        return json.loads(body) if status == 200 and body else None

    def run(self) -> None:
        base = f"/api/v1/workspaces/{WORKSPACE}"
        while not self.stop.is_set():
            t0 = time.monotonic()
            page = self._get("list", f"{base}/errors?limit=50")
            items = (page or {}).get("items") or []
            if items:
                error_id = random.choice(items)["errorId"]
                self._get("details", f"{base}/errors/{error_id}")
                self._get("occurrences", f"{base}/errors/{error_id}/occurrences?limit=50")
            self._get("error-tracking", f"{base}/error-tracking?timeframe=1h")
            self.stop.wait(max(0.0, 1.0 - (time.monotonic() - t0)))


class RssSampler(threading.Thread):
    def __init__(self, pid: int, every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.stop = pid, every, threading.Event()
        self.samples: list[tuple[float, float]] = []  # (seconds since start, MB)

    def run(self) -> None:
        import psutil

        t0 = time.monotonic()
        while not self.stop.is_set():
            try:
                root = psutil.Process(self.pid)
                rss = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
                self.samples.append((time.monotonic() - t0, rss / 2**20))
            except psutil.Error:
                pass
            self.stop.wait(self.every)


def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    if len(samples) < 3:
        return float("nan")
    xs, ys = [s / 60 for s, _ in samples], [m for _, m in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else float("nan")


def api_occurrences(api: str) -> int:
    total, cursor = 0, None
    while True:
        url = f"{api}/api/v1/workspaces/{WORKSPACE}/errors?limit=200" + (f"&cursor={cursor}" if cursor else "")
        with urllib.request.urlopen(url, timeout=30) as r:
            page = json.loads(r.read())
        total += sum(item["occurrences"] for item in page["items"])
        cursor = page.get("nextCursor")
        if not cursor:
            return total


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- main -----------------------------------------------------------------------------------------------------------


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("OTEL_ERRORS_DATABASE_URL", ingest.DEFAULT_DATABASE_URL),
        help="PostgreSQL server; a scratch database is created on it and dropped after",
    )
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--rate", type=float, help="requests/s over all clients (default: --load x capacity)")
    parser.add_argument("--load", type=float, default=0.7, help="share of the measured capacity to offer")
    parser.add_argument("--probe-seconds", type=float, default=15, help="capacity measurement window")
    parser.add_argument("--clients", type=int, default=3, help="load-generator processes")
    parser.add_argument("--max-in-flight", type=int, default=32, help="calls in flight per client, at most")
    parser.add_argument("--workers", type=int, default=1, help="`serve --workers`")
    parser.add_argument("--payloads", type=int, default=32, help="distinct request templates")
    parser.add_argument("--spans-per-request", type=int, default=256)
    parser.add_argument("--error-rate", type=float, default=0.05, help="share of spans carrying an exception")
    parser.add_argument("--count-timeout", type=float, default=120, help="seconds to wait for the count check")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)

    # SIGTERM (timeout, kill) unwinds like Ctrl-C, so the server is stopped and the scratch database dropped.
    signal.signal(signal.SIGTERM, _interrupt)
    templates = ingest.build_templates(args.payloads, args.spans_per_request, args.error_rate)
    size = statistics.fmean(len(t.payload) for t in templates) / 1024
    print(
        f"payloads: {len(templates)} templates x {args.spans_per_request} spans ({size:.0f} KiB), "
        f"{statistics.fmean(t.exceptions for t in templates):.1f} exceptions each"
    )
    workdir = Path(tempfile.mkdtemp(prefix="otel-errors-soak-"))
    db_name, db_url = ingest.create_database(args.database_url)
    server = ingest.Server(db_url, args.workers, workdir)
    ok = True
    try:
        server.wait_ready()
        api = f"http://127.0.0.1:{server.api_port}"
        print(f"server: pid {server.process.pid}, {args.workers} worker(s), database {db_name}")
        rate = args.rate
        if rate is None:
            counts, _lat, errors = drive(
                server.target, templates, args.clients, 0, args.probe_seconds, args.max_in_flight, closed_loop=True
            )
            capacity = counts["code:OK"] / args.probe_seconds
            rate = max(1.0, args.load * capacity)
            print(
                f"capacity (closed loop, {args.probe_seconds:g}s): {capacity:.1f} req/s "
                f"({capacity * args.spans_per_request:,.0f} spans/s); soak rate {args.load:.0%}: {rate:.1f} req/s"
                + (f"; client errors {errors}" if errors else "")
            )
            probe_exceptions = counts["exceptions"]
        else:
            probe_exceptions = 0
        seconds = args.minutes * 60
        poller, sampler = ApiPoller(api), RssSampler(server.process.pid)
        poller.start()
        sampler.start()
        t0 = time.monotonic()
        counts, latencies, errors = drive(
            server.target, templates, args.clients, rate, seconds, args.max_in_flight, closed_loop=False
        )
        elapsed = time.monotonic() - t0 - 5.0
        poller.stop.set()
        sampler.stop.set()
        poller.join(5)
        sampler.join(10)

        acked = counts["exceptions"] + probe_exceptions
        deadline, stored = time.monotonic() + args.count_timeout, -1
        while time.monotonic() < deadline:
            stored = api_occurrences(api)
            if stored >= acked:
                break
            time.sleep(1)
        lat = [s for _sent, s in latencies]
        # Latency in the first and the last minute: a degrading server shows a rising tail.
        start_t = min((sent for sent, _ in latencies), default=0.0)
        first = [s for sent, s in latencies if sent - start_t < 60]
        last = [s for sent, s in latencies if sent - start_t >= seconds - 60]
        ok_requests = counts["code:OK"]
        failed = {k[5:]: v for k, v in counts.items() if k.startswith("code:") and k != "code:OK"}
        rss = sampler.samples
        half = [s for s in rss if s[0] >= rss[-1][0] / 2] if rss else []

        print()
        print(f"soak: {args.minutes:g} min at {rate:.1f} req/s offered from {args.clients} client processes")
        print(
            f"  throughput: {ok_requests / seconds:.1f} req/s acknowledged, "
            f"{counts['spans'] / seconds:,.0f} spans/s, {counts['exceptions'] / seconds:.1f} exceptions/s "
            f"({ok_requests} requests, {counts['spans']:,} spans, {counts['exceptions']:,} exception events)"
        )
        print(
            f"  ack latency: p50 {1000 * pct(lat, 0.5):.1f} ms, p95 {1000 * pct(lat, 0.95):.1f} ms, "
            f"p99 {1000 * pct(lat, 0.99):.1f} ms, max {1000 * max(lat, default=float('nan')):.1f} ms; "
            f"p95 first minute {1000 * pct(first, 0.95):.1f} ms, last minute {1000 * pct(last, 0.95):.1f} ms"
        )
        print(
            f"  error responses: {failed or 'none'}; client saturated (schedule behind): "
            f"{counts['client_saturated']}; client failures: {errors or 'none'}"
        )
        for name in ("list", "details", "occurrences", "error-tracking"):
            values = poller.latencies.get(name, [])
            print(
                f"  API {name:>14}: {len(values)} calls, p50 {1000 * pct(values, 0.5):.1f} ms, "
                f"p95 {1000 * pct(values, 0.95):.1f} ms, max {1000 * max(values, default=float('nan')):.1f} ms, "
                f"statuses {dict(poller.statuses.get(name, {}))}"
            )
        if rss:
            series = ", ".join(f"{m:.0f}" for _t, m in rss)
            print(
                f"  server RSS (MB, every 5 s): first {rss[0][1]:.1f}, last {rss[-1][1]:.1f}, "
                f"max {max(m for _t, m in rss):.1f}; slope {slope_mb_per_min(rss):+.2f} MB/min over the run, "
                f"{slope_mb_per_min(half):+.2f} MB/min over the second half"
            )
            print(f"    series: {series}")
        print(
            f"  count check: exception events acknowledged {acked:,} (incl. {probe_exceptions:,} of the capacity "
            f"probe), occurrences in the API {stored:,}: {'OK' if stored == acked else 'MISMATCH'}"
        )
        print(f"  elapsed {elapsed:.0f}s")
        ok = stored == acked and not errors and not failed and all(set(c) <= {200} for c in poller.statuses.values())
        hist = server.log()
        if "Traceback" in hist:
            print("  server log has tracebacks:\n" + hist[-3000:])
            ok = False
    finally:
        server.stop()
        if not args.keep_db:
            ingest.drop_database(args.database_url, db_name)
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
