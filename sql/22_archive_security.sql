-- Archive security (issue 15): whose rights the archive work uses and who may
-- point it at which table.
--  1. Moving rows runs as the source's owner under
--     SECURITY_RESTRICTED_OPERATION: the owner's triggers never run with the
--     rights of the superuser who called archive(), archive_proc(),
--     restore_archived() or archive_partition().
--  2. Source and target must belong to the caller (or a superuser calls),
--     and to the same role; a table owner granted EXECUTE needs nothing more.
--  3. zerocut's own tables are never a source or a target.
--  4. The archive table (and schema) zerocut makes belongs to the source's
--     owner and carries its grants and row-level security.
-- Dates are relative to CURRENT_DATE or far in the past.
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET TimeZone = 'UTC';
CREATE ROLE zc22_app;
CREATE ROLE zc22_reader;
CREATE ROLE zc22_clerk;
CREATE ROLE zc22_thief;
CREATE SCHEMA zc22;
GRANT USAGE ON SCHEMA zc22 TO PUBLIC;
CREATE FUNCTION zc22.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- What a DBA grants a table owner who is to use the archive.
GRANT USAGE ON SCHEMA zerocut TO zc22_app, zc22_thief;
GRANT EXECUTE ON FUNCTION zerocut.set_archive_policy(regclass, name, interval, regclass, integer, boolean),
    zerocut.archive(regclass), zerocut.restore_archived(regclass, timestamptz, timestamptz),
    zerocut.archive_partition(regclass) TO zc22_app, zc22_thief;
GRANT EXECUTE ON PROCEDURE zerocut.archive_proc(regclass, integer) TO zc22_app, zc22_thief;
CREATE SCHEMA appschema AUTHORIZATION zc22_app;

-- 1. A table whose triggers try to make their owner a superuser whenever
-- they run as one, on the source and on the archive target.
SET ROLE zc22_app;
GRANT USAGE ON SCHEMA appschema TO zc22_reader, zc22_clerk, zc22_thief;
CREATE TABLE appschema.trigger_log (who name, op text, tbl name);
CREATE FUNCTION appschema.escalate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO appschema.trigger_log VALUES (current_user, TG_OP, TG_TABLE_NAME);
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        ALTER ROLE zc22_app SUPERUSER;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TABLE appschema.events (id int PRIMARY KEY, created_at timestamptz NOT NULL, v text);
INSERT INTO appschema.events SELECT g, CURRENT_DATE - 100 + g, 'e' FROM generate_series(1, 90) g;
CREATE TABLE appschema.events_archive (LIKE appschema.events INCLUDING ALL);
CREATE TRIGGER escalate BEFORE INSERT OR DELETE ON appschema.events
    FOR EACH ROW EXECUTE FUNCTION appschema.escalate();
CREATE TRIGGER escalate BEFORE INSERT OR DELETE ON appschema.events_archive
    FOR EACH ROW EXECUTE FUNCTION appschema.escalate();
RESET ROLE;
SELECT zerocut.set_archive_policy('appschema.events', 'created_at', '30 days', target => 'appschema.events_archive',
                                  batch_size => 50);
-- archive(), as a superuser: the triggers run as zc22_app.
SELECT source, rows_moved, status, error FROM zerocut.archive('appschema.events');
SELECT rolsuper AS app_is_superuser FROM pg_roles WHERE rolname = 'zc22_app';
SELECT who, op, tbl, count(*) FROM appschema.trigger_log GROUP BY 1, 2, 3 ORDER BY 2, 3;
ALTER ROLE zc22_app NOSUPERUSER;
TRUNCATE appschema.trigger_log;
-- restore_archived(), as a superuser.
SELECT zerocut.restore_archived('appschema.events', '-infinity', CURRENT_DATE - 80) AS restored;
SELECT rolsuper AS app_is_superuser FROM pg_roles WHERE rolname = 'zc22_app';
SELECT who, op, tbl, count(*) FROM appschema.trigger_log GROUP BY 1, 2, 3 ORDER BY 2, 3;
ALTER ROLE zc22_app NOSUPERUSER;
TRUNCATE appschema.trigger_log;
-- archive_proc(), as a superuser: it commits between batches (batch_size 5:
-- four batches), every batch as zc22_app.
SELECT zerocut.set_archive_policy('appschema.events', 'created_at', '30 days', batch_size => 5);
CALL zerocut.archive_proc('appschema.events');
SELECT rolsuper AS app_is_superuser FROM pg_roles WHERE rolname = 'zc22_app';
SELECT who, op, tbl, count(*) FROM appschema.trigger_log GROUP BY 1, 2, 3 ORDER BY 2, 3;
SELECT count(*) AS archived FROM appschema.events_archive;
ALTER ROLE zc22_app NOSUPERUSER;
TRUNCATE appschema.trigger_log;
-- The user is back after the call.
SELECT current_user = session_user AS user_restored;
-- archive_partition(), as a superuser: the archive table it creates belongs
-- to zc22_app (not to the superuser), in a schema owned like appschema.
SET ROLE zc22_app;
CREATE TABLE appschema.pevents (id int, created_at timestamptz NOT NULL, PRIMARY KEY (id, created_at))
    PARTITION BY RANGE (created_at);
