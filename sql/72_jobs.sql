-- zerocut's jobs under pg_cron (issue 18, part B; docs/jobs.md): the job
-- configuration, schedule_jobs()/unschedule_jobs(), the jobs view, and
-- auto_maintenance().  The instance loads pg_cron with cron.database_name =
-- contrib_regression (test/regress.conf); pg_cron is created below and
-- dropped at the end, and every step that schedules runs in a transaction
-- that is rolled back, so the scheduler never sees one of these jobs (a
-- real run: test/e2e/monitor_jobs_cron.sh).
SELECT zerocut.install_domain_schema() IS NOT NULL AS installed;
-- pg_temp.try(sql) runs one statement and shows its result or its error as
-- SQLSTATE | message | hint.
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text; state text; msg text; hint text;
BEGIN
    EXECUTE sql INTO result;
    RETURN 'ok: ' || coalesce(result, 'NULL');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    RETURN format('%s | %s%s', state, msg, CASE WHEN hint <> '' THEN ' | HINT: ' || hint ELSE '' END);
END
$$;

-- 1. The configuration: the built-in jobs, in a table pg_dump keeps.
SELECT jobname, schedule, command, enabled, scheduled_at IS NULL AS never_scheduled
FROM zerocut.job_schedule ORDER BY jobname;
SELECT 'zerocut.job_schedule'::regclass::oid = ANY (extconfig) AS kept_by_pg_dump
FROM pg_extension WHERE extname = 'zerocut';
-- Names start with zerocut-; schedules are ones pg_cron reads; a command is needed.
SELECT pg_temp.try($$INSERT INTO zerocut.job_schedule VALUES ('other-job', '@daily', 'SELECT 1') RETURNING jobname$$);
SELECT pg_temp.try($$INSERT INTO zerocut.job_schedule VALUES ('zerocut-Job', '@daily', 'SELECT 1') RETURNING jobname$$);
SELECT pg_temp.try($$INSERT INTO zerocut.job_schedule VALUES ('zerocut-x', '61 * * * *', 'SELECT 1') RETURNING jobname$$);
SELECT pg_temp.try($$INSERT INTO zerocut.job_schedule VALUES ('zerocut-x', '0 0 30 2 *', 'SELECT 1') RETURNING jobname$$);
SELECT pg_temp.try($$INSERT INTO zerocut.job_schedule VALUES ('zerocut-x', '@daily', '  ') RETURNING jobname$$);
-- A row for a job that exists replaces it (what a pg_dump restore does over
-- the rows CREATE EXTENSION made); a new name is added.
BEGIN;
INSERT INTO zerocut.job_schedule (jobname, schedule, command, enabled)
VALUES ('zerocut-archive', '0 1 * * *', 'CALL zerocut.archive_proc(max_batches => 100)', false),
       ('zerocut-custom', '@reboot', 'SELECT 1', true);
SELECT jobname, schedule, command, enabled FROM zerocut.job_schedule
WHERE jobname IN ('zerocut-archive', 'zerocut-custom') ORDER BY jobname;
SELECT count(*) AS jobs FROM zerocut.job_schedule;
ROLLBACK;

-- 2. cron_schedule_interval(): the longest time between two runs.
SELECT s AS schedule, zerocut.cron_schedule_interval(s) AS run_interval
FROM unnest(ARRAY['* * * * *', '*/15 * * * *', '0 * * * *', '@hourly', '5 * * * *', '0 3 * * *', '0 0,6 * * *',
                  '0 9 * * mon-fri', '0 4 * * 0', '0 2 1 * *', '@monthly', '30 seconds', '@reboot',
                  '0 0 30 2 *']) AS s;
SELECT pg_temp.try($$SELECT zerocut.cron_schedule_interval('61 * * * *')$$);
SELECT pg_temp.try($$SELECT zerocut.cron_schedule_interval('* * * *')$$);
SELECT pg_temp.try($$SELECT zerocut.cron_schedule_interval('x"; DROP TABLE y; --')$$);
SELECT zerocut.cron_schedule_interval(NULL) IS NULL AS null_gives_null;

-- 3. Without pg_cron: the view lists the configured jobs, none scheduled;
-- scheduling says what is missing.
SELECT jobname, state, jobid, last_status, run_interval, overdue, problem FROM zerocut.jobs;
SELECT pg_temp.try('SELECT count(*) FROM zerocut.schedule_jobs()');
SELECT pg_temp.try('SELECT count(*) FROM zerocut.unschedule_jobs()');

