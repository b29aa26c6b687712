#!/usr/bin/env bash
# A read replica (读写分离): a hot standby made with pg_basebackup.  As a
# login role IN ROLE readonly_user, the dashboard function and the analytics
# views answer on the standby as on the primary; every zerocut job run there
# returns early with a NOTICE and changes nothing; the jobs that move data on
# request refuse with 25006.  Then the replication lag while the primary
# archives N old rows: CALL zerocut.archive_proc (batches of 10000, a commit
# each) against the seed's single DELETE ... RETURNING -> INSERT statement
# on an identical copy.  Prints MEASURE lines (maximum lag in bytes and in
# time, sampled every 100 ms).  ZC_OPS_REPLICA_ROWS (default 200000) = N.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/lib/cluster.sh"
source "$ROOT/test/lib/ops.sh"
ROWS=${ZC_OPS_REPLICA_ROWS:-200000}
S_DATA=
SAMPLER=
cleanup() {
    [ -z "$SAMPLER" ] || kill "$SAMPLER" 2>/dev/null || true
    [ -z "$S_DATA" ] || zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$S_DATA" -m immediate -w stop >/dev/null 2>&1 || true
    ops_cleanup
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

P_DIR='' P_PORT=''
ops_cluster_start P "wal_level = replica" "max_wal_senders = 4" "hot_standby = on" "timezone = 'UTC'"
ops_psql P -q -c "CREATE DATABASE app"
ops_psql P -q -d app >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION zerocut;
SELECT zerocut.install_domain_schema();
SELECT zerocut.generate_sample_data(8, 400);
SELECT zerocut.archive_old_consumption_records();
SELECT count(*) FROM zerocut.refresh_analytics_views();
SELECT zerocut.setup_roles();
SELECT zerocut.enable_workspace_isolation();
CREATE ROLE ops_reader LOGIN IN ROLE readonly_user;
-- two identical tables of old rows for the lag measurement
CREATE TABLE public.flat_zc (id bigint PRIMARY KEY, workspace_id integer NOT NULL, amount numeric(14,4) NOT NULL,
                             created_at timestamptz NOT NULL, description text);
INSERT INTO public.flat_zc
SELECT i, 1 + i % 8, i % 1000 / 10.0, now() - interval '1 year' - i * interval '1 second', 'row ' || i
FROM generate_series(1, $ROWS) i;
CREATE TABLE public.flat_seed (LIKE public.flat_zc INCLUDING ALL);
INSERT INTO public.flat_seed SELECT * FROM public.flat_zc;
CREATE TABLE public.flat_seed_archive (LIKE public.flat_zc INCLUDING ALL);
SELECT zerocut.set_archive_policy('public.flat_zc', 'created_at', '6 months', batch_size => 10000);
VACUUM ANALYZE public.flat_zc, public.flat_seed;
CHECKPOINT;
SQL

S_DATA=$P_DIR/standby
zc_as_owner "$ZC_BINDIR/pg_basebackup" -h "$P_DIR" -p "$P_PORT" -U postgres -D "$S_DATA" -R -X stream -c fast
S_PORT=$((P_PORT + 1))   # its socket goes into P's directory too
echo "port = $S_PORT" | zc_as_owner tee -a "$S_DATA/postgresql.conf" >/dev/null
zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$S_DATA" -l "$P_DIR/standby.log" -w -t 60 start >/dev/null
standby() { psql -X -v ON_ERROR_STOP=1 -h "$P_DIR" -p "$S_PORT" "$@"; }
[ "$(standby -U postgres -At -c 'SELECT pg_is_in_recovery()')" = t ] || fail "not a standby"
for _ in $(seq 1 100); do
    [ "$(ops_psql P -At -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND replay_lsn = pg_current_wal_lsn()")" = 1 ] && break
    sleep 0.1
done

# --- reads as readonly_user ------------------------------------------------
reads="SELECT zerocut.get_workspace_dashboard_stats(3)::text UNION ALL
       SELECT count(*) || '/' || sum(total_api_calls) FROM data_statistics.mv_workspace_analytics UNION ALL
       SELECT count(*)::text FROM workspace_domain.v_user_workspace_optimized UNION ALL
       SELECT count(*) || '/' || sum(amount) FROM financial_management.consumption_record UNION ALL
       SELECT count(*)::text FROM archive.consumption_record_archive"
on_primary=$(ops_psql P -At -d app -U ops_reader -c "$reads" 2>&1) || fail "reads on the primary: $on_primary"
on_standby=$(standby -At -d app -U ops_reader -c "$reads" 2>&1) || fail "reads on the standby: $on_standby"
[ "$on_primary" = "$on_standby" ] || fail "the standby answers differently: $on_standby / $on_primary"
[ "$(sed -n 2p <<<"$on_standby")" != "0/" ] || fail "readonly_user sees no analytics rows"
echo "readonly_user on the standby: dashboard, analytics views, domain and archive tables as on the primary"
if standby -d app -U ops_reader -c "UPDATE financial_management.account SET balance = 0" >/dev/null 2>&1; then
    fail "a write succeeded on the standby"
fi

# --- every job on the standby: a NOTICE, no rows, no change -----------------
before=$(ops_state P app)
jobs=("SELECT count(*) FROM zerocut.run_maintenance()|run_maintenance() does nothing on a hot standby"
      "CALL zerocut.run_maintenance_proc()|run_maintenance() does nothing on a hot standby"
      "SELECT count(*) FROM zerocut.archive('public.flat_zc')|this server is a hot standby; nothing is archived"
      "CALL zerocut.archive_proc()|this server is a hot standby; nothing is archived"
      "SELECT zerocut.archive_old_consumption_records()|this server is a hot standby; nothing is archived"
      "SELECT count(*) FROM zerocut.refresh_analytics_views()|refresh_analytics_views() does nothing on a hot standby")
for job in "${jobs[@]}"; do
    sql=${job%%|*}
    notice=${job#*|}
    out=$(standby -U postgres -d app -At -c "$sql" 2>&1) || fail "$sql failed on the standby: $out"
    grep -q "NOTICE:  .*$notice" <<<"$out" || fail "$sql: no NOTICE '$notice' on the standby: $out"
    last=$(tail -n 1 <<<"$out")
    case "$last" in 0 | "" | CALL | NOTICE:*) ;; *) fail "$sql returned '$last' on the standby" ;; esac
    echo "standby: $sql -> NOTICE, nothing done"
