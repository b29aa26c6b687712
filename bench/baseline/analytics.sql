-- Baseline: the seed's get_workspace_dashboard_stats(), as the seed wrote it
-- (section "查询优化"), with only its table names lower-cased to the domain
-- schema's and the function placed in public under a bench_ name.
CREATE OR REPLACE FUNCTION bench_seed_dashboard_stats(p_workspace_id INTEGER)
RETURNS JSON AS $$
DECLARE
    result JSON;
BEGIN
    SELECT json_build_object(
        'total_api_calls', COALESCE(SUM(us.api_calls), 0),
        'total_tokens_used', COALESCE(SUM(us.tokens_used), 0),
        'total_cost', COALESCE(SUM(us.cost_amount), 0),
        'avg_daily_calls', COALESCE(AVG(us.api_calls), 0),
        'member_count', (
            SELECT COUNT(*)
            FROM workspace_domain.user_workspace uw
            WHERE uw.workspace_id = p_workspace_id AND uw.status = 'active'
        ),
        'api_key_count', (
            SELECT COUNT(*)
            FROM api_management.api_key ak
            WHERE ak.workspace_id = p_workspace_id AND ak.status = 'active'
        ),
        'current_balance', (
            SELECT balance
            FROM financial_management.account a
            WHERE a.workspace_id = p_workspace_id
        ),
        'last_30_days_trend', (
            SELECT json_agg(
                json_build_object(
                    'date', date,
                    'api_calls', api_calls,
                    'cost', cost_amount
                ) ORDER BY date
            )
            FROM data_statistics.usage_stats us2
            WHERE us2.workspace_id = p_workspace_id
            AND us2.date >= CURRENT_DATE - INTERVAL '30 days'
        )
    ) INTO result
    FROM data_statistics.usage_stats us
    WHERE us.workspace_id = p_workspace_id
    AND us.date >= CURRENT_DATE - INTERVAL '30 days';

    RETURN result;
END;
$$ LANGUAGE plpgsql;
