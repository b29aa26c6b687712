#!/usr/bin/env bash
# refresh_analytics_views() on a hot standby: no rows, a NOTICE, no error;
# get_workspace_dashboard_stats() (read-only) works there.  A primary and a
# streaming replica made with pg_basebackup, both throwaway.
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

zc_cluster_start "wal_level = replica" "max_wal_senders = 4" "hot_standby = on"
zc_psql -q -c "CREATE EXTENSION zerocut" -c "SELECT zerocut.install_domain_schema()" \
    -c "SELECT zerocut.generate_sample_data(3, 10)" -c "SELECT count(*) FROM zerocut.refresh_analytics_views()" >/dev/null

zc_as_owner "$ZC_BINDIR/pg_basebackup" -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -D "$ZC_DIR/standby" -R -X stream -c fast >/dev/null
STANDBY_PORT=$((ZC_PORT + 1))
while ss -Hltn "sport = :$STANDBY_PORT" 2>/dev/null | grep -q . || [ -e "/tmp/.s.PGSQL.$STANDBY_PORT" ]; do
    STANDBY_PORT=$((STANDBY_PORT + 1))
done
echo "port = $STANDBY_PORT" | zc_as_owner tee -a "$ZC_DIR/standby/postgresql.conf" >/dev/null
zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$ZC_DIR/standby" -l "$ZC_DIR/standby.log" -w -t 60 start >/dev/null

standby() { psql -X -v ON_ERROR_STOP=1 -h "$ZC_SOCK" -p "$STANDBY_PORT" -U postgres "$@"; }

[ "$(standby -At -c 'SELECT pg_is_in_recovery()')" = t ] || { echo "FAIL: not a standby"; exit 1; }

out=$(standby -At -c "SELECT count(*) FROM zerocut.refresh_analytics_views()" 2>&1)
echo "$out"
echo "$out" | grep -q "NOTICE:  zerocut: refresh_analytics_views() does nothing on a hot standby" \
    || { echo "FAIL: no NOTICE on the standby"; exit 1; }
[ "$(echo "$out" | tail -n 1)" = 0 ] || { echo "FAIL: rows returned on the standby"; exit 1; }

# The dashboard reads only: same answer on the standby as on the primary.
primary_json=$(zc_psql -At -c "SELECT zerocut.get_workspace_dashboard_stats(2)")
standby_json=$(standby -At -c "SELECT zerocut.get_workspace_dashboard_stats(2)")
[ -n "$primary_json" ] && [ "$primary_json" = "$standby_json" ] || { echo "FAIL: dashboard differs on the standby"; exit 1; }

# Nothing was logged by the standby call (the primary's log holds one refresh).
[ "$(zc_psql -At -c "SELECT count(*) FROM audit_log.system_log WHERE message = 'Refreshed analytics views'")" = 1 ] \
    || { echo "FAIL: unexpected log rows"; exit 1; }

zc_check_server_log
zc_check_server_log "$ZC_DIR/standby.log"
echo "ok"
