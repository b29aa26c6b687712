-- Rules that hold for every object zerocut installs (runs last).

-- Every function has a COMMENT.
SELECT p.oid::regprocedure AS function_without_comment
FROM pg_proc p
WHERE p.pronamespace = 'zerocut'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL;

-- Every SECURITY DEFINER function pins search_path.
SELECT p.oid::regprocedure AS definer_without_search_path
FROM pg_proc p
WHERE p.pronamespace = 'zerocut'::regnamespace AND p.prosecdef
  AND NOT coalesce(p.proconfig::text[] @> ARRAY['search_path=pg_catalog, pg_temp'], false);

-- Every table and view of the extension has a COMMENT.
SELECT c.oid::regclass AS relation_without_comment
FROM pg_class c
WHERE c.relnamespace = 'zerocut'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
  AND obj_description(c.oid, 'pg_class') IS NULL;

-- What PUBLIC may use, as an explicit list (docs/security.md): PostgreSQL
-- lets PUBLIC execute every new function, so a function missing from this
-- list and not revoked shows up below and fails the test.
CREATE TEMP TABLE public_may_execute (fn text PRIMARY KEY, why text NOT NULL);
INSERT INTO public_may_execute VALUES
    ('zerocut.version()', 'version information only'),
    ('zerocut.sample_hash(bigint,integer)', 'a pure hash'),
    ('zerocut.touch_updated_at()', 'trigger: sets updated_at on the caller''s own table'),
    ('zerocut.get_workspace_dashboard_stats(integer,integer)', 'runs as its caller, under the caller''s grants and RLS'),
    ('zerocut.refresh_analytics_views()', 'refreshes only views the caller owns'),
    ('zerocut.audit_history(regclass,jsonb)', 'reads the log as its caller (needs SELECT on the log)'),
    ('zerocut.keyring_invalidate()', 'trigger that only drops the key cache'),
    ('zerocut.jsonb_log_ops_extract_value(jsonb,internal,internal)', 'GIN operator class support'),
    ('zerocut.jsonb_log_ops_extract_query(jsonb,internal,smallint,internal,internal,internal,internal)', 'GIN operator class support'),
    ('zerocut.jsonb_log_ops_consistent(internal,smallint,jsonb,integer,internal,internal,internal,internal)', 'GIN operator class support'),
    ('zerocut.jsonb_log_ops_triconsistent(internal,smallint,jsonb,integer,internal,internal,internal)', 'GIN operator class support'),
    ('zerocut.jsonb_log_ops_compare_partial(bigint,bigint,smallint,internal)', 'GIN operator class support'),
    ('zerocut.encrypt_sensitive_data(text,text)', 'seed-compatible pgcrypto wrapper: the caller supplies the key'),
    ('zerocut.decrypt_sensitive_data(bytea,text)', 'seed-compatible pgcrypto wrapper: the caller supplies the key'),
    ('zerocut.tenant_tables()', 'lists table names only: those of the catalogs every role can read, and archive tables named in zerocut.archive_policy, which pg_class shows too'),
    ('zerocut.log_row_workspace(jsonb)', 'a pure function of its argument'),
    ('zerocut.current_app_user_id()', 'reads app.current_user_id, a setting any role may read and set; for RLS policies'),
    ('zerocut.set_app_user(integer)', 'SET LOCAL of app.current_user_id, which any role may do itself; not an identity'),
    ('zerocut.cron_schedule_interval(text)', 'a pure function of its argument (reads a cron schedule)'),
    ('zerocut.require_pg_cron(text)', 'raises an error or nothing, from catalogs and settings every role can read'),
    ('zerocut.online_copy_pending(integer,integer)', 'the captured change keys of an online copy, only for the owner of its source (42501 otherwise); online copies read their log through it as the tables'' owner');

-- Functions PUBLIC may execute that the list does not open.
SELECT p.oid::regprocedure AS public_function_not_in_list
FROM pg_proc p
WHERE p.pronamespace = 'zerocut'::regnamespace
  AND has_function_privilege('public', p.oid, 'EXECUTE')
  AND p.oid::regprocedure::text NOT IN (SELECT fn FROM public_may_execute)
ORDER BY p.oid::regprocedure::text;

-- Entries of the list that are gone or closed (keeps the list honest).
SELECT fn AS listed_but_not_public
FROM public_may_execute
WHERE to_regprocedure(fn) IS NULL OR NOT has_function_privilege('public', to_regprocedure(fn), 'EXECUTE')
ORDER BY 1;

-- PUBLIC has no privilege on any table, view or sequence of zerocut or of
-- the audit log (partitions included).
SELECT c.oid::regclass AS relation_open_to_public, a.privilege_type
FROM pg_class c, aclexplode(c.relacl) a
WHERE c.relnamespace IN ('zerocut'::regnamespace, 'audit_log'::regnamespace)
  AND a.grantee = 0
ORDER BY c.oid::regclass::text, 2;

-- Nor CREATE on their schemas (a squatter could plant objects there).
SELECT n.nspname AS schema_open_to_public, a.privilege_type
FROM pg_namespace n, aclexplode(n.nspacl) a
WHERE n.nspname IN ('zerocut', 'audit_log') AND a.grantee = 0 AND a.privilege_type = 'CREATE'
ORDER BY 1, 2;

-- Every trigger function PUBLIC may execute is in the list for a reason
-- (a trigger function open to PUBLIC is callable on any table the caller
-- makes, e.g. a TEMP table).
SELECT p.oid::regprocedure AS public_trigger_function, l.why
FROM pg_proc p JOIN public_may_execute l ON l.fn = p.oid::regprocedure::text
WHERE p.pronamespace = 'zerocut'::regnamespace AND p.prorettype = 'trigger'::regtype
ORDER BY p.oid::regprocedure::text;

DROP TABLE public_may_execute;
