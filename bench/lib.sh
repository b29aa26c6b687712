# Helpers for bench/<workload>/run.sh scripts (sourced by bench/run.sh).
# Environment: ZC_SOCK/ZC_PORT (the bench cluster), BENCH_OUT (results dir).

# Milliseconds taken by the last statement of `sql` in database $1, from
# psql's \timing (client round trip; one local socket, so close to server time).
bench_ms() {
    local db=$1 sql=$2
    zc_psql -d "$db" -q -c '\timing on' -c "$sql" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1
}

# Median of the numbers on stdin.
bench_median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# a / b with 3 decimals.
bench_div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.3f\n", a / b }'; }

# Records one ratio: bench_ratio LABEL RATIO OP TARGET
#   OP is "<=" or ">=": the ratio meets its target when RATIO OP TARGET.
# Appends to $BENCH_OUT/ratios.tsv and prints a line.
bench_ratio() {
    local label=$1 ratio=$2 op=$3 target=$4 verdict
    verdict=$(awk -v r="$ratio" -v o="$op" -v t="$target" 'BEGIN {
        if (r == "inf") { print (o == ">=") ? "meets" : "MISSES"; exit }
        ok = (o == "<=") ? (r <= t) : (r >= t); print ok ? "meets" : "MISSES" }')
    printf '%s\t%s\t%s %s\t%s\n' "$label" "$ratio" "$op" "$target" "$verdict" >>"$BENCH_OUT/ratios.tsv"
    printf '  %-60s %8s  (target %s %s: %s)\n' "$label" "$ratio" "$op" "$target" "$verdict"
}

# Appends markdown to this workload's section of the report.
bench_note() { printf '%s\n' "$@" >>"$BENCH_OUT/sections.md"; }

# CPU milliseconds the backend spent on the last statement of `sql` (from
# /proc/<pid>/schedstat, nanosecond resolution).  Unlike wall time it is
# barely moved by other work on the machine, so ratios stay comparable.
bench_cpu_ms() {
    local db=$1 sql=$2 out
    out=$(zc_psql -d "$db" -q -At <<SQL
SELECT pg_backend_pid() AS zc_pid \gset
\setenv ZC_BACKEND_PID :zc_pid
\! echo "cpu_before \$(cut -d' ' -f1 /proc/\$ZC_BACKEND_PID/schedstat)"
$sql;
\! echo "cpu_after \$(cut -d' ' -f1 /proc/\$ZC_BACKEND_PID/schedstat)"
SQL
)
    awk '/^cpu_before/ { b = $2 } /^cpu_after/ { a = $2 } END { printf "%.3f\n", (a - b) / 1e6 }' <<<"$out"
}

# CPU milliseconds the whole cluster has used so far: the postmaster's
# reaped children (cutime + cstime) plus its live ones.  The difference of
# two readings around a pgbench run is the server's work for it (backends,
# WAL writer), whatever the clients cost; wait for the run's backends to
# exit before the second reading.
bench_server_cpu_ms() {
    local postmaster ticks child
    postmaster=$(head -n 1 "$ZC_DATA/postmaster.pid")
    ticks=$(awk '{ print $16 + $17 }' "/proc/$postmaster/stat")
    for child in $(cat /proc/"$postmaster"/task/*/children); do
        ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$child/stat" 2>/dev/null || echo 0)))
    done
    echo $((ticks * 1000 / $(getconf CLK_TCK)))
}

# Minimum of the numbers on stdin: for CPU cost under interference from
# other work, noise only ever adds, so the minimum is the steadiest estimate.
bench_min() { sort -g | head -n 1; }
