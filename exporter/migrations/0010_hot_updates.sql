-- Update-heavy tables (measured after writing 10M occurrences over 30 days at ~3,800 occurrences/s, VACUUMed):
-- workspace_users held 10,000 rows in 640 MB, workspace_error_users 10,000 in 270 MB, errors 5,102 in 1.9 GB.
-- Every commit rewrites these rows, and an update is HOT (no new index entries, dead versions pruned in place) only
-- when no indexed column changes and the page has room. Their last-seen indexes defeated that, and autovacuum
-- cannot keep up at ingest rates: the dashboard then scans thousands of mostly dead pages.

-- One row per person: a window's people are a scan of the table (10,000 rows: ~1 ms), not an index range.
DROP INDEX IF EXISTS workspace_users_by_last_seen;
DROP INDEX IF EXISTS workspace_error_users_by_last_error;
DROP INDEX IF EXISTS workspace_error_agents_by_last_error;
ALTER TABLE workspace_users SET (fillfactor = 70);
ALTER TABLE workspace_agents SET (fillfactor = 70);
ALTER TABLE workspace_error_users SET (fillfactor = 70);
ALTER TABLE workspace_error_agents SET (fillfactor = 70);
ALTER TABLE workspace_hourly SET (fillfactor = 70);
ALTER TABLE workspace_daily SET (fillfactor = 70);
ALTER TABLE execution_hourly SET (fillfactor = 70);
ALTER TABLE execution_counts SET (fillfactor = 70);
ALTER TABLE error_minute SET (fillfactor = 70);
ALTER TABLE error_hourly SET (fillfactor = 70);
ALTER TABLE error_daily SET (fillfactor = 70);

-- Per-error people: distinct affected people moved to the rollups above (0007, 0009); these indexes only cost
-- every write an entry.
DROP INDEX IF EXISTS error_users_by_last_seen;
DROP INDEX IF EXISTS error_agents_by_last_seen;

-- errors: its last_seen is indexed (the list's order), so its updates cannot be HOT; keep each version small
-- instead. Values past ~256 bytes of a row (the stack trace, the context) move to TOAST, where an update that
-- does not change them reuses them: a version is ~0.4 KB instead of ~2.5 KB.
ALTER TABLE errors SET (toast_tuple_target = 256);

-- Rewrite the tables compactly once (existing installations; new ones are empty, so this is instant).
CLUSTER workspace_users USING workspace_users_pkey;
CLUSTER workspace_agents USING workspace_agents_pkey;
CLUSTER workspace_error_users USING workspace_error_users_pkey;
CLUSTER workspace_error_agents USING workspace_error_agents_pkey;
CLUSTER errors USING errors_pkey;
ANALYZE workspace_users;
ANALYZE workspace_agents;
ANALYZE workspace_error_users;
ANALYZE workspace_error_agents;
ANALYZE errors;
