\echo '== zerocut: CREATE EXTENSION in a fresh database'
CREATE EXTENSION zerocut;
SELECT zerocut.version();

\echo
\echo '== install_domain_schema(): the SaaS schemas and tables (not extension members)'
SELECT zerocut.install_domain_schema() AS applied_files;
SELECT n.nspname AS schema, c.relname AS table,
       CASE c.relkind WHEN 'p' THEN 'partitioned' ELSE 'table' END AS kind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('user_management', 'workspace_domain', 'financial_management',
                    'api_management', 'data_statistics', 'audit_log')
  AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY 1, 2;

\echo
\echo '== generate_sample_data(100 workspaces, 400 days): deterministic sample data'
\timing on
SELECT zerocut.generate_sample_data(100, 400);
\timing off

\echo
\echo '== touch_updated_at(): a C++ trigger keeps updated_at current'
BEGIN;
SELECT id, username, updated_at FROM user_management."USER" WHERE id = 1;
UPDATE user_management."USER" SET username = 'renamed' WHERE id = 1;
SELECT id, username, updated_at, updated_at = now() AS is_now FROM user_management."USER" WHERE id = 1;
ROLLBACK;

\echo
\echo '== the C++/PostgreSQL boundary: errors keep their SQLSTATE, the session lives on'
\set VERBOSITY default
DO $$
DECLARE state text; msg text;
BEGIN
    PERFORM zerocut.generate_sample_data(-1);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RAISE NOTICE 'caught % %', state, msg;
END $$;
SELECT zerocut.boundary_selftest('ok') AS still_working;
