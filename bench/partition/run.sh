# partition: zerocut's partition manager side by side with pg_partman 4.7
# (Debian postgresql-15-partman) on one cluster, 50 monthly parents each,
# 24 months of history, premake 4.
#   1. run_maintenance() with nothing to do     target: pg_partman / zerocut >= 10
#   2. creating the next month for all parents  target: pg_partman / zerocut >= 1
#   3. INSERT throughput into partitioned usage_stats vs the same table
#      unpartitioned (pgbench, single-row inserts)  target: >= 0.9
#   4. convert_to_partitioned() of a 1M-row plain table: time under the
#      SHARE ROW EXCLUSIVE scan vs under ACCESS EXCLUSIVE (reported)
PARENTS=50
RUNS=7
DB=bench_partition
zc_psql -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
zc_psql -q -d $DB -c "SET client_min_messages = warning" -c "CREATE EXTENSION zerocut" \
    -c "CREATE SCHEMA partman" -c "CREATE EXTENSION pg_partman SCHEMA partman" \
    -c "CREATE SCHEMA pm" -c "CREATE SCHEMA zc" \
    -c "CREATE SCHEMA audit_log" \
    -c "CREATE TABLE audit_log.system_log (id bigserial PRIMARY KEY, level varchar(10) NOT NULL, message text NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}', user_id integer, created_at timestamptz NOT NULL DEFAULT now())"
zc_psql -q -d $DB -c "SET client_min_messages = warning" -c "
DO \$\$
DECLARE
    partman_major int := (SELECT split_part(extversion, '.', 1)::int FROM pg_extension WHERE extname = 'pg_partman');
