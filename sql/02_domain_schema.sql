-- install_domain_schema(): the schemas, tables, keys, constraints, indexes
-- and triggers of the SaaS domain; idempotent; nothing is an extension member.
-- It returns the domain files applied, in name order.
SELECT zerocut.install_domain_schema() LIKE '10_tables.sql,15_triggers.sql,20_indexes.sql%' AS applied_in_order;

SELECT table_schema, table_name, count(*) AS columns
FROM information_schema.columns
WHERE table_schema IN ('user_management', 'workspace_domain', 'financial_management',
                       'api_management', 'data_statistics', 'audit_log')
  AND table_name !~ '_\d{4}_\d{2}$'   -- monthly partitions (docs/partitions.md) depend on the date
GROUP BY 1, 2 ORDER BY 1, 2;

-- The user table has the seed's USER_NEW shape.
SELECT column_name, data_type, column_default
FROM information_schema.columns
WHERE table_schema = 'user_management' AND table_name = 'USER'
ORDER BY ordinal_position;
SELECT enum_range(NULL::user_management.user_status);
SELECT data_type FROM information_schema.columns
WHERE table_schema = 'audit_log' AND table_name = 'system_log' AND column_name = 'metadata';

-- Time-series tables are range-partitioned; primary keys hold the partition column.
SELECT c.oid::regclass AS parent, pg_get_partkeydef(c.oid) AS partition_key,
       pg_get_constraintdef(k.oid) AS primary_key
FROM pg_class c JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
WHERE c.relkind = 'p' ORDER BY c.oid::regclass::text;

-- Keys and constraints.
SELECT conrelid::regclass AS tbl, contype, pg_get_constraintdef(oid) AS definition
FROM pg_constraint
WHERE connamespace::regnamespace::text IN ('user_management', 'workspace_domain', 'financial_management',
                                           'api_management', 'data_statistics', 'audit_log')
  AND conrelid <> 0 AND conislocal AND contype IN ('f', 'c', 'u')
  AND conrelid::regclass::text NOT LIKE '%\_default'
ORDER BY conrelid::regclass::text, 2, 3;

-- Indexes: the seed's and the ones its queries need.
SELECT indexrelid::regclass AS index, pg_get_indexdef(indexrelid) AS definition
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE c.relname LIKE 'idx\_%' ORDER BY indexrelid::regclass::text;

-- updated_at triggers.
SELECT tgrelid::regclass AS tbl, tgname, pg_get_triggerdef(oid) LIKE '%BEFORE UPDATE%FOR EACH ROW EXECUTE FUNCTION zerocut.touch_updated_at()' AS ok
FROM pg_trigger WHERE tgname = 'touch_updated_at' AND tgparentid = 0 ORDER BY tgrelid::regclass::text;

-- None of it belongs to the extension.
SELECT count(*) AS domain_objects_in_extension
FROM pg_depend d
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'zerocut')
  AND ((d.classid = 'pg_class'::regclass AND d.objid IN (
          SELECT oid FROM pg_class WHERE relnamespace::regnamespace::text IN
          ('user_management', 'workspace_domain', 'financial_management', 'api_management',
           'data_statistics', 'audit_log', 'archive')))
       OR (d.classid = 'pg_namespace'::regclass AND d.objid::regnamespace::text <> 'zerocut')
       OR (d.classid = 'pg_type'::regclass AND d.objid = 'user_management.user_status'::regtype));

-- It creates schemas and tables: not for PUBLIC.  Neither is filling them.
SELECT has_function_privilege('public', 'zerocut.install_domain_schema()', 'EXECUTE') AS public_may_install,
       has_function_privilege('public', 'zerocut.generate_sample_data(integer,integer,integer)', 'EXECUTE') AS public_may_generate;

-- Running it again changes nothing: same objects, same OIDs, same definitions.
CREATE TEMP VIEW domain_catalog AS
SELECT 'rel' AS kind, c.oid::bigint AS oid, c.oid::regclass::text || ':' || c.relkind::text || ':' || c.relfilenode AS def
FROM pg_class c WHERE c.relnamespace::regnamespace::text IN
    ('user_management', 'workspace_domain', 'financial_management', 'api_management', 'data_statistics', 'audit_log', 'archive')
UNION ALL
SELECT 'con', oid::bigint, conname || ':' || pg_get_constraintdef(oid) FROM pg_constraint
WHERE connamespace::regnamespace::text IN ('user_management', 'workspace_domain', 'financial_management', 'api_management', 'data_statistics', 'audit_log')
UNION ALL
SELECT 'trg', oid::bigint, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT 'typ', oid::bigint, typname FROM pg_type WHERE typnamespace::regnamespace::text = 'user_management'
UNION ALL
SELECT 'nsp', oid::bigint, nspname FROM pg_namespace;
CREATE TEMP TABLE before_second_run AS SELECT * FROM domain_catalog;
SELECT zerocut.install_domain_schema() IS NOT NULL AS ran_again;
SELECT (SELECT count(*) FROM before_second_run) > 50 AS catalog_captured,
       NOT EXISTS (SELECT * FROM before_second_run EXCEPT SELECT * FROM domain_catalog)
   AND NOT EXISTS (SELECT * FROM domain_catalog EXCEPT SELECT * FROM before_second_run) AS unchanged;

-- Constraints say no to bad rows.
\set VERBOSITY terse
INSERT INTO user_management."USER" (email, password_hash, username) VALUES ('no-at-sign', 'x', 'u');
INSERT INTO user_management."USER" (email, password_hash, username, login_attempts) VALUES ('a@b.c', 'x', 'u', -1);
INSERT INTO workspace_domain.workspace (name, code, status) VALUES ('w', 'w1', 'bogus');
INSERT INTO data_statistics.usage_stats (workspace_id, date) VALUES (12345, DATE '2000-01-01');

-- Two installers at once wait for each other (advisory lock) rather than race;
-- the isolation suite covers the concurrent case.  The lock is zerocut's
-- two-int key (class 0x7A630002, objid 0, objsubid 2), apart from the int8
-- keys an application uses (objsubid 1).
BEGIN;
SELECT zerocut.install_domain_schema() IS NOT NULL AS installed;
-- (the partition manager's job locks on the domain's tables, class
-- 0x7A630001, come along: zerocut holds no int8 key at all)
SELECT classid, objsubid, count(*) > 0 AS held FROM pg_locks
WHERE locktype = 'advisory' AND pid = pg_backend_pid() GROUP BY 1, 2 ORDER BY 1, 2;
ROLLBACK;

-- It will not adopt a domain table that another (non-superuser) role owns:
-- such a table could carry that role's triggers into superuser jobs.
\set VERBOSITY default
CREATE ROLE zc_not_owner;
ALTER TABLE audit_log.system_log OWNER TO zc_not_owner;
SELECT zerocut.install_domain_schema();
ALTER TABLE audit_log.system_log OWNER TO CURRENT_USER;
DROP ROLE zc_not_owner;
SELECT zerocut.install_domain_schema() IS NOT NULL AS installs_again;
