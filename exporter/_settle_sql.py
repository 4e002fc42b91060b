"""SQL that settles a trace's propagation copies from committed data, so the count does not depend on routing.

One exception escaping nested spans is recorded on each of them; the processor keeps one record per trace from
its memory of the trace. When a trace's spans reach different processes (or two exports of it are processed at
the same moment) each may keep its own copy, and only the store sees both. The rules are the processor's
(otel_errors/processor.py, `_is_propagation`): in one trace, two records are one exception when

- both carry an exception with the same type and message, on spans one of which is an ancestor of the other
  (a log record also matches a record on its own span, in either order); or
- one is an ERROR span without an exception event, on the span of the other (an exception) or above it: the
  status-only one is the copy. (An exception arriving after a status-only error above it is kept, as the
  processor keeps it in that order.)

Enrichment likewise: a record stored before its trace's execution was seen has no user (and its service's name
as agent, `agent_is_service`); the execution names both. A staged record takes them from an execution committed
or staged with it (ENRICH_STAGED); a staged execution gives them to the records committed before it
(REATTRIBUTE_*, moving them between the people rollups). The execution of a trace is its earliest-started one.

Serialization: every commit first inserts a `trace_locks` row for each trace it writes (LOCK_TRACES, in key order)
and deletes them last (UNLOCK_TRACES): a second commit of the same trace waits on the first's row until it
commits, and its later statements see the first one's rows. So a staged record is compared with everything
committed for its trace, and a copy is marked (`stage_events.copy`), never stored and never counted. The
committed record is kept; between two records staged together the inner one is. A copy still carries its texts
to the staging statements that store texts once per fingerprint, so nothing another row relies on is lost.
"""

from ._write_sql import _TS, people_rollup, upsert_error_people

SPAN_EVENT, LOG_RECORD, SPAN_STATUS = 1, 2, 3  # otel_errors.batch.Origin
MAX_DEPTH = 64  # ancestors followed, as in otel_errors.chains

# Staged records that may be copies: another record of their trace (committed, or staged with them) that matches
# by type and message, or that is a status-only error (or faces one). Most commits find none, at one trace-index
# probe per staged record; the ancestry walk below runs only for the traces found.
_CANDIDATES = f"""
cand AS MATERIALIZED (
    SELECT s.occurrence_id, s.workspace_id, s.trace_id, s.span_id, s.origin, o.span_id AS other_span,
           o.origin AS other_origin, false AS staged, o.occurrence_id AS other_id
    FROM stage_events s
    CROSS JOIN LATERAL (
        -- The trace's occurrences first (OFFSET 0: not flattened), then their errors by key: joined the other
        -- way round the planner walks every error of the workspace per staged record.
        SELECT o.span_id, o.origin, o.occurrence_id, o.error_id, o.message FROM error_occurrences o
        WHERE o.workspace_id = s.workspace_id AND o.trace_id = s.trace_id
          AND o.occurred_at BETWEEN %(occurrences_from)s AND %(occurrences_to)s  -- commit_windows()
        OFFSET 0
    ) o
    JOIN errors e ON e.workspace_id = s.workspace_id AND e.error_id = o.error_id
    WHERE s.trace_id <> '' AND s.span_id <> ''
      AND o.occurrence_id <> encode(s.occurrence_id, 'hex')::uuid  -- a retried record is not its own copy
      AND (s.origin = {SPAN_STATUS} OR o.origin = {SPAN_STATUS} OR (o.message = s.message AND e.type = s.type))
    UNION ALL
    -- Pairs staged together: one join (hashed), not a probe of the staging table per record.
    SELECT s.occurrence_id, s.workspace_id, s.trace_id, s.span_id, s.origin, t.span_id, t.origin, true,
           encode(t.occurrence_id, 'hex')::uuid
    FROM stage_events s
    JOIN stage_events t ON t.workspace_id = s.workspace_id AND t.trace_id = s.trace_id
                       AND t.occurrence_id <> s.occurrence_id
    WHERE s.trace_id <> '' AND s.span_id <> ''
      AND (s.origin = {SPAN_STATUS} OR t.origin = {SPAN_STATUS} OR (t.message = s.message AND t.type = s.type))
)"""