BEGIN
    FOR i IN 1..$PARENTS LOOP
        EXECUTE format('CREATE TABLE pm.t%s (id bigint NOT NULL, ts timestamptz NOT NULL, v int) PARTITION BY RANGE (ts)', i);
        -- pg_partman 5 (PostgreSQL 17's package) dropped the 'native' type
        -- argument and takes the interval as an interval.
        IF partman_major >= 5 THEN
            PERFORM partman.create_parent(format('pm.t%s', i), 'ts', '1 month', p_premake := 4,
                                          p_start_partition := to_char(date_trunc('month', now() - interval '24 months'), 'YYYY-MM-DD'),
                                          p_jobmon := false);
        ELSE
            PERFORM partman.create_parent(format('pm.t%s', i), 'ts', 'native', 'monthly', p_premake := 4,
                                          p_start_partition := to_char(date_trunc('month', now() - interval '24 months'), 'YYYY-MM-DD'),
                                          p_jobmon := false);
        END IF;
        EXECUTE format('CREATE TABLE zc.t%s (id bigint NOT NULL, ts timestamptz NOT NULL, v int) PARTITION BY RANGE (ts)', i);
        PERFORM zerocut.manage_partitions(format('zc.t%s', i)::regclass, 'ts', 'month', 4, NULL, 'detach',
                                          (now() - interval '24 months')::date);
    END LOOP;
END
\$\$"
count_children() {  # schema -> number of partitions (default included)
    zc_psql -At -d $DB -c "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent WHERE c.relnamespace = '$1'::regnamespace"
}
echo "  partitions: pg_partman $(count_children pm), zerocut $(count_children zc) (each side: $PARENTS parents incl. default)"
zc_psql -q -d $DB -c "SELECT partman.run_maintenance(p_analyze := false, p_jobmon := false)" -c "SELECT count(*) FROM zerocut.run_maintenance()" >/dev/null

# 1. Nothing to do.
declare -A t
for run in $(seq 1 $RUNS); do
    t[pm_idle]+="$(bench_ms $DB "SELECT partman.run_maintenance(p_analyze := false, p_jobmon := false)") "
    t[zc_idle]+="$(bench_ms $DB "SELECT count(*) FROM zerocut.run_maintenance()") "
done
pm_idle=$(echo ${t[pm_idle]} | tr ' ' '\n' | bench_median)
zc_idle=$(echo ${t[zc_idle]} | tr ' ' '\n' | bench_median)
echo "  idle run_maintenance(), median of $RUNS: pg_partman ${pm_idle} ms, zerocut ${zc_idle} ms"

# 2. The next month for every parent: drop the newest premade partition of
# each parent on both sides, then time one maintenance run.  pg_partman
# premakes relative to the newest row, not to now(), so every parent gets a
# row at now() first (both sides alike); without it pg_partman makes nothing.
zc_psql -q -d $DB -c "
DO \$\$
DECLARE
    partman_major int := (SELECT split_part(extversion, '.', 1)::int FROM pg_extension WHERE extname = 'pg_partman');
BEGIN
    FOR i IN 1..$PARENTS LOOP
        EXECUTE format('INSERT INTO pm.t%s VALUES (1, now(), 1)', i);
        EXECUTE format('INSERT INTO zc.t%s VALUES (1, now(), 1)', i);
    END LOOP;
END
\$\$"
drop_newest() {  # schema
    zc_psql -q -d $DB -c "SET client_min_messages = warning" -c "
DO \$\$
DECLARE r record;
BEGIN
    FOR r IN SELECT DISTINCT ON (i.inhparent) c.oid::regclass AS child
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
             WHERE p.relnamespace = '$1'::regnamespace AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
             ORDER BY i.inhparent, c.relname DESC LOOP
        EXECUTE format('DROP TABLE %s', r.child);
    END LOOP;
END
\$\$"
}
before_pm=$(count_children pm); before_zc=$(count_children zc)
for run in $(seq 1 $RUNS); do
    drop_newest pm; drop_newest zc
    t[pm_next]+="$(bench_ms $DB "SELECT partman.run_maintenance(p_analyze := false, p_jobmon := false)") "
    t[zc_next]+="$(bench_ms $DB "SELECT count(*) FROM zerocut.run_maintenance()") "
done
after_pm=$(count_children pm); after_zc=$(count_children zc)
pm_next=$(echo ${t[pm_next]} | tr ' ' '\n' | bench_median)
zc_next=$(echo ${t[zc_next]} | tr ' ' '\n' | bench_median)
echo "  next month for $PARENTS parents, median of $RUNS: pg_partman ${pm_next} ms, zerocut ${zc_next} ms" \
     "(partitions before/after: pg_partman $before_pm/$after_pm, zerocut $before_zc/$after_zc)"

# 3. INSERT throughput: pgbench single-row inserts into usage_stats,
# partitioned by month (zerocut-managed, 13 months + default) vs plain.
zc_psql -q -d $DB -c "SET client_min_messages = warning" -c "
CREATE TABLE public.usage_plain (id bigserial, workspace_id int NOT NULL, date date NOT NULL,
    api_calls int NOT NULL DEFAULT 0, tokens_used bigint NOT NULL DEFAULT 0, cost_amount numeric(10,2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id, date));
CREATE INDEX ON public.usage_plain (workspace_id, date);
CREATE TABLE public.usage_part (LIKE public.usage_plain INCLUDING DEFAULTS) PARTITION BY RANGE (date);
ALTER TABLE public.usage_part ADD PRIMARY KEY (id, date);
CREATE INDEX ON public.usage_part (workspace_id, date);
SELECT zerocut.manage_partitions('public.usage_part', 'date', 'month', 3, NULL, 'detach', (now() - interval '13 months')::date);"
PGB=$(dirname "$(command -v pg_config)")/pgbench
[ -x "$ZC_BINDIR/pgbench" ] && PGB=$ZC_BINDIR/pgbench
for table in usage_plain usage_part; do
    cat >"$BENCH_OUT/insert_$table.sql" <<SQL
\set w random(1, 100)
\set d random(0, 364)
INSERT INTO public.$table (workspace_id, date, api_calls, tokens_used, cost_amount)
VALUES (:w, CURRENT_DATE - (:d)::int, :d, :d * 37, :d * 0.01);
SQL
done
# Interleaved short runs, median: the machine is shared, so drift hits both alike.
for run in 1 2 3 4 5 6 7 8 9; do
    for mode in simple prepared; do
        for table in usage_plain usage_part; do
            tps=$("$PGB" -n -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -c 1 -T 3 -M $mode -f "$BENCH_OUT/insert_$table.sql" $DB 2>/dev/null \
                  | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1)
            t[$mode$table]+="${tps:-0} "
        done
    done
done
plain_tps=$(echo ${t[simpleusage_plain]} | tr ' ' '\n' | bench_median)
part_tps=$(echo ${t[simpleusage_part]} | tr ' ' '\n' | bench_median)
plain_prep=$(echo ${t[preparedusage_plain]} | tr ' ' '\n' | bench_median)
part_prep=$(echo ${t[preparedusage_part]} | tr ' ' '\n' | bench_median)
in_default=$(zc_psql -At -d $DB -c "SELECT count(*) FROM ONLY public.usage_part_default")
echo "  pgbench single-row INSERT, 1 client x 3 s, median of 9 interleaved runs: simple protocol plain ${plain_tps} tps, partitioned ${part_tps} tps;" \
     "prepared plain ${plain_prep} tps, partitioned ${part_prep} tps (rows in default: $in_default)"
bulk_plain=$(bench_ms $DB "INSERT INTO public.usage_plain (workspace_id, date) SELECT 1 + g % 100, CURRENT_DATE - g % 365 FROM generate_series(1, 200000) g")
bulk_part=$(bench_ms $DB "INSERT INTO public.usage_part (workspace_id, date) SELECT 1 + g % 100, CURRENT_DATE - g % 365 FROM generate_series(1, 200000) g")
echo "  bulk INSERT ... SELECT of 200000 rows: plain ${bulk_plain} ms, partitioned ${bulk_part} ms"

# 4. convert_to_partitioned() of a 1M-row plain table.
zc_psql -q -d $DB -c "SET client_min_messages = warning" -c "
CREATE TABLE public.legacy_usage (id bigserial, workspace_id int NOT NULL, date date NOT NULL, api_calls int NOT NULL DEFAULT 0,
    PRIMARY KEY (id, date));
CREATE INDEX legacy_usage_ws ON public.legacy_usage (workspace_id, date);
INSERT INTO public.legacy_usage (workspace_id, date, api_calls) SELECT 1 + g % 100, CURRENT_DATE - g % 730, g % 5000 FROM generate_series(1, 1000000) g;" \
    -c "VACUUM ANALYZE public.legacy_usage"
output=$(zc_psql -d $DB -c '\timing on' -c "SELECT zerocut.convert_to_partitioned('public.legacy_usage', 'date')" 2>&1)
convert_ms=$(echo "$output" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1)
scan_ms=$(echo "$output" | sed -n 's/.*bound scan \([0-9.]*\) ms.*/\1/p')
ae_ms=$(echo "$output" | sed -n 's/.*ACCESS EXCLUSIVE \([0-9.]*\) ms.*/\1/p')
echo "  convert_to_partitioned(1M rows): whole call ${convert_ms} ms; bound scan ${scan_ms} ms, then catalog work ${ae_ms} ms, both under ACCESS EXCLUSIVE"

# bench_note prints its arguments as one line: one call per markdown line.
bench_note "50 monthly parents per side, 24 months of history, premake 4 (pg_partman $(zc_psql -At -d $DB -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_partman'"), native partitioning, p_jobmon off; zerocut logs each action to audit_log.system_log)."
bench_note ""
bench_note "| measurement | pg_partman | zerocut |"
bench_note "|---|---|---|"
bench_note "| run_maintenance(), nothing to do (median of $RUNS, ms) | $pm_idle | $zc_idle |"
bench_note "| run_maintenance() creating the next month for all $PARENTS parents (median of $RUNS, ms) | $pm_next | $zc_next |"
bench_note "| partitions before / after the $RUNS creation rounds | $before_pm / $after_pm | $before_zc / $after_zc |"
bench_note ""
bench_note "INSERT into a usage_stats-shaped table, dates spread over the last 365 days:"
bench_note ""
bench_note "| variant | pgbench INSERT, simple protocol (tps) | pgbench INSERT, prepared (tps) | INSERT ... SELECT 200000 rows (ms) |"
bench_note "|---|---|---|---|"
bench_note "| unpartitioned | $plain_tps | $plain_prep | $bulk_plain |"
bench_note "| partitioned by month (zerocut) | $part_tps | $part_prep | $bulk_part |"
bench_note ""
bench_note "pgbench: single-row INSERTs, 1 client, 3 s per run, median of 9 interleaved runs; both protocols are held to the 0.9 target. On this shared 2-core machine single runs of this ratio ranged from 0.70 to 1.26 while the bench was developed; treat one run's verdict with care."
bench_note ""
bench_note "convert_to_partitioned() of a 1,000,000-row plain table (the old heap is attached as the legacy partition, not copied): whole call ${convert_ms} ms: bound scan ${scan_ms} ms, then catalog work ${ae_ms} ms, both under ACCESS EXCLUSIVE (taken first, so the scan sees every row the legacy partition attaches with; readers and writers wait for the whole call)."
bench_ratio "partition: idle run_maintenance, pg_partman / zerocut" "$(bench_div $pm_idle $zc_idle)" ">=" 10
bench_ratio "partition: next month for 50 parents, pg_partman / zerocut" "$(bench_div $pm_next $zc_next)" ">=" 1.0
bench_ratio "partition: INSERT tps, partitioned / unpartitioned" "$(bench_div $part_tps $plain_tps)" ">=" 0.9
bench_ratio "partition: INSERT tps (prepared), partitioned / unpartitioned" "$(bench_div $part_prep $plain_prep)" ">=" 0.9
zc_psql -q -c "DROP DATABASE $DB"
