# analytics: get_workspace_dashboard_stats() throughput with pgbench, 2 clients,
# random workspaces of 1,000 workspaces x 400 days of sample data, side by side:
#   zerocut      SELECT zerocut.get_workspace_dashboard_stats(:wid)
#   seed         the seed's PL/pgSQL function (bench/baseline/analytics.sql)
#   lower bound  one prepared SQL statement giving the same JSON with one scan
#                of the window (aggregates and json_agg in one Aggregate node)
#   seed query   the seed's own query (two scans) as one prepared statement
# then the seed's function on the seed's own index set
# (bench/baseline/analytics_seed_indexes.sql), and refresh_analytics_views().
# Targets: zerocut >= 1.3 x seed TPS; lower bound <= 1.1 x zerocut TPS.
WORKSPACES=1000
DAYS=400
RUNS=5        # interleaved rounds; medians reported
SECONDS_PER_RUN=8
DB=bench_analytics
PGBENCH=$ZC_BINDIR/pgbench

zc_psql -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
zc_psql -q -d $DB -c "CREATE EXTENSION zerocut" -c "SELECT zerocut.install_domain_schema()" \
    -c "SELECT zerocut.generate_sample_data($WORKSPACES, $DAYS)" -f ../baseline/analytics.sql -c "VACUUM ANALYZE" >/dev/null

# The comparison is only fair if the results are the same.
same=$(zc_psql -d $DB -At -c "SELECT count(*) FILTER (WHERE zerocut.get_workspace_dashboard_stats(id)::text
                                                        = bench_seed_dashboard_stats(id)::text)
                               FROM workspace_domain.workspace")
echo "  identical JSON (as text) for $same of $WORKSPACES workspaces"