CREATE EXTENSION pg_cron;
CREATE ROLE regress_jobs_user;
GRANT USAGE ON SCHEMA zerocut, cron TO regress_jobs_user;

-- 4. schedule_jobs(): one pg_cron job per enabled row, as the caller, in
-- this database; a second call changes nothing (same job ids).
BEGIN;
SELECT cron.schedule('regress-foreign', '0 0 * * *', 'SELECT 1') > 0 AS foreign_job_planted;
SELECT jobname, schedule, command FROM zerocut.schedule_jobs();
CREATE TEMP TABLE first_ids AS SELECT jobname, jobid, schedule FROM cron.job WHERE jobname LIKE 'zerocut-%';
SELECT count(*) AS zerocut_jobs,
       bool_and(j.username = current_user AND j.database = current_database() AND j.active) AS mine_here_active,
       bool_and(j.schedule = s.schedule AND j.command = s.command) AS as_configured,
       bool_and(s.scheduled_at = now()) AS scheduled_now
FROM cron.job j JOIN zerocut.job_schedule s USING (jobname);
SELECT count(*) AS registered_again FROM zerocut.schedule_jobs();
SELECT count(*) AS zerocut_jobs, bool_and(j.jobid = f.jobid) AS same_job_ids
FROM cron.job j JOIN first_ids f USING (jobname);
SELECT count(*) AS all_jobs FROM cron.job;
-- The view: scheduled, never run, not overdue yet.
SELECT jobname, state, username = current_user AS mine, last_status, run_interval, overdue, problem
FROM zerocut.jobs;

-- 5. A changed schedule updates the job in place; a disabled one is
-- removed; a hand-made zerocut-* job the table does not enable too.
SELECT cron.schedule('zerocut-handmade', '@daily', 'SELECT 2') > 0 AS handmade_planted;
SELECT jobname, state, enabled FROM zerocut.jobs WHERE jobname = 'zerocut-handmade';
UPDATE zerocut.job_schedule SET schedule = '20 * * * *' WHERE jobname = 'zerocut-analytics-refresh';
UPDATE zerocut.job_schedule SET enabled = false WHERE jobname = 'zerocut-vacuum';
SELECT jobname, schedule FROM zerocut.schedule_jobs();
SELECT f.jobname, j.schedule, j.jobid = f.jobid AS same_job_id
FROM first_ids f LEFT JOIN cron.job j USING (jobname) ORDER BY f.jobname;
SELECT jobname, state, schedule, run_interval FROM zerocut.jobs
WHERE jobname IN ('zerocut-analytics-refresh', 'zerocut-vacuum', 'zerocut-handmade');
-- A job paused in pg_cron stays paused (and the view says so).
UPDATE cron.job SET active = false WHERE jobname = 'zerocut-archive';
SELECT count(*) AS registered FROM zerocut.schedule_jobs();
SELECT jobname, state, overdue, problem FROM zerocut.jobs WHERE jobname = 'zerocut-archive';
UPDATE cron.job SET active = true WHERE jobname = 'zerocut-archive';

-- 6. Runs, as pg_cron records them in cron.job_run_details: the last run's
-- status and duration, the last failure, the last success; failed = the
-- last run failed; overdue = no success within two intervals (of the last
-- success, or of the scheduling).  The jobs were scheduled 30 days ago.
UPDATE zerocut.job_schedule SET scheduled_at = now() - interval '30 days';
INSERT INTO cron.job_run_details (jobid, job_pid, database, username, command, status, return_message,
                                  start_time, end_time)
SELECT j.jobid, 1, current_database(), current_user, j.command, r.status, r.message,
       now() - r.ago, now() - r.ago + r.took
FROM cron.job j
JOIN (VALUES ('zerocut-partition-maintenance', interval '70 minutes', interval '3 seconds', 'failed', 'ERROR:  boom'),
             ('zerocut-partition-maintenance', interval '10 minutes', interval '2 seconds', 'succeeded', 'CALL'),
             ('zerocut-analytics-refresh', interval '2 hours', interval '1 second', 'succeeded', 'SELECT 1'),
             ('zerocut-analytics-refresh', interval '5 minutes', interval '1 second', 'failed',
              'ERROR:  materialized view data_statistics.mv_workspace_analytics does not exist'),
             ('zerocut-archive', interval '3 days', interval '4 seconds', 'succeeded', 'CALL'),
             ('zerocut-auto-maintenance', interval '6 days', interval '1 second', 'succeeded', 'SELECT 1'))
    AS r (jobname, ago, took, status, message) USING (jobname)
