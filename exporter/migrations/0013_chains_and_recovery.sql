-- Cascading-failure chains (linked from committed error spans and occurrences by the chain linker) and recovery
-- episodes (detected by the processor, written by the commit). docs/metrics.md defines what each figure means.

-- Traces whose error spans changed: the linker claims them (FOR UPDATE SKIP LOCKED) and links them again.
CREATE TABLE chain_pending (
    workspace_id text NOT NULL,
    trace_id     bytea NOT NULL,
    first_at     timestamptz NOT NULL,  -- the earliest and latest error span start seen: the partitions to read
    last_at      timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, trace_id)
);
CREATE INDEX chain_pending_by_first ON chain_pending (first_at);

-- One row per chain shape: a root error and the errors it caused (nearest first), and in how many executions.
CREATE TABLE error_chains (
    workspace_id      text NOT NULL,
    chain_id          uuid NOT NULL,  -- md5 of the root and cascade ids: the same shape has one id
    root_error_id     uuid NOT NULL,
    cascade_error_ids uuid[] NOT NULL,
    first_seen        timestamptz NOT NULL,
    last_seen         timestamptz NOT NULL,
    executions        bigint NOT NULL,
    PRIMARY KEY (workspace_id, chain_id)
);
CREATE INDEX error_chains_by_root ON error_chains (workspace_id, root_error_id);

-- What each trace holds now (replaced when its spans change it): its chains, and the errors that caused another.
CREATE TABLE trace_chains (
    workspace_id text NOT NULL,
    trace_id     bytea NOT NULL,
    chain_id     uuid NOT NULL,
    hour         timestamptz NOT NULL,  -- the hour of the root's first occurrence in the trace
    PRIMARY KEY (workspace_id, trace_id, chain_id)
);
CREATE TABLE trace_causes (
    workspace_id text NOT NULL,
    trace_id     bytea NOT NULL,
    error_id     uuid NOT NULL,
    hour         timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, trace_id, error_id)
);
CREATE INDEX trace_chains_by_hour ON trace_chains (hour);
CREATE INDEX trace_causes_by_hour ON trace_causes (hour);

-- Executions per chain per hour: what errorChains reads.
CREATE TABLE chain_hourly (
    workspace_id text NOT NULL,
    hour         timestamptz NOT NULL,
    chain_id     uuid NOT NULL,
    executions   bigint NOT NULL,
    PRIMARY KEY (workspace_id, hour, chain_id)
);

-- impact.cascadingFailures: executions in which the error caused another error.
ALTER TABLE errors ADD COLUMN cascading_failures bigint NOT NULL DEFAULT 0;

-- Recovery episodes, by the day of their first failure. The key makes a retried export a no-op.
CREATE TABLE recoveries (
    workspace_id   text NOT NULL,
    failed_at      timestamptz NOT NULL,
    trace_id       bytea NOT NULL,
    span_id        bytea NOT NULL,
    parent_span_id bytea NOT NULL,
    last_span_id   bytea NOT NULL,
    method         text NOT NULL,
    recovered      boolean NOT NULL,
    attempts       integer NOT NULL,
    recovered_at   timestamptz,
    PRIMARY KEY (workspace_id, trace_id, span_id, failed_at)
) PARTITION BY RANGE (failed_at);
CREATE INDEX recoveries_failed_by_time ON recoveries (workspace_id, failed_at DESC) WHERE NOT recovered;

-- Episodes per hour, method and recovery-time bucket (bucket -1: not recovered; else floor(ln(ms) / ln(1.25))):
-- averages are exact, medians and p95 come from the buckets (within 12%).
CREATE TABLE recovery_hourly (
    workspace_id text NOT NULL,
    hour         timestamptz NOT NULL,
    method       text NOT NULL,
    bucket       smallint NOT NULL,
    episodes     bigint NOT NULL,
    seconds      double precision NOT NULL,
    PRIMARY KEY (workspace_id, hour, method, bucket)
);
