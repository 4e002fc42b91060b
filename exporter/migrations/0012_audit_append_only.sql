-- The audit log is append-only in the database itself, and its entry ids say nothing about other workspaces.

-- Ids: a random UUID per entry instead of one identity sequence shared by every workspace (whose gaps told one
-- workspace how much the others did). Entries are ordered by time, ties broken by id.
ALTER TABLE audit_log ADD COLUMN entry_uuid uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log DROP COLUMN entry_id;
ALTER TABLE audit_log RENAME COLUMN entry_uuid TO entry_id;
ALTER TABLE audit_log ADD PRIMARY KEY (workspace_id, entry_id);
DROP INDEX audit_log_by_time;
CREATE INDEX audit_log_by_time ON audit_log (workspace_id, at DESC, entry_id DESC);

-- Append-only: no UPDATE, DELETE or TRUNCATE, whoever asks.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
