-- Partition manager, part 1: create_monthly_partition(), manage_partitions(),
-- run_maintenance(): bounds, names, granularities, month ends, DST, rescue
-- of default-partition rows, retention, errors.
SET client_min_messages = warning;
CREATE SCHEMA pt;
-- Runs a statement and shows its SQLSTATE and message instead of failing.
CREATE FUNCTION pt.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE VIEW pt.parts AS
SELECT i.inhparent::regclass AS parent, c.oid::regclass AS partition, pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE c.relnamespace = 'pt'::regnamespace;

-- create_monthly_partition: whole months, <table>_YYYY_MM in the parent's schema.
CREATE TABLE pt.usage_stats (id bigserial, date date NOT NULL, calls int NOT NULL DEFAULT 0,
                             PRIMARY KEY (id, date)) PARTITION BY RANGE (date);
SELECT zerocut.create_monthly_partition('pt.usage_stats', '2024-01-15');   -- mid-month
SELECT zerocut.create_monthly_partition('pt.usage_stats', '2024-02-29');   -- leap day
SELECT zerocut.create_monthly_partition('pt.usage_stats', '2023-12-31');   -- year end
SELECT zerocut.create_monthly_partition('pt.usage_stats', '2024-01-01');   -- identical: returned, not an error
SELECT partition, bound FROM pt.parts WHERE parent = 'pt.usage_stats'::regclass ORDER BY bound;
-- Unqualified names follow search_path; quoted names keep their case.
SET search_path = pt, public;
SELECT zerocut.create_monthly_partition('usage_stats', '2024-03-03');
RESET search_path;
CREATE TABLE pt."Odd Name" (at timestamp NOT NULL) PARTITION BY RANGE (at);
SELECT zerocut.create_monthly_partition('pt."Odd Name"', '2024-05-20');
SELECT bound FROM pt.parts WHERE parent = 'pt."Odd Name"'::regclass;

-- Rows waiting in the default partition move into the new partition in the
-- same transaction instead of making creation fail.
CREATE TABLE pt.usage_stats_default PARTITION OF pt.usage_stats DEFAULT;
INSERT INTO pt.usage_stats (date, calls) SELECT DATE '2023-06-01' + g, g FROM generate_series(0, 44) g;
SELECT count(*) AS rows_in_default FROM ONLY pt.usage_stats_default;
SELECT zerocut.create_monthly_partition('pt.usage_stats', '2023-06-10');
SELECT (SELECT count(*) FROM ONLY pt.usage_stats_2023_06) AS june_rows,
       (SELECT count(*) FROM ONLY pt.usage_stats_default) AS left_in_default,
       (SELECT sum(calls) FROM pt.usage_stats) = (SELECT sum(g) FROM generate_series(0, 44) g) AS no_row_lost;
SELECT level, message, metadata->>'detail' AS detail FROM audit_log.system_log
WHERE metadata->>'partition' = 'pt.usage_stats_2023_06';

-- Rows are never moved out from under foreign keys that point at the parent
-- (the DELETE could cascade): a clear error instead, nothing changed.
CREATE TABLE pt.usage_ref (usage_id bigint, usage_date date, FOREIGN KEY (usage_id, usage_date) REFERENCES pt.usage_stats ON DELETE CASCADE);
INSERT INTO pt.usage_ref SELECT id, date FROM pt.usage_stats WHERE date >= '2023-07-01';
SELECT pt.try($$SELECT zerocut.create_monthly_partition('pt.usage_stats', '2023-07-01')$$);
SELECT count(*) AS refs_kept, (SELECT count(*) FROM ONLY pt.usage_stats_default) AS still_in_default FROM pt.usage_ref;
DROP TABLE pt.usage_ref;

