# monitoring: the cost of watching a database with 100 partitioned tables
# x 36 monthly partitions (plus 3 made ahead and a default one each, one
# index each, 100 rows per partition), in the domain schema data_statistics.
#   1. SELECT * FROM zerocut.alerts and SELECT * FROM zerocut.metrics():
#      median of RUNS reads in one session (a poller keeps its connection),
#      target under 50 ms each (ratio 50 ms / measured >= 1); the first
#      read of a new session is reported too.
#   2. auto_maintenance() on the unchanged database (everything analyzed)
#      vs the seed's auto_maintenance() (bench/baseline/monitoring_seed.sql),
#      median of 3: both times and their ratio.
TABLES=${MONITORING_TABLES:-100}
MONTHS=36
RUNS=9
DB=bench_monitoring
zc_psql -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
zc_psql -q -d $DB -c "SET client_min_messages = warning" -c "CREATE EXTENSION zerocut" \
    -c "SELECT zerocut.install_domain_schema()" -c "SELECT zerocut.setup_roles()" \
    -c "SELECT zerocut.enable_workspace_isolation()" >/dev/null
zc_psql -q -d $DB -f ../baseline/monitoring_seed.sql
zc_psql -q -d $DB -c "SET client_min_messages = warning" -c "
DO \$\$
BEGIN
    FOR i IN 1..$TABLES LOOP
        EXECUTE format('CREATE TABLE data_statistics.m%s (id bigint NOT NULL, ts timestamptz NOT NULL, v int)
                        PARTITION BY RANGE (ts)', i);
        EXECUTE format('CREATE INDEX ON data_statistics.m%s (v)', i);
        PERFORM zerocut.manage_partitions(format('data_statistics.m%s', i)::regclass, 'ts', 'month', 3, NULL, 'detach',
                                          (date_trunc('month', now()) - interval '$((MONTHS - 1)) months')::date);
        EXECUTE format('INSERT INTO data_statistics.m%s
                        SELECT g, date_trunc(''month'', now()) - interval ''$((MONTHS - 1)) months''
                                  + (g %% $MONTHS) * interval ''1 month'' + interval ''1 day'', g %% 7
                        FROM generate_series(1, $((MONTHS * 100))) g', i);
    END LOOP;
END
\$\$"
zc_psql -q -d $DB -c "VACUUM ANALYZE" -c "SELECT count(*) FROM zerocut.auto_maintenance(0)" >/dev/null
zc_psql -q -d $DB -c "SELECT pg_stat_force_next_flush()" >/dev/null
partitions=$(zc_psql -At -d $DB -c "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                                    WHERE c.relnamespace = 'data_statistics'::regnamespace AND c.relkind = 'r'")
indexes=$(zc_psql -At -d $DB -c "SELECT count(*) FROM pg_stat_user_indexes")
alerts=$(zc_psql -At -d $DB -c "SELECT count(*) FROM zerocut.alerts")
metrics=$(zc_psql -At -d $DB -c "SELECT count(*) FROM zerocut.metrics()")
echo "  $TABLES partitioned tables, $partitions partitions, $indexes indexes; alerts: $alerts rows, metrics(): $metrics rows"

# Times (ms) of `sql` run RUNS + 1 times in one session; the first (a new
# session's: relation cache entries are built) separately.
session_times() {
    local sql=$1
    { echo '\timing on'; for _ in $(seq 0 $RUNS); do echo "$sql;"; done; } |
        zc_psql -d $DB -q -o /dev/null 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}
declare -A first median
for what in alerts metrics; do
    case $what in
        alerts) sql="SELECT * FROM zerocut.alerts" ;;
        metrics) sql="SELECT * FROM zerocut.metrics()" ;;
    esac
    times=$(session_times "$sql")
    first[$what]=$(echo "$times" | head -n 1)
    median[$what]=$(echo "$times" | tail -n +2 | bench_median)
    echo "  $sql: median of $RUNS in one session ${median[$what]} ms (a new session's first: ${first[$what]} ms)"
done
bench_ratio "alerts: 50 ms / SELECT * FROM zerocut.alerts" "$(bench_div 50 "${median[alerts]}")" ">=" 1
bench_ratio "metrics: 50 ms / SELECT * FROM zerocut.metrics()" "$(bench_div 50 "${median[metrics]}")" ">=" 1

# 2. auto_maintenance on the unchanged database.
zc_psql -q -d $DB -c "SELECT pg_stat_force_next_flush()" >/dev/null
declare -A t
# zerocut's first: the seed's writes a log row per table, which changes the log.
analyzed=$(zc_psql -At -d $DB -c "SELECT count(*) FROM zerocut.auto_maintenance()")
for _ in 1 2 3; do
    t[zc]+="$(bench_ms $DB "SELECT count(*) FROM zerocut.auto_maintenance()") "
done
for _ in 1 2 3; do
    t[seed]+="$(bench_ms $DB "SELECT public.seed_auto_maintenance()") "
done
zc_am=$(echo ${t[zc]} | tr ' ' '\n' | bench_median)
seed_am=$(echo ${t[seed]} | tr ' ' '\n' | bench_median)
echo "  auto_maintenance() on the unchanged database, median of 3: zerocut ${zc_am} ms ($analyzed tables analyzed), seed ${seed_am} ms"
bench_ratio "auto_maintenance unchanged: seed / zerocut" "$(bench_div "$seed_am" "$zc_am")" ">=" 1

bench_note "$TABLES partitioned tables × $MONTHS monthly partitions (plus 3 made ahead and a default each; $partitions partitions, $indexes indexes, 100 rows per partition) in \`data_statistics\`, isolation enabled, everything analyzed; \`alerts\` has $alerts rows, \`metrics()\` $metrics."
bench_note ""
bench_note "| what | zerocut | seed / target |"
bench_note "|---|---|---|"
bench_note "| \`SELECT * FROM zerocut.alerts\`, median of $RUNS in one session | ${median[alerts]} ms | under 50 ms |"
bench_note "| the same, a new session's first read | ${first[alerts]} ms | |"
bench_note "| \`SELECT * FROM zerocut.metrics()\`, median of $RUNS in one session | ${median[metrics]} ms | under 50 ms |"
bench_note "| the same, a new session's first read | ${first[metrics]} ms | |"
bench_note "| \`auto_maintenance()\` on the unchanged database, median of 3 | ${zc_am} ms ($analyzed analyzed) | seed's: ${seed_am} ms (ANALYZE of every table and partition, one log row each) |"
zc_psql -q -c "DROP DATABASE $DB"
