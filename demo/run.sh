#!/usr/bin/env bash
# make demo: a throwaway cluster on a free port (its own socket directory,
# no TCP), the extension, the domain schema and sample data, then every
# demo/NN_*.sql in name order, then cleanup.  Uses the installed zerocut.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# This tree's build in a private copy of PostgreSQL (scripts/tmp_install.sh).
ZC_BINDIR=$(bash "$ROOT/scripts/tmp_install.sh" "$ROOT")
export ZC_BINDIR
source "$ROOT/test/lib/cluster.sh"
trap zc_cluster_stop EXIT

zc_cluster_start "shared_preload_libraries = 'pg_cron,pg_stat_statements'" "cron.database_name = 'postgres'"
echo "demo cluster: port $ZC_PORT, socket $ZC_SOCK"
for script in "$ROOT"/demo/*.sql; do
    echo
    echo "################ $(basename "$script")"
    zc_psql -q -P pager=off -f "$script"
done
zc_check_server_log
echo
echo "demo finished; the throwaway cluster is removed."
