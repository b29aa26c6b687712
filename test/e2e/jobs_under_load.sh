#!/usr/bin/env bash
# zerocut's jobs next to an application load (docs/locking.md): pgbench
# clients insert into and update a partitioned table, in transactions that
# hold their locks for a while, the way the deadlock was found:
#     A: BEGIN; INSERT INTO dl ...;          (parent, then the new partition)
#     B: CALL zerocut.archive_proc('dl');    (an old partition, then the parent)
#     A: UPDATE dl ... WHERE id = ...;       (every partition: no pruning on id)
# Meanwhile the archive mover (partition path and batch path) and partition
# maintenance run again and again on the same table.  Passes when no
# application transaction failed, every job call succeeded, the server
# logged no deadlock, and no row was lost or duplicated.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/lib/cluster.sh"
trap zc_cluster_stop EXIT
zc_cluster_start "lc_messages = 'C'" "deadlock_timeout = '100ms'" "log_lock_waits = on"
SECONDS_OF_LOAD=${JOBS_E2E_SECONDS:-20}

zc_psql -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION zerocut" \
    -c "SELECT zerocut.install_domain_schema()" >/dev/null
# 14 months of rows, one month per partition, 2,000 rows each.
zc_psql -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE SCHEMA app;
CREATE TABLE app.dl (id bigserial, ts timestamptz NOT NULL DEFAULT now(), v int NOT NULL DEFAULT 0,
                     PRIMARY KEY (id, ts)) PARTITION BY RANGE (ts);
SELECT zerocut.manage_partitions('app.dl', 'ts', 'month', 2, start_date => (date_trunc('month', now()) - interval '14 months')::date);
INSERT INTO app.dl (ts) SELECT date_trunc('month', now()) - interval '14 months' + (g % 14) * interval '1 month' + (g % 600) * interval '1 hour'
FROM generate_series(1, 28000) g;
CREATE TABLE app.ledger (id bigint PRIMARY KEY);
INSERT INTO app.ledger SELECT id FROM app.dl;
SELECT zerocut.set_archive_policy('app.dl', 'ts', '13 months', batch_size => 500);
ANALYZE;
SQL

cat >"$ZC_DIR/app.sql" <<'SQL'
\set k random(1, 28000)
BEGIN;
INSERT INTO app.dl (v) VALUES (1);
INSERT INTO app.ledger VALUES (currval('app.dl_id_seq'));
SELECT pg_sleep(0.005);
UPDATE app.dl SET v = v + 1 WHERE id = :k;
END;
SQL
chmod a+r "$ZC_DIR/app.sql"

zc_as_owner "$ZC_BINDIR/pgbench" -n -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -c 4 -T "$SECONDS_OF_LOAD" \
    -f "$ZC_DIR/app.sql" postgres >"$ZC_DIR/pgbench.log" 2>&1 &
APP=$!

# The jobs, over and over while the load runs: each round archives one more
# month (the partition path), then rows of a straddling cutoff (the batch
# path), then runs maintenance.
jobs_failed=0
rounds=0
keep=12
deadline=$(($(date +%s) + SECONDS_OF_LOAD - 2))
while [ "$(date +%s)" -lt "$deadline" ]; do
    rounds=$((rounds + 1))
    if ! zc_psql -q -c "SELECT zerocut.set_archive_policy('app.dl', 'ts', '$keep months', batch_size => 500, whole_partitions => true)" \
        -c "CALL zerocut.archive_proc('app.dl')" \
        -c "SELECT zerocut.set_archive_policy('app.dl', 'ts', '$keep months -10 days', batch_size => 500)" \
        -c "CALL zerocut.archive_proc('app.dl')" \
        -c "CALL zerocut.run_maintenance_proc()" >>"$ZC_DIR/jobs.log" 2>&1; then
        jobs_failed=$((jobs_failed + 1))
    fi
    [ "$keep" -gt 2 ] && keep=$((keep - 1))
done
wait "$APP" || true

cat "$ZC_DIR/pgbench.log" | grep -E "processed|failed|aborted" || true
echo "job rounds: $rounds, failed: $jobs_failed"
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$ZC_DIR/pgbench.log")
app_failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$ZC_DIR/pgbench.log")
status=0
if grep -qiE "error|abort" "$ZC_DIR/pgbench.log" || [ "${app_failed:-0}" != 0 ] || [ -z "$processed" ] || [ "$processed" = 0 ]; then
    echo "FAIL: application transactions failed"; sed -n '1,40p' "$ZC_DIR/pgbench.log"; status=1
fi
if [ "$jobs_failed" != 0 ]; then
    echo "FAIL: job calls failed"; grep -E "ERROR|DETAIL" "$ZC_DIR/jobs.log" | head -20; status=1
fi
if grep -q "deadlock detected" "$ZC_DIR/server.log"; then
    echo "FAIL: the server detected deadlocks"; grep -A3 "deadlock detected" "$ZC_DIR/server.log" | head -30; status=1
fi
# No row lost or duplicated: source + archive = every row ever inserted.
target=$(zc_psql -At -c "SELECT format('%I.%I', target_schema, target_table) FROM zerocut.archive_policy
                         WHERE source_schema = 'app' AND source_table = 'dl'")
echo "archive target: $target"
out=$(zc_psql -At -c "
SELECT (SELECT count(*) FROM app.dl) + (SELECT count(*) FROM $target) = (SELECT count(*) FROM app.ledger),
       NOT EXISTS (SELECT id FROM app.ledger EXCEPT (SELECT id FROM app.dl UNION ALL SELECT id FROM $target)),
       (SELECT count(*) FROM $target) > 0,
       (SELECT count(*) FROM (SELECT id FROM app.dl UNION ALL SELECT id FROM $target) u GROUP BY id HAVING count(*) > 1 LIMIT 1) IS NULL")
echo "rows: $out   (sum ok | every id present | something archived | no id twice)"
[ "$out" = "t|t|t|t" ] || { echo "FAIL: rows lost, duplicated, or nothing archived"; status=1; }
zc_check_server_log || status=1
[ "$status" = 0 ] && echo ok
exit "$status"
