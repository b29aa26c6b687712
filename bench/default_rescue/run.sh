# default_rescue: rows stranded in a DEFAULT partition, moved out when
# maintenance creates their month, while the application writes.
# 1M rows of one past month sit in the default partition of a monthly
# parent; pgbench clients insert current rows (into this month's partition)
# throughout; create_monthly_partition() makes the stranded month, moving
# its rows.  Reports the move's time and the longest single-insert latency
# of the writers during it, against the longest with no move running
# (the ratio: how much longer a writer can be held up by the move).
ROWS=${DEFAULT_RESCUE_ROWS:-1000000}
DB=bench_default_rescue
SECONDS_BEFORE=3
zc_psql -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
zc_psql -q -d $DB -c "SET client_min_messages = warning" -c "CREATE EXTENSION zerocut"
zc_psql -q -d $DB <<SQL
SET client_min_messages = warning;
CREATE TABLE ev (id bigserial, ts timestamptz NOT NULL DEFAULT now(), v int NOT NULL DEFAULT 0,
                 PRIMARY KEY (id, ts)) PARTITION BY RANGE (ts);
SELECT zerocut.manage_partitions('ev', 'ts', 'month', 2, start_date => date_trunc('month', now())::date);
-- the month six months ago has no partition: its rows land in the default one
INSERT INTO ev (ts) SELECT date_trunc('month', now()) - interval '6 months' + (g % 2500000) * interval '1 second'
FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE ev;
SQL
echo "INSERT INTO ev (v) VALUES (1);" >"$BENCH_OUT/rescue_writer.sql"
mkdir -p "$BENCH_OUT/rescue_logs"

# Longest latency (ms) in pgbench's per-transaction logs with prefix $1.
max_latency_ms() {
    cat "$BENCH_OUT"/rescue_logs/"$1".* | awk '{ if ($3 > m) m = $3 } END { printf "%.1f\n", m / 1000 }'
}
run_writers() {  # prefix seconds
    (cd "$BENCH_OUT/rescue_logs" && "$ZC_BINDIR/pgbench" -n -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -c 4 -T "$2" \
        -l --log-prefix="$1" -f "$BENCH_OUT/rescue_writer.sql" $DB >"$BENCH_OUT/rescue_$1.log" 2>&1)
}

run_writers idle $SECONDS_BEFORE
idle_max=$(max_latency_ms idle)
month=$(zc_psql -At -d $DB -c "SELECT (date_trunc('month', now()) - interval '6 months')::date")
run_writers busy 10 &
writers=$!
sleep 1
move_ms=$(bench_ms $DB "SELECT zerocut.create_monthly_partition('ev', '$month')")
wait $writers
busy_max=$(max_latency_ms busy)
left=$(zc_psql -At -d $DB -c "SELECT count(*) FROM ONLY ev_default")
moved=$(zc_psql -At -d $DB -c "SELECT count(*) FROM ev WHERE ts < date_trunc('month', now()) - interval '5 months'")
echo "  moved $moved rows out of the default partition in $move_ms ms ($left left there)"
echo "  longest writer insert: $busy_max ms during the move, $idle_max ms without"
bench_note "- default partition rescue of $moved rows: $move_ms ms; longest single-row insert by 4 pgbench writers during it: $busy_max ms (without a move: $idle_max ms)"
zc_psql -q -c "DROP DATABASE $DB"