-- timestamptz: boundaries in zerocut.partition_timezone, also across DST.
CREATE TABLE pt.events (id bigint NOT NULL, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SET zerocut.partition_timezone = 'America/New_York';
SELECT zerocut.create_monthly_partition('pt.events', '2024-03-10');   -- EST -> EDT inside March
SELECT zerocut.create_monthly_partition('pt.events', '2024-11-30');   -- EDT -> EST inside November
RESET zerocut.partition_timezone;
SELECT zerocut.create_monthly_partition('pt.events', '2024-06-01');   -- UTC
SET TimeZone = 'Asia/Tokyo';   -- the session's zone changes nothing
SELECT zerocut.create_monthly_partition('pt.events', '2024-07-01');
RESET TimeZone;
SELECT partition, bound FROM pt.parts WHERE parent = 'pt.events'::regclass ORDER BY bound;
SELECT pt.try($$SET zerocut.partition_timezone = 'Mars/Olympus'$$) AS bad_zone;

-- Errors: clear, SQLSTATE fitting, argument named, nothing created.
CREATE TABLE pt.plain (d date);
CREATE TABLE pt.listed (d date) PARTITION BY LIST (d);
CREATE TABLE pt.two_cols (a date, b date) PARTITION BY RANGE (a, b);
CREATE TABLE pt.by_int (n int) PARTITION BY RANGE (n);
CREATE TABLE pt.overlapping (d date) PARTITION BY RANGE (d);
CREATE TABLE pt.overlapping_mid PARTITION OF pt.overlapping FOR VALUES FROM ('2024-01-15') TO ('2024-02-15');
CREATE TABLE pt.usage_stats_2024_09 (x int);   -- the name, taken by an unrelated table
SELECT count(*) AS relations_before FROM pg_class \gset
SELECT pt.try($$SELECT zerocut.create_monthly_partition(NULL, '2024-01-01')$$);
SELECT pt.try($$SELECT zerocut.create_monthly_partition('pt.usage_stats', NULL)$$);
SELECT pt.try($$SELECT zerocut.create_monthly_partition('pt.nope', '2024-01-01')$$);
SELECT pt.try($$SELECT zerocut.create_monthly_partition('nope.usage_stats', '2024-01-01')$$);
SELECT pt.try($$SELECT zerocut.create_monthly_partition('x"; DROP TABLE pt.plain; --', '2024-01-01')$$);
SELECT pt.try($$SELECT zerocut.create_monthly_partition('', '2024-01-01')$$);
SELECT pt.try($$SELECT zerocut.create_monthly_partition('a.b.c', '2024-01-01')$$);
SELECT pt.try($$SELECT zerocut.create_monthly_partition('pt.plain', '2024-01-01')$$);
SELECT pt.try($$SELECT zerocut.create_monthly_partition('pt.listed', '2024-01-01')$$);
SELECT pt.try($$SELECT zerocut.create_monthly_partition('pt.two_cols', '2024-01-01')$$);
SELECT pt.try($$SELECT zerocut.create_monthly_partition('pt.by_int', '2024-01-01')$$);
SELECT pt.try($$SELECT zerocut.create_monthly_partition('pt.overlapping', '2024-01-01')$$);
SELECT pt.try($$SELECT zerocut.create_monthly_partition('pt.usage_stats', '2024-09-01')$$);
SELECT pt.try($$SELECT zerocut.create_monthly_partition('pt.usage_stats', 'infinity')$$);
SELECT pt.try($$SELECT zerocut.create_monthly_partition('pt.usage_stats', '9999-12-01')$$);
SELECT pt.try($$SELECT zerocut.create_monthly_partition('pt.usage_stats', '0044-03-15 BC')$$);
SELECT count(*) = :relations_before AS nothing_created, to_regclass('pt.plain') IS NOT NULL AS plain_still_there
FROM pg_class;

-- manage_partitions: default partition plus every period from the start
-- through now + premake; the start is the oldest row when not given.
CREATE TABLE pt.metrics (id bigint NOT NULL, day date NOT NULL) PARTITION BY RANGE (day);
CREATE TABLE pt.metrics_default PARTITION OF pt.metrics DEFAULT;
INSERT INTO pt.metrics SELECT g, (date_trunc('month', now()) - interval '2 months')::date + g FROM generate_series(0, 9) g;
SELECT zerocut.manage_partitions('pt.metrics', 'day', premake => 2);
SELECT count(*) AS partitions,
       count(*) FILTER (WHERE bound = 'DEFAULT') AS defaults,
       (SELECT count(*) FROM ONLY pt.metrics_default) AS left_in_default,
       (SELECT count(*) FROM pt.metrics) AS rows_kept
FROM pt.parts WHERE parent = 'pt.metrics'::regclass;
-- Names and bounds follow the calendar: months -2 .. +2 around now.
SELECT count(*) AS expected_names_present
FROM generate_series(-2, 2) k
JOIN pt.parts p ON p.partition::text = 'pt.metrics_' || to_char(date_trunc('month', now()) + make_interval(months => k), 'YYYY_MM')
 AND p.bound = format('FOR VALUES FROM (%L) TO (%L)', (date_trunc('month', now()) + make_interval(months => k))::date,
                      (date_trunc('month', now()) + make_interval(months => k + 1))::date);
SELECT parent, control_column, granularity, premake, retention, retention_action, time_zone
FROM zerocut.partition_config WHERE parent = 'pt.metrics'::regclass;
-- Registering again is idempotent: nothing new.
CREATE TEMP TABLE parts_before AS SELECT * FROM pt.parts;
SELECT zerocut.manage_partitions('pt.metrics', 'day', premake => 2);
SELECT NOT EXISTS (SELECT * FROM pt.parts EXCEPT SELECT * FROM parts_before)
   AND NOT EXISTS (SELECT * FROM parts_before EXCEPT SELECT * FROM pt.parts) AS unchanged;
-- Nothing to do: run_maintenance() returns no rows.
SELECT * FROM zerocut.run_maintenance('pt.metrics');
-- Rows for a month with no partition land in the default partition; the
-- next run makes their partition (any bound, past included) and moves them.
INSERT INTO pt.metrics VALUES (100, '2019-07-04'), (101, '2019-07-31'), (102, '2019-08-01');
SELECT action, partition, detail FROM zerocut.run_maintenance('pt.metrics') ORDER BY partition;
SELECT (SELECT count(*) FROM ONLY pt.metrics_default) AS left_in_default,
       (SELECT count(*) FROM pt.metrics_2019_07) AS july_2019, (SELECT count(*) FROM pt.metrics_2019_08) AS aug_2019;
-- Partitions ahead are made whether or not data arrives: drop the newest
-- and the next run brings it back.
DROP TABLE pt.metrics_default;
DO $$ BEGIN EXECUTE format('DROP TABLE pt.metrics_%s', to_char(now() + interval '2 months', 'YYYY_MM')); END $$;
SELECT action, partition = 'pt.metrics_' || to_char(now() + interval '2 months', 'YYYY_MM') OR action = 'create_default' AS expected
FROM zerocut.run_maintenance('pt.metrics') ORDER BY action;
SELECT last_outcome, last_maintenance_at > now() - interval '1 minute' AS recent
FROM zerocut.partition_config WHERE parent = 'pt.metrics'::regclass;

-- Granularities: day, week (ISO, Monday), quarter, year.
CREATE TABLE pt.g_day (t timestamptz NOT NULL) PARTITION BY RANGE (t);
CREATE TABLE pt.g_week (d date NOT NULL) PARTITION BY RANGE (d);
CREATE TABLE pt.g_quarter (d date NOT NULL) PARTITION BY RANGE (d);
CREATE TABLE pt.g_year (t timestamp NOT NULL) PARTITION BY RANGE (t);
SELECT zerocut.manage_partitions('pt.g_day', 't', 'day', 2);
SELECT zerocut.manage_partitions('pt.g_week', 'd', 'week', 1);
SELECT zerocut.manage_partitions('pt.g_quarter', 'd', 'quarter', 1);
SELECT zerocut.manage_partitions('pt.g_year', 't', 'year', 1);
SELECT parent, count(*) FILTER (WHERE bound <> 'DEFAULT') AS partitions,
       bool_and(bound = 'DEFAULT' OR partition::text ~ CASE parent::text
           WHEN 'pt.g_day' THEN '^pt\.g_day_\d{4}_\d{2}_\d{2}$'
           WHEN 'pt.g_week' THEN '^pt\.g_week_\d{4}_w\d{2}$'
           WHEN 'pt.g_quarter' THEN '^pt\.g_quarter_\d{4}_q[1-4]$'
           ELSE '^pt\.g_year_\d{4}$' END) AS names_ok
FROM pt.parts WHERE parent::text LIKE 'pt.g\_%' GROUP BY parent ORDER BY parent;
-- "Now" in zerocut.partition_timezone (UTC), not in the session's zone:
-- pg_regress runs in PST8PDT, a day behind UTC for eight hours a day.
SELECT bound = format('FOR VALUES FROM (%L) TO (%L)', date_trunc('week', now() AT TIME ZONE 'UTC')::date, (date_trunc('week', now() AT TIME ZONE 'UTC') + interval '7 days')::date) AS this_week_from_monday
FROM pt.parts WHERE partition::text = 'pt.g_week_' || to_char(now() AT TIME ZONE 'UTC', 'IYYY_"w"IW');
SELECT bound = format('FOR VALUES FROM (%L) TO (%L)', date_trunc('quarter', now() AT TIME ZONE 'UTC')::date, (date_trunc('quarter', now() AT TIME ZONE 'UTC') + interval '3 months')::date) AS this_quarter
FROM pt.parts WHERE partition::text = 'pt.g_quarter_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_"q"Q');
SELECT bound = format('FOR VALUES FROM (%L) TO (%L)', date_trunc('day', now(), 'UTC'), date_trunc('day', now(), 'UTC') + interval '24 hours') AS today_utc
FROM pt.parts WHERE partition::text = 'pt.g_day_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM_DD');

