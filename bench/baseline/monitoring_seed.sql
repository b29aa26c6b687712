-- The seed's auto_maintenance() (seed 000_be3f851f71897d90.txt, 自动维护任务),
-- as written there, fixed only enough to run: its own name (zerocut has an
-- auto_maintenance of its own) and jsonb for the log's metadata column
-- (the seed's json_build_object() has no assignment cast to jsonb).  It
-- ANALYZEs every table of four schemas (pg_tables lists partitions and
-- partitioned tables alike) on every run and logs one row per table.
CREATE OR REPLACE FUNCTION public.seed_auto_maintenance()
RETURNS VOID AS $$
DECLARE
    table_record RECORD;
BEGIN
    -- 对大表进行维护
    FOR table_record IN
        SELECT schemaname, tablename
        FROM pg_tables
        WHERE schemaname IN ('user_management', 'workspace_domain', 'financial_management', 'data_statistics')
    LOOP
        -- 执行ANALYZE更新统计信息
        EXECUTE format('ANALYZE %I.%I', table_record.schemaname, table_record.tablename);

        -- 记录维护操作
        INSERT INTO audit_log.SYSTEM_LOG (level, message, metadata)
        VALUES ('INFO', 'Auto maintenance completed',
                jsonb_build_object('table', table_record.schemaname || '.' || table_record.tablename));
    END LOOP;
END;
$$ LANGUAGE plpgsql;
