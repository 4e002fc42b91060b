-- Tables whose few rows are rewritten by every commit (one upsert per error, workspace, person or bucket per batch)
-- collect dead row versions far faster than the default autovacuum trigger (20% of the table) notices: at 10M
-- occurrences `errors` held 5,017 live rows in 1.9 GB. Vacuum them after a fixed number of dead rows instead.
ALTER TABLE errors SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000,
                        autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE workspace_hourly SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
ALTER TABLE workspace_daily SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
ALTER TABLE workspace_users SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 2000);
ALTER TABLE workspace_agents SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
ALTER TABLE workspace_error_users SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 2000);
ALTER TABLE workspace_error_agents SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
ALTER TABLE execution_hourly SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 2000);