ORDER BY r.ago DESC;
INSERT INTO cron.job_run_details (jobid, job_pid, database, username, command, status, start_time)
SELECT jobid, 2, current_database(), current_user, command, 'running', now() - interval '1 minute'
FROM cron.job WHERE jobname = 'zerocut-auto-maintenance';
SELECT jobname, state, last_status, last_duration, last_error, now() - last_error_at AS error_age,
       now() - last_success AS success_age, run_interval, overdue, problem
FROM zerocut.jobs;
-- What an alert reads: the jobs with a problem.
SELECT jobname, problem FROM zerocut.jobs WHERE problem IS NOT NULL;
-- A monitoring role granted the view sees the jobs the extension owner
-- scheduled (pg_cron alone shows a role only its own), and nothing else of pg_cron.
GRANT SELECT ON zerocut.jobs TO regress_jobs_user;
GRANT EXECUTE ON FUNCTION zerocut.job_status() TO regress_jobs_user;
SET ROLE regress_jobs_user;
SELECT count(*) AS jobs, count(*) FILTER (WHERE state = 'scheduled') AS scheduled,
       count(*) FILTER (WHERE problem IS NOT NULL) AS with_problem FROM zerocut.jobs;
SELECT count(*) AS cron_jobs_visible FROM cron.job;
RESET ROLE;

-- 7. unschedule_jobs() removes exactly the zerocut jobs: the foreign job stays.
SELECT jobname, username = current_user AS mine FROM zerocut.unschedule_jobs();
SELECT jobname FROM cron.job ORDER BY jobname;
SELECT jobname, state FROM zerocut.jobs;
ROLLBACK;

-- 8. Who may schedule: superusers and the extension owner (pg_cron runs a
-- job as the role that scheduled it).  A job of the same name that another
-- role owns is refused, not duplicated; a superuser's unschedule_jobs()
-- removes every role's zerocut jobs here.
BEGIN;
GRANT EXECUTE ON FUNCTION zerocut.schedule_jobs(), zerocut.unschedule_jobs() TO regress_jobs_user;
SET ROLE regress_jobs_user;
SELECT pg_temp.try('SELECT count(*) FROM zerocut.schedule_jobs()');
SELECT pg_temp.try('SELECT count(*) FROM zerocut.unschedule_jobs()');
SELECT cron.schedule('zerocut-archive', '@daily', 'SELECT 3') > 0 AS other_role_job;
RESET ROLE;
SELECT pg_temp.try('SELECT count(*) FROM zerocut.schedule_jobs()');
SELECT count(*) AS jobs FROM cron.job;
SELECT jobname, username FROM zerocut.unschedule_jobs();
SELECT count(*) AS registered FROM zerocut.schedule_jobs();
ROLLBACK;

-- 9. auto_maintenance(): bad ratios are refused, naming the argument.
SELECT pg_temp.try('SELECT count(*) FROM zerocut.auto_maintenance(NULL)');
SELECT pg_temp.try('SELECT count(*) FROM zerocut.auto_maintenance(-0.1)');
SELECT pg_temp.try($$SELECT count(*) FROM zerocut.auto_maintenance('NaN')$$);
SELECT pg_temp.try($$SELECT count(*) FROM zerocut.auto_maintenance('Infinity')$$);
SELECT pg_temp.try('SELECT count(*) FROM zerocut.auto_maintenance(1e7)');

-- It ANALYZEs only the domain tables whose rows changed enough.  Test
-- tables in domain schemas (autovacuum off: it must not analyze them
-- first), one outside them.  pg_stat counters reach the shared statistics
-- when a transaction's counts are flushed: pg_stat_force_next_flush() makes
-- that happen at the end of its statement.
CREATE TABLE api_management.regress_am_changed (id int) WITH (autovacuum_enabled = off);
CREATE TABLE api_management.regress_am_steady (id int) WITH (autovacuum_enabled = off);
CREATE TABLE data_statistics.regress_am_parted (id int) PARTITION BY RANGE (id);
CREATE TABLE data_statistics.regress_am_parted_1 PARTITION OF data_statistics.regress_am_parted
    FOR VALUES FROM (0) TO (1000) WITH (autovacuum_enabled = off);
CREATE TABLE data_statistics.regress_am_parted_2 PARTITION OF data_statistics.regress_am_parted
    FOR VALUES FROM (1000) TO (3000) WITH (autovacuum_enabled = off);
