#!/usr/bin/env python
"""Dashboard query benchmark: p50/p95 of every API read endpoint, per timeframe, on the database load.py filled.

Not a test: it measures and prints. It starts `python -m otel_errors.cli.main serve` on free loopback ports
against `--database-url` (or uses `--api-url` of a running server), picks errors to look at (the hottest, one
of middling frequency and the newest), warms every request up, then times each `--runs` times, one request at a
time, with httpx, and prints: endpoint x timeframe -> p50, p95, max (ms); rows whose p95 is over `--budget-ms`
(300) are marked.

Which query parameters an endpoint takes is read from the server's OpenAPI document, so the same script times
what exists today and what is added later (`sort`, `timeframe`, the `error-tracking` object, ...): cases whose
endpoint or parameter the server does not have are listed as "n/a".

    .venv/bin/python bench/query.py --database-url postgresql://postgres@127.0.0.1:5432/otel_errors_bench \\
        --workspace bench10m --runs 20
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/otel_errors_bench"
TIMEFRAMES = ("1h", "24h", "7d", "30d")
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Case:
    name: str  # what the row is called
    path: str  # relative to /api/v1/workspaces/{ws}
    params: dict[str, str] = field(default_factory=dict)
    timeframe: str = "-"
    times_ms: list[float] = field(default_factory=list)
    status: int = 0
    note: str = ""
    size: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(database_url: str, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    ports = {"--grpc-port": free_port(), "--http-port": free_port(), "--api-port": free_port()}
    env = dict(os.environ, OTEL_ERRORS_DATABASE_URL=database_url, OTEL_ERRORS_LOG_LEVEL="warning")
    cmd = [sys.executable, "-m", "otel_errors.cli.main", "serve", "--host", "127.0.0.1"]
    for flag, port in ports.items():
        cmd += [flag, str(port)]
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{ports['--api-port']}"
    deadline = time.monotonic() + 600  # start-up applies pending migrations (index builds on a big database)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}; see {log_path}")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"the server did not become healthy in time; see {log_path}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def pick_errors(database_url: str, workspace: str) -> dict[str, str]:
    """The hottest error, one at rank ~100 (middling) and the one first seen last (a post-deploy newcomer)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        hot = conn.execute(
            "SELECT error_id FROM errors WHERE workspace_id = %s ORDER BY occurrences DESC LIMIT 1", (workspace,)
        ).fetchone()
        if hot is None:
            raise SystemExit(f"workspace {workspace!r} has no errors in this database; run bench/load.py first")
        mid = (
            conn.execute(
                "SELECT error_id FROM errors WHERE workspace_id = %s ORDER BY occurrences DESC OFFSET 100 LIMIT 1",
                (workspace,),
            ).fetchone()
            or hot
        )
        new = (
            conn.execute(
                "SELECT error_id FROM errors WHERE workspace_id = %s ORDER BY first_seen DESC LIMIT 1", (workspace,)
            ).fetchone()
            or hot
        )
        occ = conn.execute("SELECT count(*) FROM error_occurrences WHERE workspace_id = %s", (workspace,)).fetchone()
    print(f"workspace {workspace}: {occ[0] if occ else 0:,} occurrences stored", flush=True)
    return {"hot": str(hot[0]), "mid": str(mid[0]), "new": str(new[0])}


def openapi_params(base: str) -> dict[str, set[str]]:
    """path template (relative to the workspace) -> query parameter names, from the server's OpenAPI."""
    doc = httpx.get(base + "/openapi.json", timeout=30).json()
    prefix = "/api/v1/workspaces/{workspace_id}"
    out: dict[str, set[str]] = {}
    for path, ops in doc.get("paths", {}).items():
        if not path.startswith(prefix) or "get" not in ops:
            continue
        rel = path[len(prefix) :] or "/"
        out[rel] = {p["name"] for p in ops["get"].get("parameters", []) if p.get("in") == "query"}
    return out


def build_cases(ids: dict[str, str], params: dict[str, set[str]]) -> list[Case]:
    cases: list[Case] = []
    errors_q = params.get("/errors", set())
    tf_on_list = "timeframe" in errors_q

    def listing(name: str, extra: dict[str, str]) -> None:
        if tf_on_list:
            for tf in TIMEFRAMES:
                cases.append(Case(name, "/errors", {**extra, "timeframe": tf}, tf))
        else:
            cases.append(Case(name, "/errors", dict(extra)))

    listing("errors (default)", {})
    listing("errors severity=critical", {"severity": "critical"})
    listing("errors status=new severity=high", {"status": "new", "severity": "high"})
    for flt, value in (
        ("agentId", "agent-03"),
        ("userId", "user-00042"),
        ("environment", "staging"),
        ("category", "timeout"),
        ("q", "timeout"),
    ):
        case_params = {flt: value}
        if flt in errors_q:
            listing(f"errors {flt}={value}", case_params)
        else:
            cases.append(Case(f"errors {flt}={value}", "/errors", case_params, note="n/a"))
    if "sort" in errors_q:
        listing("errors sort=occurrences", {"sort": "occurrences"})
    else:
        cases.append(Case("errors sort=occurrences", "/errors", {"sort": "occurrences"}, note="n/a"))
    cases.append(Case("errors page 2 (cursor)", "/errors", {"limit": "50", "_page": "2"}))
    for kind in ("hot", "mid", "new"):
        cases.append(Case(f"errors/{{id}} ({kind})", f"/errors/{ids[kind]}"))
    for kind in ("hot", "mid"):
        cases.append(Case(f"errors/{{id}}/occurrences ({kind})", f"/errors/{ids[kind]}/occurrences"))
    cases.append(Case("errors/{id}/occurrences page 2 (hot)", f"/errors/{ids['hot']}/occurrences", {"_page": "2"}))
    tracking = params.get("/error-tracking")
    for tf in TIMEFRAMES:
        if tracking is None:
            cases.append(Case("error-tracking", "/error-tracking", {"timeframe": tf}, tf, note="n/a"))
        else:
            cases.append(Case("error-tracking", "/error-tracking", {"timeframe": tf}, tf))
    for tf in TIMEFRAMES:
        if tracking is not None and "severity" in tracking:
            cases.append(
                Case(
                    "error-tracking severity=critical", "/error-tracking", {"timeframe": tf, "severity": "critical"}, tf
                )
            )
    # Any other GET endpoint of the workspace the server has (alerts, ...), timed with its defaults.
    known = {"/errors", "/errors/{error_id}", "/errors/{error_id}/occurrences", "/error-tracking"}
    for rel, names in sorted(params.items()):
        if rel in known or "{" in rel:
            continue
        if "timeframe" in names:
            for tf in TIMEFRAMES:
                cases.append(Case(rel.lstrip("/"), rel, {"timeframe": tf}, tf))
        else:
            cases.append(Case(rel.lstrip("/"), rel))
    return cases