# Parentage of the candidates' traces: committed error spans and the staged ones (the Citus form replaces
# `_PARENTS`).
_PARENTS = """parents AS MATERIALIZED (
    SELECT t.workspace_id, t.trace_id, x.span_id, x.parent_span_id FROM traces t CROSS JOIN LATERAL (
        SELECT x.span_id, x.parent_span_id FROM error_spans x  -- probed per trace, as above
        WHERE x.workspace_id = t.workspace_id AND x.trace_id = t.trace_id
          AND x.started_at BETWEEN %(occurrences_from)s AND %(occurrences_to)s AND x.parent_span_id <> ''
        OFFSET 0
    ) x
    UNION
    SELECT x.workspace_id, x.trace_id, x.span_id, x.parent_span_id FROM stage_spans x JOIN traces USING
        (workspace_id, trace_id)
    WHERE x.parent_span_id <> ''
)"""
_ANCESTRY = f"""
traces AS (SELECT DISTINCT workspace_id, trace_id FROM cand),
{_PARENTS},
walk (workspace_id, trace_id, start, span_id, depth) AS (
    SELECT DISTINCT workspace_id, trace_id, span, span, 0 FROM cand CROSS JOIN LATERAL (VALUES (span_id),
        (other_span)) v (span)
    UNION
    SELECT w.workspace_id, w.trace_id, w.start, p.parent_span_id, w.depth + 1 FROM walk w
    JOIN parents p ON p.workspace_id = w.workspace_id AND p.trace_id = w.trace_id AND p.span_id = w.span_id
    WHERE w.depth < {MAX_DEPTH}
),
-- (span, ancestor) pairs, ancestors strictly above; a parent cycle gives a span as its own ancestor: no pair.
above AS (
    SELECT workspace_id, trace_id, start, span_id AS ancestor FROM walk WHERE depth > 0 AND span_id <> start
)"""

# A staged record is a copy when the other record is committed, or staged and kept by the tie rules: the inner of
# two exceptions, the span event over a log record, else the lower id; a status-only error is the copy of an
# exception on its span or below, committed or staged.
MARK_COPIES = f"""
WITH RECURSIVE {_CANDIDATES},
{_ANCESTRY},
related AS (
    SELECT c.*,
        EXISTS (SELECT 1 FROM above a WHERE a.workspace_id = c.workspace_id AND a.trace_id = c.trace_id
                AND a.start = c.span_id AND a.ancestor = c.other_span) AS other_above,
        EXISTS (SELECT 1 FROM above a WHERE a.workspace_id = c.workspace_id AND a.trace_id = c.trace_id
                AND a.start = c.other_span AND a.ancestor = c.span_id) AS other_below
    FROM cand c
),
copies AS (
    SELECT DISTINCT occurrence_id FROM related r
    WHERE CASE
        -- A status-only error on the other record's span or above it is that record's propagation.
        WHEN r.origin = {SPAN_STATUS} AND r.other_origin <> {SPAN_STATUS}
            THEN r.other_below OR r.span_id = r.other_span
        -- ... but an exception is never a copy of a status-only error (the processor keeps both in that order).
        WHEN r.other_origin = {SPAN_STATUS}
            THEN false
        -- The same exception on one span, when a log record carried either (several exception events on one
        -- span are several occurrences); between two staged records the span event is kept.
        WHEN r.span_id = r.other_span
            THEN (r.origin = {LOG_RECORD} OR r.other_origin = {LOG_RECORD})
                 AND (NOT r.staged OR r.origin > r.other_origin
                      OR (r.origin = r.other_origin AND encode(r.occurrence_id, 'hex')::uuid > r.other_id))
        ELSE (NOT r.staged AND (r.other_above OR r.other_below)) OR (r.staged AND r.other_below)
    END
)
, marked AS (
    UPDATE stage_events s SET copy = true FROM copies c WHERE s.occurrence_id = c.occurrence_id
    RETURNING s.workspace_id, s.trace_id, s.span_id
), spans AS (
    UPDATE stage_spans x SET propagated = true FROM marked m
    WHERE x.workspace_id = m.workspace_id AND x.trace_id = m.trace_id AND x.span_id = m.span_id
)
SELECT count(*) FROM marked
"""


_STAGED_TRACES = """
    SELECT workspace_id, trace_id FROM stage_events WHERE trace_id <> ''
    UNION SELECT workspace_id, trace_id FROM stage_spans WHERE trace_id <> ''
    UNION SELECT workspace_id, trace_id FROM stage_executions WHERE trace_id <> ''
    UNION SELECT workspace_id, trace_id FROM stage_recoveries WHERE trace_id <> ''"""

LOCK_TRACES = f"""
INSERT INTO trace_locks (workspace_id, trace_id)
SELECT workspace_id, trace_id FROM ({_STAGED_TRACES}) t ORDER BY 1, 2
ON CONFLICT DO NOTHING
"""

