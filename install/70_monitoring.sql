-- This part: the monitoring views and configuration advice (issue 18, part
-- A) -- the seed's 性能监控视图 and 连接池优化 with the names PostgreSQL
-- really has.  docs/monitoring.md has the design and who may call what.
--
-- Who may use them: the members of pg_monitor (PostgreSQL's role for
-- monitoring tools; it includes pg_read_all_stats and pg_read_all_settings),
-- not PUBLIC.  Everything runs as its caller (views read pg_stat_* whose
-- functions check the querying role, not the view's owner), so a role
-- without pg_read_all_stats sees other roles' sessions and statements
-- without their query text, state and times.  Nothing here changes data.

-- pg_monitor needs to reach the objects granted to it below.
GRANT USAGE ON SCHEMA zerocut TO pg_monitor;

-- The seed's v_slow_queries, from whichever pg_stat_statements version is
-- installed: 1.8 and later (PostgreSQL 13+; 1.10 on 15, 1.11 on 17) name the
-- times total_exec_time/mean_exec_time, older ones total_time/mean_time.
-- pg_stat_statements is looked up when called (dynamic SQL), so zerocut
-- installs without it, and the view over this function too.
CREATE FUNCTION zerocut.slow_queries(min_mean_ms double precision DEFAULT 100)
    RETURNS TABLE(query text, calls bigint, total_time double precision, mean_time double precision, rows bigint,
                  hit_percent double precision, queryid bigint, username name, dbname name)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    statements_schema name;
    statements regclass;
    time_suffix text;
BEGIN
    IF min_mean_ms IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'argument "min_mean_ms" must not be NULL';
    END IF;
    IF min_mean_ms = 'NaN'::double precision OR min_mean_ms < 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('argument "min_mean_ms" must be a number of milliseconds >= 0 (%s given)', min_mean_ms);
    END IF;
    SELECT n.nspname INTO statements_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_stat_statements';
    IF statements_schema IS NOT NULL THEN
        statements := to_regclass(format('%I.pg_stat_statements', statements_schema));
    END IF;
    IF statements IS NULL THEN
        -- pg_settings hides shared_preload_libraries from a role without
        -- pg_read_all_settings: then the HINT names both steps.
        IF EXISTS (SELECT FROM pg_settings s WHERE s.name = 'shared_preload_libraries'
                   AND s.setting ~ '(^|[\s,"/])pg_stat_statements(\.so)?"?\s*(,|$)') THEN
            RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('pg_stat_statements is not installed in database %s', current_database()),
                HINT = 'It is in shared_preload_libraries: run CREATE EXTENSION pg_stat_statements in this database.';
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('pg_stat_statements is not installed in database %s', current_database()),
            HINT = 'Add pg_stat_statements to shared_preload_libraries in postgresql.conf, restart the server, '
                   'then run CREATE EXTENSION pg_stat_statements in this database.';
    END IF;
    time_suffix := CASE WHEN EXISTS (SELECT FROM pg_attribute a
                                     WHERE a.attrelid = statements AND a.attname = 'mean_exec_time'
                                       AND NOT a.attisdropped)
                        THEN '_exec_time' ELSE '_time' END;
    BEGIN
        RETURN QUERY EXECUTE format(
            'SELECT s.query, s.calls, s.%1$I::float8, s.%2$I::float8, s.rows, '
            '       (100.0 * s.shared_blks_hit / nullif(s.shared_blks_hit + s.shared_blks_read, 0))::float8, '
            '       s.queryid, r.rolname, d.datname '
            'FROM %3$s s '
            'LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.userid '
            'LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid '
            'WHERE s.%2$I >= $1 '
            'ORDER BY s.%2$I DESC',
            'total' || time_suffix, 'mean' || time_suffix, statements)
        USING min_mean_ms;
    EXCEPTION WHEN object_not_in_prerequisite_state THEN
        -- Installed but not loaded: "pg_stat_statements must be loaded via shared_preload_libraries".
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state', MESSAGE = SQLERRM,
            HINT = 'Add pg_stat_statements to shared_preload_libraries in postgresql.conf and restart the server.';
    END;
END
$$;
COMMENT ON FUNCTION zerocut.slow_queries(double precision) IS
    'Statements whose mean execution time is at least min_mean_ms (the seed''s v_slow_queries columns, slowest first), from whichever pg_stat_statements version is installed; ERROR with a HINT when it is not; runs as its caller (other roles'' query text needs pg_read_all_stats)';
REVOKE ALL ON FUNCTION zerocut.slow_queries(double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zerocut.slow_queries(double precision) TO pg_monitor;

CREATE VIEW zerocut.v_slow_queries AS
    SELECT s.query, s.calls, s.total_time, s.mean_time, s.rows, s.hit_percent, s.queryid, s.username, s.dbname
    FROM zerocut.slow_queries() s
    ORDER BY s.mean_time DESC;
COMMENT ON VIEW zerocut.v_slow_queries IS
    'The seed''s slow-query view: zerocut.slow_queries() with its default of 100 ms mean time';
GRANT SELECT ON zerocut.v_slow_queries TO pg_monitor;

-- Every table, partitioned table and materialized view outside the system
-- schemas with its heap, TOAST and index bytes.  A partitioned table counts
-- every partition below it (any level); partitions are not listed again.
-- The size functions wait while a table is locked ACCESS EXCLUSIVE (as
-- psql's \dt+ does); a table dropped meanwhile counts 0.
CREATE VIEW zerocut.v_table_sizes AS
    SELECT n.nspname AS schemaname, c.relname,
           CASE c.relkind WHEN 'p' THEN 'partitioned table' WHEN 'm' THEN 'materialized view' ELSE 'table' END AS kind,
           s.partitions,
           s.table_bytes - s.toast_bytes AS table_bytes, s.toast_bytes, s.index_bytes,
           s.table_bytes + s.index_bytes AS total_bytes,
           pg_catalog.pg_size_pretty(s.table_bytes + s.index_bytes) AS total_size
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE m.relid <> c.oid AND m.isleaf) AS partitions,
               coalesce(sum(coalesce(pg_catalog.pg_table_size(m.relid), 0)), 0)::bigint AS table_bytes,
               coalesce(sum(coalesce(pg_catalog.pg_total_relation_size(nullif(mc.reltoastrelid, 0)), 0)), 0)::bigint
                   AS toast_bytes,
               coalesce(sum(coalesce(pg_catalog.pg_indexes_size(m.relid), 0)), 0)::bigint AS index_bytes
        FROM (SELECT c.oid AS relid, true AS isleaf WHERE c.relkind <> 'p'
              UNION ALL
              SELECT t.relid, t.isleaf FROM pg_catalog.pg_partition_tree(c.oid) t WHERE c.relkind = 'p') m
        JOIN pg_catalog.pg_class mc ON mc.oid = m.relid
    ) s
    WHERE c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition
      AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
    ORDER BY s.table_bytes + s.index_bytes DESC, n.nspname, c.relname;
COMMENT ON VIEW zerocut.v_table_sizes IS
    'Heap, TOAST and index bytes of every user table, partitioned table (its partitions summed, not listed again) and materialized view, largest first';
GRANT SELECT ON zerocut.v_table_sizes TO pg_monitor;

-- The seed's v_index_usage with pg_stat_user_indexes' real column names.
-- An index that enforces a constraint (unique, primary key, exclusion) or
-- is the replica identity is never "Unused": dropping it changes what the
-- table accepts or what logical replication sends.  Counts start at the
-- last statistics reset (pg_stat_database.stats_reset).
CREATE VIEW zerocut.v_index_usage AS
    SELECT s.schemaname, s.relname, s.indexrelname,
           s.idx_scan AS scans, s.idx_tup_read AS tuples_read, s.idx_tup_fetch AS tuples_fetched,
           z.size_bytes, pg_catalog.pg_size_pretty(z.size_bytes) AS size,
           i.indisunique AS is_unique, i.indisprimary AS is_primary,
           (i.indisunique OR i.indisprimary OR i.indisexclusion OR i.indisreplident) AS enforces_constraint,
           CASE WHEN NOT i.indisvalid THEN 'Invalid'
                WHEN s.idx_scan >= 100 THEN 'Active'
                WHEN i.indisunique OR i.indisprimary OR i.indisexclusion OR i.indisreplident THEN 'Constraint'
                WHEN s.idx_scan = 0 THEN 'Unused'
                ELSE 'Low Usage' END AS status
    FROM pg_catalog.pg_stat_user_indexes s
    JOIN pg_catalog.pg_index i ON i.indexrelid = s.indexrelid
    -- OFFSET 0: one pg_relation_size() call per index, not one per column.
    CROSS JOIN LATERAL (SELECT coalesce(pg_catalog.pg_relation_size(s.indexrelid), 0) AS size_bytes OFFSET 0) z
    ORDER BY s.idx_scan, z.size_bytes DESC, s.schemaname, s.relname, s.indexrelname;
COMMENT ON VIEW zerocut.v_index_usage IS
    'Scans and size of every user index with a status: Unused (no scan), Low Usage (< 100), Active, Constraint (unique, primary key, exclusion or replica identity with < 100 scans: never Unused), Invalid (a failed CREATE INDEX CONCURRENTLY)';
GRANT SELECT ON zerocut.v_index_usage TO pg_monitor;

-- The seed's v_connection_stats: the client connections to this database
-- by state, plus how many of them wait for a lock and their share of
-- max_connections.  Every state PostgreSQL has is a row, with 0 when no
-- connection is in it, so "idle in transaction" always has its count;
-- 'unknown' are other roles' connections whose state the caller may not see.
CREATE VIEW zerocut.v_connection_stats AS
    WITH client AS (
        SELECT coalesce(a.state, 'unknown') AS state, a.state_change, a.wait_event_type
        FROM pg_catalog.pg_stat_activity a
        WHERE a.datname = pg_catalog.current_database() AND a.backend_type = 'client backend'
    ),
    known(state, ord) AS (
        VALUES ('active', 1), ('idle', 2), ('idle in transaction', 3), ('idle in transaction (aborted)', 4),
               ('fastpath function call', 5), ('disabled', 6)
    ),
    state_list AS (
        SELECT k.state, k.ord FROM known k
        UNION
        SELECT DISTINCT c.state, 7 FROM client c WHERE c.state NOT IN (SELECT k.state FROM known k)
    )
    SELECT l.state, count(c.state) AS connection_count,
           count(c.state) FILTER (WHERE c.wait_event_type = 'Lock') AS waiting_count,
           avg(EXTRACT(EPOCH FROM pg_catalog.now() - c.state_change))::double precision AS avg_duration_seconds,
           max(EXTRACT(EPOCH FROM pg_catalog.now() - c.state_change))::double precision AS max_duration_seconds,
           round(100.0 * count(c.state) / pg_catalog.current_setting('max_connections')::integer, 1)::double precision
               AS percent_of_max_connections
    FROM state_list l
    LEFT JOIN client c ON c.state = l.state
    GROUP BY l.state, l.ord
    ORDER BY l.ord, l.state;
COMMENT ON VIEW zerocut.v_connection_stats IS
    'Client connections to this database per state (every state a row, idle in transaction included), how many wait for a lock, how long they have been in the state, and their share of max_connections';
GRANT SELECT ON zerocut.v_connection_stats TO pg_monitor;

-- Shared-buffer hit ratios against the seed's target (缓存命中率达到 85%):
-- the whole database, user tables (heap and TOAST), user indexes.  NULL
-- ratio and meets_target before any block was read.  Reads served by the
-- operating system's cache count as reads here.
CREATE VIEW zerocut.v_cache_hit_ratio AS
    -- What pg_statio_user_tables and pg_statio_user_indexes sum, read from
    -- the same counters in one pass over pg_class, without those views'
    -- per-table work (each table's indexes summed, joins per row), with two
    -- counter reads per relation (read = fetched - hit, summed once): a
    -- third of the time with 4 000 partitions.  An index lives in its
    -- table's schema, and the user tables' indexes are exactly the user
    -- schemas' relkind 'i'.  A table without TOAST reads no TOAST counters.
    WITH counts AS (
        SELECT coalesce(sum(pg_catalog.pg_stat_get_blocks_hit(c.oid)
                            + CASE WHEN c.reltoastrelid <> 0 THEN pg_catalog.pg_stat_get_blocks_hit(c.reltoastrelid) ELSE 0 END)
                            FILTER (WHERE c.relkind <> 'i'), 0)::bigint AS table_hit,
               coalesce(sum(pg_catalog.pg_stat_get_blocks_fetched(c.oid)
                            + CASE WHEN c.reltoastrelid <> 0 THEN pg_catalog.pg_stat_get_blocks_fetched(c.reltoastrelid) ELSE 0 END)
                            FILTER (WHERE c.relkind <> 'i'), 0)::bigint AS table_fetched,
               coalesce(sum(pg_catalog.pg_stat_get_blocks_hit(c.oid)) FILTER (WHERE c.relkind = 'i'), 0)::bigint AS index_hit,
               coalesce(sum(pg_catalog.pg_stat_get_blocks_fetched(c.oid)) FILTER (WHERE c.relkind = 'i'), 0)::bigint
                   AS index_fetched
        FROM pg_catalog.pg_class c
        WHERE c.relkind IN ('r', 't', 'm', 'i')
          AND c.relnamespace IN (SELECT n.oid FROM pg_catalog.pg_namespace n
                                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast')
    )
    SELECT b.kind, b.blocks_hit, b.blocks_read,
           (100.0 * b.blocks_hit / nullif(b.blocks_hit + b.blocks_read, 0))::double precision AS hit_percent,
           85::double precision AS target_percent,
           100.0 * b.blocks_hit / nullif(b.blocks_hit + b.blocks_read, 0) >= 85 AS meets_target
    FROM (
        SELECT 'database'::text AS kind, 1 AS ord, d.blks_hit AS blocks_hit, d.blks_read AS blocks_read
        FROM pg_catalog.pg_stat_database d WHERE d.datname = pg_catalog.current_database()
        UNION ALL
        SELECT 'tables', 2, k.table_hit, k.table_fetched - k.table_hit FROM counts k
        UNION ALL
        SELECT 'indexes', 3, k.index_hit, k.index_fetched - k.index_hit FROM counts k
    ) b
    ORDER BY b.ord;
COMMENT ON VIEW zerocut.v_cache_hit_ratio IS
    'Shared-buffer hit percentage of this database, its user tables and its user indexes against the seed''s 85 % target';
GRANT SELECT ON zerocut.v_cache_hit_ratio TO pg_monitor;

-- Transactions open for at least min_duration, in every database: sessions
-- (client backends and background workers such as pg_cron's; not
-- autovacuum, WAL senders or parallel workers) and prepared transactions,
-- which hold back VACUUM just the same.  Oldest first.
CREATE FUNCTION zerocut.long_transactions(min_duration interval DEFAULT '5 minutes')
    RETURNS TABLE(kind text, pid integer, gid text, datname name, usename name, application_name text, state text,
                  xact_start timestamp with time zone, duration interval, wait_event_type text, wait_event text,
                  xmin_age integer, query text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
#variable_conflict use_column
BEGIN
    IF min_duration IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'argument "min_duration" must not be NULL';
    END IF;
    IF min_duration < interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'argument "min_duration" must not be negative';
    END IF;
    RETURN QUERY
    SELECT t.* FROM (
        SELECT 'session'::text, a.pid, NULL::text, a.datname, a.usename, a.application_name, a.state,
               a.xact_start, now() - a.xact_start, a.wait_event_type, a.wait_event, age(a.backend_xmin), a.query
        FROM pg_stat_activity a
        WHERE a.xact_start <= now() - min_duration
          AND a.backend_type NOT IN ('autovacuum worker', 'walsender', 'parallel worker')
        UNION ALL
        SELECT 'prepared', NULL, p.gid, p.database, p.owner, NULL, 'prepared',
               p.prepared, now() - p.prepared, NULL, NULL, age(p.transaction), NULL
        FROM pg_prepared_xacts p
        WHERE p.prepared <= now() - min_duration
    ) t(kind, pid, gid, datname, usename, application_name, state, xact_start, duration, wait_event_type,
        wait_event, xmin_age, query)
    ORDER BY t.xact_start, t.pid, t.gid;
END
$$;
COMMENT ON FUNCTION zerocut.long_transactions(interval) IS
    'Sessions and prepared transactions of every database whose transaction has been open for at least min_duration, oldest first, with what they wait for and how far they hold back VACUUM (xmin_age); runs as its caller (other roles'' sessions need pg_read_all_stats)';
REVOKE ALL ON FUNCTION zerocut.long_transactions(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zerocut.long_transactions(interval) TO pg_monitor;

CREATE VIEW zerocut.v_long_transactions AS
    SELECT t.kind, t.pid, t.gid, t.datname, t.usename, t.application_name, t.state, t.xact_start, t.duration,
           t.wait_event_type, t.wait_event, t.xmin_age, t.query
    FROM zerocut.long_transactions() t
    ORDER BY t.xact_start;
COMMENT ON VIEW zerocut.v_long_transactions IS
    'Transactions open for 5 minutes or more (zerocut.long_transactions() with its default)';
GRANT SELECT ON zerocut.v_long_transactions TO pg_monitor;

-- Replication as this server sees it, on a primary and on a standby:
-- 'standby' rows are the standbys streaming from this server
-- (pg_stat_replication; lag_bytes behind this server's WAL position),
-- an 'upstream' row exists on a standby (its WAL receiver, 'disconnected'
-- when there is none; lag_bytes received but not replayed, lag_seconds
-- since the last replayed transaction's commit while it is behind), and a
-- 'slot' row per replication slot (lag_bytes: the WAL it retains).
CREATE VIEW zerocut.v_replication_status AS
    WITH here AS (
        SELECT pg_catalog.pg_is_in_recovery() AS in_recovery,
               CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
                    ELSE pg_catalog.pg_current_wal_lsn() END AS lsn
    )
    SELECT 'standby'::text AS kind, r.application_name::text AS name, r.client_addr::text AS client,
           r.state, r.sync_state, pg_catalog.pg_wal_lsn_diff(h.lsn, r.replay_lsn) AS lag_bytes,
           EXTRACT(EPOCH FROM r.replay_lag)::double precision AS lag_seconds
    FROM pg_catalog.pg_stat_replication r CROSS JOIN here h
    UNION ALL
    SELECT 'upstream', w.slot_name::text, w.sender_host || ':' || w.sender_port, coalesce(w.status, 'disconnected'),
           NULL, pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_last_wal_receive_lsn(), pg_catalog.pg_last_wal_replay_lsn()),
           CASE WHEN pg_catalog.pg_last_wal_receive_lsn() = pg_catalog.pg_last_wal_replay_lsn() THEN 0
                ELSE EXTRACT(EPOCH FROM pg_catalog.now() - pg_catalog.pg_last_xact_replay_timestamp())::double precision
           END
    FROM here h LEFT JOIN pg_catalog.pg_stat_wal_receiver w ON true
    WHERE h.in_recovery
    UNION ALL
    SELECT 'slot', s.slot_name::text, s.database::text,
           CASE WHEN s.wal_status = 'lost' THEN 'lost' WHEN s.active THEN 'active' ELSE 'inactive' END,
           NULL, pg_catalog.pg_wal_lsn_diff(h.lsn, s.restart_lsn), NULL
    FROM pg_catalog.pg_replication_slots s CROSS JOIN here h;
COMMENT ON VIEW zerocut.v_replication_status IS
    'Replication seen from this server: standbys streaming from it (standby), its own WAL receiver when it is a standby (upstream), and replication slots with the WAL they retain (slot); lag in bytes and seconds';
GRANT SELECT ON zerocut.v_replication_status TO pg_monitor;

-- The seed's postgresql.conf recommendations scaled to this server
-- (src/core/config_advice.cpp has the rules; docs/monitoring.md explains
-- them).  memory_bytes, cores and connections replace what is read from the
-- machine and max_connections.  Runs as its caller; changes nothing.
CREATE FUNCTION zerocut.config_advice(memory_bytes bigint DEFAULT NULL, cores integer DEFAULT NULL,
                                      connections integer DEFAULT NULL)
    RETURNS TABLE(setting text, current text, recommended text, reason text, gap text, needs_change boolean,
                  needs_restart boolean)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_config_advice';
COMMENT ON FUNCTION zerocut.config_advice(bigint, integer, integer) IS
    'The seed''s postgresql.conf settings (max_connections, shared_buffers, effective_cache_size, work_mem, maintenance_work_mem, checkpoint_completion_target, wal_buffers, default_statistics_target, random_page_cost, effective_io_concurrency) and shared_preload_libraries, recommended for this server''s memory, cores and connections (or those given), with the gap, whether to change and whether a restart is needed';
REVOKE ALL ON FUNCTION zerocut.config_advice(bigint, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zerocut.config_advice(bigint, integer, integer) TO pg_monitor;
