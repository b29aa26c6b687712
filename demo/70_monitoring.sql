\echo '== monitoring: the seed''s views with the column names PostgreSQL has (docs/monitoring.md)'
\echo '-- v_table_sizes: a partitioned table is one row with its partitions summed'
SELECT schemaname, relname, kind, partitions, total_size
FROM zerocut.v_table_sizes
WHERE schemaname IN ('user_management', 'workspace_domain', 'financial_management', 'api_management',
                     'data_statistics', 'audit_log', 'archive')
ORDER BY total_bytes DESC, relname LIMIT 8;

\echo
\echo '-- v_index_usage: a unique or primary-key index with no scans is "Constraint", never "Unused"'
SELECT status, count(*) AS indexes, pg_size_pretty(sum(size_bytes)) AS size
FROM zerocut.v_index_usage GROUP BY status ORDER BY status;

\echo
\echo '-- v_connection_stats, v_cache_hit_ratio (target 85 %), v_long_transactions, v_replication_status'
SELECT state, connection_count, waiting_count FROM zerocut.v_connection_stats;
SELECT kind, round(hit_percent::numeric, 1) AS hit_percent, target_percent, meets_target FROM zerocut.v_cache_hit_ratio;
SELECT count(*) AS transactions_open_5_minutes FROM zerocut.v_long_transactions;
SELECT kind, name, state FROM zerocut.v_replication_status;

\echo
\echo '-- slow_queries(): without pg_stat_statements in the database, an error with a HINT'
\set ON_ERROR_STOP 0
SELECT * FROM zerocut.slow_queries();
\set ON_ERROR_STOP 1
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
SELECT pg_sleep(0.2);
SELECT left(query, 40) AS query, calls, round(mean_time::numeric, 1) AS mean_ms FROM zerocut.v_slow_queries LIMIT 5;
DROP EXTENSION pg_stat_statements;

\echo
\echo '-- config_advice(): the seed''s postgresql.conf values scaled to this server (and to 8GB, 4 cores, 200 connections)'
SELECT setting, current, recommended, gap, needs_change, needs_restart FROM zerocut.config_advice();
SELECT setting, recommended, reason FROM zerocut.config_advice(8 * 1024 * 1024 * 1024::bigint, 4, 200)
WHERE setting IN ('max_connections', 'shared_buffers', 'work_mem');
