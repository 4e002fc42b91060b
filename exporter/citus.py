"""Citus: places every table (citus.sql) when the database has the extension; a no-op on plain PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg

# `SELECT create_reference_table('t');  -- why` or `SELECT create_distributed_table('t', 'col', ...);`
_STATEMENT = re.compile(
    r"^SELECT (?P<function>create_reference_table|create_distributed_table)\('(?P<table>[a-z_]+)'"
    r"(?:, '(?P<column>[a-z_]+)', colocate_with => '(?P<colocate>[a-z_]+)')?\);(?:\s+--\s*(?P<why>.+))?$"
)


@dataclass(frozen=True, slots=True)
class Placement:
    table: str
    reference: bool
    column: str | None  # the distribution column; None for a reference table
    colocate_with: str | None
    reason: str  # why a reference table is one ('' for a distributed table)
    statement: str


def placements() -> list[Placement]:
    """Every statement of citus.sql, in order; a line that is neither blank, a comment nor a statement is a bug."""
    text = resources.files("otel_errors.exporter").joinpath("citus.sql").read_text(encoding="utf-8")
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("--"):
            continue
        match = _STATEMENT.match(line)
        if match is None:
            raise ValueError(f"citus.sql line {number} is not a placement statement: {line!r}")
        reference = match["function"] == "create_reference_table"
        found.append(
            Placement(
                table=match["table"],
                reference=reference,
                column=match["column"],
                colocate_with=match["colocate"],
                reason=(match["why"] or "").strip(),
                statement=line.split("--", 1)[0].strip(),
            )
        )
    return found


async def has_citus(conn: psycopg.AsyncConnection[object]) -> bool:
    cur = await conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'")
    return await cur.fetchone() is not None


async def distribute(conn: psycopg.AsyncConnection[object]) -> list[str]:
    """Place the tables not yet in Citus's metadata (call inside the migrations' transaction); returns them."""
    cur = await conn.execute("SELECT logicalrelid::regclass::text FROM pg_dist_partition")
    rows: list[tuple[str]] = await cur.fetchall()  # type: ignore[assignment]
    placed = {name for (name,) in rows}
    # audit_log's append-only trigger only raises; Citus asks for this setting before it copies a trigger to
    # the shards, since a trigger that reads other tables would run on a worker without the distributed view.
    await conn.execute("SET LOCAL citus.enable_unsafe_triggers = on")
    done = []
    for placement in placements():
        if placement.table not in placed:
            await conn.execute(placement.statement.encode())
            done.append(placement.table)
    return done
