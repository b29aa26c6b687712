#!/usr/bin/env bash
# pg_dump / pg_restore of a database with zerocut, the domain schema and
# sample data: the restore recreates the extension, every domain row comes
# back, the updated_at triggers still work, and the installer is still a no-op.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/lib/cluster.sh"
trap zc_cluster_stop EXIT
zc_cluster_start

zc_psql -q -c "CREATE DATABASE src"
zc_psql -q -d src -c "CREATE EXTENSION zerocut" -c "SELECT zerocut.install_domain_schema()" \
    -c "SELECT zerocut.generate_sample_data(20, 40)" >/dev/null
counts="SELECT (SELECT count(*) FROM user_management.\"USER\") || '/' || (SELECT count(*) FROM workspace_domain.workspace)
        || '/' || (SELECT count(*) FROM data_statistics.usage_stats) || '/' || (SELECT count(*) FROM financial_management.consumption_record)
        || '/' || (SELECT sum(balance) FROM financial_management.account)"
before=$(zc_psql -At -d src -c "$counts")
# The migration ledger (a config table) comes back with every row.
zc_psql -q -d src -c "SELECT zerocut.apply_migration('2024.1', 'a table', 'CREATE TABLE public.mig (id integer)', 'DROP TABLE public.mig')" >/dev/null
ledger="SELECT string_agg(version || ':' || checksum || ':' || applied_by || ':' || coalesce(rollback_sql, '-') || ':' || applied_at, ',' ORDER BY version)
        FROM zerocut.migration_versions"
ledger_before=$(zc_psql -At -d src -c "$ledger")

dump=$ZC_DIR/src.dump
zc_as_owner "$ZC_BINDIR/pg_dump" -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -Fc -f "$dump" src
zc_psql -q -c "CREATE DATABASE dst"
zc_as_owner "$ZC_BINDIR/pg_restore" -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -d dst --exit-on-error "$dump"
after=$(zc_psql -At -d dst -c "$counts")
echo "before: $before"
echo "after:  $after"
[ "$before" = "$after" ] || { echo "row counts differ after restore"; exit 1; }
[ "$(zc_psql -At -d dst -c "$ledger")" = "$ledger_before" ] || { echo "migration ledger differs after restore"; exit 1; }

# The extension came back as an extension, with its version.
zc_psql -At -d dst -c "SELECT zerocut.version()" | grep -q '^zerocut ' 
# updated_at triggers survived the restore.
touched=$(zc_psql -At -d dst -c "BEGIN" -c "UPDATE workspace_domain.workspace SET name = 'x' WHERE id = 1" \
    -c "SELECT updated_at = now() FROM workspace_domain.workspace WHERE id = 1" -c "COMMIT" | grep -E '^(t|f)$')
[ "$touched" = t ] || { echo "touch_updated_at trigger lost in restore"; exit 1; }
# The installer is still a no-op on a restored database.
zc_psql -q -d dst -c "SELECT zerocut.install_domain_schema()" >/dev/null
[ "$(zc_psql -At -d dst -c "$ledger")" = "$ledger_before" ] || { echo "install_domain_schema() changed the restored ledger"; exit 1; }
zc_psql -q -d dst -c "SELECT zerocut.rollback_migration('2024.1')" >/dev/null
zc_check_server_log
echo "dump/restore ok"
