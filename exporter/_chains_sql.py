"""SQL of the chain linker (exporter/chains.py). The claimed traces come as two arrays, `workspaces` and `traces`;
`from`/`to` bound the times read, as constants the planner prunes daily partitions by."""

_TRACES = "unnest(%(workspaces)b::text[], %(traces)b::bytea[]) AS t(workspace_id, trace_id)"

# MATERIALIZED: as a subquery in USING, the planner may run the locking LIMIT once per row it deletes.
CLAIM = """
WITH c AS MATERIALIZED (
    SELECT workspace_id, trace_id FROM chain_pending ORDER BY first_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
DELETE FROM chain_pending p USING c
WHERE p.workspace_id = c.workspace_id AND p.trace_id = c.trace_id
RETURNING p.workspace_id, p.trace_id, p.first_at, p.last_at
"""

# Citus runs FOR UPDATE only in a query that reaches one shard: there the oldest queued traces are read without a
# lock, then each workspace's are claimed by a query of its own (SKIP LOCKED as above); one claimed by another
# linker meanwhile is skipped.
CANDIDATES = """
SELECT workspace_id, array_agg(trace_id) FROM (
    SELECT workspace_id, trace_id FROM chain_pending ORDER BY first_at LIMIT %(limit)s
) c GROUP BY 1 ORDER BY 1
"""

CLAIM_WORKSPACE = """
DELETE FROM chain_pending p USING (
    SELECT workspace_id, trace_id FROM chain_pending
    WHERE workspace_id = %(workspace)s AND trace_id = ANY(%(traces)s) FOR UPDATE SKIP LOCKED
) c
WHERE p.workspace_id = %(workspace)s AND p.workspace_id = c.workspace_id AND p.trace_id = c.trace_id
RETURNING p.workspace_id, p.trace_id, p.first_at, p.last_at
"""

# In one order everywhere (sorted by the hash), so two linkers never wait for each other in a circle.
LOCK_TRACES = f"""
SELECT pg_advisory_xact_lock(h) FROM (
    SELECT hashtextextended(t.workspace_id || '/' || encode(t.trace_id, 'hex'), 7) AS h FROM {_TRACES} ORDER BY 1
) s
"""

# Each read probes by trace (a LATERAL per claimed trace; OFFSET 0 keeps the planner from flattening it into a
# join), whatever the statistics say: otherwise it may hash a whole day's partition per batch, which grows with
# the store.
SPANS = f"""
SELECT t.workspace_id, t.trace_id, s.span_id, s.parent_span_id, s.started_at
FROM {_TRACES} CROSS JOIN LATERAL (
    SELECT s.span_id, s.parent_span_id, s.started_at FROM error_spans s
    WHERE s.workspace_id = t.workspace_id AND s.trace_id = t.trace_id AND s.started_at BETWEEN %(from)s AND %(to)s
    OFFSET 0
) s
"""

# Episodes that recovered: their failed attempts (siblings under parent_span_id from span_id's start to
# last_span_id's) were contained (otel_errors/chains.py).
RECOVERED = f"""
SELECT t.workspace_id, t.trace_id, r.parent_span_id, r.span_id, r.last_span_id
FROM {_TRACES} CROSS JOIN LATERAL (
    SELECT r.parent_span_id, r.span_id, r.last_span_id FROM recoveries r
    WHERE r.workspace_id = t.workspace_id AND r.trace_id = t.trace_id AND r.recovered
      AND r.failed_at BETWEEN %(from)s AND %(to)s
    OFFSET 0
) r
"""

OCCURRENCES = f"""
SELECT t.workspace_id, t.trace_id, o.span_id, o.error_id::text, o.occurred_at
FROM {_TRACES} CROSS JOIN LATERAL (
    SELECT o.span_id, o.error_id, o.occurred_at FROM error_occurrences o
    WHERE o.workspace_id = t.workspace_id AND o.trace_id = t.trace_id AND o.occurred_at BETWEEN %(from)s AND %(to)s
    OFFSET 0
) o
"""

