#!/usr/bin/env bash
# partition_dump_restore: pg_dump keeps zerocut.partition_config (it is an
# extension configuration table) and a restored database goes on managing
# its parents: run_maintenance() there re-creates a missing partition.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/lib/cluster.sh"
trap zc_cluster_stop EXIT
zc_cluster_start "timezone = 'UTC'"

fail() { echo "FAIL: $*" >&2; exit 1; }

zc_psql -q -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
zc_psql -q -d src -c "SET client_min_messages = warning" -c "CREATE EXTENSION zerocut" \
    -c "CREATE TABLE public.events (id bigint NOT NULL, at timestamptz NOT NULL) PARTITION BY RANGE (at)" \
    -c "SET zerocut.partition_timezone = 'Asia/Shanghai'" \
    -c "SELECT zerocut.manage_partitions('public.events', 'at', 'month', 2, '12 months', 'drop')" \
    -c "INSERT INTO public.events VALUES (1, now()), (2, '2020-02-02')" >/dev/null
zc_psql -q -d src -c "SET client_min_messages = warning" -c "SELECT count(*) FROM zerocut.run_maintenance()" >/dev/null

dump=$(mktemp /tmp/zerocut-dump.XXXXXX)
trap 'rm -f "$dump"; zc_cluster_stop' EXIT
"$ZC_BINDIR/pg_dump" -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -Fc -f "$dump" src
"$ZC_BINDIR/pg_restore" -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -d dst "$dump"

config=$(zc_psql -At -d dst -c "SELECT parent::text || '|' || control_column || '|' || granularity || '|' || premake || '|' ||
                                       retention || '|' || retention_action || '|' || time_zone FROM zerocut.partition_config")
[ "$config" = "events|at|month|2|1 year|drop|Asia/Shanghai" ] || fail "configuration after restore: '$config'"
rows=$(zc_psql -At -d dst -c "SELECT count(*) FROM public.events")
[ "$rows" = 2 ] || fail "rows after restore: $rows"

# Maintenance works on the restored copy: a dropped premade partition comes back.
newest=$(zc_psql -At -d dst -c "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                                WHERE i.inhparent = 'public.events'::regclass AND c.relname ~ '_\d{4}_\d{2}$'
                                ORDER BY c.relname DESC LIMIT 1")
zc_psql -q -d dst -c "DROP TABLE public.$newest"
made=$(zc_psql -q -At -d dst -c "SET client_min_messages = warning" -c "SELECT partition FROM zerocut.run_maintenance() WHERE action = 'create'")
[ "$made" = "public.$newest" ] || fail "maintenance on the restored database made '$made', expected public.$newest"
nothing=$(zc_psql -q -At -d dst -c "SET client_min_messages = warning" -c "SELECT count(*) FROM zerocut.run_maintenance()")
[ "$nothing" = 0 ] || fail "second run did $nothing actions"
zc_check_server_log
echo "ok: configuration dumped and restored; maintenance continues on the copy"
