-- Partition manager, part 3: one failing parent does not stop the others;
-- settings are validated when set (retention vs the archive policy's keep,
-- sane ranges, granularity changes); periods ending on 9999-01-01.
SET client_min_messages = warning;
CREATE SCHEMA ps;
CREATE FUNCTION ps.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- 1. A bad parent is isolated.  ps.a's retention (2 months, archive) is
-- shorter than its archive policy's keep (1 year, written straight into
-- the table as an older install or a direct INSERT could): archiving its
-- old partitions fails with 22023.  ps.b lacks a premade partition.
CREATE TABLE ps.a (d date NOT NULL, v int) PARTITION BY RANGE (d);
CREATE TABLE ps.b (d date NOT NULL, v int) PARTITION BY RANGE (d);
SELECT zerocut.manage_partitions('ps.a', 'd', 'month', 1, interval '2 months', 'archive',
                                 (CURRENT_DATE - interval '5 months')::date);
SELECT zerocut.manage_partitions('ps.b', 'd', 'month', 2);
INSERT INTO zerocut.archive_policy (source_schema, source_table, time_column, keep, target_schema, target_table)
VALUES ('ps', 'a', 'd', '1 year', 'ps_archive', 'a_archive');
DO $$ BEGIN  -- drop ps.b's newest partition
    EXECUTE (SELECT format('DROP TABLE %s', max(c.oid::regclass::text))
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'ps.b'::regclass AND c.relname <> 'b_default');
END $$;
SET client_min_messages = error;  -- the WARNING names dates
SELECT parent, action, partition IS NOT NULL AS has_partition,
       CASE WHEN action = 'error' THEN detail LIKE '22023: %ps.a\_%'
       END AS error_detail
FROM zerocut.run_maintenance() WHERE parent::text LIKE 'ps.%' ORDER BY parent::text, action;
SET client_min_messages = warning;
-- Its outcome says so (was "ok" while every run failed) ...
SELECT parent, split_part(last_outcome, ':', 1) AS outcome, last_outcome LIKE 'error: 22023: %' AS with_sqlstate
FROM zerocut.partition_health WHERE parent::text LIKE 'ps.%' ORDER BY parent::text;
-- ... and the log has it at ERROR level (the rolled-back work left no row).
SELECT metadata->>'parent' AS parent, level, metadata->>'action' AS action, count(*) FROM audit_log.system_log
WHERE metadata->>'capability' = 'partitions' AND metadata->>'parent' IN ('ps.a', 'ps.b') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SELECT message FROM audit_log.system_log WHERE level = 'ERROR' AND metadata->>'parent' = 'ps.a';
-- The procedure goes on past it too.
UPDATE zerocut.partition_config SET last_outcome = NULL WHERE parent::text LIKE 'ps.%';
SET client_min_messages = error;
CALL zerocut.run_maintenance_proc();
SET client_min_messages = warning;
SELECT parent, split_part(last_outcome, ':', 1) AS outcome FROM zerocut.partition_config
WHERE parent::text LIKE 'ps.%' ORDER BY parent::text;

