-- This part: zerocut's jobs under pg_cron (issue 18, part B; docs/jobs.md):
-- the job configuration, schedule_jobs() / unschedule_jobs(), the jobs view,
-- and auto_maintenance().  pg_cron is optional: nothing here refers to the
-- cron schema statically, so CREATE EXTENSION zerocut works without it.

CREATE FUNCTION zerocut.cron_schedule_interval(schedule text) RETURNS interval
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'zc_cron_schedule_interval';
COMMENT ON FUNCTION zerocut.cron_schedule_interval(text) IS
    'The longest time between two runs of a pg_cron schedule (five cron fields, @hourly/@daily/@weekly/@monthly/@yearly, or ''N seconds''): ''1 hour'' for ''0 * * * *'', ''7 days'' for ''0 4 * * 0''; NULL for @reboot and for a schedule that never runs twice; 22023 naming the argument for text pg_cron would not accept';

CREATE TABLE zerocut.job_schedule (
    jobname      text PRIMARY KEY CHECK (jobname ~ '^zerocut-[a-z0-9][a-z0-9_-]*$'),
    schedule     text NOT NULL CHECK (zerocut.cron_schedule_interval(schedule) IS NOT NULL
                                      OR pg_catalog.lower(pg_catalog.btrim(schedule)) = '@reboot'),
    command      text NOT NULL CHECK (pg_catalog.btrim(command) <> ''),
    enabled      boolean NOT NULL DEFAULT true,
    scheduled_at timestamptz
);
COMMENT ON TABLE zerocut.job_schedule IS
    'zerocut''s pg_cron jobs: what schedule_jobs() registers (the enabled rows) under the job''s name; change a schedule here, then run schedule_jobs() again; kept by pg_dump (a restored row replaces the built-in row of the same name)';
COMMENT ON COLUMN zerocut.job_schedule.jobname IS
    'The pg_cron job name: zerocut- and lower-case letters, digits, - or _';
COMMENT ON COLUMN zerocut.job_schedule.schedule IS
    'pg_cron schedule (cron.timezone applies, GMT unless set): five cron fields, a shortcut such as @daily, or ''N seconds'' (pg_cron 1.5+)';
COMMENT ON COLUMN zerocut.job_schedule.command IS
    'The one SQL statement pg_cron runs, as the role that called schedule_jobs(), in this database';
COMMENT ON COLUMN zerocut.job_schedule.enabled IS
    'false: schedule_jobs() removes the job from pg_cron (a deleted built-in row comes back with the next restore; disable it instead)';
COMMENT ON COLUMN zerocut.job_schedule.scheduled_at IS
    'When schedule_jobs() last registered or changed the job (the jobs view counts a job overdue from here until its first success)';

-- The built-in jobs.  Staggered minutes, so they do not start together.
INSERT INTO zerocut.job_schedule (jobname, schedule, command) VALUES
    ('zerocut-partition-maintenance', '5 * * * *', 'CALL zerocut.run_maintenance_proc()'),
    ('zerocut-analytics-refresh', '15 * * * *', 'SELECT pg_catalog.count(*) FROM zerocut.refresh_analytics_views()'),
    ('zerocut-archive', '30 2 * * *', 'CALL zerocut.archive_proc()'),
    ('zerocut-auto-maintenance', '0 3 * * 0', 'SELECT pg_catalog.count(*) FROM zerocut.auto_maintenance()'),
    ('zerocut-vacuum', '0 4 * * 0',
     'VACUUM (ANALYZE) user_management."USER", workspace_domain.workspace, workspace_domain.user_workspace, '
     'financial_management.account, financial_management.consumption_record, api_management.api_key, '
     'data_statistics.usage_stats, audit_log.system_log'),
    ('zerocut-prune-job-history', '45 0 * * *',
     'DELETE FROM cron.job_run_details WHERE coalesce(end_time, start_time) < pg_catalog.now() - interval ''14 days''');
SELECT pg_catalog.pg_extension_config_dump('zerocut.job_schedule', '');

