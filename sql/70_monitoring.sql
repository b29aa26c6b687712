-- Monitoring views and configuration advice (issue 18, part A).  Outputs
-- are counts and booleans: sizes and times vary from run to run.
\set SHOW_CONTEXT never

-- pg_stat_statements is loaded (test/regress.conf) but not installed in
-- this database: zerocut installed anyway, and slow_queries() says what
-- to do.
SELECT count(*) AS pg_stat_statements_installed FROM pg_extension WHERE extname = 'pg_stat_statements';
SELECT * FROM zerocut.slow_queries();
SELECT * FROM zerocut.v_slow_queries;

-- Bad arguments, named.
SELECT * FROM zerocut.slow_queries(NULL);
SELECT * FROM zerocut.slow_queries(-1);
SELECT * FROM zerocut.slow_queries('NaN');
SELECT * FROM zerocut.slow_queries('-Infinity');

-- With pg_stat_statements: the seed's columns from whichever version is
-- installed (1.10 on PostgreSQL 15, 1.11 on 17).
CREATE EXTENSION pg_stat_statements;
SELECT count(*) AS reset FROM pg_stat_statements_reset();
CREATE TABLE zc70_blocks AS SELECT g AS id FROM generate_series(1, 2000) g;
SELECT pg_sleep(0.15);
SELECT count(*) FROM zc70_blocks;
SELECT query, calls, total_time >= 150 AS total_over_150ms, mean_time >= 150 AS mean_over_150ms, rows,
       hit_percent IS NULL AS no_blocks_read, username = current_user AS mine, dbname = current_database() AS here
FROM zerocut.slow_queries() WHERE query LIKE 'SELECT pg_sleep%';
-- The default (100 ms) leaves the fast ones out; 0 takes every statement.
SELECT count(*) AS fast_in_default FROM zerocut.slow_queries() WHERE query LIKE 'SELECT count(*) FROM zc70_blocks%';
SELECT query, calls, rows, hit_percent BETWEEN 0 AND 100 AS hit_percent_sane
FROM zerocut.slow_queries(0) WHERE query LIKE 'SELECT count(*) FROM zc70_blocks%';
SELECT count(*) >= 1 AS view_has_sleep, bool_and(mean_time >= 100) AS all_slow,
       bool_and(mean_time <= total_time) AS mean_within_total
FROM zerocut.v_slow_queries;
SELECT array_agg(attname ORDER BY attnum) AS v_slow_queries_columns
FROM pg_attribute WHERE attrelid = 'zerocut.v_slow_queries'::regclass AND attnum > 0;
DROP TABLE zc70_blocks;
DROP EXTENSION pg_stat_statements;

-- v_table_sizes: a partitioned table (two levels) is one row whose bytes
-- are those of all its partitions; the partitions are not listed.
CREATE TABLE zc70_parted (id integer, day date, payload text) PARTITION BY RANGE (day);
CREATE TABLE zc70_parted_a PARTITION OF zc70_parted FOR VALUES FROM ('1990-01-01') TO ('1990-02-01');
CREATE TABLE zc70_parted_b PARTITION OF zc70_parted FOR VALUES FROM ('1990-02-01') TO ('1990-03-01')
    PARTITION BY RANGE (id);
CREATE TABLE zc70_parted_b1 PARTITION OF zc70_parted_b FOR VALUES FROM (0) TO (1000);
CREATE INDEX zc70_parted_id ON zc70_parted (id);
INSERT INTO zc70_parted
SELECT g, date '1990-01-01' + (g % 50), (SELECT string_agg(md5(g::text || x::text), '') FROM generate_series(1, 200) x)
FROM generate_series(1, 200) g;
CREATE TABLE zc70_plain (id integer PRIMARY KEY);
INSERT INTO zc70_plain SELECT generate_series(1, 1000);
SELECT relname, kind, partitions, table_bytes > 0 AS has_heap, toast_bytes > 0 AS has_toast, index_bytes > 0 AS has_index,
       total_bytes = table_bytes + toast_bytes + index_bytes AS adds_up
FROM zerocut.v_table_sizes WHERE relname LIKE 'zc70%' ORDER BY relname;
SELECT s.total_bytes = (SELECT sum(pg_total_relation_size(t.relid)) FROM pg_partition_tree('zc70_parted') t)
           AS parent_is_sum_of_partitions,
       s.toast_bytes = (SELECT sum(pg_total_relation_size(c.reltoastrelid)) FROM pg_partition_tree('zc70_parted') t
                        JOIN pg_class c ON c.oid = t.relid WHERE c.reltoastrelid <> 0) AS toast_is_sum
