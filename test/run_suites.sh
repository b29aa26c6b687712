#!/usr/bin/env bash
# Runs the server suites of zerocut against the PostgreSQL that pg_config
# names, and ends with one line "N passed, N failed".  test/run_all.sh calls
# it once per PostgreSQL version (for 17 inside scripts/pg-root.sh's root).
#   regress     pg_regress sql/*.sql against expected/, temporary instance
#   isolation   pg_isolation_regress test/isolation/specs/*.spec
#   e2e         test/e2e/*.sh, each on its own throwaway cluster
# Builds this tree and installs it into a private copy of PostgreSQL
# (scripts/tmp_install.sh): the suites test exactly this tree's build.
# A suite's failures print their diffs; a backend killed by a signal in any
# server log fails the run.  Results and logs are kept in $ZC_OUTPUT
# (default test/output/).
#   ZC_SUITES   the suites to run (default "regress isolation e2e")
#   ZC_FAKE_TIME  e.g. "2028-02-29 12:00:00": the suites run with the
#               server's and clients' clock moved there (libfaketime), so a
#               test that holds on one day only fails here
#   ZC_SKIP_SPECS isolation specs to leave out (names, space-separated)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUTPUT=${ZC_OUTPUT:-$ROOT/test/output}
SUITES=" ${ZC_SUITES:-regress isolation e2e} "
clock=()
if [ -n "${ZC_FAKE_TIME:-}" ]; then
    faketime_lib=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -n 1)
    [ -n "$faketime_lib" ] || { echo "ZC_FAKE_TIME needs libfaketime (package faketime)"; echo "0 passed, 1 failed"; exit 1; }
    # An offset from the real clock, not a start time ("@..."): every
    # process, whenever it starts, agrees on the time, and timers fire on time.
    offset=$(( $(date -u -d "$ZC_FAKE_TIME" +%s) - $(date +%s) ))
    clock=(env "FAKETIME=+$offset" "FAKETIME_DONT_FAKE_MONOTONIC=1" "LD_PRELOAD=$faketime_lib")
fi
PGXS_SRC=$(dirname "$(dirname "$(pg_config --pgxs)")")
BINDIR=$(bash "$ROOT/scripts/tmp_install.sh" "$ROOT") || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
export ZC_BINDIR=$BINDIR   # e2e clusters use the private installation too
source "$ROOT/test/lib/cluster.sh"

passed=0
failed=0
failures=()

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); failures+=("$1"); }

