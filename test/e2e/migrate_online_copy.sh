#!/usr/bin/env bash
# The online copy under fire (issue 19): a pgbench writer inserts, updates
# (also the primary key) and deletes rows of the source throughout, while
# CALL zerocut.online_copy (1) is cancelled with pg_cancel_backend mid-copy,
# (2) is resumed and its backend killed with kill -9 mid-copy (the server
# restarts), (3) is resumed to the end; then online_copy_finish(swap => true)
# runs with the writer going, and in the same transaction (under its lock)
# the new table equals the old one row for row, all columns.  The writer
# keeps writing into the new table after the swap without a failed
# transaction.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/lib/cluster.sh"
trap zc_cluster_stop EXIT
zc_cluster_start "lc_messages = 'C'" "restart_after_crash = on"
ROWS=${COPY_E2E_ROWS:-200000}
BATCH=${COPY_E2E_BATCH:-1000}
RATE=${COPY_E2E_RATE:-300}   # writer transactions per second (4 changes each)

zc_psql -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION zerocut" >/dev/null
zc_psql -q <<SQL
CREATE TABLE e2e_src (id bigserial PRIMARY KEY, k int NOT NULL, v text, n numeric NOT NULL DEFAULT 0,
                      ts timestamptz NOT NULL DEFAULT now(), tags jsonb);
INSERT INTO e2e_src (k, v, n, tags)
SELECT g % 1000, md5(g::text), g / 7.0, CASE WHEN g % 5 = 0 THEN jsonb_build_object('g', g) END
FROM generate_series(1, $ROWS) g;
CREATE TABLE e2e_dst (LIKE e2e_src INCLUDING ALL);
ANALYZE e2e_src;
SQL

# The writer: a new row, an update, a delete, and now and then a key change
# (id -> -id; new ids only grow, so -id is never taken).
cat >"$ZC_DIR/writer.sql" <<SQL
\set a random(1, $ROWS)
\set b random(1, $ROWS)
\set c random(1, $ROWS)
\set d random(1, 20)
BEGIN;
INSERT INTO e2e_src (k, v) VALUES (:a % 1000, 'new');
UPDATE e2e_src SET v = md5(v), n = n + 1, tags = jsonb_build_object('u', :b) WHERE id = :b;
DELETE FROM e2e_src WHERE id = :c;
UPDATE e2e_src SET id = -id WHERE id = :a AND :d = 1;
END;
SQL
chmod a+r "$ZC_DIR/writer.sql"

start_writer() {  # seconds log
    zc_as_owner "$ZC_BINDIR/pgbench" -n -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -c 2 -R "$RATE" -T "$1" -f "$ZC_DIR/writer.sql" postgres \
        >"$ZC_DIR/$2" 2>&1 &
    WRITER=$!
}

copier_pid() {  # waits for the CALL's backend to appear
    local pid=
    for _ in $(seq 1 200); do
        pid=$(zc_psql -At -c "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CALL zerocut.online_copy%' AND state = 'active' LIMIT 1")
        [ -n "$pid" ] && { echo "$pid"; return 0; }
        sleep 0.02
    done
    return 1
}

copied() { zc_psql -At -c "SELECT coalesce((SELECT rows_copied FROM zerocut.copy_progress), 0)"; }

wait_copied() {  # until at least $1 rows are copied (the CALL is mid-way)
    for _ in $(seq 1 1000); do
        [ "$(copied)" -ge "$1" ] && return 0
        sleep 0.02
    done
    echo "the copy never reached $1 rows"; exit 1
}

call_copy() {  # log file; runs the CALL in the background
    ( zc_psql -q -c "CALL zerocut.online_copy('e2e_src', 'e2e_dst', NULL, $BATCH)" >"$ZC_DIR/$1" 2>&1 || true ) &
    CALLER=$!
}

start=$(date +%s)
stamp() { echo "[$(( $(date +%s) - start )) s] $*"; }
start_writer 600 writer1.log

# (1) pg_cancel_backend mid-copy: the committed batches stay, the capture too.
call_copy cancel.log
pid=$(copier_pid)
wait_copied $((ROWS / 5))
zc_psql -At -c "SELECT pg_cancel_backend($pid)" >/dev/null
wait $CALLER || true
grep -q "canceling statement due to user request" "$ZC_DIR/cancel.log" || { echo "the CALL was not cancelled:"; cat "$ZC_DIR/cancel.log"; exit 1; }
after_cancel=$(copied)
stamp "cancelled at $after_cancel rows copied; phase $(zc_psql -At -c 'SELECT phase FROM zerocut.copy_progress')"
[ "$(zc_psql -At -c 'SELECT phase FROM zerocut.copy_progress')" = copying ] || { echo "the cancel came too late"; exit 1; }
[ "$(zc_psql -At -c "SELECT count(*) FROM e2e_dst")" = "$after_cancel" ] || { echo "target rows differ from rows_copied after cancel"; exit 1; }

