"""The write path's statements that Citus refuses in their plain form (_write_sql.py), in forms it runs.

Citus runs a statement over the staging tables (local to the coordinator) and the distributed tables by sending the
staged rows to the shards as an intermediate result and joining there. It cannot do that for a LATERAL or
correlated subquery that reads a distributed table per staged row ("cannot push down this subquery"), nor for a
NOT EXISTS from a local table into a distributed one, and it refuses a function that is not IMMUTABLE (now()) in
ON CONFLICT DO UPDATE SET, since the shards would each evaluate it. The forms here read the distributed rows of the
staged keys in one MATERIALIZED join first and then work on that result; the rows they write are the same. On
plain PostgreSQL the originals stay: their per-row index probes keep the planner off whole partitions when the
statistics are stale (see _write_sql.py). docs/citus.md lists what was measured.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import _recovery_sql as rq
from . import _settle_sql as sq
from . import _write_sql as q


@dataclass(frozen=True, slots=True)
class WriteForms:
    insert_aliases: str
    credits_from_known_executions: str
    upsert_errors: str
    insert_executions: str
    # The settle statements (_citus_settle_sql.py); MARK_COPIES is several, the last one returning the count.
    mark_copies: tuple[str, ...]
    enrich_staged: str
    reattribute_find: str
    lock_errors: str
    enqueue_chains: str
    create_staging: str  # temporary tables only these forms use


def _replaced(statement: str, *pairs: tuple[str, str]) -> str:
    """`statement` with each fragment replaced; a fragment no longer there means the original changed."""
    for old, new in pairs:
        if old not in statement:
            raise AssertionError(f"the plain statement changed; update its Citus form: {old!r}")
        statement = statement.replace(old, new)
    return statement


INSERT_ALIASES = """
INSERT INTO fingerprint_aliases (workspace_id, fingerprint, error_id)
WITH existing AS MATERIALIZED (
    SELECT e.workspace_id, e.fingerprint FROM errors e
    WHERE (e.workspace_id, e.fingerprint) IN (SELECT workspace_id, fingerprint FROM stage_events
                                              WHERE previous_fingerprint <> '')
)
SELECT DISTINCT ON (s.workspace_id, s.fingerprint) s.workspace_id, s.fingerprint, s.error_id
FROM stage_events s
WHERE s.previous_fingerprint <> '' AND s.error_id <> md5(s.workspace_id || '/' || s.fingerprint)::uuid
  AND NOT EXISTS (SELECT 1 FROM existing e WHERE e.workspace_id = s.workspace_id AND e.fingerprint = s.fingerprint)
ORDER BY s.workspace_id, s.fingerprint
ON CONFLICT DO NOTHING
"""

# The same windows and rules as the plain statement: a failed execution's credits, once per error and trace, unless
# an earlier commit stored this error in this trace.
CREDITS_FROM_KNOWN_EXECUTIONS = """
INSERT INTO stage_credits (workspace_id, error_id, credits)
WITH n AS MATERIALIZED (
    SELECT workspace_id, error_id, trace_id, min(occurred_at) AS occurred_at FROM stage_new
    WHERE trace_id <> '' GROUP BY 1, 2, 3
), known AS MATERIALIZED (
    SELECT DISTINCT ON (n.workspace_id, n.error_id, n.trace_id) n.workspace_id, n.error_id, n.trace_id,
           n.occurred_at, x.credits
    FROM n JOIN executions x ON x.workspace_id = n.workspace_id AND x.trace_id = n.trace_id
    WHERE x.failed AND x.credits <> 0
      AND x.started_at BETWEEN n.occurred_at - interval '1 day' AND n.occurred_at + interval '1 hour'
      AND x.started_at BETWEEN %(executions_from)s AND %(executions_to)s
    ORDER BY n.workspace_id, n.error_id, n.trace_id
), earlier AS MATERIALIZED (
    SELECT DISTINCT k.workspace_id, k.error_id, k.trace_id
    FROM known k JOIN error_occurrences o ON o.workspace_id = k.workspace_id AND o.trace_id = k.trace_id
                                         AND o.error_id = k.error_id
    WHERE o.occurred_at BETWEEN k.occurred_at - interval '1 day' AND k.occurred_at + interval '1 day'
      AND o.occurred_at BETWEEN %(occurrences_from)s AND %(occurrences_to)s
      AND o.occurrence_id NOT IN (SELECT occurrence_id FROM stage_new)
)
SELECT k.workspace_id, k.error_id, k.credits FROM known k
WHERE NOT EXISTS (SELECT 1 FROM earlier e WHERE e.workspace_id = k.workspace_id AND e.error_id = k.error_id
                  AND e.trace_id = k.trace_id)
