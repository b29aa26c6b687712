-- zerocut.check_security(): the security linter (issue 17).  Each defect is
-- planted alone and found as exactly one row; the fix that row gives is then
-- run as written and the result is empty again.

-- Runs every fix the linter gives, as written; returns how many.
CREATE FUNCTION pg_temp.apply_fixes() RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    finding record;
    applied integer := 0;
BEGIN
    FOR finding IN SELECT fix FROM zerocut.check_security() LOOP
        EXECUTE finding.fix;
        applied := applied + 1;
    END LOOP;
    RETURN applied;
END
$$;

-- Neither role exists yet (61_workspace_isolation drops them): the checks
-- that need application_user (4 and 7) say nothing.
SELECT count(*) AS isolation_roles FROM pg_roles WHERE rolname IN ('application_user', 'readonly_user');

-- Without the domain schema (only CREATE EXTENSION): nothing to report.
BEGIN;
SET LOCAL client_min_messages = warning;
DROP SCHEMA user_management, workspace_domain, financial_management, api_management, data_statistics, audit_log, archive
    CASCADE;
SELECT * FROM zerocut.check_security();
ROLLBACK;

-- The domain without isolation: every tenant table and partition is
-- reported, with the one fix (partitions' names depend on today's date,
-- so only the tables are shown).
SELECT object, problem, fix FROM zerocut.check_security() WHERE problem LIKE 'tenant table%';
SELECT count(*) FILTER (WHERE problem LIKE 'partition of%') > 0 AS partitions_reported,
       count(*) FILTER (WHERE severity <> 'high' OR problem NOT LIKE '%row-level security is not enabled') AS other_rows
FROM zerocut.check_security();

-- The clean state: roles and isolation as zerocut sets them up.
SELECT zerocut.setup_roles();
SELECT zerocut.enable_workspace_isolation();
SELECT * FROM zerocut.check_security();

-- 1. A tenant table whose owner bypasses its policies (no FORCE).
ALTER TABLE workspace_domain.workspace NO FORCE ROW LEVEL SECURITY;
SELECT * FROM zerocut.check_security();
-- Who may call it: not the application's roles (EXECUTE is revoked from
-- PUBLIC: 42501); a role the DBA grants EXECUTE finds the same (it reads
-- only catalogs every role may read).
CREATE ROLE regress_lint_auditor IN ROLE application_user;
SET ROLE regress_lint_auditor;
SELECT * FROM zerocut.check_security();
RESET ROLE;
GRANT EXECUTE ON FUNCTION zerocut.check_security() TO regress_lint_auditor;
SET ROLE regress_lint_auditor;
SELECT * FROM zerocut.check_security();
RESET ROLE;
REVOKE EXECUTE ON FUNCTION zerocut.check_security() FROM regress_lint_auditor;
DROP ROLE regress_lint_auditor;
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();

-- 1. A partition made by hand, without row-level security.
CREATE TABLE data_statistics.usage_stats_regress_lint PARTITION OF data_statistics.usage_stats
    FOR VALUES FROM ('2050-01-01') TO ('2050-02-01');
ALTER TABLE data_statistics.usage_stats_regress_lint DISABLE ROW LEVEL SECURITY, NO FORCE ROW LEVEL SECURITY;
SELECT * FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();
DROP TABLE data_statistics.usage_stats_regress_lint;

-- 2. SECURITY DEFINER functions in a domain schema without a pinned
-- search_path: none at all, then one naming "$user" and public.
CREATE FUNCTION api_management.regress_lint_definer() RETURNS integer
    LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';
SELECT * FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();
ALTER FUNCTION api_management.regress_lint_definer() SET search_path = "$user", public;
SELECT * FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();
SELECT proconfig FROM pg_proc WHERE oid = 'api_management.regress_lint_definer()'::regprocedure;
DROP FUNCTION api_management.regress_lint_definer();

-- 3. A VOLATILE zerocut function and a key function opened to PUBLIC.
GRANT EXECUTE ON FUNCTION zerocut.archive(regclass) TO PUBLIC;
SELECT * FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();
GRANT EXECUTE ON FUNCTION zerocut.decrypt(bytea, text) TO PUBLIC;
SELECT * FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();
-- Not reported: a trigger function (it cannot be called), and the listed
-- exceptions, e.g. refresh_analytics_views() (PUBLIC may execute it).
GRANT EXECUTE ON FUNCTION zerocut.audit_trigger_function() TO PUBLIC;
SELECT has_function_privilege('public', 'zerocut.refresh_analytics_views()', 'EXECUTE') AS refresh_is_public;
SELECT * FROM zerocut.check_security();
REVOKE EXECUTE ON FUNCTION zerocut.audit_trigger_function() FROM PUBLIC;

-- 4. A LOGIN role with BYPASSRLS granted application_user.
CREATE ROLE regress_lint_bypass LOGIN BYPASSRLS IN ROLE application_user;
SELECT * FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();
DROP ROLE regress_lint_bypass;
-- A LOGIN superuser that is a member through another role.
CREATE ROLE regress_lint_group NOLOGIN IN ROLE application_user;
CREATE ROLE regress_lint_super LOGIN SUPERUSER IN ROLE regress_lint_group;
SELECT * FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();
DROP ROLE regress_lint_super, regress_lint_group;
-- application_user itself with BYPASSRLS.
ALTER ROLE application_user BYPASSRLS;
SELECT * FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();

