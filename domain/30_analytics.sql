-- Analytics views (issue 5), corrected from the seed.
-- The seed joined memberships, API keys and usage rows before summing, so
-- every total was multiplied by members x keys, and its REFRESH ...
-- CONCURRENTLY failed for want of a unique index.  Here each quantity is
-- aggregated on its own table, by workspace, before the join.
-- Idempotent: objects are created only when missing, so a second run
-- changes nothing.  The materialized view is created WITH NO DATA (the
-- installer stays fast on a large database);
-- zerocut.refresh_analytics_views() populates it, then keeps it current
-- with REFRESH ... CONCURRENTLY.  Nothing here depends on the extension,
-- so DROP EXTENSION zerocut leaves the views in place.

-- One row per active workspace.  Totals are over the workspace's own usage
-- rows (NULL when it has none, like the seed's SUM); avg_daily_calls is the
-- average of api_calls over those rows (one row per day).
DO $$
BEGIN
    IF pg_catalog.to_regclass('data_statistics.mv_workspace_analytics') IS NULL THEN
        CREATE MATERIALIZED VIEW data_statistics.mv_workspace_analytics AS
        SELECT w.id AS workspace_id,
               w.name AS workspace_name,
               COALESCE(m.member_count, 0) AS member_count,
               COALESCE(k.api_key_count, 0) AS api_key_count,
               u.total_api_calls,
               u.total_tokens_used,
               u.total_cost,
               u.avg_daily_calls,
               u.last_activity_date
        FROM workspace_domain.workspace w
        LEFT JOIN (SELECT uw.workspace_id, pg_catalog.count(DISTINCT uw.user_id) AS member_count
                   FROM workspace_domain.user_workspace uw
                   WHERE uw.status = 'active'
                   GROUP BY uw.workspace_id) m ON m.workspace_id = w.id
        LEFT JOIN (SELECT ak.workspace_id, pg_catalog.count(*) AS api_key_count
                   FROM api_management.api_key ak
                   WHERE ak.status = 'active'
                   GROUP BY ak.workspace_id) k ON k.workspace_id = w.id
        LEFT JOIN (SELECT us.workspace_id,
                          pg_catalog.sum(us.api_calls) AS total_api_calls,
                          pg_catalog.sum(us.tokens_used) AS total_tokens_used,
                          pg_catalog.sum(us.cost_amount) AS total_cost,
                          pg_catalog.avg(us.api_calls) AS avg_daily_calls,
                          pg_catalog.max(us.date) AS last_activity_date
                   FROM data_statistics.usage_stats us
                   GROUP BY us.workspace_id) u ON u.workspace_id = w.id
        WHERE w.status = 'active'
        WITH NO DATA;
        COMMENT ON MATERIALIZED VIEW data_statistics.mv_workspace_analytics IS
            'Per active workspace: active members, active API keys, usage totals over its own rows, average daily calls, last activity date; refreshed by zerocut.refresh_analytics_views()';
    END IF;
END
$$;

-- REFRESH ... CONCURRENTLY needs a unique index on plain columns.
CREATE UNIQUE INDEX IF NOT EXISTS mv_workspace_analytics_workspace_id_key
    ON data_statistics.mv_workspace_analytics (workspace_id);

-- One row per active membership of an active user in an active workspace.
-- api_key_count and recent_daily_calls come from per-workspace subqueries,
-- so nothing fans out.  recent_daily_calls is the seed's: the average of
-- api_calls over the usage rows dated from CURRENT_DATE - 7 on, 0 when none.
DO $$
BEGIN
    IF pg_catalog.to_regclass('workspace_domain.v_user_workspace_optimized') IS NULL THEN
        CREATE VIEW workspace_domain.v_user_workspace_optimized AS
        SELECT u.id AS user_id,
               u.email,
               u.username,
               w.id AS workspace_id,
               w.name AS workspace_name,
               w.code AS workspace_code,
               uw.role,
               uw.is_owner,
               a.balance,
               (SELECT pg_catalog.count(*) FROM api_management.api_key ak
                 WHERE ak.workspace_id = w.id AND ak.status = 'active') AS api_key_count,
               COALESCE((SELECT pg_catalog.avg(us.api_calls) FROM data_statistics.usage_stats us
                          WHERE us.workspace_id = w.id AND us.date >= CURRENT_DATE - 7), 0) AS recent_daily_calls
        FROM workspace_domain.user_workspace uw
        JOIN user_management."USER" u ON u.id = uw.user_id
        JOIN workspace_domain.workspace w ON w.id = uw.workspace_id
        LEFT JOIN financial_management.account a ON a.workspace_id = w.id
        WHERE u.status = 'active'
          AND uw.status = 'active'
          AND w.status = 'active';
        COMMENT ON VIEW workspace_domain.v_user_workspace_optimized IS
            'One row per active membership (active user, active workspace): role, owner flag, balance, active API keys, recent average daily calls (usage rows since CURRENT_DATE - 7)';
    END IF;
END
$$;
-- security_invoker: the view reads its tables with the caller's rights and
-- row-level security, not its owner's (zerocut.enable_workspace_isolation()
-- filters them per workspace; a plain view would show every workspace).
ALTER VIEW workspace_domain.v_user_workspace_optimized SET (security_invoker = true);
