#!/usr/bin/env bash
# The archive mover under fire: a pgbench writer inserts (and updates) recent
# rows throughout; CALL archive_proc runs (1) limited by max_batches, (2) is
# cancelled with pg_cancel_backend mid-run, (3) its backend is killed with
# kill -9 mid-run and the server restarts.  After each step:
# count(source) + count(archive) = rows ever inserted (a ledger table written
# in the writer's own transactions), no id appears twice, and every ledger id
# is present.  Finally a last CALL finishes the job.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/lib/cluster.sh"
trap zc_cluster_stop EXIT
zc_cluster_start "lc_messages = 'C'" "restart_after_crash = on"
OLD=${ARCHIVE_E2E_ROWS:-300000}

zc_psql -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION zerocut" -c "SELECT zerocut.install_domain_schema()" >/dev/null
zc_psql -q <<SQL
CREATE TABLE e2e_src (id bigserial PRIMARY KEY, ts timestamptz NOT NULL DEFAULT now(), v int NOT NULL DEFAULT 0,
                      payload text NOT NULL DEFAULT md5(random()::text));
CREATE INDEX ON e2e_src (ts);
CREATE TABLE e2e_ledger (id bigint PRIMARY KEY);
INSERT INTO e2e_src (ts) SELECT now() - interval '2 years' + g * interval '1 minute' FROM generate_series(1, $OLD) g;
INSERT INTO e2e_ledger SELECT id FROM e2e_src;
SELECT zerocut.set_archive_policy('e2e_src', 'ts', '6 months', batch_size => 2000);
ANALYZE;
SQL
# create the archive table (nothing old enough yet for a 100-year policy)
zc_psql -q -c "SELECT zerocut.set_archive_policy('e2e_src', 'ts', '100 years', batch_size => 2000)" \
    -c "SELECT count(*) FROM zerocut.archive('e2e_src')" \
    -c "SELECT zerocut.set_archive_policy('e2e_src', 'ts', '6 months', batch_size => 2000)" >/dev/null

cat >"$ZC_DIR/writer.sql" <<'SQL'
BEGIN;
INSERT INTO e2e_src (v) VALUES (1);
INSERT INTO e2e_ledger VALUES (currval('e2e_src_id_seq'));
UPDATE e2e_src SET v = v + 1 WHERE id = (SELECT currval('e2e_src_id_seq') - 1);
END;
SQL
chmod a+r "$ZC_DIR/writer.sql"

check() {  # label
    local out
    out=$(zc_psql -At -c "
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT (SELECT count(*) FROM e2e_src) + (SELECT count(*) FROM archive.e2e_src_archive) = (SELECT count(*) FROM e2e_ledger),
       (SELECT count(*) FROM (SELECT id FROM e2e_src UNION ALL SELECT id FROM archive.e2e_src_archive) u GROUP BY id HAVING count(*) > 1 LIMIT 1) IS NULL,
       NOT EXISTS (SELECT id FROM e2e_ledger EXCEPT (SELECT id FROM e2e_src UNION ALL SELECT id FROM archive.e2e_src_archive)),
       (SELECT count(*) FROM e2e_ledger), (SELECT count(*) FROM archive.e2e_src_archive);
COMMIT;" | grep '|')
    echo "$1: $out   (sum ok | no duplicate | ledger ids present | inserted | archived)"
    case "$out" in t\|t\|t\|*) ;; *) echo "FAILED invariant after $1"; exit 1 ;; esac
}

start_writer() {
    zc_as_owner "$ZC_BINDIR/pgbench" -n -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -c 2 -T "$1" -f "$ZC_DIR/writer.sql" postgres \
        >"$ZC_DIR/pgbench.log" 2>&1 &
    WRITER=$!
}

archiver_pid() {  # waits for the CALL's backend to appear
    local pid=
    for _ in $(seq 1 100); do
        pid=$(zc_psql -At -c "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CALL zerocut.archive_proc%' AND state = 'active' LIMIT 1")
        [ -n "$pid" ] && { echo "$pid"; return 0; }
        sleep 0.05
    done
    return 1
}

wait_archived() {  # until at least $1 rows are archived (the run is mid-way)
    for _ in $(seq 1 200); do
        [ "$(zc_psql -At -c "SELECT count(*) >= $1 FROM archive.e2e_src_archive")" = t ] && return 0
        sleep 0.05
    done
    echo "archiving never reached $1 rows"; exit 1
}

check "loaded"
start_writer 60

# (1) bounded run while the writer writes
zc_psql -q -c "CALL zerocut.archive_proc('e2e_src', max_batches => 10)" 2>/dev/null
check "archive_proc(max_batches => 10)"
[ "$(zc_psql -At -c "SELECT count(*) FROM archive.e2e_src_archive")" = 20000 ] || { echo "expected 20000 archived"; exit 1; }

# (2) pg_cancel_backend mid-run
( zc_psql -q -c "CALL zerocut.archive_proc('e2e_src')" >"$ZC_DIR/cancel.log" 2>&1 || true ) &
CALLER=$!
pid=$(archiver_pid)
wait_archived 60000
zc_psql -At -c "SELECT pg_cancel_backend($pid)" >/dev/null
wait $CALLER || true
grep -q "canceling statement due to user request" "$ZC_DIR/cancel.log" || { echo "the CALL was not cancelled:"; cat "$ZC_DIR/cancel.log"; exit 1; }
check "pg_cancel_backend mid-run"
left=$(zc_psql -At -c "SELECT count(*) FROM e2e_src WHERE ts < CURRENT_DATE - interval '6 months'")
[ "$left" -gt 0 ] || { echo "the cancel came too late to test anything"; exit 1; }

# (3) kill -9 of the archiving backend mid-run, server restart (crash recovery)
( zc_psql -q -c "CALL zerocut.archive_proc('e2e_src')" >"$ZC_DIR/kill.log" 2>&1 || true ) &
CALLER=$!
pid=$(archiver_pid)
wait_archived 120000
kill -9 "$pid"
wait $CALLER || true
wait $WRITER || true    # the crash ends the writer's connections too
for _ in $(seq 1 100); do zc_psql -At -c "SELECT 1" >/dev/null 2>&1 && break; sleep 0.2; done
check "kill -9 + crash restart"
zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$ZC_DATA" -m fast -w restart -l "$ZC_DIR/server.log" >/dev/null
check "clean restart"

# (4) resume: a last CALL finishes, with the writer running again
start_writer 5
zc_psql -q -c "CALL zerocut.archive_proc('e2e_src')" 2>/dev/null
wait $WRITER || { echo "pgbench writer failed:"; cat "$ZC_DIR/pgbench.log"; exit 1; }
check "resumed to the end"
left=$(zc_psql -At -c "SELECT count(*) FROM e2e_src WHERE ts < CURRENT_DATE - interval '6 months'")
[ "$left" = 0 ] || { echo "$left old rows left after the last run"; exit 1; }
[ "$(zc_psql -At -c "SELECT count(*) FROM archive.e2e_src_archive WHERE ts >= CURRENT_DATE - interval '6 months'")" = 0 ] \
    || { echo "recent rows were archived"; exit 1; }

# The only backend killed by a signal is the one we killed.
others=$(grep "terminated by signal" "$ZC_DIR/server.log" | grep -v "PID $pid) was terminated by signal 9" || true)
[ -z "$others" ] || { echo "unexpected crash: $others"; exit 1; }
echo "archive e2e: ok"