-- 5. A unique index on api_key(name): a tenant could probe the names of
-- other workspaces' keys.  One with a *_hash column is not reported.
CREATE UNIQUE INDEX regress_lint_api_key_name ON api_management.api_key (name);
SELECT * FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();
SELECT pg_get_indexdef('api_management.regress_lint_api_key_name'::regclass) AS fixed_index;
DROP INDEX api_management.regress_lint_api_key_name;
CREATE UNIQUE INDEX regress_lint_api_key_name_hash ON api_management.api_key (name, key_hash);
SELECT * FROM zerocut.check_security();
DROP INDEX api_management.regress_lint_api_key_name_hash;
-- A foreign key from one workspace-scoped table to another without
-- workspace_id on both sides.
ALTER TABLE financial_management.consumption_record
    ADD CONSTRAINT regress_lint_api_key_fk FOREIGN KEY (api_key_id) REFERENCES api_management.api_key (id) ON DELETE SET NULL;
SELECT * FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conname IN ('regress_lint_api_key_fk', 'api_key_workspace_id_id_key') AND conparentid = 0 ORDER BY 1;
ALTER TABLE financial_management.consumption_record DROP CONSTRAINT regress_lint_api_key_fk;
ALTER TABLE api_management.api_key DROP CONSTRAINT api_key_workspace_id_id_key;

-- 6. app.current_user_id set for the database, for a role, for a role in
-- the database (the database's name is shown as <db>).
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET app.current_user_id = %L', current_database(), '1');
END
$$;
CREATE ROLE regress_lint_role;
ALTER ROLE regress_lint_role SET app.current_user_id = '2';
DO $$
BEGIN
    EXECUTE format('ALTER ROLE regress_lint_role IN DATABASE %I SET app.current_user_id = %L', current_database(), '3');
END
$$;
SELECT severity, replace(object, current_database(), '<db>') AS object, problem,
       replace(fix, current_database(), '<db>') AS fix
FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();
SELECT count(*) AS settings_left FROM pg_db_role_setting s, unnest(s.setconfig) c WHERE c LIKE 'app.%';
DROP ROLE regress_lint_role;

-- 7. A plain view granted to application_user (it reads the workspaces
-- with its owner's rights), and the analytics materialized view.
CREATE VIEW workspace_domain.regress_lint_view AS SELECT id, name FROM workspace_domain.workspace;
GRANT SELECT ON workspace_domain.regress_lint_view TO application_user;
SELECT * FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();
DROP VIEW workspace_domain.regress_lint_view;
GRANT SELECT ON data_statistics.mv_workspace_analytics TO application_user;
SELECT * FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();

-- 8. A permissive policy of someone else's on a tenant table, for PUBLIC
-- and for application_user: ORed with zerocut's, it reopens every
-- workspace.  One for another role, or AS RESTRICTIVE, is not reported.
CREATE POLICY regress_lint_open ON api_management.api_key FOR SELECT USING (true);
CREATE POLICY regress_lint_app ON workspace_domain.workspace FOR SELECT TO application_user USING (status = 'active');
CREATE ROLE regress_lint_other;
CREATE POLICY regress_lint_other ON api_management.api_key FOR SELECT TO regress_lint_other USING (true);
CREATE POLICY regress_lint_narrow ON api_management.api_key AS RESTRICTIVE FOR SELECT USING (status <> 'revoked');
SELECT * FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();
DROP POLICY regress_lint_other ON api_management.api_key;
DROP POLICY regress_lint_narrow ON api_management.api_key;
DROP ROLE regress_lint_other;

-- 9. An application login that is also granted readonly_user (through a
-- group): readonly_user's USING (true) is ORed in.
CREATE ROLE regress_lint_analysts IN ROLE readonly_user;
CREATE ROLE regress_lint_app LOGIN IN ROLE application_user, regress_lint_analysts;
SELECT * FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();
DROP ROLE regress_lint_app, regress_lint_analysts;

-- 10. An application login that can SET ROLE to the tables' owner, and
-- one that owns a tenant table.
CREATE ROLE regress_lint_owner;
ALTER TABLE api_management.api_key OWNER TO regress_lint_owner;
CREATE ROLE regress_lint_app LOGIN IN ROLE application_user, regress_lint_owner;
SELECT * FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();
GRANT application_user TO regress_lint_owner;
SELECT * FROM zerocut.check_security();
SELECT pg_temp.apply_fixes();
SELECT * FROM zerocut.check_security();
ALTER TABLE api_management.api_key OWNER TO CURRENT_USER;
DROP ROLE regress_lint_app, regress_lint_owner;

-- 11. An application login with CREATEROLE: reported before PostgreSQL 16
-- (it could grant itself the owner), not on 16 and later.
CREATE ROLE regress_lint_app LOGIN CREATEROLE IN ROLE application_user;
SELECT count(*) = CASE WHEN current_setting('server_version_num')::integer < 160000 THEN 1 ELSE 0 END
           AS createrole_reported_as_expected
FROM zerocut.check_security() WHERE object = 'regress_lint_app' AND problem LIKE 'has CREATEROLE%';
SELECT pg_temp.apply_fixes() IN (0, 1) AS fixed;
SELECT * FROM zerocut.check_security();
SELECT rolcreaterole = (current_setting('server_version_num')::integer >= 160000) AS createrole_as_expected
FROM pg_roles WHERE rolname = 'regress_lint_app';
DROP ROLE regress_lint_app;

-- Leave the database as we found it: isolation off, the roles gone.
SELECT zerocut.disable_workspace_isolation();
DROP OWNED BY application_user, readonly_user;
DROP ROLE application_user, readonly_user;
DROP FUNCTION pg_temp.apply_fixes();
