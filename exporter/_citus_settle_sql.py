"""The settle statements (_settle_sql.py) that Citus refuses in their plain form, in forms it runs.

As in _citus_write_sql.py: Citus cannot probe a distributed table per staged row (LATERAL), join a temporary
staging table to a distributed one directly, take row locks in a query that reaches several shards, or plan a
recursive CTE next to a distributed table. So the distributed rows of the staged traces are read first, each by one
MATERIALIZED join filtered on the staged keys (Citus sends those keys to the shards), and the work on them runs on
the coordinator's temporary tables. On plain PostgreSQL the originals stay (their per-trace probes).
"""

from __future__ import annotations

from . import _settle_sql as sq
from ._citus_write_sql import _replaced

# The copies' candidates and their traces' parentage go to temporary tables first: the recursive walk then reads
# only the coordinator's tables, which Citus leaves to PostgreSQL.
CREATE_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS stage_cand (
    occurrence_id bytea, workspace_id text, trace_id bytea, span_id bytea, origin int2, other_span bytea,
    other_origin int2, staged bool, other_id uuid
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_parents (
    workspace_id text, trace_id bytea, span_id bytea, parent_span_id bytea
) ON COMMIT DELETE ROWS;
"""

_CANDIDATES = f"""
INSERT INTO stage_cand
WITH o AS MATERIALIZED (
    SELECT o.workspace_id, o.trace_id, o.span_id, o.origin, o.occurrence_id, o.message, e.type
    FROM error_occurrences o JOIN errors e ON e.workspace_id = o.workspace_id AND e.error_id = o.error_id
    WHERE (o.workspace_id, o.trace_id) IN (SELECT workspace_id, trace_id FROM stage_events
                                           WHERE trace_id <> '' AND span_id <> '')
      AND o.occurred_at BETWEEN %(occurrences_from)s AND %(occurrences_to)s  -- commit_windows()
)
SELECT s.occurrence_id, s.workspace_id, s.trace_id, s.span_id, s.origin, o.span_id, o.origin, false,
       o.occurrence_id
FROM stage_events s JOIN o ON o.workspace_id = s.workspace_id AND o.trace_id = s.trace_id
WHERE s.trace_id <> '' AND s.span_id <> ''
  AND o.occurrence_id <> encode(s.occurrence_id, 'hex')::uuid  -- a retried record is not its own copy
  AND (s.origin = {sq.SPAN_STATUS} OR o.origin = {sq.SPAN_STATUS} OR (o.message = s.message AND o.type = s.type))
UNION ALL
SELECT s.occurrence_id, s.workspace_id, s.trace_id, s.span_id, s.origin, t.span_id, t.origin, true,
       encode(t.occurrence_id, 'hex')::uuid
FROM stage_events s
JOIN stage_events t ON t.workspace_id = s.workspace_id AND t.trace_id = s.trace_id
                   AND t.occurrence_id <> s.occurrence_id
WHERE s.trace_id <> '' AND s.span_id <> ''
  AND (s.origin = {sq.SPAN_STATUS} OR t.origin = {sq.SPAN_STATUS} OR (t.message = s.message AND t.type = s.type))
"""

_PARENTS = """
INSERT INTO stage_parents
WITH x AS MATERIALIZED (
    SELECT x.workspace_id, x.trace_id, x.span_id, x.parent_span_id FROM error_spans x
    WHERE (x.workspace_id, x.trace_id) IN (SELECT workspace_id, trace_id FROM stage_cand)
      AND x.started_at BETWEEN %(occurrences_from)s AND %(occurrences_to)s AND x.parent_span_id <> ''
)
SELECT workspace_id, trace_id, span_id, parent_span_id FROM x
UNION
SELECT x.workspace_id, x.trace_id, x.span_id, x.parent_span_id FROM stage_spans x
JOIN (SELECT DISTINCT workspace_id, trace_id FROM stage_cand) t USING (workspace_id, trace_id)
WHERE x.parent_span_id <> ''
"""

# The last statement returns the count, as the plain one does.
MARK_COPIES = (
    _CANDIDATES,
    _PARENTS,
    _replaced(
        sq.MARK_COPIES,
        (sq._CANDIDATES, "\ncand AS (SELECT * FROM stage_cand)"),
        (sq._PARENTS, "parents AS (SELECT * FROM stage_parents)"),
    ),
)

ENRICH_STAGED = _replaced(
    sq.ENRICH_STAGED,
    (
        "), x AS (",
        "), known AS MATERIALIZED (\n"
        "    SELECT x.workspace_id, x.trace_id, x.started_at, x.user_id, x.agent_id, x.environment FROM executions x\n"
        "    WHERE (x.workspace_id, x.trace_id) IN (SELECT workspace_id, trace_id FROM need)\n"
        "      AND x.started_at BETWEEN %(executions_from)s AND %(executions_to)s  -- commit_windows()\n"
        "), x AS (",
    ),
    (
        """        SELECT x.started_at, x.user_id, x.agent_id, x.environment FROM executions x
        WHERE x.workspace_id = n.workspace_id AND x.trace_id = n.trace_id
          AND x.started_at BETWEEN %(executions_from)s AND %(executions_to)s  -- commit_windows()
""",
        """        SELECT x.started_at, x.user_id, x.agent_id, x.environment FROM known x
        WHERE x.workspace_id = n.workspace_id AND x.trace_id = n.trace_id
""",
    ),
)

REATTRIBUTE_FIND = _replaced(
    sq.REATTRIBUTE_FIND,
    (
        "    FROM stage_executions ORDER BY workspace_id, trace_id, start_ns\n)",
        "    FROM stage_executions ORDER BY workspace_id, trace_id, start_ns\n"
        "), o AS MATERIALIZED (\n"
        "    SELECT * FROM error_occurrences o\n"
        "    WHERE (o.workspace_id, o.trace_id) IN (SELECT workspace_id, trace_id FROM stage_executions)\n"
        "      AND o.occurred_at BETWEEN %(occurrences_from)s AND %(occurrences_to)s\n"
        ")",
    ),
    ("FROM x JOIN error_occurrences o ON", "FROM x JOIN o ON"),
)

# Row locks only in a single-shard query: an UPDATE that changes nothing takes the same lock (FOR NO KEY UPDATE) on
# every shard at once. Not in key order across shards: a cycle is a deadlock Citus detects, and the commit retries.
LOCK_ERRORS = """
UPDATE errors e SET occurrences = e.occurrences
WHERE (e.workspace_id, e.error_id) IN (SELECT workspace_id, error_id FROM stage_events WHERE NOT copy
                                       UNION SELECT workspace_id, error_id FROM stage_moved)
"""
