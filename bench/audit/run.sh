# audit: 100k-row bulk UPDATE, INSERT and DELETE on a usage-stats-like table
# with no trigger, the seed's PL/pgSQL audit trigger
# (bench/baseline/audit.sql), zerocut row mode and zerocut statement mode,
# all writing to the domain schema's audit_log.system_log (with its GIN
# index on metadata, operator class zerocut.jsonb_log_ops).  Row mode runs twice: through the log
# writer (the default) and through SQL INSERTs (zerocut.audit_direct_insert
# off).  Plus the lower bounds: the same log rows written by one
# hand-written SQL statement, and single-row pgbench updates with and
# without auditing (at fsync and synchronous_commit off, and at the defaults, on).
# Targets (issue 7): row-mode overhead <= 0.35 x the seed trigger's,
# statement mode <= 0.25 x; single-row TPS with auditing >= 0.9 x without.
ROWS=100000
RUNS=3
DB=bench_audit
zc_psql -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
zc_psql -q -d $DB -c "CREATE EXTENSION zerocut" -c "SELECT zerocut.install_domain_schema()" \
    -f ../baseline/audit.sql >/dev/null

TABLE_DDL="CREATE TABLE u (id bigserial PRIMARY KEY, workspace_id int NOT NULL, date date NOT NULL,
    api_calls int NOT NULL, tokens_used bigint NOT NULL, cost_amount numeric(10,2) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now())"
FILL="INSERT INTO u (workspace_id, date, api_calls, tokens_used, cost_amount)
    SELECT g % 100, DATE '2025-01-01' + g / 100, g % 1000, g * 10, (g % 500) / 10.0 FROM generate_series(1, $ROWS) g"

prepare() {  # fresh table and an empty log for every run: no variant inherits bloat
    local variant=$1 filled=$2
    zc_psql -q -d $DB -c "DROP TABLE IF EXISTS u" -c "TRUNCATE audit_log.system_log" -c "$TABLE_DDL" \
        -c "ALTER DATABASE $DB RESET zerocut.audit_direct_insert" >/dev/null
    [ "$filled" = yes ] && zc_psql -q -d $DB -c "$FILL"
    zc_psql -q -d $DB -c "VACUUM ANALYZE u" -c "VACUUM ANALYZE audit_log.system_log" -c "CHECKPOINT"
    case $variant in
        seed) zc_psql -q -d $DB -c "CREATE TRIGGER audit_changes AFTER INSERT OR UPDATE OR DELETE ON u
                  FOR EACH ROW EXECUTE FUNCTION bench_seed_audit_trigger_function()" ;;
        row) zc_psql -q -d $DB -c "SELECT zerocut.enable_audit('u')" >/dev/null ;;
        row_sql) zc_psql -q -d $DB -c "SELECT zerocut.enable_audit('u')" \
                     -c "ALTER DATABASE $DB SET zerocut.audit_direct_insert = off" >/dev/null ;;
        statement) zc_psql -q -d $DB -c "SELECT zerocut.enable_audit('u', mode => 'statement')" >/dev/null ;;
    esac
}

UPDATE_SQL="UPDATE u SET api_calls = api_calls + 1"
INSERT_SQL="$FILL"
DELETE_SQL="DELETE FROM u"
# The lower bounds: the rows zerocut writes, by one plain statement each
# (for the UPDATE one that knows the delta in advance).
LOWER_UPDATE_SQL="WITH changed AS (UPDATE u SET api_calls = api_calls + 1 RETURNING id, api_calls)
    INSERT INTO audit_log.system_log (level, message, metadata)
    SELECT 'INFO', 'u record updated', jsonb_build_object('operation', 'UPDATE', 'schema', 'public', 'table', 'u',
        'pk', jsonb_build_object('id', id), 'old_data', jsonb_build_object('api_calls', api_calls - 1),
        'new_data', jsonb_build_object('api_calls', api_calls)) FROM changed"
LOWER_INSERT_SQL="WITH changed AS ($FILL RETURNING *)
    INSERT INTO audit_log.system_log (level, message, metadata)
    SELECT 'INFO', 'u record created', jsonb_build_object('operation', 'INSERT', 'schema', 'public', 'table', 'u',
        'pk', jsonb_build_object('id', id), 'new_data', to_jsonb(changed)) FROM changed"
LOWER_DELETE_SQL="WITH changed AS (DELETE FROM u RETURNING *)
    INSERT INTO audit_log.system_log (level, message, metadata)
    SELECT 'INFO', 'u record deleted', jsonb_build_object('operation', 'DELETE', 'schema', 'public', 'table', 'u',
        'pk', jsonb_build_object('id', id), 'old_data', to_jsonb(changed)) FROM changed"

