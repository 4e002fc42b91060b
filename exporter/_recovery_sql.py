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

# The traces this commit may give a chain to are linked again from what is committed (exporter/chains.py): those
# whose rows in this commit may link (`linkable_*`, _rows.enqueue_params: an error with another error's span among
# its error spans' ancestors, or rows from two exports), and those with records an earlier commit stored (the two
# may link: the earlier commit is visible here, after LOCK_TRACES serialized the trace's commits; an error span is
# stored with the record it carries or propagates, so records are nearly always enough to probe). A recovered
# episode committed after the failure it contains (which may have been linked as a cause) is of the second kind.
# The last probe is for a trace with two errors here whose earlier error spans connect them while their own records
# lie over a day away (a span longer than a day, exported before its children): what the linker reads is error
# spans by their start. A trace seen once with one error, or with errors on siblings only, most of them, is not
# queued: it cannot link, and the linker's work per trace was the chains' main cost per span. `traces_from` and
# `traces_to` bound the probes so that partitions are pruned; OFFSET 0 keeps each probe per trace (an index probe),
# never the hashed alternative the planner may pick, which reads every row of the window's partitions per commit.
_ENQUEUE_ROWS = f"""
INSERT INTO chain_pending AS p (workspace_id, trace_id, first_at, last_at)
SELECT workspace_id, trace_id, min({_TS.format("ns")}), max({_TS.format("ns")}) FROM (
    SELECT workspace_id, trace_id, start_ns AS ns, NULL::text AS fingerprint, NULL::text AS previous_fingerprint
    FROM stage_spans WHERE trace_id <> ''
    UNION ALL
    SELECT workspace_id, trace_id, time_ns, fingerprint, previous_fingerprint FROM stage_events WHERE trace_id <> ''
    UNION ALL
    SELECT workspace_id, trace_id, failed_ns, NULL, NULL FROM stage_recoveries WHERE recovered
) s GROUP BY 1, 2"""

_ON_CONFLICT = """
ORDER BY 1, 2
ON CONFLICT (workspace_id, trace_id) DO UPDATE SET
    first_at = least(p.first_at, EXCLUDED.first_at),
    last_at = greatest(p.last_at, EXCLUDED.last_at)
"""

ENQUEUE_CHAINS = (
    _ENQUEUE_ROWS
    + """
HAVING (workspace_id, trace_id) IN (
        SELECT * FROM unnest(%(linkable_workspaces)s::text[], %(linkable_traces)s::bytea[])
    )
    OR EXISTS (SELECT 1 FROM error_occurrences o WHERE o.workspace_id = s.workspace_id AND o.trace_id = s.trace_id
               AND o.occurred_at BETWEEN %(traces_from)s AND %(traces_to)s OFFSET 0)
    OR count(DISTINCT fingerprint || ' ' || coalesce(previous_fingerprint, '')) > 1
       AND EXISTS (SELECT 1 FROM error_spans e WHERE e.workspace_id = s.workspace_id AND e.trace_id = s.trace_id
                   AND e.started_at BETWEEN %(traces_from)s AND %(traces_to)s OFFSET 0)"""
    + _ON_CONFLICT
)

# Citus: no correlated probe from the staging tables into distributed ones (_citus_write_sql.py): every trace is
# queued, and the linker drops those with one error after one read.
ENQUEUE_ALL_CHAINS = _ENQUEUE_ROWS + _ON_CONFLICT
