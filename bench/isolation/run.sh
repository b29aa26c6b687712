# isolation: what tenant isolation (issue 17, docs/isolation.md) costs an
# application, with pgbench -M prepared, 2 clients, a random workspace of
# 1,000 workspaces x 400 days of sample data, two workloads:
#   dashboard  zerocut.get_workspace_dashboard_stats(:wid)
#   scan       30 days of usage_stats and of consumption_record (sums)
# each side by side:
#   A          as a login role IN ROLE application_user, isolation enabled:
#              BEGIN; SELECT zerocut.set_app_user(:uid); <queries>; END;
#              (:uid owns workspace :wid; the scan has no WHERE on the
#              workspace, row-level security supplies it)
#   B          as the tables' owner (superuser), isolation disabled, the
#              same workspace by explicit WHERE workspace_id = :wid, each
#              query on its own (autocommit)
# Target: A in one implicit transaction (set_app_user and the queries in one
# pipeline with one Sync, no BEGIN/END: the cheapest pool-safe form) >= 0.9
# x B TPS, and row security alone >= 0.9.  Beside them, to show where the
# difference goes:
#   A, pipelined   A's statements, BEGIN/END included, in one round trip
#   B, in BEGIN/END           B's queries in A's transaction shape
#   B, with set_app_user      A's statements exactly, isolation disabled:
#                             the difference to A is row security alone
#   ... with a writer        A in one implicit transaction and B while a
#                             third client commits 500 tiny writes a second:
#                             every commit changes the next snapshot, so A
#                             reads the memberships in (nearly) every
#                             transaction instead of keeping them
# Isolation is toggled in one database between the A and B runs (enable
# ~30 ms, disable ~15 ms), so both sides read the same data from the same
# cache with the same indexes: the plain (workspace_id) index that
# enable_workspace_isolation() would create on consumption_record is made
# beforehand, so enable finds it and disable keeps it.
WORKSPACES=1000
DAYS=400
RUNS=9              # interleaved rounds, order alternating; medians reported (single runs vary by ±15 % here)
SECONDS_PER_RUN=4
DB=bench_isolation
PGBENCH=$ZC_BINDIR/pgbench
SCRIPTS=$BENCH_OUT/isolation
mkdir -p "$SCRIPTS"

load_start=$(date +%s)
zc_psql -q -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" -c "DROP ROLE IF EXISTS bench_isolation_app" -c "CREATE DATABASE $DB"
zc_psql -q -d $DB -c "SET client_min_messages = warning" -c "CREATE EXTENSION zerocut" \
    -c "SELECT zerocut.install_domain_schema()" -c "SELECT zerocut.generate_sample_data($WORKSPACES, $DAYS)" >/dev/null
# Every workspace active (about 3% of the sample's are not: their members see
# nothing), so that A and B query the same workspaces; the sample's user
# 3w-2 is the always-active owner of workspace w and member of no other.
zc_psql -q -d $DB -c "SET client_min_messages = warning" \
    -c "UPDATE workspace_domain.workspace SET status = 'active' WHERE status <> 'active'" \
    -c "CREATE INDEX bench_consumption_record_workspace_idx ON financial_management.consumption_record (workspace_id)" \
    -c "SELECT zerocut.setup_roles()" -c "CREATE ROLE bench_isolation_app LOGIN IN ROLE application_user" \
    -c "SELECT zerocut.enable_workspace_isolation()" -c "CREATE TABLE bench_isolation_tick (n bigint)" \
    -c "INSERT INTO bench_isolation_tick VALUES (0)" -c "VACUUM ANALYZE" >/dev/null