CREATE TABLE appschema.pevents_1998 PARTITION OF appschema.pevents FOR VALUES FROM ('1998-01-01') TO ('1999-01-01');
CREATE TABLE appschema.pevents_1999 PARTITION OF appschema.pevents FOR VALUES FROM ('1999-01-01') TO ('2000-01-01');
INSERT INTO appschema.pevents SELECT g, timestamptz '1998-03-01' + g * interval '1 day' FROM generate_series(1, 500) g;
CREATE TRIGGER escalate BEFORE INSERT OR DELETE ON appschema.pevents
    FOR EACH ROW EXECUTE FUNCTION appschema.escalate();
RESET ROLE;
SELECT zerocut.archive_partition('appschema.pevents_1998');
SELECT rolsuper AS app_is_superuser FROM pg_roles WHERE rolname = 'zc22_app';
SELECT c.oid::regclass AS archive_table, pg_get_userbyid(c.relowner) AS owner,
       (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE oid = c.relnamespace) AS schema_owner
FROM pg_class c WHERE c.oid = 'appschema_archive.pevents_archive'::regclass;
SELECT count(*) AS rows_in_archive FROM appschema_archive.pevents_archive;
ALTER ROLE zc22_app NOSUPERUSER;

-- 2. Someone else's table.  zc22_thief has EXECUTE, and the rights on
-- zerocut's tables a DBA had to grant before, and owns thief.stolen.
CREATE SCHEMA zc22_victim;
GRANT USAGE ON SCHEMA zc22_victim TO zc22_thief;
CREATE TABLE zc22_victim.users (id int PRIMARY KEY, created_at timestamptz NOT NULL, email text);
INSERT INTO zc22_victim.users SELECT g, CURRENT_DATE - 10, 'user' || g FROM generate_series(1, 10) g;
GRANT SELECT, INSERT, UPDATE ON zerocut.archive_policy TO zc22_thief;
GRANT SELECT ON zerocut.partition_config TO zc22_thief;
CREATE SCHEMA thief AUTHORIZATION zc22_thief;
SET ROLE zc22_thief;
CREATE TABLE thief.stolen (id int, created_at timestamptz, email text);
CREATE TABLE thief.junk (id int PRIMARY KEY, created_at timestamptz NOT NULL, email text);
INSERT INTO thief.junk VALUES (666, CURRENT_DATE - 10, 'junk');
SELECT zc22.try(stmt) FROM (VALUES
    -- somebody's rows into the thief's table
    ($$SELECT zerocut.set_archive_policy('zc22_victim.users', 'created_at', '1 microsecond', 'thief.stolen')$$),
    -- the thief's rows into somebody's table
    ($$SELECT zerocut.set_archive_policy('thief.junk', 'created_at', '1 day', 'zc22_victim.users')$$),
    -- and the other functions on a table it does not own
    ($$SELECT zerocut.archive('zc22_victim.users')$$),
    ($$SELECT zerocut.restore_archived('zc22_victim.users', '-infinity', 'infinity')$$),
    ($$SELECT zerocut.archive('appschema.events')$$),
    ($$SELECT zerocut.restore_archived('appschema.events', '-infinity', 'infinity')$$),
    ($$SELECT zerocut.archive_partition('appschema.pevents_1999')$$)) v(stmt);
CALL zerocut.archive_proc('appschema.events');
-- Over all policies, a role that is not superuser gets only those of its own tables: none.
SELECT count(*) AS policies_run_for_thief FROM zerocut.archive();
RESET ROLE;
-- The DBA's next run: nothing of the victim's moves anywhere.
SELECT zc22.try($$SELECT zerocut.archive('zc22_victim.users')$$);
SELECT zc22.try($$SELECT zerocut.archive('thief.junk')$$);
SELECT (SELECT count(*) FROM zc22_victim.users) AS victim_rows, (SELECT count(*) FROM thief.stolen) AS stolen_rows,
       (SELECT count(*) FROM zc22_victim.users WHERE email = 'junk') AS junk_rows;
-- Not even a superuser joins two owners: rows would change owner.
SELECT zc22.try(stmt) FROM (VALUES
    ($$SELECT zerocut.set_archive_policy('zc22_victim.users', 'created_at', '30 days', target => 'thief.stolen')$$),
    ($$SELECT zerocut.set_archive_policy('thief.junk', 'created_at', '30 days', target => 'zc22_victim.users')$$)) v(stmt);