-- Retention: partitions entirely older than now - retention.
CREATE TABLE pt.r_detach (d date NOT NULL) PARTITION BY RANGE (d);
CREATE TABLE pt.r_drop (t timestamptz NOT NULL) PARTITION BY RANGE (t);
CREATE TABLE pt.r_archive (d date NOT NULL) PARTITION BY RANGE (d);
SELECT zerocut.manage_partitions('pt.r_detach', 'd', 'month', 1, '12 months', 'detach', (now() - interval '24 months')::date);
SELECT zerocut.manage_partitions('pt.r_drop', 't', 'month', 1, '12 months', 'drop', (now() - interval '24 months')::date);
SELECT zerocut.manage_partitions('pt.r_archive', 'd', 'month', 1, '1 month', 'archive', '2020-01-01');
SELECT parent, partitions, retention_due FROM zerocut.partition_health WHERE parent::text IN ('pt.r_detach', 'pt.r_drop') ORDER BY parent;
SELECT parent, action, count(*) FROM zerocut.run_maintenance('pt.r_detach') GROUP BY 1, 2;
SELECT parent, action, count(*) FROM zerocut.run_maintenance('pt.r_drop') GROUP BY 1, 2;
-- Detached partitions stay as standalone tables; dropped ones are gone.
SELECT count(*) AS detached_tables_kept FROM pg_class
WHERE relnamespace = 'pt'::regnamespace AND relname LIKE 'r\_detach\_%' AND relkind = 'r' AND NOT relispartition;
SELECT count(*) AS dropped_tables_left FROM pg_class
WHERE relnamespace = 'pt'::regnamespace AND relname LIKE 'r\_drop\_%' AND relkind = 'r' AND NOT relispartition;
SELECT parent, partitions, retention_due FROM zerocut.partition_health WHERE parent::text IN ('pt.r_detach', 'pt.r_drop') ORDER BY parent;
-- 'archive' hands each due partition to the archive capability's
-- zerocut.archive_partition(regclass): metadata only, into pt_archive.r_archive_archive.
SELECT retention_due AS due_before FROM zerocut.partition_health WHERE parent = 'pt.r_archive'::regclass \gset
SELECT action, count(*) = :due_before AS one_per_due_partition,
       bool_and(detail LIKE 'older than the retention; archived: pt.r\_archive\_20%') AS archived
