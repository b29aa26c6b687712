-- Workspace isolation (issue 17): setup_roles(), enable/disable_workspace_isolation().
-- A matrix as application_user: 3 workspaces x users of different
-- memberships x every tenant table x SELECT / INSERT / UPDATE / DELETE /
-- COPY; only the app user's workspaces are visible or writable.
SELECT zerocut.install_domain_schema() IS NOT NULL AS installed;

-- Workspaces 901 (active), 902 (active), 903 (deleted).  Users:
--   9001 active member of 901 and 902      9002 inactive member of 901
--   9003 no membership                     9004 member of deleted 903 only
--   9005 active member of 902
INSERT INTO user_management."USER" (id, email, password_hash, username)
SELECT id, 'u' || id || '@example.com', 'hash', 'user' || id FROM generate_series(9001, 9005) AS id;
INSERT INTO workspace_domain.workspace (id, name, code, status) VALUES
    (901, 'Alpha', 'alpha', 'active'), (902, 'Beta', 'beta', 'active'), (903, 'Gone', 'gone', 'deleted');
INSERT INTO workspace_domain.user_workspace (user_id, workspace_id, status) VALUES
    (9001, 901, 'active'), (9001, 902, 'active'), (9002, 901, 'inactive'), (9004, 903, 'active'), (9005, 902, 'active');
INSERT INTO financial_management.account (workspace_id, balance) SELECT id, 10 FROM unnest(ARRAY[901, 902, 903]) AS id;
INSERT INTO api_management.api_key (workspace_id, user_id, name, key_prefix, key_hash)
SELECT w, 9001, 'key', 'zc_', 'hash-' || w FROM unnest(ARRAY[901, 902, 903]) AS w;
INSERT INTO data_statistics.usage_stats (workspace_id, date, api_calls)
SELECT w, DATE '2020-01-15', 1 FROM unnest(ARRAY[901, 902, 903]) AS w;
INSERT INTO financial_management.consumption_record (workspace_id, amount, created_at)
SELECT w, 1, TIMESTAMPTZ '2020-01-15 12:00+00' FROM unnest(ARRAY[901, 902, 903]) AS w;
-- An archive table: the domain's policy moves consumption records older
-- than six months (all of these); those of 2020 come back.
INSERT INTO financial_management.consumption_record (workspace_id, amount, created_at)
SELECT w, 2, TIMESTAMPTZ '2019-06-15 12:00+00' FROM unnest(ARRAY[901, 902, 903]) AS w;
SELECT source, rows_moved, status FROM zerocut.archive() ORDER BY 1;
SELECT zerocut.restore_archived('financial_management.consumption_record', TIMESTAMPTZ '2020-01-01 00:00+00',
                                TIMESTAMPTZ '2020-02-01 00:00+00') AS restored;

-- Bad calls change nothing.
SELECT zerocut.enable_workspace_isolation(NULL);
SELECT zerocut.enable_workspace_isolation('regress_no_such_role');
SELECT zerocut.disable_workspace_isolation() IS NULL AS nothing_to_undo;

SELECT zerocut.setup_roles();
SELECT zerocut.setup_roles();  -- idempotent
SELECT rolname, rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb
FROM pg_roles WHERE rolname IN ('application_user', 'readonly_user') ORDER BY 1;
CREATE ROLE regress_app LOGIN IN ROLE application_user;
CREATE ROLE regress_reader LOGIN IN ROLE readonly_user;
CREATE ROLE regress_bypass BYPASSRLS;
SELECT zerocut.enable_workspace_isolation('regress_bypass');
SET ROLE regress_app;
SELECT zerocut.enable_workspace_isolation();  -- superusers only
RESET ROLE;