declare -A times
for run in $(seq 1 $RUNS); do
    for variant in none seed row row_sql statement; do  # interleaved: drift hits all alike
        prepare $variant yes
        times[update_$variant]+="$(bench_ms $DB "$UPDATE_SQL") "
        zc_psql -q -d $DB -c "SELECT count(*) FROM audit_log.system_log" -At >"$BENCH_OUT/audit_rows_$variant"
        prepare $variant no
        times[insert_$variant]+="$(bench_ms $DB "$INSERT_SQL") "
        prepare $variant yes
        times[delete_$variant]+="$(bench_ms $DB "$DELETE_SQL") "
    done
    prepare none yes
    times[update_lower]+="$(bench_ms $DB "$LOWER_UPDATE_SQL") "
    prepare none no
    times[insert_lower]+="$(bench_ms $DB "$LOWER_INSERT_SQL") "
    prepare none yes
    times[delete_lower]+="$(bench_ms $DB "$LOWER_DELETE_SQL") "
done
median() { echo ${times[$1]} | tr ' ' '\n' | bench_median; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", a - b }'; }

bench_note "100,000-row statements on a usage-stats-like table, median of $RUNS interleaved runs, fresh table and" \
    "empty log each run; the log is the domain schema's audit_log.system_log (primary key (created_at, id), GIN" \
    "on metadata with zerocut.jsonb_log_ops). Row mode through the log writer (default) and through SQL" \
    "INSERTs (zerocut.audit_direct_insert = off)." \
    "Overhead = time minus the no-trigger time." ""
bench_note "| operation | no trigger (ms) | seed PL/pgSQL (ms) | zerocut row (ms) | zerocut row, SQL path (ms) | zerocut statement (ms) | one-statement lower bound (ms) | row / seed overhead | row SQL path / seed overhead | statement / seed overhead | lower bound / seed overhead |"
bench_note "|---|---|---|---|---|---|---|---|---|---|---|"
for op in update insert delete; do
    none=$(median ${op}_none)
    seed=$(median ${op}_seed)
    row=$(median ${op}_row)
    row_sql=$(median ${op}_row_sql)
    statement=$(median ${op}_statement)
    lower=$(median ${op}_lower)
    over_seed=$(minus $seed $none)
    over_row=$(minus $row $none)
    over_row_sql=$(minus $row_sql $none)
    over_statement=$(minus $statement $none)
    over_lower=$(minus $lower $none)
    ratio_row=$(bench_div $over_row $over_seed)
    ratio_row_sql=$(bench_div $over_row_sql $over_seed)
    ratio_statement=$(bench_div $over_statement $over_seed)
    ratio_lower=$(bench_div $over_lower $over_seed)
    echo "  $op: none ${none} ms, seed ${seed} ms, row ${row} ms, row SQL path ${row_sql} ms, statement ${statement} ms, lower bound ${lower} ms"
    bench_note "| ${op^^} | $none | $seed | $row | $row_sql | $statement | $lower | $ratio_row | $ratio_row_sql | $ratio_statement | $ratio_lower |"
    bench_ratio "audit: ${op^^} row-mode overhead / seed trigger overhead" "$ratio_row" "<=" 0.35
    bench_ratio "audit: ${op^^} statement-mode overhead / seed overhead" "$ratio_statement" "<=" 0.25
done
bench_note ""
bench_note "The lower bound writes the same log rows with one plain SQL statement (no trigger at all): what any" \
    "trigger must at least pay for inserting them into the GIN-indexed log. Log rows written by the UPDATE:" \
    "seed $(cat "$BENCH_OUT/audit_rows_seed"), row $(cat "$BENCH_OUT/audit_rows_row"), statement $(cat "$BENCH_OUT/audit_rows_statement")."

# Single-row updates through pgbench: TPS with row-mode auditing / without,
# with the seed's trigger for comparison, and the lower bound: the same
# UPDATE and its log row written by one plain statement, no trigger.
cat >"$BENCH_OUT/audit_pgbench.sql" <<'SQL'
\set id random(1, 100000)
UPDATE u SET api_calls = api_calls + 1 WHERE id = :id;
SQL
cat >"$BENCH_OUT/audit_pgbench_lower.sql" <<'SQL'
\set id random(1, 100000)
WITH c AS (UPDATE u SET api_calls = api_calls + 1 WHERE id = :id RETURNING id, api_calls) INSERT INTO audit_log.system_log (level, message, metadata) SELECT 'INFO', 'u record updated', jsonb_build_object('operation', 'UPDATE', 'schema', 'public', 'table', 'u', 'pk', jsonb_build_object('id', id), 'old_data', jsonb_build_object('api_calls', api_calls - 1), 'new_data', jsonb_build_object('api_calls', api_calls)) FROM c;
SQL
declare -A tps cpu
PGBENCH_RUNS=5
# The harness runs the cluster with fsync and synchronous_commit off, so
# the bulk timings measure CPU, not the disk; the *_durable variants run
# pgbench at the server's defaults, both on (fsync is reloadable): each
# commit waits for its WAL to reach the disk, as an audited server runs.
durable() {  # on | off
    if [ "$1" = on ]; then
        zc_psql -q -c "ALTER SYSTEM SET fsync = on" -c "SELECT pg_reload_conf()" >/dev/null
    else
        zc_psql -q -c "ALTER SYSTEM RESET fsync" -c "SELECT pg_reload_conf()" >/dev/null
    fi
    sleep 1  # every process has read the file
}
for run in $(seq 1 $PGBENCH_RUNS); do
    for variant in none seed row row_sql lower none_durable seed_durable row_durable; do
        script=$BENCH_OUT/audit_pgbench.sql
        options=
        case $variant in
            lower) prepare none yes; script=$BENCH_OUT/audit_pgbench_lower.sql ;;
            *_durable) prepare ${variant%_durable} yes; options="-c synchronous_commit=on"; durable on ;;
            *) prepare $variant yes ;;
        esac
        before=$(bench_server_cpu_ms)
        out=$(PGOPTIONS=$options "$ZC_BINDIR/pgbench" -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -n -c 2 -j 2 -T 10 \
            -f "$script" $DB 2>/dev/null)
        sleep 1  # the run's backends exit and are reaped
        after=$(bench_server_cpu_ms)
        if [ "${variant%_durable}" != "$variant" ]; then durable off; fi
        transactions=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
        tps[$variant]+="$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out") "
        cpu[$variant]+="$(awk -v ms=$((after - before)) -v n="$transactions" 'BEGIN { printf "%.1f", ms * 1000 / n }') "
    done
