-- This part: the partition manager (docs/partitions.md).

CREATE TABLE zerocut.partition_config (
    parent              regclass PRIMARY KEY,
    control_column      name NOT NULL,
    granularity         text NOT NULL DEFAULT 'month'
                        CHECK (granularity IN ('day', 'week', 'month', 'quarter', 'year')),
    premake             integer NOT NULL DEFAULT 3 CHECK (premake BETWEEN 0 AND 1000),
    retention           interval CHECK (retention > interval '0'),
    retention_action    text NOT NULL DEFAULT 'detach' CHECK (retention_action IN ('detach', 'drop', 'archive')),
    time_zone           text NOT NULL DEFAULT 'UTC',
    start_date          date,
    registered_at       timestamptz NOT NULL DEFAULT now(),
    last_maintenance_at timestamptz,
    last_outcome        text
);
COMMENT ON TABLE zerocut.partition_config IS
    'Parents managed by zerocut''s partition manager (one row per parent; kept by pg_dump); written by manage_partitions() and run_maintenance()';
SELECT pg_catalog.pg_extension_config_dump('zerocut.partition_config', '');

CREATE FUNCTION zerocut.create_monthly_partition(table_name text, start_date date) RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_create_monthly_partition';
COMMENT ON FUNCTION zerocut.create_monthly_partition(text, date) IS
    'Creates (or returns, when an identical one exists) the partition <table>_YYYY_MM for the whole month containing start_date, moving that month''s rows out of the default partition; returns its qualified name';
REVOKE ALL ON FUNCTION zerocut.create_monthly_partition(text, date) FROM PUBLIC;

CREATE FUNCTION zerocut.manage_partitions(parent regclass, control_column name, granularity text DEFAULT 'month',
                                          premake integer DEFAULT 3, retention interval DEFAULT NULL,
                                          retention_action text DEFAULT 'detach', start_date date DEFAULT NULL)
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_manage_partitions';
COMMENT ON FUNCTION zerocut.manage_partitions(regclass, name, text, integer, interval, text, date) IS
    'Registers a RANGE-partitioned parent for maintenance and creates its default partition and every partition from the start (given, oldest row, or now) through now + premake; refuses a retention that is not a positive interval of at most 1000 years or is shorter than the table''s archive policy keep (docs/partitions.md), and a granularity change overlapping existing partitions';
REVOKE ALL ON FUNCTION zerocut.manage_partitions(regclass, name, text, integer, interval, text, date) FROM PUBLIC;

CREATE FUNCTION zerocut.run_maintenance(parent regclass DEFAULT NULL)
    RETURNS TABLE(parent regclass, action text, partition text, detail text)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_run_maintenance';
COMMENT ON FUNCTION zerocut.run_maintenance(regclass) IS
    'For every managed parent (or the one given): creates partitions through now + premake, moves default-partition rows into their partitions, applies retention; logs every action; skips a parent it cannot lock within zerocut.partition_lock_timeout; each parent runs in its own subtransaction: a failing one is rolled back, returned as an error row, logged at ERROR level and kept as its last_outcome, and the others proceed; the work runs as each table''s owner; a parent the caller does not own is refused (given) or returned as a skip row and left alone (all)';
REVOKE ALL ON FUNCTION zerocut.run_maintenance(regclass) FROM PUBLIC;

CREATE FUNCTION zerocut.managed_parents()
    RETURNS TABLE(parent regclass, may_maintain boolean)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_managed_parents';
COMMENT ON FUNCTION zerocut.managed_parents() IS
    'Every parent zerocut manages, and whether the current user may have it maintained (its owner or a superuser; the audit log only a superuser or the extension owner); what run_maintenance_proc() loops over, without a grant on zerocut.partition_config';
REVOKE ALL ON FUNCTION zerocut.managed_parents() FROM PUBLIC;

CREATE PROCEDURE zerocut.run_maintenance_proc()
    LANGUAGE plpgsql
AS $$
DECLARE
    managed regclass;
    allowed boolean;
    skipped text[] := '{}';
BEGIN
    -- One transaction per parent, so a long run holds no lock for long.  The
    -- parents the current user may not have maintained are left alone.
    FOR managed, allowed IN SELECT m.parent, m.may_maintain FROM zerocut.managed_parents() m
                            ORDER BY m.parent::pg_catalog.oid LOOP
        IF allowed THEN
            PERFORM zerocut.run_maintenance(managed);
            COMMIT;
        ELSE
            skipped := skipped OPERATOR(pg_catalog.||) managed::pg_catalog.text;
        END IF;
    END LOOP;
    IF pg_catalog.cardinality(skipped) > 0 THEN
        RAISE NOTICE 'zerocut: run_maintenance_proc() skipped % managed tables the current user may not maintain: %',
            pg_catalog.cardinality(skipped), pg_catalog.array_to_string(skipped, ', ')
            USING HINT = 'Run it as their owner or as a superuser.';
    END IF;
END
$$;
COMMENT ON PROCEDURE zerocut.run_maintenance_proc() IS
    'CALL zerocut.run_maintenance_proc(): run_maintenance() for each managed parent the current user may have maintained (zerocut.managed_parents()), committing after each (for pg_cron); the others are named in a NOTICE';
