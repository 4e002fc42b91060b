-- Grouping upgrades (docs/grouping.md): a fingerprint computed by a new algorithm that first arrived beside a
-- previous-algorithm fingerprint of an existing error keeps pointing at that error, after the upgrade too.
CREATE TABLE fingerprint_aliases (
    workspace_id text NOT NULL,
    fingerprint  text NOT NULL,
    error_id     uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, fingerprint)
);
