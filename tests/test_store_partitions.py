"""The write path's lookups into daily partitions: they plan only the days a commit can reach, and probe by trace
whatever the statistics say.

A lookup by a per-row time window (credits of failed executions, see `_write_sql`) cannot be pruned by the planner;
it planned every partition of `executions` and `error_occurrences`, 20 + 13 ms per commit with 95 of them. The
commit-wide bounds (`commit_windows`) make it prune; these tests check the plans and that no row changes. With a
day's statistics older than its rows, the same lookups read the whole day (see the last test).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
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
from otel_errors.exporter._partitions import Partitions, partition_name
from otel_errors.exporter._rows import KnownTexts, commit_windows, stage

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
    tool = span(
        "tool",
        trace_id=first,
        parent=root.span_id,
        error=True,
        exceptions=[{"exception.type": "ValueError", "exception.message": "late"}],
    )
    root2 = span("invoke_agent a", trace_id=second, error=True, attrs={"gen_ai.agent.id": "a", "credits.used": 7.0})
    early = span(
        "tool",
        trace_id=second,
        parent=root2.span_id,
        error=True,
        exceptions=[{"exception.type": "ValueError", "exception.message": "late"}],
    )
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
    for_events, for_executions = commit_windows([stage(b, KnownTexts()) for b in batches])
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
        row = conn.execute(
            "SELECT sum(occurrences), sum(credits_lost), sum(executions_affected) FROM errors"
            " WHERE workspace_id = %s AND type = 'ValueError'",
            (workspace,),
        ).fetchone()
    assert row == (2, 12.0, 2)


def _planned_partitions(conn: psycopg.Connection[Any], statement: str, params: dict[str, Any]) -> dict[str, int]:
    plan = "\n".join(line for (line,) in conn.execute("EXPLAIN " + statement, params).fetchall())
    days: dict[str, set[str]] = {}
    for table, day in re.findall(r"\b(error_occurrences|executions|error_spans)_p(\d{8})\b", plan):
        days.setdefault(table, set()).add(day)
    return {table: len(found) for table, found in days.items()}


def test_lookups_plan_only_the_days_a_commit_reaches(long_history: str) -> None:
    for_events, for_executions = commit_windows([stage(b, KnownTexts()) for b in _credit_traffic("ws")])
    with psycopg.connect(long_history) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute(q.CREATE_STAGING.encode())  # type: ignore[arg-type]
        credits = _planned_partitions(conn, q.CREDITS_FROM_KNOWN_EXECUTIONS, for_events)
        executions = _planned_partitions(conn, q.INSERT_EXECUTIONS, for_executions)
        conn.rollback()
    # Yesterday, today and tomorrow at most, of HISTORY_DAYS + the days created ahead.
    assert 1 <= credits["executions"] <= 3 and 1 <= credits["error_occurrences"] <= 3, credits
    assert 1 <= executions["error_occurrences"] <= 3, executions


def test_occurrence_pages_plan_only_the_days_since_the_error_was_first_seen(long_history: str, workspace: str) -> None:
    from otel_errors.api.queries.errors import occurrences_query

    _write(long_history, _credit_traffic(workspace))
    with psycopg.connect(long_history) as conn:
        error_id, first_seen = conn.execute(
            "SELECT error_id, first_seen FROM errors WHERE workspace_id = %s AND type = 'ValueError'", (workspace,)
        ).fetchone()  # type: ignore[misc]
        page = {"limit": 50, "after": None, "with_stacktrace": True}
        since = occurrences_query(workspace, error_id, **page, since=first_seen).as_string(conn)
        unbounded = occurrences_query(workspace, error_id, **page, since=None).as_string(conn)
        assert _planned_partitions(conn, since, {})["error_occurrences"] <= 4  # today and the days created ahead
        assert _planned_partitions(conn, unbounded, {})["error_occurrences"] > HISTORY_DAYS
        # The same page either way: nothing is older than first_seen.
        assert conn.execute(since).fetchall() == conn.execute(unbounded).fetchall()
        assert len(conn.execute(since).fetchall()) == 2


# -- stale statistics ---------------------------------------------------------------------------------------------
# A day's partition fills faster than autovacuum re-analyzes it: its histogram of times ends before its newest rows,
# so the planner takes a window over those rows for nearly empty and may pick a plan that reads all of them (a
# merge join over the day's occurrences: 60-120 ms per commit in bench/ingest.py, growing through the day). The
# credit lookups must probe by trace whatever the statistics say.

_BULK = 20_000
_MATCHES = 12


def _rows_read_at_most(plan: dict[str, Any], table: str) -> int:
    """At most this many rows were read from `table`'s partitions by the executed plan (EXPLAIN prints rows per
    loop rounded down, so each loop counts one more)."""
    own = 0
    if str(plan.get("Relation Name", "")).startswith(f"{table}_p"):
        own = (int(plan["Actual Rows"]) + 1) * int(plan["Actual Loops"])
    return own + sum(_rows_read_at_most(child, table) for child in plan.get("Plans", []))


def _explain_analyze(conn: psycopg.Connection[Any], statement: str, params: dict[str, Any]) -> dict[str, Any]:
    (doc,) = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params).fetchone()  # type: ignore[misc]
    return doc[0]["Plan"]  # type: ignore[no-any-return]


def _stale_day(conn: psycopg.Connection[Any], day: dt.date, noon: dt.datetime) -> list[bytes]:
    """Today's partitions analyzed with morning rows only, then _BULK rows near noon; returns noon's trace ids."""
    for table in ("error_occurrences", "executions"):
        conn.execute(f"ALTER TABLE {partition_name(table, day)} SET (autovacuum_enabled = false)")
    occurrences = """
        INSERT INTO error_occurrences (workspace_id, occurred_at, occurrence_id, error_id, trace_id, span_id,
            parent_span_id, span_name, origin, severity, handled, user_id, agent_id, environment, version, message,
            stack_hash, credits, attributes)
        SELECT 'ws', %(at)s - i * interval '50 milliseconds', gen_random_uuid(), %(error)s,
               decode(md5(%(seed)s || i), 'hex'), '\\x01', '', 'tool', 0, 3, false, 'u', 'a', '', '', 'm', '', 0, '{}'
        FROM generate_series(1, %(n)s) i"""
    executions = """
        INSERT INTO executions (workspace_id, started_at, trace_id, span_id, ended_at, failed, agent_id, agent_name,
            user_id, environment, credits)
        SELECT 'ws', %(at)s - i * interval '50 milliseconds', decode(md5(%(seed)s || i), 'hex'), '\\x02', NULL,
               i %% 4 = 0, 'a', 'a', 'u', '', 1
        FROM generate_series(1, %(n)s) i"""
    error = uuid.uuid4()
    morning = noon - dt.timedelta(hours=5)
    for statement in (occurrences, executions):
        conn.execute(statement, {"at": morning, "error": error, "seed": "morning", "n": 500})
    conn.execute(f"ANALYZE {partition_name('error_occurrences', day)}, {partition_name('executions', day)}")
    for statement in (occurrences, executions):
        conn.execute(statement, {"at": noon, "error": error, "seed": "noon", "n": _BULK})
    conn.commit()
    return [bytes.fromhex(hashlib.md5(f"noon{i}".encode()).hexdigest()) for i in range(1, _BULK + 1)]


def test_credit_lookups_probe_by_trace_when_statistics_are_stale(long_history: str) -> None:
    today = dt.datetime.now(dt.UTC).date()
    noon = dt.datetime.combine(today, dt.time(12), dt.UTC)
    with psycopg.connect(long_history) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        traces_at_noon = _stale_day(conn, today, noon)
        conn.execute(q.CREATE_STAGING.encode())  # type: ignore[arg-type]
        start_ns = int((noon - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds()) * 1_000_000_000

        # A commit's failed executions, _MATCHES of them in traces that already have occurrences.
        with conn.cursor().copy(
            "COPY stage_executions (workspace_id, trace_id, span_id, start_ns, end_ns, failed,"
            " agent_id, agent_name, user_id, environment, credits) FROM STDIN"
        ) as copy:
            for i in range(300):
                trace = traces_at_noon[i * 7] if i < _MATCHES else new_id(16)
                copy.write_row(("ws", trace, b"\x03", start_ns, 0, True, "a", "a", "u", "", 2.0))
        window = {"occurrences_from": noon - dt.timedelta(hours=2), "occurrences_to": noon + dt.timedelta(days=1)}
        plan = _explain_analyze(conn, q.INSERT_EXECUTIONS, window)
        assert conn.execute("SELECT count(*), sum(credits) FROM stage_credits").fetchone() == (_MATCHES, 2.0 * _MATCHES)
        assert _rows_read_at_most(plan, "error_occurrences") < _BULK // 20, plan  # a probe per execution (300)
        conn.rollback()

        # A commit's occurrences in traces whose failed executions were stored before (every 4th one failed).
        conn.execute(q.CREATE_STAGING.encode())  # type: ignore[arg-type]
        conn.execute(
            """INSERT INTO stage_new (workspace_id, error_id, occurred_at, severity, user_id, agent_id,
                            trace_id, occurrence_id)
                        SELECT 'ws', gen_random_uuid(), %s, 3, 'u', 'a', t, gen_random_uuid()
                        FROM unnest(%s::bytea[]) t""",
            (noon + dt.timedelta(seconds=1), [traces_at_noon[4 * i - 1] for i in range(1, _MATCHES + 1)]),
        )
        window = {
            "executions_from": noon - dt.timedelta(days=1),
            "executions_to": noon + dt.timedelta(hours=2),
            "occurrences_from": noon - dt.timedelta(days=1),
            "occurrences_to": noon + dt.timedelta(days=1),
        }
        plan = _explain_analyze(conn, q.CREDITS_FROM_KNOWN_EXECUTIONS, window)
        assert conn.execute("SELECT count(*), sum(credits) FROM stage_credits").fetchone() == (_MATCHES, 1.0 * _MATCHES)
        assert _rows_read_at_most(plan, "executions") < _BULK // 20, plan
        assert _rows_read_at_most(plan, "error_occurrences") < _BULK // 20, plan
        conn.rollback()
