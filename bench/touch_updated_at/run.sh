# touch_updated_at: 100k-row bulk UPDATE with no trigger, the PL/pgSQL
# trigger (bench/baseline/touch_updated_at.sql) and zerocut's C++ trigger.
# Target: C++ overhead over no trigger <= 0.5 x the PL/pgSQL overhead.
ROWS=100000
RUNS=9
DB=bench_touch
zc_psql -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
zc_psql -q -d $DB -c "CREATE EXTENSION zerocut" -f ../baseline/touch_updated_at.sql

prepare() {  # fresh table for every run, so bloat never favours a variant
    local trigger=$1
    zc_psql -q -d $DB -c "DROP TABLE IF EXISTS t" \
        -c "CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL, payload text, updated_at timestamptz NOT NULL DEFAULT now())" \
        -c "INSERT INTO t (id, v, payload) SELECT g, g, md5(g::text) FROM generate_series(1, $ROWS) g" \
        -c "VACUUM ANALYZE t"
    case $trigger in
        plpgsql) zc_psql -q -d $DB -c "CREATE TRIGGER touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION bench_plpgsql_touch_updated_at()" ;;
        zerocut) zc_psql -q -d $DB -c "CREATE TRIGGER touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION zerocut.touch_updated_at()" ;;
    esac
}

# The measure is the backend's CPU time (bench_cpu_ms), minimum of RUNS
# interleaved runs: wall time on a shared 2-core machine moves by +-30 %
# between runs, and interference only ever adds CPU time.  Median wall
# times are reported beside it.
declare -A times walls
for run in $(seq 1 $RUNS); do
    for variant in none plpgsql zerocut; do  # interleaved: drift hits all alike
        prepare $variant
        times[$variant]+="$(bench_cpu_ms $DB "UPDATE t SET v = v + 1") "
        prepare $variant
        walls[$variant]+="$(bench_ms $DB "UPDATE t SET v = v + 1") "
    done
done
none=$(echo ${times[none]} | tr ' ' '\n' | bench_min)
plpgsql=$(echo ${times[plpgsql]} | tr ' ' '\n' | bench_min)
zerocut=$(echo ${times[zerocut]} | tr ' ' '\n' | bench_min)
wall_none=$(echo ${walls[none]} | tr ' ' '\n' | bench_median)
wall_plpgsql=$(echo ${walls[plpgsql]} | tr ' ' '\n' | bench_median)
wall_zerocut=$(echo ${walls[zerocut]} | tr ' ' '\n' | bench_median)
over_plpgsql=$(awk -v a=$plpgsql -v b=$none 'BEGIN { print a - b }')
over_zerocut=$(awk -v a=$zerocut -v b=$none 'BEGIN { print a - b }')
echo "  backend CPU, minimum of $RUNS runs, UPDATE of $ROWS rows: none ${none} ms, PL/pgSQL ${plpgsql} ms, zerocut ${zerocut} ms"
echo "  wall time:                                        none ${wall_none} ms, PL/pgSQL ${wall_plpgsql} ms, zerocut ${wall_zerocut} ms"
bench_note "UPDATE of $ROWS rows, $RUNS interleaved runs on fresh tables (CPU: minimum; wall: median):" "" \
    "| variant | backend CPU ms | CPU overhead over no trigger (ms) | wall ms |" "|---|---|---|---|" \
    "| no trigger | $none | 0 | $wall_none |" "| PL/pgSQL trigger (baseline) | $plpgsql | $over_plpgsql | $wall_plpgsql |" \
    "| zerocut.touch_updated_at() | $zerocut | $over_zerocut | $wall_zerocut |"
bench_ratio "touch_updated_at: C++ overhead / PL/pgSQL overhead" "$(bench_div $over_zerocut $over_plpgsql)" "<=" 0.5
bench_ratio "touch_updated_at: UPDATE time, PL/pgSQL / zerocut" "$(bench_div $plpgsql $zerocut)" ">=" 1.0
zc_psql -q -c "DROP DATABASE $DB"
