-- The partition manager (docs/partitions.md): the three time-series tables
-- are managed monthly; the 400 days of sample data were moved out of the
-- default partitions into monthly partitions by generate_sample_data().
\echo
\echo '== partition_health: managed parents, partitions ahead, rows stranded in the default partition'
SELECT parent, granularity, premake, partitions, partitions_ahead, rows_in_default,
       oldest_bound::date AS oldest, newest_bound::date AS newest, retention, retention_action, retention_due
FROM zerocut.partition_health ORDER BY parent::text;

\echo
\echo '== usage_stats: one partition per month, rows where they belong'
SELECT tableoid::regclass AS partition, count(*) AS rows, min(date), max(date)
FROM data_statistics.usage_stats GROUP BY 1 ORDER BY min(date) NULLS LAST;

\echo
\echo '== partition_bounds: the newest partitions'' bounds as instants, read from the catalog without locks (what zerocut.alerts polls)'
SELECT partition, is_default, lower_at, upper_at
FROM zerocut.partition_bounds('data_statistics.usage_stats')
ORDER BY lower_at DESC NULLS FIRST LIMIT 4;

\echo
\echo '== a late row for a month that has no partition lands in the default partition ...'
BEGIN;
INSERT INTO data_statistics.usage_stats (workspace_id, date, api_calls) VALUES (1, DATE '2019-05-17', 42);
SELECT tableoid::regclass AS landed_in FROM data_statistics.usage_stats WHERE date = DATE '2019-05-17';
\echo '== ... and the next maintenance run makes its month and moves it, in one transaction'
SELECT parent, action, partition, detail FROM zerocut.run_maintenance('data_statistics.usage_stats');
SELECT tableoid::regclass AS now_in FROM data_statistics.usage_stats WHERE date = DATE '2019-05-17';
ROLLBACK;

\echo
\echo '== create_monthly_partition(): the seed''s function, whole months, idempotent'
BEGIN;
SELECT zerocut.create_monthly_partition('data_statistics.usage_stats', (CURRENT_DATE + 200)) AS created;
SELECT zerocut.create_monthly_partition('data_statistics.usage_stats', (CURRENT_DATE + 200)) AS same_again;
ROLLBACK;

\echo
\echo '== retention: consumption_record keeps 6 months, then hands partitions to the archive'
\echo '   (each parent runs in its own subtransaction: a failure is an "error" row and its last_outcome,'
\echo '    logged at ERROR level, and the other parents go on)'
SELECT parent, action, partition, left(detail, 100) AS detail
FROM zerocut.run_maintenance('financial_management.consumption_record') ORDER BY action, partition;
SELECT parent, last_outcome FROM zerocut.partition_health
WHERE parent = 'financial_management.consumption_record'::regclass;

\echo
\echo '== settings are checked when set: a retention shorter than the archive policy''s keep is refused'
\set VERBOSITY default
DO $$
BEGIN
    PERFORM zerocut.manage_partitions('financial_management.consumption_record', 'created_at', 'month', 3,
                                      pg_catalog.make_interval(months => 3), 'archive');
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE NOTICE 'refused: %', SQLERRM;
END $$;
\set VERBOSITY terse

\echo
\echo '== convert_to_partitioned(): an older install''s plain table becomes partitioned without copying rows'
CREATE TABLE public.old_usage AS SELECT * FROM data_statistics.usage_stats;
ALTER TABLE public.old_usage ADD PRIMARY KEY (id, date);
SELECT pg_size_pretty(pg_relation_size('public.old_usage')) AS heap, relfilenode AS heap_file
FROM pg_class WHERE oid = 'public.old_usage'::regclass;
SELECT zerocut.convert_to_partitioned('public.old_usage', 'date');
SELECT c.oid::regclass AS partition, c.relfilenode AS heap_file, pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'public.old_usage'::regclass ORDER BY 1;
SELECT count(*) AS rows_kept FROM public.old_usage;
DELETE FROM zerocut.partition_config WHERE parent = 'public.old_usage'::regclass;
DROP TABLE public.old_usage;

\echo
\echo '== privileges: a table owner granted EXECUTE manages its own table; the work runs as the owner'
CREATE ROLE demo_app;
CREATE SCHEMA demo_app AUTHORIZATION demo_app;
GRANT USAGE ON SCHEMA zerocut TO demo_app;
GRANT EXECUTE ON FUNCTION zerocut.manage_partitions(regclass, name, text, integer, interval, text, date) TO demo_app;
SET ROLE demo_app;
CREATE TABLE demo_app.events (at timestamptz NOT NULL, what text) PARTITION BY RANGE (at);
GRANT SELECT ON demo_app.events TO PUBLIC;
SELECT zerocut.manage_partitions('demo_app.events', 'at', 'month', 1);
RESET ROLE;
SELECT c.relname AS partition, pg_get_userbyid(c.relowner) AS owner, c.relacl AS grants
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'demo_app.events'::regclass ORDER BY c.relname LIMIT 2;
\echo 'zerocut''s own tables are refused, for a superuser too (42809):'
DO $$ BEGIN
    PERFORM zerocut.manage_partitions('zerocut.partition_config', 'registered_at');
EXCEPTION WHEN wrong_object_type THEN
    RAISE NOTICE 'refused: %', SQLERRM;
END $$;
DELETE FROM zerocut.partition_config WHERE parent = 'demo_app.events'::regclass;
DELETE FROM audit_log.system_log WHERE metadata->>'parent' = 'demo_app.events';
DROP SCHEMA demo_app CASCADE;
REVOKE ALL ON SCHEMA zerocut FROM demo_app;
REVOKE ALL ON FUNCTION zerocut.manage_partitions(regclass, name, text, integer, interval, text, date) FROM demo_app;
DROP ROLE demo_app;

\echo
\echo '== every action is in audit_log.system_log'
SELECT level, message, metadata->>'detail' AS detail
FROM audit_log.system_log WHERE metadata->>'capability' = 'partitions' ORDER BY id DESC LIMIT 5;