-- pg_dump writes every row of the table, and its restore runs CREATE
-- EXTENSION first, which inserts the built-in rows again: a restored row
-- then replaces the built-in row of its name instead of failing on the key.
CREATE FUNCTION zerocut.job_schedule_merge() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE zerocut.job_schedule j
    SET schedule = NEW.schedule, command = NEW.command, enabled = NEW.enabled, scheduled_at = NEW.scheduled_at
    WHERE j.jobname = NEW.jobname;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION zerocut.job_schedule_merge() IS
    'BEFORE INSERT trigger of zerocut.job_schedule: a row whose jobname exists replaces that row (so a pg_dump restore keeps changed built-in jobs)';
REVOKE ALL ON FUNCTION zerocut.job_schedule_merge() FROM PUBLIC;
CREATE TRIGGER job_schedule_merge BEFORE INSERT ON zerocut.job_schedule
    FOR EACH ROW EXECUTE FUNCTION zerocut.job_schedule_merge();

-- Raises the error that says what is missing for scheduling through pg_cron
-- from this database, and that the caller may schedule zerocut's jobs.
CREATE FUNCTION zerocut.require_pg_cron(caller text) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cron_database text;
    cron_version text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles r
                   WHERE r.rolname = current_user
                     AND (r.rolsuper OR r.oid = (SELECT e.extowner FROM pg_extension e WHERE e.extname = 'zerocut'))) THEN
        RAISE EXCEPTION '%: only a superuser or the owner of extension zerocut may schedule zerocut''s jobs', caller
            USING ERRCODE = '42501',
                  HINT = 'pg_cron runs a job as the role that scheduled it: schedule them as the role that should '
                         'do the work.';
    END IF;
    SELECT e.extversion INTO cron_version FROM pg_extension e WHERE e.extname = 'pg_cron';
    IF cron_version IS NULL THEN
        BEGIN
            cron_database := coalesce(current_setting('cron.database_name', true), '');
        EXCEPTION WHEN insufficient_privilege THEN
            cron_database := NULL;  -- pg_cron's settings are for superusers (and pg_read_all_settings) only
        END;
        IF cron_database = '' THEN
            RAISE EXCEPTION '%: pg_cron is not loaded in this server', caller
                USING ERRCODE = '55000',
                      HINT = format('Add pg_cron to shared_preload_libraries and set cron.database_name = %L in '
                                    'postgresql.conf, restart the server, then run CREATE EXTENSION pg_cron in '
                                    'database %I.', current_database(), current_database());
        ELSIF cron_database <> current_database() THEN
            RAISE EXCEPTION '%: pg_cron schedules jobs from database "%" (cron.database_name), not from "%"',
                caller, cron_database, current_database()
                USING ERRCODE = '55000',
                      HINT = format('Set cron.database_name = %L and restart the server to schedule from here, or '
                                    'in database %I run SELECT cron.schedule_in_database(jobname, schedule, '
                                    'command, %L) for each enabled row of zerocut.job_schedule.',
                                    current_database(), cron_database, current_database());
        ELSE
            RAISE EXCEPTION '%: extension pg_cron is not installed in this database', caller
                USING ERRCODE = '55000',
                      HINT = format('Run CREATE EXTENSION pg_cron; (pg_cron must be in shared_preload_libraries '
                                    'with cron.database_name = %L).', current_database());
        END IF;
    END IF;
    IF to_regprocedure('cron.schedule(text,text,text)') IS NULL
       OR to_regprocedure('cron.unschedule(bigint)') IS NULL THEN
        RAISE EXCEPTION '%: pg_cron % is too old (zerocut needs 1.4 or later)', caller, cron_version
            USING ERRCODE = '55000', HINT = 'Run ALTER EXTENSION pg_cron UPDATE;';
    END IF;
    IF NOT has_schema_privilege('cron', 'USAGE') THEN
        RAISE EXCEPTION '%: permission denied for schema cron', caller
            USING ERRCODE = '42501', HINT = format('As a superuser: GRANT USAGE ON SCHEMA cron TO %I;', current_user);
    END IF;
