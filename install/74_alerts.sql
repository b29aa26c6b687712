-- This part: alerts, metrics and the capacity forecast (issue 18, part C;
-- docs/monitoring.md, "Alerts and metrics").  One function finds the facts
-- (monitor_facts); the view alerts and metrics() are two readings of them,
-- so an alert and the number behind it never disagree.
--
-- Who may use them: pg_monitor's members (like the views of part A), not
-- PUBLIC.  monitor_facts() runs as its caller and reads only catalogs,
-- statistics, zerocut's own configuration tables and views, and
-- job_status() (granted below) and check_security() (where the caller may
-- execute it); the one part that reads a user table (the
-- archive backlog) does so only where the caller may SELECT the column, and
-- skips the table otherwise.

-- What monitor_facts() reads besides catalogs and statistics: the
-- partition registry, the archive policies (configuration, no business
-- data) and the jobs (job_status() is SECURITY DEFINER: it reads pg_cron as
-- the extension owner).  The security linter is not granted: its findings
-- are a list of weak spots (install/65_check_security.sql), so they show
-- only to callers who may execute check_security() -- superusers, or a role
-- the DBA grants it to (docs/monitoring.md).
GRANT SELECT ON zerocut.partition_config, zerocut.archive_policy TO pg_monitor;
GRANT EXECUTE ON FUNCTION zerocut.job_status() TO pg_monitor;
GRANT SELECT ON zerocut.jobs TO pg_monitor;

-- One row per fact: kind and object say what it is about; metric, labels
-- and value are its number (NULL metric: an alert only, e.g. one security
-- finding); severity, problem and fix are set when it needs a person.
CREATE FUNCTION zerocut.monitor_facts(long_transaction interval DEFAULT '15 minutes',
                                      replication_lag interval DEFAULT '60 seconds',
                                      cache_hit_percent double precision DEFAULT 85,
                                      cache_min_blocks bigint DEFAULT 100000,
                                      unused_index_bytes bigint DEFAULT 104857600,
                                      partitions_ahead integer DEFAULT 2)
    RETURNS TABLE(kind text, object text, severity text, problem text, fix text, metric text, labels jsonb,
                  value double precision)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    -- A monitoring read never queues behind a lock (the archive backlog's
    -- query is the only one that takes a table lock): it skips instead.
    SET lock_timeout = '100ms'
    SET jit = off
    -- Each counter is read once per call, so the statistics snapshot cache
    -- (stats_fetch_consistency = cache: an entry copied per relation) only
    -- costs: reading thousands of partitions' counters directly is a third
    -- faster.
    SET stats_fetch_consistency = none
    AS $$
#variable_conflict use_column
DECLARE
    policy record;
    source regclass;
    cutoff timestamp;
    oldest timestamptz;
    backlog double precision;
