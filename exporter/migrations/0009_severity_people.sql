-- People per occurrence severity (dashboard at scale, severity filter): one row per workspace, severity and user
-- (agent) with an occurrence of that severity, kept by the write path in the same statement as the all-severity
-- rows (ROLLUP_PEOPLE). Under `severity=critical`, distinct affected users and the user correlation were read from
-- every (error, user) pair of the filtered errors last seen in the window (1.6 s at 10M occurrences over 30 days);
-- these rows make them a read of at most one row per person, like the unfiltered view.

CREATE TABLE workspace_severity_users (
    workspace_id   text NOT NULL,
    severity       int2 NOT NULL,
    user_id        text NOT NULL,
    first_error_at timestamptz NOT NULL,
    last_error_at  timestamptz NOT NULL,
    occurrences    bigint NOT NULL,
    PRIMARY KEY (workspace_id, severity, user_id)
);

CREATE TABLE workspace_severity_agents (
    workspace_id   text NOT NULL,
    severity       int2 NOT NULL,
    agent_id       text NOT NULL,
    first_error_at timestamptz NOT NULL,
    last_error_at  timestamptz NOT NULL,
    occurrences    bigint NOT NULL,
    PRIMARY KEY (workspace_id, severity, agent_id)
);

-- Rewritten by every commit: no index on the changing columns and free room on every page, so updates are HOT
-- (see 0010); a window's rows are read by a scan of the (small) table.
ALTER TABLE workspace_severity_users SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02,
                                          autovacuum_vacuum_threshold = 2000);
ALTER TABLE workspace_severity_agents SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0,
                                           autovacuum_vacuum_threshold = 1000);

-- Existing workspaces: from the occurrences still kept (retention bounds this scan). Severity 0 and 1 are both
-- "low" in the rollups (severity <= 1), so they share a row.
INSERT INTO workspace_severity_users (workspace_id, severity, user_id, first_error_at, last_error_at, occurrences)
SELECT workspace_id, greatest(severity, 1), user_id, min(occurred_at), max(occurred_at), count(*)
FROM error_occurrences WHERE user_id <> '' GROUP BY 1, 2, 3;

INSERT INTO workspace_severity_agents (workspace_id, severity, agent_id, first_error_at, last_error_at, occurrences)
SELECT workspace_id, greatest(severity, 1), agent_id, min(occurred_at), max(occurred_at), count(*)
FROM error_occurrences WHERE agent_id <> '' GROUP BY 1, 2, 3;

ANALYZE workspace_severity_users;
ANALYZE workspace_severity_agents;
