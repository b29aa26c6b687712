-- Partition manager, part 4: whose rights the work uses (issue 15).
-- The work on a table runs as its owner under SECURITY_RESTRICTED_OPERATION
-- (a trigger of the owner's never runs with the caller's rights); only the
-- owner (or a superuser) may call the functions on a table; the owner
-- needs no grant on zerocut's own tables; zerocut's own tables are refused;
-- new partitions take the parent's owner, grants, RLS and policies.
SET client_min_messages = warning;
CREATE ROLE app;
CREATE ROLE regress_part_other;
CREATE ROLE regress_part_reader;
CREATE SCHEMA appschema AUTHORIZATION app;
CREATE SCHEMA psec;
GRANT USAGE ON SCHEMA psec TO PUBLIC;
-- Runs a statement and shows its SQLSTATE and message instead of failing.
CREATE FUNCTION psec.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- Every partition in appschema with its owner and access settings.
CREATE VIEW psec.parts AS
SELECT i.inhparent::regclass AS parent, c.oid::regclass AS partition, pg_get_userbyid(c.relowner) AS owner,
       c.relrowsecurity, c.relforcerowsecurity,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies,
       pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE c.relnamespace = 'appschema'::regnamespace;
GRANT SELECT ON psec.parts TO PUBLIC;

-- 1. The escalation: app's trigger makes app a superuser when it runs as
-- one.  Maintenance moves the row out of the DEFAULT partition (a DELETE
-- there), so the trigger fires inside the job.
SET ROLE app;
CREATE FUNCTION appschema.escalate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        BEGIN
            EXECUTE 'ALTER ROLE app SUPERUSER';
        EXCEPTION WHEN OTHERS THEN
            NULL;
        END;
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TABLE appschema.events (id int NOT NULL, created_at timestamptz NOT NULL, note text)
    PARTITION BY RANGE (created_at);
CREATE TABLE appschema.events_default PARTITION OF appschema.events DEFAULT;
INSERT INTO appschema.events VALUES (1, '1996-03-10 12:00+00', 'stranded');
CREATE TRIGGER escalate BEFORE INSERT OR DELETE ON appschema.events
    FOR EACH ROW EXECUTE FUNCTION appschema.escalate();
RESET ROLE;
SELECT zerocut.manage_partitions('appschema.events', 'created_at', 'year', 1);
SELECT rolsuper AS app_is_superuser FROM pg_roles WHERE rolname = 'app';
ALTER ROLE app NOSUPERUSER;  -- (the old code made it one)
SELECT count(*) AS rows_in_default FROM ONLY appschema.events_default;
SELECT bool_and(owner = 'app') AS partitions_owned_by_app FROM psec.parts WHERE parent = 'appschema.events'::regclass;

-- The same through the procedure pg_cron calls, and through run_maintenance()
-- for all parents and for one.  (The rows are inserted by app: the trigger
-- fires on INSERT too.)
SET ROLE app;
INSERT INTO appschema.events VALUES (2, '1992-07-01 00:00+00', 'stranded');
RESET ROLE;
CALL zerocut.run_maintenance_proc();
SELECT rolsuper AS app_is_superuser FROM pg_roles WHERE rolname = 'app';
ALTER ROLE app NOSUPERUSER;
SET ROLE app;
INSERT INTO appschema.events VALUES (3, '1988-07-01 00:00+00', 'stranded');
RESET ROLE;
SELECT action, partition FROM zerocut.run_maintenance() WHERE parent = 'appschema.events'::regclass;
SELECT rolsuper AS app_is_superuser FROM pg_roles WHERE rolname = 'app';
ALTER ROLE app NOSUPERUSER;
SET ROLE app;
INSERT INTO appschema.events VALUES (4, '1984-07-01 00:00+00', 'stranded');
RESET ROLE;
SELECT action, partition FROM zerocut.run_maintenance('appschema.events');
SELECT rolsuper AS app_is_superuser FROM pg_roles WHERE rolname = 'app';
ALTER ROLE app NOSUPERUSER;
-- create_monthly_partition moves the month's rows the same way.
SET ROLE app;
INSERT INTO appschema.events VALUES (5, '1980-02-10 00:00+00', 'stranded');
RESET ROLE;
SELECT zerocut.create_monthly_partition('appschema.events', '1980-02-01');
SELECT rolsuper AS app_is_superuser FROM pg_roles WHERE rolname = 'app';
ALTER ROLE app NOSUPERUSER;
SELECT count(*) AS rows_in_default, (SELECT count(*) FROM appschema.events) AS rows_total
FROM ONLY appschema.events_default;
SELECT bool_and(owner = 'app') AS partitions_owned_by_app FROM psec.parts WHERE parent = 'appschema.events'::regclass;