UNLOCK_TRACES = f"""
DELETE FROM trace_locks l USING ({_STAGED_TRACES}) t
WHERE l.workspace_id = t.workspace_id AND l.trace_id = t.trace_id
"""

# The errors this commit changes, locked first and in key order. Their people rows (error_users, error_agents) are
# written by two statements in a commit that both adds occurrences and re-attributes earlier ones; two such
# commits of one hot error could take those rows in opposite orders. Holding the error's row first makes every
# writer of its people rows wait in one line. (An error not yet stored has no row: its first commit inserts it.)
LOCK_ERRORS = """
SELECT 1 FROM errors e
WHERE (e.workspace_id, e.error_id) IN (SELECT workspace_id, error_id FROM stage_events WHERE NOT copy
                                       UNION SELECT workspace_id, error_id FROM stage_moved)
ORDER BY e.workspace_id, e.error_id
FOR NO KEY UPDATE OF e
"""

# The execution of each trace that staged records lack a user, agent or environment for.
ENRICH_STAGED = f"""
WITH need AS (
    SELECT DISTINCT workspace_id, trace_id FROM stage_events
    WHERE trace_id <> '' AND NOT copy AND (user_id = '' OR agent_is_service OR environment = '')
), x AS (
    SELECT DISTINCT ON (n.workspace_id, n.trace_id) n.workspace_id, n.trace_id, e.user_id, e.agent_id, e.environment
    FROM need n CROSS JOIN LATERAL (
        SELECT {_TS.format("x.start_ns")} AS started_at, x.user_id, x.agent_id, x.environment FROM stage_executions x
        WHERE x.workspace_id = n.workspace_id AND x.trace_id = n.trace_id
        UNION ALL
        SELECT x.started_at, x.user_id, x.agent_id, x.environment FROM executions x
        WHERE x.workspace_id = n.workspace_id AND x.trace_id = n.trace_id
          AND x.started_at BETWEEN %(executions_from)s AND %(executions_to)s  -- commit_windows()
    ) e
    ORDER BY n.workspace_id, n.trace_id, e.started_at
)
UPDATE stage_events s SET
    user_id = CASE WHEN s.user_id = '' THEN x.user_id ELSE s.user_id END,
    agent_id = CASE WHEN s.agent_is_service AND x.agent_id <> '' THEN x.agent_id ELSE s.agent_id END,
    agent_is_service = s.agent_is_service AND x.agent_id = '',
    environment = CASE WHEN s.environment = '' THEN x.environment ELSE s.environment END
FROM x WHERE s.workspace_id = x.workspace_id AND s.trace_id = x.trace_id
  AND (s.user_id = '' OR s.agent_is_service OR s.environment = '')
"""

# Records of earlier commits that this commit's executions name: what changes, before it changes. `user_id` and
# `agent_id` hold the person gained ('' when none), `old_agent` the service name the record leaves.
REATTRIBUTE_FIND = f"""
INSERT INTO stage_moved (workspace_id, error_id, occurred_at, occurrence_id, severity, trace_id, user_id, agent_id,
    old_agent, environment)
WITH x AS (
    SELECT DISTINCT ON (workspace_id, trace_id) workspace_id, trace_id, {_TS.format("start_ns")} AS started_at,
        user_id, agent_id, environment
    FROM stage_executions ORDER BY workspace_id, trace_id, start_ns
)
SELECT o.workspace_id, o.error_id, o.occurred_at, o.occurrence_id, o.severity, o.trace_id,
    CASE WHEN o.user_id = '' THEN x.user_id ELSE '' END,
    CASE WHEN o.agent_is_service AND x.agent_id <> '' AND x.agent_id <> o.agent_id THEN x.agent_id ELSE '' END,
    CASE WHEN o.agent_is_service AND x.agent_id <> '' AND x.agent_id <> o.agent_id THEN o.agent_id ELSE '' END,
    CASE WHEN o.environment = '' THEN x.environment ELSE '' END
FROM x JOIN error_occurrences o ON o.workspace_id = x.workspace_id AND o.trace_id = x.trace_id
WHERE o.occurred_at BETWEEN x.started_at - interval '1 hour' AND x.started_at + interval '1 day'
  AND o.occurred_at BETWEEN %(occurrences_from)s AND %(occurrences_to)s  -- commit_windows()
  AND ((o.user_id = '' AND x.user_id <> '') OR (o.agent_is_service AND x.agent_id <> '' AND x.agent_id <> o.agent_id)
       OR (o.environment = '' AND x.environment <> ''))
  AND NOT EXISTS (SELECT 1 FROM stage_new n WHERE n.occurrence_id = o.occurrence_id)
ORDER BY 1, 3, 4
"""

