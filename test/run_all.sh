#!/usr/bin/env bash
# Runs every test suite of zerocut and ends with one line "N passed, N failed"
# counting all of them:
#   unit        GoogleTest through ctest (src/core), once
#   regress, isolation, e2e (test/run_suites.sh) on every PostgreSQL version
#               in $PG (default "15 17"): the machine's own server for its
#               version, the root folder of scripts/pg-root.sh for another;
#               then regress and isolation once more on the machine's
#               version with the clock moved to 2028-02-29 (libfaketime).
# Results and logs: test/output/unit/ and test/output/pg<version>/.
#   PG=17 bash test/run_all.sh      one version only (make test PG=17)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VERSIONS=${PG:-15 17}
HOST_VERSION=$(pg_config --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
source "$ROOT/test/lib/cluster.sh"   # the client environment is pinned here

passed=0
failed=0
failures=()
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); failures+=("$1"); }

rm -rf "$ROOT/test/output"
mkdir -p "$ROOT/test/output/unit"

echo "== unit (ctest)"
UNIT_LOG=$ROOT/test/output/unit
if cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$UNIT_LOG/cmake.log" 2>&1 &&
    cmake --build "$ROOT/build" -j2 >>"$UNIT_LOG/cmake.log" 2>&1; then
    (cd "$ROOT/build" && ctest --output-on-failure) >"$UNIT_LOG/ctest.log" 2>&1
    ctest_rc=$?
    tail -n 4 "$UNIT_LOG/ctest.log"
    unit_lines=0
    unit_failed=0
    while IFS= read -r line; do
        unit_lines=$((unit_lines + 1))
        case "$line" in
            *" Passed "*) pass ;;
            *) fail "unit/$(echo "$line" | awk '{print $4}')"; unit_failed=1 ;;
        esac
    done < <(grep -E '^ *[0-9]+/[0-9]+ Test +#' "$UNIT_LOG/ctest.log")
    [ "$unit_lines" -gt 0 ] || fail "unit: ctest ran no test"
    [ "$ctest_rc" = 0 ] || [ "$unit_failed" = 1 ] || fail "unit: ctest exited with $ctest_rc"
else
    cat "$UNIT_LOG/cmake.log"
    fail "unit: build failed"
fi

# Expected output must not hold today's date (it fails on any other day):
# every ISO date within two years of today in an expected file is reported
# with its file and line.  Test data that needs a fixed date uses one
# further away (the suites shift theirs by 28 years: same weekdays).
echo "== expected files: no date near today"
near_today=$(cd "$ROOT" && perl -MTime::Local -ne '
    BEGIN { $now = time; $window = 2 * 366 * 86400 }
    while (/\b((?:19|20)\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b/g) {
        my $t = eval { timegm(0, 0, 12, $3, $2 - 1, $1) };
        print "$ARGV:$.: $1-$2-$3\n" if defined $t && abs($t - $now) < $window;
    }
    close ARGV if eof' expected/*.out test/isolation/expected/*.out)
if [ -n "$near_today" ]; then
    echo "$near_today"
    fail "expected files hold dates near today (above): show them relative to CURRENT_DATE"
else
    pass
fi

# Adds a run_suites.sh output's closing line and failure list to the counts.
collect() {  # version output-file
    local version=$1 out=$2 summary
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    if [ -z "$summary" ]; then
        fail "pg$version: the suites stopped before their summary (see above)"
        return
    fi
    passed=$((passed + $(echo "$summary" | cut -d' ' -f1)))
    failed=$((failed + $(echo "$summary" | cut -d' ' -f3)))
    while IFS= read -r name; do
        failures+=("pg$version $name")
    done < <(sed -n '/^failed:$/,/^[0-9]* passed/{/^  /s/^  //p}' "$out")
}

for version in $VERSIONS; do
    echo
    echo "==== PostgreSQL $version"
    out=$ROOT/test/output/pg$version.txt
    if [ "$version" = "$HOST_VERSION" ]; then
        ZC_OUTPUT=$ROOT/test/output/pg$version bash "$ROOT/test/run_suites.sh" 2>&1 | tee "$out"
    else
        if ! pg_root=$(bash "$ROOT/scripts/pg-root.sh" "$version"); then
            fail "pg$version: no PostgreSQL $version root (scripts/pg-root.sh $version failed)"
            continue
        fi
        bash "$ROOT/scripts/pg-root.sh" --copy-tree "$version" "$ROOT"
        bash "$ROOT/scripts/pg-root.sh" --run "$version" \
            env ZC_OUTPUT=/zerocut-test/test/output ZC_OLD_SOURCE=/zerocut-old \
            bash /zerocut-test/test/run_suites.sh 2>&1 | tee "$out"
        mkdir -p "$ROOT/test/output/pg$version"
        cp -r "$pg_root/zerocut-test/test/output/." "$ROOT/test/output/pg$version/" 2>/dev/null || true
        rm -rf "$pg_root/zerocut-test" "$pg_root/zerocut-old"
    fi
    collect "$version" "$out"
done

# Once more with the clock moved to a month's end, on 29 February, in
# another year (PostgreSQL 15 only; no e2e).  audit_concurrent and
# migrate_online_copy_lock are left out: under libfaketime statement_timeout
# and lock_timeout do not fire (a 2 s pg_sleep under a 500 ms
# statement_timeout completes, a lock wait under lock_timeout never ends),
# and those specs need them.
if [[ " $VERSIONS " == *" $HOST_VERSION "* ]]; then
    echo
    echo "==== PostgreSQL $HOST_VERSION, clock at 2028-02-29 12:00 UTC"
    out=$ROOT/test/output/pg$HOST_VERSION-moved-clock.txt
    ZC_OUTPUT=$ROOT/test/output/pg$HOST_VERSION-moved-clock ZC_SUITES="regress isolation" \
        ZC_FAKE_TIME="2028-02-29 12:00:00" ZC_SKIP_SPECS="audit_concurrent migrate_online_copy_lock" \
        bash "$ROOT/test/run_suites.sh" 2>&1 | tee "$out"
    collect "$HOST_VERSION-moved-clock" "$out"
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "failed:"
    printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