# (2) resume, then kill -9 of the copying backend mid-copy (crash recovery).
call_copy kill.log
pid=$(copier_pid)
wait_copied $((after_cancel + ROWS / 5))
kill -9 "$pid"
wait $CALLER || true
wait $WRITER || true    # the crash ends the writer's connections too
for _ in $(seq 1 100); do zc_psql -At -c "SELECT 1" >/dev/null 2>&1 && break; sleep 0.2; done
after_kill=$(copied)
stamp "killed at $after_kill rows copied; phase $(zc_psql -At -c 'SELECT phase FROM zerocut.copy_progress')"
[ "$(zc_psql -At -c 'SELECT phase FROM zerocut.copy_progress')" = copying ] || { echo "the kill came too late"; exit 1; }
[ "$after_kill" -gt "$after_cancel" ] || { echo "nothing was copied between the cancel and the kill"; exit 1; }
[ "$(zc_psql -At -c "SELECT count(*) FROM e2e_dst")" = "$after_kill" ] || { echo "target rows differ from rows_copied after the crash"; exit 1; }

# (3) resume to the end, the writer going again.
start_writer 600 writer2.log
zc_psql -q -c "CALL zerocut.online_copy('e2e_src', 'e2e_dst', NULL, $BATCH)" 2>"$ZC_DIR/resume.log"
grep -q "resuming the copy" "$ZC_DIR/resume.log" || { echo "no resume notice:"; cat "$ZC_DIR/resume.log"; exit 1; }
stamp "resumed: $(zc_psql -At -c "SELECT phase, rows_copied, batches, changes_pending, changes_replayed FROM zerocut.copy_progress")"
[ "$(zc_psql -At -c 'SELECT phase FROM zerocut.copy_progress')" = copied ] || { echo "not copied"; exit 1; }
sleep 2   # more captured changes for the finish to replay

# (4) finish with swap while the writer writes; compare under its lock.
out=$(zc_psql -At -F ' ' <<'SQL'
BEGIN;
SELECT 'finish', verified_rows, pending_rows, replayed, target_rows, lock_attempts, round(lock_wait_ms), round(lock_held_ms)
FROM zerocut.online_copy_finish('e2e_src', 'e2e_dst', swap => true);
SELECT 'compare', (SELECT count(*) FROM (SELECT * FROM e2e_src EXCEPT ALL SELECT * FROM e2e_src_old) a),
       (SELECT count(*) FROM (SELECT * FROM e2e_src_old EXCEPT ALL SELECT * FROM e2e_src) b),
       (SELECT count(*) FROM e2e_src), (SELECT count(*) FROM e2e_src WHERE id < 0),
       (SELECT count(*) FROM e2e_src WHERE v = 'new');
COMMIT;
SQL
)
stamp "finished"
echo "$out"
read -r _ missing extra total negative inserted <<<"$(grep '^compare' <<<"$out")"
[ "$missing" = 0 ] && [ "$extra" = 0 ] || { echo "FAILED: target differs from source: $missing missing, $extra extra"; exit 1; }
[ "$negative" -gt 0 ] && [ "$inserted" -gt 0 ] || { echo "the writer's key changes or inserts did not reach the copy"; exit 1; }
read -r _ verified _ replayed target_rows _ <<<"$(grep '^finish' <<<"$out")"
[ "$target_rows" = "$total" ] || { echo "finish reported $target_rows rows, the table has $total"; exit 1; }
[ "$replayed" -gt 0 ] || { echo "finish replayed nothing"; exit 1; }
[ "$(zc_psql -At -c "SELECT count(*) FROM pg_trigger WHERE tgrelid IN ('e2e_src'::regclass, 'e2e_src_old'::regclass) AND tgname LIKE 'zc_online_copy%'")" = 0 ] \
    || { echo "capture triggers left behind"; exit 1; }

# The writer goes on into the new table, without an error.
sleep 2
after=$(zc_psql -At -c "SELECT count(*) FROM e2e_src WHERE v = 'new'")
# (zc_as_owner runs pgbench a few processes below $WRITER: stop them all)
descendants() { local child; for child in $(ps -o pid= --ppid "$1"); do echo "$child"; descendants "$child"; done; }
# TERM, not INT: a command started with & by a non-interactive shell
# ignores SIGINT, and pgbench would run out its 600 s (CI saw that).
kill -TERM $(descendants "$WRITER") 2>/dev/null || true
wait $WRITER || true
if grep -Eq "aborted|ERROR" "$ZC_DIR/writer2.log"; then echo "writer errors:"; cat "$ZC_DIR/writer2.log"; exit 1; fi
[ "$after" -gt "$inserted" ] || { echo "the writer's inserts did not reach the new table after the swap"; exit 1; }
stamp "writer rows in the new table: $inserted at the swap, $after 2 s later"

# The only backend killed by a signal is the one we killed.
others=$(grep "terminated by signal" "$ZC_DIR/server.log" | grep -v "PID $pid) was terminated by signal 9" || true)
[ -z "$others" ] || { echo "unexpected crash: $others"; exit 1; }
echo "online copy e2e: ok ($(( $(date +%s) - start )) s)"
