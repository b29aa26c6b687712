\echo '== alerts: what needs a person, the numbers behind it, and the capacity forecast (docs/monitoring.md)'
\echo '-- the sample data''s consumption records are partitioned by month and archived after 6 months'
SELECT severity, kind, object, left(problem, 90) AS problem FROM zerocut.alerts;

\echo
\echo '-- an unused index, "large" from 1 byte (find_alerts takes the thresholds; the view uses 100 MB)'
SELECT severity, kind, object, left(fix, 70) AS fix
FROM zerocut.find_alerts(unused_index_bytes => 1) WHERE kind = 'unused_index' LIMIT 3;

\echo
\echo '-- metrics(): one flat set for postgres_exporter (docs/postgres_exporter_queries.yaml)'
SELECT name, labels, round(value::numeric, 1) AS value FROM zerocut.metrics()
WHERE name IN ('zerocut_alerts', 'zerocut_cache_hit_percent', 'zerocut_partitions_ahead', 'zerocut_security_findings',
               'zerocut_long_transactions')
ORDER BY name, labels::text LIMIT 12;

\echo
\echo '-- capacity_forecast(): growth from the last three complete monthly partitions'
SELECT tbl, pg_size_pretty(bytes_per_month) AS per_month, pg_size_pretty(projected_bytes) AS in_12_months,
       months_until_full
FROM zerocut.capacity_forecast(12);
