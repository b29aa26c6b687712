\echo '== jobs (docs/jobs.md): zerocut''s jobs in pg_cron, watched, and statistics kept fresh'
\echo '   (the demo cluster preloads pg_cron with cron.database_name = postgres, this database)'

\echo
\echo '== zerocut.job_schedule: the jobs, pre-filled; change a schedule here (pg_dump keeps the rows)'
SELECT jobname, schedule, command, enabled FROM zerocut.job_schedule ORDER BY jobname;

\echo
\echo '== without pg_cron created in this database: the view lists the jobs, scheduling says what is missing'
DROP EXTENSION IF EXISTS pg_cron;
SELECT jobname, state, run_interval FROM zerocut.jobs;
DO $$
DECLARE state text; msg text; hint text;
BEGIN
    PERFORM zerocut.schedule_jobs();
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    RAISE NOTICE 'caught % %  (hint: %)', state, msg, hint;
END $$;

\echo
\echo '== CREATE EXTENSION pg_cron; schedule_jobs() registers every job, as the calling role'
CREATE EXTENSION pg_cron;
SELECT * FROM zerocut.schedule_jobs();
SELECT jobid, jobname, schedule, username, active FROM cron.job ORDER BY jobname;

\echo
\echo '== idempotent: a second call changes nothing; a changed schedule updates the same pg_cron job'
SELECT count(*) AS registered FROM zerocut.schedule_jobs();
UPDATE zerocut.job_schedule SET schedule = '0 1 * * *' WHERE jobname = 'zerocut-archive';
SELECT jobname, schedule FROM zerocut.schedule_jobs() WHERE jobname = 'zerocut-archive';
SELECT jobid, jobname, schedule FROM cron.job WHERE jobname = 'zerocut-archive';

\echo
\echo '== the jobs view: schedule, last run, status, duration, last error, overdue, problem'
SELECT jobname, state, last_status, last_duration, run_interval, overdue, problem FROM zerocut.jobs;
\echo '   (a failed run, as pg_cron would record it, shows up as a problem; rolled back)'
BEGIN;
INSERT INTO cron.job_run_details (jobid, job_pid, database, username, command, status, return_message,
                                  start_time, end_time)
SELECT jobid, 0, current_database(), current_user, command, 'failed', 'ERROR:  canceling statement due to lock timeout',
       now() - interval '2 minutes', now() - interval '1 minute'
FROM cron.job WHERE jobname = 'zerocut-partition-maintenance';
SELECT jobname, last_status, last_error, problem FROM zerocut.jobs WHERE problem IS NOT NULL;
ROLLBACK;

\echo
\echo '== cron_schedule_interval(): how long a schedule may go between runs'
SELECT s AS schedule, zerocut.cron_schedule_interval(s) AS longest_gap
FROM unnest(ARRAY['5 * * * *', '30 2 * * *', '0 9 * * mon-fri', '0 4 * * 0', '0 0 31 * *']) AS s;

\echo
\echo '== auto_maintenance(): ANALYZE only the domain tables that changed by more than 10 %'
\echo '   (the seed ANALYZEd every table, every time, one log row each)'
UPDATE financial_management.account SET balance = balance + 1 WHERE id % 3 = 0;
SELECT pg_stat_force_next_flush();
\timing on
SELECT * FROM zerocut.auto_maintenance() ORDER BY tbl::text LIMIT 12;
\timing off
SELECT count(*) AS analyzed_again FROM zerocut.auto_maintenance();
SELECT level, message, jsonb_array_length(metadata->'analyzed') AS tables_analyzed
FROM audit_log.system_log WHERE message LIKE 'Auto maintenance:%' ORDER BY id;

\echo
\echo '== unschedule_jobs(): removes exactly zerocut''s jobs (another job stays)'
SELECT cron.schedule('someone-elses-job', '@daily', 'SELECT 1') > 0 AS other_job_scheduled;
SELECT * FROM zerocut.unschedule_jobs();
SELECT jobname FROM cron.job;
SELECT cron.unschedule('someone-elses-job');
