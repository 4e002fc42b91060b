"""The PostgreSQL exporter on a real PostgreSQL: migrations, group commit, idempotency, rows not arrays."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

import psycopg
import pytest
from otlp_builders import NOW, PY_TRACE, new_id, span, traces

from otel_errors import Processor
from otel_errors.errors import StoreUnavailable
from otel_errors.exporter import PostgresExporter, StoreConfig
from otel_errors.exporter._migrate import migrate, migrations
from otel_errors.exporter._rows import stack_hash, stack_template, template_hash
from otel_errors.exporter.maintenance import Maintenance
from otel_errors.exporter.store import CommitStats


def _batch(
    workspace: str,
    *,
    n: int = 3,
    user: str = "u-1",
    agent: str = "a-1",
    message: str = "bad query 123",
    root_failed: bool = True,
) -> Any:
    tid = new_id(16)
    root = span(
        "invoke_agent a",
        trace_id=tid,
        error=root_failed,
        attrs={"gen_ai.agent.id": agent, "user.id": user, "credits.used": 2.0},
    )
    tools = [
        span(
            f"tool {i}",
            trace_id=tid,
            parent=root.span_id,
            error=True,
            attrs={"user.id": user},
            exceptions=[
                {"exception.type": "ValueError", "exception.message": message, "exception.stacktrace": PY_TRACE}
            ],
        )
        for i in range(n)
    ]
    return Processor().process_traces(
        traces(root, *tools, resource={"service.name": "svc", "workspace.id": workspace}), None, NOW
    )


async def _store(url: str, **kwargs: Any) -> PostgresExporter:
    store = PostgresExporter(StoreConfig(database_url=url, **kwargs))
    await store.start()
    return store


def _one(url: str, query: str, *params: Any) -> Any:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()


def test_batch_is_stored_once_per_fingerprint_with_users_agents_and_executions(migrated: str, workspace: str) -> None:
    async def run() -> None:
        store = await _store(migrated)
        await store.write(_batch(workspace, user="u-1"))
        await store.write(_batch(workspace, user="u-2"))
        await store.shutdown()

    asyncio.run(run())
    errors = _one(
        migrated,
        "SELECT count(*), sum(occurrences), max(users), max(agents) FROM errors WHERE workspace_id = %s",
        workspace,
    )
    assert errors == (1, 6, 2, 1)
    assert _one(migrated, "SELECT count(*) FROM error_occurrences WHERE workspace_id = %s", workspace) == (6,)
    assert _one(
        migrated, "SELECT array_agg(user_id ORDER BY user_id) FROM error_users WHERE workspace_id = %s", workspace
    ) == (["u-1", "u-2"],)
    assert _one(migrated, "SELECT count(*) FROM error_stacktraces WHERE workspace_id = %s", workspace) == (1,)
    assert _one(
        migrated,
        "SELECT sum(executions), sum(failed), sum(credits_failed) FROM execution_counts WHERE workspace_id = %s",
        workspace,
    ) == (2, 2, 4.0)
    assert _one(migrated, "SELECT count(*) FROM error_spans WHERE workspace_id = %s", workspace) == (8,)


def test_a_retried_batch_is_not_counted_twice(migrated: str, workspace: str) -> None:
    batch = _batch(workspace)

    async def run() -> None:
        store = await _store(migrated)
        await store.write(batch)
        await store.write(batch)
        await asyncio.gather(store.write(batch), store.write(batch))
        await store.shutdown()

    asyncio.run(run())
    assert _one(migrated, "SELECT occurrences, users FROM errors WHERE workspace_id = %s", workspace) == (3, 1)
    assert _one(migrated, "SELECT sum(executions) FROM execution_counts WHERE workspace_id = %s", workspace) == (1,)


def test_concurrent_writes_are_grouped_and_all_committed(migrated: str, workspace: str) -> None:
    batches = [_batch(workspace, user=f"u-{i}", message=f"bad query {i}") for i in range(40)]

    async def run() -> list[CommitStats]:
        store = await _store(migrated, writers=2)
        commits: list[CommitStats] = []
        store.commit_listeners.append(commits.append)
        await asyncio.gather(*(store.write(b) for b in batches))
        await store.shutdown()
        return commits

    commits = asyncio.run(run())
    assert sum(c.batches for c in commits) == 40 and not any(c.failed for c in commits)
    assert len(commits) < 40  # group commit took several batches at once
    assert _one(
        migrated, "SELECT count(*), sum(occurrences), sum(users) FROM errors WHERE workspace_id = %s", workspace
    ) == (1, 120, 40)


def test_people_rollups_are_maintained_by_the_write_path(migrated: str, workspace: str) -> None:
    """workspace_error_users/agents (migration 0007): one row per person with an error, equal to the per-error
    rows summed per person, retries not counted twice."""
    first = _batch(workspace, n=3, user="u-1", agent="a-1", message="bad query 1")

    async def run() -> None:
        store = await _store(migrated, writers=2)
        await store.write(first)
        await store.write(first)  # a retry: deduplicated, the rollup unchanged
        await asyncio.gather(
            _write(store, _batch(workspace, n=2, user="u-1", agent="a-2", message="other")),
            _write(store, _batch(workspace, n=1, user="u-2", agent="a-1", message="bad query 2")),
        )
        await store.shutdown()

    async def _write(store: PostgresExporter, batch: Any) -> None:
        await store.write(batch)

    asyncio.run(run())
    for kind in ("user", "agent"):
        rollup = _one(
            migrated,
            f"SELECT array_agg(ARRAY[{kind}_id, occurrences::text, first_error_at::text,"
            f" last_error_at::text] ORDER BY {kind}_id) FROM workspace_error_{kind}s"
            " WHERE workspace_id = %s",
            workspace,
        )
        pairs = _one(
            migrated,
            f"SELECT array_agg(ARRAY[k, n::text, f::text, l::text] ORDER BY k) FROM ("
            f"SELECT {kind}_id AS k, sum(occurrences) AS n, min(first_seen) AS f,"
            f" max(last_seen) AS l FROM error_{kind}s WHERE workspace_id = %s GROUP BY 1) p",
            workspace,
        )
        assert rollup == pairs
    assert [
        r[:2]
        for r in _one(
            migrated,
            "SELECT array_agg(ARRAY[user_id, occurrences::text] ORDER BY user_id)"
            " FROM workspace_error_users WHERE workspace_id = %s",
            workspace,
        )[0]
    ] == [["u-1", "5"], ["u-2", "1"]]
    assert _one(
        migrated,
        "SELECT array_agg(ARRAY[agent_id, occurrences::text] ORDER BY agent_id)"
        " FROM workspace_error_agents WHERE workspace_id = %s",
        workspace,
    ) == ([["a-1", "4"], ["a-2", "2"]],)


def test_occurrence_after_resolution_regresses_the_error(migrated: str, workspace: str) -> None:
    async def run() -> list[Any]:
        changes: list[Any] = []
        store = await _store(migrated)
        store.listeners.append(changes.extend)
        await store.write(_batch(workspace))
        with psycopg.connect(migrated) as conn:
            conn.execute(
                "UPDATE errors SET status = 'resolved', resolved_at = to_timestamp(%s / 1e9) - interval '1 hour'"
                " WHERE workspace_id = %s",
                (NOW, workspace),
            )
        await store.write(_batch(workspace))
        await store.shutdown()
        return changes

    changes = asyncio.run(run())
    assert [(c.created, c.regressed) for c in changes] == [(True, False), (False, True)]
    status, regressed = _one(
        migrated, "SELECT status, regressed_at IS NOT NULL FROM errors WHERE workspace_id = %s", workspace
    )
    assert (status, regressed) == ("new", True)


def test_migrations_are_safe_when_two_processes_start_at_once(database_url: str) -> None:
    name = f"mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = psycopg.conninfo.make_conninfo(database_url, dbname=name)

    async def one() -> list[int]:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            return await migrate(conn)

    async def both() -> list[list[int]]:
        return list(await asyncio.gather(one(), one(), one()))

    try:
        results = asyncio.run(both())
        expected = [m.version for m in migrations()]
        assert sorted(results, key=len) == [[], [], expected]
        assert _one(url, "SELECT count(*) FROM schema_migrations") == (len(expected),)
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_unreachable_database_is_a_retryable_error() -> None:
    async def run() -> None:
        store = PostgresExporter(
            StoreConfig(database_url="postgresql://nobody@127.0.0.1:1/none", connect_timeout_seconds=1)
        )
        with pytest.raises(StoreUnavailable):
            await store.start()

    asyncio.run(run())


def test_retention_drops_whole_old_partitions(migrated: str) -> None:
    async def run() -> list[str] | None:
        store = await _store(migrated, retention_days=1)
        with psycopg.connect(migrated, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS error_occurrences_p20000101 PARTITION OF error_occurrences"
                " FOR VALUES FROM ('2000-01-01 00:00:00+00') TO ('2000-01-02 00:00:00+00')"
            )
            conn.execute("DELETE FROM maintenance_runs")  # as if the last run were long ago
        dropped = await Maintenance(store.config).run_once()
        await store.shutdown()
        return dropped

    dropped = asyncio.run(run())
    assert dropped is not None and "error_occurrences_p20000101" in dropped
    assert _one(migrated, "SELECT to_regclass('error_occurrences_p20000101')") == (None,)


def test_rollups_count_occurrences_by_bucket_and_distinct_errors(migrated: str, workspace: str) -> None:
    async def run() -> None:
        store = await _store(migrated)
        await store.write(_batch(workspace, n=2, message="bad query 1"))
        await store.write(_batch(workspace, n=1, message="bad query 2"))  # same error (parametrized message)
        await store.shutdown()

    asyncio.run(run())
    assert _one(
        migrated,
        "SELECT sum(occurrences), sum(unique_errors), sum(medium) FROM workspace_hourly WHERE workspace_id = %s",
        workspace,
    ) == (3, 1, 3)
    assert _one(
        migrated, "SELECT sum(occurrences), sum(unique_errors) FROM workspace_daily WHERE workspace_id = %s", workspace
    ) == (3, 1)
    assert _one(migrated, "SELECT count(*), sum(occurrences) FROM error_hourly WHERE workspace_id = %s", workspace) == (
        1,
        3,
    )
    assert _one(migrated, "SELECT sum(occurrences) FROM error_minute WHERE workspace_id = %s", workspace) == (3,)
    assert _one(
        migrated,
        "SELECT sum(executions), sum(failed), sum(credits_failed) FROM execution_hourly WHERE workspace_id = %s",
        workspace,
    ) == (2, 2, 4.0)


def test_rollups_count_distinct_errors_per_severity_across_commits(migrated: str, workspace: str) -> None:
    """One error: medium occurrences, then a critical one, then critical again, in three commits of one hour: the
    bucket holds 1 distinct error, 1 with critical and 1 with medium occurrences (each counted at its first)."""

    def with_severity(severity: int) -> Any:
        batch = _batch(workspace, n=1)
        batch.events = [dataclasses.replace(e, severity=severity) for e in batch.events]
        return batch

    async def run() -> None:
        store = await _store(migrated)
        for severity in (2, 4, 4):
            await store.write(with_severity(severity))
        await store.shutdown()

    asyncio.run(run())
    for table in ("workspace_hourly", "workspace_daily"):
        assert _one(
            migrated,
            f"SELECT sum(occurrences), sum(critical), sum(unique_errors), sum(unique_critical),"
            f" sum(unique_medium), sum(unique_high) FROM {table} WHERE workspace_id = %s",
            workspace,
        ) == (3, 2, 1, 1, 1, 0), table


def test_credits_lost_counted_once_per_failed_execution_whatever_the_arrival_order(
    migrated: str, workspace: str
) -> None:
    tid = new_id(16)
    root = span("invoke_agent a", trace_id=tid, error=True, attrs={"gen_ai.agent.id": "a", "credits.used": 5.0})
    tool = span(
        "tool",
        trace_id=tid,
        parent=root.span_id,
        error=True,
        exceptions=[{"exception.type": "ValueError", "exception.message": "late"}],
    )
    tool2 = span(
        "tool",
        trace_id=tid,
        parent=root.span_id,
        error=True,
        exceptions=[{"exception.type": "ValueError", "exception.message": "late"}],
    )
    tid2 = new_id(16)
    root2 = span("invoke_agent a", trace_id=tid2, error=True, attrs={"gen_ai.agent.id": "a", "credits.used": 7.0})
    early = span(
        "tool",
        trace_id=tid2,
        parent=root2.span_id,
        error=True,
        exceptions=[{"exception.type": "ValueError", "exception.message": "late"}],
    )
    resource = {"workspace.id": workspace}
    processor = Processor()

    async def run() -> None:
        store = await _store(migrated)
        await store.write(processor.process_traces(traces(tool, resource=resource), None, NOW))  # error first
        await store.write(processor.process_traces(traces(root, resource=resource), None, NOW))  # then execution
        await store.write(processor.process_traces(traces(tool2, resource=resource), None, NOW))  # again: no credit
        await store.write(processor.process_traces(traces(root2, resource=resource), None, NOW))  # execution first
        await store.write(processor.process_traces(traces(early, resource=resource), None, NOW))
        await store.shutdown()

    asyncio.run(run())
    assert _one(
        migrated,
        "SELECT occurrences, credits_lost, executions_affected FROM errors"
        " WHERE workspace_id = %s AND type = 'ValueError'",
        workspace,
    ) == (3, 12.0, 2)  # two executions: tool2 is a second occurrence in the first one, not another execution


def test_grouping_upgrade_keeps_existing_issues(migrated: str, workspace: str) -> None:
    from otel_errors import WorkspaceRules

    def batch(rules: WorkspaceRules, line: int) -> Any:
        trace = PY_TRACE.replace("line 17", f"line {line}")  # a redeploy moved the code
        return Processor(rules_for=lambda _ws: rules).process_traces(
            traces(
                span(
                    trace_id=new_id(16),
                    parent=new_id(8),
                    error=True,
                    exceptions=[
                        {
                            "exception.type": "ValueError",
                            "exception.message": "bad query 1",
                            "exception.stacktrace": trace,
                        }
                    ],
                ),
                resource={"workspace.id": workspace},
            ),
            None,
            NOW,
        )

    seed = WorkspaceRules.from_dict({"grouping": {"config_id": "v0"}})
    upgrading = WorkspaceRules.from_dict({"grouping": {"config_id": "v1", "previous_config_id": "v0"}})
    upgraded = WorkspaceRules.from_dict({"grouping": {"config_id": "v1"}})

    async def run() -> None:
        store = await _store(migrated)
        await store.write(batch(seed, 17))  # before: the seed algorithm
        await store.write(batch(upgrading, 17))  # during: v1 fingerprint, matched through the v0 one
        await store.write(batch(upgraded, 18))  # after: v1 only, different line, still the same issue
        await store.shutdown()

    asyncio.run(run())
    assert _one(
        migrated,
        "SELECT count(*), sum(occurrences), min(fingerprint_config) FROM errors WHERE workspace_id = %s",
        workspace,
    ) == (1, 3, "v0")
    assert _one(migrated, "SELECT count(*) FROM fingerprint_aliases WHERE workspace_id = %s", workspace) == (1,)


def test_a_stalled_database_pushes_back_instead_of_queueing_without_limit(migrated: str, workspace: str) -> None:

    async def run() -> tuple[list[str], int]:
        store = await _store(
            migrated, writers=1, max_items_per_commit=20, max_pending_bytes=40_000, write_timeout_seconds=1.0
        )
        blocker = await psycopg.AsyncConnection.connect(migrated)
        await blocker.execute("LOCK TABLE errors IN EXCLUSIVE MODE")  # every commit now waits
        outcomes = await asyncio.gather(
            *(store.write(_batch(workspace, n=3)) for _ in range(12)), return_exceptions=True
        )
        await blocker.rollback()  # the database recovers
        await blocker.close()
        for _ in range(100):  # what was accepted before the timeouts commits now
            if store.pending_items == 0:
                break
            await asyncio.sleep(0.05)
        await store.write(_batch(workspace, n=1))
        pending = store.pending_items
        await store.shutdown()
        return [type(o).__name__ for o in outcomes], pending

    outcomes, pending = asyncio.run(run())
    assert "Overloaded" in outcomes  # beyond max_pending_bytes: refused at once, retryable
    assert "StoreUnavailable" in outcomes  # accepted but not committed in time: retryable too
    assert "NoneType" not in outcomes  # nothing was acknowledged while the database was stalled
    assert pending == 0
    # Batches that timed out may still have committed later: a client retry is then deduplicated, never doubled.
    total = _one(migrated, "SELECT coalesce(sum(occurrences), 0) FROM errors WHERE workspace_id = %s", workspace)[0]
    assert total % 3 == 1 and total <= 12 * 3 + 1


def test_large_texts_travel_once_and_new_errors_still_get_them(migrated: str, workspace: str) -> None:
    """KnownTexts: after the first commit, rows of a known fingerprint carry no grouping explanation and rows of
    a known stack no stack text; an error created later with that stack still stores the whole text (read back by
    hash) and its own explanation, also once the bounded memory forgot and sends them again."""

    def renamed(fingerprint: str, marker: int) -> Any:
        batch = _batch(workspace)
        batch.events = [
            dataclasses.replace(
                e,
                fingerprint=fingerprint,
                grouping=dataclasses.replace(e.grouping, config_id=f"marker-{marker}"),
            )
            for e in batch.events
        ]
        return batch

    async def run() -> list[Any]:
        store = await _store(migrated)
        store._texts.max_entries = 4
        await store.write(renamed("fp-first", 1))
        sent: set[Any] = set()
        rows = list(store._texts.event_rows(renamed("fp-first", 1).events, sent))
        await store.write(renamed("fp-second", 2))  # same stack, new error: the stack text is not sent
        for i in range(3):  # fill the memory past its bound
            await store.write(renamed(f"fp-filler-{i}", 9))
        await store.write(renamed("fp-first", 1))
        await store.shutdown()
        assert len(store._texts._known) <= 4
        return rows

    rows = asyncio.run(run())
    assert {(r[7], r[10]) for r in rows} == {("", "")}  # known: neither text travels
    for fingerprint, marker in (("fp-first", 1), ("fp-second", 2), ("fp-filler-2", 9)):
        stored = _one(
            migrated,
            "SELECT stacktrace = %s, grouping->>'configId' FROM errors WHERE workspace_id = %s AND fingerprint = %s",
            PY_TRACE,
            workspace,
            fingerprint,
        )
        assert stored == (True, f"marker-{marker}"), fingerprint
    assert _one(migrated, "SELECT count(*) FROM error_stacktraces WHERE workspace_id = %s", workspace) == (1,)


def test_batches_of_one_commit_may_both_carry_a_new_text(migrated: str, workspace: str) -> None:
    """Batches are staged as they are queued: two queued before either commits both carry the texts of a new
    error and stack (neither is known yet); the commit stores each once, and later batches carry neither."""

    async def run() -> tuple[list[CommitStats], list[Any]]:
        store = await _store(migrated)
        commits: list[CommitStats] = []
        store.commit_listeners.append(commits.append)
        first, second = _batch(workspace, message="m 1"), _batch(workspace, message="m 2")
        await asyncio.gather(store.write(first), store.write(second))  # both queued before the writer runs
        rows = list(store._texts.event_rows(_batch(workspace, message="m 3").events, set()))
        await store.shutdown()
        return commits, rows

    commits, later_rows = asyncio.run(run())
    assert [(c.batches, c.failed) for c in commits] == [(2, False)]
    count, occurrences, whole, grouped = _one(
        migrated,
        "SELECT count(*), sum(occurrences), bool_and(stacktrace = %s),"
        " bool_and(grouping <> '{}'::jsonb) FROM errors WHERE workspace_id = %s",
        PY_TRACE,
        workspace,
    )
    assert (count, occurrences, whole, grouped) == (1, 6, True, True)
    assert _one(migrated, "SELECT count(*) FROM error_stacktraces WHERE workspace_id = %s", workspace) == (1,)
    assert {(r[7], r[10]) for r in later_rows} == {("", "")}  # remembered once committed


@pytest.mark.parametrize(
    ("message", "stacktrace"),
    [
        ("id 3f2a", 'Traceback:\n  File "a.py", line 1, in f\nValueError: id 3f2a'),  # ASCII, cut out
        ("id 3f2a", 'Traceback:\n  File "a.py", line 1, in f\nValueError: id 3f2a\n'),
        ("naïve 7", 'Traceback:\n  File "é.py", line 1, in f\nValueError: naïve 7'),  # non-ASCII trace
        ("id 1", "ValueError: id 1\nValueError: id 1"),  # twice: stored whole
        ("id 1", "ValueError: id 10"),  # not ending its line: stored whole
        ("id 1", "ValueError: id 1 \ue000"),  # holds the mark: stored whole
        ("", "ValueError\n  at f"),
        ("gone", ""),
        ("", ""),
        ("x\ud800", "E: x\ud800"),  # a lone surrogate: encoded with replacement, as stack_hash does
    ],
)
def test_template_hash_is_the_hash_of_the_stored_template(message: str, stacktrace: str) -> None:
    """The exporter hashes the template from the trace's parts without building it: the same digest as hashing
    the template it stores (`stack_template`), the key readers join occurrences to stored texts by."""
    assert template_hash(message, stacktrace) == stack_hash(stack_template(message, stacktrace))


def test_stack_traces_stored_once_per_template_and_read_back_whole(migrated: str, workspace: str) -> None:
    """Occurrences of one bug whose stack traces differ only in the message of the header line share one stored
    template (exporter/_rows.py stack_template); the error, its samples and the error-tracking samples read each
    occurrence's whole original text back."""
    from tracking_helpers import get, tracking, write

    def request(message: str) -> Any:
        tid = new_id(16)
        root = span("invoke_agent a", trace_id=tid, error=True, attrs={"gen_ai.agent.id": "a-1"})
        tool = span(
            "tool",
            trace_id=tid,
            parent=root.span_id,
            error=True,
            exceptions=[
                {
                    "exception.type": "ValueError",
                    "exception.message": message,
                    "exception.stacktrace": PY_TRACE.replace("bad query 123", message),
                }
            ],
        )
        return traces(root, tool, resource={"service.name": "svc", "workspace.id": workspace})

    write(migrated, request("bad query 123"), request("bad query 456"))
    write(migrated, request("bad query 789"))
    assert _one(migrated, "SELECT count(*) FROM error_stacktraces WHERE workspace_id = %s", workspace) == (1,)
    (error_id,) = _one(migrated, "SELECT error_id FROM errors WHERE workspace_id = %s", workspace)
    details = get(migrated, f"/api/v1/workspaces/{workspace}/errors/{error_id}").json()
    assert details["stackTrace"] == PY_TRACE  # the error keeps its first occurrence's trace
    assert {s["message"]: s["stackTrace"] for s in details["samples"]} == {
        m: PY_TRACE.replace("bad query 123", m) for m in ("bad query 123", "bad query 456", "bad query 789")
    }
    samples = tracking(migrated, workspace, "24h")["categories"]["byType"][0]["samples"]
    assert all(s["stackTrace"] == PY_TRACE.replace("bad query 123", s["message"]) for s in samples) and samples


