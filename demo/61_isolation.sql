\echo '== isolation: the application and read-only roles (NOLOGIN; logins are made IN ROLE them)'
SELECT zerocut.setup_roles();
SELECT rolname, rolcanlogin, rolsuper, rolbypassrls FROM pg_roles
WHERE rolname IN ('application_user', 'readonly_user') ORDER BY 1;
CREATE ROLE demo_app LOGIN IN ROLE application_user;
CREATE ROLE demo_reader LOGIN IN ROLE readonly_user;

\echo
\echo '== enable_workspace_isolation(): FORCE row-level security and initplan policies on every tenant table and partition'
SELECT zerocut.enable_workspace_isolation();
SELECT t.relation, t.tenant_key, count(*) AS tables_in_tree,
       bool_and(c.relrowsecurity AND c.relforcerowsecurity) AS forced
FROM zerocut.tenant_tables() t
CROSS JOIN LATERAL (SELECT t.relation AS relid UNION SELECT relid FROM pg_partition_tree(t.relation)) tree
JOIN pg_class c ON c.oid = tree.relid
GROUP BY t.relation, t.tenant_key ORDER BY t.relation::text;
SELECT pg_get_expr(polqual, polrelid) AS usage_stats_policy
FROM pg_policy WHERE polrelid = 'data_statistics.usage_stats'::regclass AND polname = 'zerocut_isolation';

\echo
\echo '== the app connects as demo_app (here: SET ROLE) and names its user per transaction: user 1 (workspace 1)'
SET ROLE demo_app;
BEGIN;
SELECT zerocut.set_app_user(1);
SELECT zerocut.current_app_user_id() AS app_user, zerocut.current_workspace_ids() AS workspaces;
SELECT id, name FROM workspace_domain.workspace ORDER BY id;
SELECT id, username FROM user_management."USER" ORDER BY id;
SELECT workspace_id, count(*) AS usage_days, sum(api_calls) AS api_calls FROM data_statistics.usage_stats GROUP BY 1 ORDER BY 1;
SELECT (zerocut.get_workspace_dashboard_stats(1)::jsonb - 'last_30_days_trend') AS dashboard_of_workspace_1;
COMMIT;

\echo
\echo '== the next transaction on the same connection, user 5 (workspace 2): only workspace 2'
BEGIN;
SELECT zerocut.set_app_user(5);
SELECT zerocut.current_app_user_id() AS app_user, zerocut.current_workspace_ids() AS workspaces;
SELECT id, name FROM workspace_domain.workspace ORDER BY id;
SELECT id, username FROM user_management."USER" ORDER BY id;
SELECT workspace_id, count(*) AS usage_days, sum(api_calls) AS api_calls FROM data_statistics.usage_stats GROUP BY 1 ORDER BY 1;
\echo '   workspace 1 is as unknown to user 5 as a workspace that does not exist; writing into it is refused:'
DO $$
DECLARE
    ws integer;
BEGIN
    FOREACH ws IN ARRAY ARRAY[1, 99999] LOOP
        BEGIN
            PERFORM zerocut.get_workspace_dashboard_stats(ws);
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'dashboard of workspace %: % %', ws, SQLSTATE, SQLERRM;
        END;
    END LOOP;
    BEGIN
        INSERT INTO financial_management.consumption_record (workspace_id, amount) VALUES (1, 9.99);
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'consumption record for workspace 1: % %', SQLSTATE, SQLERRM;
    END;
    UPDATE financial_management.account SET balance = 0 WHERE workspace_id = 1;
    RAISE NOTICE 'accounts of workspace 1 updated: %', (SELECT count(*) FROM financial_management.account WHERE workspace_id = 1);
END
$$;
COMMIT;

\echo
\echo '== after COMMIT the user is gone (set_app_user is transaction-scoped, pool-safe): no user, no rows, no error'
SELECT quote_literal(current_setting('app.current_user_id', true)) AS setting, zerocut.current_app_user_id() AS app_user;
SELECT (SELECT count(*) FROM workspace_domain.workspace) AS workspaces,
       (SELECT count(*) FROM data_statistics.usage_stats) AS usage_rows,
       (SELECT count(*) FROM user_management."USER") AS users;

\echo
\echo '== the plan: the membership list is one InitPlan per statement, and the index takes workspace_id = ANY ($0)'
BEGIN;
SELECT zerocut.set_app_user(1);
EXPLAIN (COSTS OFF)
SELECT sum(api_calls) FROM data_statistics.usage_stats WHERE date >= CURRENT_DATE - 30;
COMMIT;
RESET ROLE;

\echo
\echo '== readonly_user (analysts, replicas) reads every workspace and writes nothing'
SET ROLE demo_reader;
SELECT count(*) AS workspaces, count(DISTINCT id) FILTER (WHERE status = 'active') AS active FROM workspace_domain.workspace;
\set ON_ERROR_STOP off
UPDATE financial_management.account SET balance = 0 WHERE workspace_id = 1;
\set ON_ERROR_STOP on
RESET ROLE;

\echo
\echo '== disable_workspace_isolation() undoes exactly what enable did; the demo roles go'
SELECT zerocut.disable_workspace_isolation();
SELECT count(*) AS tables_still_forced FROM pg_class
WHERE relforcerowsecurity AND relnamespace::regnamespace::text IN ('user_management', 'workspace_domain',
      'financial_management', 'api_management', 'data_statistics', 'audit_log', 'archive');
DROP ROLE demo_app, demo_reader;
DROP OWNED BY application_user, readonly_user;
DROP ROLE application_user, readonly_user;