tps() {  # tps SCRIPT: one pgbench run, prints its TPS
    "$PGBENCH" -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -n -M prepared -c 2 -j 2 -T $SECONDS_PER_RUN \
        -f "$1.pgb" $DB 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
median_of() { echo "$@" | tr ' ' '\n' | grep . | bench_median; }

declare -A runs
for run in $(seq 1 $RUNS); do
    for variant in zerocut seed_plpgsql lower_bound_sql seed_query_sql; do  # interleaved: load drift hits all alike
        runs[$variant]+="$(tps $variant) "
    done
done
zerocut=$(median_of ${runs[zerocut]})
seed=$(median_of ${runs[seed_plpgsql]})
lower=$(median_of ${runs[lower_bound_sql]})
seed_query=$(median_of ${runs[seed_query_sql]})
echo "  TPS medians: zerocut $zerocut, seed PL/pgSQL $seed, lower bound SQL $lower, seed's query as SQL $seed_query"
echo "  runs: zerocut ${runs[zerocut]}| seed ${runs[seed_plpgsql]}| lower bound ${runs[lower_bound_sql]}| seed query ${runs[seed_query_sql]}"

# The seed's own index set: no membership or key indexes.
zc_psql -q -d $DB -f ../baseline/analytics_seed_indexes.sql
for run in $(seq 1 $RUNS); do
    for variant in seed_plpgsql zerocut; do
        runs[${variant}_seed_idx]+="$(tps $variant) "
    done
done
seed_seed_idx=$(median_of ${runs[seed_plpgsql_seed_idx]})
zerocut_seed_idx=$(median_of ${runs[zerocut_seed_idx]})
echo "  seed's index set: seed PL/pgSQL $seed_seed_idx, zerocut $zerocut_seed_idx"

# refresh_analytics_views(): the first (plain) and then concurrent refreshes.
first_ms=$(bench_ms $DB "SELECT * FROM zerocut.refresh_analytics_views()")
concurrent=""
for run in $(seq 1 $RUNS); do concurrent+="$(bench_ms $DB "SELECT * FROM zerocut.refresh_analytics_views()") "; done
concurrent_ms=$(median_of $concurrent)
plain_sql=""
for run in $(seq 1 $RUNS); do plain_sql+="$(bench_ms $DB "REFRESH MATERIALIZED VIEW data_statistics.mv_workspace_analytics") "; done
plain_sql_ms=$(median_of $plain_sql)
# The seed's materialized view (fan-out joins), for reference: it cannot be
# refreshed CONCURRENTLY at all (no unique index); its plain refresh:
zc_psql -q -d $DB -c "CREATE MATERIALIZED VIEW bench_seed_mv AS
    SELECT w.id AS workspace_id, w.name AS workspace_name,
           COUNT(DISTINCT uw.user_id) AS member_count, COUNT(DISTINCT ak.id) AS api_key_count,
           SUM(us.api_calls) AS total_api_calls, SUM(us.tokens_used) AS total_tokens_used,
           SUM(us.cost_amount) AS total_cost, AVG(us.api_calls) AS avg_daily_calls, MAX(us.date) AS last_activity_date
    FROM workspace_domain.workspace w
    LEFT JOIN workspace_domain.user_workspace uw ON w.id = uw.workspace_id AND uw.status = 'active'
    LEFT JOIN api_management.api_key ak ON w.id = ak.workspace_id AND ak.status = 'active'
    LEFT JOIN data_statistics.usage_stats us ON w.id = us.workspace_id
    WHERE w.status = 'active' GROUP BY w.id, w.name WITH NO DATA"
seed_refresh=""
for run in $(seq 1 $RUNS); do seed_refresh+="$(bench_ms $DB "REFRESH MATERIALIZED VIEW bench_seed_mv") "; done
seed_refresh_ms=$(median_of $seed_refresh)
echo "  refresh_analytics_views(): first (plain) $first_ms ms, concurrent $concurrent_ms ms;" \
     "plain REFRESH SQL $plain_sql_ms ms; seed's fan-out MV plain refresh $seed_refresh_ms ms"

# bench_note joins its arguments into one line: one call per markdown line.
bench_note "pgbench -M prepared, 2 clients, ${SECONDS_PER_RUN} s per run, $RUNS interleaved rounds (median TPS), random workspace of $WORKSPACES x $DAYS days (400k usage rows); identical JSON for $same of $WORKSPACES workspaces."
bench_note ""
bench_note "| variant | TPS (median) | runs |"
bench_note "|---|---|---|"
bench_note "| zerocut.get_workspace_dashboard_stats() | $zerocut | ${runs[zerocut]} |"
bench_note "| seed PL/pgSQL (baseline) | $seed | ${runs[seed_plpgsql]} |"
bench_note "| lower bound: one prepared statement, one scan (same JSON) | $lower | ${runs[lower_bound_sql]} |"
bench_note "| the seed's query (two scans) as one prepared statement | $seed_query | ${runs[seed_query_sql]} |"
bench_note "| seed PL/pgSQL, seed's own index set | $seed_seed_idx | ${runs[seed_plpgsql_seed_idx]} |"
bench_note "| zerocut, seed's own index set | $zerocut_seed_idx | ${runs[zerocut_seed_idx]} |"
bench_note ""
bench_note "| refresh (1,000 workspaces, 400k usage rows) | ms (median of $RUNS) |"
bench_note "|---|---|"
bench_note "| refresh_analytics_views(), first call (plain; one run, not a median) | $first_ms |"
bench_note "| refresh_analytics_views(), CONCURRENTLY | $concurrent_ms |"
bench_note "| plain REFRESH MATERIALIZED VIEW of the same view | $plain_sql_ms |"
bench_note "| seed's fan-out view, plain REFRESH (CONCURRENTLY impossible: no unique index) | $seed_refresh_ms |"
bench_ratio "analytics: dashboard TPS, zerocut / seed PL/pgSQL" "$(bench_div $zerocut $seed)" ">=" 1.3
bench_ratio "analytics: dashboard TPS, lower bound SQL / zerocut" "$(bench_div $lower $zerocut)" "<=" 1.1
bench_ratio "analytics: seed PL/pgSQL TPS, domain indexes / seed's index set" "$(bench_div $seed $seed_seed_idx)" ">=" 1.0
bench_ratio "analytics: identical JSON, workspaces / $WORKSPACES" "$(bench_div $same $WORKSPACES)" ">=" 1.0
zc_psql -q -c "DROP DATABASE $DB"
