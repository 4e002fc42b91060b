-- Citus (distributed PostgreSQL): where every table lives. Applied by otel_errors.exporter.citus after the
-- migrations, in the same transaction, whenever the database has the citus extension; a table already in Citus's
-- metadata is skipped, so this runs on every start. docs/citus.md has the cluster set-up and what was measured;
-- tests/test_citus_ready_schema.py checks that every table of the migrated schema is listed here exactly once
-- and follows the rules of its kind. One statement per line.

-- Reference tables: small, global, copied to every node. Each one says why it is not distributed by workspace.
SELECT create_reference_table('schema_migrations');  -- the migrations applied: global, written by migrations only
SELECT create_reference_table('workspaces');  -- one row per workspace, listed across workspaces (the picker)
SELECT create_reference_table('ingest_tokens');  -- looked up by the token's hash before the workspace is known
SELECT create_reference_table('api_keys');  -- looked up by the key's hash, before any workspace data is read

-- Distributed by workspace_id, all colocated with errors: a workspace's rows of every table are on one node, so
-- joins and multi-table transactions within one workspace run there.
SELECT create_distributed_table('errors', 'workspace_id', colocate_with => 'none');
SELECT create_distributed_table('error_occurrences', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('error_stacktraces', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('error_users', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('error_agents', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('executions', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('execution_counts', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('error_spans', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('error_minute', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('error_hourly', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('error_daily', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('workspace_hourly', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('workspace_daily', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('execution_hourly', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('audit_log', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('workspace_users', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('workspace_agents', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('fingerprint_aliases', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('workspace_error_users', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('workspace_error_agents', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('workspace_severity_users', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('workspace_severity_agents', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('chain_pending', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('error_chains', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('trace_chains', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('trace_causes', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('chain_hourly', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('recoveries', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('recovery_hourly', 'workspace_id', colocate_with => 'errors');
-- 0014: commits of one trace wait on its row (unlogged works distributed); upkeep runs once for the whole cluster.
SELECT create_distributed_table('trace_locks', 'workspace_id', colocate_with => 'errors');
SELECT create_reference_table('maintenance_runs');  -- one row per upkeep task for the whole cluster
-- 0015: alerts, per workspace like everything it reads.
SELECT create_distributed_table('alert_setup', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('alert_rules', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('incidents', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('alerts', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('alert_destinations', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('alert_deliveries', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('alert_delivery_attempts', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('stream_heads', 'workspace_id', colocate_with => 'errors');
SELECT create_distributed_table('stream_events', 'workspace_id', colocate_with => 'errors');