done
tps_median() { echo ${tps[$1]} | tr ' ' '\n' | bench_median; }
cpu_median() { echo ${cpu[$1]} | tr ' ' '\n' | bench_median; }
# Lowest and highest TPS of the runs: the no-auditing TPS moves by a third
# or more from run to run on a shared machine, and the ratio with it.
tps_range() { echo ${tps[$1]} | tr ' ' '\n' | sort -g | awk 'NF { v[++n] = $1 } END { printf "%.0f-%.0f", v[1], v[n] }'; }
bench_note ""
bench_note "pgbench, single-row UPDATE by random id, 2 clients, 10 s, median of $PGBENCH_RUNS interleaved runs. Server CPU is" \
    "the whole cluster's CPU time (backends and WAL writer) per transaction. The lower bound writes the UPDATE" \
    "and its log row as one plain statement, no trigger. \"on\" rows run at the server's defaults, fsync and" \
    "synchronous_commit on (each commit waits for its WAL to reach the disk); \"off\" rows at the harness's" \
    "fsync and synchronous_commit off, where throughput is bound by CPU alone." ""
bench_note "| variant | fsync, synchronous_commit | TPS | TPS range over the runs | TPS / no auditing | server CPU per transaction (µs) |"
bench_note "|---|---|---|---|---|---|"
tps_none=$(tps_median none)
tps_none_durable=$(tps_median none_durable)
for variant in none seed row row_sql lower none_durable seed_durable row_durable; do
    case $variant in
        none | none_durable) label="no auditing" ;; seed | seed_durable) label="seed PL/pgSQL trigger" ;;
        row | row_durable) label="zerocut row mode" ;; row_sql) label="zerocut row mode, SQL path" ;;
        lower) label="lower bound (one plain statement)" ;;
    esac
    durability=off base=$tps_none
    [ "${variant%_durable}" != "$variant" ] && durability=on base=$tps_none_durable
    bench_note "| $label | $durability | $(tps_median $variant) | $(tps_range $variant) | $(bench_div "$(tps_median $variant)" "$base") | $(cpu_median $variant) |"
done
tps_row=$(tps_median row)
tps_row_durable=$(tps_median row_durable)
echo "  pgbench single-row UPDATE, fsync and synchronous_commit off: ${tps_none} TPS without, ${tps_row} with row-mode auditing," \
    "$(tps_median seed) with the seed's, $(tps_median lower) lower bound"
