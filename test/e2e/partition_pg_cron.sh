#!/usr/bin/env bash
# A real pg_cron job runs CALL zerocut.run_maintenance_proc() (which commits
# per parent): the job succeeds and the partition rescue it performs is visible.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/lib/cluster.sh"
trap zc_cluster_stop EXIT
# No TCP on the throwaway cluster: pg_cron runs jobs in background workers.
zc_cluster_start "shared_preload_libraries = 'pg_cron'" "cron.database_name = 'postgres'" "cron.use_background_workers = on"

zc_psql -q <<'SQL'
CREATE EXTENSION pg_cron;
CREATE EXTENSION zerocut;
CREATE TABLE public.events (id bigserial, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
SELECT zerocut.manage_partitions('public.events', 'at', premake => 1);
-- a row for a month without a partition: it waits in the default partition
INSERT INTO public.events (at) VALUES ('2001-02-03');
-- pg_cron 1.4 (Debian 12) schedules by the minute: the job runs within 60 s.
SELECT cron.schedule('zerocut-maintenance', '* * * * *', 'CALL zerocut.run_maintenance_proc()');
SQL
for _ in $(seq 1 90); do
    status=$(zc_psql -At -c "SELECT status FROM cron.job_run_details ORDER BY runid DESC LIMIT 1")
    [ "$status" = succeeded ] || [ "$status" = failed ] && break
    sleep 1
done
zc_psql -At -c "SELECT status || ': ' || coalesce(return_message, '') FROM cron.job_run_details ORDER BY runid DESC LIMIT 1"
[ "$status" = succeeded ] || { echo "pg_cron job did not succeed"; exit 1; }
placed=$(zc_psql -At -c "SELECT tableoid::regclass FROM public.events")
echo "row now in: $placed"
[ "$placed" = events_2001_02 ] || { echo "the job did not rescue the row"; exit 1; }
zc_check_server_log
echo "pg_cron maintenance ok"
