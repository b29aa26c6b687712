#!/usr/bin/env bash
# An older install has the time-series tables as plain tables with rows:
# install_domain_schema() converts them to managed partitioned tables
# (convert_to_partitioned), keeps every row, and a second run changes nothing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/lib/cluster.sh"
trap zc_cluster_stop EXIT
zc_cluster_start

zc_psql -q <<'SQL'
CREATE EXTENSION zerocut;
CREATE SCHEMA data_statistics;
CREATE SCHEMA workspace_domain;
CREATE TABLE workspace_domain.workspace (id serial PRIMARY KEY, name varchar(100) NOT NULL, code varchar(50) NOT NULL UNIQUE,
    description text, owner_id integer, status varchar(20) NOT NULL DEFAULT 'active', settings jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
INSERT INTO workspace_domain.workspace (name, code) VALUES ('old', 'old');
-- The seed's plain usage_stats, as an older install had it.
CREATE TABLE data_statistics.usage_stats (
    id bigserial, workspace_id integer NOT NULL REFERENCES workspace_domain.workspace (id),
    date date NOT NULL, api_calls integer NOT NULL DEFAULT 0, tokens_used bigint NOT NULL DEFAULT 0,
    cost_amount numeric(10,2) NOT NULL DEFAULT 0, created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id, date), UNIQUE (workspace_id, date));
INSERT INTO data_statistics.usage_stats (workspace_id, date, api_calls)
SELECT 1, current_date - d, d FROM generate_series(0, 99) d;
SQL
zc_psql -q -c "SELECT zerocut.install_domain_schema()" >/dev/null
result=$(zc_psql -At -c "SELECT c.relkind::text || ':' || (SELECT count(*) FROM data_statistics.usage_stats) || ':' ||
    (SELECT sum(api_calls) FROM data_statistics.usage_stats) || ':' ||
    EXISTS (SELECT 1 FROM zerocut.partition_config WHERE parent = 'data_statistics.usage_stats'::regclass)
    FROM pg_class c WHERE c.oid = 'data_statistics.usage_stats'::regclass")
echo "usage_stats after install: $result"
[ "$result" = "p:100:4950:true" ] || { echo "expected a managed partitioned table with all 100 rows"; exit 1; }
zc_psql -q -c "SELECT zerocut.install_domain_schema()" >/dev/null
zc_check_server_log
echo "upgrade of plain tables ok"
