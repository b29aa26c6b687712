-- Analytics (issue 5): get_workspace_dashboard_stats() against the seed's
-- PL/pgSQL as the oracle, the corrected materialized view and its refresh,
-- and v_user_workspace_optimized.
SELECT zerocut.install_domain_schema() IS NOT NULL AS installed;
SELECT zerocut.generate_sample_data(12, 45, 5) IS NOT NULL AS sample_data;

-- The oracle: the seed's function as the seed wrote it (table names lower-cased),
-- and the same with the window as a parameter.
CREATE FUNCTION seed_dashboard_stats(p_workspace_id INTEGER)
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

CREATE FUNCTION seed_dashboard_stats_days(p_workspace_id integer, p_days integer) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'total_api_calls', COALESCE(SUM(us.api_calls), 0),
        'total_tokens_used', COALESCE(SUM(us.tokens_used), 0),
        'total_cost', COALESCE(SUM(us.cost_amount), 0),
        'avg_daily_calls', COALESCE(AVG(us.api_calls), 0),
        'member_count', (SELECT COUNT(*) FROM workspace_domain.user_workspace uw
                         WHERE uw.workspace_id = p_workspace_id AND uw.status = 'active'),
        'api_key_count', (SELECT COUNT(*) FROM api_management.api_key ak
                          WHERE ak.workspace_id = p_workspace_id AND ak.status = 'active'),
        'current_balance', (SELECT balance FROM financial_management.account a WHERE a.workspace_id = p_workspace_id),
        'last_30_days_trend', (SELECT json_agg(json_build_object('date', date, 'api_calls', api_calls, 'cost', cost_amount)
                                               ORDER BY date)
                               FROM data_statistics.usage_stats us2
                               WHERE us2.workspace_id = p_workspace_id
                                 AND us2.date >= CURRENT_DATE - make_interval(days => p_days)))
    FROM data_statistics.usage_stats us
    WHERE us.workspace_id = p_workspace_id AND us.date >= CURRENT_DATE - make_interval(days => p_days)
$$;