-- convert_to_partitioned: a legacy table with the owner's trigger, default
-- and check; every table it leaves belongs to the owner.
SET ROLE app;
CREATE FUNCTION appschema.next_note() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        BEGIN
            EXECUTE 'ALTER ROLE app SUPERUSER';
        EXCEPTION WHEN OTHERS THEN
            NULL;
        END;
    END IF;
    RETURN 'default note';
END
$$;
CREATE TABLE appschema.legacy (id int NOT NULL, created_at date NOT NULL, note text DEFAULT appschema.next_note());
INSERT INTO appschema.legacy (id, created_at) VALUES (1, '1996-05-01'), (2, '1996-06-01');
CREATE TRIGGER escalate BEFORE INSERT OR DELETE ON appschema.legacy
    FOR EACH ROW EXECUTE FUNCTION appschema.escalate();
GRANT SELECT ON appschema.legacy TO regress_part_reader;
RESET ROLE;
SELECT zerocut.convert_to_partitioned('appschema.legacy', 'created_at', 'year');
SELECT rolsuper AS app_is_superuser FROM pg_roles WHERE rolname = 'app';
ALTER ROLE app NOSUPERUSER;
SELECT pg_get_userbyid(relowner) AS parent_owner FROM pg_class WHERE oid = 'appschema.legacy'::regclass;
SELECT bool_and(owner = 'app') AS partitions_owned_by_app, count(*) FILTER (WHERE bound = 'DEFAULT') AS defaults,
       bool_and(has_table_privilege('regress_part_reader', partition, 'SELECT')) AS reader_selects
FROM psec.parts WHERE parent = 'appschema.legacy'::regclass;
SELECT count(*) AS rows_kept FROM appschema.legacy;

-- 2. Who may call.  Another role granted EXECUTE is refused on app's table,
-- naming the argument; nothing changes.
GRANT USAGE ON SCHEMA zerocut TO app, regress_part_other;
GRANT EXECUTE ON FUNCTION zerocut.manage_partitions(regclass, name, text, integer, interval, text, date),
    zerocut.run_maintenance(regclass), zerocut.create_monthly_partition(text, date),
    zerocut.convert_to_partitioned(regclass, name, text) TO app, regress_part_other;