"""

# now() becomes the inserted row's updated_at (its default: one value per row, where the shards would each take
# their own), and the stack text is joined from the staged hashes' rows instead of read by a correlated subquery.
UPSERT_ERRORS = _replaced(
    q.UPSERT_ERRORS,
    (
        "), n AS (",
        "), st AS MATERIALIZED (\n"
        "    SELECT t.workspace_id, t.stack_hash, t.stacktrace FROM error_stacktraces t\n"
        "    WHERE (t.workspace_id, t.stack_hash) IN (SELECT workspace_id, stack_hash FROM stage_events)\n"
        "), n AS (",
    ),
    (
        "    coalesce((SELECT replace(st.stacktrace, chr(57344), r.message) FROM error_stacktraces st\n"
        "              WHERE st.workspace_id = n.workspace_id AND st.stack_hash = r.stack_hash), ''),",
        "    coalesce(replace(st.stacktrace, chr(57344), r.message), ''),",
    ),
    (
        "FROM n JOIN r USING (workspace_id, error_id)\n",
        "FROM n JOIN r USING (workspace_id, error_id)\n"
        "LEFT JOIN st ON st.workspace_id = n.workspace_id AND st.stack_hash = r.stack_hash\n",
    ),
    (
        "), " + q._FIRST_IN_TRACE,
        """), earlier AS MATERIALIZED (
    SELECT DISTINCT o.workspace_id, o.trace_id, o.error_id, o.occurred_at FROM error_occurrences o
    WHERE (o.workspace_id, o.trace_id) IN (SELECT workspace_id, trace_id FROM pairs)
      AND o.occurred_at BETWEEN %(occurrences_from)s AND %(occurrences_to)s  -- commit_windows()
      AND o.occurrence_id NOT IN (SELECT occurrence_id FROM stage_new)
), x AS (
    SELECT p.workspace_id, p.error_id, count(*) AS executions FROM pairs p
    WHERE NOT EXISTS (
        SELECT 1 FROM earlier o
        WHERE o.workspace_id = p.workspace_id AND o.trace_id = p.trace_id
          AND o.error_id IS NOT DISTINCT FROM p.error_id
          AND o.occurred_at BETWEEN p.occurred_at - interval '1 day' AND p.occurred_at + interval '1 day')
    GROUP BY 1, 2
)""",
    ),
    ("THEN now() ELSE e.status_changed_at", "THEN EXCLUDED.updated_at ELSE e.status_changed_at"),
    ("THEN now() ELSE e.regressed_at", "THEN EXCLUDED.updated_at ELSE e.regressed_at"),
    ("    updated_at = now()\n", "    updated_at = EXCLUDED.updated_at\n"),
    ("(regressed_at = now()) AS regressed", "(regressed_at = updated_at) AS regressed"),
)

INSERT_EXECUTIONS = _replaced(
    q.INSERT_EXECUTIONS,
    (
        """    SELECT DISTINCT ON (x.workspace_id, o.error_id, x.trace_id) x.workspace_id, o.error_id, x.credits
    FROM ins x CROSS JOIN LATERAL (
        SELECT DISTINCT o.error_id FROM error_occurrences o
        WHERE o.workspace_id = x.workspace_id AND o.trace_id = x.trace_id
          AND o.occurred_at BETWEEN x.started_at - interval '1 hour' AND x.started_at + interval '1 day'
          AND o.occurred_at BETWEEN %(occurrences_from)s AND %(occurrences_to)s  -- commit_windows()
    ) o
    WHERE x.failed AND x.credits <> 0
""",
        """    SELECT DISTINCT ON (x.workspace_id, o.error_id, x.trace_id) x.workspace_id, o.error_id, x.credits
    FROM ins x JOIN error_occurrences o ON o.workspace_id = x.workspace_id AND o.trace_id = x.trace_id
    WHERE x.failed AND x.credits <> 0
      AND o.occurred_at BETWEEN x.started_at - interval '1 hour' AND x.started_at + interval '1 day'
      AND o.occurred_at BETWEEN %(occurrences_from)s AND %(occurrences_to)s
    ORDER BY x.workspace_id, o.error_id, x.trace_id
""",
    ),
)

PLAIN = WriteForms(
    q.INSERT_ALIASES,
    q.CREDITS_FROM_KNOWN_EXECUTIONS,
    q.UPSERT_ERRORS,
    q.INSERT_EXECUTIONS,
    (sq.MARK_COPIES,),
    sq.ENRICH_STAGED,
    sq.REATTRIBUTE_FIND,
    sq.LOCK_ERRORS,
    rq.ENQUEUE_CHAINS,
    "",
)


def _citus() -> WriteForms:
    from . import _citus_settle_sql as cs  # it derives its forms with _replaced, defined here

    return WriteForms(
        INSERT_ALIASES,
        CREDITS_FROM_KNOWN_EXECUTIONS,
        UPSERT_ERRORS,
        INSERT_EXECUTIONS,
        cs.MARK_COPIES,
        cs.ENRICH_STAGED,
        cs.REATTRIBUTE_FIND,
        cs.LOCK_ERRORS,
        rq.ENQUEUE_ALL_CHAINS,
        cs.CREATE_STAGING,
    )


CITUS = _citus()
