-- People rollups (dashboard at scale): one row per workspace and user (agent) that had an error occurrence, kept
-- by the write path with one set-based upsert per commit (ROLLUP_PEOPLE). The error-tracking object reads them
-- instead of aggregating every (error, user) pair of error_users in the window (523k pairs over 30 days at 2M
-- occurrences): distinct affected users/agents over a window ending now are the rows whose last_error_at is at
-- or after its start (an index range), and the user/agent correlations rank them by their occurrences.

CREATE TABLE workspace_error_users (
    workspace_id   text NOT NULL,
    user_id        text NOT NULL,
    first_error_at timestamptz NOT NULL,
    last_error_at  timestamptz NOT NULL,
    occurrences    bigint NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_error_users_by_last_error ON workspace_error_users (workspace_id, last_error_at);

CREATE TABLE workspace_error_agents (
    workspace_id   text NOT NULL,
    agent_id       text NOT NULL,
    first_error_at timestamptz NOT NULL,
    last_error_at  timestamptz NOT NULL,
    occurrences    bigint NOT NULL,
    PRIMARY KEY (workspace_id, agent_id)
);
CREATE INDEX workspace_error_agents_by_last_error ON workspace_error_agents (workspace_id, last_error_at);

-- Existing workspaces: the same rows from the per-error ones (a user's occurrences are the sum over its errors).
INSERT INTO workspace_error_users (workspace_id, user_id, first_error_at, last_error_at, occurrences)
SELECT workspace_id, user_id, min(first_seen), max(last_seen), sum(occurrences)
FROM error_users GROUP BY 1, 2;

INSERT INTO workspace_error_agents (workspace_id, agent_id, first_error_at, last_error_at, occurrences)
SELECT workspace_id, agent_id, min(first_seen), max(last_seen), sum(occurrences)
FROM error_agents GROUP BY 1, 2;

ANALYZE workspace_error_users;
ANALYZE workspace_error_agents;
