-- An audited table stays audited and writable when it is renamed, moved to
-- another schema or its schema is renamed (issue 15 follow-up): the trigger
-- finds the table's zerocut.audit_config row by OID (column `relation`), and
-- the row's schema_name/table_name follow the table (event trigger
-- zerocut_audit_config_follow).  A table that merely takes an audited
-- table's old name is not audited: a hand-made trigger on it is refused.
-- docs/audit.md, "Renames".
SELECT zerocut.install_domain_schema() IS NOT NULL AS installed;
CREATE ROLE regress_ren_owner;
GRANT USAGE ON SCHEMA zerocut TO regress_ren_owner;
GRANT EXECUTE ON FUNCTION zerocut.enable_audit(regclass, text[], text, boolean),
                          zerocut.disable_audit(regclass) TO regress_ren_owner;
CREATE SCHEMA regress_ren AUTHORIZATION regress_ren_owner;
CREATE SCHEMA regress_ren_b;
CREATE VIEW ren_log AS
SELECT id, message, metadata ->> 'schema' AS schema, metadata ->> 'table' AS "table",
       metadata -> 'pk' AS pk, (metadata ->> 'relid')::oid AS relid
FROM audit_log.system_log WHERE metadata ->> 'schema' LIKE 'regress\_ren%';
CREATE VIEW ren_config AS
SELECT schema_name, table_name, relation::text, mode
FROM zerocut.audit_config WHERE schema_name LIKE 'regress\_ren%' ORDER BY table_name;

-- Row mode, a table owned by an ordinary role, renamed by that role.
SET ROLE regress_ren_owner;
CREATE TABLE regress_ren.items (id int PRIMARY KEY, v text);
SELECT zerocut.enable_audit('regress_ren.items');
INSERT INTO regress_ren.items VALUES (1, 'a');
ALTER TABLE regress_ren.items RENAME TO goods;
-- Failed (42501, "not recorded") before audit_config followed renames.
INSERT INTO regress_ren.goods VALUES (2, 'b');
RESET ROLE;
SELECT * FROM ren_config;
-- Moved to another schema (the row mode cache was built under the old
-- names in this session: the rename's invalidation rebuilds it).
ALTER TABLE regress_ren.goods SET SCHEMA regress_ren_b;
UPDATE regress_ren_b.goods SET v = 'c' WHERE id = 2;
-- Its schema renamed.
ALTER SCHEMA regress_ren_b RENAME TO regress_ren_c;
DELETE FROM regress_ren_c.goods WHERE id = 1;
SELECT * FROM ren_config;

-- Statement mode on a partitioned table; a write addressed to a partition
-- (row mode's cloned trigger names the root) after the root's rename.
CREATE TABLE regress_ren_c.parts (id int, d date, PRIMARY KEY (id, d)) PARTITION BY RANGE (d);
CREATE TABLE regress_ren_c.parts_2000 PARTITION OF regress_ren_c.parts FOR VALUES FROM ('2000-01-01') TO ('2001-01-01');
CREATE TABLE regress_ren_c.rows (id int, d date, PRIMARY KEY (id, d)) PARTITION BY RANGE (d);
CREATE TABLE regress_ren_c.rows_2000 PARTITION OF regress_ren_c.rows FOR VALUES FROM ('2000-01-01') TO ('2001-01-01');
SELECT zerocut.enable_audit('regress_ren_c.parts', mode => 'statement');
SELECT zerocut.enable_audit('regress_ren_c.rows');
ALTER TABLE regress_ren_c.parts RENAME TO parts_new;
ALTER TABLE regress_ren_c.rows RENAME TO rows_new;
INSERT INTO regress_ren_c.parts_new VALUES (1, '2000-05-01');
INSERT INTO regress_ren_c.rows_2000 VALUES (1, '2000-05-01');
SELECT * FROM ren_config;

-- A new table under the first table's old name is not audited: the row
-- follows the renamed table, so a trigger made by hand on the newcomer is
-- refused (before: the stale row under the old name let it log).
CREATE TABLE regress_ren.items (id int PRIMARY KEY);
CREATE TRIGGER forged AFTER INSERT ON regress_ren.items
    FOR EACH ROW EXECUTE FUNCTION zerocut.audit_trigger_function();
INSERT INTO regress_ren.items VALUES (9);
DROP TABLE regress_ren.items;
-- Nor is a table that never was.
CREATE TABLE regress_ren.plain (id int PRIMARY KEY);
CREATE TRIGGER forged AFTER INSERT ON regress_ren.plain
    FOR EACH ROW EXECUTE FUNCTION zerocut.audit_trigger_function();
INSERT INTO regress_ren.plain VALUES (9);
DROP TABLE regress_ren.plain;

-- Auditing does not depend on the event trigger: with it disabled a
-- renamed table is still audited (under its new name), only the names in
-- audit_config lag until enable_audit() runs again.
ALTER EVENT TRIGGER zerocut_audit_config_follow DISABLE;
ALTER TABLE regress_ren_c.rows_new RENAME TO rows_newer;
INSERT INTO regress_ren_c.rows_newer VALUES (2, '2000-06-01');
SELECT * FROM ren_config WHERE relation::text LIKE '%rows%';
SELECT zerocut.enable_audit('regress_ren_c.rows_newer');
SELECT * FROM ren_config WHERE relation::text LIKE '%rows%';
ALTER EVENT TRIGGER zerocut_audit_config_follow ENABLE;

-- Every write above, under the names the table had at the time, and
-- the same relid throughout.
SELECT message, schema, "table", pk FROM ren_log ORDER BY id;
SELECT "table", count(DISTINCT relid) AS relids, bool_and(relid = 'regress_ren_c.goods'::regclass) AS current
FROM ren_log WHERE "table" IN ('items', 'goods') GROUP BY 1 ORDER BY 1;

-- disable_audit() finds the row under the table's new name.
SELECT zerocut.disable_audit('regress_ren_c.goods');
SELECT * FROM ren_config;
-- A dropped audited table takes its row along (and the row of a table in a
-- dropped schema).
DROP TABLE regress_ren_c.parts_new;
SELECT * FROM ren_config;
-- The event trigger function is not PUBLIC's.
SELECT has_function_privilege('public', 'zerocut.audit_config_follow()', 'EXECUTE') AS public_may_run;

-- Clean up.
DROP SCHEMA regress_ren_c CASCADE;
SELECT * FROM ren_config;
DROP VIEW ren_log, ren_config;
DROP SCHEMA regress_ren CASCADE;
TRUNCATE audit_log.system_log;
REVOKE ALL ON FUNCTION zerocut.enable_audit(regclass, text[], text, boolean),
                       zerocut.disable_audit(regclass) FROM regress_ren_owner;
REVOKE ALL ON SCHEMA zerocut FROM regress_ren_owner;
REVOKE ALL ON FUNCTION zerocut.audit_trigger_function() FROM regress_ren_owner;
DROP ROLE regress_ren_owner;