load_seconds=$(( $(date +%s) - load_start ))
owners=$(zc_psql -d $DB -At -c "SELECT count(*) FROM generate_series(1, $WORKSPACES) w
                                WHERE ARRAY(SELECT workspace_id FROM workspace_domain.user_workspace
                                            WHERE user_id = 3 * w - 2 AND status = 'active') = ARRAY[w]")
echo "  data: $WORKSPACES workspaces x $DAYS days in ${load_seconds} s; user 3w-2 the only-workspace owner of w for $owners workspaces"

# The comparison is only fair if both sides see the same: every workspace's
# dashboard and sums as its owner under isolation equal the superuser's.
same=$(zc_psql -d $DB -At -q <<SQL
CREATE TABLE bench_isolation_expected AS
SELECT w AS wid, zerocut.get_workspace_dashboard_stats(w)::text AS dashboard,
       (SELECT row(sum(api_calls), sum(cost_amount))::text FROM data_statistics.usage_stats
        WHERE workspace_id = w AND date >= CURRENT_DATE - 30) AS usage,
       (SELECT row(count(*), sum(amount))::text FROM financial_management.consumption_record
        WHERE workspace_id = w AND created_at >= CURRENT_DATE - 30) AS consumption
FROM generate_series(1, $WORKSPACES) AS w;
GRANT SELECT ON bench_isolation_expected TO bench_isolation_app;
SET ROLE bench_isolation_app;
BEGIN;
CREATE TEMP TABLE seen (wid int, same boolean);
DO \$\$
DECLARE
    e record;
BEGIN
    FOR e IN SELECT * FROM bench_isolation_expected LOOP
        PERFORM zerocut.set_app_user(3 * e.wid - 2);
        INSERT INTO seen
        SELECT e.wid, zerocut.get_workspace_dashboard_stats(e.wid)::text = e.dashboard
                      AND (SELECT row(sum(api_calls), sum(cost_amount))::text FROM data_statistics.usage_stats
                           WHERE date >= CURRENT_DATE - 30) = e.usage
                      AND (SELECT row(count(*), sum(amount))::text FROM financial_management.consumption_record
                           WHERE created_at >= CURRENT_DATE - 30) = e.consumption;
    END LOOP;
END
\$\$;
SELECT count(*) FILTER (WHERE same) FROM seen;
ROLLBACK;
SQL
)
same=$(echo "$same" | tail -n 1)
echo "  identical dashboard JSON and 30-day sums for $same of $WORKSPACES workspaces"

# The app user's plans: one InitPlan (the membership list, once per
# statement) and index scans on workspace_id = ANY ($0).  The second
# EXPLAIN of each in the session is shown (the first pays catalog caching).
plans=$(zc_psql -d $DB -At -q <<'SQL'
SET ROLE bench_isolation_app;
BEGIN;
SELECT zerocut.set_app_user(298);
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT sum(api_calls), sum(cost_amount) FROM data_statistics.usage_stats WHERE date >= CURRENT_DATE - 30;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT count(*), sum(amount) FROM financial_management.consumption_record WHERE created_at >= CURRENT_DATE - 30;
\echo ====
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT sum(api_calls), sum(cost_amount) FROM data_statistics.usage_stats WHERE date >= CURRENT_DATE - 30;
\echo ====
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT count(*), sum(amount) FROM financial_management.consumption_record WHERE created_at >= CURRENT_DATE - 30;
COMMIT;
SQL
)
usage_plan=$(echo "$plans" | awk '/^====$/ { n++; next } n == 1')
consumption_plan=$(echo "$plans" | awk '/^====$/ { n++; next } n == 2')
# InitPlan nodes only: PostgreSQL 17 also names the InitPlan in the
# conditions that use it ("(InitPlan 1).col1" where 15 prints "$0").
initplans=$(echo "$usage_plan" | grep -cE "^ *(->  )?InitPlan [0-9]+")
index_scans=$(echo "$usage_plan" | grep -c "Index Cond: .*workspace_id = ANY")
echo "  usage scan plan as the app user: $initplans InitPlan, $index_scans index conditions on workspace_id = ANY (its list)"

# The pgbench scripts.  A's queries carry no workspace filter; B's do.
usage_a="SELECT sum(api_calls), sum(cost_amount) FROM data_statistics.usage_stats WHERE date >= CURRENT_DATE - 30;"
consumption_a="SELECT count(*), sum(amount) FROM financial_management.consumption_record WHERE created_at >= CURRENT_DATE - 30;"
usage_b="SELECT sum(api_calls), sum(cost_amount) FROM data_statistics.usage_stats WHERE workspace_id = :wid AND date >= CURRENT_DATE - 30;"
consumption_b="SELECT count(*), sum(amount) FROM financial_management.consumption_record WHERE workspace_id = :wid AND created_at >= CURRENT_DATE - 30;"
dashboard="SELECT zerocut.get_workspace_dashboard_stats(:wid);"
script() {  # script NAME LINES...: a pgbench script picking workspace :wid and its owner :uid
    local name=$1; shift
    printf '%s\n' "\\set wid random(1, $WORKSPACES)" '\set uid 3 * :wid - 2' "$@" >"$SCRIPTS/$name.pgb"
}
script dashboard_a BEGIN\; 'SELECT zerocut.set_app_user(:uid);' "$dashboard" END\;
script dashboard_a_pipeline '\startpipeline' BEGIN\; 'SELECT zerocut.set_app_user(:uid);' "$dashboard" END\; '\endpipeline'
script dashboard_a_implicit '\startpipeline' 'SELECT zerocut.set_app_user(:uid);' "$dashboard" '\endpipeline'
script dashboard_b "$dashboard"
script dashboard_b_tx BEGIN\; "$dashboard" END\;
script dashboard_b_set BEGIN\; 'SELECT zerocut.set_app_user(:uid);' "$dashboard" END\;
script scan_a BEGIN\; 'SELECT zerocut.set_app_user(:uid);' "$usage_a" "$consumption_a" END\;
script scan_a_pipeline '\startpipeline' BEGIN\; 'SELECT zerocut.set_app_user(:uid);' "$usage_a" "$consumption_a" END\; '\endpipeline'
script scan_a_implicit '\startpipeline' 'SELECT zerocut.set_app_user(:uid);' "$usage_a" "$consumption_a" '\endpipeline'
script scan_b "$usage_b" "$consumption_b"
script scan_b_tx BEGIN\; "$usage_b" "$consumption_b" END\;
script scan_b_set BEGIN\; 'SELECT zerocut.set_app_user(:uid);' "$usage_b" "$consumption_b" END\;
for w in dashboard scan; do   # the same scripts, run beside the writer
    cp "$SCRIPTS/${w}_a_implicit.pgb" "$SCRIPTS/${w}_a_implicit_writer.pgb"
    cp "$SCRIPTS/${w}_b.pgb" "$SCRIPTS/${w}_b_writer.pgb"
done
echo 'UPDATE bench_isolation_tick SET n = n + 1;' >"$SCRIPTS/tick.pgb"
WRITES_PER_SECOND=500

# The target form must really run as the user: one transaction in its shape
# (set_app_user and the scan in one pipeline, one Sync) that fails, division
# by zero, when the scan sees no row of workspace 100's owner.
printf '%s\n' '\startpipeline' 'SELECT zerocut.set_app_user(298);' \
    'SELECT 1 / (count(*) > 0)::int FROM data_statistics.usage_stats WHERE date >= CURRENT_DATE - 30;' \
    '\endpipeline' >"$SCRIPTS/implicit_sees_rows.pgb"
implicit_ok=0
"$PGBENCH" -h "$ZC_SOCK" -p "$ZC_PORT" -U bench_isolation_app -n -M prepared -t 1 -f "$SCRIPTS/implicit_sees_rows.pgb" $DB \
    >"$SCRIPTS/implicit_sees_rows.log" 2>&1 && ! grep -qE "ERROR|WARNING|aborted" "$SCRIPTS/implicit_sees_rows.log" && implicit_ok=1
echo "  one implicit transaction (pipeline, one Sync) sees its user's rows: $([ $implicit_ok = 1 ] && echo yes || echo NO)"

declare -A runs cpu
measure() {  # measure ROLE SCRIPT: one pgbench run; appends its TPS and server CPU µs per transaction
    local role=$1 name=$2 out before after processed writer=""
    if [[ $name == *_writer ]]; then   # the writer's own CPU is in the reading too, on both sides alike
        "$PGBENCH" -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -n -M prepared -c 1 -R $WRITES_PER_SECOND \
            -T $((SECONDS_PER_RUN + 1)) -f "$SCRIPTS/tick.pgb" $DB >"$SCRIPTS/tick.log" 2>&1 &
        writer=$!
        sleep 0.5
    fi
    before=$(bench_server_cpu_ms)
    out=$("$PGBENCH" -h "$ZC_SOCK" -p "$ZC_PORT" -U "$role" -n -M prepared -c 2 -j 2 -T $SECONDS_PER_RUN \
        -f "$SCRIPTS/$name.pgb" $DB 2>&1)
    [ -z "$writer" ] || wait "$writer"
    sleep 0.3   # the run's backends exit
    after=$(bench_server_cpu_ms)
    if echo "$out" | grep -qE "error|aborted"; then
        echo "  pgbench $name failed:"; echo "$out" | grep -E "error|aborted" | head -n 5
    fi
    processed=$(echo "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
    runs[$name]+="$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p') "
    cpu[$name]+="$(awk -v a="$after" -v b="$before" -v n="${processed:-0}" 'BEGIN { if (n > 0) printf "%.1f", (a - b) * 1000 / n; else print "nan" }') "
}
side_a() {
    zc_psql -q -d $DB -c "SELECT zerocut.enable_workspace_isolation()" >/dev/null
    for name in dashboard_a scan_a dashboard_a_pipeline scan_a_pipeline dashboard_a_implicit scan_a_implicit \
                dashboard_a_implicit_writer scan_a_implicit_writer; do measure bench_isolation_app $name; done
}
side_b() {
    zc_psql -q -d $DB -c "SELECT zerocut.disable_workspace_isolation()" >/dev/null
    for name in dashboard_b scan_b dashboard_b_tx scan_b_tx dashboard_b_set scan_b_set dashboard_b_writer scan_b_writer; do
        measure postgres $name
    done
}
for run in $(seq 1 $RUNS); do  # interleaved, the side first alternating: load drift hits both alike
    if [ $((run % 2)) = 1 ]; then side_a; side_b; else side_b; side_a; fi
done
zc_psql -q -d $DB -c "SELECT zerocut.enable_workspace_isolation()" >/dev/null   # as a user would leave it
median_of() { echo "$@" | tr ' ' '\n' | grep -v nan | grep . | bench_median; }
declare -A tps cpu_us
for name in "${!runs[@]}"; do
    tps[$name]=$(median_of ${runs[$name]})
    cpu_us[$name]=$(median_of ${cpu[$name]})
done
for w in dashboard scan; do
    echo "  $w TPS medians: A ${tps[${w}_a]}, B ${tps[${w}_b]} (ratio $(bench_div ${tps[${w}_a]} ${tps[${w}_b]}));" \
         "A in one implicit transaction ${tps[${w}_a_implicit]} (ratio $(bench_div ${tps[${w}_a_implicit]} ${tps[${w}_b]}))," \
         "A pipelined ${tps[${w}_a_pipeline]}, B in BEGIN/END ${tps[${w}_b_tx]}, B with set_app_user ${tps[${w}_b_set]}"
    echo "  $w server CPU µs per transaction: A ${cpu_us[${w}_a]}, B ${cpu_us[${w}_b]}, B with set_app_user ${cpu_us[${w}_b_set]}"
done

# bench_note joins its arguments into one line: one call per markdown line.
bench_note "pgbench -M prepared, 2 clients, ${SECONDS_PER_RUN} s per run, $RUNS interleaved rounds (the side first alternating; median TPS),"
bench_note "a random workspace of $WORKSPACES x $DAYS days of sample data (400k usage rows, 2M consumption records; loaded in ${load_seconds} s),"
bench_note "every workspace set active. A: login role \`bench_isolation_app\` IN ROLE application_user, isolation enabled, each"
bench_note "transaction \`BEGIN; SELECT zerocut.set_app_user(:uid); ...; END;\` for the owner :uid of workspace :wid (its only"
bench_note "workspace); the scan has no workspace filter. B: the tables' owner (superuser), isolation disabled, \`WHERE workspace_id = :wid\`,"
bench_note "each query autocommit. Isolation is toggled between the sides in one database (same data, cache and indexes; the"
bench_note "\`(workspace_id)\` index enable would create on consumption_record is made beforehand, so B has it too)."
bench_note "Same results on both sides: dashboard JSON and both 30-day sums identical for $same of $WORKSPACES workspaces."
bench_note ""
bench_note "| workload | variant | TPS (median) | vs B | server CPU µs/transaction (median) | runs (TPS) |"
bench_note "|---|---|---|---|---|---|"
for w in dashboard scan; do
    for v in a b a_implicit a_pipeline b_tx b_set a_implicit_writer b_writer; do
        case $v in
            a) label="A: app user, isolation, BEGIN; set_app_user; query; END" ;;
            b) label="B: owner, no isolation, WHERE workspace_id = :wid, autocommit" ;;
            a_implicit) label="A in one implicit transaction: set_app_user; query pipelined with one Sync, no BEGIN/END (the target)" ;;
            a_pipeline) label="A pipelined with its BEGIN and END (one round trip per transaction)" ;;
            b_tx) label="B in BEGIN; query; END" ;;
            b_set) label="B with set_app_user: A's statements, no isolation (A / this = row security alone)" ;;
            a_implicit_writer) label="A in one implicit transaction, beside a writer committing $WRITES_PER_SECOND/s (memberships read again after each commit; vs B beside it)" ;;
            b_writer) label="B beside the same writer (vs B beside it: 1.000)" ;;
        esac
        base=${w}_b
        [[ $v != *_writer ]] || base=${w}_b_writer
        bench_note "| $w | $label | ${tps[${w}_$v]} | $(bench_div ${tps[${w}_$v]} ${tps[$base]}) | ${cpu_us[${w}_$v]} | ${runs[${w}_$v]} |"
    done