echo "  pgbench single-row UPDATE, fsync and synchronous_commit on: ${tps_none_durable} TPS without, ${tps_row_durable} with" \
    "row-mode auditing, $(tps_median seed_durable) with the seed's"
# Both against the issue's 0.9: at the server's defaults, where the wait for
# the disk is part of every transaction (the seed's trigger, measured there
# too, shows the setting still tells triggers apart), and CPU-bound, where
# only the server's work counts (the stricter reading).
bench_ratio "audit: single-row TPS with auditing / without (fsync, sync commit)" "$(bench_div $tps_row_durable $tps_none_durable)" ">=" 0.9
bench_ratio "audit: single-row TPS with auditing / without (no fsync, async)" "$(bench_div $tps_row $tps_none)" ">=" 0.9

# Lookups on a 1,000,000-row log (audit rows of four hot tables and a rare
# one, and system events): the envelope expression index of earlier installs
# (jsonb_path_ops, four keys per audit row) against jsonb_log_ops (one key),
# each query run 1,000 times in a loop; and the index's build time and size.
zc_psql -q -d $DB -c "DROP TABLE IF EXISTS logx" -c "CREATE TABLE logx (id bigserial, metadata jsonb NOT NULL)" \
    -c "INSERT INTO logx (metadata) SELECT jsonb_build_object('operation', (ARRAY['INSERT','UPDATE','DELETE'])[1 + g % 3],
        'schema', 'public', 'table', CASE WHEN g % 1000 = 0 THEN 'rare' ELSE 'hot' || g % 4 END,
        'pk', jsonb_build_object('id', g % 200000), 'old_data', jsonb_build_object('api_calls', g, 'note', 'x' || g),
        'new_data', jsonb_build_object('api_calls', g + 1, 'note', 'y' || g)) FROM generate_series(1, 1000000) g" \
    -c "INSERT INTO logx (metadata) SELECT jsonb_build_object('job', 'archive', 'run', g) FROM generate_series(1, 1000) g" \
    -c "VACUUM ANALYZE logx"
ENVELOPE="(metadata - '{old_data,new_data}'::text[])"
declare -A lookup
lookup_ms() {  # lookup_ms EXPRESSION QUERY_JSON: ms for 1,000 lookups
    bench_ms $DB "SET enable_seqscan = off; DO \$\$ BEGIN FOR i IN 1..1000 LOOP
        PERFORM count(*) FROM logx WHERE $1 @> '$2'; END LOOP; END \$\$"
}
for variant in envelope log_ops; do
    if [ $variant = envelope ]; then
        build=$(bench_ms $DB "CREATE INDEX logx_gin ON logx USING gin ($ENVELOPE jsonb_path_ops)")
        expr=$ENVELOPE
    else
        build=$(bench_ms $DB "CREATE INDEX logx_gin ON logx USING gin (metadata zerocut.jsonb_log_ops)")
        expr=metadata
    fi
    size=$(zc_psql -d $DB -At -c "SELECT pg_size_pretty(pg_relation_size('logx_gin'))")
    history=$(lookup_ms "$expr" '{"schema": "public", "table": "hot1", "pk": {"id": 4321}}')
    rare=$(lookup_ms "$expr" '{"table": "rare"}')
    event=$(lookup_ms "$expr" '{"job": "archive", "run": 7}')
    lookup[$variant]="$build|$size|$history|$rare|$event"
    zc_psql -q -d $DB -c "DROP INDEX logx_gin"
done
bench_note "" "Lookups on a 1,000,000-row log (audit rows of four hot tables and a rare one, 1,000 system events):" \
    "the envelope expression index of earlier installs against jsonb_log_ops on plain metadata; ms for 1,000" \
    "lookups in a PL/pgSQL loop (bitmap index scans)." "" \
    "| index | build (ms) | size | one row's history (5 rows) | a rare table (1,000 rows) | a system event (1 row) |" \
    "|---|---|---|---|---|---|"
for variant in envelope log_ops; do
    IFS='|' read -r build size history rare event <<<"${lookup[$variant]}"
    bench_note "| $variant | $build | $size | $history | $rare | $event |"
done
IFS='|' read -r _ _ history_envelope _ _ <<<"${lookup[envelope]}"
IFS='|' read -r _ _ history_log_ops _ _ <<<"${lookup[log_ops]}"
echo "  lookups: envelope ${lookup[envelope]}, log_ops ${lookup[log_ops]} (build|size|history|rare|event)"
bench_ratio "audit: history lookup, jsonb_log_ops / envelope index" "$(bench_div $history_log_ops $history_envelope)" "<=" 1.0
zc_psql -q -c "DROP DATABASE $DB"
