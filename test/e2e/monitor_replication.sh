#!/usr/bin/env bash
# v_replication_status on both ends of streaming replication: on the
# primary a 'standby' row (streaming) and the standby's slot ('active',
# then 'inactive' once the standby stops); on the standby an 'upstream'
# row, and every monitoring view reads there without error (none calls
# pg_current_wal_lsn() in recovery); replay paused there is a replication
# lag alert until it resumes.  A primary and a replica made with
# pg_basebackup, both throwaway.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/lib/cluster.sh"

STANDBY_PORT=
cleanup() {
    if [ -n "$STANDBY_PORT" ]; then
        zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$ZC_DIR/standby" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    zc_cluster_stop
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

zc_cluster_start "wal_level = replica" "max_wal_senders = 4" "hot_standby = on"
zc_psql -q -c "CREATE EXTENSION zerocut" >/dev/null

zc_as_owner "$ZC_BINDIR/pg_basebackup" -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -D "$ZC_DIR/standby" -R -X stream \
    -C -S zc_standby_slot -c fast >/dev/null
STANDBY_PORT=$((ZC_PORT + 1))
while ss -Hltn "sport = :$STANDBY_PORT" 2>/dev/null | grep -q . || [ -e "/tmp/.s.PGSQL.$STANDBY_PORT" ]; do
    STANDBY_PORT=$((STANDBY_PORT + 1))
done
# cluster_name is the WAL receiver's application_name on the primary.
{ echo "port = $STANDBY_PORT"; echo "cluster_name = 'zc_standby'"; } \
    | zc_as_owner tee -a "$ZC_DIR/standby/postgresql.conf" >/dev/null
zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$ZC_DIR/standby" -l "$ZC_DIR/standby.log" -w -t 60 start >/dev/null

standby() { psql -X -v ON_ERROR_STOP=1 -h "$ZC_SOCK" -p "$STANDBY_PORT" -U postgres "$@"; }
[ "$(standby -At -c 'SELECT pg_is_in_recovery()')" = t ] || fail "not a standby"

# Wait (up to 30 s) until the primary sees the standby streaming.
for _ in $(seq 1 60); do
    [ "$(zc_psql -At -c "SELECT count(*) FROM zerocut.v_replication_status WHERE kind = 'standby' AND state = 'streaming'")" = 1 ] && break
    sleep 0.5
done
zc_psql -c "SELECT kind, name, state, sync_state, lag_bytes >= 0 AS lag_known FROM zerocut.v_replication_status ORDER BY kind"
[ "$(zc_psql -At -c "SELECT name || ' ' || state || ' ' || (lag_bytes >= 0) FROM zerocut.v_replication_status WHERE kind = 'standby'")" = "zc_standby streaming true" ] \
    || fail "primary: no streaming standby row"
[ "$(zc_psql -At -c "SELECT state FROM zerocut.v_replication_status WHERE kind = 'slot' AND name = 'zc_standby_slot'")" = active ] \
    || fail "primary: slot not active"
[ "$(zc_psql -At -c "SELECT count(*) FROM zerocut.v_replication_status WHERE kind = 'upstream'")" = 0 ] \
    || fail "primary: an upstream row"

# A write on the primary reaches the standby; then the standby's view.
zc_psql -q -c "CREATE TABLE zc_mon_t AS SELECT 1 AS x"
for _ in $(seq 1 60); do
    [ "$(standby -At -c "SELECT to_regclass('zc_mon_t') IS NOT NULL")" = t ] && break
    sleep 0.5
done
standby -c "SELECT kind, name, state, lag_bytes >= 0 AS lag_known, lag_seconds >= 0 AS seconds_known FROM zerocut.v_replication_status ORDER BY kind"
[ "$(standby -At -c "SELECT kind || ' ' || name || ' ' || state || ' ' || (lag_bytes >= 0) || ' ' || (lag_seconds >= 0) FROM zerocut.v_replication_status")" \
    = "upstream zc_standby_slot streaming true true" ] || fail "standby: no streaming upstream row"

# Every monitoring view and config_advice() read on the standby.
standby -At -c "SELECT (SELECT count(*) FROM zerocut.v_table_sizes) >= 1,
                       (SELECT count(*) FROM zerocut.v_index_usage) >= 0,
                       (SELECT count(*) FROM zerocut.v_connection_stats) >= 6,
                       (SELECT count(*) FROM zerocut.v_cache_hit_ratio) = 3,
                       (SELECT count(*) FROM zerocut.long_transactions('0')) >= 1,
                       (SELECT count(*) FROM zerocut.config_advice()) = 11,
                       (SELECT count(*) FROM zerocut.metrics()) >= 1" | grep -qx 't|t|t|t|t|t|t' \
    || fail "standby: a monitoring view failed"

# Replication lag as an alert (threshold 0 here; the view's 60 s is not
# reached): replay paused on the standby while the primary writes, then
# resumed; the alert goes once the standby has caught up.
standby -q -c "SELECT pg_wal_replay_pause()"
zc_psql -q -c "INSERT INTO zc_mon_t VALUES (2)"
for _ in $(seq 1 60); do
    [ "$(standby -At -c "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()")" = t ] && break
    sleep 0.5
done
lag_alerts() { standby -At -c "SELECT string_agg(severity || ' ' || object, ',') FROM zerocut.find_alerts(replication_lag => '$1') WHERE kind = 'replication_lag'"; }
alert=$(lag_alerts 0)
echo "standby, replay paused: $alert"
[ "$alert" = "warning upstream zc_standby_slot" ] || fail "standby: no replication lag alert while paused: '$alert'"
[ -z "$(lag_alerts 60)" ] || fail "standby: lag alert under 60 s"
standby -q -c "SELECT pg_wal_replay_resume()"
for _ in $(seq 1 60); do
    [ -z "$(lag_alerts 0)" ] && break
    sleep 0.5
done
[ -z "$(lag_alerts 0)" ] || fail "standby: the lag alert stayed after catching up"

# The standby stops: no standby row, the slot is inactive and retains WAL.
zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$ZC_DIR/standby" -m fast -w stop >/dev/null
STANDBY_PORT=
for _ in $(seq 1 60); do
    [ "$(zc_psql -At -c "SELECT count(*) FROM zerocut.v_replication_status WHERE kind = 'standby'")" = 0 ] && break
    sleep 0.5
done
[ "$(zc_psql -At -c "SELECT string_agg(kind || ' ' || state || ' ' || (lag_bytes >= 0), ',') FROM zerocut.v_replication_status")" \
    = "slot inactive true" ] || fail "primary after the standby stopped: $(zc_psql -At -c 'SELECT * FROM zerocut.v_replication_status')"

zc_check_server_log
zc_check_server_log "$ZC_DIR/standby.log"
echo "ok"
