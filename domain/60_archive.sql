-- The out-of-the-box archive policy of the seed (section 3): consumption
-- records older than 6 months move to archive.consumption_record_archive
-- (the seed's name, stored in the policy; the table is created by the first
-- archive run).  Idempotent: an existing policy, maybe changed by the user,
-- is left as it is.  For the table's owner (zerocut.archive_policy.source_owner).
INSERT INTO zerocut.archive_policy (source_schema, source_table, time_column, keep, target_schema, target_table,
                                    batch_size, source_owner)
SELECT 'financial_management', 'consumption_record', 'created_at', '6 months', 'archive', 'consumption_record_archive',
       10000, pg_catalog.pg_get_userbyid(c.relowner)
FROM pg_catalog.pg_class c
WHERE c.oid = 'financial_management.consumption_record'::pg_catalog.regclass
ON CONFLICT (source_schema, source_table) DO NOTHING;