def resolve_pages(client: httpx.Client, prefix: str, case: Case) -> None:
    """`_page=2`: replace with the cursor of the first page."""
    if case.params.pop("_page", None) is None:
        return
    first = client.get(prefix + case.path, params=case.params)
    cursor = first.json().get("nextCursor") if first.status_code == 200 else None
    if cursor:
        case.params["cursor"] = cursor
    else:
        case.note = "n/a (one page)"


def run(args: argparse.Namespace) -> list[Case]:
    ids = pick_errors(args.database_url, args.workspace)
    proc = None
    base = args.api_url
    if base is None:
        proc, base = start_server(args.database_url, Path(args.server_log))
    try:
        params = openapi_params(base)
        cases = build_cases(ids, params)
        prefix = f"{base}/api/v1/workspaces/{args.workspace}"
        with httpx.Client(timeout=120) as client:
            for case in cases:
                if case.note:
                    continue
                resolve_pages(client, prefix, case)
            # Warm-up: every case a few times (connection pool, plan caches, the OS page cache).
            for _ in range(args.warmup):
                for case in cases:
                    if not case.note:
                        client.get(prefix + case.path, params=case.params)
            # Measured: round-robin over the cases, so a background hiccup does not land on one case only.
            for _ in range(args.runs):
                for case in cases:
                    if case.note:
                        continue
                    t0 = time.perf_counter()
                    r = client.get(prefix + case.path, params=case.params)
                    case.times_ms.append((time.perf_counter() - t0) * 1000)
                    case.status = r.status_code
                    case.size = len(r.content)
                    if r.status_code != 200 and not case.note:
                        case.note = f"HTTP {r.status_code}: {r.text[:120]}"
    finally:
        if proc is not None:
            stop_server(proc)
    return cases


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def print_table(cases: list[Case], budget: float) -> None:
    width = max(len(c.name) for c in cases)
    print(f"\n{'endpoint':<{width}}  {'tf':>4}  {'p50 ms':>8}  {'p95 ms':>8}  {'max ms':>8}  {'KB':>6}  note")
    print("-" * (width + 52))
    over = 0
    for c in cases:
        if not c.times_ms:
            print(f"{c.name:<{width}}  {c.timeframe:>4}  {'':>8}  {'':>8}  {'':>8}  {'':>6}  {c.note}")
            continue
        p50, p95, mx = pct(c.times_ms, 50), pct(c.times_ms, 95), max(c.times_ms)
        flag = f"  > {budget:g} ms" if p95 > budget else ""
        over += p95 > budget
        print(
            f"{c.name:<{width}}  {c.timeframe:>4}  {p50:8.1f}  {p95:8.1f}  {mx:8.1f}  {c.size / 1024:6.0f}  "
            f"{c.note}{flag}"
        )
    timed = sum(1 for c in cases if c.times_ms)
    print(f"\n{timed} cases timed, {over} with p95 over {budget:g} ms")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--database-url",
        default=os.environ.get("OTEL_ERRORS_BENCH_DATABASE_URL", DEFAULT_URL),
        help="the database load.py filled",
    )
    p.add_argument("--workspace", default="bench10m")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--budget-ms", type=float, default=300.0)
    p.add_argument("--api-url", help="time a running server instead of starting one (http://127.0.0.1:8000)")
    p.add_argument("--server-log", default="/tmp/otel-errors-bench-query-server.log")
    p.add_argument("--json", help="also write the raw timings here")
    args = p.parse_args(argv)
    started = time.monotonic()
    cases = run(args)
    print_table(cases, args.budget_ms)
    print(f"({time.monotonic() - started:.0f}s)")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [
                    {
                        "endpoint": c.name,
                        "path": c.path,
                        "params": c.params,
                        "timeframe": c.timeframe,
                        "p50_ms": pct(c.times_ms, 50) if c.times_ms else None,
                        "p95_ms": pct(c.times_ms, 95) if c.times_ms else None,
                        "times_ms": c.times_ms,
                        "note": c.note,
                    }
                    for c in cases
                ],
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