# A scratch directory the unprivileged test user owns (root cannot run initdb).
WORK=$(mktemp -d /tmp/zerocut-test.XXXXXX)
chmod 755 "$WORK"
# Results and logs are kept in test/output/ for a look after the run.
cleanup() {
    rm -rf "$OUTPUT"
    mkdir -p "$OUTPUT"
    (cd "$WORK" && find . -path '*/tmp_check/data' -prune -o -type f \( -name '*.out' -o -name '*.diffs' \
        -o -name '*.log' -o -name 'output.txt' \) -exec cp --parents {} "$OUTPUT" \;)
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/test"
cp -r "$ROOT/sql" "$ROOT/expected" "$WORK/"
cp -r "$ROOT/test/isolation" "$ROOT/test/regress.conf" "$WORK/test/"   # not test/output
[ "$(id -u)" = 0 ] && chown -R postgres: "$WORK"

check_logs() {
    local suite=$1 log
    for log in $(find "$WORK/$suite" -name '*.log' 2>/dev/null); do
        if grep -q "terminated by signal" "$log"; then
            grep "terminated by signal" "$log"
            fail "$suite: backend terminated by a signal (see $log)"
        fi
    done
}

# Reads pg_regress's result lines into the counts and sets results_seen to
# how many there were: "test name ... ok|FAILED" up to PostgreSQL 15, TAP
# ("ok 1 - name", "not ok 2 - name") from 16 on.
result_line='(\.\.\. (ok|FAILED|failed))|^(not )?ok +[0-9]+ +(\+ +)?- '
failed_line='(\.\.\. (FAILED|failed))|^not ok '

count_results() {
    local suite=$1 output=$2 line name
    results_seen=0
    while IFS= read -r line; do
        results_seen=$((results_seen + 1))
        case "$line" in
            *" ... "*) name=$(echo "$line" | sed -E 's/^(test|     )? *([^ ]+) +\.\.\..*/\2/') ;;
            *) name=$(echo "$line" | sed -E 's/^(not )?ok +[0-9]+ +(\+ +)?- +([^ ]+).*/\3/') ;;
        esac
        case "$line" in
            *"... ok "*|*"... ok"|"ok "*) pass ;;
            *) fail "$suite/$name" ;;
        esac
    done < <(grep -E "$result_line" "$output")
}
run_regress_suite() {
    local suite=$1 runner=$2 inputdir=$3; shift 3
    local tests=("$@")
    [ ${#tests[@]} -gt 0 ] || return 0
    mkdir -p "$WORK/$suite"
    [ "$(id -u)" = 0 ] && chown postgres: "$WORK/$suite"
    echo "== $suite (${#tests[@]} tests)"
    (cd "$WORK/$suite" && zc_as_owner "${clock[@]}" "$runner" \
        --temp-instance="$WORK/$suite/tmp_check" \
        --temp-config="$WORK/test/regress.conf" \
        --inputdir="$inputdir" --outputdir="$WORK/$suite" \
        --bindir="$BINDIR" --dbname=contrib_regression \
        "${tests[@]}") >"$WORK/$suite/output.txt" 2>&1
    local rc=$?
    grep -vE '^(CREATE|ALTER) DATABASE$' "$WORK/$suite/output.txt" || true
    count_results "$suite" "$WORK/$suite/output.txt"
    # Every test must have a result line, and the runner must agree.
    if [ "$results_seen" -ne ${#tests[@]} ]; then
        fail "$suite: ${#tests[@]} tests but $results_seen results (runner stopped early, see output above)"
    elif [ "$rc" -ne 0 ] && ! grep -qE "$failed_line" "$WORK/$suite/output.txt"; then
        fail "$suite: runner exited with $rc"
    fi
    if [ -s "$WORK/$suite/regression.diffs" ]; then
        echo "---- $suite diffs"
        cat "$WORK/$suite/regression.diffs"
    fi
    check_logs "$suite"
}

if [[ $SUITES == *" regress "* ]]; then
    regress_tests=()
    for f in "$ROOT"/sql/*.sql; do [ -e "$f" ] && regress_tests+=("$(basename "$f" .sql)"); done
    run_regress_suite regress "$PGXS_SRC/test/regress/pg_regress" "$WORK" "${regress_tests[@]}"
fi

if [[ $SUITES == *" isolation "* ]]; then
    isolation_tests=()
    for f in "$ROOT"/test/isolation/specs/*.spec; do
        [ -e "$f" ] && [[ " ${ZC_SKIP_SPECS:-} " != *" $(basename "$f" .spec) "* ]] && isolation_tests+=("$(basename "$f" .spec)")
    done
    run_regress_suite isolation "$PGXS_SRC/test/isolation/pg_isolation_regress" "$WORK/test/isolation" "${isolation_tests[@]}"
fi

[[ $SUITES == *" e2e "* ]] && echo "== e2e"
for script in "$ROOT"/test/e2e/*.sh; do
    [[ $SUITES == *" e2e "* ]] || break
    [ -e "$script" ] || continue
    name=$(basename "$script" .sh)
    start=$(date +%s)
    if bash "$script" >"$WORK/e2e-$name.log" 2>&1; then
        echo "e2e $name ... ok ($(( $(date +%s) - start )) s)"
        pass
    else
        echo "e2e $name ... FAILED ($(( $(date +%s) - start )) s)"
        tail -n 40 "$WORK/e2e-$name.log"
        fail "e2e/$name"
    fi
done

echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "failed:"
    printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