GRANT EXECUTE ON FUNCTION zerocut.managed_parents() TO app, regress_part_other;
GRANT EXECUTE ON PROCEDURE zerocut.run_maintenance_proc() TO app, regress_part_other;
GRANT USAGE ON SCHEMA audit_log TO app;
SET ROLE app;
GRANT USAGE ON SCHEMA appschema TO regress_part_other, regress_part_reader;
CREATE TABLE appschema.metrics (at date NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE appschema.plain (at date NOT NULL, v int);
RESET ROLE;
SET ROLE regress_part_other;
SELECT psec.try($$SELECT zerocut.manage_partitions('appschema.metrics', 'at', 'year', 1)$$);
SELECT psec.try($$SELECT zerocut.run_maintenance('appschema.events')$$);
SELECT psec.try($$SELECT zerocut.create_monthly_partition('appschema.metrics', '1996-01-01')$$);
SELECT psec.try($$SELECT zerocut.convert_to_partitioned('appschema.plain', 'at')$$);
-- For all parents: the ones it does not own are skipped, untouched.
SELECT parent, action, detail FROM zerocut.run_maintenance()
WHERE parent::text LIKE 'appschema.%' ORDER BY parent::text;
CALL zerocut.run_maintenance_proc();  -- nothing it may maintain: a NOTICE names the rest
RESET ROLE;
SELECT count(*) AS metrics_partitions FROM psec.parts WHERE parent = 'appschema.metrics'::regclass;
SELECT count(*) AS metrics_configs FROM zerocut.partition_config WHERE parent = 'appschema.metrics'::regclass;

-- The owner, not a superuser, granted EXECUTE only: every function works
-- (zerocut's own tables are written with the extension owner's rights).
SET ROLE app;
SELECT psec.try($$SELECT zerocut.manage_partitions('appschema.metrics', 'at', 'year', 1, interval '5 years')$$);
SELECT psec.try($$SELECT zerocut.create_monthly_partition('appschema.metrics', '1996-01-01')$$);
SELECT psec.try($$SELECT zerocut.run_maintenance('appschema.metrics')$$);
SELECT psec.try($$SELECT zerocut.convert_to_partitioned('appschema.plain', 'at', 'year')$$);
CALL zerocut.run_maintenance_proc();
SELECT parent, may_maintain FROM zerocut.managed_parents() WHERE parent::text LIKE 'appschema.%' ORDER BY 1::text;
RESET ROLE;
SELECT parent, granularity, retention, last_outcome LIKE 'ok%' AS maintained_ok FROM zerocut.partition_config
WHERE parent::text LIKE 'appschema.%' ORDER BY parent::text;
SELECT parent, bool_and(owner = 'app') AS owned_by_app, count(*) FILTER (WHERE bound = 'DEFAULT') AS defaults
FROM psec.parts WHERE parent IN ('appschema.metrics'::regclass, 'appschema.plain'::regclass)
GROUP BY parent ORDER BY parent::text;
-- The month create_monthly_partition made is older than the retention of
-- metrics: run_maintenance detached it (as app).
SELECT relname, pg_get_userbyid(relowner) AS owner, relispartition FROM pg_class
WHERE relnamespace = 'appschema'::regnamespace AND relname = 'metrics_1996_01';

-- 3. zerocut's own tables are refused (42809), for every caller, superuser too.
BEGIN;
SELECT psec.try($$SELECT zerocut.convert_to_partitioned('zerocut.partition_config', 'registered_at')$$);
SELECT psec.try($$SELECT zerocut.manage_partitions('zerocut.partition_config', 'registered_at')$$);
SELECT psec.try($$SELECT zerocut.create_monthly_partition('zerocut.partition_config', '1996-01-01')$$);
SELECT psec.try($$SELECT zerocut.run_maintenance('zerocut.partition_config')$$);
ROLLBACK;
-- The audit log is managed by zerocut's installer: only a superuser or the
-- extension's owner may manage it (42501); others are refused, even as its
-- owner.
SET ROLE app;
SELECT psec.try($$SELECT zerocut.manage_partitions('audit_log.system_log', 'created_at')$$);
SELECT psec.try($$SELECT zerocut.run_maintenance('audit_log.system_log')$$);
RESET ROLE;
BEGIN;
ALTER TABLE audit_log.system_log OWNER TO app;
SET LOCAL ROLE app;
SELECT psec.try($$SELECT zerocut.manage_partitions('audit_log.system_log', 'created_at')$$);
SELECT parent, action, detail FROM zerocut.run_maintenance() WHERE parent = 'audit_log.system_log'::regclass;
ROLLBACK;
SELECT psec.try($$SELECT zerocut.run_maintenance('audit_log.system_log')$$);

-- 4. New partitions take the parent's owner, grants (table and column),
-- row-level security and policies.
SET ROLE app;
CREATE TABLE appschema.secure (id int NOT NULL, at date NOT NULL, note text) PARTITION BY RANGE (at);
GRANT SELECT ON appschema.secure TO regress_part_reader;
GRANT UPDATE (note) ON appschema.secure TO regress_part_reader;
ALTER TABLE appschema.secure ENABLE ROW LEVEL SECURITY;
ALTER TABLE appschema.secure FORCE ROW LEVEL SECURITY;
CREATE POLICY visible ON appschema.secure FOR SELECT TO regress_part_reader USING (note <> 'hidden');
RESET ROLE;
SELECT zerocut.manage_partitions('appschema.secure', 'at', 'year', 1, start_date => '1996-01-01');
-- A row stranded in the (forced) default partition is moved all the same.
INSERT INTO appschema.secure VALUES (1, '1992-03-01', 'shown'), (2, '1992-04-01', 'hidden');
SELECT action, partition FROM zerocut.run_maintenance('appschema.secure');
SELECT bool_and(owner = 'app') AS owned_by_app,
       bool_and(has_table_privilege('regress_part_reader', partition, 'SELECT')) AS reader_selects,
       bool_and(has_column_privilege('regress_part_reader', partition, 'note', 'UPDATE')) AS reader_updates_note,
       bool_and(NOT has_column_privilege('regress_part_reader', partition, 'id', 'UPDATE')) AS not_id,
       bool_and(relrowsecurity AND relforcerowsecurity) AS rls_forced,
       bool_and(policies = 1) AS one_policy_each,
       count(*) FILTER (WHERE bound = 'DEFAULT') AS defaults
FROM psec.parts WHERE parent = 'appschema.secure'::regclass;
SELECT count(*) AS rows_in_default FROM ONLY appschema.secure_default;
SET ROLE regress_part_reader;
SELECT id, note FROM appschema.secure_1992;
RESET ROLE;
-- The owner's own run (not a superuser) moves rows its forced policies
-- hide from it: the survey and the move are no-force-RLS operations.
INSERT INTO appschema.secure VALUES (3, '1993-05-01', 'hidden');
SET ROLE app;
SELECT count(*) AS rows_app_sees FROM appschema.secure;
SELECT action, partition FROM zerocut.run_maintenance('appschema.secure');
RESET ROLE;
SELECT count(*) AS rows_in_default FROM ONLY appschema.secure_default;
SELECT id, note FROM appschema.secure_1993;

-- The parent's tablespace, for partitions made beside the parent and
-- attached (the rescue) as for those made as PARTITION OF.
SET allow_in_place_tablespaces = on;
CREATE TABLESPACE regress_part_ts LOCATION '';
RESET allow_in_place_tablespaces;
GRANT CREATE ON TABLESPACE regress_part_ts TO app;
SET ROLE app;
CREATE TABLE appschema.spaced (at date NOT NULL) PARTITION BY RANGE (at) TABLESPACE regress_part_ts;
CREATE TABLE appschema.spaced_default PARTITION OF appschema.spaced DEFAULT;
INSERT INTO appschema.spaced VALUES ('1992-03-01');
RESET ROLE;
SELECT zerocut.manage_partitions('appschema.spaced', 'at', 'year', 1, start_date => '1996-01-01');
SELECT count(*) FILTER (WHERE t.spcname IS DISTINCT FROM 'regress_part_ts') AS elsewhere,
       count(*) FILTER (WHERE p.partition = 'appschema.spaced_1992'::regclass AND t.spcname = 'regress_part_ts')
           AS rescued_there
FROM psec.parts p JOIN pg_class c ON c.oid = p.partition LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
WHERE p.parent = 'appschema.spaced'::regclass AND p.bound <> 'DEFAULT';

-- 5. convert_to_partitioned on a table of a non-superuser owner carrying
-- zerocut's own triggers (audit, protect_column), whose functions are
-- revoked from PUBLIC: they are re-made as the extension's owner (CREATE
-- TRIGGER asks for EXECUTE), the owner's own triggers as the owner.  After
-- the conversion, writes are still audited and encrypted.
COPY (SELECT encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea), 'hex'))
    TO PROGRAM 'rm -f zc_regress_part.key && umask 077 && cat > zc_regress_part.key';