REVOKE ALL ON PROCEDURE zerocut.run_maintenance_proc() FROM PUBLIC;

CREATE FUNCTION zerocut.convert_to_partitioned(tbl regclass, control_column name, granularity text DEFAULT 'month')
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_convert_to_partitioned';
COMMENT ON FUNCTION zerocut.convert_to_partitioned(regclass, name, text) IS
    'Turns a plain table into a managed RANGE-partitioned table of the same name, keeping rows (attached as a legacy partition without copying, its bound proved on a fresh snapshot under ACCESS EXCLUSIVE), defaults, indexes, constraints, foreign keys, grants, triggers and sequence ownership';
REVOKE ALL ON FUNCTION zerocut.convert_to_partitioned(regclass, name, text) FROM PUBLIC;

CREATE VIEW zerocut.partition_health AS
WITH children AS (
    SELECT c.parent, k.oid AS child, pg_catalog.pg_get_expr(k.relpartbound, k.oid) AS bound,
           a.atttypid = 'pg_catalog.timestamptz'::pg_catalog.regtype AS with_zone, c.time_zone
    FROM zerocut.partition_config c
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.parent AND a.attname = c.control_column
    JOIN pg_catalog.pg_inherits i ON i.inhparent = c.parent
    JOIN pg_catalog.pg_class k ON k.oid = i.inhrelid
), bounds AS (
    SELECT parent, child, bound = 'DEFAULT' AS is_default,
           CASE WHEN with_zone THEN lower_text::pg_catalog.timestamptz
                ELSE lower_text::pg_catalog.timestamp AT TIME ZONE time_zone END AS lower_at,
           CASE WHEN with_zone THEN upper_text::pg_catalog.timestamptz
                ELSE upper_text::pg_catalog.timestamp AT TIME ZONE time_zone END AS upper_at
    FROM (SELECT *, pg_catalog.substring(bound, $re$^FOR VALUES FROM \('([^']*)'\)$re$) AS lower_text,
                 pg_catalog.substring(bound, $re$ TO \('([^']*)'\)$$re$) AS upper_text
          FROM children) parsed
)
SELECT c.parent,
       c.granularity,
       c.premake,
       (SELECT pg_catalog.count(*) FROM bounds b WHERE b.parent = c.parent AND NOT b.is_default) AS partitions,
       (SELECT pg_catalog.count(*) FROM bounds b WHERE b.parent = c.parent AND b.lower_at > pg_catalog.now()) AS partitions_ahead,
       (SELECT (pg_catalog.xpath('/row/n/text()', pg_catalog.query_to_xml(
                   pg_catalog.format('SELECT pg_catalog.count(*) AS n FROM ONLY %s', b.child::pg_catalog.regclass),
                   false, true, '')))[1]::pg_catalog.text::bigint
        FROM bounds b WHERE b.parent = c.parent AND b.is_default) AS rows_in_default,
       (SELECT pg_catalog.min(b.lower_at) FROM bounds b WHERE b.parent = c.parent) AS oldest_bound,
       (SELECT pg_catalog.max(b.upper_at) FROM bounds b WHERE b.parent = c.parent) AS newest_bound,
       c.retention,
       c.retention_action,
       (SELECT pg_catalog.count(*) FROM bounds b
        WHERE b.parent = c.parent AND NOT b.is_default AND c.retention IS NOT NULL
          AND b.upper_at <= ((pg_catalog.now() AT TIME ZONE c.time_zone) - c.retention) AT TIME ZONE c.time_zone)
           AS retention_due,
       c.last_maintenance_at,
       c.last_outcome
FROM zerocut.partition_config c;
COMMENT ON VIEW zerocut.partition_health IS
    'Per managed parent: partitions, partitions starting after now, rows waiting in the default partition, oldest and newest bounds, partitions due for retention, last maintenance time and outcome';

-- Each partition's bounds as instants, parsed from the catalog instead of
-- deparsed with pg_get_expr (which opens and locks every partition): what
-- zerocut.alerts reads on every poll (src/partition/partition_bounds.cpp).
CREATE FUNCTION zerocut.partition_bounds(parent regclass, time_zone text DEFAULT 'UTC')
    RETURNS TABLE(partition regclass, is_default boolean, lower_at timestamptz, upper_at timestamptz)
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'zc_partition_bounds';
COMMENT ON FUNCTION zerocut.partition_bounds(regclass, text) IS
    'The direct partitions of a table partitioned by RANGE on one date, timestamp or timestamptz column, with is_default and their bounds as instants (date and timestamp bounds read as local times in time_zone; NULL for MINVALUE, MAXVALUE and the default partition), read from the catalog without locks; NULL arguments 22004, an unknown time zone 22023, not a partitioned table 42809, another partitioning 0A000, a dropped table no rows; runs as its caller, reads only catalogs; pg_monitor members and superusers';
REVOKE ALL ON FUNCTION zerocut.partition_bounds(regclass, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zerocut.partition_bounds(regclass, text) TO pg_monitor;
