-- Alerts, metrics and the capacity forecast (issue 18, part C;
-- docs/monitoring.md).  Each alert kind that a single-node cluster can show
-- is provoked once and disappears once fixed; the rest of the database may
-- have alerts of its own, so only this test's objects are looked at.
-- Replication lag: test/e2e/monitor_replication.sh; a job pg_cron really
-- ran and failed: test/e2e/monitor_jobs_cron.sh.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- This test's alerts, as kind / object / severity.
CREATE FUNCTION pg_temp.mine(unused_index_bytes bigint DEFAULT 104857600, long_transaction interval DEFAULT '15 minutes')
    RETURNS TABLE(severity text, kind text, object text)
    LANGUAGE sql AS $$
    SELECT a.severity, a.kind, a.object
    FROM zerocut.find_alerts(unused_index_bytes => $1, long_transaction => $2) a
    WHERE a.object LIKE '%zc74%'
    ORDER BY a.kind, a.object
$$;

-- 1. Bad arguments, named.
SELECT * FROM zerocut.find_alerts(long_transaction => NULL);
SELECT * FROM zerocut.find_alerts(replication_lag => '-1 s');
SELECT * FROM zerocut.find_alerts(cache_hit_percent => 101);
SELECT * FROM zerocut.find_alerts(cache_hit_percent => 'NaN');
SELECT * FROM zerocut.find_alerts(cache_min_blocks => -1);
SELECT * FROM zerocut.find_alerts(unused_index_bytes => -1);
SELECT * FROM zerocut.find_alerts(partitions_ahead => 1001);
SELECT * FROM zerocut.capacity_forecast(NULL);
SELECT * FROM zerocut.capacity_forecast(0);
SELECT * FROM zerocut.capacity_forecast(1201);

-- 2. A managed monthly table with four months of history and 3 premade
-- months: healthy.
CREATE TABLE zc74_events (id integer, ts timestamptz NOT NULL, payload text) PARTITION BY RANGE (ts);
SELECT zerocut.manage_partitions('zc74_events', 'ts', 'month', 3, NULL, 'detach',
                                 (date_trunc('month', now()) - interval '4 months')::date);
INSERT INTO zc74_events
SELECT g, date_trunc('month', now()) - interval '4 months' + (g % 120) * interval '1 day', repeat('x', 200)
FROM generate_series(1, 2000) g;
SELECT pg_stat_force_next_flush();
SELECT * FROM pg_temp.mine();

-- Fewer than 2 partitions ahead: the premade partitions dropped (none left:
-- critical); run_maintenance() makes them again.
DO $$
DECLARE
    p regclass;
BEGIN
    FOR p IN SELECT c.oid::regclass FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'zc74_events'::regclass
               AND substring(pg_get_expr(c.relpartbound, c.oid), $re$^FOR VALUES FROM \('([^']*)'\)$re$)::timestamptz > now()
    LOOP
        EXECUTE format('DROP TABLE %s', p);
    END LOOP;
END
$$;
SELECT * FROM pg_temp.mine();
SELECT labels, value FROM zerocut.metrics() WHERE name = 'zerocut_partitions_ahead' AND labels ->> 'table' = 'public.zc74_events';
SELECT count(*) > 0 AS made FROM zerocut.run_maintenance('zc74_events');
SELECT * FROM pg_temp.mine();
SELECT labels, value FROM zerocut.metrics() WHERE name = 'zerocut_partitions_ahead' AND labels ->> 'table' = 'public.zc74_events';

-- Rows in the default partition (ten years ahead: no partition yet); the
-- rescue moves them into a partition of their own.
INSERT INTO zc74_events VALUES (0, now() + interval '10 years', 'future');
SELECT pg_stat_force_next_flush();
SELECT * FROM pg_temp.mine();
SELECT value FROM zerocut.metrics() WHERE name = 'zerocut_default_partition_rows' AND labels ->> 'table' = 'public.zc74_events';
SELECT count(*) > 0 AS rescued FROM zerocut.run_maintenance('zc74_events');
SELECT pg_stat_force_next_flush();
SELECT * FROM pg_temp.mine();
SELECT value FROM zerocut.metrics() WHERE name = 'zerocut_default_partition_rows' AND labels ->> 'table' = 'public.zc74_events';

-- 3. capacity_forecast(): growth from the last three complete months; the
-- data directory's free space is readable here.
SELECT f.tbl, f.bytes_per_month > 0 AS grows,
       f.projected_bytes = (SELECT sum(pg_total_relation_size(t.relid)) FROM pg_partition_tree('zc74_events') t)
                           + 12 * f.bytes_per_month AS projected_is_now_plus_12_months,
       f.months_until_full >= 0 AS months_until_full_known
