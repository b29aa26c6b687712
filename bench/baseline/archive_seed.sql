-- The seed's archiving (section 3, "数据归档策略"), as the plan wrote it,
-- with its defects fixed so that it runs on the zerocut domain schema:
--   * the seed's CREATE TABLE ... (LIKE ... INCLUDING ALL) would share the
--     source's id sequence and copy no partitioning; kept as written (a plain
--     table), it is what the seed user gets;
--   * json_build_object() went into a jsonb column: cast explicitly;
--   * the archive schema/table are created IF NOT EXISTS so the script reruns;
--   * the seed's archive table lives in schema seed_archive instead of
--     archive, so that it does not take the place of zerocut's own
--     archive.consumption_record_archive in the same benchmark database.
-- bench_seed_archive_old_consumption_records() is the seed's function body;
-- bench_seed_archive_table(source, archive) is the same single statement
-- against another table (the unpartitioned copy of the batch benchmark).
CREATE SCHEMA IF NOT EXISTS seed_archive;
CREATE TABLE IF NOT EXISTS seed_archive.consumption_record_archive (
    LIKE financial_management.consumption_record INCLUDING ALL
);

CREATE OR REPLACE FUNCTION bench_seed_archive_old_consumption_records()
RETURNS INTEGER AS $$
DECLARE
    archived_count INTEGER;
    cutoff_date DATE;
BEGIN
    cutoff_date := CURRENT_DATE - INTERVAL '6 months';

    WITH moved_records AS (
        DELETE FROM financial_management.consumption_record
        WHERE created_at < cutoff_date
        RETURNING *
    )
    INSERT INTO seed_archive.consumption_record_archive
    SELECT * FROM moved_records;

    GET DIAGNOSTICS archived_count = ROW_COUNT;

    INSERT INTO audit_log.system_log (level, message, metadata)
    VALUES ('INFO', 'Archived consumption records',
            json_build_object('archived_count', archived_count, 'cutoff_date', cutoff_date)::jsonb);

    RETURN archived_count;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION bench_seed_archive_table(source regclass, archive regclass)
RETURNS INTEGER AS $$
DECLARE
    archived_count INTEGER;
    cutoff_date DATE;
BEGIN
    cutoff_date := CURRENT_DATE - INTERVAL '6 months';
    EXECUTE format('WITH moved_records AS (DELETE FROM %s WHERE created_at < $1 RETURNING *) '
                   'INSERT INTO %s SELECT * FROM moved_records', source, archive) USING cutoff_date;
    GET DIAGNOSTICS archived_count = ROW_COUNT;
    INSERT INTO audit_log.system_log (level, message, metadata)
    VALUES ('INFO', 'Archived consumption records',
            json_build_object('archived_count', archived_count, 'cutoff_date', cutoff_date)::jsonb);
    RETURN archived_count;
END;
$$ LANGUAGE plpgsql;