CREATE TABLE public.regress_am_outside (id int) WITH (autovacuum_enabled = off);
INSERT INTO api_management.regress_am_changed SELECT generate_series(1, 1000);
INSERT INTO api_management.regress_am_steady SELECT generate_series(1, 1000);
INSERT INTO data_statistics.regress_am_parted SELECT generate_series(0, 999);
INSERT INTO public.regress_am_outside SELECT generate_series(1, 1000);
SELECT pg_stat_force_next_flush();
ANALYZE api_management.regress_am_changed, api_management.regress_am_steady, data_statistics.regress_am_parted,
    public.regress_am_outside;
-- Settle whatever other tests left changed, so only the changes below count.
SET client_min_messages = warning;
SELECT count(*) >= 0 AS settled FROM zerocut.auto_maintenance(0);
RESET client_min_messages;

UPDATE api_management.regress_am_changed SET id = id + 1 WHERE id <= 500;   -- 500 of 1000 rows
UPDATE api_management.regress_am_steady SET id = id WHERE id <= 50;         -- 50 of 1000: under 10 %
INSERT INTO data_statistics.regress_am_parted SELECT generate_series(1000, 1499);  -- 500 new rows
UPDATE public.regress_am_outside SET id = id + 1;                         -- not a domain table
SELECT pg_stat_force_next_flush();
CREATE TEMP TABLE log_before AS SELECT count(*) AS n FROM audit_log.system_log WHERE message LIKE 'Auto maintenance:%';
SELECT tbl, action, rows_changed >= 500 AS many_changed, duration >= interval '0' AS timed
FROM zerocut.auto_maintenance() WHERE tbl::text LIKE '%regress_am%' ORDER BY tbl::text;
SELECT pg_stat_clear_snapshot();
SELECT s.relname, s.n_mod_since_analyze
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE c.relkind = 'r' AND s.relname LIKE 'regress_am%' ORDER BY s.relname;
-- One summary row per call in the log, with the tables it analyzed.
SELECT (SELECT count(*) FROM audit_log.system_log WHERE message LIKE 'Auto maintenance:%') - n AS new_log_rows
FROM log_before;
SELECT level, metadata->>'capability' AS capability, metadata->'min_change_ratio' AS min_change_ratio,
       jsonb_path_query_array(metadata, '$.analyzed[*] ? (@.table like_regex "regress_am").table') AS analyzed,
       jsonb_path_query_array(metadata, '$.analyzed[*] ? (@.table like_regex "regress_am").action') AS actions
FROM audit_log.system_log WHERE message LIKE 'Auto maintenance:%' ORDER BY created_at DESC, id DESC LIMIT 1;
-- Nothing changed since: nothing of ours to analyze.
SELECT count(*) AS analyzed_again FROM zerocut.auto_maintenance() WHERE tbl::text LIKE '%regress_am%';

-- A table owner granted EXECUTE: its own table is analyzed, the others are
-- left out (named in a NOTICE and in the log row).
CREATE ROLE regress_am_owner;
GRANT USAGE ON SCHEMA zerocut, api_management TO regress_am_owner;
GRANT EXECUTE ON FUNCTION zerocut.auto_maintenance(real) TO regress_am_owner;
ALTER TABLE api_management.regress_am_steady OWNER TO regress_am_owner;
UPDATE api_management.regress_am_steady SET id = id WHERE id <= 600;
UPDATE api_management.regress_am_changed SET id = id WHERE id <= 600;
SELECT pg_stat_force_next_flush();
SET ROLE regress_am_owner;
SET client_min_messages = warning;
SELECT tbl, action FROM zerocut.auto_maintenance() WHERE tbl::text LIKE '%regress_am%';
RESET client_min_messages;
RESET ROLE;
SELECT jsonb_path_query_array(metadata, '$.not_permitted[*] ? (@ like_regex "regress_am")') AS not_permitted,
       jsonb_path_query_array(metadata, '$.analyzed[*].table') AS analyzed
FROM audit_log.system_log WHERE message LIKE 'Auto maintenance:%' ORDER BY created_at DESC, id DESC LIMIT 1;

-- Leave the database as we found it.
DROP TABLE api_management.regress_am_changed, api_management.regress_am_steady,
    data_statistics.regress_am_parted, public.regress_am_outside;
DROP OWNED BY regress_am_owner, regress_jobs_user;
DROP ROLE regress_am_owner, regress_jobs_user;
DROP EXTENSION pg_cron;
DROP FUNCTION pg_temp.try(text);
