"""SQL of the write path for recovery episodes and for the chain linker's queue (one group commit)."""

from ._write_sql import _TS

CREATE_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS stage_recoveries (
    workspace_id text, trace_id bytea, parent_span_id bytea, span_id bytea, last_span_id bytea, method text,
    recovered bool, attempts int4, failed_ns int8, recovered_ns int8
) ON COMMIT DELETE ROWS;
"""

COPY_RECOVERIES = (
    "COPY stage_recoveries (workspace_id, trace_id, parent_span_id, span_id, last_span_id, method, recovered,"
    " attempts, failed_ns, recovered_ns) FROM STDIN (FORMAT BINARY)"
)
RECOVERY_TYPES = ["text", "bytea", "bytea", "bytea", "bytea", "text", "bool", "int4", "int8", "int8"]

# Episodes newly stored (a retried export's are already there: ON CONFLICT), rolled up per hour, method and
# recovery-time bucket (migration 0013: bucket -1 for an episode that did not recover).
INSERT_RECOVERIES = f"""
WITH ins AS (
    INSERT INTO recoveries (workspace_id, failed_at, trace_id, span_id, parent_span_id, last_span_id, method,
        recovered, attempts, recovered_at)
    SELECT workspace_id, {_TS.format("failed_ns")}, trace_id, span_id, parent_span_id, last_span_id, method,
        recovered, attempts, CASE WHEN recovered THEN {_TS.format("recovered_ns")} END
    FROM stage_recoveries
    ON CONFLICT DO NOTHING
    RETURNING workspace_id, failed_at, method, recovered,
        extract(epoch FROM recovered_at - failed_at) AS seconds
)
INSERT INTO recovery_hourly AS h (workspace_id, hour, method, bucket, episodes, seconds)
SELECT workspace_id, date_trunc('hour', failed_at), method,
    CASE WHEN NOT recovered THEN -1
         ELSE least(32000, floor(ln(greatest(seconds * 1000, 1)) / ln(1.25)))::int2 END,
    count(*), coalesce(sum(seconds) FILTER (WHERE recovered), 0)
FROM ins GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
ON CONFLICT (workspace_id, hour, method, bucket) DO UPDATE SET
    episodes = h.episodes + EXCLUDED.episodes,
    seconds = h.seconds + EXCLUDED.seconds
"""

# Every trace whose records, error spans or recovered episodes this commit adds is linked again from what is
# committed (exporter/chains.py): a recovery may arrive after the failure it contains was linked. First in the
# commit and in key order: the upsert row-locks each trace until commit, which serializes two commits of one trace
# so the second sees the first's records (_settle_sql.py).
ENQUEUE_CHAINS = f"""
INSERT INTO chain_pending AS p (workspace_id, trace_id, first_at, last_at)
SELECT workspace_id, trace_id, min({_TS.format("ns")}), max({_TS.format("ns")}) FROM (
    SELECT workspace_id, trace_id, start_ns AS ns FROM stage_spans WHERE trace_id <> ''
    UNION ALL
    SELECT workspace_id, trace_id, time_ns FROM stage_events WHERE trace_id <> ''
    UNION ALL
    SELECT workspace_id, trace_id, failed_ns FROM stage_recoveries WHERE recovered
) s GROUP BY 1, 2 ORDER BY 1, 2
ON CONFLICT (workspace_id, trace_id) DO UPDATE SET
    first_at = least(p.first_at, EXCLUDED.first_at),
    last_at = greatest(p.last_at, EXCLUDED.last_at)
"""
