-- The out-of-the-box archive policy of the seed (section 3): consumption
-- records older than 6 months move to archive.consumption_record_archive
-- (created by the first archive run).  Idempotent: an existing policy, maybe
-- changed by the user, is left as it is.
INSERT INTO zerocut.archive_policy (source, time_column, keep, target, batch_size)
VALUES ('financial_management.consumption_record'::pg_catalog.regclass, 'created_at', '6 months', NULL, 10000)
ON CONFLICT (source) DO NOTHING;
