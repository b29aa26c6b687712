-- Audit security (issue 15): every partition of the log is append-only, the
-- log cannot be squatted, audit rows cannot be forged, rows say who made
-- the change, and enable_audit()/disable_audit() act only for a table's
-- owner and never on zerocut's own tables.  docs/audit.md, "Privileges".
SELECT zerocut.install_domain_schema() IS NOT NULL AS installed;
-- An error as text (SQLSTATE and message); the failed statement's
-- subtransaction is rolled back, so nothing it did stays.
CREATE FUNCTION error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- In a transaction, a failed statement rolls back alone.
\set ON_ERROR_ROLLBACK on
CREATE ROLE regress_sec_app;
CREATE ROLE regress_sec_owner;
GRANT USAGE ON SCHEMA zerocut TO regress_sec_app, regress_sec_owner;

-- ---------------------------------------------------------------------------
-- 1. Every partition of the log is append-only, present and future: the
-- installer's (the DEFAULT partition and the months), one created later by
-- a plain CREATE TABLE … PARTITION OF, one attached with ATTACH PARTITION,
-- and those the partition manager creates ahead.  TRUNCATE of a partition
-- used to bypass the guard (statement triggers are not cloned to
-- partitions): the rows went, unlogged.
-- The partitions without the TRUNCATE guard: none after install, none
-- after the partition manager made more months ahead (rolled back: the
-- setting is the installer's).
CREATE VIEW unguarded_log_partitions AS
SELECT count(*) AS unguarded FROM pg_partition_tree('audit_log.system_log') t
WHERE t.level > 0 AND NOT EXISTS (
    SELECT 1 FROM pg_trigger g WHERE g.tgrelid = t.relid AND g.tgfoid = 'zerocut.audit_log_guard()'::regprocedure
      AND g.tgtype = 34 AND g.tgenabled <> 'D');  -- BEFORE TRUNCATE FOR EACH STATEMENT
SELECT * FROM unguarded_log_partitions;
BEGIN;
SELECT zerocut.manage_partitions('audit_log.system_log', 'created_at', 'month', 6,
                                 make_interval(months => 13), 'detach') IS NOT NULL AS managed;
SELECT * FROM unguarded_log_partitions;
ROLLBACK;
CREATE TABLE audit_log.system_log_y1999 PARTITION OF audit_log.system_log
    FOR VALUES FROM ('1999-01-01') TO ('1999-02-01');
CREATE TABLE audit_log.system_log_y1998 (LIKE audit_log.system_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE audit_log.system_log ATTACH PARTITION audit_log.system_log_y1998
    FOR VALUES FROM ('1998-01-01') TO ('1998-02-01');
INSERT INTO audit_log.system_log (message, created_at) VALUES
    ('kept 1998', '1998-01-15'), ('kept 1999', '1999-01-15'), ('kept default', '1900-01-01');
-- A role granted everything on every partition still cannot remove or change rows.
GRANT USAGE ON SCHEMA audit_log TO regress_sec_app;
GRANT SELECT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA audit_log TO regress_sec_app;
SET ROLE regress_sec_app;
SELECT error_of('TRUNCATE audit_log.system_log_y1999') AS truncate_created;
SELECT error_of('TRUNCATE audit_log.system_log_y1998') AS truncate_attached;
SELECT error_of('TRUNCATE audit_log.system_log_default') AS truncate_default;
SELECT error_of('DELETE FROM audit_log.system_log_y1999') AS delete_created;
SELECT error_of('DELETE FROM audit_log.system_log_default WHERE message = ''kept default''') AS delete_default;
SELECT error_of('UPDATE audit_log.system_log_y1998 SET message = ''forged''') AS update_attached;
RESET ROLE;
SELECT message FROM audit_log.system_log WHERE message LIKE 'kept %' ORDER BY created_at;
SELECT * FROM unguarded_log_partitions;
-- A detached partition keeps its TRUNCATE guard; its owner may still remove it.
ALTER TABLE audit_log.system_log DETACH PARTITION audit_log.system_log_y1998;
SET ROLE regress_sec_app;
SELECT error_of('TRUNCATE audit_log.system_log_y1998') AS truncate_detached;
RESET ROLE;
TRUNCATE audit_log.system_log_y1999;
DROP TABLE audit_log.system_log_y1998, audit_log.system_log_y1999;
DELETE FROM audit_log.system_log WHERE message LIKE 'kept %';
REVOKE ALL ON ALL TABLES IN SCHEMA audit_log FROM regress_sec_app;
REVOKE ALL ON SCHEMA audit_log FROM regress_sec_app;

-- ---------------------------------------------------------------------------
-- 2. The log cannot be squatted.  A role with CREATE on the database made
-- audit_log.system_log before the installer; a superuser's enable_audit()
-- used to adopt it (and the squatter read the audited rows and deleted
-- them).  Now only the installer creates the log, and enable_audit(), the
-- trigger and the installer refuse a log no superuser (or the extension's
-- owner) owns, or one not shaped as zerocut makes it.
CREATE TABLE salaries (id int PRIMARY KEY, amount int);
BEGIN;
ALTER SCHEMA audit_log RENAME TO audit_log_saved;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO regress_sec_app', current_database()); END $$;
SET ROLE regress_sec_app;
CREATE SCHEMA audit_log;
CREATE TABLE audit_log.system_log (
    id bigserial, level varchar(10) NOT NULL DEFAULT 'INFO', message text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}', user_id integer,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (created_at, id)
) PARTITION BY RANGE (created_at);
CREATE TABLE audit_log.system_log_default PARTITION OF audit_log.system_log DEFAULT;
RESET ROLE;
\set VERBOSITY default
SELECT zerocut.enable_audit('salaries');
INSERT INTO salaries VALUES (1, 100);
SELECT zerocut.install_domain_schema();
\set VERBOSITY terse
SET ROLE regress_sec_app;
SELECT count(*) AS squatter_reads FROM audit_log.system_log;
SELECT error_of('DELETE FROM audit_log.system_log') AS squatter_deletes;
RESET ROLE;
ROLLBACK;
SELECT count(*) AS salaries_audited FROM zerocut.audit_config WHERE table_name = 'salaries';
-- No log at all: nothing creates one but the installer.
SELECT zerocut.enable_audit('salaries');
BEGIN;
ALTER SCHEMA audit_log RENAME TO audit_log_saved;
SELECT error_of('SELECT zerocut.enable_audit(''salaries'', mode => ''statement'')') AS enable_without_log;
SELECT error_of('INSERT INTO salaries VALUES (1, 100)') AS write_without_log;
SELECT to_regnamespace('audit_log') IS NULL AS still_no_log;
-- A log a superuser owns but not shaped as zerocut makes it: not
-- partitioned by created_at, no guard triggers.
CREATE SCHEMA audit_log;
CREATE TABLE audit_log.system_log (
    id bigserial, level varchar(10) NOT NULL DEFAULT 'INFO', message text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}', user_id integer,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (created_at, id));
\set VERBOSITY default
SELECT zerocut.enable_audit('salaries', mode => 'statement');
\set VERBOSITY terse
SELECT error_of('INSERT INTO salaries VALUES (1, 100)') AS write_unshaped;
SELECT count(*) AS rows_in_unshaped_log FROM audit_log.system_log;
ROLLBACK;
-- The installer's own log, owned by a superuser and shaped as it makes it:
-- accepted; the writer notices when its guard goes and comes back.
INSERT INTO salaries VALUES (1, 100);
BEGIN;
ALTER TABLE audit_log.system_log DISABLE TRIGGER zerocut_append_only_truncate;
SELECT error_of('INSERT INTO salaries VALUES (2, 200)') AS write_guard_disabled;
ROLLBACK;
INSERT INTO salaries VALUES (2, 200);
SELECT count(*) AS salary_rows_logged FROM audit_log.system_log WHERE metadata @> '{"schema": "public", "table": "salaries"}';
-- A log owned by a role that is neither superuser nor the extension's owner.
BEGIN;
CREATE ROLE regress_sec_log_owner;
ALTER TABLE audit_log.system_log OWNER TO regress_sec_log_owner;
SELECT error_of('INSERT INTO salaries VALUES (3, 300)') AS write_untrusted_owner;
SELECT error_of('SELECT zerocut.enable_audit(''salaries'', mode => ''statement'')') AS enable_untrusted_owner;
ROLLBACK;

-- ---------------------------------------------------------------------------
-- 3. Audit rows cannot be forged.  With USAGE on zerocut, a TEMP table named
-- "USER" with audit_trigger_function() used to write "USER record created"
-- rows that the documented lookup by table name returned.  The trigger
-- functions are no longer PUBLIC, the trigger logs only for tables
-- enable_audit() recorded, and every row names schema, table and relid.
SELECT count(*) AS user_rows_before FROM audit_log.system_log WHERE metadata @> '{"table": "USER"}' \gset
SET ROLE regress_sec_app;
CREATE TEMP TABLE "USER" (id int PRIMARY KEY, email text);
SELECT error_of('CREATE TRIGGER forge AFTER INSERT ON pg_temp."USER" FOR EACH ROW
                 EXECUTE FUNCTION zerocut.audit_trigger_function()') AS forge_trigger;
SELECT error_of('CREATE TRIGGER forge_guard BEFORE TRUNCATE ON pg_temp."USER"
                 EXECUTE FUNCTION zerocut.audit_log_guard()') AS guard_trigger;
INSERT INTO pg_temp."USER" VALUES (1, 'forged@example.com');
RESET ROLE;
DROP TABLE pg_temp."USER";
-- Even a role that may run the function (here a superuser) gets no row for
-- a table enable_audit() did not record: the trigger refuses.
CREATE TABLE not_enabled (id int PRIMARY KEY);
CREATE TRIGGER plain_audit AFTER INSERT ON not_enabled FOR EACH ROW EXECUTE FUNCTION zerocut.audit_trigger_function();
\set VERBOSITY default
INSERT INTO not_enabled VALUES (1);
\set VERBOSITY terse
DROP TABLE not_enabled;
SELECT count(*) - :user_rows_before AS new_user_rows FROM audit_log.system_log WHERE metadata @> '{"table": "USER"}';
-- Every row names its table's schema and relid: the documented lookup is
-- by schema and table.
INSERT INTO user_management."USER" (id, username, email, password_hash) VALUES (4242, 'sec', 'sec@example.com', 'x');
SELECT message, metadata ->> 'schema' AS schema, (metadata ->> 'relid')::oid = 'user_management."USER"'::regclass::oid AS relid_matches
FROM audit_log.system_log WHERE metadata @> '{"schema": "user_management", "table": "USER", "pk": {"id": 4242}}';
SELECT count(*) AS history_rows FROM zerocut.audit_history('user_management."USER"', '{"id": 4242}');
DELETE FROM user_management."USER" WHERE id = 4242;
-- A renamed audited table stays recorded (its row follows it by OID) and
-- writable, logged under its new name (sql/43_audit_rename.sql: more).
ALTER TABLE salaries RENAME TO wages;
SELECT error_of('INSERT INTO wages VALUES (5, 500)') AS write_after_rename;
SELECT metadata ->> 'table' AS logged_as FROM audit_log.system_log WHERE metadata @> '{"schema": "public", "table": "wages"}';
SELECT table_name FROM zerocut.audit_config WHERE table_name IN ('salaries', 'wages');

-- ---------------------------------------------------------------------------
-- 4. Who made the change: app.current_user_id is whatever the session set,
-- so every row also records session_user, current_user, the top-level
-- transaction id and application_name.
GRANT SELECT, INSERT, UPDATE ON wages TO regress_sec_app;
SET app.current_user_id = '7';
BEGIN;
SET LOCAL ROLE regress_sec_app;
UPDATE wages SET amount = 501 WHERE id = 5;
RESET ROLE;
SELECT user_id,
       metadata ->> 'session_user' = session_user AS session_user_recorded,
       metadata ->> 'current_user' AS current_user_recorded,
       (metadata ->> 'xid')::xid8 = pg_current_xact_id() AS xid_recorded,
       metadata ->> 'application_name' = current_setting('application_name') AS application_recorded
FROM audit_log.system_log WHERE metadata @> '{"schema": "public", "table": "wages", "operation": "UPDATE"}';
COMMIT;
RESET app.current_user_id;
-- In statement mode too.
SELECT zerocut.enable_audit('wages', mode => 'statement');
BEGIN;
DELETE FROM wages WHERE id = 5;
SELECT metadata ?& ARRAY['session_user', 'current_user', 'xid', 'application_name', 'relid'] AS all_keys,
       (metadata ->> 'xid')::xid8 = pg_current_xact_id() AS xid_recorded
FROM audit_log.system_log WHERE metadata @> '{"schema": "public", "table": "wages", "operation": "DELETE"}';
COMMIT;

-- ---------------------------------------------------------------------------
-- 5. enable_audit()/disable_audit(): only the table's owner, never
-- zerocut's own tables (enable_audit('zerocut.encryption_keys') used to copy
-- wrapped keys into the log).  A table owner granted EXECUTE succeeds end to
-- end: config row, triggers (created as the extension's owner, who may run
-- the trigger function) and log rows.
SELECT error_of('SELECT zerocut.enable_audit(''zerocut.encryption_keys'')') AS enable_keys;
SELECT error_of('SELECT zerocut.enable_audit(''zerocut.audit_config'')') AS enable_config;
SELECT zerocut.disable_audit('zerocut.encryption_keys');  -- allowed: undoes what 0.1.0 let through
GRANT EXECUTE ON FUNCTION zerocut.enable_audit(regclass, text[], text, boolean),
                          zerocut.disable_audit(regclass) TO regress_sec_owner;
CREATE SCHEMA regress_sec AUTHORIZATION regress_sec_owner;
SET ROLE regress_sec_owner;
SELECT error_of('SELECT zerocut.enable_audit(''wages'')') AS enable_not_owner;
SELECT error_of('SELECT zerocut.disable_audit(''wages'')') AS disable_not_owner;
CREATE TABLE regress_sec.mine (id int PRIMARY KEY, v text);
SELECT zerocut.enable_audit('regress_sec.mine');
INSERT INTO regress_sec.mine VALUES (1, 'a');
-- 7. PUBLIC does not read zerocut.audit_config (it lists audited tables
-- and excluded columns).
SELECT error_of('SELECT count(*) FROM zerocut.audit_config') AS read_config;
SELECT zerocut.disable_audit('regress_sec.mine');
INSERT INTO regress_sec.mine VALUES (2, 'b');
RESET ROLE;
SELECT message, metadata ->> 'current_user' AS by FROM audit_log.system_log
WHERE metadata @> '{"schema": "regress_sec", "table": "mine"}' ORDER BY id;
SELECT count(*) AS config_rows FROM zerocut.audit_config WHERE schema_name = 'regress_sec';

-- The owner of an audited partitioned table may add partitions by hand:
-- PostgreSQL clones the audit trigger onto a new partition and checks
-- EXECUTE on its function for the role creating it; enable_audit() grants
-- it to the table's owner (never to PUBLIC).
CREATE ROLE regress_sec_parts;
CREATE SCHEMA regress_sec_p AUTHORIZATION regress_sec_parts;
SET ROLE regress_sec_parts;
CREATE TABLE regress_sec_p.ev (id int PRIMARY KEY, at date NOT NULL) PARTITION BY RANGE (id);
RESET ROLE;
SELECT zerocut.enable_audit('regress_sec_p.ev');
SET ROLE regress_sec_parts;
CREATE TABLE regress_sec_p.ev_1 PARTITION OF regress_sec_p.ev FOR VALUES FROM (1) TO (100);
INSERT INTO regress_sec_p.ev VALUES (1, '1990-05-01');
RESET ROLE;
SELECT message FROM audit_log.system_log WHERE metadata @> '{"schema": "regress_sec_p", "table": "ev"}' ORDER BY id;
SELECT has_function_privilege('regress_sec_parts', 'zerocut.audit_trigger_function()', 'EXECUTE') AS owner_may,
       has_function_privilege('public', 'zerocut.audit_trigger_function()', 'EXECUTE') AS public_may;
SELECT zerocut.disable_audit('regress_sec_p.ev');
DROP SCHEMA regress_sec_p CASCADE;
REVOKE ALL ON FUNCTION zerocut.audit_trigger_function() FROM regress_sec_parts;
DROP ROLE regress_sec_parts;

-- Clean up.
DROP SCHEMA regress_sec CASCADE;
DROP TABLE wages;
DELETE FROM zerocut.audit_config WHERE schema_name = 'public';
TRUNCATE audit_log.system_log;
DROP VIEW unguarded_log_partitions;
DROP FUNCTION error_of(text);
REVOKE ALL ON FUNCTION zerocut.enable_audit(regclass, text[], text, boolean),
                       zerocut.disable_audit(regclass) FROM regress_sec_owner;
REVOKE ALL ON SCHEMA zerocut FROM regress_sec_app, regress_sec_owner;
REVOKE ALL ON FUNCTION zerocut.audit_trigger_function() FROM regress_sec_owner;
DROP ROLE regress_sec_app, regress_sec_owner;
