"""Store upkeep: retention (whole daily partitions, rollup rows and alert history older than the window), partitions
ahead.

Every worker process runs a `Maintenance`, and several hosts may share one database: the upkeep still runs once
per interval per cluster. A run first takes the task's advisory lock (`pg_try_advisory_lock`; a process that does
not get it skips) and then checks the task's row in `maintenance_runs`: a run started less than an interval ago
by anyone means there is nothing to do. The lock is a session lock, so it is released however the run ends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
from typing import Any

import psycopg
from psycopg import sql

from otel_errors.errors import StoreUnavailable

from . import _chains_sql
from . import _write_sql as q
from ._partitions import Partitions
from .alerts.records import DELETE_OLD as DELETE_OLD_ALERTS
from .config import StoreConfig

log = logging.getLogger("otel_errors.exporter.maintenance")

# Rollup tables and their time column: rows older than the retention window are deleted.
_ROLLUPS = (
    ("error_hourly", "hour"),
    ("error_daily", "day"),
    ("workspace_hourly", "hour"),
    ("workspace_daily", "day"),
    ("execution_hourly", "hour"),
    ("execution_counts", "minute"),
)

TASK = "retention"
_LOCK_KEY = 0x6F65_6D61_696E  # "oemain": this task's advisory lock, one per cluster

# Times as parameters, not now(): Citus refuses a volatile function in ON CONFLICT DO UPDATE.
_CLAIM = """
INSERT INTO maintenance_runs AS m (task, last_started, runner) VALUES (%(task)s, %(now)s, %(runner)s)
ON CONFLICT (task) DO UPDATE SET last_started = EXCLUDED.last_started, last_finished = NULL, runner = %(runner)s
WHERE m.last_started < %(stale_before)s
RETURNING true
"""
_FINISHED = "UPDATE maintenance_runs SET last_finished = now() WHERE task = %(task)s AND runner = %(runner)s"


class Maintenance:
    """Runs `run_once` every `maintenance_interval_seconds` until stopped; start() and shutdown() are idempotent."""

    def __init__(self, config: StoreConfig, partitions: Partitions | None = None) -> None:
        if not config.database_url:
            raise ValueError("StoreConfig.database_url is required")
        self.config = config
        self._partitions = partitions or Partitions()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="otel-errors-maintenance")

    async def shutdown(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.maintenance_interval_seconds)
            try:
                dropped = await self.run_once()
                if dropped is None:
                    log.debug("maintenance ran elsewhere in the cluster")
                elif dropped:
                    log.info("retention dropped %s", ", ".join(dropped))
            except (psycopg.Error, OSError, StoreUnavailable) as exc:
                log.warning("maintenance skipped: %s", exc)

    async def run_once(self) -> list[str] | None:
        """Drop partitions older than the retention window and make the coming days'; returns dropped names, or
        None when another process is running it or ran it less than an interval ago."""
        async with await _connect(self.config) as conn:
            await conn.set_autocommit(True)
            locked = await (await conn.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_KEY,))).fetchone()
            if not (locked and locked[0]):
                return None
            # The database's clock, not this host's: one host running ahead must not make the others skip.
            row = await (await conn.execute("SELECT now()")).fetchone()
            now = row[0] if row else dt.datetime.now(dt.UTC)
            claim = {
                "task": TASK,
                "runner": f"{socket.gethostname()}:{os.getpid()}",
                "now": now,
                # A little under the interval: two processes' timers drift, and the next run must not be skipped.
                "stale_before": now - dt.timedelta(seconds=self.config.maintenance_interval_seconds * 0.9),
            }
            if await (await conn.execute(_CLAIM, claim)).fetchone() is None:
                return None
            await conn.set_autocommit(False)
            dropped = await self._run(conn)
            await conn.set_autocommit(True)
            await conn.execute(_FINISHED, claim)
            return dropped

    async def _run(self, conn: psycopg.AsyncConnection[Any]) -> list[str]:
        today = dt.datetime.now(dt.UTC).date()
        await self._partitions.ensure(
            conn, [today + dt.timedelta(days=i) for i in range(0, self.config.partitions_ahead_days + 1)]
        )
        cutoff = today - dt.timedelta(days=self.config.retention_days)
        # Compared with a value of the column's own type: date < timestamptz depends on the time zone (a STABLE
        # comparison), which Citus will not run on the shards beside a column.
        cutoff_at = dt.datetime.combine(cutoff, dt.time(), tzinfo=dt.UTC)
        async with conn.transaction():
            await conn.execute(q.DELETE_OLD_MINUTES)
            for table, column in _ROLLUPS:
                await conn.execute(
                    sql.SQL("DELETE FROM {} WHERE {} < %s").format(sql.Identifier(table), sql.Identifier(column)),
                    (cutoff if column == "day" else cutoff_at,),
                )
            for statement in (*_chains_sql.DELETE_OLD, *DELETE_OLD_ALERTS):
                await conn.execute(statement, {"cutoff": cutoff_at})
        return await self._partitions.drop_older_than(conn, cutoff)


async def _connect(config: StoreConfig) -> psycopg.AsyncConnection[Any]:
    try:
        conn = await psycopg.AsyncConnection.connect(
            config.database_url or "",
            connect_timeout=max(1, int(config.connect_timeout_seconds)),
            autocommit=True,
            options="-c timezone=UTC",
        )
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
    await conn.set_autocommit(False)
    return conn
