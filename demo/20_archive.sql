\echo '== archive mover: the consumption_record policy that comes with the domain schema'
SELECT source_schema, source_table, time_column, keep, target_schema, target_table, batch_size, whole_partitions
FROM zerocut.archive_policy;

\echo
\echo '== consumption_record: monthly partitions (the partition manager made them for the sample data;'
\echo '   its 6-month retention already handed the oldest whole months to the archive)'
SELECT count(*) AS source_partitions FROM pg_inherits WHERE inhparent = 'financial_management.consumption_record'::regclass;
SELECT (SELECT count(*) FROM financial_management.consumption_record) AS in_source,
       (SELECT count(*) FROM financial_management.consumption_record WHERE created_at < CURRENT_DATE - interval '6 months') AS older_than_6_months,
       (SELECT count(*) FROM archive.consumption_record_archive) AS in_archive;

\echo
\echo '== the seed''s function: whole old months move by metadata, the straddling month row by row'
\timing on
SELECT zerocut.archive_old_consumption_records() AS archived;
\timing off
SELECT level, message, metadata FROM audit_log.system_log WHERE message = 'Archived consumption records';
SELECT inhrelid::regclass AS archived_partition, (SELECT convalidated FROM pg_constraint
       WHERE conrelid = inhrelid AND conname = 'zc_archive_bound') AS bound_check_valid
FROM pg_inherits WHERE inhparent = 'archive.consumption_record_archive'::regclass ORDER BY inhrelid::regclass::text LIMIT 5;
SELECT (SELECT count(*) FROM financial_management.consumption_record) AS in_source,
       (SELECT count(*) FROM archive.consumption_record_archive) AS in_archive;

\echo
\echo '== whole_partitions: the cutoff rounds down to a month boundary (keep 4 months now): the next whole'
\echo '   month moves by metadata; the month that straddled the last cutoff already has an archive'
\echo '   partition, so its remaining rows follow row by row'
SELECT zerocut.set_archive_policy('financial_management.consumption_record', 'created_at', '4 months', whole_partitions => true);
SELECT * FROM zerocut.archive('financial_management.consumption_record');

\echo
\echo '== CALL archive_proc: batches on an unpartitioned table, committed one by one'
CREATE TABLE public.demo_events AS
    SELECT id, created_at, amount FROM archive.consumption_record_archive ORDER BY id LIMIT 25000;
ALTER TABLE public.demo_events ADD PRIMARY KEY (id);
SELECT zerocut.set_archive_policy('public.demo_events', 'created_at', '6 months', batch_size => 10000);
CALL zerocut.archive_proc('public.demo_events');
SELECT (SELECT count(*) FROM public.demo_events) AS left, (SELECT count(*) FROM archive.demo_events_archive) AS archived;

\echo
\echo '== bad input: clear errors, nothing changes'
\set ON_ERROR_STOP 0
SELECT zerocut.set_archive_policy('public.demo_events', 'created_at', '-1 day');
SELECT zerocut.set_archive_policy('public.demo_events', 'created_at', '178000000 years');
SELECT zerocut.set_archive_policy('public.demo_events', 'x"; DROP TABLE public.demo_events; --', '1 day');
SELECT zerocut.archive_partition('public.demo_events');
\set ON_ERROR_STOP 1
SELECT to_regclass('public.demo_events') IS NOT NULL AS demo_events_still_there;
DROP TABLE public.demo_events, archive.demo_events_archive;
-- (its policy went with the table: a dropped table forgets its archive policy)
SELECT count(*) AS demo_events_policies FROM zerocut.archive_policy WHERE source_table = 'demo_events';
