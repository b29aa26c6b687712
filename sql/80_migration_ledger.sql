-- The migration ledger (issue 19): zerocut.migration_versions,
-- apply_migration(), rollback_migration(), migration_status(), and the
-- domain-schema steps install_domain_schema() records.  The concurrent
-- cases are in test/isolation/specs/migration_ledger_concurrent.spec.
-- pg_temp.try(sql) runs one statement and shows its result or its error as
-- SQLSTATE | message | detail.
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text; state text; msg text; detail text;
BEGIN
    EXECUTE sql INTO result;
    RETURN 'ok: ' || coalesce(result, 'NULL');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    RETURN format('%s | %s%s', state, msg, CASE WHEN detail <> '' THEN ' | ' || detail ELSE '' END);
END
$$;
-- The test's own migrations, newest last.
CREATE FUNCTION pg_temp.ledger() RETURNS TABLE (version text, description text, checksum text, by_me boolean,
                                                has_duration boolean, rollback_sql text)
LANGUAGE sql AS $$
    SELECT version, description, left(checksum, 12), applied_by = current_user, duration IS NOT NULL, rollback_sql
    FROM zerocut.migration_versions WHERE version LIKE 't-%' ORDER BY applied_at, version
$$;
SELECT zerocut.install_domain_schema() IS NOT NULL AS installed;

-- The ledger: a config table (pg_dump keeps its rows), closed to PUBLIC.
SELECT column_name, data_type, is_nullable FROM information_schema.columns
WHERE table_schema = 'zerocut' AND table_name = 'migration_versions' ORDER BY ordinal_position;
SELECT 'zerocut.migration_versions'::regclass = ANY (extconfig) AS kept_by_pg_dump
FROM pg_extension WHERE extname = 'zerocut';
SELECT has_table_privilege('public', 'zerocut.migration_versions', 'SELECT') AS public_reads_ledger,
       has_function_privilege('public', 'zerocut.apply_migration(text,text,text,text)', 'EXECUTE') AS public_applies,
       has_function_privilege('public', 'zerocut.rollback_migration(text)', 'EXECUTE') AS public_rolls_back,
       has_function_privilege('public', 'zerocut.migration_status()', 'EXECUTE') AS public_sees_status;

-- install_domain_schema() recorded each of its steps: one row per domain
-- file (the files it returns), with the file's checksum, the caller, the
-- time it took, and no rollback SQL.
SELECT (SELECT string_agg(substr(version, length('zerocut.domain.') + 1) || '.sql', ',' ORDER BY version)
        FROM zerocut.migration_status() WHERE version LIKE 'zerocut.domain.%') = zerocut.install_domain_schema()
       AS one_row_per_file;
SELECT count(*) > 5 AS steps, bool_and(checksum ~ '^[0-9a-f]{64}$') AS sha256, bool_and(applied_by = current_user) AS by_me,
       bool_and(duration IS NOT NULL) AS timed, bool_and(NOT has_rollback) AS no_rollback
FROM zerocut.migration_status() WHERE version LIKE 'zerocut.domain.%';
SELECT version, description FROM zerocut.migration_status()
WHERE version IN ('zerocut.domain.10_tables', 'zerocut.domain.15_triggers', 'zerocut.domain.20_indexes') ORDER BY version;
-- A second run runs the files again (they repair what is missing) but
-- changes no ledger row: same tuples, untouched.
CREATE TEMP TABLE ledger_before AS
SELECT ctid::text AS tid, xmin::text AS tx, m.* FROM zerocut.migration_versions m;
SELECT zerocut.install_domain_schema() IS NOT NULL AS ran_again;
SELECT (SELECT count(*) FROM ledger_before) > 5 AS captured,
       NOT EXISTS (SELECT * FROM ledger_before EXCEPT SELECT ctid::text, xmin::text, m.* FROM zerocut.migration_versions m)
   AND NOT EXISTS (SELECT ctid::text, xmin::text, m.* FROM zerocut.migration_versions m EXCEPT SELECT * FROM ledger_before)
       AS ledger_unchanged;