END
$$;
COMMENT ON FUNCTION zerocut.require_pg_cron(text) IS
    'Used by schedule_jobs()/unschedule_jobs() (caller names them in the message): an error with a hint unless the current user is a superuser or the extension owner (42501), pg_cron 1.4+ is installed in this database (55000: not loaded, scheduling from another database, not created, too old) and the user has USAGE on schema cron (42501); executable by PUBLIC: it reads only what every role may read';

CREATE FUNCTION zerocut.schedule_jobs()
    RETURNS TABLE(jobname text, schedule text, command text)
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job record;
    found_job record;
    removed text[] := '{}';
    paused text[] := '{}';
BEGIN
    PERFORM zerocut.require_pg_cron('schedule_jobs()');
    -- A job of the same name that another role owns, or that runs in another
    -- database, would run beside ours: refuse rather than run twice.
    FOR found_job IN EXECUTE
        'SELECT j.jobname, j.username, j.database FROM cron.job j
         JOIN zerocut.job_schedule s ON s.jobname = j.jobname
         WHERE s.enabled AND (j.username <> current_user OR j.database <> current_database())
         ORDER BY j.jobname, j.username, j.database'
    LOOP
        RAISE EXCEPTION 'schedule_jobs(): pg_cron job % already exists for role % in database %',
            quote_literal(found_job.jobname), quote_ident(found_job.username), quote_ident(found_job.database)
            USING ERRCODE = '42710',
                  HINT = 'Remove it first (zerocut.unschedule_jobs() as a superuser removes every role''s zerocut '
                         'jobs in this database), or call schedule_jobs() as that role.';
    END LOOP;

    FOR job IN SELECT s.jobname, s.schedule, s.command FROM zerocut.job_schedule s WHERE s.enabled
               ORDER BY s.jobname LOOP
        EXECUTE 'SELECT j.jobid, j.schedule, j.command, j.active FROM cron.job j
                 WHERE j.jobname = $1 AND j.username = current_user'
            INTO found_job USING job.jobname;
        IF found_job.jobid IS NULL OR found_job.schedule IS DISTINCT FROM job.schedule
           OR found_job.command IS DISTINCT FROM job.command THEN
            -- pg_cron updates a job of the same name and role in place (its
            -- jobid and history stay).
            EXECUTE 'SELECT cron.schedule($1, $2, $3)' USING job.jobname, job.schedule, job.command;
            UPDATE zerocut.job_schedule s SET scheduled_at = now() WHERE s.jobname = job.jobname;
        END IF;
        IF found_job.jobid IS NOT NULL AND NOT found_job.active THEN
            paused := paused || job.jobname;
        END IF;
        jobname := job.jobname;
        schedule := job.schedule;
        command := job.command;
        RETURN NEXT;
    END LOOP;

    -- The caller's zerocut jobs here that the table no longer enables.
    FOR found_job IN EXECUTE
        'SELECT j.jobid, j.jobname FROM cron.job j
         WHERE left(j.jobname, 8) = ''zerocut-'' AND j.username = current_user AND j.database = current_database()
           AND NOT EXISTS (SELECT FROM zerocut.job_schedule s WHERE s.jobname = j.jobname AND s.enabled)
         ORDER BY j.jobname, j.jobid'
    LOOP
        EXECUTE 'SELECT cron.unschedule($1)' USING found_job.jobid;
        removed := removed || found_job.jobname;
    END LOOP;
    IF cardinality(removed) > 0 THEN
        RAISE NOTICE 'zerocut: schedule_jobs() removed the pg_cron jobs zerocut.job_schedule does not enable: %',
            array_to_string(removed, ', ');
    END IF;
    IF cardinality(paused) > 0 THEN
        RAISE NOTICE 'zerocut: these jobs are paused in pg_cron (cron.job.active = false) and stay paused: %',
            array_to_string(paused, ', ')
            USING HINT = 'Resume one with SELECT cron.alter_job(jobid, active => true);';
    END IF;
