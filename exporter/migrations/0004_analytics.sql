-- Analytics (issue 4): what the error-tracking object needs that the rollups did not yet hold.

-- Per-minute severity split, so the 1h view's severity filter is exact like the hourly and daily ones.
ALTER TABLE error_minute ADD COLUMN high bigint NOT NULL DEFAULT 0;
ALTER TABLE error_minute ADD COLUMN medium bigint NOT NULL DEFAULT 0;
ALTER TABLE error_minute ADD COLUMN low bigint NOT NULL DEFAULT 0;

-- Users and agents that ran executions (failed or not), one row each, last_seen maintained on write: the
-- denominator of userImpact (active users in a window) and the agents' names.
CREATE TABLE workspace_users (
    workspace_id text NOT NULL,
    user_id      text NOT NULL,
    first_seen   timestamptz NOT NULL,
    last_seen    timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_users_by_last_seen ON workspace_users (workspace_id, last_seen);

CREATE TABLE workspace_agents (
    workspace_id text NOT NULL,
    agent_id     text NOT NULL,
    agent_name   text NOT NULL,
    first_seen   timestamptz NOT NULL,
    last_seen    timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, agent_id)
);

-- Distinct users and agents affected over a window ending now (rows with last_seen >= the window's start).
CREATE INDEX error_users_by_last_seen ON error_users (workspace_id, last_seen);
CREATE INDEX error_agents_by_last_seen ON error_agents (workspace_id, last_seen);