done
for sql in "SELECT zerocut.archive_partition('financial_management.consumption_record')" \
    "SELECT zerocut.restore_archived('financial_management.consumption_record', now() - interval '2 years', now())"; do
    state=$(standby -U postgres -d app -At -v VERBOSITY=sqlstate -c "$sql" 2>&1) && fail "$sql succeeded on the standby"
    grep -q 25006 <<<"$state" || fail "$sql: expected 25006 on the standby, got $state"
done
[ "$(ops_state P app)" = "$before" ] || fail "the primary changed while jobs ran on the standby"

# --- replication lag while archiving ---------------------------------------
sample() {  # file: bytes and seconds behind, every 100 ms
    while :; do
        ops_psql P -At -F ' ' -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), coalesce(extract(epoch FROM replay_lag), 0)
                                  FROM pg_stat_replication" >>"$1" 2>/dev/null || true
        sleep 0.1
    done
}
measure() {  # label sql
    local file=$P_DIR/lag.$1 start ms
    : >"$file"
    sample "$file" &
    SAMPLER=$!
    start=$(($(date +%s%N) / 1000000))
    ops_psql P -q -d app -c "SET client_min_messages = warning" -c "$2" >/dev/null
    ms=$(($(date +%s%N) / 1000000 - start))
    for _ in $(seq 1 300); do
        [ "$(ops_psql P -At -c "SELECT replay_lsn >= pg_current_wal_lsn() FROM pg_stat_replication")" = t ] && break
        sleep 0.1
    done
    kill "$SAMPLER"
    wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=
    awk -v label="$1" -v ms="$ms" -v rows="$ROWS" '
        { if ($1 > b) b = $1; if ($2 > s) s = $2 }
        END { printf "MEASURE replica lag, %s: %d rows archived in %d ms; max lag %.1f MB, %.2f s\n", label, rows, ms, b / 1048576, s }' "$file"
}
measure "zerocut archive_proc (batches of 10000, commit each)" "CALL zerocut.archive_proc('public.flat_zc')"
measure "seed single statement (DELETE ... RETURNING -> INSERT)" \
    "WITH moved AS (DELETE FROM public.flat_seed WHERE created_at < CURRENT_DATE - interval '6 months' RETURNING *) INSERT INTO public.flat_seed_archive SELECT * FROM moved"
moved=$(standby -U postgres -d app -At -c "SELECT (SELECT count(*) FROM archive.flat_zc_archive) || '/' || (SELECT count(*) FROM public.flat_seed_archive)")
[ "$moved" = "$ROWS/$ROWS" ] || fail "the standby shows $moved archived rows, expected $ROWS/$ROWS"

zc_check_server_log "$P_DIR/server.log"
zc_check_server_log "$P_DIR/standby.log"
echo "ok: read replica"
