-- otel-errors schema, version 1. Every key starts with workspace_id (sharding by workspace, docs/architecture.md).
-- Time-series tables are partitioned by day (UTC); partitions are created ahead and dropped for retention.

CREATE TABLE workspaces (
    workspace_id text PRIMARY KEY,
    name         text NOT NULL DEFAULT '',
    settings     jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- One row per issue (fingerprint), upserted once per fingerprint per batch, never once per occurrence.
CREATE TABLE errors (
    workspace_id        text NOT NULL,
    error_id            uuid NOT NULL,
    fingerprint         text NOT NULL,
    fingerprint_config  text NOT NULL,
    type                text NOT NULL,
    message             text NOT NULL,
    title               text NOT NULL,
    culprit             text NOT NULL,
    stacktrace          text NOT NULL,
    grouping            jsonb NOT NULL DEFAULT '{}',
    severity            smallint NOT NULL,
    category            smallint NOT NULL,
    source              smallint NOT NULL,
    status              text NOT NULL DEFAULT 'new',
    first_seen          timestamptz NOT NULL,
    last_seen           timestamptz NOT NULL,
    occurrences         bigint NOT NULL DEFAULT 0,
    users               bigint NOT NULL DEFAULT 0,
    agents              bigint NOT NULL DEFAULT 0,
    agent_id            text NOT NULL DEFAULT '',
    user_id             text NOT NULL DEFAULT '',
    environment         text NOT NULL DEFAULT '',
    version             text NOT NULL DEFAULT '',
    context             jsonb NOT NULL DEFAULT '{}',
    status_changed_at   timestamptz,
    resolved_at         timestamptz,
    resolved_by         text,
    resolution          text,
    root_cause          text,
    preventive_measures text[],
    regressed_at        timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, error_id),
    UNIQUE (workspace_id, fingerprint),
    CONSTRAINT errors_status CHECK (status IN ('new', 'acknowledged', 'investigating', 'resolved', 'ignored'))
);
CREATE INDEX errors_by_last_seen ON errors (workspace_id, last_seen DESC, error_id);
CREATE INDEX errors_by_status ON errors (workspace_id, status, last_seen DESC);

-- Append-only; its primary key makes a retried OTLP export idempotent (occurrence_id is derived from the record).
CREATE TABLE error_occurrences (
    workspace_id   text NOT NULL,
    occurred_at    timestamptz NOT NULL,
    occurrence_id  uuid NOT NULL,
    error_id       uuid NOT NULL,
    trace_id       bytea NOT NULL,
    span_id        bytea NOT NULL,
    parent_span_id bytea NOT NULL,
    span_name      text NOT NULL,
    origin         smallint NOT NULL,
    severity       smallint NOT NULL,
    handled        boolean NOT NULL,
    user_id        text NOT NULL,
    agent_id       text NOT NULL,
    environment    text NOT NULL,
    version        text NOT NULL,
    message        text NOT NULL,
    stack_hash     bytea NOT NULL,
    credits        double precision NOT NULL,
    attributes     jsonb NOT NULL,
    PRIMARY KEY (workspace_id, occurrence_id, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX error_occurrences_by_error ON error_occurrences (workspace_id, error_id, occurred_at DESC);

-- Stack traces are stored once per distinct text (one bug's occurrences mostly share theirs).
CREATE TABLE error_stacktraces (
    workspace_id text NOT NULL,
    stack_hash   bytea NOT NULL,
    stacktrace   text NOT NULL,
    PRIMARY KEY (workspace_id, stack_hash)
);

-- Affected users and agents as rows, not arrays rewritten on every occurrence.
CREATE TABLE error_users (
    workspace_id text NOT NULL,
    error_id     uuid NOT NULL,
    user_id      text NOT NULL,
    first_seen   timestamptz NOT NULL,
    last_seen    timestamptz NOT NULL,
    occurrences  bigint NOT NULL,
    PRIMARY KEY (workspace_id, error_id, user_id)
);
CREATE INDEX error_users_by_user ON error_users (workspace_id, user_id, last_seen DESC);

CREATE TABLE error_agents (
    workspace_id text NOT NULL,
    error_id     uuid NOT NULL,
    agent_id     text NOT NULL,
    first_seen   timestamptz NOT NULL,
    last_seen    timestamptz NOT NULL,
    occurrences  bigint NOT NULL,
    PRIMARY KEY (workspace_id, error_id, agent_id)
);
CREATE INDEX error_agents_by_agent ON error_agents (workspace_id, agent_id, last_seen DESC);

-- The outcome of every execution (a trace's invoke_agent span, else its root), failed or not.
CREATE TABLE executions (
    workspace_id text NOT NULL,
    started_at   timestamptz NOT NULL,
    trace_id     bytea NOT NULL,
    span_id      bytea NOT NULL,
    ended_at     timestamptz,
    failed       boolean NOT NULL,
    agent_id     text NOT NULL,
    agent_name   text NOT NULL,
    user_id      text NOT NULL,
    environment  text NOT NULL,
    credits      double precision NOT NULL,
    PRIMARY KEY (workspace_id, trace_id, span_id, started_at)
) PARTITION BY RANGE (started_at);

-- Per-minute execution counters (small: one row per workspace, minute and agent), so error rates are real rates.
CREATE TABLE execution_counts (
    workspace_id   text NOT NULL,
    minute         timestamptz NOT NULL,
    agent_id       text NOT NULL,
    executions     bigint NOT NULL,
    failed         bigint NOT NULL,
    credits        double precision NOT NULL,
    credits_failed double precision NOT NULL,
    PRIMARY KEY (workspace_id, minute, agent_id)
);

-- Parentage of every span that carried an error, so cascading failures can be linked in any arrival order.
CREATE TABLE error_spans (
    workspace_id   text NOT NULL,
    started_at     timestamptz NOT NULL,
    trace_id       bytea NOT NULL,
    span_id        bytea NOT NULL,
    parent_span_id bytea NOT NULL,
    name           text NOT NULL,
    ended_at       timestamptz,
    status_code    smallint NOT NULL,
    status_message text NOT NULL,
    propagated     boolean NOT NULL,
    PRIMARY KEY (workspace_id, trace_id, span_id, started_at)
) PARTITION BY RANGE (started_at);