-- A step whose file changed (a newer zerocut) is recorded again with the
-- new checksum; the others stay as they are.
UPDATE zerocut.migration_versions SET checksum = repeat('0', 64) WHERE version = 'zerocut.domain.10_tables';
SELECT zerocut.install_domain_schema() IS NOT NULL AS ran_again;
SELECT m.checksum = b.checksum AS same_checksum_again, m.xmin::text <> b.tx AS rewritten
FROM zerocut.migration_versions m JOIN ledger_before b USING (version) WHERE version = 'zerocut.domain.10_tables';
SELECT count(*) AS other_steps_rewritten
FROM zerocut.migration_versions m JOIN ledger_before b USING (version)
WHERE version <> 'zerocut.domain.10_tables' AND m.xmin::text <> b.tx;
DROP TABLE ledger_before;

-- apply_migration(): true when applied, recorded with its checksum (sha256
-- of the SQL, as `sha256sum` of a file with LF line endings gives it).
SELECT zerocut.apply_migration('t-1', 'a table', 'CREATE TABLE public.mig_one (id integer PRIMARY KEY);',
                               'DROP TABLE public.mig_one;');
SELECT * FROM pg_temp.ledger();
SELECT checksum = encode(sha256(convert_to('CREATE TABLE public.mig_one (id integer PRIMARY KEY);', 'UTF8')), 'hex')
       AS checksum_is_sha256
FROM zerocut.migration_versions WHERE version = 't-1';
SELECT to_regclass('public.mig_one') IS NOT NULL AS table_made;
-- Idempotent: the same version with the same SQL returns false with a
-- NOTICE and runs nothing; the same SQL with CRLF line endings is the same.
SELECT zerocut.apply_migration('t-1', 'a table', 'CREATE TABLE public.mig_one (id integer PRIMARY KEY);',
                               'DROP TABLE public.mig_one;');
SELECT zerocut.apply_migration('t-2', NULL, E'CREATE TABLE public.mig_two (id integer);\nCOMMENT ON TABLE public.mig_two IS ''two'';', NULL);
SELECT zerocut.apply_migration('t-2', NULL, E'CREATE TABLE public.mig_two (id integer);\r\nCOMMENT ON TABLE public.mig_two IS ''two'';', NULL);
-- Other SQL under an applied version: an ERROR naming both checksums;
-- nothing runs, nothing changes.
SELECT pg_temp.try($$SELECT zerocut.apply_migration('t-1', 'a table', 'CREATE TABLE public.mig_one_b (id integer);', NULL)$$);
SELECT to_regclass('public.mig_one_b') IS NULL AS nothing_ran;
SELECT * FROM pg_temp.ledger();

-- A failing migration leaves nothing behind: no table, no ledger row; the
-- error keeps its SQLSTATE and names the version.
\set VERBOSITY terse
SELECT zerocut.apply_migration('t-fail', NULL, 'CREATE TABLE public.mig_fail (id integer); SELECT 1/0;', 'DROP TABLE public.mig_fail;');
\set VERBOSITY default
SELECT to_regclass('public.mig_fail') IS NULL AS no_table,
       NOT EXISTS (SELECT FROM zerocut.migration_versions WHERE version = 't-fail') AS no_row;
