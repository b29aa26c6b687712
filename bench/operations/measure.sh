#!/usr/bin/env bash
# Backup and restore throughput of a zerocut database, for
# bench/results/operations.md (not part of `make bench`: it is not run.sh).
#   bash bench/operations/measure.sh [WORKSPACES]   (default 200; x 400 days of sample data)
# One throwaway cluster with WAL archiving to pgBackRest
# (scripts/pgbackrest.conf.sample), the domain schema and sample data; then
#   logical:  scripts/zerocut-backup, scripts/zerocut-restore --create
#   physical: pgbackrest full backup, restore into a new directory, start,
#             replay to consistency
# Prints one markdown table row per step (MB/s of the database's size).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ZC_BINDIR=${ZC_BINDIR:-$(bash "$ROOT/scripts/tmp_install.sh" "$ROOT")}
export ZC_BINDIR
source "$ROOT/test/lib/cluster.sh"
source "$ROOT/test/lib/ops.sh"
SCALE=${1:-200}
WORK=$(mktemp -d /tmp/zerocut-ops-measure.XXXXXX)
chmod 755 "$WORK"
R_DATA=$WORK/restored
cleanup() {
    [ ! -f "$R_DATA/PG_VERSION" ] || zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$R_DATA" -m immediate -w stop >/dev/null 2>&1 || true
    ops_cleanup
    rm -rf "$WORK"
}
trap cleanup EXIT
P_DIR='' P_PORT='' P_DATA=''
ops_cluster_start P "archive_mode = on" "wal_level = replica" "checkpoint_timeout = 30min"
CONF=$P_DIR/pgbackrest.conf
sed -e "s|^repo1-path=.*|repo1-path=$P_DIR/repo|" -e "s|^spool-path=.*|spool-path=$P_DIR/spool|" \
    -e "s|^log-path=.*|log-path=$P_DIR/log|" -e "s|^lock-path=.*|lock-path=$P_DIR/lock|" \
    -e "s|^pg1-path=.*|pg1-path=$P_DATA|" -e "s|^pg1-port=.*|pg1-port=$P_PORT|" \
    -e "s|^pg1-socket-path=.*|pg1-socket-path=$P_DIR|" -e "s|^log-level-console=.*|log-level-console=warn|" \
    "$ROOT/scripts/pgbackrest.conf.sample" >"$CONF"
mkdir -p "$P_DIR/repo" "$P_DIR/spool" "$P_DIR/log" "$P_DIR/lock"
[ "$(id -u)" != 0 ] || chown -R postgres: "$CONF" "$P_DIR/repo" "$P_DIR/spool" "$P_DIR/log" "$P_DIR/lock" "$WORK"
br() { zc_as_owner pgbackrest "--config=$CONF" --stanza=zerocut "$@"; }
ops_psql P -q -c "ALTER SYSTEM SET archive_command = 'pgbackrest --config=$CONF --stanza=zerocut archive-push %p'" \
    -c "SELECT pg_reload_conf()" >/dev/null
br stanza-create

ops_psql P -q -c "CREATE DATABASE app"
ops_psql P -q -d app >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION zerocut;
SELECT zerocut.install_domain_schema();
SELECT zerocut.generate_sample_data($SCALE, 400);
SELECT zerocut.archive_old_consumption_records();
SELECT count(*) FROM zerocut.refresh_analytics_views();
VACUUM ANALYZE;
CHECKPOINT;
SQL
app_bytes=$(ops_psql P -At -c "SELECT pg_database_size('app')")
cluster_bytes=$(ops_psql P -At -c "SELECT sum(pg_database_size(oid)) FROM pg_database")
rows=$(ops_psql P -At -d app -c "SELECT sum(n_live_tup) FROM pg_stat_user_tables")
now_ms() { echo $(($(date +%s%N) / 1000000)); }
mb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
rate() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", b / 1048576 / (t / 1000) }'; }
row() { echo "| $1 | $(mb "$2") MB | $(awk -v t="$3" 'BEGIN { printf "%.1f", t / 1000 }') s | $(rate "$2" "$3") MB/s | $4 |"; }

echo "sample data: generate_sample_data($SCALE, 400); database app $(mb "$app_bytes") MB ($rows rows), cluster $(mb "$cluster_bytes") MB"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); PostgreSQL $(ops_psql P -At -c 'SHOW server_version')"
echo
echo "| step | size | time | throughput | note |"
echo "|---|---|---|---|---|"
export PGHOST=$P_DIR PGPORT=$P_PORT PGUSER=postgres
t=$(now_ms)
dump=$("$ROOT/scripts/zerocut-backup" --dir "$WORK/dumps" --bindir "$ZC_BINDIR" app | tail -n 1)
ms=$(($(now_ms) - t))
row "zerocut-backup (pg_dump -Fc, verify, checksum)" "$app_bytes" "$ms" "dump $(mb "$(stat -c %s "$dump")") MB"
t=$(now_ms)
"$ROOT/scripts/zerocut-restore" --create --bindir "$ZC_BINDIR" "$dump" app_restored >/dev/null
ms=$(($(now_ms) - t))
row "zerocut-restore --create (one transaction, indexes rebuilt, counts checked)" "$app_bytes" "$ms" "single transaction"
ops_psql P -q -c "DROP DATABASE app_restored"
t=$(now_ms)
"$ROOT/scripts/zerocut-restore" --create --jobs 2 --bindir "$ZC_BINDIR" "$dump" app_restored >/dev/null
ms=$(($(now_ms) - t))
row "zerocut-restore --create --jobs 2" "$app_bytes" "$ms" "parallel"
ops_psql P -q -c "DROP DATABASE app_restored" -c "CHECKPOINT"

t=$(now_ms)
br --type=full backup
ms=$(($(now_ms) - t))
row "pgBackRest full backup (lz4, 2 processes)" "$cluster_bytes" "$ms" "repository $(mb "$(du -sb "$P_DIR/repo/backup" | cut -f1)") MB"
t=$(now_ms)
br --type=incr backup
ms=$(($(now_ms) - t))
row "pgBackRest incremental backup, nothing changed" "$cluster_bytes" "$ms" "fixed cost: checkpoint, WAL switch, archive check"
mkdir -p "$R_DATA"
[ "$(id -u)" != 0 ] || chown postgres: "$R_DATA"
chmod 700 "$R_DATA"
t=$(now_ms)
br "--pg1-path=$R_DATA" --no-delta --type=immediate --target-action=promote restore
ms=$(($(now_ms) - t))
row "pgBackRest restore into an empty directory" "$cluster_bytes" "$ms" "files only"
R_PORT=$((P_PORT + 1))   # its socket goes into P's directory too
printf "port = %s\narchive_mode = off\n" "$R_PORT" | zc_as_owner tee -a "$R_DATA/postgresql.conf" >/dev/null
zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$R_DATA" -l "$WORK/restored.log" -w -t 300 start >/dev/null || { cat "$WORK/restored.log"; exit 1; }
while [ "$(psql -X -At -h "$P_DIR" -p "$R_PORT" -U postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" != f ]; do sleep 0.2; done
ms2=$(($(now_ms) - t))
row "pgBackRest restore + start + WAL replay to the backup's end + promote" "$cluster_bytes" "$ms2" "writable"
[ "$(psql -X -At -h "$P_DIR" -p "$R_PORT" -U postgres -d app -c 'SELECT count(*) FROM financial_management.consumption_record')" -gt 0 ]