-- A target must be a table (a view or a sequence is refused).
CREATE VIEW appschema.events_view AS SELECT * FROM appschema.events_archive;
ALTER VIEW appschema.events_view OWNER TO zc22_app;
CREATE SEQUENCE appschema.seq;
ALTER SEQUENCE appschema.seq OWNER TO zc22_app;
SELECT zc22.try(stmt) FROM (VALUES
    ($$SELECT zerocut.set_archive_policy('appschema.events', 'created_at', '30 days', target => 'appschema.events_view')$$),
    ($$SELECT zerocut.set_archive_policy('appschema.events', 'created_at', '30 days', target => 'appschema.seq')$$)) v(stmt);
SELECT target_schema, target_table, batch_size FROM zerocut.archive_policy WHERE source_schema = 'appschema'
ORDER BY source_table;
-- The default target name held by a table of another role is refused at
-- run time too (somebody made it before the first run).
SET ROLE zc22_app;
CREATE TABLE appschema.logins (id int PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO appschema.logins VALUES (1, CURRENT_DATE - 100);
SELECT zerocut.set_archive_policy('appschema.logins', 'created_at', '30 days');
RESET ROLE;
CREATE TABLE appschema_archive.logins_archive (id int, created_at timestamptz);
ALTER TABLE appschema_archive.logins_archive OWNER TO zc22_thief;
SELECT source, rows_moved, status, error FROM zerocut.archive('appschema.logins');
SELECT zc22.try($$SELECT zerocut.restore_archived('appschema.logins', '-infinity', 'infinity')$$);
DROP TABLE appschema_archive.logins_archive;
CREATE VIEW appschema_archive.logins_archive AS SELECT 1 AS id, now() AS created_at;
SELECT source, rows_moved, status, error FROM zerocut.archive('appschema.logins');
DROP VIEW appschema_archive.logins_archive;
SELECT count(*) AS logins_left FROM appschema.logins;

-- A table owner with EXECUTE only (no right on zerocut's tables) does it
-- all itself: set the policy, archive, restore, archive_proc,
-- archive_partition; over all policies it runs those of its own tables.
SET ROLE zc22_app;
SELECT has_table_privilege('zerocut.archive_policy', 'SELECT') AS app_reads_policy_table;
SELECT zerocut.set_archive_policy('appschema.logins', 'created_at', '30 days', batch_size => 2);
SELECT source, rows_moved, status, error FROM zerocut.archive() ORDER BY source::text COLLATE "C";
SELECT zerocut.restore_archived('appschema.logins', '-infinity', 'infinity') AS restored;
CALL zerocut.archive_proc('appschema.logins');
SELECT zerocut.archive_partition('appschema.pevents_1999');
SELECT (SELECT count(*) FROM appschema.logins) AS logins_left,
       (SELECT count(*) FROM appschema_archive.logins_archive) AS logins_archived,
       (SELECT count(*) FROM appschema_archive.pevents_archive) AS pevents_archived;
RESET ROLE;
SELECT level, message FROM audit_log.system_log WHERE metadata->>'source' LIKE '%appschema%'
   OR metadata->>'partition' LIKE '%appschema%' ORDER BY id;

-- 3. zerocut's own tables are neither source nor target, even for a superuser.
INSERT INTO zerocut.archive_policy (source_schema, source_table, time_column, keep, target_schema, target_table)
VALUES ('audit_log', 'system_log', 'created_at', '1 day', 'zc22_victim', 'log_copy');
SELECT zc22.try(stmt) FROM (VALUES
    ($$SELECT zerocut.set_archive_policy('audit_log.system_log', 'created_at', '1 day')$$),
    ($$SELECT zerocut.set_archive_policy('zerocut.archive_policy', 'updated_at', '1 day')$$),
    ($$SELECT zerocut.set_archive_policy('appschema.events', 'created_at', '1 day', target => 'zerocut.archive_policy')$$),
    ($$SELECT zerocut.set_archive_policy('zc22_victim.users', 'created_at', '1 day', target => 'audit_log.system_log')$$),
    ($$SELECT zerocut.archive('audit_log.system_log')$$),
    ($$SELECT zerocut.restore_archived('audit_log.system_log', '-infinity', 'infinity')$$)) v(stmt);
SELECT left(zc22.try(format('SELECT zerocut.archive_partition(%L)', c.oid::regclass)), 5) AS log_partition
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'audit_log.system_log'::regclass ORDER BY c.relname LIMIT 1;
SELECT count(*) AS log_copies FROM pg_class WHERE relname = 'log_copy';
DELETE FROM zerocut.archive_policy WHERE source_schema = 'audit_log';
SELECT source_schema, source_table FROM zerocut.archive_policy WHERE source_schema IN ('zerocut', 'audit_log');

-- 4. The archive table zerocut creates: the source's owner, grants (table
-- and column), row-level security and policies; its schema is reachable
-- by whom the source's schema is.
SET ROLE zc22_app;
CREATE TABLE appschema.orders (id int PRIMARY KEY, created_at timestamptz NOT NULL, tenant text NOT NULL, note text);
GRANT SELECT ON appschema.orders TO zc22_reader;
GRANT SELECT (id, note), UPDATE (note) ON appschema.orders TO zc22_clerk;
ALTER TABLE appschema.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE appschema.orders FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_all ON appschema.orders TO zc22_app USING (true);
CREATE POLICY reader_tenant_a ON appschema.orders FOR SELECT TO zc22_reader USING (tenant = 'a');
INSERT INTO appschema.orders SELECT g, CURRENT_DATE - 100 + g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END, 'n'
FROM generate_series(1, 10) g;
SELECT zerocut.set_archive_policy('appschema.orders', 'created_at', '30 days');
RESET ROLE;
SELECT source, rows_moved, status, error FROM zerocut.archive('appschema.orders');
SELECT pg_get_userbyid(c.relowner) AS owner, c.relrowsecurity, c.relforcerowsecurity
FROM pg_class c WHERE c.oid = 'appschema_archive.orders_archive'::regclass;
SELECT pg_get_userbyid(a.grantee) AS grantee, a.privilege_type, pg_get_userbyid(a.grantor) AS grantor
FROM pg_class c, aclexplode(c.relacl) a
WHERE c.oid = 'appschema_archive.orders_archive'::regclass AND a.grantee <> c.relowner ORDER BY 1, 2;
SELECT att.attname, pg_get_userbyid(a.grantee) AS grantee, a.privilege_type
FROM pg_attribute att, aclexplode(att.attacl) a
WHERE att.attrelid = 'appschema_archive.orders_archive'::regclass ORDER BY 1, 2, 3;
SELECT policyname, permissive, roles, cmd, qual, with_check FROM pg_policies
WHERE schemaname = 'appschema_archive' AND tablename = 'orders_archive' ORDER BY 1;
SELECT has_schema_privilege('zc22_reader', 'appschema_archive', 'USAGE') AS reader_usage,
       has_schema_privilege('zc22_thief', 'appschema_archive', 'USAGE') AS thief_usage;
SET ROLE zc22_reader;
SELECT tenant, count(*) FROM appschema_archive.orders_archive GROUP BY 1 ORDER BY 1;
RESET ROLE;
SET ROLE zc22_thief;
SELECT zc22.try($$SELECT count(*) FROM appschema_archive.orders_archive$$);
SELECT zc22.try($$UPDATE appschema_archive.orders_archive SET note = 'x'$$);
RESET ROLE;
SET ROLE zc22_clerk;
SELECT zc22.try($$UPDATE appschema_archive.orders_archive SET note = 'clerk' WHERE id = 1$$);
SELECT zc22.try($$SELECT tenant FROM appschema_archive.orders_archive$$);
RESET ROLE;
SELECT count(*) AS archived_orders FROM appschema_archive.orders_archive;

-- FORCE ROW LEVEL SECURITY with no policy for the owner hides every row
-- from it; the owner's own archive() moves them all the same (the work is
-- a no-force-RLS operation, as PostgreSQL's foreign-key checks are).
SET ROLE zc22_app;
CREATE TABLE appschema.hidden (id int PRIMARY KEY, created_at timestamptz NOT NULL);
ALTER TABLE appschema.hidden ENABLE ROW LEVEL SECURITY;
ALTER TABLE appschema.hidden FORCE ROW LEVEL SECURITY;
SELECT zerocut.set_archive_policy('appschema.hidden', 'created_at', '30 days');
RESET ROLE;
INSERT INTO appschema.hidden SELECT g, CURRENT_DATE - 100 + g FROM generate_series(1, 10) g;
SET ROLE zc22_app;
SELECT count(*) AS app_sees FROM appschema.hidden;
SELECT source, rows_moved, status, error FROM zerocut.archive('appschema.hidden');
RESET ROLE;
SELECT (SELECT count(*) FROM appschema.hidden) AS left_behind,
       (SELECT count(*) FROM appschema_archive.hidden_archive) AS archived;

-- Clean up: the roles' objects (their policies forgotten by the event
-- trigger), grants and roles.
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS appschema_archive, appschema, thief, zc22_victim, zc22 CASCADE;
DROP OWNED BY zc22_app, zc22_reader, zc22_clerk, zc22_thief CASCADE;
DROP ROLE zc22_app, zc22_reader, zc22_clerk, zc22_thief;
DELETE FROM audit_log.system_log;
RESET client_min_messages;
SELECT count(*) AS policies_left FROM zerocut.archive_policy WHERE source_schema IN ('appschema', 'thief', 'zc22_victim');
