-- Rollups written by the exporter in the same transaction as the occurrences (docs/architecture.md, "Data model"): the dashboard reads
-- these, so query cost grows with the number of buckets, not with the number of occurrences.
-- Severity columns count occurrences by their own severity (1 low .. 4 critical).

-- Per error per minute, kept only for the last hours (alerts and the 1h view); deleted, not partitioned.
CREATE TABLE error_minute (
    workspace_id text NOT NULL,
    minute       timestamptz NOT NULL,
    error_id     uuid NOT NULL,
    occurrences  bigint NOT NULL,
    critical     bigint NOT NULL,
    PRIMARY KEY (workspace_id, minute, error_id)
);

CREATE TABLE error_hourly (
    workspace_id text NOT NULL,
    hour         timestamptz NOT NULL,
    error_id     uuid NOT NULL,
    occurrences  bigint NOT NULL,
    critical     bigint NOT NULL,
    high         bigint NOT NULL,
    medium       bigint NOT NULL,
    low          bigint NOT NULL,
    PRIMARY KEY (workspace_id, hour, error_id)
);
CREATE INDEX error_hourly_by_error ON error_hourly (workspace_id, error_id, hour);

CREATE TABLE error_daily (
    workspace_id text NOT NULL,
    day          date NOT NULL,
    error_id     uuid NOT NULL,
    occurrences  bigint NOT NULL,
    critical     bigint NOT NULL,
    high         bigint NOT NULL,
    medium       bigint NOT NULL,
    low          bigint NOT NULL,
    PRIMARY KEY (workspace_id, day, error_id)
);
CREATE INDEX error_daily_by_error ON error_daily (workspace_id, error_id, day);

-- One row per workspace and hour: totals, and distinct errors (incremented when an error's first row of the
-- hour is inserted into error_hourly, so it is exact without scanning).
CREATE TABLE workspace_hourly (
    workspace_id  text NOT NULL,
    hour          timestamptz NOT NULL,
    occurrences   bigint NOT NULL,
    critical      bigint NOT NULL,
    high          bigint NOT NULL,
    medium        bigint NOT NULL,
    low           bigint NOT NULL,
    unique_errors bigint NOT NULL,
    PRIMARY KEY (workspace_id, hour)
);

CREATE TABLE workspace_daily (
    workspace_id  text NOT NULL,
    day           date NOT NULL,
    occurrences   bigint NOT NULL,
    critical      bigint NOT NULL,
    high          bigint NOT NULL,
    medium        bigint NOT NULL,
    low           bigint NOT NULL,
    unique_errors bigint NOT NULL,
    PRIMARY KEY (workspace_id, day)
);

-- Executions per hour and agent (execution_counts keeps the per-minute counters).
CREATE TABLE execution_hourly (
    workspace_id   text NOT NULL,
    hour           timestamptz NOT NULL,
    agent_id       text NOT NULL,
    executions     bigint NOT NULL,
    failed         bigint NOT NULL,
    credits        double precision NOT NULL,
    credits_failed double precision NOT NULL,
    PRIMARY KEY (workspace_id, hour, agent_id)
);

-- Per-error impact, maintained on write: executions (distinct traces per batch) and credits of failed executions.
ALTER TABLE errors ADD COLUMN executions_affected bigint NOT NULL DEFAULT 0;
ALTER TABLE errors ADD COLUMN credits_lost double precision NOT NULL DEFAULT 0;

-- Time-range scans of executions (recovery, correlations) and occurrences by trace (chains, credits).
CREATE INDEX error_occurrences_by_trace ON error_occurrences (workspace_id, trace_id);
