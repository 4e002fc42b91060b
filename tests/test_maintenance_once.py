"""Upkeep runs once per cluster: three processes sharing one database, started together, run it once per interval."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import psycopg

INTERVAL = 60.0
RUNNER = """
import asyncio, json, os, sys
from otel_errors.exporter import StoreConfig
from otel_errors.exporter.maintenance import Maintenance

sys.stdin.readline()  # the start signal: all three are ready, so they contend
config = StoreConfig(database_url=sys.argv[1], maintenance_interval_seconds=float(sys.argv[2]))
dropped = asyncio.run(Maintenance(config).run_once())
print(json.dumps({"pid": os.getpid(), "ran": dropped is not None}))
"""


def _three_at_once(url: str) -> list[dict[str, object]]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", RUNNER, url, str(INTERVAL)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for process in processes:  # go
        assert process.stdin is not None
        process.stdin.write("\n")
        process.stdin.flush()
    outputs = [process.communicate(timeout=60)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    return [json.loads(output) for output in outputs]


def _last_run(url: str) -> tuple[object, ...] | None:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT runner, last_finished IS NOT NULL FROM maintenance_runs WHERE task = 'retention'"
        ).fetchone()


def test_three_processes_run_the_upkeep_once_per_interval(migrated: str) -> None:
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute("DELETE FROM maintenance_runs")

    first = _three_at_once(migrated)
    ran = [r for r in first if r["ran"]]
    assert len(ran) == 1, first
    runner, finished = _last_run(migrated) or (None, False)
    assert str(runner).endswith(f":{ran[0]['pid']}") and finished is True

    # Within the interval nobody runs it again, whoever asks.
    assert [r["ran"] for r in _three_at_once(migrated)] == [False, False, False]

    # An interval later, once more by exactly one of them.
    with psycopg.connect(migrated, autocommit=True) as conn:
        # The new time computed here: Citus refuses a time-zone dependent expression on a column in an UPDATE.
        row = conn.execute("SELECT task, last_started FROM maintenance_runs").fetchone()
        assert row is not None
        conn.execute(
            "UPDATE maintenance_runs SET last_started = %s WHERE task = %s",
            (row[1] - dt.timedelta(seconds=INTERVAL), row[0]),
        )
    assert sum(bool(r["ran"]) for r in _three_at_once(migrated)) == 1


def test_a_process_holding_the_lock_makes_the_others_skip_without_waiting(migrated: str) -> None:
    with psycopg.connect(migrated, autocommit=True) as holder:
        holder.execute("DELETE FROM maintenance_runs")
        from otel_errors.exporter import maintenance

        holder.execute("SELECT pg_advisory_lock(%s)", (maintenance._LOCK_KEY,))  # a run in progress elsewhere
        assert [r["ran"] for r in _three_at_once(migrated)] == [False, False, False]
        assert _last_run(migrated) is None  # and nothing claimed it behind the running one's back
        holder.execute("SELECT pg_advisory_unlock(%s)", (maintenance._LOCK_KEY,))
    assert sum(bool(r["ran"]) for r in _three_at_once(migrated)) == 1
