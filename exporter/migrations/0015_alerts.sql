-- Alerts (docs/alerts.md): rules, alerts, incidents, webhook destinations and deliveries, and the live stream's
-- recent events. Every primary key and unique index starts with workspace_id (distribution column under Citus).

-- Workspaces that received their default rules: a default an admin deleted is not created again.
CREATE TABLE alert_setup (
    workspace_id text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id)
);

-- One row per rule. Which fields a kind reads is in otel_errors/alerting.py (RuleSpec); the API validates them.
CREATE TABLE alert_rules (
    workspace_id     text NOT NULL,
    rule_id          uuid NOT NULL,
    name             text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('new_error', 'regression', 'spike', 'error_rate', 'frequency')),
    enabled          boolean NOT NULL DEFAULT true,
    environment      text,      -- filters: NULL matches everything
    agent_id         text,
    category         smallint,
    min_severity     smallint,
    window_minutes   integer NOT NULL,
    baseline_minutes integer NOT NULL,
    threshold        double precision NOT NULL,
    min_count        bigint NOT NULL,
    users            bigint,
    renotify_minutes integer NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, rule_id)
);

-- Groups of alerts sharing a root cause or an agent (docs/alerts.md, "Incidents").
CREATE TABLE incidents (
    workspace_id  text NOT NULL,
    incident_id   uuid NOT NULL,
    status        text NOT NULL CHECK (status IN ('open', 'resolved')),
    title         text NOT NULL,
    severity      smallint NOT NULL,
    root_error_id uuid,
    agent_id      text NOT NULL DEFAULT '',
    alerts        integer NOT NULL DEFAULT 0,
    opened_at     timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at   timestamptz,
    PRIMARY KEY (workspace_id, incident_id)
);
CREATE INDEX incidents_by_status ON incidents (workspace_id, status, updated_at DESC);

CREATE TABLE alerts (
    workspace_id     text NOT NULL,
    alert_id         uuid NOT NULL,
    rule_id          uuid NOT NULL,
    kind             text NOT NULL,
    subject          text NOT NULL,  -- the error id, or '' for a workspace-wide condition (spike, error rate)
    status           text NOT NULL CHECK (status IN ('firing', 'resolved')),
    title            text NOT NULL,
    severity         smallint NOT NULL,
    error_ids        uuid[] NOT NULL,
    primary_error_id uuid,           -- the error it is about, or the spike's primary cause
    root_error_id    uuid,           -- the primary error's chain root when it has one, else the primary error
    agent_id         text NOT NULL DEFAULT '',
    value            double precision,
    threshold        double precision,
    incident_id      uuid,
    first_fired_at   timestamptz NOT NULL DEFAULT now(),
    last_fired_at    timestamptz NOT NULL DEFAULT now(),
    last_notified_at timestamptz NOT NULL DEFAULT now(),
    last_checked_at  timestamptz NOT NULL DEFAULT now(),  -- by the sweep: it takes the least recently checked
    notifications    integer NOT NULL DEFAULT 1,
    resolved_at      timestamptz,
    resolved_reason  text,
    PRIMARY KEY (workspace_id, alert_id)
);
-- The database decides which process creates an alert: one firing alert per rule and subject.
CREATE UNIQUE INDEX alerts_one_firing ON alerts (workspace_id, rule_id, subject) WHERE status = 'firing';
CREATE INDEX alerts_by_status ON alerts (workspace_id, status, last_fired_at DESC);
CREATE INDEX alerts_firing_by_error ON alerts (workspace_id, primary_error_id) WHERE status = 'firing';
CREATE INDEX alerts_by_incident ON alerts (workspace_id, incident_id);

-- Webhook destinations. The HMAC secret is kept as is (signing needs it); the API shows it once.
CREATE TABLE alert_destinations (
    workspace_id   text NOT NULL,
    destination_id uuid NOT NULL,
    name           text NOT NULL,
    url            text NOT NULL,
    format         text NOT NULL CHECK (format IN ('json', 'slack')),
    secret         text NOT NULL,
    enabled        boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, destination_id)
);

-- One row per (alert notification, destination): the body is fixed when queued, so every retry sends the same.
CREATE TABLE alert_deliveries (
    workspace_id    text NOT NULL,
    delivery_id     uuid NOT NULL,
    alert_id        uuid NOT NULL,
    destination_id  uuid NOT NULL,
    event           text NOT NULL,
    body            bytea NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    PRIMARY KEY (workspace_id, delivery_id)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX alert_deliveries_by_alert ON alert_deliveries (workspace_id, alert_id);

CREATE TABLE alert_delivery_attempts (
    workspace_id text NOT NULL,
    delivery_id  uuid NOT NULL,
    attempt      integer NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    http_status  integer,
    error        text,
    milliseconds double precision NOT NULL,
    PRIMARY KEY (workspace_id, delivery_id, attempt)
);

-- The live stream: ids count per workspace (stream_heads holds the last one; writers of a workspace's events take
-- its row lock, so ids commit in order and a gap means a missed event, read back from here).
CREATE TABLE stream_heads (
    workspace_id  text NOT NULL,
    last_event_id bigint NOT NULL,
    PRIMARY KEY (workspace_id)
);
CREATE TABLE stream_events (
    workspace_id text NOT NULL,
    event_id     bigint NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    kind         text NOT NULL,
    data         jsonb NOT NULL,
    PRIMARY KEY (workspace_id, event_id)
);
CREATE INDEX stream_events_by_time ON stream_events (at);
