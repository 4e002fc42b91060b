"""The chain and recovery reads of `GET .../error-tracking`, timed apart from the rest, per timeframe.

Not a test: it measures and prints. On a database `bench/load.py` filled (with its cascades and recovery
episodes, linked), it runs the reads the error-tracking object makes for `correlations.errorChains` (the chains
of the window and the errors they name) and for `recovery` (recovery-time buckets, failed recoveries, manual
resolution times) exactly as the API does, one at a time on one connection, `--runs` times per timeframe after
`--warmup`, and prints p50, p95 and max in milliseconds with what they returned. The whole object, with its
other sections, is timed by `bench/query.py`.

    .venv/bin/python bench/chain_reads.py --database-url postgresql://postgres@127.0.0.1:5432/otel_errors_bench \
        --workspace bench10m --runs 20
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

from otel_errors import analytics
from otel_errors.api.queries import chains as chain_queries
from otel_errors.api.tracking import _recovery
from otel_errors.api.tracking._correlations import CHAINS_LISTED

TIMEFRAMES: tuple[analytics.TimeframeLabel, ...] = ("1h", "24h", "7d", "30d")


async def _chains(conn: Any, workspace: str, since: dt.datetime) -> str:
    chains = await chain_queries.chains_in_window(conn, workspace, since=since, limit=CHAINS_LISTED)
    involved = sorted({e for c in chains for e in (c.root_error_id, *c.cascade_error_ids)})
    await chain_queries.briefs(conn, workspace, error_ids=involved)
    return f"{len(chains)} chains, {len(involved)} errors"


async def _recovery_reads(conn: Any, workspace: str, since: dt.datetime) -> str:
    reads = await _recovery.read(conn, workspace, since=since)
    episodes = sum(b.episodes for b in reads.buckets)
    return f"{episodes:,} episodes, {len(reads.failed)} failed listed, {len(reads.manual_seconds)} manual"


async def _time(
    read: Callable[[Any, str, dt.datetime], Awaitable[str]], conn: Any, workspace: str, since: dt.datetime, runs: int
) -> tuple[list[float], str]:
    times, found = [], ""
    for _ in range(runs):
        started = time.perf_counter()
        found = await read(conn, workspace, since)
        times.append((time.perf_counter() - started) * 1000.0)
    return times, found


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


async def run(url: str, workspace: str, runs: int, warmup: int) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True, options="-c timezone=UTC") as conn:
        now = dt.datetime.now(dt.UTC)
        print(f"{'part':<9} {'timeframe':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  returned")
        for name, read in (("chains", _chains), ("recovery", _recovery_reads)):
            for timeframe in TIMEFRAMES:
                since = analytics.window(timeframe, now).start
                await _time(read, conn, workspace, since, warmup)
                times, found = await _time(read, conn, workspace, since, runs)
                print(
                    f"{name:<9} {timeframe:>9} {statistics.median(times):>8.1f} {_p95(times):>8.1f}"
                    f" {max(times):>8.1f}  {found}"
                )
        print(f"{runs} runs each after {warmup} warm-up runs, one at a time on one connection")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="the database load.py filled")
    parser.add_argument("--workspace", default="bench10m")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args(argv)
    asyncio.run(run(args.database_url, args.workspace, args.runs, args.warmup))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
