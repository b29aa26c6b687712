-- This part: analytics (issue 5) — the dashboard-stats JSON builder and the
-- refresh of the analytics materialized views.  The views themselves are
-- domain objects, made by install_domain_schema() (domain/30_analytics.sql).

CREATE FUNCTION zerocut.get_workspace_dashboard_stats(p_workspace_id integer, p_days integer DEFAULT 30)
    RETURNS json
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'zc_get_workspace_dashboard_stats';
COMMENT ON FUNCTION zerocut.get_workspace_dashboard_stats(integer, integer) IS
    'Dashboard JSON of one workspace over the last p_days days (1..3660, default 30): usage totals, average daily calls, active members and keys, balance and the daily trend; equal to the seed''s PL/pgSQL for 30 days; runs as the caller (row-level security applies); NULL workspace gives NULL, an unknown one P0002';

CREATE FUNCTION zerocut.refresh_analytics_views()
    RETURNS TABLE ("view" regclass, duration interval, concurrently boolean)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_refresh_analytics_views';
COMMENT ON FUNCTION zerocut.refresh_analytics_views() IS
    'Refreshes every analytics materialized view (CONCURRENTLY once populated, plainly the first time), logs to audit_log.system_log, returns each view with its duration; on a hot standby returns no rows with a NOTICE';