done
bench_note ""
bench_note "Where A's time goes: B with set_app_user runs A's statements without row security, so B / it is the price of the"
bench_note "pool-safe transaction (BEGIN, set_app_user, END: three more round trips than an autocommit query) and A / it the price"
bench_note "of row security alone: dashboard $(bench_div ${tps[dashboard_b_set]} ${tps[dashboard_b]}) and $(bench_div ${tps[dashboard_a]} ${tps[dashboard_b_set]}),"
bench_note "scan $(bench_div ${tps[scan_b_set]} ${tps[scan_b]}) and $(bench_div ${tps[scan_a]} ${tps[scan_b_set]}). Row security costs one"
bench_note "zerocut.current_workspace_ids() call per tenant table a statement reads (the InitPlan; the dashboard's statement reads"
bench_note "five tenant tables, so five calls), each a lookup of a kept answer after the first read. The answers are kept per"
bench_note "user across transactions while the snapshots see the same rows (nothing that wrote has ended; docs/isolation.md,"
bench_note "Cost): this bench's loads are read-only, so each backend reads each user's memberships once per run. Beside a writer"
bench_note "committing $WRITES_PER_SECOND times a second every commit drops them, and nearly every transaction reads them again"
bench_note "(two index scans): dashboard $(bench_div ${tps[dashboard_a_implicit_writer]} ${tps[dashboard_b_writer]}), scan $(bench_div ${tps[scan_a_implicit_writer]} ${tps[scan_b_writer]}) of B beside the same writer."
bench_note ""
bench_note "The targets compare A in its cheapest pool-safe form with B's one query: set_app_user and the queries sent in"
bench_note "one pipeline that ends with one Sync and has no BEGIN/END. The extended protocol runs the statements up to a Sync"
bench_note "as one transaction, so the user holds for the queries and ends at the Sync's commit, as after END (tested behind"
bench_note "PgBouncer in test/e2e/isolation_pgbouncer.sh); a pooled application gets it from its driver's pipeline or batch"
bench_note "mode (or one multi-statement simple query). A pipelined with BEGIN and END runs two statements more; A statement"
bench_note "by statement adds the round trips."
bench_note ""
bench_note "The app user's 30-day usage scan (\`SELECT zerocut.set_app_user(298)\`, owner of workspace 100; second run in the"
bench_note "session): $initplans InitPlan, the membership list computed once, and the index condition \`workspace_id = ANY (\$0)\` (\`(InitPlan 1).col1\` on PostgreSQL 17):"
bench_note ""
bench_note '```'
bench_note "$usage_plan"
bench_note '```'
bench_note ""
bench_note "The same for consumption_record (its workspace_id index: the one enable_workspace_isolation() needs):"
bench_note ""
bench_note '```'
bench_note "$consumption_plan"
bench_note '```'
bench_note ""
bench_note "Load average at the end of the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (shared machine)."
# The target ratios compare A in its cheapest pool-safe form (set_app_user
# and the queries in one pipeline with one Sync: one round trip, one
# transaction, no BEGIN/END) with B's one query.  A's other forms are in the
# table above: their differences are round trips and statements, not row
# security's.
bench_ratio "isolation: dashboard TPS, app user with isolation (one implicit transaction) / owner without" "$(bench_div ${tps[dashboard_a_implicit]} ${tps[dashboard_b]})" ">=" 0.9
bench_ratio "isolation: 30-day usage scan TPS, app user with isolation (one implicit transaction) / owner without" "$(bench_div ${tps[scan_a_implicit]} ${tps[scan_b]})" ">=" 0.9
bench_ratio "isolation: dashboard TPS beside a writer ($WRITES_PER_SECOND commits/s), A in one implicit transaction / B" "$(bench_div ${tps[dashboard_a_implicit_writer]} ${tps[dashboard_b_writer]})" ">=" 0.9
bench_ratio "isolation: 30-day usage scan TPS beside a writer ($WRITES_PER_SECOND commits/s), A in one implicit transaction / B" "$(bench_div ${tps[scan_a_implicit_writer]} ${tps[scan_b_writer]})" ">=" 0.9
bench_ratio "isolation: dashboard TPS, row security alone (A / B with set_app_user)" "$(bench_div ${tps[dashboard_a]} ${tps[dashboard_b_set]})" ">=" 0.9
bench_ratio "isolation: 30-day usage scan TPS, row security alone (A / B with set_app_user)" "$(bench_div ${tps[scan_a]} ${tps[scan_b_set]})" ">=" 0.9
bench_ratio "isolation: identical results, workspaces / $WORKSPACES" "$(bench_div $same $WORKSPACES)" ">=" 1.0
bench_ratio "isolation: the one-implicit-transaction form sees its user's rows (1 = yes)" "$implicit_ok" ">=" 1
plan_ok=$([ "$initplans" = 1 ] && [ "$index_scans" -ge 1 ] && echo 1 || echo 0)
bench_ratio "isolation: app user's usage scan has one InitPlan and a workspace_id index scan (1 = yes)" "$plan_ok" ">=" 1
zc_psql -q -c "DROP DATABASE $DB"
zc_psql -q -c "DROP ROLE bench_isolation_app"
# setup_roles()'s roles had grants in that database only; another database
# of this cluster may still use them.
zc_psql -q -c "DROP ROLE application_user, readonly_user" 2>/dev/null || true