def test_a_new_days_partitions_wait_for_no_reader(migrated: str) -> None:
    """A reader holding both partitioned parents (as the chain linker does) must not block or deadlock a new day.

    `CREATE TABLE ... PARTITION OF` would wait for the reader's ACCESS SHARE locks; attaching does not.
    """
    import datetime as dt

    from otel_errors.exporter._partitions import PARTITIONED_TABLES, Partitions, partition_name

    day = dt.date(1999, 12, 30)
    names = [partition_name(table, day) for table in PARTITIONED_TABLES]

    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(migrated, autocommit=True) as conn:
            await conn.execute("SET lock_timeout = '2s'")
            await Partitions().ensure(conn, [day])
            await Partitions().ensure(conn, [day])  # another process that has not seen the day: no error

    with psycopg.connect(migrated) as reader:
        reader.execute("SELECT count(*) FROM error_spans")
        reader.execute("SELECT count(*) FROM error_occurrences")
        asyncio.run(run())  # raises LockNotAvailable after 2 s if it waits for the reader
        reader.rollback()
    try:
        for name in names:
            assert _one(migrated, "SELECT to_regclass(%s) IS NOT NULL", name) == (True,)
        parent_indexes = _one(migrated, "SELECT count(*) FROM pg_indexes WHERE tablename = 'error_occurrences'")
        assert _one(migrated, "SELECT count(*) FROM pg_indexes WHERE tablename = %s", names[0]) == parent_indexes
    finally:
        with psycopg.connect(migrated, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP TABLE IF EXISTS "{name}"')