REATTRIBUTE_OCCURRENCES = """
UPDATE error_occurrences o SET
    user_id = CASE WHEN m.user_id <> '' THEN m.user_id ELSE o.user_id END,
    agent_id = CASE WHEN m.agent_id <> '' THEN m.agent_id ELSE o.agent_id END,
    agent_is_service = o.agent_is_service AND m.agent_id = '',
    environment = CASE WHEN m.environment <> '' THEN m.environment ELSE o.environment END
FROM stage_moved m
WHERE o.workspace_id = m.workspace_id AND o.occurrence_id = m.occurrence_id AND o.occurred_at = m.occurred_at
"""

# The people gained: per error (new people counted on the error) and per workspace, as a commit adds them.
REATTRIBUTE_GAINED = [
    "DELETE FROM stage_counts",  # the errors upsert consumed this commit's
    upsert_error_people("user", "stage_moved"),
    upsert_error_people("agent", "stage_moved"),
    """
UPDATE errors e SET users = e.users + c.users, agents = e.agents + c.agents
FROM (SELECT workspace_id, error_id, sum(new_users) AS users, sum(new_agents) AS agents FROM stage_counts
      GROUP BY 1, 2 ORDER BY 1, 2) c
WHERE e.workspace_id = c.workspace_id AND e.error_id = c.error_id
""",
    people_rollup("stage_moved"),
]

# The service-name agents the records left: their counts go down, and an agent left with none is no longer one
# of the error's (or the workspace's) affected agents. Decrement and delete are separate statements: a
# statement's CTEs do not see each other's changes, so a row updated and deleted in one statement stays.
_LEFT = "SELECT {keys}, count(*) AS n FROM stage_moved WHERE old_agent <> '' GROUP BY {groups} ORDER BY {groups}"
REATTRIBUTE_LEFT = [
    f"""
UPDATE error_agents a SET occurrences = a.occurrences - l.n
FROM ({_LEFT.format(keys="workspace_id, error_id, old_agent", groups="1, 2, 3")}) l
WHERE a.workspace_id = l.workspace_id AND a.error_id = l.error_id AND a.agent_id = l.old_agent
""",
    """
WITH gone AS (
    DELETE FROM error_agents a USING (SELECT DISTINCT workspace_id, error_id, old_agent FROM stage_moved
                                      WHERE old_agent <> '') l
    WHERE a.workspace_id = l.workspace_id AND a.error_id = l.error_id AND a.agent_id = l.old_agent
      AND a.occurrences <= 0
    RETURNING a.workspace_id, a.error_id
)
UPDATE errors e SET agents = greatest(0, e.agents - g.n)
FROM (SELECT workspace_id, error_id, count(*) AS n FROM gone GROUP BY 1, 2 ORDER BY 1, 2) g
WHERE e.workspace_id = g.workspace_id AND e.error_id = g.error_id
""",
    f"""
UPDATE workspace_error_agents a SET occurrences = a.occurrences - l.n
FROM ({_LEFT.format(keys="workspace_id, old_agent", groups="1, 2")}) l
WHERE a.workspace_id = l.workspace_id AND a.agent_id = l.old_agent
""",
    """
DELETE FROM workspace_error_agents a USING (SELECT DISTINCT workspace_id, old_agent FROM stage_moved
                                            WHERE old_agent <> '') l
WHERE a.workspace_id = l.workspace_id AND a.agent_id = l.old_agent AND a.occurrences <= 0
""",
    f"""
UPDATE workspace_severity_agents a SET occurrences = a.occurrences - l.n
FROM ({_LEFT.format(keys="workspace_id, greatest(severity, 1)::int2 AS severity, old_agent", groups="1, 2, 3")}) l
WHERE a.workspace_id = l.workspace_id AND a.severity = l.severity AND a.agent_id = l.old_agent
""",
    """
DELETE FROM workspace_severity_agents a USING (SELECT DISTINCT workspace_id, greatest(severity, 1)::int2 AS severity,
                                               old_agent FROM stage_moved WHERE old_agent <> '') l
WHERE a.workspace_id = l.workspace_id AND a.severity = l.severity AND a.agent_id = l.old_agent
  AND a.occurrences <= 0
""",
]

CREATE_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS stage_moved (
    workspace_id text, error_id uuid, occurred_at timestamptz, occurrence_id uuid, severity int2, trace_id bytea,
    user_id text, agent_id text, old_agent text, environment text
) ON COMMIT DELETE ROWS;
"""
