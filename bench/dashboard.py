#!/usr/bin/env python
"""Time-to-usable of the dashboard, measured in the browser (Debian's Chromium driven by Playwright).

Not a test: it measures and prints. It starts `otel-errors serve` on `--database-url` (or uses `--api-url` of a
running server), then loads `/workspaces/{ws}?timeframe=T` `--runs` times per timeframe, each in a fresh browser
context (an empty HTTP cache and sessionStorage, as a first visit), after `--warmup` loads. The page marks
`cards-shown` (overview cards rendered from `/error-tracking`), `list-shown` (the error list rendered from
`/errors`) and `usable` (both) with the Performance API; the figures are milliseconds since navigation start.
It prints p50/p95/max per timeframe, the slowest API request's share, and the server's CPU per page load when it
started the server.

    .venv/bin/python bench/dashboard.py --database-url postgresql://postgres@127.0.0.1:5432/otel_errors_bench \\
        --workspace bench10m --runs 10
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from query import start_server, stop_server

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READ_MARKS = """() => {
  const mark = (name) => performance.getEntriesByName(name)[0]?.startTime ?? null;
  const api = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/v1/'));
  const slowest = api.reduce((a, b) => (a && a.duration >= b.duration ? a : b), null);
  return {
    cards: mark('cards-shown'), list: mark('list-shown'), usable: mark('usable'),
    html: performance.getEntriesByType('navigation')[0].responseEnd,
    slowest: slowest ? [new URL(slowest.name).pathname.split('/').pop(), slowest.duration] : null,
  };
}"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def load_once(browser: Any, url: str, timeout_ms: float) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-usable='true']", timeout=timeout_ms)
        marks: dict[str, Any] = page.evaluate(READ_MARKS)
        return marks
    finally:
        context.close()


def run(args: argparse.Namespace) -> int:
    from playwright.sync_api import sync_playwright

    proc = None
    base = args.api_url
    if not base:
        proc, base = start_server(args.database_url, Path(args.server_log))
    server = psutil.Process(proc.pid) if proc else None
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=LAUNCH_ARGS, headless=True)
            print(f"dashboard time-to-usable, {base}/workspaces/{args.workspace}, {args.runs} runs per timeframe")
            print(
                f"{'timeframe':<10}{'usable p50':>12}{'p95':>9}{'max':>9}{'cards p50':>11}{'list p50':>10}"
                f"{'html p50':>10}  slowest API request (p50)        server CPU-s/page"
            )
            for timeframe in args.timeframes.split(","):
                url = f"{base}/workspaces/{args.workspace}?timeframe={timeframe}&refresh=3600"
                for _ in range(args.warmup):
                    load_once(browser, url, args.timeout_ms)
                cpu_before = sum(server.cpu_times()[:2]) if server else 0.0
                results = [load_once(browser, url, args.timeout_ms) for _ in range(args.runs)]
                cpu = (sum(server.cpu_times()[:2]) - cpu_before) / args.runs if server else None
                usable = [r["usable"] for r in results]
                slowest = [r["slowest"] for r in results if r["slowest"]]
                name = statistics.mode(s[0] for s in slowest) if slowest else "-"
                slow_ms = statistics.median(s[1] for s in slowest) if slowest else float("nan")
                print(
                    f"{timeframe:<10}{statistics.median(usable):>10.0f}ms{pct(usable, 0.95):>7.0f}ms"
                    f"{max(usable):>7.0f}ms{statistics.median(r['cards'] for r in results):>9.0f}ms"
                    f"{statistics.median(r['list'] for r in results):>8.0f}ms"
                    f"{statistics.median(r['html'] for r in results):>8.0f}ms"
                    f"  {name:<22}{slow_ms:>7.0f}ms      " + (f"{cpu:.3f}" if cpu is not None else "n/a")
                )
                sys.stdout.flush()
            browser.close()
    finally:
        if proc:
            stop_server(proc)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/otel_errors_bench")
    p.add_argument("--api-url", help="measure a running server instead of starting one (http://127.0.0.1:8000)")
    p.add_argument("--workspace", default="bench10m")
    p.add_argument("--timeframes", default="24h,1h,7d,30d")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--timeout-ms", type=float, default=30_000)
    p.add_argument("--chromium", default=CHROMIUM)
    p.add_argument("--server-log", default=str(Path(tempfile.gettempdir()) / "otel-errors-bench-dashboard.log"))
    args = p.parse_args(argv)
    started = time.monotonic()
    code = run(args)
    print(f"done in {time.monotonic() - started:.0f} s")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
