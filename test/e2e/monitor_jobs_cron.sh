#!/usr/bin/env bash
# zerocut's jobs with a real pg_cron (docs/jobs.md):
#  1. auto_maintenance() skips a table whose lock another session holds;
#  2. schedule_jobs() registers a job that succeeds (auto_maintenance) and
#     one that fails; pg_cron runs them and `jobs` shows both outcomes, and
#     `alerts` the failing one (until unschedule_jobs());
#     ('5 seconds' on pg_cron 1.5+, else every minute: up to ~60 s);
#  3. a hot standby beside it: pg_cron runs nothing there, and every zerocut
#     job command is a no-op with a NOTICE (auto_maintenance: no rows);
#  4. unschedule_jobs() removes them;
#  5. a database that is not cron.database_name cannot schedule (55000, with
#     a hint), and zerocut.job_schedule survives pg_dump and restore.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/lib/cluster.sh"

STANDBY_PORT=
LOCKER_PID=
cleanup() {
    [ -n "$LOCKER_PID" ] && kill "$LOCKER_PID" 2>/dev/null
    if [ -n "$STANDBY_PORT" ]; then
        zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$ZC_DIR/standby" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    zc_cluster_stop
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    exit 1
}

# No TCP on the throwaway cluster: pg_cron runs jobs in background workers.
zc_cluster_start "shared_preload_libraries = 'pg_cron'" "cron.database_name = 'postgres'" \
    "cron.use_background_workers = on" "max_worker_processes = 16" \
    "wal_level = replica" "max_wal_senders = 4" "hot_standby = on"
zc_psql -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_cron;
CREATE EXTENSION zerocut;
SELECT zerocut.install_domain_schema();
SELECT zerocut.generate_sample_data(3, 10);
SELECT count(*) FROM zerocut.auto_maintenance(0);
SQL

# 1. A changed table whose SHARE UPDATE EXCLUSIVE lock another session holds
# is skipped, not waited for.
zc_psql -q -c "UPDATE workspace_domain.workspace SET name = name" -c "SELECT pg_stat_force_next_flush()" >/dev/null
PGAPPNAME=zc_e2e_locker zc_psql -q -c "BEGIN" \
    -c "LOCK TABLE workspace_domain.workspace IN SHARE UPDATE EXCLUSIVE MODE" -c "SELECT pg_sleep(60)" \
    >/dev/null 2>&1 &