-- Edge cases next to the 12 sample workspaces:
--   101 empty (no members, keys, account or usage)
--   102 no account
--   103 deleted workspace, still with data
--   104 only inactive members and revoked keys; usage on the window's
--       boundary day (CURRENT_DATE - 30, inside), the day before (outside),
--       long ago, and tomorrow (inside: the seed's window has no end)
--   105 one usage row of zeros, an account
INSERT INTO workspace_domain.workspace (id, name, code, status) VALUES
    (101, 'empty', 'edge-101', 'active'), (102, 'no account', 'edge-102', 'active'),
    (103, 'deleted', 'edge-103', 'deleted'), (104, 'inactive', 'edge-104', 'active'),
    (105, 'zeros', 'edge-105', 'active');
INSERT INTO workspace_domain.user_workspace (user_id, workspace_id, role, status) VALUES
    (1, 102, 'member', 'active'), (2, 102, 'admin', 'active'), (4, 103, 'member', 'active'),
    (5, 104, 'member', 'inactive'), (6, 104, 'viewer', 'removed'), (7, 104, 'admin', 'pending');
INSERT INTO api_management.api_key (workspace_id, name, key_prefix, key_hash, status) VALUES
    (102, 'k', 'p', 'h102a', 'active'), (102, 'k', 'p', 'h102b', 'expired'),
    (103, 'k', 'p', 'h103', 'active'), (104, 'k', 'p', 'h104a', 'revoked'), (104, 'k', 'p', 'h104b', 'expired');
INSERT INTO financial_management.account (workspace_id, balance, credit_limit) VALUES (103, -12.50, 100), (104, 0, 0), (105, 7.10, 0);
INSERT INTO data_statistics.usage_stats (workspace_id, date, api_calls, tokens_used, cost_amount) VALUES
    (102, CURRENT_DATE, 10, 1000, 0.10), (102, CURRENT_DATE - 5, 11, 1100, 0.25),
    (103, CURRENT_DATE - 1, 3, 300, 1.00),
    (104, CURRENT_DATE - 30, 7, 700, 0.07), (104, CURRENT_DATE - 31, 1000, 1, 9.99),
    (104, CURRENT_DATE - 300, 1000, 1, 9.99), (104, CURRENT_DATE + 1, 2, 20, 0.02),
    (105, CURRENT_DATE - 2, 0, 0, 0.00);

-- Equal to the oracle for every workspace, as jsonb and even as text
-- (same numbers, same scales, same layout).
SELECT count(*) AS workspaces,
       count(*) FILTER (WHERE zerocut.get_workspace_dashboard_stats(id)::jsonb = seed_dashboard_stats(id)::jsonb) AS equal_jsonb,
       count(*) FILTER (WHERE zerocut.get_workspace_dashboard_stats(id)::text = seed_dashboard_stats(id)::text) AS equal_text
FROM workspace_domain.workspace;
SELECT id AS differs_from_seed FROM workspace_domain.workspace
WHERE zerocut.get_workspace_dashboard_stats(id)::text IS DISTINCT FROM seed_dashboard_stats(id)::text;

-- The edge cases, in full (dates shown relative to today).
SELECT zerocut.get_workspace_dashboard_stats(101) AS empty_workspace;
-- The exact text, with the one date shown relative to today.
SELECT replace(zerocut.get_workspace_dashboard_stats(105)::text, to_char(CURRENT_DATE - 2, 'YYYY-MM-DD'), 'CURRENT_DATE - 2') AS one_row_of_zeros;
SELECT s::jsonb - 'last_30_days_trend' AS no_account
FROM zerocut.get_workspace_dashboard_stats(102) s;
SELECT s::jsonb - 'last_30_days_trend' AS deleted_workspace
FROM zerocut.get_workspace_dashboard_stats(103) s;
SELECT s::jsonb - 'last_30_days_trend' AS inactive_members_and_keys
FROM zerocut.get_workspace_dashboard_stats(104) s;
SELECT (t->>'date')::date - CURRENT_DATE AS day, t->'api_calls' AS api_calls, t->'cost' AS cost
FROM json_array_elements(zerocut.get_workspace_dashboard_stats(104)->'last_30_days_trend') t;
-- A sample workspace: 31 days in the window, ascending, the average over them.
SELECT json_array_length(s->'last_30_days_trend') AS trend_days,
       (s->'last_30_days_trend'->0->>'date')::date = CURRENT_DATE - 30 AS starts_30_days_ago,
       (s->'last_30_days_trend'->30->>'date')::date = CURRENT_DATE AS ends_today,
       (s->>'avg_daily_calls')::numeric = (s->>'total_api_calls')::numeric / 31 AS avg_is_per_row
FROM zerocut.get_workspace_dashboard_stats(1) s;

-- p_days widens or narrows the window; the keys stay.
SELECT d AS p_days,
       count(*) FILTER (WHERE zerocut.get_workspace_dashboard_stats(w.id, d)::jsonb
                              = seed_dashboard_stats_days(w.id, d)::jsonb) AS equal_to_oracle,
       count(*) AS workspaces
FROM workspace_domain.workspace w, (VALUES (1), (7), (30), (44), (45), (3660)) AS days(d)
GROUP BY d ORDER BY d;
SELECT zerocut.get_workspace_dashboard_stats(1, 30)::text = zerocut.get_workspace_dashboard_stats(1)::text AS default_is_30,
       json_array_length(zerocut.get_workspace_dashboard_stats(1, 7)->'last_30_days_trend') AS trend_days_for_7;

-- Bad input: a clear error naming the argument; nothing changes.
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT zerocut.get_workspace_dashboard_stats(NULL) IS NULL AS null_workspace_gives_null,
       zerocut.get_workspace_dashboard_stats(NULL, 7) IS NULL AS also_with_days;
SELECT sql, pg_temp.error_of(sql) AS error FROM (VALUES
    ('SELECT zerocut.get_workspace_dashboard_stats(999999)'),
    ('SELECT zerocut.get_workspace_dashboard_stats(-1)'),
    ('SELECT zerocut.get_workspace_dashboard_stats(1, NULL)'),
    ('SELECT zerocut.get_workspace_dashboard_stats(NULL, NULL)'),
    ('SELECT zerocut.get_workspace_dashboard_stats(1, 0)'),
    ('SELECT zerocut.get_workspace_dashboard_stats(1, -30)'),
    ('SELECT zerocut.get_workspace_dashboard_stats(1, 3661)'),
    ('SELECT zerocut.get_workspace_dashboard_stats(1, 2147483647)'),
    ('SELECT zerocut.get_workspace_dashboard_stats(''1; DROP TABLE workspace_domain.workspace; --'')')
) AS bad(sql);
SELECT zerocut.get_workspace_dashboard_stats(999999);
SELECT count(*) AS workspaces_still_there FROM workspace_domain.workspace;

-- The caller's search_path cannot redirect it.
CREATE SCHEMA analytics_decoy;
CREATE TABLE analytics_decoy.usage_stats (LIKE data_statistics.usage_stats);
SET search_path = analytics_decoy, public;
SELECT zerocut.get_workspace_dashboard_stats(1)::text = seed_dashboard_stats(1)::text AS unaffected_by_search_path;
RESET search_path;
DROP SCHEMA analytics_decoy CASCADE;
-- Nor can DateStyle: JSON dates are ISO whatever the session's style.
SET datestyle = 'German';
SELECT zerocut.get_workspace_dashboard_stats(1)::text = seed_dashboard_stats(1)::text AS unaffected_by_datestyle,
       zerocut.get_workspace_dashboard_stats(1)->'last_30_days_trend'->0->>'date' ~ '^\d{4}-\d{2}-\d{2}$' AS iso_date;
RESET datestyle;

-- Runs as the caller: row-level security decides what it sees.
CREATE ROLE regress_analytics_reader;
GRANT USAGE ON SCHEMA workspace_domain, api_management, financial_management, data_statistics, zerocut
    TO regress_analytics_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA workspace_domain, api_management, financial_management, data_statistics
    TO regress_analytics_reader;
ALTER TABLE data_statistics.usage_stats ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspace_domain.workspace ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_ws1 ON data_statistics.usage_stats TO regress_analytics_reader USING (workspace_id = 1);
CREATE POLICY ws_1_2 ON workspace_domain.workspace TO regress_analytics_reader USING (id IN (1, 2));
SET ROLE regress_analytics_reader;
SELECT zerocut.get_workspace_dashboard_stats(1)::text = seed_dashboard_stats(1)::text AS visible_workspace_as_seed;
SELECT s::jsonb - 'current_balance' AS usage_hidden_by_policy FROM zerocut.get_workspace_dashboard_stats(2) s;
SELECT pg_temp.error_of('SELECT zerocut.get_workspace_dashboard_stats(3)') AS workspace_hidden_by_policy;
RESET ROLE;
DROP POLICY only_ws1 ON data_statistics.usage_stats;
DROP POLICY ws_1_2 ON workspace_domain.workspace;
ALTER TABLE data_statistics.usage_stats DISABLE ROW LEVEL SECURITY;
ALTER TABLE workspace_domain.workspace DISABLE ROW LEVEL SECURITY;

-- The materialized view: made by install_domain_schema() with no data, a
-- unique index on workspace_id, populated plainly the first time.
SELECT relispopulated AS populated_at_install FROM pg_class WHERE oid = 'data_statistics.mv_workspace_analytics'::regclass;
SELECT indexrelid::regclass AS unique_index, pg_get_indexdef(indexrelid) AS definition
FROM pg_index WHERE indrelid = 'data_statistics.mv_workspace_analytics'::regclass AND indisunique;
SELECT "view", "concurrently", duration >= '0' AS timed FROM zerocut.refresh_analytics_views();
-- ... and concurrently from then on.
SELECT "view", "concurrently" FROM zerocut.refresh_analytics_views();

-- One row per active workspace; every total equals the per-table sum.
SELECT count(*) AS mv_rows,
       count(*) = (SELECT count(*) FROM workspace_domain.workspace WHERE status = 'active') AS one_per_active_workspace
FROM data_statistics.mv_workspace_analytics;
SELECT count(*) AS rows_checked,
       count(*) FILTER (WHERE mv.member_count = (SELECT count(*) FROM workspace_domain.user_workspace uw
                                                  WHERE uw.workspace_id = mv.workspace_id AND uw.status = 'active')
                          AND mv.api_key_count = (SELECT count(*) FROM api_management.api_key ak
                                                  WHERE ak.workspace_id = mv.workspace_id AND ak.status = 'active')
                          AND (mv.total_api_calls, mv.total_tokens_used, mv.total_cost, mv.avg_daily_calls, mv.last_activity_date)
                              IS NOT DISTINCT FROM
                              (SELECT (sum(api_calls), sum(tokens_used), sum(cost_amount), avg(api_calls), max(date))
                               FROM data_statistics.usage_stats us WHERE us.workspace_id = mv.workspace_id)) AS rows_correct
FROM data_statistics.mv_workspace_analytics mv;
SELECT workspace_name, member_count, api_key_count, total_api_calls, total_tokens_used, total_cost,
       avg_daily_calls, last_activity_date - CURRENT_DATE AS last_activity_day
FROM data_statistics.mv_workspace_analytics WHERE workspace_id >= 100 ORDER BY workspace_id;
-- What the seed's version computed for workspace 102 (2 members x 1 key fan-out):
-- totals doubled.  Ours is the plain sum.
SELECT (SELECT sum(us.api_calls) FROM workspace_domain.workspace w
        LEFT JOIN workspace_domain.user_workspace uw ON w.id = uw.workspace_id AND uw.status = 'active'
        LEFT JOIN api_management.api_key ak ON w.id = ak.workspace_id AND ak.status = 'active'
        LEFT JOIN data_statistics.usage_stats us ON w.id = us.workspace_id
        WHERE w.id = 102) AS seed_total_api_calls,
       (SELECT total_api_calls FROM data_statistics.mv_workspace_analytics WHERE workspace_id = 102) AS mv_total_api_calls;

-- A new usage row shows after the next (concurrent) refresh.
INSERT INTO data_statistics.usage_stats (workspace_id, date, api_calls, tokens_used, cost_amount)
VALUES (101, CURRENT_DATE, 5, 50, 0.05);
SELECT "view", "concurrently" FROM zerocut.refresh_analytics_views();
SELECT total_api_calls, total_cost FROM data_statistics.mv_workspace_analytics WHERE workspace_id = 101;

-- Each refresh is logged.
SELECT level, message, metadata->'views'->0->>'view' AS logged_view,
       metadata->'views'->0->'concurrently' AS logged_concurrently,
       (metadata->'views'->0->>'duration_ms')::numeric >= 0 AS logged_duration
FROM audit_log.system_log WHERE message = 'Refreshed analytics views' ORDER BY id;

-- Refreshing is for the view's owner; a missing view is named, with a hint.
SET ROLE regress_analytics_reader;
SELECT pg_temp.error_of('SELECT * FROM zerocut.refresh_analytics_views()') AS not_owner;
RESET ROLE;
-- ("concurrently" is a keyword: quote the column.)  It also works in a select list.
SELECT count(*) AS refreshed_in_select_list FROM (SELECT zerocut.refresh_analytics_views()) r;
BEGIN;
DROP MATERIALIZED VIEW data_statistics.mv_workspace_analytics;
SELECT * FROM zerocut.refresh_analytics_views();
ROLLBACK;

-- A second install run changes nothing: same view, same data, same index.
CREATE TEMP TABLE analytics_catalog AS
SELECT c.oid, c.relfilenode, c.relispopulated FROM pg_class c
WHERE c.oid IN ('data_statistics.mv_workspace_analytics'::regclass, 'workspace_domain.v_user_workspace_optimized'::regclass,
                'data_statistics.mv_workspace_analytics_workspace_id_key'::regclass);
SELECT zerocut.install_domain_schema() IS NOT NULL AS ran_again;
SELECT count(*) AS unchanged FROM analytics_catalog a JOIN pg_class c USING (oid)
WHERE (c.relfilenode, c.relispopulated) = (a.relfilenode, a.relispopulated);

-- v_user_workspace_optimized: one row per active membership of an active
-- user in an active workspace, no fan-out, counts and averages per workspace.
SELECT count(*) AS view_rows,
       count(*) = count(DISTINCT (user_id, workspace_id)) AS no_duplicates,
       count(*) = (SELECT count(*) FROM workspace_domain.user_workspace uw
                   JOIN user_management."USER" u ON u.id = uw.user_id
                   JOIN workspace_domain.workspace w ON w.id = uw.workspace_id
                   WHERE uw.status = 'active' AND u.status = 'active' AND w.status = 'active') AS one_per_active_membership,
       bool_and(api_key_count = (SELECT count(*) FROM api_management.api_key ak
                                 WHERE ak.workspace_id = v.workspace_id AND ak.status = 'active')) AS key_counts_right,
       bool_and(recent_daily_calls = COALESCE((SELECT avg(api_calls) FROM data_statistics.usage_stats us
                                               WHERE us.workspace_id = v.workspace_id
                                                 AND us.date >= CURRENT_DATE - INTERVAL '7 days'), 0)) AS recent_calls_right
FROM workspace_domain.v_user_workspace_optimized v;
SELECT username, workspace_name, workspace_code, role, is_owner, balance, api_key_count, recent_daily_calls
FROM workspace_domain.v_user_workspace_optimized WHERE workspace_id >= 100 ORDER BY workspace_id, user_id;
SELECT column_name, data_type FROM information_schema.columns
WHERE table_schema = 'workspace_domain' AND table_name = 'v_user_workspace_optimized' ORDER BY ordinal_position;
-- A role granted the views reads them.  v_user_workspace_optimized is
-- security_invoker (its tables' grants and row-level security are the
-- reader's own, see docs/isolation.md): it needs SELECT on its tables too.
GRANT SELECT ON data_statistics.mv_workspace_analytics, workspace_domain.v_user_workspace_optimized TO regress_analytics_reader;
GRANT USAGE ON SCHEMA user_management, financial_management, api_management TO regress_analytics_reader;
SET ROLE regress_analytics_reader;
SELECT count(*) FROM workspace_domain.v_user_workspace_optimized;
RESET ROLE;
GRANT SELECT ON user_management."USER", workspace_domain.user_workspace, workspace_domain.workspace,
                financial_management.account, api_management.api_key, data_statistics.usage_stats
    TO regress_analytics_reader;
SELECT reloptions FROM pg_class WHERE oid = 'workspace_domain.v_user_workspace_optimized'::regclass;
SET ROLE regress_analytics_reader;
SELECT (SELECT count(*) FROM workspace_domain.v_user_workspace_optimized) > 0 AS reader_sees_view,
       (SELECT count(*) FROM data_statistics.mv_workspace_analytics) > 0 AS reader_sees_mv;
RESET ROLE;

-- Leave the database as we found it: empty domain, view unpopulated.
DROP OWNED BY regress_analytics_reader;
DROP ROLE regress_analytics_reader;
DROP FUNCTION seed_dashboard_stats(integer), seed_dashboard_stats_days(integer, integer);
SET client_min_messages = warning;  -- the cascade list names monthly partitions
TRUNCATE user_management."USER", workspace_domain.workspace, financial_management.consumption_record,
         audit_log.system_log CASCADE;
RESET client_min_messages;
REFRESH MATERIALIZED VIEW data_statistics.mv_workspace_analytics WITH NO DATA;
