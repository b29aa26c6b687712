\echo '== audit: the C++ audit trigger on "USER", workspace and account (enabled by install_domain_schema)'
SELECT schema_name, table_name, mode, exclude_columns, changed_only FROM zerocut.audit_config ORDER BY 1, 2;
SELECT message, count(*) AS log_rows FROM audit_log.system_log
WHERE metadata ? 'operation' GROUP BY 1 ORDER BY 1;

\echo
\echo '== a one-column UPDATE logs the primary key and that column only; the acting user comes from app.current_user_id'
BEGIN;
SET LOCAL app.current_user_id = '1';
UPDATE workspace_domain.workspace SET name = 'Renamed workspace' WHERE id = 1;
COMMIT;
SELECT id, message, user_id, jsonb_pretty(metadata) AS metadata
FROM zerocut.audit_history('workspace_domain.workspace', '{"id": 1}') ORDER BY id DESC LIMIT 1;

\echo
\echo '== after SET LOCAL the setting is '''' : the seed''s trigger failed the write, this one logs user_id NULL'
UPDATE financial_management.account SET balance = balance + 10 WHERE workspace_id = 1;
SELECT message, user_id, metadata -> 'old_data' AS old_data, metadata -> 'new_data' AS new_data
FROM zerocut.audit_history('financial_management.account', '{"id": 1}') ORDER BY id DESC LIMIT 1;

\echo
\echo '== a password change is logged as a change, never with the hash (zerocut.audit_redact_columns)'
UPDATE user_management."USER" SET password_hash = 'new-secret-hash' WHERE id = 1;
SELECT metadata -> 'old_data' AS old_data, metadata -> 'new_data' AS new_data
FROM zerocut.audit_history('user_management."USER"', '{"id": 1}') ORDER BY id DESC LIMIT 1;
SELECT count(*) AS hashes_in_clear FROM audit_log.system_log WHERE metadata::text LIKE '%new-secret-hash%';

\echo
\echo '== plain metadata @> searches use the GIN index (operator class zerocut.jsonb_log_ops):'
\echo '== one key per primary-key column of an audit row (table and key value); a table alone is a range of keys'
EXPLAIN (COSTS OFF) SELECT id, message FROM audit_log.system_log
WHERE metadata @> '{"schema": "user_management", "table": "USER", "operation": "UPDATE"}';
EXPLAIN (COSTS OFF) SELECT id, message FROM audit_log.system_log
WHERE metadata @> '{"schema": "user_management", "table": "USER", "pk": {"id": 1}}';

\echo
\echo '== statement mode on the partitioned usage_stats (40,000 rows): the log writer appends the rows in batches,'
\echo '== then the same UPDATE with zerocut.audit_direct_insert = off (SQL INSERTs) for comparison'
SELECT zerocut.enable_audit('data_statistics.usage_stats', mode => 'statement');
\timing on
UPDATE data_statistics.usage_stats SET api_calls = api_calls + 1 WHERE workspace_id <= 20;
SET zerocut.audit_direct_insert = off;
UPDATE data_statistics.usage_stats SET api_calls = api_calls + 1 WHERE workspace_id <= 20;
RESET zerocut.audit_direct_insert;
\timing off
SELECT count(*) AS usage_log_rows, pg_size_pretty(avg(pg_column_size(metadata))::bigint) AS avg_metadata_size
FROM audit_log.system_log WHERE metadata ->> 'table' = 'usage_stats';
SELECT zerocut.disable_audit('data_statistics.usage_stats');

\echo
\echo '== the log is append-only for everyone but its owner, whatever was granted'
CREATE ROLE demo_auditor;
GRANT USAGE ON SCHEMA audit_log TO demo_auditor;
GRANT SELECT, DELETE ON audit_log.system_log TO demo_auditor;
SET ROLE demo_auditor;
\set VERBOSITY default
\set ON_ERROR_STOP off
DELETE FROM audit_log.system_log WHERE user_id = 1;
\set ON_ERROR_STOP on
RESET ROLE;
REVOKE ALL ON audit_log.system_log FROM demo_auditor;
REVOKE ALL ON SCHEMA audit_log FROM demo_auditor;
DROP ROLE demo_auditor;