SELECT pg_temp.try($$SELECT zerocut.apply_migration('t-fail', NULL, 'CREATE TABLE public.mig_fail (id integer); SELECT 1/0;', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.apply_migration('t-fail', NULL, 'CREATE TABLE public.mig_fail (id intgr);', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.apply_migration('t-fail', NULL, 'CREATE TABLE public.mig_fail (id integer); CREATE TABLE public.mig_fail (id integer);', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.apply_migration('t-fail', NULL, 'CREAT TABLE public.mig_fail (id integer);', NULL)$$);
-- (its own SQLSTATE, detail and hint, whatever they are)
SELECT pg_temp.try($$SELECT zerocut.apply_migration('t-fail', NULL, 'CREATE TABLE public.mig_fail (id integer); DO $x$ BEGIN RAISE EXCEPTION ''not today'' USING ERRCODE = ''23514'', DETAIL = ''the detail''; END $x$;', NULL)$$);
-- Whatever cannot run inside a transaction cannot be a migration: its own
-- error, named.
SELECT pg_temp.try($$SELECT zerocut.apply_migration('t-fail', NULL, 'CREATE INDEX CONCURRENTLY mig_one_idx ON public.mig_one (id);', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.apply_migration('t-fail', NULL, 'COMMIT;', NULL)$$);
SELECT to_regclass('public.mig_fail') IS NULL AS no_table,
       NOT EXISTS (SELECT FROM zerocut.migration_versions WHERE version = 't-fail') AS no_row;
-- The caller's transaction owns the migration: rolled back with it.
BEGIN;
SELECT zerocut.apply_migration('t-tx', NULL, 'CREATE TABLE public.mig_tx (id integer);', NULL);
-- the ledger's lock is zerocut's two-int advisory key, class 0x7A630003
-- (2053308419), objid 0, held until the transaction ends
SELECT classid, objid, objsubid FROM pg_locks
WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND classid = 2053308419;
ROLLBACK;
SELECT to_regclass('public.mig_tx') IS NULL AS no_table,
       NOT EXISTS (SELECT FROM zerocut.migration_versions WHERE version = 't-tx') AS no_row,
       NOT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS lock_released;

-- The migration runs with the caller's search_path and rights (here another
-- superuser): what it creates is the caller's, the row says who applied it.
CREATE ROLE zc_mig_deployer SUPERUSER;
CREATE SCHEMA mig_app;
SET ROLE zc_mig_deployer;
SET search_path = mig_app, public;
SELECT zerocut.apply_migration('t-3', 'unqualified names', 'CREATE TABLE mig_three AS SELECT current_user AS who;',
                               'DROP TABLE mig_three;');
RESET search_path;
RESET ROLE;
SELECT who, pg_get_userbyid(c.relowner) AS owner FROM mig_app.mig_three, pg_class c WHERE c.oid = 'mig_app.mig_three'::regclass;
SELECT applied_by FROM zerocut.migration_versions WHERE version = 't-3';

-- migration_status(): the applied versions in the order applied, no
-- rollback SQL.
SELECT version, description, left(checksum, 12) AS checksum, has_rollback
FROM zerocut.migration_status() WHERE version LIKE 't-%';
SELECT count(*) = (SELECT count(*) FROM zerocut.migration_versions) AS lists_every_row FROM zerocut.migration_status();

-- rollback_migration(): runs the rollback SQL (with the caller's
-- search_path) and removes the row.
SET search_path = mig_app, public;
SELECT zerocut.rollback_migration('t-3');
RESET search_path;
SELECT to_regclass('mig_app.mig_three') IS NULL AS table_dropped,
       NOT EXISTS (SELECT FROM zerocut.migration_versions WHERE version = 't-3') AS row_removed;
-- Unknown, or applied without rollback SQL (zerocut's own steps too):
-- clear errors, nothing changes.
SELECT pg_temp.try($$SELECT zerocut.rollback_migration('t-unknown')$$);
SELECT pg_temp.try($$SELECT zerocut.rollback_migration('t-2')$$);
SELECT pg_temp.try($$SELECT zerocut.rollback_migration('zerocut.domain.10_tables')$$);
SELECT to_regclass('public.mig_two') IS NOT NULL AS t2_kept,
       (SELECT count(*) FROM zerocut.migration_versions WHERE version IN ('t-2', 'zerocut.domain.10_tables')) AS rows_kept;
-- A failing rollback undoes itself: the row stays, the error names the
-- version and keeps its SQLSTATE.
SELECT zerocut.apply_migration('t-4', NULL, 'CREATE TABLE public.mig_four (id integer);',
                               'DROP TABLE public.mig_four; DROP TABLE public.mig_no_such_table;');
SELECT pg_temp.try($$SELECT zerocut.rollback_migration('t-4')$$);
SELECT to_regclass('public.mig_four') IS NOT NULL AS table_kept,
       EXISTS (SELECT FROM zerocut.migration_versions WHERE version = 't-4') AS row_kept;
-- Rolled back, a version may be applied again (with other SQL too).
UPDATE zerocut.migration_versions SET rollback_sql = 'DROP TABLE public.mig_four;' WHERE version = 't-4';
SELECT zerocut.rollback_migration('t-4');
SELECT zerocut.apply_migration('t-4', 'again', 'CREATE TABLE public.mig_four (id bigint);', 'DROP TABLE public.mig_four;');
SELECT zerocut.rollback_migration('t-4');

-- The seed's own texts (section 数据迁移方案).  Its ledger functions,
-- verbatim: rollback_migration() declares a variable named like the column
-- it selects, and PL/pgSQL rejects the reference as ambiguous, so its
-- rollback never runs.
CREATE SCHEMA seed_ledger;
SET search_path = seed_ledger, user_management, public;
CREATE TABLE IF NOT EXISTS migration_versions (
    version VARCHAR(50) PRIMARY KEY,
    description TEXT,
    applied_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    rollback_sql TEXT
);
CREATE OR REPLACE FUNCTION apply_migration(
    p_version VARCHAR(50),
    p_description TEXT,
    p_migration_sql TEXT,
    p_rollback_sql TEXT
)
RETURNS BOOLEAN AS $$
DECLARE
    migration_exists BOOLEAN;
BEGIN
    SELECT EXISTS(
        SELECT 1 FROM migration_versions WHERE version = p_version
    ) INTO migration_exists;

    IF migration_exists THEN
        RAISE NOTICE 'Migration % already applied', p_version;
        RETURN FALSE;
    END IF;

    EXECUTE p_migration_sql;

    INSERT INTO migration_versions (version, description, rollback_sql)
    VALUES (p_version, p_description, p_rollback_sql);

    RAISE NOTICE 'Migration % applied successfully', p_version;
    RETURN TRUE;
EXCEPTION
    WHEN OTHERS THEN
        RAISE EXCEPTION 'Migration % failed: %', p_version, SQLERRM;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION rollback_migration(p_version VARCHAR(50))
RETURNS BOOLEAN AS $$
DECLARE
    rollback_sql TEXT;
BEGIN
    SELECT rollback_sql INTO rollback_sql
    FROM migration_versions
    WHERE version = p_version;

    IF rollback_sql IS NULL THEN
        RAISE EXCEPTION 'Migration % not found or no rollback available', p_version;
    END IF;

    EXECUTE rollback_sql;

    DELETE FROM migration_versions WHERE version = p_version;

    RAISE NOTICE 'Migration % rolled back successfully', p_version;
    RETURN TRUE;
EXCEPTION
    WHEN OTHERS THEN
        RAISE EXCEPTION 'Rollback of migration % failed: %', p_version, SQLERRM;
END;
$$ LANGUAGE plpgsql;
-- Its migration: the seed's USER_NEW table (unqualified user_status, as
-- written; found through search_path), rolled back by dropping it.
CREATE TEMP TABLE seed_texts (migration_sql text, rollback_sql text);
INSERT INTO seed_texts VALUES ($seed$CREATE TABLE user_management."USER_NEW" (
    id SERIAL PRIMARY KEY,
    email VARCHAR(255) UNIQUE NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    username VARCHAR(100) NOT NULL,
    phone VARCHAR(20),
    phone_encrypted BYTEA,  -- 新增加密字段
    avatar_url TEXT,
    email_verified BOOLEAN DEFAULT FALSE,
    phone_verified BOOLEAN DEFAULT FALSE,
    status user_status DEFAULT 'active',
    last_login_at TIMESTAMP WITH TIME ZONE,
    login_attempts INTEGER DEFAULT 0,
    locked_until TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    -- 新增字段
    timezone VARCHAR(50) DEFAULT 'UTC',
    language VARCHAR(10) DEFAULT 'zh-CN',
    preferences JSONB DEFAULT '{}'
);$seed$, 'DROP TABLE user_management."USER_NEW";');
SELECT seed_ledger.apply_migration('2.0.0', 'USER_NEW', migration_sql, rollback_sql) FROM seed_texts;
SELECT pg_temp.try($$SELECT seed_ledger.rollback_migration('2.0.0')$$);
SELECT to_regclass('user_management."USER_NEW"') IS NOT NULL AS seed_rollback_left_the_table;
DROP TABLE user_management."USER_NEW";
-- The same texts through zerocut: applied, idempotent, rolled back.
SELECT zerocut.apply_migration('t-seed-2.0.0', 'USER_NEW', migration_sql, rollback_sql) FROM seed_texts;
SELECT count(*) AS user_new_columns FROM information_schema.columns
WHERE table_schema = 'user_management' AND table_name = 'USER_NEW';
SELECT zerocut.apply_migration('t-seed-2.0.0', 'USER_NEW', migration_sql, rollback_sql) FROM seed_texts;
SELECT zerocut.rollback_migration('t-seed-2.0.0');
SELECT to_regclass('user_management."USER_NEW"') IS NULL AS user_new_dropped,
       NOT EXISTS (SELECT FROM zerocut.migration_versions WHERE version = 't-seed-2.0.0') AS row_removed;
RESET search_path;
DROP SCHEMA seed_ledger CASCADE;

-- Bad input: an ERROR naming the argument; nothing runs, nothing changes.
CREATE TEMP TABLE rows_before AS SELECT count(*) AS n FROM zerocut.migration_versions;
SELECT pg_temp.try($$SELECT zerocut.apply_migration(NULL, 'd', 'CREATE TABLE public.mig_bad (id integer)', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.apply_migration('', 'd', 'CREATE TABLE public.mig_bad (id integer)', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.apply_migration(' ', 'd', 'CREATE TABLE public.mig_bad (id integer)', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.apply_migration(E't-bad\n', 'd', 'CREATE TABLE public.mig_bad (id integer)', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.apply_migration(repeat('v', 201), 'd', 'CREATE TABLE public.mig_bad (id integer)', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.apply_migration('zerocut.domain.99_mine', 'd', 'CREATE TABLE public.mig_bad (id integer)', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.apply_migration('t-bad', 'd', NULL, NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.apply_migration('t-bad', 'd', E' \n ', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.apply_migration('t-bad', 'd', 'CREATE TABLE public.mig_bad (id integer)', '')$$);
SELECT pg_temp.try($$SELECT zerocut.apply_migration('x"; DROP TABLE public.mig_one; --', 'd', 'SELECT 1', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.rollback_migration(NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.rollback_migration('')$$);
SELECT pg_temp.try($$SELECT zerocut.rollback_migration('x"; DROP TABLE public.mig_one; --')$$);
SELECT to_regclass('public.mig_bad') IS NULL AS nothing_ran, to_regclass('public.mig_one') IS NOT NULL AS mig_one_kept,
       (SELECT count(*) FROM zerocut.migration_versions) = (SELECT n FROM rows_before) + 1 AS only_the_hostile_version_added;
-- (a hostile-looking version is just a version, never SQL text)
DELETE FROM zerocut.migration_versions WHERE version = 'x"; DROP TABLE public.mig_one; --';
DROP TABLE rows_before;

-- Who may call them: superusers and zerocut's owner.  EXECUTE alone is not
-- enough (the rollback SQL it would store runs later with another caller's
-- rights); migration_status() is EXECUTE-only (SECURITY DEFINER).
CREATE ROLE zc_mig_app;
GRANT USAGE ON SCHEMA zerocut TO zc_mig_app;
GRANT EXECUTE ON FUNCTION zerocut.apply_migration(text, text, text, text), zerocut.rollback_migration(text),
    zerocut.migration_status() TO zc_mig_app;
SET ROLE zc_mig_app;
SELECT pg_temp.try($$SELECT zerocut.apply_migration('t-app', NULL, 'SELECT 1', 'SELECT 1')$$);
SELECT pg_temp.try($$SELECT zerocut.rollback_migration('t-1')$$);
SELECT pg_temp.try($$SELECT count(*) FROM zerocut.migration_versions$$);
SELECT count(*) > 0 AS sees_status FROM zerocut.migration_status() WHERE version = 't-1';
RESET ROLE;
SELECT EXISTS (SELECT FROM zerocut.migration_versions WHERE version = 't-1') AS t1_kept;

-- Clean up: roll back what is left (newest first), drop what has no rollback.
SELECT version, zerocut.rollback_migration(version) FROM zerocut.migration_status()
WHERE version LIKE 't-%' AND has_rollback ORDER BY applied_at DESC;
DROP TABLE public.mig_two;
DELETE FROM zerocut.migration_versions WHERE version LIKE 't-%';
DROP SCHEMA mig_app;
REVOKE ALL ON FUNCTION zerocut.apply_migration(text, text, text, text), zerocut.rollback_migration(text),
    zerocut.migration_status() FROM zc_mig_app;
REVOKE USAGE ON SCHEMA zerocut FROM zc_mig_app;
DROP ROLE zc_mig_app, zc_mig_deployer;
DROP TABLE seed_texts;
