#!/usr/bin/env bash
# Point-in-time recovery with pgBackRest (scripts/pgbackrest.conf.sample, a
# local repository): sample data -> full backup -> writes -> incremental
# backup -> writes -> note the time -> a destructive mistake (a table
# dropped, a workspace deleted) and later writes -> restore to the noted
# time -> every domain and zerocut configuration table has the rows and
# checksum it had then, and zerocut works (keys, partitions, audit,
# archive).  Prints MEASURE lines: backup and restore throughput.
# ZC_OPS_PITR_SCALE (default 25) = workspaces of sample data (x 400 days).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/lib/cluster.sh"
source "$ROOT/test/lib/ops.sh"
command -v pgbackrest >/dev/null || { echo "FAIL: pgbackrest is not installed (scripts/setup.sh)"; exit 1; }
trap ops_cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
SCALE=${ZC_OPS_PITR_SCALE:-25}

P_DIR='' P_PORT='' P_DATA=''   # set by ops_cluster_start
# archive_command is set once the directory is known (a reload, no restart).
ops_cluster_start P "archive_mode = on" "wal_level = replica" "timezone = 'UTC'" \
    "zerocut.key_file = '../zerocut.key'" "checkpoint_timeout = 30min"
# The key file outside the data directory: a physical backup copies the whole
# data directory, and the root key does not belong next to the ciphertexts.
ops_key_file "$P_DIR" >/dev/null
CONF=$P_DIR/pgbackrest.conf
sed -e "s|^repo1-path=.*|repo1-path=$P_DIR/repo|" -e "s|^spool-path=.*|spool-path=$P_DIR/spool|" \
    -e "s|^log-path=.*|log-path=$P_DIR/log|" -e "s|^lock-path=.*|lock-path=$P_DIR/lock|" \
    -e "s|^pg1-path=.*|pg1-path=$P_DATA|" -e "s|^pg1-port=.*|pg1-port=$P_PORT|" \
    -e "s|^pg1-socket-path=.*|pg1-socket-path=$P_DIR|" -e "s|^log-level-console=.*|log-level-console=warn|" \
    "$ROOT/scripts/pgbackrest.conf.sample" >"$CONF"
mkdir -p "$P_DIR/repo" "$P_DIR/spool" "$P_DIR/log" "$P_DIR/lock"
[ "$(id -u)" != 0 ] || chown -R postgres: "$CONF" "$P_DIR/repo" "$P_DIR/spool" "$P_DIR/log" "$P_DIR/lock"
br() { zc_as_owner pgbackrest "--config=$CONF" --stanza=zerocut "$@"; }
ops_psql P -q -c "ALTER SYSTEM SET archive_command = 'pgbackrest --config=$CONF --stanza=zerocut archive-push %p'" \
    -c "SELECT pg_reload_conf()" >/dev/null
br stanza-create
br check

ops_psql P -q -c "CREATE DATABASE app"
ops_psql P -q -d app >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION zerocut;
SELECT zerocut.install_domain_schema();
SELECT zerocut.generate_sample_data($SCALE, 400);
SELECT zerocut.archive_old_consumption_records();
SELECT count(*) FROM zerocut.refresh_analytics_views();
SELECT zerocut.create_key('default');
SELECT zerocut.protect_column('user_management."USER"', 'phone');
CALL zerocut.encrypt_column_backfill('user_management."USER"', 'phone');
CHECKPOINT;
SQL
db_bytes=$(ops_psql P -At -c "SELECT sum(pg_database_size(oid)) FROM pg_database")
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

start=$(now_ms)
br --type=full backup
full_ms=$(( $(now_ms) - start ))
repo_bytes=$(du -sb "$P_DIR/repo/backup" | cut -f1)
echo "MEASURE pitr full backup: cluster $(mb "$db_bytes") MB in ${full_ms} ms = $(awk -v b="$db_bytes" -v t="$full_ms" 'BEGIN { printf "%.1f", b / 1048576 / (t / 1000) }') MB/s (repository $(mb "$repo_bytes") MB, lz4)"

# More writes, an incremental backup, more writes.
write_round() {  # n (never workspace 2: round 3 comes after it was deleted)
    ops_psql P -q -d app >/dev/null <<SQL
SET client_min_messages = warning;
INSERT INTO financial_management.consumption_record (workspace_id, amount, tokens_used, model, description, created_at)
SELECT CASE WHEN i % $SCALE = 1 THEN 1 ELSE 1 + i % $SCALE END, i / 100.0, i, 'round-$1', 'after the backup', now() - (i % 20) * interval '1 day'
FROM generate_series(1, 2000) i;
UPDATE financial_management.account SET balance = balance + $1 WHERE workspace_id % 3 = 0;
UPDATE workspace_domain.workspace SET name = name || ' r$1' WHERE id = $1;
INSERT INTO user_management."USER" (username, email, password_hash, phone)
VALUES ('late$1', 'late$1@example.com', 'x', '+86 138 0000 00$1$1');
SELECT zerocut.create_key('late$1');
SQL
}
write_round 1
start=$(now_ms)
br --type=incr backup
incr_ms=$(( $(now_ms) - start ))
write_round 2