-- 2. Retention is checked against the archive policy's keep when set, on
-- today's UTC date; nothing changes when refused.
SELECT ps.try($$SELECT zerocut.manage_partitions('ps.a', 'd', 'month', 1, interval '2 months', 'archive')$$);
SELECT ps.try($$SELECT zerocut.manage_partitions('ps.a', 'd', 'month', 1, interval '11 months', 'drop')$$);
SELECT retention, retention_action FROM zerocut.partition_config WHERE parent = 'ps.a'::regclass;
SELECT ps.try($$SELECT zerocut.manage_partitions('ps.a', 'd', 'month', 1, interval '1 year', 'archive')$$);
SELECT retention FROM zerocut.partition_config WHERE parent = 'ps.a'::regclass;
-- Equal retention and keep: fine in UTC; one more day needed in a zone
-- west (or east) of UTC, where local and UTC midnights differ.
CREATE TABLE ps.u (t timestamptz NOT NULL) PARTITION BY RANGE (t);
CREATE TABLE ps.w (t timestamptz NOT NULL) PARTITION BY RANGE (t);
INSERT INTO zerocut.archive_policy (source_schema, source_table, time_column, keep, target_schema, target_table)
VALUES ('ps', 'u', 't', '3 months', 'ps_archive', 'u_archive'), ('ps', 'w', 't', '3 months', 'ps_archive', 'w_archive');
SELECT ps.try($$SELECT zerocut.manage_partitions('ps.u', 't', 'month', 1, interval '3 months', 'archive')$$);
SET zerocut.partition_timezone = 'America/New_York';
SELECT ps.try($$SELECT zerocut.manage_partitions('ps.w', 't', 'month', 1, interval '3 months', 'archive')$$);
SELECT count(*) AS w_registered FROM zerocut.partition_config WHERE parent = 'ps.w'::regclass;
SELECT ps.try($$SELECT zerocut.manage_partitions('ps.w', 't', 'month', 1, interval '3 months 1 day', 'archive')$$);
RESET zerocut.partition_timezone;
-- A time of day in the intervals moves the cutoffs off midnight: equal
-- retention and keep need a day's margin in UTC too.
CREATE TABLE ps.h (t timestamptz NOT NULL) PARTITION BY RANGE (t);
INSERT INTO zerocut.archive_policy (source_schema, source_table, time_column, keep, target_schema, target_table)
VALUES ('ps', 'h', 't', '3 months 12:00', 'ps_archive', 'h_archive');
SELECT ps.try($$SELECT zerocut.manage_partitions('ps.h', 't', 'month', 1, interval '3 months 12:00', 'archive')$$);
SELECT ps.try($$SELECT zerocut.manage_partitions('ps.h', 't', 'month', 1, interval '3 months 1 day 12:00', 'archive')$$);
-- The stored zone counts, not the session's.
SELECT ps.try($$SELECT zerocut.manage_partitions('ps.w', 't', 'month', 1, interval '3 months', 'archive')$$);
SELECT parent, time_zone, retention FROM zerocut.partition_config WHERE parent IN ('ps.u'::regclass, 'ps.w'::regclass)
ORDER BY parent::text;

-- Other settings: finite, sane ranges, named argument, nothing changed.
SELECT ps.try($$SELECT zerocut.manage_partitions('ps.b', 'd', 'month', 2, interval '0')$$);
SELECT ps.try($$SELECT zerocut.manage_partitions('ps.b', 'd', 'month', 2, interval '-1 month')$$);
SELECT ps.try($$SELECT zerocut.manage_partitions('ps.b', 'd', 'month', 2, interval '2 months -40 days')$$);
SELECT ps.try($$SELECT zerocut.manage_partitions('ps.b', 'd', 'month', 2, interval '178000000 years')$$);
SELECT ps.try($$SELECT zerocut.manage_partitions('ps.b', 'd', 'month', -1)$$);
SELECT ps.try($$SELECT zerocut.manage_partitions('ps.b', 'd', 'month', 1001)$$);
SELECT retention, premake FROM zerocut.partition_config WHERE parent = 'ps.b'::regclass;

-- 3. Changing the granularity: refused when the new periods overlap the
-- existing partitions (was accepted, then a conflict logged on every run).
CREATE TABLE ps.q (d date NOT NULL) PARTITION BY RANGE (d);
SELECT zerocut.manage_partitions('ps.q', 'd', 'quarter', 1);
-- (years and the quarter that overlaps first depend on today: masked)
SELECT regexp_replace(regexp_replace(ps.try($$SELECT zerocut.manage_partitions('ps.q', 'd', 'year', 1)$$),
                                     '[0-9]{4}', 'YYYY', 'g'), '_q[1-4]', '_qN', 'g')
       AS change_to_year;
SELECT granularity, (SELECT count(*) FROM pg_inherits WHERE inhparent = 'ps.q'::regclass) AS partitions
FROM zerocut.partition_config WHERE parent = 'ps.q'::regclass;
SELECT count(*) AS conflicts_logged FROM audit_log.system_log
WHERE metadata->>'capability' = 'partitions' AND metadata->>'parent' = 'ps.q' AND metadata->>'action' = 'conflict';
-- Without overlapping partitions the change is fine.
CREATE TABLE ps.e (d date NOT NULL) PARTITION BY RANGE (d);
SELECT zerocut.manage_partitions('ps.e', 'd', 'quarter', 0);
DO $$ BEGIN  -- drop its one quarter
    EXECUTE (SELECT format('DROP TABLE %s', c.oid::regclass) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'ps.e'::regclass AND c.relname <> 'e_default');
END $$;
SELECT zerocut.manage_partitions('ps.e', 'd', 'year', 0);
SELECT granularity, (SELECT count(*) FROM pg_inherits WHERE inhparent = 'ps.e'::regclass) AS partitions
FROM zerocut.partition_config WHERE parent = 'ps.e'::regclass;