SET zerocut.key_file = 'zc_regress_part.key';
SELECT zerocut.create_key('default') > 0 AS key_created;
SET ROLE app;
CREATE TABLE appschema.audited (id int NOT NULL, created_at date NOT NULL, note text);
INSERT INTO appschema.audited VALUES (1, '1996-05-01', 'before');
CREATE TABLE appschema.guarded (id int NOT NULL, created_at date NOT NULL, phone text, phone_encrypted bytea);
INSERT INTO appschema.guarded VALUES (1, '1996-05-01', NULL, NULL);
RESET ROLE;
SELECT zerocut.enable_audit('appschema.audited');
SELECT zerocut.protect_column('appschema.guarded', 'phone') ->> 'context' AS context;
-- By a superuser (the audited one) and by the owner (the protected one).
SELECT psec.try($$SELECT zerocut.convert_to_partitioned('appschema.audited', 'created_at', 'year')$$);
SET ROLE app;
SELECT psec.try($$SELECT zerocut.convert_to_partitioned('appschema.guarded', 'created_at', 'year')$$);
RESET ROLE;
SELECT tgrelid::regclass AS parent, tgname, c.relkind FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE tgrelid IN ('appschema.audited'::regclass, 'appschema.guarded'::regclass) ORDER BY 1::text, 2;
-- Every partition zerocut makes for them later clones those triggers too
-- (a default-partition rescue here), made and attached as the owner.
SET ROLE app;
INSERT INTO appschema.audited VALUES (3, '1980-01-01', 'rescued'), (4, '1981-01-01', 'rescued');
INSERT INTO appschema.guarded VALUES (3, '1980-01-01', '+86 138 0000 0078');
SELECT psec.try($$SELECT zerocut.create_monthly_partition('appschema.audited', '1980-01-01')$$);
SELECT action, partition FROM zerocut.run_maintenance('appschema.audited') WHERE action IN ('create', 'error');
SELECT action, partition FROM zerocut.run_maintenance('appschema.guarded') WHERE action IN ('create', 'error');
RESET ROLE;
SELECT c.relname, count(t.tgname) AS zerocut_triggers, pg_get_userbyid(c.relowner) AS owner
FROM pg_class c LEFT JOIN pg_trigger t ON t.tgrelid = c.oid AND t.tgname LIKE 'z%'
WHERE c.relnamespace = 'appschema'::regnamespace AND c.relkind = 'r'
  AND (c.relname ~ '^(audited|guarded)_(legacy|default|1980|1980_01|1981)$')
