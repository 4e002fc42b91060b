"""Chain linker cost: CPU per trace linked, in this process and in its PostgreSQL backend, by batch size.

Not a test: it measures and prints. It takes a database a benchmark kept (`bench/ingest.py --keep-db`, or
`bench/load.py`'s), queues every trace that has error spans again (`chain_pending`, as commits do), and drains the
queue with `ChainLinker.link_pending` at each `--batches` size, several rounds each, alternating. Relinking a trace
replaces what it held, so every round does the same work. CPU is read from the kernel: this process's own
(`time.process_time`: dumping parameters, reading rows, linking) and its backend's (`/proc/<pid>/stat`, so the
database must run on this machine).

    .venv/bin/python bench/linker.py --database-url postgresql://postgres@127.0.0.1:5432/bench_xxxxxxxx
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path
from typing import Any

import psycopg

from otel_errors.exporter.chains import ChainLinker
from otel_errors.exporter.config import StoreConfig

REQUEUE = """
INSERT INTO chain_pending (workspace_id, trace_id, first_at, last_at)
SELECT workspace_id, trace_id, min(started_at), max(started_at) FROM error_spans
WHERE (%(limit)s::int IS NULL OR trace_id IN (SELECT DISTINCT trace_id FROM error_spans ORDER BY 1 LIMIT %(limit)s))
GROUP BY 1, 2
ON CONFLICT DO NOTHING
"""


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drain(url: str, batch: int, limit: int | None) -> tuple[int, int, float, float, float]:
    """Queue the traces and link them all in batches of `batch`: (traces, batches, client s, backend s, wall s)."""
    linker = ChainLinker(StoreConfig(database_url=url), batch_traces=batch)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True, options="-c timezone=UTC") as conn:
        await conn.execute("DELETE FROM chain_pending")
        await conn.execute(REQUEUE, {"limit": limit})
        row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
        assert row is not None
        pid = int(row[0])
        traces = batches = 0
        cpu0, db0, wall0 = time.process_time(), backend_cpu(pid), time.perf_counter()
        while n := await linker.link_pending(conn):
            traces += n
            batches += 1
        return traces, batches, time.process_time() - cpu0, backend_cpu(pid) - db0, time.perf_counter() - wall0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a database a benchmark kept")
    parser.add_argument("--batches", default="20,100,500", help="batch sizes (traces per link_pending)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--traces", type=int, default=None, help="relink only this many traces (default: all)")
    args = parser.parse_args(argv)
    sizes = [int(b) for b in args.batches.split(",")]
    found: dict[int, list[tuple[int, int, float, float, float]]] = {b: [] for b in sizes}
    for _round in range(args.rounds):
        for b in sizes:
            found[b].append(asyncio.run(drain(args.database_url, b, args.traces)))
    header = ("batch", "traces", "batches", "client µs/trace", "backend µs/trace", "wall µs/trace")
    print("{:>6} {:>8} {:>8} {:>16} {:>17} {:>14}".format(*header))
    for b, runs in found.items():
        traces, batches = runs[0][0], runs[0][1]

        def med(i: int, runs: list[Any] = runs) -> float:
            return statistics.median(r[i] / r[0] * 1e6 for r in runs)

        print(f"{b:>6} {traces:>8,} {batches:>8,} {med(2):>16,.0f} {med(3):>17,.0f} {med(4):>14,.0f}")
    print(f"medians of {args.rounds} rounds, sizes alternating; CPU from the kernel (client: this process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