-- 4. The last month that can be made ends on 9999-01-01 (was refused with
-- "years 1 to 9998" for a date inside that range).
CREATE TABLE ps.m (d date NOT NULL) PARTITION BY RANGE (d);
SELECT zerocut.create_monthly_partition('ps.m', '9998-12-31');
SELECT pg_get_expr(relpartbound, oid) AS bound FROM pg_class WHERE oid = 'ps.m_9998_12'::regclass;
SELECT ps.try($$SELECT zerocut.create_monthly_partition('ps.m', '9999-01-01')$$);
SELECT ps.try($$SELECT zerocut.create_monthly_partition('ps.m', '0001-01-01')$$);

-- 5. Rows waiting in the default partition move before the parent's
-- ACCESS EXCLUSIVE lock into a standalone table (the parent's indexes, a
-- CHECK matching the bound), which is then attached: nothing is left
-- behind, the indexes are attached, not duplicated, the CHECK is gone.
CREATE TABLE ps.r (id int NOT NULL, d date NOT NULL, v text, PRIMARY KEY (id, d)) PARTITION BY RANGE (d);
CREATE INDEX r_v ON ps.r (v);
SELECT zerocut.manage_partitions('ps.r', 'd', 'month', 1);
INSERT INTO ps.r SELECT g, (date_trunc('month', now()) - interval '14 months')::date + g % 40, 'v' || g
FROM generate_series(1, 100) g;
SELECT count(*) AS in_default FROM ONLY ps.r_default;
SELECT action, count(*), sum(substring(detail FROM 'moved ([0-9]+) rows')::int) AS moved
FROM zerocut.run_maintenance('ps.r') GROUP BY action;
SELECT (SELECT count(*) FROM ONLY ps.r_default) AS in_default, (SELECT count(*) FROM ps.r) AS total,
       (SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'ps'::regnamespace AND c.relname LIKE 'r\_%'
          AND c.relkind = 'r' AND NOT c.relispartition) AS standalone_left,
       (SELECT count(*) FROM pg_constraint WHERE connamespace = 'ps'::regnamespace AND conname LIKE '%rescue_bound')
          AS checks_left;
-- Every partition has exactly one index per parent index, attached to it.
SELECT p.indexrelid::regclass AS parent_index, count(DISTINCT x.indrelid) AS partitions_with_it,
       count(*) AS attached
FROM pg_index p JOIN pg_inherits i ON i.inhparent = p.indexrelid JOIN pg_index x ON x.indexrelid = i.inhrelid
WHERE p.indrelid = 'ps.r'::regclass GROUP BY 1 ORDER BY p.indexrelid::regclass::text;
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'ps.r'::regclass;
SELECT count(*) AS indexes_on_partitions FROM pg_index x JOIN pg_inherits i ON i.inhrelid = x.indrelid
WHERE i.inhparent = 'ps.r'::regclass;