# The moment to come back to.
state_t=$(ops_state P app)
phones_t=$(ops_psql P -At -d app -c "SELECT md5(string_agg(zerocut.decrypt(phone_encrypted, 'user_management.USER.phone'), ',' ORDER BY id)) FROM user_management.\"USER\"")
views_sql="SELECT (SELECT count(*) FROM data_statistics.mv_workspace_analytics) || '/' || (SELECT count(*) FROM workspace_domain.v_user_workspace_optimized)"
views_t=$(ops_psql P -At -d app -c "$views_sql")
target=$(ops_psql P -At -c "SELECT clock_timestamp()")
sleep 1.2

# The mistake, then the business goes on for a while.
ops_psql P -q -d app >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP TABLE api_management.api_key CASCADE;   -- and the views that use it
BEGIN;
DELETE FROM financial_management.consumption_record WHERE workspace_id = 2;
DELETE FROM archive.consumption_record_archive WHERE workspace_id = 2;
DELETE FROM financial_management.account WHERE workspace_id = 2;
DELETE FROM workspace_domain.workspace WHERE id = 2;
COMMIT;
SQL
write_round 3
[ "$(ops_state P app)" != "$state_t" ] || fail "the mistake changed nothing"
br check   # the WAL with the mistake is in the repository

# Restore to the noted time, over the damaged cluster.
zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$P_DATA" -m fast -w stop >/dev/null
start=$(now_ms)
br --delta --type=time "--target=$target" --target-action=promote restore
restore_ms=$(( $(now_ms) - start ))
zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$P_DATA" -l "$P_DIR/server.log" -w -t 60 start >/dev/null
for _ in $(seq 1 120); do
    [ "$(ops_psql P -At -c "SELECT pg_is_in_recovery()")" = f ] && break
    sleep 0.5
done
[ "$(ops_psql P -At -c "SELECT pg_is_in_recovery()")" = f ] || fail "still in recovery after 60 s"
recovered_ms=$(( $(now_ms) - start ))
echo "MEASURE pitr restore (delta, over the damaged cluster): ${restore_ms} ms = $(awk -v b="$db_bytes" -v t="$restore_ms" 'BEGIN { printf "%.1f", b / 1048576 / (t / 1000) }') MB/s; writable after ${recovered_ms} ms (WAL replayed, promoted)"
echo "MEASURE pitr incremental backup: ${incr_ms} ms"

state_r=$(ops_state P app)
if [ "$state_r" != "$state_t" ]; then
    diff <(echo "$state_t") <(echo "$state_r") >&2 || true
    fail "the restored cluster differs from the noted time (table|rows|md5 above)"
fi
echo "every domain and configuration table as at $target: $(wc -l <<<"$state_r") tables"

# The views dropped with the table (CASCADE) are back.
views_r=$(ops_psql P -At -d app -c "$views_sql" 2>&1) || true
[ "$views_r" = "$views_t" ] || fail "views after the restore: '$views_r', expected '$views_t'"

# zerocut works on the restored cluster.
phones_r=$(ops_psql P -At -d app -c "SELECT md5(string_agg(zerocut.decrypt(phone_encrypted, 'user_management.USER.phone'), ',' ORDER BY id)) FROM user_management.\"USER\"")
[ "$phones_r" = "$phones_t" ] || fail "decrypted phones differ"
[ "$(ops_psql P -At -d app -c "SELECT string_agg(name, ',' ORDER BY name) FROM zerocut.encryption_keys WHERE name LIKE 'late%'")" = late1,late2 ] \
    || fail "keys after the restore"
ops_psql P -q -d app -c "UPDATE user_management.\"USER\" SET phone = '+86 139 1111 2222' WHERE username = 'late2'"
[ "$(ops_psql P -At -d app -c "SELECT username FROM user_management.\"USER\" WHERE phone_bidx = zerocut.blind_index('+86 139 1111 2222')")" = late2 ] \
    || fail "protect trigger / blind index after the restore"
ops_psql P -q -At -d app -c "SET client_min_messages = warning" -c "SELECT count(*) FROM zerocut.run_maintenance()" >/dev/null
ops_psql P -q -At -d app -c "SET client_min_messages = warning" -c "SELECT zerocut.archive_old_consumption_records()" >/dev/null
ops_psql P -q -d app -c "UPDATE financial_management.account SET balance = balance + 1 WHERE workspace_id = 2"
[ "$(ops_psql P -At -d app -c "SELECT metadata ->> 'table' FROM audit_log.system_log ORDER BY id DESC LIMIT 1")" = account ] \
    || fail "audit after the restore"
# A new backup chain continues from the new timeline.
br check
zc_check_server_log "$P_DIR/server.log"
echo "ok: point-in-time restore with pgBackRest"