FROM zerocut.run_maintenance('pt.r_archive') GROUP BY action;
SELECT retention_due AS still_due, partitions AS left_in_source FROM zerocut.partition_health WHERE parent = 'pt.r_archive'::regclass;
SELECT count(*) = :due_before AS all_in_archive FROM pg_inherits WHERE inhparent = 'pt_archive.r_archive_archive'::regclass;
DELETE FROM zerocut.partition_config WHERE parent = 'pt.r_archive'::regclass;
-- A dropped parent's configuration is forgotten by the next run.
CREATE TABLE pt.gone (d date NOT NULL) PARTITION BY RANGE (d);
SELECT zerocut.manage_partitions('pt.gone', 'd', premake => 0);
SELECT oid AS gone_oid FROM pg_class WHERE oid = 'pt.gone'::regclass \gset
DROP TABLE pt.gone;
SELECT parent::oid = :gone_oid AS same_parent, action, detail FROM zerocut.run_maintenance() WHERE action = 'forget';
SELECT count(*) AS gone_configs FROM zerocut.partition_config WHERE parent::oid = :gone_oid;
-- run_maintenance(): partitions already registered only.
SELECT pt.try($$SELECT * FROM zerocut.run_maintenance('pt.plain')$$);
SELECT pt.try($$SELECT * FROM zerocut.run_maintenance(0)$$);

