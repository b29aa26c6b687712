\echo '== analytics: the dashboard JSON of one workspace, built in C++'
SELECT jsonb_pretty(zerocut.get_workspace_dashboard_stats(7)::jsonb - 'last_30_days_trend') AS dashboard_without_trend;
SELECT t->>'date' AS date, t->'api_calls' AS api_calls, t->'cost' AS cost
FROM json_array_elements(zerocut.get_workspace_dashboard_stats(7, 5)->'last_30_days_trend') t;

\echo
\echo '== ... equal to the seed''s PL/pgSQL for every workspace (as text, not only as jsonb)'
CREATE FUNCTION pg_temp.seed_dashboard_stats(p_workspace_id integer) RETURNS json LANGUAGE plpgsql AS $$
DECLARE result json;
BEGIN
    SELECT json_build_object(
        'total_api_calls', COALESCE(SUM(us.api_calls), 0), 'total_tokens_used', COALESCE(SUM(us.tokens_used), 0),
        'total_cost', COALESCE(SUM(us.cost_amount), 0), 'avg_daily_calls', COALESCE(AVG(us.api_calls), 0),
        'member_count', (SELECT COUNT(*) FROM workspace_domain.user_workspace uw
                         WHERE uw.workspace_id = p_workspace_id AND uw.status = 'active'),
        'api_key_count', (SELECT COUNT(*) FROM api_management.api_key ak
                          WHERE ak.workspace_id = p_workspace_id AND ak.status = 'active'),
        'current_balance', (SELECT balance FROM financial_management.account a WHERE a.workspace_id = p_workspace_id),
        'last_30_days_trend', (SELECT json_agg(json_build_object('date', date, 'api_calls', api_calls, 'cost', cost_amount) ORDER BY date)
                               FROM data_statistics.usage_stats us2
                               WHERE us2.workspace_id = p_workspace_id AND us2.date >= CURRENT_DATE - INTERVAL '30 days')
    ) INTO result
    FROM data_statistics.usage_stats us
    WHERE us.workspace_id = p_workspace_id AND us.date >= CURRENT_DATE - INTERVAL '30 days';
    RETURN result;
END $$;
SELECT count(*) AS workspaces,
       count(*) FILTER (WHERE zerocut.get_workspace_dashboard_stats(id)::text = pg_temp.seed_dashboard_stats(id)::text) AS identical
FROM workspace_domain.workspace;

\echo
\echo '== bad input: clear errors'
DO $$
DECLARE state text; msg text;
BEGIN
    PERFORM zerocut.get_workspace_dashboard_stats(424242);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RAISE NOTICE 'caught % %', state, msg;
END $$;

\echo
\echo '== refresh_analytics_views(): plain the first time, CONCURRENTLY afterwards, logged'
SELECT * FROM zerocut.refresh_analytics_views();
SELECT * FROM zerocut.refresh_analytics_views();
SELECT level, message, metadata FROM audit_log.system_log WHERE message = 'Refreshed analytics views' ORDER BY id;

\echo
\echo '== mv_workspace_analytics: totals over each workspace''s own rows (the seed''s multiplied them)'
SELECT * FROM data_statistics.mv_workspace_analytics ORDER BY total_cost DESC LIMIT 5;
SELECT mv.total_api_calls AS mv_total,
       (SELECT sum(api_calls) FROM data_statistics.usage_stats WHERE workspace_id = mv.workspace_id) AS direct_sum
FROM data_statistics.mv_workspace_analytics mv WHERE workspace_id = 7;

\echo
\echo '== v_user_workspace_optimized: one row per active membership'
SELECT * FROM workspace_domain.v_user_workspace_optimized ORDER BY workspace_id, user_id LIMIT 6;