SELECT zerocut.enable_workspace_isolation();
SELECT zerocut.enable_workspace_isolation();  -- idempotent
-- Next month's partition, made after: it copies the parent's grants,
-- row security and policies.
SELECT zerocut.create_monthly_partition('financial_management.consumption_record', DATE '2035-03-01') IS NOT NULL AS later_partition;
INSERT INTO financial_management.consumption_record (workspace_id, amount, created_at)
SELECT w, 5, TIMESTAMPTZ '2035-03-02 00:00+00' FROM unnest(ARRAY[901, 902, 903]) AS w;
-- enable again covers it; what it records as "before" is the state before
-- zerocut (off), not the flags it copied from the parent.
SELECT zerocut.enable_workspace_isolation();
SELECT had_row_security, had_force_row_security FROM zerocut.workspace_isolation
WHERE relation = 'financial_management.consumption_record_2035_03'::regclass;
-- Every tenant table and partition is forced, with its policies.
SELECT t.relation, t.tenant_key,
       bool_and(c.relrowsecurity AND c.relforcerowsecurity) AS forced,
       bool_and(EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'zerocut_isolation'))
           AS each_has_policy,
       (SELECT string_agg(p.polname || ':' || p.polcmd::text || ':' || p.polroles::regrole[]::text, ' '
                          ORDER BY p.polname)
        FROM pg_policy p WHERE p.polrelid = t.relation) AS policies
FROM zerocut.tenant_tables() t
CROSS JOIN LATERAL (SELECT t.relation AS relid UNION SELECT relid FROM pg_partition_tree(t.relation)) tree
JOIN pg_class c ON c.oid = tree.relid
GROUP BY t.relation, t.tenant_key ORDER BY t.relation::text;
-- The policy's form: the list is an initplan, computed once per statement.
SELECT pg_get_expr(polqual, polrelid) AS using_expression
FROM pg_policy WHERE polrelid = 'api_management.api_key'::regclass AND polname = 'zerocut_isolation';
-- The index it needs (consumption_record had only a partial one).
SELECT relation, created_index FROM zerocut.workspace_isolation WHERE created_index IS NOT NULL ORDER BY relation::text;