GROUP BY c.relname, c.relowner ORDER BY 1;
SET ROLE app;
INSERT INTO appschema.audited VALUES (2, '1996-06-01', 'after');
UPDATE appschema.audited SET note = 'changed' WHERE id = 1;
INSERT INTO appschema.guarded VALUES (2, '1996-06-01', '+86 138 0000 0077');
RESET ROLE;
SELECT metadata ->> 'operation' AS operation, metadata #>> '{new_data,note}' AS note
FROM audit_log.system_log WHERE metadata ->> 'schema' = 'appschema' AND metadata ->> 'table' = 'audited'
  AND metadata ->> 'operation' <> 'DELETE' ORDER BY id;
SELECT id, phone, zerocut.decrypt(phone_encrypted, 'appschema.guarded.phone') AS decrypted
FROM appschema.guarded ORDER BY id;
DELETE FROM zerocut.protected_column WHERE relation = 'appschema.guarded'::regclass;
DELETE FROM zerocut.audit_config WHERE schema_name = 'appschema';
DELETE FROM audit_log.system_log WHERE metadata ->> 'schema' = 'appschema' OR message LIKE 'crypto:%';
RESET zerocut.key_file;
DELETE FROM zerocut.encryption_keys;
ALTER SEQUENCE zerocut.encryption_keys_id_seq RESTART;
COPY (SELECT 1) TO PROGRAM 'cat > /dev/null; rm -f zc_regress_part.key';