FROM zerocut.v_table_sizes s WHERE s.schemaname = 'public' AND s.relname = 'zc70_parted';
SELECT count(*) AS system_or_partition_rows
FROM zerocut.v_table_sizes s
JOIN pg_namespace n ON n.nspname = s.schemaname
JOIN pg_class c ON c.relname = s.relname AND c.relnamespace = n.oid
WHERE c.relispartition OR s.schemaname IN ('pg_catalog', 'information_schema', 'pg_toast');

-- v_index_usage: an index enforcing a constraint is never "Unused".
CREATE TABLE zc70_idx (id integer PRIMARY KEY, code text UNIQUE, note text);
CREATE INDEX zc70_idx_note ON zc70_idx (note);
INSERT INTO zc70_idx SELECT g, 'c' || g, 'n' || (g % 3) FROM generate_series(1, 300) g;
SELECT indexrelname, scans, is_unique, is_primary, enforces_constraint, status, size_bytes > 0 AS has_size
FROM zerocut.v_index_usage WHERE relname = 'zc70_idx' ORDER BY indexrelname;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) FROM zc70_idx WHERE note = 'n1';
SELECT count(*) FROM zc70_idx WHERE id = 7;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT pg_stat_force_next_flush();
SELECT indexrelname, scans, status FROM zerocut.v_index_usage WHERE relname = 'zc70_idx' ORDER BY indexrelname;
-- A unique index that failed to build (CREATE INDEX CONCURRENTLY on duplicates) is Invalid.
\set VERBOSITY terse
CREATE UNIQUE INDEX CONCURRENTLY zc70_idx_dup ON zc70_idx (note);
\set VERBOSITY default
SELECT indexrelname, status FROM zerocut.v_index_usage WHERE indexrelname = 'zc70_idx_dup';
-- Partitions' indexes are listed per partition; no row calls a constraint index Unused.
SELECT relname, indexrelname, status FROM zerocut.v_index_usage WHERE relname LIKE 'zc70_parted%' ORDER BY relname;
SELECT count(*) AS constraint_index_called_unused
FROM zerocut.v_index_usage WHERE (is_unique OR is_primary) AND status = 'Unused';
DROP TABLE zc70_idx, zc70_parted, zc70_plain;

-- v_connection_stats: every state is a row (this session is active).
SELECT state, connection_count >= 1 AS some, waiting_count, percent_of_max_connections > 0 AS has_share
FROM zerocut.v_connection_stats WHERE state = 'active';
SELECT array_agg(state) AS states, bool_and(connection_count >= waiting_count) AS waiting_within_count
FROM zerocut.v_connection_stats;

-- v_cache_hit_ratio: three rows against 85 %.
SELECT kind, target_percent, hit_percent IS NULL OR hit_percent BETWEEN 0 AND 100 AS sane,
       meets_target IS NOT DISTINCT FROM (hit_percent >= 85) AS verdict_matches
FROM zerocut.v_cache_hit_ratio;

-- long_transactions(): this session's transaction and a prepared one.
SELECT kind, pid = pg_backend_pid() AS me, state, duration >= interval '0' AS has_duration
FROM zerocut.long_transactions('0') WHERE pid = pg_backend_pid();
BEGIN;
SELECT 1 AS in_transaction;
PREPARE TRANSACTION 'zc70_prepared';
SELECT kind, pid, gid, state, usename = current_user AS mine, datname = current_database() AS here
FROM zerocut.long_transactions('0') WHERE gid = 'zc70_prepared';
SELECT count(*) AS under_a_day FROM zerocut.long_transactions('1 day') WHERE gid = 'zc70_prepared';
SELECT count(*) AS under_5_minutes FROM zerocut.v_long_transactions WHERE gid = 'zc70_prepared';
COMMIT PREPARED 'zc70_prepared';
SELECT * FROM zerocut.long_transactions(NULL);
SELECT * FROM zerocut.long_transactions('-1 minute');