-- What one app user sees of one table: its workspaces (or user ids).
CREATE FUNCTION regress_visible(setting text, target regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    key text := CASE WHEN target = 'user_management."USER"'::regclass THEN 'id'
                     WHEN target = 'workspace_domain.workspace'::regclass THEN 'id'
                     WHEN target = 'audit_log.system_log'::regclass THEN 'zerocut.log_row_workspace(metadata)'
                     ELSE 'workspace_id' END;
    seen text;
BEGIN
    PERFORM set_config('app.current_user_id', coalesce(setting, ''), true);
    EXECUTE format('SELECT coalesce(string_agg(DISTINCT %s::text, '' ''), ''-'') FROM %s', key, target) INTO seen;
    RETURN seen;
END
$$;
-- A write as one app user, rolled back: "ok N" (rows) or the error.
CREATE FUNCTION regress_write(setting text, statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    rows bigint;
BEGIN
    PERFORM set_config('app.current_user_id', coalesce(setting, ''), true);
    BEGIN
        EXECUTE statement;
        GET DIAGNOSTICS rows = ROW_COUNT;
        RAISE EXCEPTION USING ERRCODE = 'ZZ000', MESSAGE = rows::text;
    EXCEPTION WHEN SQLSTATE 'ZZ000' THEN
        RETURN 'ok ' || SQLERRM;
    WHEN OTHERS THEN
        RETURN SQLSTATE || ': ' || SQLERRM;
    END;
END
$$;
GRANT EXECUTE ON FUNCTION regress_visible(text, regclass), regress_write(text, text) TO PUBLIC;

SET ROLE regress_app;
-- Reads: each user x each tenant table.  Bad settings see nothing, raise nothing.
SELECT coalesce(quote_literal(s.setting), 'unset') AS setting, t.relation, regress_visible(s.setting, t.relation) AS visible
FROM (VALUES (NULL), (''), ('abc'), ('-1'), ('0'), ('2147483648'), ('9001'), ('9002'), ('9003'), ('9004'), ('9005'))
     AS s(setting)
CROSS JOIN zerocut.tenant_tables() t
ORDER BY t.relation::text, s.setting NULLS FIRST;

-- Writes as 9001 (member of 901 and 902) into 903 (foreign): refused or
-- no row; into 901: allowed.  Then the same as 9003 (no membership).
SELECT u.setting, w.what, regress_write(u.setting, w.statement) AS result
FROM (VALUES ('9001'), ('9003')) AS u(setting)
CROSS JOIN (VALUES
    ('insert api_key own', $$INSERT INTO api_management.api_key (workspace_id, name, key_prefix, key_hash) VALUES (901, 'n', 'p', 'h-new')$$),
    ('insert api_key foreign', $$INSERT INTO api_management.api_key (workspace_id, name, key_prefix, key_hash) VALUES (903, 'n', 'p', 'h-new')$$),
    ('update api_key own', $$UPDATE api_management.api_key SET name = 'x' WHERE workspace_id = 901$$),
    ('update api_key foreign', $$UPDATE api_management.api_key SET name = 'x' WHERE workspace_id = 903$$),
    ('move api_key to foreign', $$UPDATE api_management.api_key SET workspace_id = 903 WHERE workspace_id = 901$$),
    ('delete api_key foreign', $$DELETE FROM api_management.api_key WHERE workspace_id = 903$$),
    ('insert usage foreign', $$INSERT INTO data_statistics.usage_stats (workspace_id, date) VALUES (903, DATE '2020-01-16')$$),
    ('insert usage own', $$INSERT INTO data_statistics.usage_stats (workspace_id, date) VALUES (902, DATE '2020-01-16')$$),
    ('update usage all', $$UPDATE data_statistics.usage_stats SET api_calls = api_calls + 1$$),
    ('insert record foreign', $$INSERT INTO financial_management.consumption_record (workspace_id, amount, created_at) VALUES (903, 1, TIMESTAMPTZ '2020-01-16 00:00+00')$$),
    ('delete record all', $$DELETE FROM financial_management.consumption_record$$),
    ('update account all', $$UPDATE financial_management.account SET balance = balance + 1$$),
    ('insert member foreign', $$INSERT INTO workspace_domain.user_workspace (user_id, workspace_id) VALUES (9003, 903)$$),
    ('update workspace all', $$UPDATE workspace_domain.workspace SET description = 'x'$$),
    ('insert workspace', $$INSERT INTO workspace_domain.workspace (id, name, code) VALUES (904, 'n', 'n')$$),
    ('update self', $$UPDATE user_management."USER" SET username = 'me' WHERE id = 9001$$),
    ('update co-member', $$UPDATE user_management."USER" SET username = 'you' WHERE id = 9005$$),
    ('delete co-member', $$DELETE FROM user_management."USER" WHERE id = 9005$$),
    ('delete self', $$DELETE FROM user_management."USER" WHERE id = 9001$$),
    ('insert user', $$INSERT INTO user_management."USER" (id, email, password_hash, username) VALUES (9009, 'x@example.com', 'h', 'x')$$),
    ('update archive own', $$UPDATE archive.consumption_record_archive SET amount = 3 WHERE workspace_id = 901$$),
    ('update archive', $$UPDATE archive.consumption_record_archive SET amount = 3$$),
    ('write the log', $$INSERT INTO audit_log.system_log (message) VALUES ('forged')$$)
) AS w(what, statement)
ORDER BY 1, 2;

-- COPY: out shows only visible rows, in refuses a foreign row.
BEGIN;
SELECT zerocut.set_app_user(9005);
COPY (SELECT workspace_id FROM api_management.api_key ORDER BY 1) TO STDOUT;
COPY api_management.api_key (workspace_id, name, key_prefix, key_hash) FROM STDIN;
901	copied	p	h-copied
\.
ROLLBACK;

-- SET LOCAL does not leak into the next transaction.
BEGIN;
SET LOCAL app.current_user_id = '9001';
SELECT count(*) AS workspaces_in_transaction FROM workspace_domain.workspace;
COMMIT;
SELECT current_setting('app.current_user_id', true) AS after_commit,
       (SELECT count(*) FROM workspace_domain.workspace) AS workspaces_after_commit;

-- The dashboard: own workspace answers, a foreign one fails exactly like a
-- missing one (no existence leak).
BEGIN;
SELECT zerocut.set_app_user(9005);
SELECT (zerocut.get_workspace_dashboard_stats(902)::jsonb ->> 'api_key_count') AS own_workspace_keys;
SAVEPOINT s;
SELECT zerocut.get_workspace_dashboard_stats(901);
ROLLBACK TO s;
SELECT zerocut.get_workspace_dashboard_stats(999);
ROLLBACK;

-- No way around through a partition: one made before setup_roles() has no
-- grant for the role; one made after has the parent's grants and policies.
BEGIN;
SELECT zerocut.set_app_user(9005);
SELECT workspace_id FROM financial_management.consumption_record_2035_03 ORDER BY 1;
SAVEPOINT s;
SELECT workspace_id FROM financial_management.consumption_record_default ORDER BY 1;
ROLLBACK;
-- The security_invoker view follows the policies.
BEGIN;
SELECT zerocut.set_app_user(9001);
SELECT user_id, workspace_id FROM workspace_domain.v_user_workspace_optimized ORDER BY 1, 2;
ROLLBACK;
-- Nothing else: no DDL, no analytics view (a materialized view has no
-- row security), no zerocut job.
CREATE TABLE workspace_domain.regress_app_table (id int);
SELECT count(*) FROM data_statistics.mv_workspace_analytics;
TRUNCATE api_management.api_key;
RESET ROLE;

-- current_workspace_ids() keeps its answer while the snapshot is the same
-- and reads again when it is not: after the transaction's own write, after
-- a rolled-back savepoint (same snapshot fields, the savepoint's writes
-- gone), for another user; as the app role its policies follow.
BEGIN;
SELECT zerocut.set_app_user(9001);
SELECT zerocut.current_workspace_ids() AS first, zerocut.current_workspace_ids() AS again;
UPDATE workspace_domain.user_workspace SET status = 'inactive' WHERE user_id = 9001 AND workspace_id = 901;
SELECT zerocut.current_workspace_ids() AS after_own_write;
SAVEPOINT regress_membership;
UPDATE workspace_domain.user_workspace SET status = 'active' WHERE user_id = 9001 AND workspace_id = 901;
SELECT zerocut.current_workspace_ids() AS in_savepoint;
ROLLBACK TO SAVEPOINT regress_membership;
SELECT zerocut.current_workspace_ids() AS after_rollback_to_savepoint;
SET LOCAL ROLE regress_app;
SELECT array_agg(workspace_id ORDER BY workspace_id) AS app_sees_keys FROM api_management.api_key;
SELECT zerocut.set_app_user(9004);
SELECT zerocut.current_workspace_ids() AS other_user;
SELECT zerocut.set_app_user(NULL);
SELECT zerocut.current_workspace_ids() AS no_user;
ROLLBACK;
BEGIN;  -- a new transaction: nothing of the rolled-back one's writes is kept
SELECT zerocut.set_app_user(9001);
SELECT zerocut.current_workspace_ids() AS next_transaction;
COMMIT;
-- Kept across transactions only while nothing that wrote has ended: a
-- committed change shows in the next transaction.
BEGIN;
SELECT zerocut.set_app_user(9001);
SELECT zerocut.current_workspace_ids() AS before_revoke;
COMMIT;
UPDATE workspace_domain.user_workspace SET status = 'inactive' WHERE user_id = 9001 AND workspace_id = 902;
BEGIN;
SELECT zerocut.set_app_user(9001);
SELECT zerocut.current_workspace_ids() AS after_committed_revoke;
COMMIT;
UPDATE workspace_domain.user_workspace SET status = 'active' WHERE user_id = 9001 AND workspace_id = 902;
UPDATE workspace_domain.workspace SET status = 'suspended' WHERE id = 901;
BEGIN;
SELECT zerocut.set_app_user(9001);
SELECT zerocut.current_workspace_ids() AS workspace_901_suspended;
COMMIT;
UPDATE workspace_domain.workspace SET status = 'active' WHERE id = 901;
BEGIN;
SELECT zerocut.set_app_user(9001);
SELECT zerocut.current_workspace_ids() AS both_again;
COMMIT;
-- PARALLEL RESTRICTED (both lists): with parallel plans forced, the leader
-- runs them and hands the value to the workers; the answers are the same
-- and the leader holds both tables' locks to the end of the transaction.
SELECT proname, proparallel FROM pg_proc
WHERE oid IN ('zerocut.current_workspace_ids()'::regprocedure, 'zerocut.visible_user_ids()'::regprocedure)
ORDER BY 1;
BEGIN;
SELECT set_config(CASE WHEN current_setting('server_version_num')::integer >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END,
                  'regress', true) = 'regress' AS parallel_forced;
SELECT zerocut.set_app_user(9001);
SELECT zerocut.current_workspace_ids() AS parallel_forced_ids;
SET LOCAL ROLE regress_app;
SELECT array_agg(workspace_id ORDER BY workspace_id) AS app_sees_keys_parallel_forced FROM api_management.api_key;
RESET ROLE;
SELECT set_config(CASE WHEN current_setting('server_version_num')::integer >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END,
                  'off', true) = 'off' AS parallel_not_forced;
SELECT relation::regclass, mode FROM pg_locks
WHERE pid = pg_backend_pid() AND locktype = 'relation'
  AND relation IN ('workspace_domain.user_workspace'::regclass, 'workspace_domain.workspace'::regclass)
ORDER BY relation::regclass::text;
COMMIT;
-- The tables are locked once per transaction, a kept answer or not; a
-- rolled-back savepoint releases the locks taken in it and the next call
-- takes them again.
BEGIN;
SELECT zerocut.set_app_user(9001);
SAVEPOINT regress_locks;
SELECT zerocut.current_workspace_ids() AS kept_in_savepoint;
ROLLBACK TO SAVEPOINT regress_locks;
SELECT count(*) AS locks_after_rollback_to_savepoint FROM pg_locks
WHERE pid = pg_backend_pid() AND locktype = 'relation'
  AND relation IN ('workspace_domain.user_workspace'::regclass, 'workspace_domain.workspace'::regclass);
SELECT zerocut.current_workspace_ids() AS after_it;
SELECT count(*) AS locks_again FROM pg_locks
WHERE pid = pg_backend_pid() AND locktype = 'relation'
  AND relation IN ('workspace_domain.user_workspace'::regclass, 'workspace_domain.workspace'::regclass);
COMMIT;

-- The memberships are read straight from the tables: by an index on
-- user_id when there is one, else by a heap scan (same answers); a column
-- of another type is refused (42804), a missing table is 42P01.  (The
-- analytics views depend on the columns; dropped and back by the rollback.)
BEGIN;
ALTER TABLE workspace_domain.user_workspace DROP CONSTRAINT user_workspace_user_id_workspace_id_key;
SELECT zerocut.set_app_user(9001);
SELECT zerocut.current_workspace_ids() AS without_user_id_index;
ROLLBACK;
BEGIN;
SET LOCAL client_min_messages = warning;
DROP MATERIALIZED VIEW data_statistics.mv_workspace_analytics CASCADE;
DROP VIEW workspace_domain.v_user_workspace_optimized CASCADE;
ALTER TABLE workspace_domain.user_workspace ALTER COLUMN status TYPE text;
SELECT zerocut.set_app_user(9001);
SELECT zerocut.current_workspace_ids() AS status_as_text;
ALTER TABLE workspace_domain.user_workspace ALTER COLUMN user_id TYPE bigint;
SELECT zerocut.current_workspace_ids() AS user_id_as_bigint;
ROLLBACK;
BEGIN;
ALTER TABLE workspace_domain.workspace RENAME TO workspace_renamed;
SELECT zerocut.set_app_user(9001);
SELECT zerocut.current_workspace_ids() AS workspace_renamed;
ROLLBACK;
BEGIN;
SELECT zerocut.set_app_user(9001);
SELECT zerocut.current_workspace_ids() AS after_the_rollbacks;
COMMIT;

-- readonly_user reads everything, writes nothing, also in tables made
-- later and in next month's partition (made after setup_roles()).
CREATE TABLE financial_management.regress_later (id int);
INSERT INTO financial_management.regress_later VALUES (1);
SET ROLE regress_reader;
SELECT t.relation, regress_visible(NULL, t.relation) AS visible
FROM zerocut.tenant_tables() t ORDER BY t.relation::text;
SELECT count(*) AS later_table_rows FROM financial_management.regress_later;
SELECT regress_write(NULL, $$INSERT INTO financial_management.regress_later VALUES (2)$$) AS insert_later_table,
       regress_write(NULL, $$INSERT INTO financial_management.consumption_record_2035_03 (workspace_id, amount, created_at) VALUES (901, 1, TIMESTAMPTZ '2035-03-02 00:00+00')$$) AS insert_partition,
       regress_write(NULL, $$INSERT INTO financial_management.consumption_record (workspace_id, amount, created_at) VALUES (901, 1, TIMESTAMPTZ '2035-03-02 00:00+00')$$) AS insert_parent,
       regress_write(NULL, $$UPDATE workspace_domain.workspace SET name = 'x'$$) AS update_workspace,
       regress_write(NULL, $$DELETE FROM audit_log.system_log$$) AS delete_log;
RESET ROLE;
-- The later partition got the parent's policies (zerocut copies them).
SELECT polname FROM pg_policy WHERE polrelid = 'financial_management.consumption_record_2035_03'::regclass ORDER BY 1;

-- An archive table made after enable (a new archive policy's first run)
-- copies its source's grants, row security and a read-only policy: the
-- app role reads its own workspaces' archived rows and writes none.
SELECT zerocut.set_archive_policy('data_statistics.usage_stats', 'date', '1 year');
SELECT source, rows_moved, status FROM zerocut.archive('data_statistics.usage_stats');
SELECT relrowsecurity, relforcerowsecurity,
       (SELECT string_agg(polname || ':' || polcmd::text, ' ' ORDER BY polname) FROM pg_policy WHERE polrelid = c.oid)
           AS policies
FROM pg_class c WHERE c.oid = 'data_statistics_archive.usage_stats_archive'::regclass;
SET ROLE regress_app;
SELECT regress_visible('9005', 'data_statistics_archive.usage_stats_archive') AS visible_9005,
       regress_write('9005', $$UPDATE data_statistics_archive.usage_stats_archive SET api_calls = 0$$) AS update_all,
       regress_write('9005', $$INSERT INTO data_statistics_archive.usage_stats_archive (id, workspace_id, date) VALUES (999999, 902, DATE '2019-01-01')$$)
           AS insert_own,
       regress_write('9005', $$DELETE FROM data_statistics_archive.usage_stats_archive$$) AS delete_all;
RESET ROLE;
-- enable registers it; dropping it (or any registered table) removes its
-- row, so a later table with its OID is never taken for it.
SELECT zerocut.enable_workspace_isolation();
SELECT count(*) AS registered FROM zerocut.workspace_isolation WHERE relation = 'data_statistics_archive.usage_stats_archive'::regclass;
CREATE TEMP TABLE regress_archive_oid AS SELECT 'data_statistics_archive.usage_stats_archive'::regclass::oid AS relid;
SELECT zerocut.restore_archived('data_statistics.usage_stats', '-infinity', 'infinity') AS restored;
DROP TABLE data_statistics_archive.usage_stats_archive;
SELECT count(*) AS still_registered FROM zerocut.workspace_isolation WHERE relation IN (SELECT relid FROM regress_archive_oid);
DELETE FROM zerocut.archive_policy WHERE source_table = 'usage_stats';
DROP SCHEMA data_statistics_archive;

-- The owner's jobs see every row through forced row security.
SELECT zerocut.refresh_analytics_views() IS NOT NULL AS refreshed;
SELECT count(*) AS workspaces_in_analytics FROM data_statistics.mv_workspace_analytics;

-- disable undoes exactly what enable did (the later partition included).
SELECT zerocut.disable_workspace_isolation();
SELECT count(*) AS zerocut_policies FROM pg_policy WHERE polname LIKE 'zerocut%';
SELECT count(*) AS tables_with_row_security FROM pg_class WHERE relrowsecurity OR relforcerowsecurity;
SELECT count(*) AS registry_rows FROM zerocut.workspace_isolation;
SELECT to_regclass('financial_management.consumption_record_zerocut_workspace_idx') AS created_index_after_disable;
-- A table that had row security of its own keeps it.
ALTER TABLE api_management.api_key ENABLE ROW LEVEL SECURITY;
SELECT zerocut.enable_workspace_isolation();
SELECT zerocut.disable_workspace_isolation();
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'api_management.api_key'::regclass;
ALTER TABLE api_management.api_key DISABLE ROW LEVEL SECURITY;

-- Leave the database as we found it.
DROP TABLE financial_management.regress_later, financial_management.consumption_record_2035_03;
DROP TABLE archive.consumption_record_archive;
DROP FUNCTION regress_visible(text, regclass), regress_write(text, text);
DROP ROLE regress_app, regress_reader, regress_bypass;
SET client_min_messages = warning;
TRUNCATE user_management."USER", workspace_domain.workspace, financial_management.consumption_record,
         audit_log.system_log CASCADE;
RESET client_min_messages;
REFRESH MATERIALIZED VIEW data_statistics.mv_workspace_analytics WITH NO DATA;
-- The roles stay (they own nothing); their grants go with the tables'.
DROP OWNED BY application_user, readonly_user;
DROP ROLE application_user, readonly_user;
