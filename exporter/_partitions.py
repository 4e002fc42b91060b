"""Daily partitions (UTC) of the time-series tables: created ahead and on demand, dropped for retention."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import psycopg
from psycopg import sql

from ._migrate import MIGRATION_LOCK

PARTITIONED_TABLES = ("error_occurrences", "executions", "error_spans", "recoveries")
DAY_NS = 86_400 * 1_000_000_000  # a UTC day in ns: a time's day number is time_ns // DAY_NS


def day_date(day_number: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=day_number)


def partition_name(table: str, day: dt.date) -> str:
    return f"{table}_p{day:%Y%m%d}"


class Partitions:
    """Remembers which days exist so the write path asks the database only for a new day."""

    def __init__(self) -> None:
        self._known: set[dt.date] = set()

    def missing(self, days: Iterable[dt.date]) -> set[dt.date]:
        return {d for d in days if d not in self._known}

    async def ensure(self, conn: psycopg.AsyncConnection[object], days: Iterable[dt.date]) -> None:
        todo = sorted(self.missing(days))
        if not todo:
            return
        async with conn.transaction():
            # Serialized with other processes: concurrent CREATE ... IF NOT EXISTS can still collide.
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            # Citus (docs/citus.md) attaches a table created in the same transaction only when its shards are
            # made over one connection per worker; in parallel its own connections deadlock. Plain PostgreSQL
            # keeps the setting as an unused placeholder.
            await conn.execute("SELECT set_config('citus.multi_shard_modify_mode', 'sequential', true)")
            names = [partition_name(table, day) for day in todo for table in PARTITIONED_TABLES]
            cur = await conn.execute(
                "SELECT n FROM unnest(%s::text[]) n WHERE to_regclass(quote_ident(n)) IS NOT NULL", (names,)
            )
            rows: list[tuple[str]] = await cur.fetchall()  # type: ignore[assignment]
            existing = {name for (name,) in rows}
            for day in todo:
                for table in PARTITIONED_TABLES:
                    name = partition_name(table, day)
                    if name not in existing:
                        await _create_partition(conn, table, name, day)
        self._known.update(todo)

    async def drop_older_than(self, conn: psycopg.AsyncConnection[object], cutoff: dt.date) -> list[str]:
        """Drop whole partitions that end on or before `cutoff` (retention); returns the names dropped."""
        dropped = []
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            for table in PARTITIONED_TABLES:
                cur = await conn.execute(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
                    (table,),
                )
                rows: list[tuple[str]] = await cur.fetchall()  # type: ignore[assignment]
                for (name,) in rows:
                    suffix = name.rsplit("_p", 1)[-1]
                    try:
                        day = dt.datetime.strptime(suffix, "%Y%m%d").date()
                    except ValueError:
                        continue
                    if day + dt.timedelta(days=1) <= cutoff:
                        await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(str(name))))
                        dropped.append(str(name))
                        self._known.discard(day)
        return dropped


async def _create_partition(conn: psycopg.AsyncConnection[object], table: str, name: str, day: dt.date) -> None:
    """Create the day's table apart, then attach it.

    `CREATE TABLE ... PARTITION OF` holds an ACCESS EXCLUSIVE lock on the parent until commit, which waits for
    every reader and deadlocks with a transaction that reads two partitioned tables in another order (the chain
    linker does). `ATTACH PARTITION` needs only SHARE UPDATE EXCLUSIVE, which readers and writers do not
    conflict with; the new table is empty, so its check of the bounds is instant.
    """
    await conn.execute(
        sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED)").format(
            sql.Identifier(name), sql.Identifier(table)
        )
    )
    await conn.execute(
        sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
            sql.Identifier(table),
            sql.Identifier(name),
            sql.Literal(f"{day.isoformat()} 00:00:00+00"),
            sql.Literal(f"{(day + dt.timedelta(days=1)).isoformat()} 00:00:00+00"),
        )
    )
