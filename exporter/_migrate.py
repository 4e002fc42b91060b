"""Versioned schema migrations, applied at start-up; safe when several processes start at once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from . import citus

# Any fixed number: all otel-errors processes serialize migrations (and partition DDL) on it.
MIGRATION_LOCK = 0x6F74_6572_7273_01
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    found = []
    for entry in resources.files("otel_errors.exporter").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


async def migrate(conn: psycopg.AsyncConnection[object]) -> list[int]:
    """Apply pending migrations in one transaction under an advisory lock, then place new tables on Citus when
    the database has it (exporter/citus.sql); returns the versions applied."""
    applied_now = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in await cur.fetchall()}  # type: ignore[index]
        for migration in migrations():
            if migration.version in done:
                continue
            await conn.execute(migration.sql.encode())
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (migration.version, migration.name)
            )
            applied_now.append(migration.version)
        if await citus.has_citus(conn):
            await citus.distribute(conn)  # new tables join their shards before anything writes to them
    return applied_now
