"""The write path with a retention's worth of daily partitions: its lookups plan only the days a commit can reach.

A lookup by a per-row time window (credits of failed executions, see `_write_sql`) cannot be pruned by the planner;
it planned every partition of `executions` and `error_occurrences`, 20 + 13 ms per commit with 95 of them. The
commit-wide bounds (`commit_windows`) make it prune; these tests check the plans and that no row changes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from otlp_builders import NOW, new_id, span, traces

from otel_errors import Processor
from otel_errors.exporter import PostgresExporter, StoreConfig
from otel_errors.exporter import _write_sql as q
from otel_errors.exporter._migrate import migrate
from otel_errors.exporter._partitions import Partitions
from otel_errors.exporter._rows import commit_windows

HISTORY_DAYS = 60
_SLACK = dt.timedelta(seconds=3)


@pytest.fixture
def long_history(database_url: str) -> Iterator[str]:
    """A scratch database migrated and holding HISTORY_DAYS past days of partitions (dropped afterwards)."""
    name = f"hist_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = psycopg.conninfo.make_conninfo(database_url, dbname=name)

    async def prepare() -> None:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            await migrate(conn)
            today = dt.datetime.now(dt.UTC).date()
            await Partitions().ensure(conn, [today - dt.timedelta(days=i) for i in range(HISTORY_DAYS)])

    try:
        asyncio.run(prepare())
        yield url
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _credit_traffic(workspace: str) -> list[Any]:
    """Batches that exercise both lookups: an error before its failed execution, and the reverse."""
    resource = {"workspace.id": workspace}
    processor = Processor()
    first, second = new_id(16), new_id(16)
    root = span("invoke_agent a", trace_id=first, error=True, attrs={"gen_ai.agent.id": "a", "credits.used": 5.0})
    tool = span("tool", trace_id=first, parent=root.span_id, error=True,
                exceptions=[{"exception.type": "ValueError", "exception.message": "late"}])
    root2 = span("invoke_agent a", trace_id=second, error=True, attrs={"gen_ai.agent.id": "a", "credits.used": 7.0})
    early = span("tool", trace_id=second, parent=root2.span_id, error=True,
                 exceptions=[{"exception.type": "ValueError", "exception.message": "late"}])
    return [processor.process_traces(traces(s, resource=resource), None, NOW) for s in (tool, root, root2, early)]


def _write(url: str, batches: list[Any]) -> None:
    async def run() -> None:
        store = PostgresExporter(StoreConfig(database_url=url))
        await store.start()
        for batch in batches:
            await store.write(batch)
        await store.shutdown()

    asyncio.run(run())


def _instant(time_ns: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=time_ns // 1000)


def test_commit_windows_hold_every_row_window() -> None:
    batches = _credit_traffic("ws")
    for_events, for_executions = commit_windows(batches)
    events = [_instant(e.time_unix_nano) for b in batches for e in b.events]
    starts = [_instant(x.start_time_unix_nano) for b in batches for x in b.executions]
    assert events and starts
    day, hour = dt.timedelta(days=1), dt.timedelta(hours=1)
    for t in events:  # the SQL's per-row windows, as _write_sql writes them
        assert for_events["executions_from"] < t - day and t + hour < for_events["executions_to"]
        assert for_events["occurrences_from"] < t - day and t + day < for_events["occurrences_to"]
    for t in starts:
        assert for_executions["occurrences_from"] < t - hour and t + day < for_executions["occurrences_to"]
    # Tight: the rows' own span and the windows' margins, no more.
    assert for_events["occurrences_to"] - for_events["occurrences_from"] < max(events) - min(events) + 2 * day + _SLACK


def test_credits_are_exact_with_a_long_history(long_history: str, workspace: str) -> None:
    _write(long_history, _credit_traffic(workspace))
    with psycopg.connect(long_history) as conn:
        row = conn.execute("SELECT sum(occurrences), sum(credits_lost), sum(executions_affected) FROM errors"
                           " WHERE workspace_id = %s AND type = 'ValueError'", (workspace,)).fetchone()
    assert row == (2, 12.0, 2)


def _planned_partitions(conn: psycopg.Connection[Any], statement: str, params: dict[str, Any]) -> dict[str, int]:
    plan = "\n".join(line for (line,) in conn.execute("EXPLAIN " + statement, params).fetchall())
    days: dict[str, set[str]] = {}
    for table, day in re.findall(r"\b(error_occurrences|executions|error_spans)_p(\d{8})\b", plan):
        days.setdefault(table, set()).add(day)
    return {table: len(found) for table, found in days.items()}


def test_lookups_plan_only_the_days_a_commit_reaches(long_history: str) -> None:
    for_events, for_executions = commit_windows(_credit_traffic("ws"))
    with psycopg.connect(long_history) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute(q.CREATE_STAGING.encode())  # type: ignore[arg-type]
        credits = _planned_partitions(conn, q.CREDITS_FROM_KNOWN_EXECUTIONS, for_events)
        executions = _planned_partitions(conn, q.INSERT_EXECUTIONS, for_executions)
        conn.rollback()
    # Yesterday, today and tomorrow at most, of HISTORY_DAYS + the days created ahead.
    assert 1 <= credits["executions"] <= 3 and 1 <= credits["error_occurrences"] <= 3, credits
    assert 1 <= executions["error_occurrences"] <= 3, executions


def test_occurrence_pages_plan_only_the_days_since_the_error_was_first_seen(long_history: str,
                                                                              workspace: str) -> None:
    from otel_errors.api.queries.errors import occurrences_query

    _write(long_history, _credit_traffic(workspace))
    with psycopg.connect(long_history) as conn:
        error_id, first_seen = conn.execute("SELECT error_id, first_seen FROM errors WHERE workspace_id = %s"
                                            " AND type = 'ValueError'", (workspace,)).fetchone()  # type: ignore[misc]
        since = occurrences_query(workspace, error_id, 50, None, True, first_seen).as_string(conn)
        unbounded = occurrences_query(workspace, error_id, 50, None, True, None).as_string(conn)
        assert _planned_partitions(conn, since, {})["error_occurrences"] <= 4  # today and the days created ahead
        assert _planned_partitions(conn, unbounded, {})["error_occurrences"] > HISTORY_DAYS
        # The same page either way: nothing is older than first_seen.
        assert conn.execute(since).fetchall() == conn.execute(unbounded).fetchall()
        assert len(conn.execute(since).fetchall()) == 2