-- 6. A partition the job must touch that is not the parent's owner's (as
-- zerocut 0.1.0 left them: made by whoever called it, often a superuser):
-- the parent fails with 42501 naming the partition and its owner, with the
-- ALTER TABLE that fixes it, and nothing changes; the job never runs as the
-- partition's owner.  Here the other role is regress_part_other.
SET ROLE app;
CREATE TABLE appschema.inherited (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
RESET ROLE;
CREATE TABLE appschema.inherited_default PARTITION OF appschema.inherited DEFAULT;
CREATE TABLE appschema.inherited_1990 PARTITION OF appschema.inherited
    FOR VALUES FROM ('1990-01-01') TO ('1991-01-01');
ALTER TABLE appschema.inherited_default OWNER TO regress_part_other;
ALTER TABLE appschema.inherited_1990 OWNER TO regress_part_other;
INSERT INTO appschema.inherited VALUES (1, '1995-03-10'), (2, '1990-06-01');
-- The default partition: reading and moving its rows.
SELECT zerocut.manage_partitions('appschema.inherited', 'at', 'year', 1, interval '1 year', 'drop');
SELECT count(*) AS inherited_configs FROM zerocut.partition_config WHERE parent = 'appschema.inherited'::regclass;
SELECT zerocut.create_monthly_partition('appschema.inherited', '1995-03-01');
SELECT count(*) AS rows_in_default FROM ONLY appschema.inherited_default;
ALTER TABLE appschema.inherited_default OWNER TO app;
SELECT zerocut.manage_partitions('appschema.inherited', 'at', 'year', 1, interval '1 year', 'drop');
SELECT count(*) AS rows_in_default FROM ONLY appschema.inherited_default;
-- Retention 'drop' of a partition of another role: not dropped as that role.
SELECT action, partition, detail FROM zerocut.run_maintenance('appschema.inherited');
SELECT last_outcome FROM zerocut.partition_config WHERE parent = 'appschema.inherited'::regclass;
SELECT to_regclass('appschema.inherited_1990') IS NOT NULL AS still_there;
ALTER TABLE appschema.inherited_1990 OWNER TO app;
SELECT action, partition FROM zerocut.run_maintenance('appschema.inherited')
WHERE partition IN ('appschema.inherited_1990', 'appschema.inherited_1995') ORDER BY partition;
SELECT to_regclass('appschema.inherited_1990') IS NOT NULL AS still_there;

-- 7. A parent whose owner changed since enable_audit() (the new owner lacks
-- EXECUTE on the audit trigger function, which PostgreSQL checks when it
-- clones the trigger onto a partition) still gets its partitions, made and
-- attached as that owner, never as a superuser: ATTACH checks foreign keys
-- as the role running it, and an implicit cast on the owner's type runs the
-- owner's function there.
CREATE ROLE regress_part_team;
GRANT regress_part_team TO app;
GRANT USAGE, CREATE ON SCHEMA appschema TO regress_part_team;
SET ROLE app;
CREATE TYPE appschema.color AS ENUM ('one');
CREATE FUNCTION appschema.color_id(appschema.color) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE app SUPERUSER';
    END IF;
    RETURN 1;
END $$;
CREATE CAST (appschema.color AS int4) WITH FUNCTION appschema.color_id(appschema.color) AS IMPLICIT;
CREATE TABLE appschema.ref (id int PRIMARY KEY);
INSERT INTO appschema.ref VALUES (1);
CREATE TABLE appschema.colored (at date NOT NULL, c appschema.color REFERENCES appschema.ref (id))
    PARTITION BY RANGE (at);
RESET ROLE;
SELECT zerocut.enable_audit('appschema.colored');
SELECT zerocut.manage_partitions('appschema.colored', 'at', 'year', 1, start_date => '1996-01-01');
SET ROLE app;
DO $$
DECLARE t regclass;
BEGIN
    FOR t IN SELECT 'appschema.colored'::regclass UNION ALL SELECT 'appschema.ref'::regclass
             UNION ALL SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'appschema.colored'::regclass LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO regress_part_team', t);
    END LOOP;
END $$;
INSERT INTO appschema.colored VALUES ('1991-06-01', 'one');
RESET ROLE;
SELECT has_function_privilege('regress_part_team', 'zerocut.audit_trigger_function()', 'EXECUTE') AS team_may_before;
SELECT action, partition FROM zerocut.run_maintenance('appschema.colored') WHERE action IN ('create', 'error');
SELECT rolsuper AS app_became_superuser FROM pg_roles WHERE rolname = 'app';
SELECT has_function_privilege('regress_part_team', 'zerocut.audit_trigger_function()', 'EXECUTE') AS team_may_after;
SELECT count(*) AS rows_in_default FROM ONLY appschema.colored_default;
SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = 'appschema.colored_1991'::regclass;

-- Clean up.
DELETE FROM zerocut.partition_config WHERE parent::text LIKE 'appschema.%';
DELETE FROM audit_log.system_log WHERE metadata->>'parent' LIKE 'appschema.%';
DROP SCHEMA appschema CASCADE;
DROP TABLESPACE regress_part_ts;
DROP SCHEMA psec CASCADE;
REVOKE USAGE ON SCHEMA zerocut FROM app, regress_part_other;
REVOKE USAGE ON SCHEMA audit_log FROM app;
REVOKE EXECUTE ON FUNCTION zerocut.manage_partitions(regclass, name, text, integer, interval, text, date),
    zerocut.run_maintenance(regclass), zerocut.create_monthly_partition(text, date),
    zerocut.convert_to_partitioned(regclass, name, text) FROM app, regress_part_other;
REVOKE EXECUTE ON FUNCTION zerocut.managed_parents() FROM app, regress_part_other;
REVOKE EXECUTE ON PROCEDURE zerocut.run_maintenance_proc() FROM app, regress_part_other;
REVOKE ALL ON FUNCTION zerocut.audit_trigger_function(), zerocut.protect_column_trigger() FROM app;
REVOKE ALL ON FUNCTION zerocut.audit_trigger_function() FROM regress_part_team;
DROP ROLE app;
DROP ROLE regress_part_team;
DROP ROLE regress_part_other;
DROP ROLE regress_part_reader;