-- manage_partitions errors.
CREATE TABLE pt.m (d date NOT NULL, n int) PARTITION BY RANGE (d);
SELECT pt.try($$SELECT zerocut.manage_partitions(NULL, 'd')$$);
SELECT pt.try($$SELECT zerocut.manage_partitions('pt.m', NULL)$$);
SELECT pt.try($$SELECT zerocut.manage_partitions('pt.m', 'n')$$);
SELECT pt.try($$SELECT zerocut.manage_partitions('pt.m', 'x"; DROP TABLE pt.m; --')$$);
SELECT pt.try($$SELECT zerocut.manage_partitions('pt.m', 'd', 'fortnight')$$);
SELECT pt.try($$SELECT zerocut.manage_partitions('pt.m', 'd', NULL)$$);
SELECT pt.try($$SELECT zerocut.manage_partitions('pt.m', 'd', 'month', -1)$$);
SELECT pt.try($$SELECT zerocut.manage_partitions('pt.m', 'd', 'month', 1001)$$);
SELECT pt.try($$SELECT zerocut.manage_partitions('pt.m', 'd', 'month', 3, '-1 day')$$);
SELECT pt.try($$SELECT zerocut.manage_partitions('pt.m', 'd', 'month', 3, '0')$$);
SELECT pt.try($$SELECT zerocut.manage_partitions('pt.m', 'd', 'month', 3, NULL, 'delete')$$);
SELECT pt.try($$SELECT zerocut.manage_partitions('pt.m', 'd', 'month', 3, NULL, 'detach', 'infinity')$$);
SELECT pt.try($$SELECT zerocut.manage_partitions('pt.m', 'd', 'day', 3, NULL, 'detach', '1900-01-01')$$);
SELECT pt.try($$SELECT zerocut.manage_partitions('pt.plain', 'd')$$);
SELECT pt.try($$SELECT zerocut.manage_partitions('pt.listed', 'd')$$);
SELECT (SELECT count(*) FROM pt.parts WHERE parent = 'pt.m'::regclass) AS m_partitions,
       (SELECT count(*) FROM zerocut.partition_config WHERE parent = 'pt.m'::regclass) AS m_registered,
       to_regclass('pt.m') IS NOT NULL AS m_still_there;

-- Clean up.
DELETE FROM zerocut.partition_config WHERE parent::text LIKE 'pt.%';
DELETE FROM audit_log.system_log WHERE metadata->>'capability' = 'partitions';
DROP SCHEMA pt CASCADE;
DROP SCHEMA pt_archive CASCADE;
