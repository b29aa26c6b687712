-- Registers the time-series tables with zerocut's partition manager
-- (docs/partitions.md): default partition plus months through now + 3.
-- An older install's plain tables are converted first.  Idempotent: a
-- second run finds everything in place and changes nothing.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('data_statistics.usage_stats', 'date'),
                                   ('financial_management.consumption_record', 'created_at'),
                                   ('audit_log.system_log', 'created_at')) AS v(tbl, col)
    LOOP
        IF (SELECT relkind FROM pg_catalog.pg_class WHERE oid = pg_catalog.to_regclass(t.tbl)) = 'r' THEN
            PERFORM zerocut.convert_to_partitioned(t.tbl::pg_catalog.regclass, t.col::pg_catalog.name, 'month');
        END IF;
    END LOOP;
END
$$;

-- usage_stats keeps everything.
SELECT zerocut.manage_partitions('data_statistics.usage_stats', 'date', 'month', 3);
-- Consumption records older than 6 months go to the archive.
SELECT zerocut.manage_partitions('financial_management.consumption_record', 'created_at', 'month', 3,
                                 pg_catalog.make_interval(months => 6), 'archive');
-- The log is detached (kept as a standalone table) after 13 months.
SELECT zerocut.manage_partitions('audit_log.system_log', 'created_at', 'month', 3,
                                 pg_catalog.make_interval(months => 13), 'detach');