LOCKER_PID=$!
for _ in $(seq 1 100); do
    held=$(zc_psql -At -c "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                           WHERE a.application_name = 'zc_e2e_locker' AND l.granted
                             AND l.relation = 'workspace_domain.workspace'::regclass")
    [ "$held" = 1 ] && break
    sleep 0.1
done
[ "$held" = 1 ] || fail "the locking session did not get its lock"
action=$(zc_psql -At -c "SELECT action FROM zerocut.auto_maintenance()
                         WHERE tbl = 'workspace_domain.workspace'::regclass")
echo "locked table: $action"
[ "$action" = "skipped: locked by another session" ] || fail "a locked table was not skipped"
zc_psql -q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'zc_e2e_locker'" \
    >/dev/null
wait "$LOCKER_PID" 2>/dev/null || true
LOCKER_PID=

# 2a. A streaming standby, started before the jobs exist (it then replays them).
zc_as_owner "$ZC_BINDIR/pg_basebackup" -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -D "$ZC_DIR/standby" -R -X stream \
    -c fast >/dev/null
STANDBY_PORT=$((ZC_PORT + 1))
while ss -Hltn "sport = :$STANDBY_PORT" 2>/dev/null | grep -q . || [ -e "/tmp/.s.PGSQL.$STANDBY_PORT" ]; do
    STANDBY_PORT=$((STANDBY_PORT + 1))
done
echo "port = $STANDBY_PORT" | zc_as_owner tee -a "$ZC_DIR/standby/postgresql.conf" >/dev/null
zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$ZC_DIR/standby" -l "$ZC_DIR/standby.log" -w -t 60 start >/dev/null
standby() { psql -X -v ON_ERROR_STOP=1 -h "$ZC_SOCK" -p "$STANDBY_PORT" -U postgres "$@"; }
[ "$(standby -At -c 'SELECT pg_is_in_recovery()')" = t ] || fail "not a standby"

# 2b. Two jobs: auto_maintenance (succeeds) and one that fails.
version=$(zc_psql -At -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'")
case "$version" in
    1.[0-4]*) every='* * * * *' ;;   # pg_cron 1.4 schedules by the minute
    *) every='5 seconds' ;;
esac
echo "pg_cron $version, jobs every '$every'"
logged_before=$(zc_psql -At -c "SELECT count(*) FROM audit_log.system_log WHERE message LIKE 'Auto maintenance:%'")
zc_psql -q -v every="$every" <<'SQL'
UPDATE zerocut.job_schedule SET enabled = false;
UPDATE zerocut.job_schedule SET enabled = true, schedule = :'every' WHERE jobname = 'zerocut-auto-maintenance';
INSERT INTO zerocut.job_schedule (jobname, schedule, command) VALUES ('zerocut-e2e-fails', :'every', 'SELECT 1/0');
SELECT jobname, schedule FROM zerocut.schedule_jobs();
SQL
status_of() {
    zc_psql -At -c "SELECT coalesce(last_status, '') FROM zerocut.jobs WHERE jobname = '$1'"
}
for _ in $(seq 1 100); do
    ok=$(status_of zerocut-auto-maintenance)
    bad=$(status_of zerocut-e2e-fails)
    [ "$ok" = succeeded ] && [ "$bad" = failed ] && break
    sleep 1
done
zc_psql -P pager=off -c "SELECT jobname, state, last_status, last_duration, last_error, last_success IS NOT NULL AS succeeded_once, run_interval, overdue, problem FROM zerocut.jobs WHERE state = 'scheduled'"
[ "$ok" = succeeded ] || fail "the auto_maintenance job did not succeed (status '$ok')"
[ "$bad" = failed ] || fail "the failing job did not fail (status '$bad')"
# (its next run may be under way: last_status can be 'running' by now)
row=$(zc_psql -At -c "SELECT coalesce(problem, 'none') || ' ' || (last_success IS NOT NULL)
                      FROM zerocut.jobs WHERE jobname = 'zerocut-auto-maintenance'")
[ "$row" = "none true" ] || fail "jobs shows the succeeding job as: $row"
# (failed, or overdue too while a next run is under way: it never succeeds)
row=$(zc_psql -At -c "SELECT (problem IN ('failed', 'overdue')) || ' ' || (last_error LIKE '%division by zero%')
                      FROM zerocut.jobs WHERE jobname = 'zerocut-e2e-fails'")
[ "$row" = "true true" ] || fail "jobs shows the failing job as: $row"
# ... and it is an alert (critical when failed, warning while overdue); the good one is not.
alert=$(zc_psql -At -c "SELECT string_agg(object || ' ' || severity, ', ') FROM zerocut.alerts WHERE kind = 'job'")
echo "job alerts: $alert"
case "$alert" in
    "zerocut-e2e-fails critical" | "zerocut-e2e-fails warning") ;;
    *) fail "alerts shows the jobs as: $alert" ;;
esac
logged_after=$(zc_psql -At -c "SELECT count(*) FROM audit_log.system_log WHERE message LIKE 'Auto maintenance:%'")
[ "$logged_after" -gt "$logged_before" ] || fail "the job's auto_maintenance() wrote no log row"

# 3. The standby has the jobs (replayed) but pg_cron runs none of them there;
# the primary's log shows its runs.
for _ in $(seq 1 50); do
    [ "$(standby -At -c "SELECT count(*) FROM cron.job WHERE jobname LIKE 'zerocut-%'")" = 2 ] && break
    sleep 0.2
done
[ "$(standby -At -c "SELECT count(*) FROM zerocut.jobs WHERE state = 'scheduled'")" = 2 ] \
    || fail "the standby's jobs view does not show the replayed jobs"
grep -q "cron job" "$ZC_DIR/server.log" || fail "no pg_cron run in the primary's log (cron.log_run)"
if grep "cron job" "$ZC_DIR/standby.log"; then fail "pg_cron ran a job on the standby"; fi
# Each zerocut job command, run there by hand: no error, a NOTICE, no work.
for command in "CALL zerocut.run_maintenance_proc()" "CALL zerocut.archive_proc()" \
    "SELECT count(*) FROM zerocut.refresh_analytics_views()" "SELECT count(*) FROM zerocut.auto_maintenance()"; do
    out=$(standby -At -c "$command" 2>&1) || fail "on the standby, $command failed: $out"
    echo "standby: $command -> $(echo "$out" | tr '\n' ' ')"
    echo "$out" | grep -q "hot standby" || fail "no hot-standby NOTICE from $command"
done
[ "$(standby -At -c "SELECT count(*) FROM zerocut.auto_maintenance(0)" 2>/dev/null)" = 0 ] \
    || fail "auto_maintenance() returned rows on the standby"

# 4. unschedule_jobs() removes exactly the two.
removed=$(zc_psql -At -c "SELECT string_agg(jobname, ',' ORDER BY jobname) FROM zerocut.unschedule_jobs()")
[ "$removed" = "zerocut-auto-maintenance,zerocut-e2e-fails" ] || fail "unschedule_jobs() removed: $removed"
[ "$(zc_psql -At -c "SELECT count(*) FROM cron.job")" = 0 ] || fail "jobs left in cron.job"
[ "$(zc_psql -At -c "SELECT count(*) FROM zerocut.alerts WHERE kind = 'job'")" = 0 ] || fail "job alerts left"

# 5. Another database: pg_cron schedules only from cron.database_name.
zc_psql -q -c "CREATE DATABASE other" -c "CREATE DATABASE restored"
zc_psql -q -d other <<'SQL'
CREATE EXTENSION zerocut;
UPDATE zerocut.job_schedule SET schedule = '10 * * * *' WHERE jobname = 'zerocut-partition-maintenance';
UPDATE zerocut.job_schedule SET enabled = false WHERE jobname = 'zerocut-vacuum';
INSERT INTO zerocut.job_schedule (jobname, schedule, command) VALUES ('zerocut-mine', '@daily', 'SELECT 1');
SQL
out=$(zc_psql -d other -c "SELECT * FROM zerocut.schedule_jobs()" 2>&1) && fail "scheduled from another database"
echo "$out"
echo "$out" | grep -q 'pg_cron schedules jobs from database "postgres"' || fail "unexpected error: $out"
echo "$out" | grep -q "HINT:.*cron.schedule_in_database" || fail "no hint"
# ... and its job configuration survives pg_dump and restore (changed
# built-in rows replace the ones CREATE EXTENSION makes; added rows stay).
zc_as_owner "$ZC_BINDIR/pg_dump" -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -d other >"$ZC_DIR/other.sql"
zc_psql -q -d restored -f "$ZC_DIR/other.sql" >/dev/null
restored=$(zc_psql -d restored -At -c "SELECT string_agg(jobname || ' ' || schedule || ' ' || enabled, '; ' ORDER BY jobname)
                                     FROM zerocut.job_schedule WHERE jobname IN ('zerocut-partition-maintenance', 'zerocut-vacuum', 'zerocut-mine')")
echo "restored: $restored"
[ "$restored" = "zerocut-mine @daily true; zerocut-partition-maintenance 10 * * * * true; zerocut-vacuum 0 4 * * 0 false" ] \
    || fail "job_schedule was not restored as dumped"
[ "$(zc_psql -d restored -At -c "SELECT count(*) FROM zerocut.job_schedule")" = 7 ] || fail "restored rows"

zc_check_server_log
zc_check_server_log "$ZC_DIR/standby.log"
echo "ok"