FROM zerocut.capacity_forecast() f WHERE f.tbl = 'zc74_events'::regclass;
SELECT f1.projected_bytes < f12.projected_bytes AS one_month_less
FROM zerocut.capacity_forecast(1) f1 JOIN zerocut.capacity_forecast(12) f12 USING (tbl)
WHERE f1.tbl = 'zc74_events'::regclass;

-- 4. Archive backlog: a row a day or more past the policy's cutoff (CURRENT_DATE
-- - keep) alerts; one less than a day past it only counts in the metric.
CREATE TABLE zc74_records (id integer PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE zc74_records_archive (LIKE zc74_records);
SELECT zerocut.set_archive_policy('zc74_records', 'created_at', '6 months', 'zc74_records_archive');
INSERT INTO zc74_records VALUES (1, now()), (2, (current_date - interval '6 months')::timestamptz - interval '1 hour');
SELECT * FROM pg_temp.mine();
SELECT value = 3600 AS one_hour_past FROM zerocut.metrics()
WHERE name = 'zerocut_archive_backlog_seconds' AND labels ->> 'table' = 'public.zc74_records';
INSERT INTO zc74_records VALUES (3, now() - interval '10 years');
SELECT * FROM pg_temp.mine();
SELECT rows_moved, status FROM zerocut.archive('zc74_records');
SELECT * FROM pg_temp.mine();
SELECT value FROM zerocut.metrics()
WHERE name = 'zerocut_archive_backlog_seconds' AND labels ->> 'table' = 'public.zc74_records';

-- 5. Unused large indexes ("large": unused_index_bytes, 100 MB in the view).
-- A unique index is never one; an index that was scanned is not.
CREATE TABLE zc74_plain (id integer, tag integer);
INSERT INTO zc74_plain SELECT g, g % 10 FROM generate_series(1, 100) g;
CREATE INDEX zc74_plain_tag ON zc74_plain (tag);
CREATE UNIQUE INDEX zc74_plain_id ON zc74_plain (id);
SELECT pg_stat_force_next_flush();
SELECT * FROM pg_temp.mine(unused_index_bytes => 1);
SELECT * FROM pg_temp.mine();
SELECT labels FROM zerocut.metrics() WHERE name = 'zerocut_unused_index_bytes' AND labels ->> 'index' LIKE '%zc74%';
SET enable_seqscan = off;
SELECT count(*) FROM zc74_plain WHERE tag = 1;
RESET enable_seqscan;
SELECT pg_stat_force_next_flush();
SELECT * FROM pg_temp.mine(unused_index_bytes => 1);

-- 6. Long transactions: a prepared transaction (another session would do
-- the same) open longer than the threshold; gone once rolled back.
BEGIN;
INSERT INTO zc74_records VALUES (4, now());
PREPARE TRANSACTION 'zc74 prepared';
SELECT * FROM pg_temp.mine();
SELECT * FROM pg_temp.mine(long_transaction => '0');
SELECT value > 0 AS counted FROM zerocut.metrics() WHERE name = 'zerocut_oldest_transaction_seconds';
ROLLBACK PREPARED 'zc74 prepared';
SELECT * FROM pg_temp.mine(long_transaction => '0');

-- 7. Cache hit ratio under the threshold once enough blocks were accessed:
-- every ratio is under 100 %, none under 0 %.
SELECT kind, object, severity FROM zerocut.find_alerts(cache_hit_percent => 100, cache_min_blocks => 0)
WHERE kind = 'cache_hit_ratio' AND object = 'database';
SELECT count(*) AS none FROM zerocut.find_alerts(cache_hit_percent => 0, cache_min_blocks => 0)
WHERE kind = 'cache_hit_ratio';

-- 8. A security finding (a SECURITY DEFINER function without a pinned
-- search_path) is an alert with check_security()'s fix; gone once dropped.
CREATE FUNCTION zerocut.zc74_definer() RETURNS integer LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';
REVOKE ALL ON FUNCTION zerocut.zc74_definer() FROM PUBLIC;
SELECT severity, kind, object, fix FROM zerocut.alerts WHERE object LIKE '%zc74%';
SELECT value >= 1 AS counted FROM zerocut.metrics() WHERE name = 'zerocut_security_findings' AND labels ->> 'severity' = 'high';
DROP FUNCTION zerocut.zc74_definer();
SELECT * FROM pg_temp.mine();

-- 9. A failed zerocut job (pg_cron's run history, as in sql/72_jobs.sql);
-- gone after a successful run.  Only one job is scheduled, yearly, so
-- pg_cron runs nothing during the test.
CREATE EXTENSION pg_cron;
CREATE TEMP TABLE saved_schedule AS SELECT * FROM zerocut.job_schedule;
UPDATE zerocut.job_schedule SET enabled = (jobname = 'zerocut-archive'), schedule = '0 0 1 1 *';
SELECT jobname FROM zerocut.schedule_jobs();
SELECT count(*) AS no_job_alerts FROM zerocut.alerts WHERE kind = 'job';
INSERT INTO cron.job_run_details (jobid, job_pid, database, username, command, status, return_message, start_time, end_time)
SELECT jobid, 1, current_database(), current_user, command, 'failed', 'ERROR:  zc74 boom', now(), now()
FROM cron.job WHERE jobname = 'zerocut-archive';
SELECT severity, kind, object, problem LIKE '%zc74 boom%' AS says_why FROM zerocut.alerts WHERE kind = 'job';
SELECT name, labels, value FROM zerocut.metrics() WHERE name LIKE 'zerocut_job%' ORDER BY name;
INSERT INTO cron.job_run_details (jobid, job_pid, database, username, command, status, return_message, start_time, end_time)
SELECT jobid, 2, current_database(), current_user, command, 'succeeded', 'CALL', now(), now()
FROM cron.job WHERE jobname = 'zerocut-archive';
SELECT count(*) AS no_job_alerts FROM zerocut.alerts WHERE kind = 'job';

-- 10. metrics(): the numbers behind the alerts, one flat set.
SELECT DISTINCT name FROM zerocut.metrics() ORDER BY name;
SELECT count(*) AS non_numbers FROM zerocut.metrics() WHERE value IS NULL OR value = 'NaN';

-- 11. Who may read them: pg_monitor's members, even without any right on
-- the tables (the archive backlog of a table it may not read is skipped);
-- others not at all.
INSERT INTO zc74_records VALUES (5, now() - interval '10 years');
CREATE ROLE zc74_monitor IN ROLE pg_monitor;
CREATE ROLE zc74_nobody;
SELECT count(*) AS superuser_security_counts FROM zerocut.metrics() WHERE name = 'zerocut_security_findings';
SELECT count(*) AS superuser_sees_backlog FROM zerocut.alerts WHERE kind = 'archive_backlog' AND object = 'public.zc74_records';
SET ROLE zc74_monitor;
SELECT count(*) AS monitor_sees_backlog FROM zerocut.alerts WHERE kind = 'archive_backlog' AND object = 'public.zc74_records';
SELECT count(*) >= 0 AS monitor_reads_alerts FROM zerocut.alerts;
SELECT count(*) AS monitor_job_metrics FROM zerocut.metrics() WHERE name LIKE 'zerocut_job%';
-- The security linter's findings are not pg_monitor's (check_security() is
-- not granted to it): neither alerts nor counts.
SELECT count(*) AS monitor_security_rows FROM zerocut.monitor_facts() WHERE kind = 'security';
SELECT count(*) > 0 AS monitor_reads_metrics FROM zerocut.metrics();
SELECT count(*) AS monitor_forecast FROM zerocut.capacity_forecast() WHERE tbl = 'zc74_events'::regclass;
RESET ROLE;
SET ROLE zc74_nobody;
SELECT * FROM zerocut.alerts;
RESET ROLE;
GRANT USAGE ON SCHEMA zerocut TO zc74_nobody;
SET ROLE zc74_nobody;
SELECT * FROM zerocut.alerts;
SELECT * FROM zerocut.find_alerts();
SELECT * FROM zerocut.monitor_facts();
SELECT * FROM zerocut.metrics();
SELECT * FROM zerocut.capacity_forecast();
RESET ROLE;
REVOKE USAGE ON SCHEMA zerocut FROM zc74_nobody;

-- A registry row edited by hand to a table partitioned otherwise (LIST):
-- partition_bounds() cannot read it, so it counts no partition ahead and
-- alerts, and the view still answers for every other table.
CREATE TABLE zc74_listed (ts timestamptz NOT NULL) PARTITION BY LIST (ts);
INSERT INTO zerocut.partition_config (parent, control_column) VALUES ('zc74_listed', 'ts');
SELECT severity, kind, object FROM zerocut.alerts WHERE object = 'public.zc74_listed';
SELECT count(*) > 0 AS others_still_read FROM zerocut.metrics() WHERE name = 'zerocut_partitions_ahead';
DELETE FROM zerocut.partition_config WHERE parent = 'zc74_listed'::regclass;
DROP TABLE zc74_listed;

-- Leave the database as we found it.
SELECT count(*) AS removed FROM zerocut.unschedule_jobs();
DELETE FROM zerocut.job_schedule;
INSERT INTO zerocut.job_schedule SELECT * FROM saved_schedule;
DROP TABLE saved_schedule;
DROP EXTENSION pg_cron;
DROP ROLE zc74_monitor, zc74_nobody;
DELETE FROM zerocut.partition_config WHERE parent = 'zc74_events'::regclass;
DROP TABLE zc74_records, zc74_records_archive, zc74_events, zc74_plain;
DROP FUNCTION pg_temp.mine(bigint, interval);
RESET client_min_messages;