BEGIN
    IF long_transaction IS NULL OR replication_lag IS NULL OR cache_hit_percent IS NULL OR cache_min_blocks IS NULL
       OR unused_index_bytes IS NULL OR partitions_ahead IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('argument "%s" must not be NULL',
                             CASE WHEN long_transaction IS NULL THEN 'long_transaction'
                                  WHEN replication_lag IS NULL THEN 'replication_lag'
                                  WHEN cache_hit_percent IS NULL THEN 'cache_hit_percent'
                                  WHEN cache_min_blocks IS NULL THEN 'cache_min_blocks'
                                  WHEN unused_index_bytes IS NULL THEN 'unused_index_bytes'
                                  ELSE 'partitions_ahead' END);
    END IF;
    IF long_transaction < interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'argument "long_transaction" must not be negative';
    ELSIF replication_lag < interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'argument "replication_lag" must not be negative';
    ELSIF cache_hit_percent = 'NaN'::double precision OR cache_hit_percent < 0 OR cache_hit_percent > 100 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('argument "cache_hit_percent" must be between 0 and 100 (%s given)', cache_hit_percent);
    ELSIF cache_min_blocks < 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'argument "cache_min_blocks" must not be negative';
    ELSIF unused_index_bytes < 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'argument "unused_index_bytes" must not be negative';
    ELSIF partitions_ahead < 0 OR partitions_ahead > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('argument "partitions_ahead" must be between 0 and 1000 (%s given)', partitions_ahead);
    END IF;

    -- 1. zerocut's pg_cron jobs (none without pg_cron): the last run failed
    -- (critical) or no success within two intervals (warning).
    IF has_function_privilege('zerocut.job_status()', 'EXECUTE') THEN
        RETURN QUERY
        SELECT 'job', j.jobname,
               CASE WHEN j.problem = m.problem THEN CASE m.problem WHEN 'failed' THEN 'critical' ELSE 'warning' END END,
               CASE WHEN j.problem = m.problem THEN
                   CASE m.problem
                       WHEN 'failed' THEN format('pg_cron job %s failed (last run started %s): %s', j.jobname,
                                                 j.last_start, coalesce(j.last_error, 'no message'))
                       ELSE format('pg_cron job %s has not succeeded for over two intervals (%s) since %s',
                                   j.jobname, 2 * j.run_interval, coalesce(j.last_success::text, 'it was scheduled'))
                   END END,
               CASE WHEN j.problem = m.problem THEN
                   CASE m.problem
                       WHEN 'failed' THEN format('Read the error (SELECT last_error FROM zerocut.jobs WHERE jobname = %L), fix its cause and run the command once by hand: %s', j.jobname, j.command)
                       ELSE 'Check that pg_cron runs (the server log, SELECT * FROM cron.job_run_details ORDER BY start_time DESC LIMIT 20) and that the job is not stuck (zerocut.v_long_transactions)'
                   END END,
               'zerocut_job_' || m.problem, jsonb_build_object('job', j.jobname),
               (j.problem IS NOT DISTINCT FROM m.problem)::integer::double precision
        FROM zerocut.job_status() j
        CROSS JOIN (VALUES ('failed'), ('overdue')) m(problem)
        WHERE j.state = 'scheduled';
    END IF;

    -- 2. and 3. Managed partitioned tables (the partition registry): fewer
    -- partitions made ahead than wanted (the smaller of partitions_ahead and
    -- the table's premake; none: critical), and rows in the default
    -- partition (live tuples of the statistics: no lock, no read of the
    -- table).  Bounds come from zerocut.partition_bounds(), which parses
    -- the catalog's bound: pg_get_expr() would open and lock every
    -- partition and print text to parse back (4 000 partitions: ~60 ms).
    RETURN QUERY
    WITH managed AS (
        -- readable: RANGE on the control column alone, of type date, timestamp
        -- or timestamptz: the only shape
        -- partition_bounds() reads (it raises for any other); a registry row
        -- whose table is not (edited by hand) counts no partition ahead and
        -- so alerts, instead of failing the whole view.
        SELECT c.parent::oid AS parent, c.premake, c.time_zone, c.granularity,
               (pt.partstrat = 'r' AND pt.partnatts = 1 AND pt.partattrs[0] = a.attnum
                AND a.atttypid IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype)) IS TRUE AS readable
        FROM zerocut.partition_config c
        JOIN pg_class p ON p.oid = c.parent AND p.relkind = 'p'
        JOIN pg_attribute a ON a.attrelid = c.parent AND a.attname = c.control_column AND NOT a.attisdropped
        LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.parent
    ), ahead AS (
        SELECT m.parent, m.premake, m.granularity, count(*) FILTER (WHERE b.lower_at > now()) AS n
        FROM managed m
        -- OFFSET 0 keeps the subquery, so its WHERE gates the call.
        LEFT JOIN LATERAL (SELECT * FROM zerocut.partition_bounds(m.parent::regclass, m.time_zone)
                           WHERE m.readable OFFSET 0) b ON true
        GROUP BY m.parent, m.premake, m.granularity
    )
    SELECT 'partitions_ahead', a.parent::regclass::text,
           CASE WHEN a.n < least(partitions_ahead, a.premake) THEN CASE WHEN a.n = 0 THEN 'critical' ELSE 'warning' END END,
           CASE WHEN a.n < least(partitions_ahead, a.premake) THEN
               format('%s %s partition(s) made ahead (starting after now), fewer than %s: rows of the coming %ss go to the default partition (or fail without one)',
                      a.n, a.granularity, least(partitions_ahead, a.premake), a.granularity) END,
           CASE WHEN a.n < least(partitions_ahead, a.premake) THEN
               format('SELECT * FROM zerocut.run_maintenance(%L::regclass);  -- then check zerocut.jobs (zerocut-partition-maintenance) and partition_health.last_outcome',
                      a.parent::regclass::text) END,
           'zerocut_partitions_ahead', jsonb_build_object('table', a.parent::regclass::text), a.n::double precision
    FROM ahead a
    UNION ALL
    SELECT 'default_partition_rows', m.parent::regclass::text,
           CASE WHEN d.live > 0 THEN 'warning' END,
           CASE WHEN d.live > 0 THEN
               format('about %s row(s) in the default partition %s (statistics): they block creating the partitions they belong to',
                      d.live, pt.partdefid::regclass) END,
           CASE WHEN d.live > 0 THEN
               format('SELECT * FROM zerocut.run_maintenance(%L::regclass);  -- moves them into their partitions',
                      m.parent::regclass::text) END,
           'zerocut_default_partition_rows', jsonb_build_object('table', m.parent::regclass::text),
           d.live::double precision
    FROM managed m
    JOIN pg_partitioned_table pt ON pt.partrelid = m.parent AND pt.partdefid <> 0
    CROSS JOIN LATERAL (SELECT pg_stat_get_live_tuples(pt.partdefid) AS live) d;

    -- 4. Archive policies: rows older than the policy's cutoff (CURRENT_DATE
    -- - keep, as archive() computes it) by more than a day are still in the
    -- source: the daily archive job has missed them.  Read as the caller
    -- (its rights, its row-level security), only where it may SELECT the
    -- time column (and use its schema), and skipped when the table is
    -- locked.  The table is found in the catalogs, not by name lookup, which
    -- fails on a schema the caller may not use.
    FOR policy IN SELECT c.oid AS relid, p.time_column, p.keep
                  FROM zerocut.archive_policy p
                  JOIN pg_namespace n ON n.nspname = p.source_schema
                  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.source_table
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = p.time_column AND a.attnum > 0
                                     AND NOT a.attisdropped
                  WHERE has_schema_privilege(n.oid, 'USAGE') AND has_column_privilege(c.oid, a.attnum, 'SELECT')
                  ORDER BY p.source_schema, p.source_table LOOP
        source := policy.relid;
        cutoff := current_date - policy.keep;
        BEGIN
            EXECUTE format('SELECT pg_catalog.min(%1$I)::pg_catalog.timestamptz FROM %2$s WHERE %1$I < $1',
                           policy.time_column, source)
                INTO oldest USING cutoff;
        EXCEPTION WHEN lock_not_available THEN
            CONTINUE;
        END;
        backlog := coalesce(greatest(extract(epoch FROM cutoff::timestamptz - oldest), 0), 0);
        kind := 'archive_backlog';
        object := source::text;
        severity := CASE WHEN backlog > 86400 THEN 'warning' END;
        problem := CASE WHEN backlog > 86400 THEN
            format('rows older than the archive policy''s %s are still in the table (the oldest from %s): the daily archive job has not moved them',
                   policy.keep, oldest) END;
        fix := CASE WHEN backlog > 86400 THEN
            format('CALL zerocut.archive_proc(%L::regclass);  -- then check zerocut.jobs (zerocut-archive)', source::text) END;
        metric := 'zerocut_archive_backlog_seconds';
        labels := jsonb_build_object('table', source::text);
        value := backlog;
        RETURN NEXT;
    END LOOP;

    -- 5. Shared-buffer hit ratio under the target, once the counters have
    -- seen cache_min_blocks block accesses (since the last statistics reset).
    RETURN QUERY
    SELECT 'cache_hit_ratio', r.kind,
           CASE WHEN r.alert THEN 'warning' END,
           CASE WHEN r.alert THEN
               format('%s cache hit ratio %s %% is under %s %% (%s block accesses since the statistics were reset)',
                      r.kind, round(r.hit_percent::numeric, 1), cache_hit_percent, r.blocks_hit + r.blocks_read) END,
           CASE WHEN r.alert THEN
               'Compare shared_buffers with SELECT * FROM zerocut.config_advice(); look for large sequential scans in zerocut.v_slow_queries; SELECT pg_stat_reset(); restarts the count after a change' END,
           r.name, jsonb_build_object('scope', r.kind), r.value
    FROM (SELECT c.kind, c.blocks_hit, c.blocks_read, c.hit_percent,
                 m.first AND c.blocks_hit + c.blocks_read >= cache_min_blocks AND c.hit_percent < cache_hit_percent AS alert,
                 m.name, m.value
          FROM zerocut.v_cache_hit_ratio c
          CROSS JOIN LATERAL (VALUES ('zerocut_cache_hit_percent', c.hit_percent, true),
                                     ('zerocut_cache_blocks_hit', c.blocks_hit::double precision, false),
                                     ('zerocut_cache_blocks_read', c.blocks_read::double precision, false))
              m(name, value, first)) r
    WHERE r.value IS NOT NULL;

    -- 6. Transactions open longer than long_transaction (every database;
    -- not this session's own); critical from four times the threshold.
    RETURN QUERY
    WITH t AS (SELECT * FROM zerocut.long_transactions(interval '0') l WHERE l.pid IS DISTINCT FROM pg_backend_pid())
    SELECT 'long_transaction', coalesce('pid ' || t.pid, 'prepared ' || quote_literal(t.gid)),
           CASE WHEN t.duration >= 4 * long_transaction THEN 'critical' ELSE 'warning' END,
           format('transaction open for %s by %s in database %s (%s%s), holding back VACUUM by %s transactions',
                  date_trunc('second', t.duration), coalesce(t.usename::text, '?'), coalesce(t.datname::text, '?'),
                  coalesce(t.state, 'state unknown'),
                  CASE WHEN t.wait_event_type IS NOT NULL THEN ', waiting for ' || t.wait_event_type || ' ' || t.wait_event ELSE '' END,
                  coalesce(t.xmin_age::text, '?')),
           CASE WHEN t.kind = 'prepared'
                THEN format('ROLLBACK PREPARED %L;  -- or COMMIT PREPARED, in database %I, if its work must stay', t.gid, t.datname)
                ELSE format('SELECT pg_terminate_backend(%s);  -- after finding out why (SELECT * FROM zerocut.v_long_transactions)', t.pid) END,
           NULL::text, NULL::jsonb, NULL::double precision
    FROM t WHERE t.duration > long_transaction
    UNION ALL
    SELECT 'long_transaction', NULL, NULL, NULL, NULL, 'zerocut_long_transactions', jsonb_build_object(),
           count(*) FILTER (WHERE t.duration > long_transaction)::double precision
    FROM t
    UNION ALL
    SELECT 'long_transaction', NULL, NULL, NULL, NULL, 'zerocut_oldest_transaction_seconds', jsonb_build_object(),
           coalesce(extract(epoch FROM max(t.duration)), 0)::double precision
    FROM t;

    -- 7. Replication lag over replication_lag: standbys of this server, and
    -- this server's own upstream when it is a standby.
    RETURN QUERY
    SELECT 'replication_lag', r.kind || ' ' || coalesce(r.name, ''),
           CASE WHEN r.alert THEN 'warning' END,
           CASE WHEN r.alert THEN
               format('%s %s replays %s s (%s bytes) behind', r.kind, coalesce(r.name, ''), round(r.lag_seconds::numeric),
                      r.lag_bytes) END,
           CASE WHEN r.alert THEN
               'Look at the standby''s load and its network (SELECT * FROM zerocut.v_replication_status), long queries on it (max_standby_streaming_delay) and its disk' END,
           r.name2, jsonb_build_object('kind', r.kind, 'name', coalesce(r.name, '')), r.value
    FROM (SELECT s.kind, s.name, s.lag_seconds, s.lag_bytes, m.name AS name2, m.value,
                 m.first AND s.kind <> 'slot' AND s.lag_seconds > extract(epoch FROM replication_lag) AS alert
          FROM zerocut.v_replication_status s
          CROSS JOIN LATERAL (VALUES ('zerocut_replication_lag_seconds', coalesce(s.lag_seconds, 0), true),
                                     ('zerocut_replication_lag_bytes', coalesce(s.lag_bytes, 0)::double precision, false))
              m(name, value, first)
          WHERE s.kind <> 'slot' OR NOT m.first) r;

    -- 8. Unused large indexes: no scan since the statistics were reset, at
    -- least unused_index_bytes (relpages: the size at the last VACUUM,
    -- ANALYZE or CREATE INDEX; no file is read), valid, and enforcing no
    -- constraint (unique, primary key, exclusion, replica identity).  The
    -- indexes of a partitioned table's partitions count as its one index.
    RETURN QUERY
    -- The size filter comes first: the scan counters (pg_stat_get_numscans,
    -- what pg_stat_user_indexes.idx_scan reads) are read only for the few
    -- large enough, so thousands of partition indexes cost little.
    WITH leaf AS (
        SELECT coalesce(h.inhparent, i.indexrelid) AS top, i.indexrelid, c.relpages,
               (i.indisunique OR i.indisprimary OR i.indisexclusion OR i.indisreplident) AS enforces, i.indisvalid
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid AND c.relkind = 'i'
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_inherits h ON h.inhrelid = i.indexrelid
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
    ), grouped AS (
        SELECT l.top, sum(l.relpages)::bigint * current_setting('block_size')::bigint AS bytes,
               array_agg(l.indexrelid) AS leaves
        FROM leaf l
        GROUP BY l.top
        HAVING NOT bool_or(l.enforces) AND bool_and(l.indisvalid)
           AND sum(l.relpages)::bigint * current_setting('block_size')::bigint >= unused_index_bytes
    )
    SELECT 'unused_index', g.top::regclass::text, 'warning',
           format('index on %s has not been scanned since the statistics were reset (%s) and takes about %s',
                  (SELECT x.indrelid::regclass FROM pg_index x WHERE x.indexrelid = g.top),
                  coalesce((SELECT d.stats_reset::text FROM pg_stat_database d WHERE d.datname = current_database()), 'never'),
                  pg_size_pretty(g.bytes)),
           format('DROP INDEX %s%s;  -- if no query needs it (keep its definition: SELECT pg_get_indexdef(%L::regclass))',
                  CASE WHEN (SELECT x.relkind FROM pg_class x WHERE x.oid = g.top) = 'i' THEN 'CONCURRENTLY ' ELSE '' END,
                  g.top::regclass, g.top::regclass::text),
           'zerocut_unused_index_bytes', jsonb_build_object('index', g.top::regclass::text), g.bytes::double precision
    FROM grouped g
    WHERE (SELECT sum(pg_stat_get_numscans(x)) FROM unnest(g.leaves) x) = 0;

    -- 9. The security linter's findings: high is critical, the rest warning.
    IF has_function_privilege('zerocut.check_security()', 'EXECUTE') THEN
        RETURN QUERY
        WITH f AS (SELECT * FROM zerocut.check_security())
        SELECT 'security', f.object, CASE f.severity WHEN 'high' THEN 'critical' ELSE 'warning' END,
               f.problem, f.fix, NULL::text, NULL::jsonb, NULL::double precision
        FROM f
        UNION ALL
        SELECT 'security', NULL, NULL, NULL, NULL, 'zerocut_security_findings', jsonb_build_object('severity', s.severity),
               (SELECT count(*) FROM f WHERE f.severity = s.severity)::double precision
        FROM (VALUES ('high'), ('medium'), ('low')) s(severity);
    END IF;
END
$$;
COMMENT ON FUNCTION zerocut.monitor_facts(interval, interval, double precision, bigint, bigint, integer) IS
    'What alerts and metrics() read: one row per fact (kind, object; metric, labels, value: its number; severity, problem, fix: set when it needs a person) on zerocut''s jobs, partitions made ahead, default-partition rows, archive backlog, cache hit ratio, long transactions, replication lag, unused large indexes and security findings, with the thresholds given; runs as its caller (docs/monitoring.md); changes nothing';
REVOKE ALL ON FUNCTION zerocut.monitor_facts(interval, interval, double precision, bigint, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zerocut.monitor_facts(interval, interval, double precision, bigint, bigint, integer) TO pg_monitor;

-- The alerts with other thresholds (the view uses the defaults).
CREATE FUNCTION zerocut.find_alerts(long_transaction interval DEFAULT '15 minutes',
                                    replication_lag interval DEFAULT '60 seconds',
                                    cache_hit_percent double precision DEFAULT 85,
                                    cache_min_blocks bigint DEFAULT 100000,
                                    unused_index_bytes bigint DEFAULT 104857600,
                                    partitions_ahead integer DEFAULT 2)
    RETURNS TABLE(severity text, kind text, object text, problem text, fix text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT f.severity, f.kind, f.object, f.problem, f.fix
    FROM zerocut.monitor_facts(long_transaction, replication_lag, cache_hit_percent, cache_min_blocks,
                               unused_index_bytes, partitions_ahead) f
    WHERE f.severity IS NOT NULL
    ORDER BY CASE f.severity WHEN 'critical' THEN 1 ELSE 2 END, f.kind, f.object COLLATE "C", f.problem COLLATE "C"
$$;
COMMENT ON FUNCTION zerocut.find_alerts(interval, interval, double precision, bigint, bigint, integer) IS
    'The rows of zerocut.alerts with other thresholds: transactions open longer than long_transaction, replication lag over replication_lag, cache hit ratio under cache_hit_percent once cache_min_blocks block accesses are counted, unused indexes of at least unused_index_bytes, fewer than partitions_ahead partitions made ahead; NULL arguments 22004, out of range 22023; runs as its caller';
REVOKE ALL ON FUNCTION zerocut.find_alerts(interval, interval, double precision, bigint, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zerocut.find_alerts(interval, interval, double precision, bigint, bigint, integer) TO pg_monitor;

CREATE VIEW zerocut.alerts AS
    SELECT a.severity, a.kind, a.object, a.problem, a.fix FROM zerocut.find_alerts() a;
COMMENT ON VIEW zerocut.alerts IS
    'One row per problem that needs a person (severity critical or warning, kind, object, problem, fix): failed or overdue zerocut jobs, fewer than 2 partitions made ahead, rows in a default partition, archive backlog over a day past the policy, cache hit ratio under 85 % (after 100000 block accesses), transactions open over 15 minutes, replication lag over 60 s, unused indexes of 100 MB or more, check_security() findings (for callers who may execute check_security()); empty when healthy; critical first; pg_monitor members and superusers';
GRANT SELECT ON zerocut.alerts TO pg_monitor;

-- The numbers behind alerts, flat, for postgres_exporter or any poller
-- (docs/postgres_exporter_queries.yaml), plus the number of alerts.
CREATE FUNCTION zerocut.metrics()
    RETURNS TABLE(name text, labels jsonb, value double precision)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH f AS MATERIALIZED (SELECT * FROM zerocut.monitor_facts())
    SELECT f.metric, f.labels, f.value FROM f WHERE f.metric IS NOT NULL
    UNION ALL
    SELECT 'zerocut_alerts', jsonb_build_object('severity', s.severity),
           (SELECT count(*) FROM f WHERE f.severity = s.severity)::double precision
    FROM (VALUES ('critical'), ('warning')) s(severity)
    ORDER BY 1, 2
$$;
COMMENT ON FUNCTION zerocut.metrics() IS
    'The numbers behind zerocut.alerts as (name, labels, value) rows, for Prometheus'' postgres_exporter (docs/postgres_exporter_queries.yaml) or any poller: zerocut_alerts{severity}, zerocut_job_failed/overdue{job}, zerocut_partitions_ahead{table}, zerocut_default_partition_rows{table}, zerocut_archive_backlog_seconds{table}, zerocut_cache_hit_percent/blocks_hit/blocks_read{scope}, zerocut_long_transactions, zerocut_oldest_transaction_seconds, zerocut_replication_lag_seconds/bytes{kind,name}, zerocut_unused_index_bytes{index}, zerocut_security_findings{severity} (for callers who may execute check_security()); runs as its caller; pg_monitor members and superusers';
REVOKE ALL ON FUNCTION zerocut.metrics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zerocut.metrics() TO pg_monitor;

-- Growth of the managed monthly tables and when the data directory's file
-- system fills at that pace (src/monitor/capacity_forecast.cpp).
CREATE FUNCTION zerocut.capacity_forecast(months integer DEFAULT 12)
    RETURNS TABLE(tbl regclass, bytes_per_month bigint, projected_bytes bigint, months_until_full integer)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_capacity_forecast';
COMMENT ON FUNCTION zerocut.capacity_forecast(integer) IS
    'Per managed table partitioned by month: bytes_per_month (the mean total size of its last three complete monthly partitions), projected_bytes (its size now plus months of that growth) and months_until_full (whole months until the free space of the data directory''s file system is used up by the growth of all these tables together; NULL when that space cannot be read or nothing grows); months 1..1200, else 22023; runs as its caller';
REVOKE ALL ON FUNCTION zerocut.capacity_forecast(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zerocut.capacity_forecast(integer) TO pg_monitor;
