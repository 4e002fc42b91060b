"""SQL of the write path: one group commit = COPY into per-connection staging tables, then set-based statements.

Each statement touches every row of the group at once; nothing runs per occurrence. Row order (ORDER BY the
key) is fixed so two writers upserting the same errors never deadlock.
"""

# Temporary staging tables, created once per writer connection, emptied at every commit.
CREATE_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS stage_events (
    workspace_id text, time_ns int8, occurrence_id bytea, fingerprint text, fingerprint_config text,
    type text, message text, stacktrace text, title text, culprit text, grouping text,
    severity int2, category int2, source int2, origin int2, handled bool,
    trace_id bytea, span_id bytea, parent_span_id bytea, span_name text,
    user_id text, agent_id text, environment text, version text, credits float8, attributes text,
    stack_hash bytea, previous_fingerprint text, agent_is_service bool, error_id uuid,
    copy bool NOT NULL DEFAULT false  -- a propagation copy of a record committed or kept (_settle_sql.py)
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_new (
    workspace_id text, error_id uuid, occurred_at timestamptz, severity int2,
    user_id text, agent_id text, trace_id bytea, occurrence_id uuid
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_credits (
    workspace_id text, error_id uuid, credits float8
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_counts (
    workspace_id text, error_id uuid, new_users int8, new_agents int8
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_executions (
    workspace_id text, trace_id bytea, span_id bytea, start_ns int8, end_ns int8, failed bool,
    agent_id text, agent_name text, user_id text, environment text, credits float8
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_spans (
    workspace_id text, trace_id bytea, span_id bytea, parent_span_id bytea, name text, start_ns int8,
    end_ns int8, status_code int2, status_message text, propagated bool
) ON COMMIT DELETE ROWS;
"""

COPY_EVENTS = (
    "COPY stage_events (workspace_id, time_ns, occurrence_id, fingerprint, fingerprint_config, type, message,"
    " stacktrace, title, culprit, grouping, severity, category, source, origin, handled, trace_id, span_id,"
    " parent_span_id, span_name, user_id, agent_id, environment, version, credits, attributes, stack_hash,"
    " previous_fingerprint, agent_is_service)"
    " FROM STDIN (FORMAT BINARY)"
)
EVENT_TYPES = [
    "text",
    "int8",
    "bytea",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "int2",
    "int2",
    "int2",
    "int2",
    "bool",
    "bytea",
    "bytea",
    "bytea",
    "text",
    "text",
    "text",
    "text",
    "text",
    "float8",
    "text",
    "bytea",
    "text",
    "bool",
]

COPY_EXECUTIONS = (
    "COPY stage_executions (workspace_id, trace_id, span_id, start_ns, end_ns, failed, agent_id, agent_name,"
    " user_id, environment, credits) FROM STDIN (FORMAT BINARY)"
)
EXECUTION_TYPES = ["text", "bytea", "bytea", "int8", "int8", "bool", "text", "text", "text", "text", "float8"]

COPY_SPANS = (
    "COPY stage_spans (workspace_id, trace_id, span_id, parent_span_id, name, start_ns, end_ns, status_code,"
    " status_message, propagated) FROM STDIN (FORMAT BINARY)"
)
SPAN_TYPES = ["text", "bytea", "bytea", "bytea", "text", "int8", "int8", "int2", "text", "bool"]

# Nanoseconds since the epoch to timestamptz without losing microseconds (float seconds would).
_TS = "(timestamptz '1970-01-01 00:00:00+00' + ({} / 1000) * interval '1 microsecond')"
# The error of each staged occurrence: the error that has this fingerprint, else the one it was aliased to in a
# grouping upgrade, else the error of its previous-algorithm fingerprint, else a new id derived from the
# fingerprint (no round trip to create it). Resolved once per distinct fingerprint (MATERIALIZED keeps the planner
# from looking errors up per staged row): the errors table is small but rewritten by every commit, so each lookup
# walks dead versions; per occurrence that cost ~35 ms per commit.
RESOLVE_ERRORS = """
WITH f AS MATERIALIZED (
    SELECT k.workspace_id, k.fingerprint, k.previous_fingerprint,
           coalesce(e.error_id, a.error_id, p.error_id, md5(k.workspace_id || '/' || k.fingerprint)::uuid) AS error_id
    FROM (SELECT DISTINCT workspace_id, fingerprint, previous_fingerprint FROM stage_events) k
    LEFT JOIN errors e ON e.workspace_id = k.workspace_id AND e.fingerprint = k.fingerprint
    LEFT JOIN fingerprint_aliases a ON a.workspace_id = k.workspace_id AND a.fingerprint = k.fingerprint
    LEFT JOIN errors p ON k.previous_fingerprint <> '' AND p.workspace_id = k.workspace_id
                      AND p.fingerprint = k.previous_fingerprint
)
UPDATE stage_events s SET error_id = f.error_id FROM f
WHERE s.workspace_id = f.workspace_id AND s.fingerprint = f.fingerprint
  AND s.previous_fingerprint = f.previous_fingerprint
"""

# New fingerprints that joined an existing error through their previous-algorithm fingerprint.
INSERT_ALIASES = """
INSERT INTO fingerprint_aliases (workspace_id, fingerprint, error_id)
SELECT DISTINCT ON (s.workspace_id, s.fingerprint) s.workspace_id, s.fingerprint, s.error_id
FROM stage_events s
WHERE s.previous_fingerprint <> '' AND s.error_id <> md5(s.workspace_id || '/' || s.fingerprint)::uuid
  AND NOT EXISTS (SELECT 1 FROM errors e WHERE e.workspace_id = s.workspace_id AND e.fingerprint = s.fingerprint)
ORDER BY s.workspace_id, s.fingerprint
ON CONFLICT DO NOTHING
"""

INSERT_OCCURRENCES = f"""
WITH ins AS (
    INSERT INTO error_occurrences (workspace_id, occurred_at, occurrence_id, error_id, trace_id, span_id,
        parent_span_id, span_name, origin, severity, handled, user_id, agent_id, environment, version, message,
        stack_hash, credits, attributes, agent_is_service)
    SELECT workspace_id, {_TS.format("time_ns")}, encode(occurrence_id, 'hex')::uuid, error_id, trace_id,
        span_id, parent_span_id, span_name, origin, severity, handled, user_id, agent_id, environment, version,
        message, stack_hash, credits, attributes::jsonb, agent_is_service
    FROM stage_events WHERE NOT copy
    ON CONFLICT DO NOTHING
    RETURNING workspace_id, error_id, occurred_at, severity, user_id, agent_id, trace_id, occurrence_id
)
INSERT INTO stage_new (workspace_id, error_id, occurred_at, severity, user_id, agent_id, trace_id, occurrence_id)
SELECT workspace_id, error_id, occurred_at, severity, user_id, agent_id, trace_id, occurrence_id FROM ins
"""

INSERT_STACKTRACES = """
INSERT INTO error_stacktraces (workspace_id, stack_hash, stacktrace)
SELECT DISTINCT ON (workspace_id, stack_hash) workspace_id, stack_hash, stacktrace
FROM stage_events WHERE stacktrace <> ''
ORDER BY workspace_id, stack_hash
ON CONFLICT DO NOTHING
"""

# Affected users and agents of each error, one row per (error, person); a row's first insert counts a new person.
_UPSERT_ERROR_PEOPLE = """
WITH p AS (
    INSERT INTO error_{kind}s AS t (workspace_id, error_id, {kind}_id, first_seen, last_seen, occurrences)
    SELECT workspace_id, error_id, {kind}_id, min(occurred_at), max(occurred_at), count(*)
    FROM {source} WHERE {kind}_id <> '' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (workspace_id, error_id, {kind}_id) DO UPDATE SET
        first_seen = LEAST(t.first_seen, EXCLUDED.first_seen),
        last_seen = GREATEST(t.last_seen, EXCLUDED.last_seen),
        occurrences = t.occurrences + EXCLUDED.occurrences
    RETURNING workspace_id, error_id, (xmax = 0) AS inserted
)
INSERT INTO stage_counts (workspace_id, error_id, new_users, new_agents)
SELECT workspace_id, error_id, {users}, {agents} FROM p GROUP BY 1, 2
"""
_NEW = "count(*) FILTER (WHERE inserted)"


def upsert_error_people(kind: str, source: str) -> str:
    """Per-error users (`kind` user) or agents of the occurrences in `source`; new people go to stage_counts."""
    if kind == "user":
        return _UPSERT_ERROR_PEOPLE.format(kind=kind, users=_NEW, agents="0", source=source)
    return _UPSERT_ERROR_PEOPLE.format(kind=kind, users="0", agents=_NEW, source=source)


UPSERT_ERROR_USERS = upsert_error_people("user", "stage_new")
UPSERT_ERROR_AGENTS = upsert_error_people("agent", "stage_new")

# One upsert per fingerprint per group; an occurrence after resolution reopens the error (regression).
# An execution (trace) counts for an error once: not when an earlier commit stored this error in this trace (a
# trace's spans may arrive in several exports, to several processes; two commits of one trace are serialized by
# LOCK_TRACES (_settle_sql.py), so the later one sees the earlier). The probe is CREDITS_FROM_KNOWN_EXECUTIONS's.
# The per-pair probe (`_FIRST_IN_TRACE`) is what the Citus form replaces.
_FIRST_IN_TRACE = """x AS (
    SELECT p.workspace_id, p.error_id, count(*) AS executions FROM pairs p
    LEFT JOIN LATERAL (
        SELECT true AS seen FROM error_occurrences o
        WHERE o.workspace_id = p.workspace_id AND o.trace_id = p.trace_id
          AND o.error_id IS NOT DISTINCT FROM p.error_id
          AND o.occurred_at BETWEEN p.occurred_at - interval '1 day' AND p.occurred_at + interval '1 day'
          AND o.occurred_at BETWEEN %(occurrences_from)s AND %(occurrences_to)s  -- commit_windows()
          AND NOT EXISTS (SELECT 1 FROM stage_new s WHERE s.occurrence_id = o.occurrence_id)
        LIMIT 1) earlier ON true
    WHERE earlier.seen IS NULL GROUP BY 1, 2
)"""
UPSERT_ERRORS = (
    """
WITH pairs AS MATERIALIZED (
    SELECT workspace_id, error_id, trace_id, min(occurred_at) AS occurred_at FROM stage_new
    WHERE trace_id <> '' GROUP BY 1, 2, 3
), """
    + _FIRST_IN_TRACE
    + """, n AS (
    SELECT workspace_id, error_id, min(occurred_at) AS first_seen, max(occurred_at) AS last_seen,
           count(*) AS occurrences, max(severity) AS severity
    FROM stage_new GROUP BY 1, 2
), k AS (
    SELECT workspace_id, error_id, sum(credits) AS credits FROM stage_credits GROUP BY 1, 2
), c AS (
    SELECT workspace_id, error_id, sum(new_users) AS new_users, sum(new_agents) AS new_agents
    FROM stage_counts GROUP BY 1, 2
), r AS (
    SELECT DISTINCT ON (workspace_id, error_id) * FROM stage_events ORDER BY workspace_id, error_id, time_ns
), g AS (
    -- The grouping explanation travels once per fingerprint (KnownTexts): on any row of the error, or on none
    -- when the error already exists (then the insert conflicts and does not read it).
    SELECT DISTINCT ON (workspace_id, error_id) workspace_id, error_id, grouping FROM stage_events
    WHERE grouping <> '' ORDER BY workspace_id, error_id, time_ns
)
INSERT INTO errors AS e (workspace_id, error_id, fingerprint, fingerprint_config, type, message, title, culprit,
    stacktrace, grouping, severity, category, source, first_seen, last_seen, occurrences, users, agents, agent_id,
    user_id, environment, version, context, executions_affected, credits_lost)
SELECT n.workspace_id, n.error_id, r.fingerprint, r.fingerprint_config, r.type, r.message, r.title, r.culprit,
    -- Stack texts travel once per template (KnownTexts, stack_template: the message put back); stored above.
    coalesce((SELECT replace(st.stacktrace, chr(57344), r.message) FROM error_stacktraces st
              WHERE st.workspace_id = n.workspace_id AND st.stack_hash = r.stack_hash), ''),
    coalesce(g.grouping, '{}')::jsonb, n.severity, r.category, r.source, n.first_seen, n.last_seen, n.occurrences,
    coalesce(c.new_users, 0), coalesce(c.new_agents, 0), r.agent_id, r.user_id, r.environment, r.version,
    r.attributes::jsonb, coalesce(x.executions, 0), coalesce(k.credits, 0)
FROM n JOIN r USING (workspace_id, error_id)
LEFT JOIN x ON x.workspace_id = n.workspace_id AND x.error_id = n.error_id
LEFT JOIN c ON c.workspace_id = n.workspace_id AND c.error_id = n.error_id
LEFT JOIN k ON k.workspace_id = n.workspace_id AND k.error_id = n.error_id
LEFT JOIN g ON g.workspace_id = n.workspace_id AND g.error_id = n.error_id
ORDER BY n.workspace_id, n.error_id
ON CONFLICT (workspace_id, error_id) DO UPDATE SET
    occurrences = e.occurrences + EXCLUDED.occurrences,
    users = e.users + EXCLUDED.users,
    agents = e.agents + EXCLUDED.agents,
    executions_affected = e.executions_affected + EXCLUDED.executions_affected,
    credits_lost = e.credits_lost + EXCLUDED.credits_lost,
    first_seen = LEAST(e.first_seen, EXCLUDED.first_seen),
    last_seen = GREATEST(e.last_seen, EXCLUDED.last_seen),
    severity = GREATEST(e.severity, EXCLUDED.severity),
    status = CASE WHEN e.status = 'resolved' AND EXCLUDED.last_seen > e.resolved_at THEN 'new' ELSE e.status END,
    status_changed_at = CASE WHEN e.status = 'resolved' AND EXCLUDED.last_seen > e.resolved_at
                             THEN now() ELSE e.status_changed_at END,
    regressed_at = CASE WHEN e.status = 'resolved' AND EXCLUDED.last_seen > e.resolved_at
                        THEN now() ELSE e.regressed_at END,
    updated_at = now()
RETURNING workspace_id, error_id, (xmax = 0) AS created, (regressed_at = now()) AS regressed
"""
)

# Executions newly stored in this group (the `ins` CTE below), counted per agent and time bucket.
_EXECUTION_ROLLUP = """
INSERT INTO {table} AS c (workspace_id, {bucket}, agent_id, executions, failed, credits, credits_failed)
SELECT workspace_id, date_trunc('{bucket}', started_at), agent_id, count(*), count(*) FILTER (WHERE failed),
       sum(credits), coalesce(sum(credits) FILTER (WHERE failed), 0)
FROM ins GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (workspace_id, {bucket}, agent_id) DO UPDATE SET
    executions = c.executions + EXCLUDED.executions,
    failed = c.failed + EXCLUDED.failed,
    credits = c.credits + EXCLUDED.credits,
    credits_failed = c.credits_failed + EXCLUDED.credits_failed"""

INSERT_EXECUTIONS = f"""
WITH ins AS (
    INSERT INTO executions (workspace_id, started_at, trace_id, span_id, ended_at, failed, agent_id, agent_name,
        user_id, environment, credits)
    SELECT workspace_id, {_TS.format("start_ns")}, trace_id, span_id,
        CASE WHEN end_ns > 0 THEN {_TS.format("end_ns")} END, failed, agent_id, agent_name, user_id,
        environment, credits
    FROM stage_executions
    ON CONFLICT DO NOTHING
    RETURNING workspace_id, started_at, trace_id, agent_id, failed, credits
), hourly AS (
    {_EXECUTION_ROLLUP.format(table="execution_hourly", bucket="hour")}
    RETURNING 1
), lost AS (
    -- A failed execution arriving after (or with) its errors: its credits go to every error it contains.
    -- One trace-index probe per failed execution: the DISTINCT keeps the LATERAL subquery from being flattened
    -- into a join the planner may turn into a scan of the whole day's occurrences, which it did when the
    -- day's statistics were older than its rows (the newest times lie past the histogram, so a window over them
    -- looks empty): 60-120 ms per commit, growing with the day (tests/test_store_partitions.py).
    INSERT INTO stage_credits (workspace_id, error_id, credits)
    SELECT DISTINCT ON (x.workspace_id, o.error_id, x.trace_id) x.workspace_id, o.error_id, x.credits
    FROM ins x CROSS JOIN LATERAL (
        SELECT DISTINCT o.error_id FROM error_occurrences o
        WHERE o.workspace_id = x.workspace_id AND o.trace_id = x.trace_id
          AND o.occurred_at BETWEEN x.started_at - interval '1 hour' AND x.started_at + interval '1 day'
          AND o.occurred_at BETWEEN %(occurrences_from)s AND %(occurrences_to)s  -- commit_windows()
    ) o
    WHERE x.failed AND x.credits <> 0
    RETURNING 1
)
{_EXECUTION_ROLLUP.format(table="execution_counts", bucket="minute")}
"""

INSERT_ERROR_SPANS = f"""
INSERT INTO error_spans (workspace_id, started_at, trace_id, span_id, parent_span_id, name, ended_at, status_code,
    status_message, propagated)
SELECT workspace_id, {_TS.format("start_ns")}, trace_id, span_id, parent_span_id, name,
    CASE WHEN end_ns > 0 THEN {_TS.format("end_ns")} END, status_code, status_message, propagated
FROM stage_spans
ON CONFLICT DO NOTHING
"""

# The two statements below look rows up by a time window around each staged row. The planner cannot prune
# partitions by such a window (it depends on the row), so it planned every daily partition: with 95 of them (90 days
# of retention) 20 + 13 ms of planning per commit instead of ~1.5. Each therefore also gets the window's bounds
# over the whole commit as parameters (`_rows.commit_windows`): constants the planner prunes by, implied by the
# per-row window, so no row changes.

# Credits of failed executions stored in earlier commits, for their errors arriving now: once per error and trace.
# The executions probe goes first (MATERIALIZED fixes the order): it rarely finds one (a trace's root span usually
# ends, and is exported, after its failing children), so the occurrences probe runs for few rows (3.6 -> ~1.5 ms
# per 20-request commit in bench/ingest.py).
CREDITS_FROM_KNOWN_EXECUTIONS = """
INSERT INTO stage_credits (workspace_id, error_id, credits)
WITH known AS MATERIALIZED (
    SELECT n.workspace_id, n.error_id, n.trace_id, n.occurred_at, x.credits
    FROM (SELECT workspace_id, error_id, trace_id, min(occurred_at) AS occurred_at FROM stage_new
          WHERE trace_id <> '' GROUP BY 1, 2, 3) n
    JOIN LATERAL (
        SELECT x.credits FROM executions x
        WHERE x.workspace_id = n.workspace_id AND x.trace_id = n.trace_id AND x.failed AND x.credits <> 0
          AND x.started_at BETWEEN n.occurred_at - interval '1 day' AND n.occurred_at + interval '1 hour'
          AND x.started_at BETWEEN %(executions_from)s AND %(executions_to)s  -- commit_windows()
        LIMIT 1) x ON true
)
SELECT n.workspace_id, n.error_id, n.credits FROM known n
-- Not when an earlier commit stored this error in this trace (it took the credits then). A LATERAL probe with
-- LIMIT, not NOT EXISTS: the planner may turn an anti-join into a scan of the day's occurrences when their
-- statistics are stale (see `lost` in INSERT_EXECUTIONS).
LEFT JOIN LATERAL (
    SELECT true AS seen FROM error_occurrences o
    -- IS NOT DISTINCT FROM (the column is NOT NULL, so the same result): it keeps the planner on the trace index
    -- instead of walking every occurrence of a hot error by (error_id, occurred_at) for each trace.
    WHERE o.workspace_id = n.workspace_id AND o.trace_id = n.trace_id AND o.error_id IS NOT DISTINCT FROM n.error_id
      AND o.occurred_at BETWEEN n.occurred_at - interval '1 day' AND n.occurred_at + interval '1 day'
      AND o.occurred_at BETWEEN %(occurrences_from)s AND %(occurrences_to)s  -- commit_windows()
      AND NOT EXISTS (SELECT 1 FROM stage_new s WHERE s.occurrence_id = o.occurrence_id)
    LIMIT 1) earlier ON true
WHERE earlier.seen IS NULL
"""

# The errors upsert consumed the credits known so far; what failed executions of this group add comes after.
CLEAR_CREDITS = "DELETE FROM stage_credits"

# Credits of this group's failed executions, for errors seen before them (in earlier commits or in this one).
APPLY_LATE_CREDITS = """
UPDATE errors e SET credits_lost = e.credits_lost + k.credits
FROM (SELECT workspace_id, error_id, sum(credits) AS credits FROM stage_credits GROUP BY 1, 2 ORDER BY 1, 2) k
WHERE e.workspace_id = k.workspace_id AND e.error_id = k.error_id
"""

ROLLUP_MINUTE = """
INSERT INTO error_minute AS m (workspace_id, minute, error_id, occurrences, critical, high, medium, low)
SELECT workspace_id, date_trunc('minute', occurred_at), error_id, count(*), count(*) FILTER (WHERE severity = 4),
       count(*) FILTER (WHERE severity = 3), count(*) FILTER (WHERE severity = 2),
       count(*) FILTER (WHERE severity <= 1)
FROM stage_new WHERE occurred_at > now() - interval '2 hours'
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (workspace_id, minute, error_id) DO UPDATE SET
    occurrences = m.occurrences + EXCLUDED.occurrences, critical = m.critical + EXCLUDED.critical,
    high = m.high + EXCLUDED.high, medium = m.medium + EXCLUDED.medium, low = m.low + EXCLUDED.low
"""

# Per-error and workspace rollups of one grain. An error counts as distinct in a bucket when its row is inserted,
# and for a severity when that severity's count equals what this commit adds (it was 0 before): exact under
# concurrent writers, since each sees the row as the other left it.
_ROLLUP = """
WITH s AS (
    SELECT workspace_id, {expr} AS {bucket}, error_id, count(*) AS n, count(*) FILTER (WHERE severity = 4) AS c,
           count(*) FILTER (WHERE severity = 3) AS h, count(*) FILTER (WHERE severity = 2) AS m,
           count(*) FILTER (WHERE severity <= 1) AS l
    FROM stage_new GROUP BY 1, 2, 3
), g AS (
    INSERT INTO error_{grain} AS r (workspace_id, {bucket}, error_id, occurrences, critical, high, medium, low)
    SELECT * FROM s ORDER BY 1, 2, 3
    ON CONFLICT (workspace_id, {bucket}, error_id) DO UPDATE SET
        occurrences = r.occurrences + EXCLUDED.occurrences, critical = r.critical + EXCLUDED.critical,
        high = r.high + EXCLUDED.high, medium = r.medium + EXCLUDED.medium, low = r.low + EXCLUDED.low
    RETURNING workspace_id, {bucket}, error_id, (xmax = 0) AS inserted, critical, high, medium, low
), u AS (
    SELECT g.workspace_id, g.{bucket}, count(*) FILTER (WHERE g.inserted) AS new_errors,
           count(*) FILTER (WHERE s.c > 0 AND g.critical = s.c) AS new_c,
           count(*) FILTER (WHERE s.h > 0 AND g.high = s.h) AS new_h,
           count(*) FILTER (WHERE s.m > 0 AND g.medium = s.m) AS new_m,
           count(*) FILTER (WHERE s.l > 0 AND g.low = s.l) AS new_l
    FROM g JOIN s USING (workspace_id, {bucket}, error_id) GROUP BY 1, 2
)
INSERT INTO workspace_{grain} AS w (workspace_id, {bucket}, occurrences, critical, high, medium, low, unique_errors,
    unique_critical, unique_high, unique_medium, unique_low)
SELECT s.workspace_id, s.{bucket}, sum(s.n), sum(s.c), sum(s.h), sum(s.m), sum(s.l), max(u.new_errors),
       max(u.new_c), max(u.new_h), max(u.new_m), max(u.new_l)
FROM s JOIN u USING (workspace_id, {bucket}) GROUP BY 1, 2 ORDER BY 1, 2
ON CONFLICT (workspace_id, {bucket}) DO UPDATE SET
    occurrences = w.occurrences + EXCLUDED.occurrences, critical = w.critical + EXCLUDED.critical,
    high = w.high + EXCLUDED.high, medium = w.medium + EXCLUDED.medium, low = w.low + EXCLUDED.low,
    unique_errors = w.unique_errors + EXCLUDED.unique_errors,
    unique_critical = w.unique_critical + EXCLUDED.unique_critical,
    unique_high = w.unique_high + EXCLUDED.unique_high, unique_medium = w.unique_medium + EXCLUDED.unique_medium,
    unique_low = w.unique_low + EXCLUDED.unique_low
"""
ROLLUP_HOURLY = _ROLLUP.format(grain="hourly", bucket="hour", expr="date_trunc('hour', occurred_at)")
ROLLUP_DAILY = _ROLLUP.format(grain="daily", bucket="day", expr="(occurred_at AT TIME ZONE 'UTC')::date")

# Users and agents that had an error occurrence: one row each (migration 0007), and one per occurrence severity
# (0009, severities 0 and 1 share "low" like the rollups). One statement per commit, rows in key order. Distinct
# affected people over a window ending now are the rows whose last_error_at is in it (no index: HOT, see 0010).
_PEOPLE_ROLLUP = """
    INSERT INTO {table} AS w (workspace_id, {severity}{kind}_id, first_error_at, last_error_at, occurrences)
    SELECT workspace_id, {severity_expr}{kind}_id, min(occurred_at), max(occurred_at), count(*)
    FROM {source} WHERE {kind}_id <> '' GROUP BY {keys} ORDER BY {keys}
    ON CONFLICT (workspace_id, {severity}{kind}_id) DO UPDATE SET
        first_error_at = LEAST(w.first_error_at, EXCLUDED.first_error_at),
        last_error_at = GREATEST(w.last_error_at, EXCLUDED.last_error_at),
        occurrences = w.occurrences + EXCLUDED.occurrences"""


def _people_rollup(kind: str, by_severity: bool, source: str) -> str:
    if by_severity:
        return _PEOPLE_ROLLUP.format(
            table=f"workspace_severity_{kind}s",
            kind=kind,
            severity="severity, ",
            severity_expr="greatest(severity, 1)::int2, ",
            keys="1, 2, 3",
            source=source,
        )
    return _PEOPLE_ROLLUP.format(
        table=f"workspace_error_{kind}s", kind=kind, severity="", severity_expr="", keys="1, 2", source=source
    )


def people_rollup(source: str) -> str:
    """The four people rollups of the occurrences in `source` (a table shaped like stage_new)."""
    return f"""
WITH u AS ({_people_rollup("user", False, source)}
    RETURNING 1
), su AS ({_people_rollup("user", True, source)}
    RETURNING 1
), sa AS ({_people_rollup("agent", True, source)}
    RETURNING 1
){_people_rollup("agent", False, source)}
"""


ROLLUP_PEOPLE = people_rollup("stage_new")

# Users and agents that ran executions: one row each, so active users over a window are a scan of small tables.
UPSERT_WORKSPACE_USERS = f"""
INSERT INTO workspace_users AS w (workspace_id, user_id, first_seen, last_seen)
SELECT workspace_id, user_id, min({_TS.format("start_ns")}), max({_TS.format("start_ns")})
FROM stage_executions WHERE user_id <> '' GROUP BY 1, 2 ORDER BY 1, 2
ON CONFLICT (workspace_id, user_id) DO UPDATE SET
    first_seen = LEAST(w.first_seen, EXCLUDED.first_seen), last_seen = GREATEST(w.last_seen, EXCLUDED.last_seen)
"""

UPSERT_WORKSPACE_AGENTS = f"""
INSERT INTO workspace_agents AS w (workspace_id, agent_id, agent_name, first_seen, last_seen)
SELECT workspace_id, agent_id, max(agent_name), min({_TS.format("start_ns")}), max({_TS.format("start_ns")})
FROM stage_executions WHERE agent_id <> '' GROUP BY 1, 2 ORDER BY 1, 2
ON CONFLICT (workspace_id, agent_id) DO UPDATE SET
    agent_name = CASE WHEN EXCLUDED.agent_name <> '' THEN EXCLUDED.agent_name ELSE w.agent_name END,
    first_seen = LEAST(w.first_seen, EXCLUDED.first_seen), last_seen = GREATEST(w.last_seen, EXCLUDED.last_seen)
"""

DELETE_OLD_MINUTES = "DELETE FROM error_minute WHERE minute < now() - interval '2 hours'"
