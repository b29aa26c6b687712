-- DROP EXTENSION zerocut leaves every domain table and row in place.
SELECT zerocut.install_domain_schema() IS NOT NULL AS installed;
SELECT zerocut.generate_sample_data(5, 10);
CREATE TEMP TABLE counts_before AS
SELECT 'users' AS t, count(*) AS n FROM user_management."USER"
UNION ALL SELECT 'workspaces', count(*) FROM workspace_domain.workspace
UNION ALL SELECT 'usage', count(*) FROM data_statistics.usage_stats
UNION ALL SELECT 'consumption', count(*) FROM financial_management.consumption_record;

-- Plain DROP refuses: the updated_at and audit triggers use the extension's
-- functions, the log's GIN index its operator class.
DROP EXTENSION zerocut;
-- CASCADE removes those triggers and that index only; tables, rows and the
-- other indexes stay.
SET client_min_messages = warning;
DROP EXTENSION zerocut CASCADE;
RESET client_min_messages;
SELECT t, n, n = (CASE t WHEN 'users' THEN (SELECT count(*) FROM user_management."USER")
                         WHEN 'workspaces' THEN (SELECT count(*) FROM workspace_domain.workspace)
                         WHEN 'usage' THEN (SELECT count(*) FROM data_statistics.usage_stats)
                         WHEN 'consumption' THEN (SELECT count(*) FROM financial_management.consumption_record) END) AS kept
FROM counts_before ORDER BY t;
SELECT count(*) AS domain_indexes_kept FROM pg_class WHERE relkind IN ('i', 'I') AND relname LIKE 'idx\_%';
SELECT nspname FROM pg_namespace WHERE nspname = 'zerocut';

-- Re-creating the extension and re-running the installer restores the triggers.
CREATE EXTENSION zerocut;
SELECT zerocut.install_domain_schema() IS NOT NULL AS installed;
SELECT count(*) AS touch_triggers FROM pg_trigger WHERE tgname = 'touch_updated_at' AND tgparentid = 0;
SELECT to_regclass('audit_log.idx_system_log_metadata_gin') IS NOT NULL AS log_gin_index_restored;
SET client_min_messages = warning;  -- the cascade list names monthly partitions
TRUNCATE user_management."USER", workspace_domain.workspace, financial_management.consumption_record,
         audit_log.system_log CASCADE;
RESET client_min_messages;