-- v_replication_status: no standby here, not a standby; a slot is listed.
SELECT count(*) AS standbys_or_upstream FROM zerocut.v_replication_status WHERE kind IN ('standby', 'upstream');
SELECT slot_name FROM pg_create_physical_replication_slot('zc70_slot', true);
SELECT kind, name, client, state, sync_state, lag_bytes >= 0 AS retains_wal, lag_seconds
FROM zerocut.v_replication_status WHERE name = 'zc70_slot';
SELECT pg_drop_replication_slot('zc70_slot');

-- config_advice() with fixed inputs: 8GB, 4 cores, 200 connections wanted.
SELECT setting, recommended, needs_restart FROM zerocut.config_advice(8 * 1024 * 1024 * 1024::bigint, 4, 200);
-- Settings this instance leaves at their defaults.
SELECT setting, current, gap, needs_change FROM zerocut.config_advice(8 * 1024 * 1024 * 1024::bigint, 4, 200)
WHERE setting IN ('checkpoint_completion_target', 'default_statistics_target', 'random_page_cost',
                  'shared_preload_libraries');
-- 1GB and 1 core cannot carry 100 connections: fewer, and a pooler.
SELECT setting, recommended, reason FROM zerocut.config_advice(1024 * 1024 * 1024, 1, 100)
WHERE setting IN ('max_connections', 'shared_buffers', 'work_mem');
-- This machine: the shape only.
SELECT count(*) AS settings, count(DISTINCT setting) AS distinct_settings, bool_and(recommended <> '') AS all_advised,
       bool_and(gap IS NOT NULL) AS all_have_gap
FROM zerocut.config_advice();
SELECT * FROM zerocut.config_advice(memory_bytes => 1024);
SELECT * FROM zerocut.config_advice(cores => 0);
SELECT * FROM zerocut.config_advice(connections => -1);

-- Who may call: pg_monitor's members, not PUBLIC.
CREATE ROLE zc70_monitor IN ROLE pg_monitor;
CREATE ROLE zc70_nobody;
SET ROLE zc70_monitor;
SELECT (SELECT count(*) FROM zerocut.v_table_sizes) >= 0 AS table_sizes,
       (SELECT count(*) FROM zerocut.v_index_usage) >= 0 AS index_usage,
       (SELECT count(*) FROM zerocut.v_connection_stats) >= 6 AS connection_stats,
       (SELECT count(*) FROM zerocut.v_cache_hit_ratio) = 3 AS cache_hit_ratio,
       (SELECT count(*) FROM zerocut.v_long_transactions) >= 0 AS long_transactions,
       (SELECT count(*) FROM zerocut.v_replication_status) >= 0 AS replication_status;
SELECT current FROM zerocut.config_advice(8 * 1024 * 1024 * 1024::bigint, 4, 200)
WHERE setting = 'shared_preload_libraries';
SELECT * FROM zerocut.slow_queries();
RESET ROLE;
SET ROLE zc70_nobody;
SELECT count(*) FROM zerocut.v_table_sizes;
RESET ROLE;
GRANT USAGE ON SCHEMA zerocut TO zc70_nobody;
SET ROLE zc70_nobody;
SELECT count(*) FROM zerocut.v_table_sizes;
SELECT count(*) FROM zerocut.v_connection_stats;
SELECT * FROM zerocut.slow_queries();
SELECT * FROM zerocut.config_advice();
RESET ROLE;
-- Granted config_advice() alone, a role without pg_read_all_settings sees
-- no current value for shared_preload_libraries.
-- Granted slow_queries() alone, it cannot tell whether pg_stat_statements
-- is preloaded: the HINT names both steps.
GRANT EXECUTE ON FUNCTION zerocut.config_advice(bigint, integer, integer) TO zc70_nobody;
GRANT EXECUTE ON FUNCTION zerocut.slow_queries(double precision) TO zc70_nobody;
SET ROLE zc70_nobody;
SELECT current IS NULL AS current_hidden, recommended, needs_change
FROM zerocut.config_advice(8 * 1024 * 1024 * 1024::bigint, 4, 200) WHERE setting = 'shared_preload_libraries';
SELECT * FROM zerocut.slow_queries();
RESET ROLE;
REVOKE EXECUTE ON FUNCTION zerocut.config_advice(bigint, integer, integer) FROM zc70_nobody;
REVOKE EXECUTE ON FUNCTION zerocut.slow_queries(double precision) FROM zc70_nobody;
REVOKE USAGE ON SCHEMA zerocut FROM zc70_nobody;
DROP ROLE zc70_monitor, zc70_nobody;