-- 6. partition_bounds(): each partition's bounds as instants, read from the
-- catalog; the same as deparsing them with pg_get_expr() (what
-- partition_health does); date and timestamp bounds are local times in
-- the time zone given, timestamptz bounds do not depend on it.
CREATE TABLE ps.bz (t timestamptz NOT NULL) PARTITION BY RANGE (t);
CREATE TABLE ps.bz_a PARTITION OF ps.bz FOR VALUES FROM ('2024-01-01 00:00+00') TO ('2024-02-01 00:00+00');
CREATE TABLE ps.bz_lo PARTITION OF ps.bz FOR VALUES FROM (MINVALUE) TO ('2024-01-01 00:00+00');
CREATE TABLE ps.bz_hi PARTITION OF ps.bz FOR VALUES FROM ('2024-02-01 00:00+00') TO (MAXVALUE);
CREATE TABLE ps.bz_d PARTITION OF ps.bz DEFAULT;
CREATE TABLE ps.bl (t timestamp NOT NULL) PARTITION BY RANGE (t);
CREATE TABLE ps.bl_a PARTITION OF ps.bl FOR VALUES FROM ('2024-03-31') TO ('2024-04-01');
CREATE TABLE ps.bl_b PARTITION OF ps.bl FOR VALUES FROM ('1999-12-31 23:00') TO ('2024-03-31');
CREATE TABLE ps.bd (d date NOT NULL) PARTITION BY RANGE (d);
CREATE TABLE ps.bd_a PARTITION OF ps.bd FOR VALUES FROM ('1969-07-20') TO ('2024-07-01');
CREATE TABLE ps.bd_b PARTITION OF ps.bd FOR VALUES FROM ('2024-07-01') TO ('9999-01-01');
SELECT b.partition, b.is_default, b.lower_at AT TIME ZONE 'UTC' AS lower_utc, b.upper_at AT TIME ZONE 'UTC' AS upper_utc
FROM (VALUES ('ps.bz'::regclass), ('ps.bl'), ('ps.bd')) t(parent)
CROSS JOIN zerocut.partition_bounds(t.parent, 'Europe/Berlin') b
ORDER BY b.partition::text;
SELECT count(*) AS partitions,
       count(*) FILTER (WHERE b.lower_at IS NOT DISTINCT FROM
                              CASE WHEN t.zoned THEN substring(e.bound, $re$^FOR VALUES FROM \('([^']*)'\)$re$)::timestamptz
                                   ELSE substring(e.bound, $re$^FOR VALUES FROM \('([^']*)'\)$re$)::timestamp
                                        AT TIME ZONE 'America/Sao_Paulo' END
                          AND b.upper_at IS NOT DISTINCT FROM
                              CASE WHEN t.zoned THEN substring(e.bound, $re$ TO \('([^']*)'\)$$re$)::timestamptz
                                   ELSE substring(e.bound, $re$ TO \('([^']*)'\)$$re$)::timestamp
                                        AT TIME ZONE 'America/Sao_Paulo' END) AS as_pg_get_expr
FROM (VALUES ('ps.bz'::regclass, true), ('ps.bl', false), ('ps.bd', false)) t(parent, zoned)
CROSS JOIN zerocut.partition_bounds(t.parent, 'America/Sao_Paulo') b
CROSS JOIN LATERAL (SELECT pg_get_expr(k.relpartbound, k.oid) AS bound FROM pg_class k WHERE k.oid = b.partition) e;
-- A table without partitions, one dropped meanwhile (a bare OID): no rows.
CREATE TABLE ps.bn (d date NOT NULL) PARTITION BY RANGE (d);
SELECT count(*) AS no_partitions FROM zerocut.partition_bounds('ps.bn');
SELECT count(*) AS dropped FROM zerocut.partition_bounds(4294967295::oid::regclass);
-- Bad arguments, named.
CREATE TABLE ps.bplain (d date);
CREATE TABLE ps.blist (d date NOT NULL) PARTITION BY LIST (d);
CREATE TABLE ps.bint (n int NOT NULL) PARTITION BY RANGE (n);
CREATE TABLE ps.btwo (d date NOT NULL, e date NOT NULL) PARTITION BY RANGE (d, e);
CREATE TABLE ps.bexpr (t timestamp NOT NULL) PARTITION BY RANGE ((t::date));
SELECT ps.try('SELECT zerocut.partition_bounds(NULL)');
SELECT ps.try('SELECT zerocut.partition_bounds(''ps.bz'', NULL)');
SELECT ps.try('SELECT zerocut.partition_bounds(''ps.bz'', ''Mars/Olympus'')');
SELECT ps.try('SELECT zerocut.partition_bounds(''ps.bplain'')');
SELECT ps.try('SELECT zerocut.partition_bounds(''ps.bz_a'')');
SELECT ps.try('SELECT zerocut.partition_bounds(''ps.blist'')');
SELECT ps.try('SELECT zerocut.partition_bounds(''ps.bint'')');
SELECT ps.try('SELECT zerocut.partition_bounds(''ps.btwo'')');
SELECT ps.try('SELECT zerocut.partition_bounds(''ps.bexpr'')');
-- pg_monitor's (and superusers'), not PUBLIC's.
SELECT has_function_privilege('public', 'zerocut.partition_bounds(regclass,text)', 'EXECUTE') AS public_may,
       has_function_privilege('pg_monitor', 'zerocut.partition_bounds(regclass,text)', 'EXECUTE') AS pg_monitor_may;

-- Clean up.
DELETE FROM zerocut.archive_policy WHERE source_schema = 'ps';
DELETE FROM zerocut.partition_config WHERE parent::text LIKE 'ps.%';
DELETE FROM audit_log.system_log WHERE metadata->>'capability' = 'partitions';
DROP SCHEMA ps CASCADE;
