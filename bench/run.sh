#!/usr/bin/env bash
# make bench: every bench/<workload>/run.sh side by side with its baseline on
# one throwaway cluster; prints ratios and writes bench/results/latest.md
# (with machine, PostgreSQL version and a chart of the ratios).
#   bench/run.sh [workload ...]      default: all workloads
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# PG=17 (make bench PG=17): the same run inside scripts/pg-root.sh's
# PostgreSQL 17 root; its report is bench/results/latest-pg17.md.
HOST_VERSION=$(pg_config --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
if [ -n "${PG:-}" ] && [ "$PG" != "$HOST_VERSION" ]; then
    pg_root=$(bash "$ROOT/scripts/pg-root.sh" "$PG")
    bash "$ROOT/scripts/pg-root.sh" --copy-tree "$PG" "$ROOT"
    bash "$ROOT/scripts/pg-root.sh" --run "$PG" env PG= PG_LABEL=" PG=$PG" ZC_BENCH_REPORT="latest-pg$PG" bash /zerocut-test/bench/run.sh "$@"
    cp "$pg_root/zerocut-test/bench/results/latest-pg$PG".* "$ROOT/bench/results/"
    rm -rf "$pg_root/zerocut-test" "$pg_root/zerocut-old"
    echo "report: bench/results/latest-pg$PG.md"
    exit 0
fi
# This tree's build in a private copy of PostgreSQL (scripts/tmp_install.sh).
ZC_BINDIR=$(bash "$ROOT/scripts/tmp_install.sh" "$ROOT")
export ZC_BINDIR
source "$ROOT/test/lib/cluster.sh"
source "$ROOT/bench/lib.sh"

BENCH_OUT=$(mktemp -d /tmp/zerocut-bench.XXXXXX)
export BENCH_OUT
cleanup() { zc_cluster_stop; rm -rf "$BENCH_OUT"; }
trap cleanup EXIT

zc_cluster_start "shared_preload_libraries = 'pg_cron,pg_stat_statements'" "cron.database_name = 'postgres'" \
    "max_connections = 100" "work_mem = '16MB'" "maintenance_work_mem = '256MB'" "synchronous_commit = off" \
    "autovacuum = off"

workloads=("$@")
if [ ${#workloads[@]} -eq 0 ]; then
    for dir in "$ROOT"/bench/*/run.sh; do
        name=$(basename "$(dirname "$dir")")
        [ "$name" = baseline ] || workloads+=("$name")
    done
fi

: >"$BENCH_OUT/ratios.tsv"
: >"$BENCH_OUT/sections.md"
for workload in "${workloads[@]}"; do
    echo "== $workload"
    bench_note "## $workload" ""
    ( cd "$ROOT/bench/$workload" && source ./run.sh )
    bench_note ""
done
zc_check_server_log

mkdir -p "$ROOT/bench/results"
REPORT=${ZC_BENCH_REPORT:-latest}
report=$ROOT/bench/results/$REPORT.md
{
    echo "# zerocut benchmark results"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
    echo "- PostgreSQL: $(zc_psql -At -c 'SELECT version()')"
    echo "- zerocut: $(zc_psql -At -c 'CREATE EXTENSION IF NOT EXISTS zerocut' -c 'SELECT zerocut.version()' | tail -n 1)"
    echo "- command: \`make bench${PG_LABEL:-}\` (or \`bash bench/run.sh ${workloads[*]}\`)"
    echo
    echo "| ratio | value | target | verdict |"
    echo "|---|---|---|---|"
    awk -F '\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$BENCH_OUT/ratios.tsv"
    echo
    echo "![ratios]($REPORT.png)"
    echo
    cat "$BENCH_OUT/sections.md"
} >"$report"

if command -v gnuplot >/dev/null && [ -s "$BENCH_OUT/ratios.tsv" ]; then
    gnuplot <<GNUPLOT
set terminal pngcairo size 1100,$((200 + 40 * $(wc -l <"$BENCH_OUT/ratios.tsv"))) font ",10" noenhanced
set output "$ROOT/bench/results/$REPORT.png"
set datafile separator "\t"
set style fill solid 0.6
set yrange [*:*] reverse
set ytics nomirror
set xlabel "ratio (see the target in latest.md)"
set title "zerocut benchmark ratios (green: meets its target, red: misses)"
set grid xtics
unset key
plot "$BENCH_OUT/ratios.tsv" using (\$2 * 0.5):0:(\$2 * 0.5):(0.35):(strcol(4) eq "meets" ? 0x2ca02c : 0xd62728):yticlabels(1) with boxxyerror lc rgb variable
GNUPLOT
fi
echo
echo "report: bench/results/$REPORT.md"
cat "$BENCH_OUT/ratios.tsv" | awk -F '\t' '{ printf "%-60s %8s %s %s\n", $1, $2, $3, $4 }'
