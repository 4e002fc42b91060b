-- Scale (issue 4; measured with bench/load.py and bench/query.py, see bench/README.md): index DDL only.

-- Occurrences by trace: the write path's credit check (CREDITS_FROM_KNOWN_EXECUTIONS) looks occurrences up by
-- trace AND error within a time range. With only (workspace_id, trace_id), the planner can prefer
-- (workspace_id, error_id, occurred_at) and walk every occurrence of a hot error per trace. This index matches
-- all four columns and serves every lookup by trace alone, so it replaces the two-column one.
CREATE INDEX IF NOT EXISTS error_occurrences_by_trace_error
    ON error_occurrences (workspace_id, trace_id, error_id, occurred_at);
DROP INDEX IF EXISTS error_occurrences_by_trace;

-- An error's users and agents, most recent first: the list's and details' top-N people (ORDER BY last_seen DESC
-- LIMIT n) become an index-only range read instead of reading and sorting every user of the error (10,000 for
-- a hot error), and per-error "users in the window" (last_seen >= start) an index-only count.
CREATE INDEX IF NOT EXISTS error_users_by_error_last_seen
    ON error_users (workspace_id, error_id, last_seen DESC) INCLUDE (user_id);
CREATE INDEX IF NOT EXISTS error_agents_by_error_last_seen
    ON error_agents (workspace_id, error_id, last_seen DESC) INCLUDE (agent_id);