END
$$;
COMMENT ON FUNCTION zerocut.schedule_jobs() IS
    'Registers in pg_cron, under the current role (pg_cron runs them as it) and in this database, every enabled job of zerocut.job_schedule; idempotent (an unchanged job is left alone, a changed schedule or command updates the job in place, keeping its jobid); removes the caller''s zerocut-* jobs the table does not enable; returns the registered jobs; superusers and the extension owner only; pg_cron missing or in another database: 55000 with a hint';
REVOKE ALL ON FUNCTION zerocut.schedule_jobs() FROM PUBLIC;

CREATE FUNCTION zerocut.unschedule_jobs()
    RETURNS TABLE(jobid bigint, jobname text, username text)
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found_job record;
BEGIN
    PERFORM zerocut.require_pg_cron('unschedule_jobs()');
    -- pg_cron's row security shows a role its own jobs, a superuser all.
    FOR found_job IN EXECUTE
        'SELECT j.jobid, j.jobname, j.username FROM cron.job j
         WHERE left(j.jobname, 8) = ''zerocut-'' AND j.database = current_database()
         ORDER BY j.jobname, j.username, j.jobid'
    LOOP
        EXECUTE 'SELECT cron.unschedule($1)' USING found_job.jobid;
        jobid := found_job.jobid;
        jobname := found_job.jobname;
        username := found_job.username;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION zerocut.unschedule_jobs() IS
    'Removes from pg_cron the jobs named zerocut-* that run in this database (a superuser''s call: every role''s; otherwise the caller''s own) and returns them; no other job is touched; superusers and the extension owner only';
REVOKE ALL ON FUNCTION zerocut.unschedule_jobs() FROM PUBLIC;

