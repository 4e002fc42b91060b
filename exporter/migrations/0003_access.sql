-- Access control (docs/security.md): ingest tokens and API keys per workspace, stored hashed; the audit log.

CREATE TABLE ingest_tokens (
    token_hash   bytea PRIMARY KEY,           -- sha256 of the token; the token itself is shown once
    workspace_id text NOT NULL,
    token_id     text NOT NULL,
    name         text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    UNIQUE (workspace_id, token_id)
);

CREATE TABLE api_keys (
    key_hash     bytea PRIMARY KEY,
    workspace_id text NOT NULL,
    key_id       text NOT NULL,
    name         text NOT NULL DEFAULT '',
    role         text NOT NULL CHECK (role IN ('viewer', 'member', 'admin')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    UNIQUE (workspace_id, key_id)
);

-- Append-only: the API offers no update or delete; who, what, when, before/after.
CREATE TABLE audit_log (
    workspace_id text NOT NULL,
    entry_id     bigint GENERATED ALWAYS AS IDENTITY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    action       text NOT NULL,
    target       text NOT NULL,
    before       jsonb,
    after        jsonb,
    PRIMARY KEY (workspace_id, entry_id)
);
CREATE INDEX audit_log_by_time ON audit_log (workspace_id, at DESC);