# Citus cannot push a per-trace probe down to the shards ("cannot push down this subquery"): there the claimed
# traces are joined, as in OLD_CHAINS below, and each shard reads its traces' rows.
CITUS_SPANS = f"""
SELECT t.workspace_id, t.trace_id, s.span_id, s.parent_span_id, s.started_at
FROM error_spans s JOIN {_TRACES} ON s.workspace_id = t.workspace_id AND s.trace_id = t.trace_id
WHERE s.started_at BETWEEN %(from)s AND %(to)s
"""

CITUS_RECOVERED = f"""
SELECT t.workspace_id, t.trace_id, r.parent_span_id, r.span_id, r.last_span_id
FROM recoveries r JOIN {_TRACES} ON r.workspace_id = t.workspace_id AND r.trace_id = t.trace_id
WHERE r.recovered AND r.failed_at BETWEEN %(from)s AND %(to)s
"""

CITUS_OCCURRENCES = f"""
SELECT t.workspace_id, t.trace_id, o.span_id, o.error_id::text, o.occurred_at
FROM error_occurrences o JOIN {_TRACES} ON o.workspace_id = t.workspace_id AND o.trace_id = t.trace_id
WHERE o.occurred_at BETWEEN %(from)s AND %(to)s
"""

OLD_CHAINS = f"""
SELECT c.workspace_id, c.trace_id, c.chain_id, c.hour FROM trace_chains c JOIN {_TRACES} USING (workspace_id, trace_id)
"""

OLD_CAUSES = f"""
SELECT c.workspace_id, c.trace_id, c.error_id FROM trace_causes c JOIN {_TRACES} USING (workspace_id, trace_id)
"""

DELETE_TRACE_CHAINS = f"""
DELETE FROM trace_chains c USING {_TRACES} WHERE c.workspace_id = t.workspace_id AND c.trace_id = t.trace_id
"""

DELETE_TRACE_CAUSES = f"""
DELETE FROM trace_causes c USING {_TRACES} WHERE c.workspace_id = t.workspace_id AND c.trace_id = t.trace_id
"""

INSERT_TRACE_CHAIN = "INSERT INTO trace_chains (workspace_id, trace_id, chain_id, hour) VALUES (%s, %s, %s, %s)"
INSERT_TRACE_CAUSE = "INSERT INTO trace_causes (workspace_id, trace_id, error_id, hour) VALUES (%s, %s, %s, %s)"

ADD_CHAIN_HOURLY = """
INSERT INTO chain_hourly AS h (workspace_id, hour, chain_id, executions) VALUES (%s, %s, %s, %s)
ON CONFLICT (workspace_id, hour, chain_id) DO UPDATE SET executions = h.executions + EXCLUDED.executions
"""

UPSERT_ERROR_CHAIN = """
INSERT INTO error_chains AS c (workspace_id, chain_id, root_error_id, cascade_error_ids, first_seen, last_seen,
    executions)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (workspace_id, chain_id) DO UPDATE SET
    executions = c.executions + EXCLUDED.executions,
    first_seen = least(c.first_seen, EXCLUDED.first_seen),
    last_seen = greatest(c.last_seen, EXCLUDED.last_seen)
"""

SUB_ERROR_CHAIN = "UPDATE error_chains SET executions = executions - %s WHERE workspace_id = %s AND chain_id = %s"

ADD_CASCADING_FAILURES = """
UPDATE errors SET cascading_failures = greatest(0, cascading_failures + %s) WHERE workspace_id = %s AND error_id = %s
"""

# Retention (exporter/maintenance.py): what is older than the window goes with the occurrences.
DELETE_OLD = (
    "DELETE FROM trace_chains WHERE hour < %(cutoff)s",
    "DELETE FROM trace_causes WHERE hour < %(cutoff)s",
    "DELETE FROM chain_hourly WHERE hour < %(cutoff)s",
    "DELETE FROM error_chains WHERE last_seen < %(cutoff)s",
    "DELETE FROM recovery_hourly WHERE hour < %(cutoff)s",
)