-- The jobs view's rows.  SECURITY DEFINER: a monitoring role granted the
-- view sees the zerocut jobs as the extension's owner does (pg_cron shows a
-- role only its own jobs), and needs no grant on pg_cron or job_schedule.
-- cron.* is read with EXECUTE, so the function exists without pg_cron.
CREATE FUNCTION zerocut.job_status()
    RETURNS TABLE(jobname text, jobid bigint, username text, schedule text, command text, enabled boolean,
                  state text, last_start timestamptz, last_status text, last_duration interval, last_error text,
                  last_error_at timestamptz, last_success timestamptz, run_interval interval, overdue boolean,
                  problem text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job record;
    scheduled_at timestamptz;
    since timestamptz;
BEGIN
    IF to_regclass('cron.job') IS NULL OR to_regclass('cron.job_run_details') IS NULL THEN
        -- No pg_cron here: the configured jobs, none scheduled.
        FOR job IN SELECT s.jobname, s.schedule, s.command, s.enabled FROM zerocut.job_schedule s
                   ORDER BY s.jobname LOOP
            jobname := job.jobname; jobid := NULL; username := NULL;
            schedule := job.schedule; command := job.command; enabled := job.enabled;
            state := CASE WHEN job.enabled THEN 'not scheduled' ELSE 'disabled' END;
            last_start := NULL; last_status := NULL; last_duration := NULL; last_error := NULL;
            last_error_at := NULL; last_success := NULL; overdue := NULL; problem := NULL;
            BEGIN
                run_interval := zerocut.cron_schedule_interval(job.schedule);
            EXCEPTION WHEN invalid_parameter_value THEN
                run_interval := NULL;
            END;
            RETURN NEXT;
        END LOOP;
        RETURN;
    END IF;
    FOR job IN EXECUTE
        'WITH ours AS (
             SELECT j.jobid, j.jobname, j.username, j.schedule, j.command, j.active
             FROM cron.job j
             WHERE left(j.jobname, 8) = ''zerocut-'' AND j.database = current_database()
         ), runs AS (
             SELECT d.jobid, max(d.runid) AS last_runid,
                    max(d.runid) FILTER (WHERE d.status = ''failed'') AS failed_runid,
                    max(d.end_time) FILTER (WHERE d.status = ''succeeded'') AS last_success
             FROM cron.job_run_details d
             WHERE d.jobid IN (SELECT o.jobid FROM ours o)
             GROUP BY d.jobid
         )
         SELECT coalesce(o.jobname, s.jobname) AS jobname, o.jobid, o.username,
                coalesce(o.schedule, s.schedule) AS schedule, coalesce(o.command, s.command) AS command,
                s.enabled, o.active, s.scheduled_at,
                l.start_time AS last_start, l.status AS last_status, l.end_time - l.start_time AS last_duration,
                f.return_message AS last_error, coalesce(f.end_time, f.start_time) AS last_error_at,
                r.last_success
         FROM ours o
         FULL JOIN zerocut.job_schedule s ON s.jobname = o.jobname
         LEFT JOIN runs r ON r.jobid = o.jobid
         LEFT JOIN cron.job_run_details l ON l.runid = r.last_runid
         LEFT JOIN cron.job_run_details f ON f.runid = r.failed_runid
         ORDER BY 1, o.username, o.jobid'
    LOOP
        jobname := job.jobname; jobid := job.jobid; username := job.username;
        schedule := job.schedule; command := job.command; enabled := job.enabled;
        state := CASE WHEN job.jobid IS NULL THEN CASE WHEN job.enabled THEN 'not scheduled' ELSE 'disabled' END
                      WHEN NOT job.active THEN 'paused'
                      ELSE 'scheduled' END;
        last_start := job.last_start; last_status := job.last_status; last_duration := job.last_duration;
        last_error := job.last_error; last_error_at := job.last_error_at; last_success := job.last_success;
        BEGIN
            run_interval := zerocut.cron_schedule_interval(job.schedule);
        EXCEPTION WHEN invalid_parameter_value THEN
            run_interval := NULL;
        END;
        -- Overdue: no success within two intervals of the last success, or
        -- of the (re)scheduling when there was none since.
        scheduled_at := CASE WHEN job.jobid IS NOT NULL THEN job.scheduled_at END;
        since := greatest(job.last_success, scheduled_at);
        overdue := CASE WHEN state <> 'scheduled' THEN false
                        WHEN run_interval IS NULL OR since IS NULL THEN NULL
                        ELSE since < now() - 2 * run_interval END;
        problem := CASE WHEN state = 'scheduled' AND job.last_status = 'failed' THEN 'failed'
                        WHEN overdue THEN 'overdue' END;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION zerocut.job_status() IS
    'The rows of the view zerocut.jobs; SECURITY DEFINER (reads pg_cron as the extension owner); works without pg_cron (configured jobs, not scheduled)';
REVOKE ALL ON FUNCTION zerocut.job_status() FROM PUBLIC;

CREATE VIEW zerocut.jobs AS SELECT * FROM zerocut.job_status();
COMMENT ON VIEW zerocut.jobs IS
    'Every zerocut job (the rows of zerocut.job_schedule and the pg_cron jobs named zerocut-* in this database): schedule, state (scheduled, paused, not scheduled, disabled), last run (start, status, duration), last failure (message, time), last success, the longest interval between runs, overdue (no success within two intervals), and problem: failed (the last run failed) or overdue, NULL when healthy';

CREATE FUNCTION zerocut.auto_maintenance(min_change_ratio real DEFAULT 0.1)
    RETURNS TABLE(tbl regclass, action text, rows_changed bigint, duration interval)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_auto_maintenance';
COMMENT ON FUNCTION zerocut.auto_maintenance(real) IS
    'ANALYZEs each domain table and partition whose rows changed since its last analyze (pg_stat n_mod_since_analyze) by more than min_change_ratio (0..1000000) of its rows, and each partitioned domain table whose partitions did (with its partitions); returns one row per such table (analyzed, skipped: locked by another session, or failed: message) and writes one summary row to audit_log.system_log; tables the caller may not ANALYZE are left out with a NOTICE; ANALYZE works as each table''s owner; on a hot standby no rows and a NOTICE';
REVOKE ALL ON FUNCTION zerocut.auto_maintenance(real) FROM PUBLIC;
