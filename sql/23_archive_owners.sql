-- Archive security (issue 15, review): whose schema the archive table lives
-- in, and whose table a stored policy applies to.
--  A. An archive table is only made in, or used from, a schema owned by the
--     source's owner, the owner of the source's schema, or a trusted role
--     (superuser, the extension's owner): the owner of a schema may drop any
--     table in it, archived rows included.
--  B. A policy remembers the owner of its table when it is set; a table of
--     the same name that another role owns later is not archived by it.
-- Dates are far in the past.
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET TimeZone = 'UTC';
\set VERBOSITY default
CREATE ROLE zc23_dave;
CREATE ROLE zc23_mallory;
GRANT USAGE ON SCHEMA zerocut TO zc23_dave, zc23_mallory;
GRANT EXECUTE ON FUNCTION zerocut.set_archive_policy(regclass, name, interval, regclass, integer, boolean),
    zerocut.archive(regclass), zerocut.restore_archived(regclass, timestamptz, timestamptz)
    TO zc23_dave, zc23_mallory;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO zc23_mallory', current_database()); END $$;
CREATE SCHEMA zc23 AUTHORIZATION zc23_dave;

-- A. mallory squats the default archive schema of dave's zc23 and lets dave
-- create tables there.
SET ROLE zc23_dave;
CREATE TABLE zc23.payroll (id int PRIMARY KEY, created_at timestamptz NOT NULL, salary int);
INSERT INTO zc23.payroll VALUES (1, '1990-01-01', 100000), (2, '1991-01-01', 90000);
SELECT zerocut.set_archive_policy('zc23.payroll', 'created_at', '1 year');
RESET ROLE;
SET ROLE zc23_mallory;
CREATE SCHEMA zc23_archive;
GRANT USAGE, CREATE ON SCHEMA zc23_archive TO zc23_dave;
RESET ROLE;
-- A superuser's run refuses to make the archive table there: nothing moves,
-- no table is made.
SELECT source, rows_moved, status, error FROM zerocut.archive('zc23.payroll');
SELECT count(*) AS payroll_rows FROM zc23.payroll;
SELECT count(*) AS tables_in_squatted_schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'zc23_archive';
-- An archive table dave made there himself is refused too (mallory could
-- drop it), by set_archive_policy and by archive().
SET ROLE zc23_dave;
CREATE TABLE zc23_archive.payroll_archive (LIKE zc23.payroll);
SELECT source, rows_moved, status, error FROM zerocut.archive('zc23.payroll');
CREATE TABLE zc23.ledger (id int PRIMARY KEY, created_at timestamptz NOT NULL);
SELECT zerocut.set_archive_policy('zc23.ledger', 'created_at', '1 year', target => 'zc23_archive.payroll_archive');
-- The default target schema, squatted: refused when the policy is set.
SELECT zerocut.set_archive_policy('zc23.ledger', 'created_at', '1 year');
RESET ROLE;
SELECT count(*) AS payroll_rows FROM zc23.payroll;
-- Once the schema is dave's (a superuser gave it to him), the archive works.
ALTER SCHEMA zc23_archive OWNER TO zc23_dave;
SELECT source, rows_moved, status, error FROM zerocut.archive('zc23.payroll');
-- A schema of a trusted role (here: the superuser running the tests) where
-- dave may create tables is accepted.
CREATE SCHEMA zc23_vault;
GRANT USAGE, CREATE ON SCHEMA zc23_vault TO zc23_dave;
SET ROLE zc23_dave;
INSERT INTO zc23.ledger VALUES (1, '1990-01-01');
CREATE TABLE zc23_vault.ledger_archive (LIKE zc23.ledger);
SELECT zerocut.set_archive_policy('zc23.ledger', 'created_at', '1 year', target => 'zc23_vault.ledger_archive');
SELECT source, rows_moved, status, error FROM zerocut.archive('zc23.ledger');
RESET ROLE;

-- B. mallory sets a policy on a table of a shared schema, then renames her
-- table away; dave later makes a table of the same name.
CREATE SCHEMA zc23_shared;
GRANT USAGE, CREATE ON SCHEMA zc23_shared TO zc23_dave, zc23_mallory;
SET ROLE zc23_mallory;
CREATE TABLE zc23_shared.x (id int PRIMARY KEY, created_at timestamptz NOT NULL);
SELECT zerocut.set_archive_policy('zc23_shared.x', 'created_at', '1 day');
ALTER TABLE zc23_shared.x RENAME TO x_gone;
CREATE TABLE zc23_shared.y (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE zc23_shared.y_sink (id int PRIMARY KEY, created_at timestamptz NOT NULL);
SELECT zerocut.set_archive_policy('zc23_shared.y', 'created_at', '1 day', target => 'zc23_shared.y_sink');
ALTER TABLE zc23_shared.y RENAME TO y_gone;
RESET ROLE;
SELECT source_schema, source_table, source_owner, target_schema, target_table FROM zerocut.archive_policy
WHERE source_schema = 'zc23_shared' ORDER BY source_table;
SET ROLE zc23_dave;
CREATE TABLE zc23_shared.x (id int PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO zc23_shared.x VALUES (1, '1990-01-01'), (2, '1990-01-02');
CREATE TABLE zc23_shared.y (id int PRIMARY KEY, created_at timestamptz NOT NULL);
RESET ROLE;
-- A superuser's run does not apply mallory's policy to dave's table: an
-- error row, nothing moved.
SELECT source, rows_moved, status, error FROM zerocut.archive('zc23_shared.x');
SELECT source, rows_moved, status, error FROM zerocut.archive() WHERE source::text LIKE 'zc23_shared.%';
SELECT zerocut.restore_archived('zc23_shared.x', '-infinity', 'infinity');
SELECT count(*) AS x_rows FROM zc23_shared.x;
-- dave sets his own policies: mallory's target (y_sink) is not kept, the
-- default one is used (zerocut makes it, dave's); then the archive works.
SET ROLE zc23_dave;
SELECT zerocut.set_archive_policy('zc23_shared.x', 'created_at', '1 year');
SELECT zerocut.set_archive_policy('zc23_shared.y', 'created_at', '1 year');
RESET ROLE;
SELECT source_table, source_owner, target_schema, target_table FROM zerocut.archive_policy
WHERE source_schema = 'zc23_shared' ORDER BY source_table;
SELECT source, rows_moved, status, error FROM zerocut.archive('zc23_shared.x');
SELECT pg_get_userbyid(c.relowner) AS owner, (SELECT count(*) FROM zc23_shared_archive.x_archive) AS archived
FROM pg_class c WHERE c.oid = 'zc23_shared_archive.x_archive'::regclass;
-- A table given away (ALTER TABLE ... OWNER TO) keeps its policy only once
-- the new owner sets it again.
ALTER TABLE zc23_shared.x OWNER TO zc23_mallory;
SELECT source, rows_moved, status, error FROM zerocut.archive('zc23_shared.x');
ALTER TABLE zc23_shared.x OWNER TO zc23_dave;

-- Clean up.
SET client_min_messages = warning;
DROP SCHEMA zc23, zc23_archive, zc23_vault, zc23_shared, zc23_shared_archive CASCADE;
DO $$ BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM zc23_mallory', current_database()); END $$;
DROP OWNED BY zc23_dave, zc23_mallory CASCADE;
DROP ROLE zc23_dave, zc23_mallory;
DELETE FROM audit_log.system_log;
RESET client_min_messages;
SELECT count(*) AS policies_left FROM zerocut.archive_policy WHERE source_schema LIKE 'zc23%';
