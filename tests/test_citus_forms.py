"""Both forms of every statement whose Citus form differs run on the test database: on plain PostgreSQL (every
`make test`, so a Citus form cannot rot into invalid SQL) and on a Citus coordinator (OTEL_ERRORS_TEST_DATABASE_URL),
where a statement Citus refuses fails here by name instead of as a refused batch in an end-to-end test."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest

from otel_errors.exporter import _chains_sql as cq
from otel_errors.exporter import _recovery_sql as rq
from otel_errors.exporter import _settle_sql as sq
from otel_errors.exporter import _write_sql as q
from otel_errors.exporter._citus_write_sql import CITUS, PLAIN, WriteForms
from otel_errors.exporter.alerts import delivery

NOW = dt.datetime.now(dt.UTC)
WINDOWS = {
    "occurrences_from": NOW - dt.timedelta(days=2),
    "occurrences_to": NOW + dt.timedelta(days=1),
    "executions_from": NOW - dt.timedelta(days=2),
    "executions_to": NOW + dt.timedelta(days=1),
    "traces_from": NOW - dt.timedelta(days=2),
    "traces_to": NOW + dt.timedelta(days=1),
}


def _has_citus(conn: psycopg.Connection[Any]) -> bool:
    return conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone() is not None


def _write_statements(forms: WriteForms, workspace: str) -> list[tuple[str, dict[str, Any] | None]]:
    linkable = {"linkable_workspaces": [workspace], "linkable_traces": [b"\x02" * 16]}  # the staged record's trace
    return [
        (forms.enqueue_chains, WINDOWS | linkable),
        *((s, WINDOWS) for s in forms.mark_copies),
        (forms.enrich_staged, WINDOWS),
        (forms.insert_aliases, None),
        (forms.credits_from_known_executions, WINDOWS),
        (forms.reattribute_find, WINDOWS),
        (forms.lock_errors, None),
        (forms.upsert_errors, WINDOWS),
        (forms.insert_executions, WINDOWS),
    ]


@pytest.mark.parametrize("name", ["plain", "citus"])
def test_write_forms_run(migrated: str, workspace: str, name: str) -> None:
    forms = CITUS if name == "citus" else PLAIN
    with psycopg.connect(migrated, autocommit=True) as conn:
        refused = name == "plain" and _has_citus(conn)  # why the Citus forms exist
        conn.execute("SET TIME ZONE 'UTC'")
        for staging in (q.CREATE_STAGING, rq.CREATE_STAGING, sq.CREATE_STAGING, forms.create_staging):
            if staging:
                conn.execute(staging.encode())
        conn.autocommit = False
        # One staged record so the statements read and join rows, not only plan.
        conn.execute(
            "INSERT INTO stage_events (workspace_id, time_ns, occurrence_id, fingerprint, type, message, origin,"
            " trace_id, span_id, user_id, agent_is_service, environment, error_id, stack_hash)"
            " VALUES (%s, %s, %s, 'f', 'ValueError', 'm', 1, %s, %s, '', true, '', gen_random_uuid(), %s)",
            (workspace, int(NOW.timestamp() * 1e9), b"\x01" * 16, b"\x02" * 16, b"\x03" * 8, b"\x04" * 8),
        )
        if refused:
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(forms.mark_copies[0], WINDOWS)
        else:
            for statement, params in _write_statements(forms, workspace):
                conn.execute(statement, params)  # raises when the server refuses it
        conn.rollback()


def test_linker_and_webhook_forms_run(migrated: str, workspace: str) -> None:
    window = {"workspaces": [workspace], "traces": [b"\x02" * 16], "from": NOW - dt.timedelta(days=1), "to": NOW}
    with psycopg.connect(migrated, autocommit=True) as conn:
        citus = _has_citus(conn)
        reads = [cq.CITUS_SPANS, cq.CITUS_RECOVERED, cq.CITUS_OCCURRENCES]
        if not citus:
            reads += [cq.SPANS, cq.RECOVERED, cq.OCCURRENCES]
        for statement in reads:
            assert conn.execute(statement, window).fetchall() == []
        conn.autocommit = False  # the claims are rolled back: due deliveries of other tests stay due
        for claim in [delivery._CITUS_CLAIM] + ([] if citus else [delivery._CLAIM]):
            conn.execute(claim, {"limit": 1, "lease": 60.0, "per_workspace": delivery.PER_WORKSPACE}).fetchall()
        conn.rollback()
