-- Traces whose spans reach several processes are settled from committed data (exporter/_settle_sql.py).

-- One row per trace a commit is writing, inserted first (in key order) and deleted before the commit ends: a
-- second commit of the same trace waits on the row until the first commits, then sees its rows. Row locks, not
-- advisory locks: a commit holds thousands of traces, more than the shared lock table has room for. Unlogged:
-- its rows never outlive a transaction, so there is nothing to recover after a crash.
CREATE UNLOGGED TABLE trace_locks (
    workspace_id text NOT NULL,
    trace_id     bytea NOT NULL,
    PRIMARY KEY (workspace_id, trace_id)
);

-- An occurrence whose agent is its service's name because nothing named one (no gen_ai.agent.id, no execution
-- seen yet): the trace's execution names it when it arrives. Metadata-only: existing rows read the default.
ALTER TABLE error_occurrences ADD COLUMN agent_is_service boolean NOT NULL DEFAULT false;

-- Upkeep that runs once per cluster however many processes share the database (exporter/maintenance.py): the
-- process that takes the task's advisory lock and finds its last run older than the interval runs it. Global,
-- not per workspace: a reference table on a distributed store.
CREATE TABLE maintenance_runs (
    task          text PRIMARY KEY,
    last_started  timestamptz NOT NULL,
    last_finished timestamptz,
    runner        text NOT NULL  -- host:pid of the process that ran it last
);
